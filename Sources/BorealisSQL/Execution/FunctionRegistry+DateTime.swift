// Date and time functions beyond extract/date_trunc/to_char: age, make_timestamp(tz),
// make_interval, to_timestamp (from epoch seconds or text with a template), to_date, date_bin,
// isfinite, and justify_days/hours/interval. Timestamps are µs since 1970 (DateTime.swift); the session
// time zone is UTC, so a timestamptz and a timestamp name the same instant.

import BorealisStorage
import Glibc

extension FunctionRegistry {
    static let dateTime: [ScalarFunction] = [
        // timezone(zone, ts) and ts AT TIME ZONE zone (TimeZones.swift): a timestamptz becomes
        // the zone's local time, a timestamp (or date) read as the zone's local time a timestamptz.
        ScalarFunction(["timezone"], arity: 2...2, result: .zoneConverted, parameters: [.text, nil], volatility: .immutable,
                       typed: { _, args, types in
            let zoneArgument = args[0], subject = args[1]
            let type = types.count > 1 ? types[1] : nil
            return { ctx in
                let zone = try zoneArgument(ctx), value = try subject(ctx)
                if zone.isNull || value.isNull { return .null }
                let rules: TimeZoneRules
                if case .interval(let i) = zone {
                    guard i.months == 0, i.days == 0 else {
                        throw DatabaseError(.error, sqlState: SQLState.invalidParameterValue,
                                            "interval time zone \"\(DateTime.formatInterval(i))\" must not include months or days")
                    }
                    rules = TimeZoneRules(initial: i.microseconds / 1_000_000)
                } else {
                    rules = try TimeZones.rules(try Functions.text(zone) ?? "")
                }
                // An infinite value stays infinite, the type changing as for a finite one.
                switch value {
                case .timestamptz(let micros) where DateTime.isInfinite(timestamp: micros): return .timestamp(micros)
                case .timestamp(let micros) where DateTime.isInfinite(timestamp: micros): return .timestamptz(micros)
                case .date(let days) where DateTime.isInfinite(date: days): return .timestamp(DateTime.infiniteTimestamp(ofDate: days))
                case .timestamptz(let micros): return .timestamp(try TimeZones.localTime(ofUTC: micros, in: rules))
                case .timestamp(let micros): return .timestamptz(try TimeZones.utc(ofLocal: micros, in: rules))
                // A date is a timestamptz here (midnight UTC, the session's zone), as PostgreSQL casts it.
                case .date(let days): return .timestamp(try TimeZones.localTime(ofUTC: try DateTime.timestamp(ofDate: Int64(days)), in: rules))
                case .text(let s) where type == nil:
                    // An untyped literal is a timestamptz, as PostgreSQL resolves it.
                    guard case .timestamptz(let micros) = try Value.text(s).cast(to: .timestamptz) else { return .null }
                    return .timestamp(try TimeZones.localTime(ofUTC: micros, in: rules))
                default:
                    throw DatabaseError(.mismatch, sqlState: SQLState.featureNotSupported,
                                        "AT TIME ZONE of a \(value.typeName) is not supported (a timestamp, timestamptz or date is)")
                }
            }
        }),
        ScalarFunction(["age"], arity: 1...2, result: .fixed(.interval), parameters: [.timestamp], volatility: .stable) { _, args in
            { ctx in
                var instants: [Int64] = []
                for a in args {
                    let v = try a(ctx)
                    if v.isNull { return .null }
                    guard let t = try instant(v) else { throw DatabaseError(.mismatch, sqlState: SQLState.undefinedFunction, "function age(\(v.typeName)) does not exist") }
                    // PostgreSQL 15 returns a meaningless interval here; an error is more honest.
                    if DateTime.isInfinite(timestamp: t) { throw DateTime.cannotSubtractInfinite("timestamps") }
                    instants.append(t)
                }
                // age(t) is age(current_date, t): from midnight of today.
                if instants.count == 1 { instants.insert(DateTime.floorDiv(ctx.transactionTime, DateTime.microsPerDay) * DateTime.microsPerDay, at: 0) }
                return .interval(try age(instants[0], instants[1]))
            }
        },
        ScalarFunction(["make_timestamp", "make_timestamptz"], arity: 6...7, result: .fixed(.timestamp), parameters: [.integer, .integer, .integer, .integer, .integer, .doublePrecision, .text],
                       volatility: .immutable) { name, args in
            { ctx in
                var values: [Value] = []
                for a in args { values.append(try a(ctx)) }
                if values.contains(where: \.isNull) { return .null }
                if values.count == 7, let zone = try Functions.text(values[6]), !["utc", "gmt", "z", "+00", "00:00", "+00:00"].contains(zone.lowercased()) {
                    throw DatabaseError(.error, sqlState: SQLState.featureNotSupported, "time zone \"\(zone)\" is not supported: Borealis keeps time in UTC")
                }
                var parts: [Int64] = []
                for v in values.prefix(5) {
                    guard case .integer(let p) = try v.cast(to: .bigint) else { return .null }
                    parts.append(p)
                }
                guard let seconds = values[5].doubleValue else { return .null }
                let (y, m, d, h, mi) = (parts[0], parts[1], parts[2], parts[3], parts[4])
                guard y != 0, y > -4714, y < 294_247, (1...12).contains(m), d >= 1, d <= DateTime.daysInMonth(year: Int(y < 0 ? y + 1 : y), month: Int(m)),
                      (0...23).contains(h), (0...59).contains(mi), seconds >= 0, seconds < 60 || (seconds == 60 && mi == 59) else {
                    throw DatabaseError(.range, sqlState: SQLState.datetimeFieldOverflow,
                                        "date field value out of range: \(y)-\(m)-\(d) \(h):\(mi):\(seconds)")
                }
                let days = DateTime.days(year: Int(y < 0 ? y + 1 : y), month: Int(m), day: Int(d))
                let micros = try DateTime.timestamp(ofDate: days) + (h * 3600 + mi * 60) * 1_000_000 + Int64((seconds * 1_000_000).rounded())
                return name == "make_timestamptz" ? .timestamptz(micros) : .timestamp(micros)
            }
        },
        ScalarFunction(["make_interval"], arity: 0...7, result: .fixed(.interval), parameters: [.integer, .integer, .integer, .integer, .integer, .integer, .doublePrecision],
                       volatility: .immutable) { _, args in
            { ctx in
                var values: [Value] = []
                for a in args { values.append(try a(ctx)) }
                if values.contains(where: \.isNull) { return .null }
                var whole: [Int64] = []
                for v in values.prefix(6) {
                    guard case .integer(let p) = try v.cast(to: .bigint) else { return .null }
                    whole.append(p)
                }
                while whole.count < 6 { whole.append(0) }
                let seconds = values.count == 7 ? values[6].doubleValue ?? 0 : 0
                let (years, months, weeks, days, hours, minutes) = (whole[0], whole[1], whole[2], whole[3], whole[4], whole[5])
                let (yearMonths, o1) = years.multipliedReportingOverflow(by: 12)
                let (allMonths, o2) = yearMonths.addingReportingOverflow(months)
                let (weekDays, o3) = weeks.multipliedReportingOverflow(by: 7)
                let (allDays, o4) = weekDays.addingReportingOverflow(days)
                let time = (Double(hours) * 3600 + Double(minutes) * 60 + seconds) * 1_000_000
                guard !o1, !o2, !o3, !o4 else { throw DateTime.intervalOutOfRange() }
                return .interval(try DateTime.checkedInterval(months: allMonths, days: allDays, microseconds: try DateTime.intervalPart(time.rounded())))
            }
        },
        ScalarFunction(["to_timestamp"], arity: 1...2, result: .fixed(.timestamptz), parameters: [.doublePrecision, .text], volatility: .immutable) { _, args in
            { ctx in
                let first = try args[0](ctx)
                if first.isNull { return .null }
                if args.count == 1 {
                    let text = try Functions.text(first) ?? ""
                    guard let seconds = first.doubleValue ?? Double(text) else { return .null }
                    if seconds.isInfinite { return .timestamptz(seconds > 0 ? DateTime.timestampPlusInfinity : DateTime.timestampMinusInfinity) }
                    guard seconds.isFinite, abs(seconds) < 9.2e12 else {
                        throw DatabaseError(.range, sqlState: SQLState.datetimeFieldOverflow, "timestamp out of range: \"\(seconds)\"")
                    }
                    return .timestamptz(try DateTime.checkedTimestamp(Int64((seconds * 1_000_000).rounded())))
                }
                guard let text = try Functions.text(first), let template = try Functions.text(try args[1](ctx)) else { return .null }
                return .timestamptz(try TemplateParser(text: text, template: template).timestamp())
            }
        },
        ScalarFunction(["to_date"], arity: 2...2, result: .fixed(.date), parameters: [.text], volatility: .immutable) { _, args in
            { ctx in
                guard let text = try Functions.text(try args[0](ctx)), let template = try Functions.text(try args[1](ctx)) else { return .null }
                let micros = try TemplateParser(text: text, template: template).timestamp()
                return .date(try DateTime.checkedDate(DateTime.floorDiv(micros, DateTime.microsPerDay)))
            }
        },
        ScalarFunction(["date_bin"], arity: 3...3, result: .argument(1), parameters: [.interval, .timestamp, .timestamp], volatility: .immutable) { _, args in
            { ctx in
                let strideValue = try args[0](ctx), source = try args[1](ctx), origin = try args[2](ctx)
                if strideValue.isNull || source.isNull || origin.isNull { return .null }
                guard case .interval(let stride) = try strideValue.cast(to: .interval), let t = try instant(source), let o = try instant(origin) else { return .null }
                if DateTime.isInfinite(timestamp: t) { if case .timestamptz = source { return .timestamptz(t) } else { return .timestamp(t) } }
                // An infinite origin is PostgreSQL's sentinel, no instant to bin from.
                guard !DateTime.isInfinite(timestamp: o) else {
                    throw DatabaseError(.range, sqlState: SQLState.datetimeFieldOverflow, "origin out of range")
                }
                guard stride.months == 0 else {
                    throw DatabaseError(.error, sqlState: SQLState.featureNotSupported, "timestamps cannot be binned into intervals containing months or years")
                }
                let (dayMicros, o1) = Int64(stride.days).multipliedReportingOverflow(by: DateTime.microsPerDay)
                let (width, o2) = dayMicros.addingReportingOverflow(stride.microseconds)
                guard !o1, !o2 else { throw DateTime.intervalOutOfRange() }
                guard width > 0 else { throw DatabaseError(.error, sqlState: SQLState.invalidParameterValue, "stride must be greater than zero") }
                let (offset, o3) = t.subtractingReportingOverflow(o)
                guard !o3 else { throw DateTime.timestampOutOfRange() }
                let binned = try DateTime.checkedTimestamp(o + DateTime.floorDiv(offset, width) * width)
                if case .timestamptz = source { return .timestamptz(binned) }
                return .timestamp(binned)
            }
        },
        // isfinite(date | timestamp | timestamptz | interval): false for ±infinity (an interval
        // is always finite in PostgreSQL 15); text is read as a timestamp.
        ScalarFunction(["isfinite"], arity: 1...1, result: .fixed(.boolean), parameters: [.timestamp], volatility: .immutable) { _, args in
            { ctx in
                let v = try args[0](ctx)
                switch v {
                case .null: return .null
                case .date, .timestamp, .timestamptz, .interval: return .boolean(!v.isInfiniteDateTime)
                case .text(let s): return .boolean(!(try Value.text(s).cast(to: .timestamp)).isInfiniteDateTime)
                default:
                    throw DatabaseError(.mismatch, sqlState: SQLState.undefinedFunction, "function isfinite(\(v.typeName)) does not exist")
                }
            }
        },
        ScalarFunction(["justify_days", "justify_hours", "justify_interval"], arity: 1...1, result: .fixed(.interval), parameters: [.interval],
                       volatility: .immutable) { name, args in
            { ctx in
                let v = try args[0](ctx)
                if v.isNull { return .null }
                guard case .interval(let i) = try v.cast(to: .interval) else { return .null }
                var months = Int64(i.months), days = Int64(i.days), micros = i.microseconds
                if name != "justify_days" {
                    days += micros / DateTime.microsPerDay
                    micros %= DateTime.microsPerDay
                }
                if name != "justify_hours" {
                    months += days / 30
                    days %= 30
                }
                if name == "justify_interval" {
                    // Make every part take the sign of the whole, as PostgreSQL does.
                    if months > 0 && (days < 0 || (days == 0 && micros < 0)) { days += 30; months -= 1 }
                    else if months < 0 && (days > 0 || (days == 0 && micros > 0)) { days -= 30; months += 1 }
                    if days > 0 && micros < 0 { micros += DateTime.microsPerDay; days -= 1 }
                    else if days < 0 && micros > 0 { micros -= DateTime.microsPerDay; days += 1 }
                }
                return .interval(try DateTime.checkedInterval(months: months, days: days, microseconds: micros))
            }
        },
    ]

    /// The instant of a date, timestamp or timestamptz (text read as a timestamp).
    private static func instant(_ v: Value) throws -> Int64? {
        switch v {
        case .date(let d): return try DateTime.timestamp(ofDate: Int64(d))
        case .timestamp(let t), .timestamptz(let t): return t
        case .text(let s): return try DateTime.parseTimestamp(s, zone: false)
        default: return nil
        }
    }

    /// PostgreSQL's age(): the difference field by field (years, months, days, time), borrowing
    /// from the next larger field where one is negative; a month borrowed counts the days of the
    /// earlier date's month.
    static func age(_ t1: Int64, _ t2: Int64) throws -> Interval {
        func fields(_ t: Int64) -> (year: Int64, month: Int64, day: Int64, time: Int64) {
            let days = DateTime.floorDiv(t, DateTime.microsPerDay)
            let (y, m, d) = DateTime.civil(days)
            return (Int64(y), Int64(m), Int64(d), t - days * DateTime.microsPerDay)
        }
        let a = fields(t1), b = fields(t2)
        let later = t1 >= t2
        var years = a.year - b.year, months = a.month - b.month, days = a.day - b.day, time = a.time - b.time
        if !later { years = -years; months = -months; days = -days; time = -time }
        if time < 0 { time += DateTime.microsPerDay; days -= 1 }
        while days < 0 {
            let reference = later ? b : a
            days += Int64(DateTime.daysInMonth(year: Int(reference.year), month: Int(reference.month)))
            months -= 1
        }
        while months < 0 { months += 12; years -= 1 }
        if !later { years = -years; months = -months; days = -days; time = -time }
        let (yearMonths, overflow) = years.multipliedReportingOverflow(by: 12)
        guard !overflow else { throw DateTime.intervalOutOfRange() }
        return try DateTime.checkedInterval(months: yearMonths + months, days: days, microseconds: time)
    }
}

/// to_timestamp(text, template) and to_date: reads the fields a template names (YYYY, YY, MM,
/// Mon, Month, DD, DDD, HH24, HH12, HH, MI, SS, MS, US, AM/PM, and FX-less separators) from the
/// text; a field the template lacks is its smallest value (January 1st, year 1, midnight).
struct TemplateParser {
    let text: [Character]
    let template: [Character]

    init(text: String, template: String) {
        self.text = Array(text)
        self.template = Array(template)
    }

    private static let months = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
                                 "november", "december"]
    /// The template patterns, longest first so that HH24 wins over HH.
    private static let patterns = ["YYYY", "HH24", "HH12", "MONTH", "Month", "month", "YYY", "DDD", "MON", "Mon", "mon", "YY", "MM",
                                   "DD", "HH", "MI", "SS", "MS", "US", "AM", "PM", "am", "pm", "A.M.", "P.M.", "Y"]

    func timestamp() throws -> Int64 {
        var year: Int64 = 1, month: Int64 = 1, day: Int64 = 1, dayOfYear: Int64?
        var hour: Int64 = 0, minute: Int64 = 0, second: Int64 = 0, micros: Int64 = 0
        var twelveHour = false, afternoon: Bool?
        var t = 0, p = 0
        func digits(_ maximum: Int, _ field: String) throws -> Int64 {
            while t < text.count, text[t] == " " { t += 1 }
            var negative = false
            if field == "YYYY", t < text.count, text[t] == "-" { negative = true; t += 1 }
            var value: Int64 = 0, count = 0
            while t < text.count, count < maximum, let d = text[t].wholeNumberValue, text[t].isASCII {
                value = value * 10 + Int64(d)
                count += 1
                t += 1
            }
            guard count > 0 else {
                let rest = String(text[min(t, text.count)...].prefix(10))
                throw DatabaseError(.error, sqlState: SQLState.invalidDatetimeFormat, "invalid value \"\(rest)\" for \"\(field)\"")
            }
            return negative ? -value : value
        }
        while p < template.count {
            guard let pattern = Self.patterns.first(where: { spells($0, at: p) }) else {
                // A separator or literal: skips one character of the text when it is not a letter or digit.
                if template[p] == " " {
                    while t < text.count, text[t] == " " { t += 1 }
                } else if t < text.count, !text[t].isLetter, !text[t].isNumber {
                    t += 1
                }
                p += 1
                continue
            }
            p += pattern.count
            switch pattern.uppercased() {
            case "YYYY": year = try digits(pattern == "YYYY" && hasFollowingDigitField(p) ? 4 : 9, "YYYY")
            case "YYY": year = 2000 + (try digits(3, "YYY")) % 1000
            case "YY":
                let y = try digits(2, "YY")
                year = y < 70 ? 2000 + y : 1900 + y
            case "Y": year = 2000 + (try digits(1, "Y"))
            case "MM": month = try digits(2, "MM")
            case "DD": day = try digits(2, "DD")
            case "DDD": dayOfYear = try digits(3, "DDD")
            case "HH24": hour = try digits(2, "HH24")
            case "HH12", "HH": hour = try digits(2, "HH"); twelveHour = true
            case "MI": minute = try digits(2, "MI")
            case "SS": second = try digits(2, "SS")
            // The digits of MS and US are a fraction of a second: `.5` is half of one.
            case "MS", "US":
                let width = pattern == "MS" ? 3 : 6
                let before = t
                let value = try digits(width, pattern)
                let read = t - before
                var scale: Int64 = 1
                for _ in 0..<(6 - read) { scale *= 10 }
                micros = value * scale
            case "MON", "MONTH":
                let word = String(text[min(t, text.count)...].prefix { $0.isLetter }).lowercased()
                guard word.count >= 3, let index = Self.months.firstIndex(where: { pattern.count == 3 ? $0.hasPrefix(word) && word.count == 3 : $0 == word }) else {
                    throw DatabaseError(.error, sqlState: SQLState.invalidDatetimeFormat, "invalid value \"\(word)\" for \"\(pattern)\"")
                }
                month = Int64(index + 1)
                t += word.count
            case "AM", "PM", "A.M.", "P.M.":
                let word = String(text[min(t, text.count)...].prefix(pattern.count)).uppercased()
                guard ["AM", "PM", "A.M.", "P.M."].contains(word) else {
                    throw DatabaseError(.error, sqlState: SQLState.invalidDatetimeFormat, "invalid value \"\(word)\" for \"\(pattern)\"")
                }
                afternoon = word.hasPrefix("P")
                t += pattern.count
            default: break
            }
        }
        if twelveHour || afternoon != nil {
            guard (1...12).contains(hour) else {
                throw DatabaseError(.range, sqlState: SQLState.datetimeFieldOverflow,
                                    "hour \"\(hour)\" is invalid for the 12-hour clock")
            }
            if afternoon == true && hour < 12 { hour += 12 }
            if afternoon != true && hour == 12 { hour = 0 }
        }
        let astronomical = year < 0 ? year + 1 : year
        guard year != 0, astronomical > -4713, astronomical < 294_247 else { throw DateTime.timestampOutOfRange() }
        var days: Int64
        if let dayOfYear {
            let yearDays = DateTime.days(year: Int(astronomical) + 1, month: 1, day: 1) - DateTime.days(year: Int(astronomical), month: 1, day: 1)
            guard dayOfYear >= 1, dayOfYear <= yearDays else { throw fieldOverflow() }
            days = DateTime.days(year: Int(astronomical), month: 1, day: 1) + dayOfYear - 1
        } else {
            guard (1...12).contains(month), day >= 1, day <= DateTime.daysInMonth(year: Int(astronomical), month: Int(month)) else { throw fieldOverflow() }
            days = DateTime.days(year: Int(astronomical), month: Int(month), day: Int(day))
        }
        guard (0...24).contains(hour), (0...59).contains(minute), (0...60).contains(second) else { throw fieldOverflow() }
        return try DateTime.checkedTimestamp(try DateTime.timestamp(ofDate: days) + ((hour * 60 + minute) * 60 + second) * 1_000_000 + micros)
    }

    /// YYYY reads four digits when another digit field follows with no separator (YYYYMMDD).
    private func hasFollowingDigitField(_ p: Int) -> Bool {
        ["MM", "DD", "HH", "MI", "SS"].contains { spells($0, at: p) }
    }

    /// Whether the template spells `pattern` at `p`. Compared in place: a copy of the rest of
    /// the template at each position made a long template quadratic (a 39 KB one ran for
    /// minutes, out of reach of statement_timeout; found by fuzz-sql).
    private func spells(_ pattern: String, at p: Int) -> Bool {
        var i = p
        for character in pattern {
            guard i < template.count, template[i] == character else { return false }
            i += 1
        }
        return true
    }

    private func fieldOverflow() -> DatabaseError {
        DatabaseError(.range, sqlState: SQLState.datetimeFieldOverflow, "date/time field value out of range: \"\(String(text))\"")
    }
}
