// Dates, times, timestamps and intervals: PostgreSQL's text formats (ISO, the session time zone
// is UTC) and calendar arithmetic on the proleptic Gregorian calendar.
//
// Storage: DATE = days since 1970-01-01; TIME = microseconds since midnight; TIMESTAMP and
// TIMESTAMPTZ = microseconds since 1970-01-01 00:00:00 (UTC for TIMESTAMPTZ); INTERVAL =
// months, days and microseconds kept apart, as PostgreSQL does (a month is not 30 days).

import FoundationEssentials
import BorealisStorage

/// An INTERVAL: months, days and microseconds, kept apart as PostgreSQL keeps them.
///
/// ```swift
/// let week = Value.interval(Interval(days: 7))
/// try db.query("SELECT now() + $1", [week])
/// ```
public struct Interval: Hashable, Sendable {
    public var months: Int32
    public var days: Int32
    public var microseconds: Int64

    public init(months: Int32 = 0, days: Int32 = 0, microseconds: Int64 = 0) {
        self.months = months
        self.days = days
        self.microseconds = microseconds
    }

    /// Comparison the way PostgreSQL orders intervals: a month as 30 days, a day as 24 hours.
    var comparableMicroseconds: Double {
        (Double(months) * 30 + Double(days)) * 86_400e6 + Double(microseconds)
    }
}

package enum DateTime {
    package static let microsPerDay: Int64 = 86_400_000_000

    // MARK: Ranges (PostgreSQL's; docs/robustness.md)

    /// The first and last DATE, as days since 1970: 4714-11-24 BC and 5874897-12-31.
    static let minDate: Int64 = -2_440_588
    static let maxDate: Int64 = 2_145_042_905
    /// The first TIMESTAMP (4714-11-24 BC 00:00), in µs since 1970. The last is what an Int64
    /// of µs since 1970 holds (294247 AD; PostgreSQL's 294276 counts from 2000).
    static let minTimestamp: Int64 = minDate * microsPerDay

    static func dateOutOfRange() -> DatabaseError {
        DatabaseError(.range, sqlState: SQLState.datetimeFieldOverflow, "date out of range")
    }
    static func timestampOutOfRange() -> DatabaseError {
        DatabaseError(.range, sqlState: SQLState.datetimeFieldOverflow, "timestamp out of range")
    }
    static func intervalOutOfRange() -> DatabaseError {
        DatabaseError(.range, sqlState: SQLState.datetimeFieldOverflow, "interval out of range")
    }

    /// A day count as a DATE, or 22008 outside PostgreSQL's dates.
    static func checkedDate(_ days: Int64) throws -> Int32 {
        guard days >= minDate, days <= maxDate, let d = Int32(exactly: days) else { throw dateOutOfRange() }
        return d
    }

    /// A DATE's midnight as µs since 1970, or 22008 when it is past the last timestamp.
    static func timestamp(ofDate days: Int64) throws -> Int64 {
        if let d = Int32(exactly: days), isInfinite(date: d) { return infiniteTimestamp(ofDate: d) }
        let (micros, overflow) = days.multipliedReportingOverflow(by: microsPerDay)
        guard !overflow, micros >= minTimestamp else {
            throw DatabaseError(.range, sqlState: SQLState.datetimeFieldOverflow, "date out of range for timestamp")
        }
        return micros
    }

    /// µs since 1970 checked against the first timestamp (the last is Int64's own, less the
    /// one Int64.max stands for infinity: DateTime+Infinity.swift).
    static func checkedTimestamp(_ micros: Int64) throws -> Int64 {
        guard micros >= minTimestamp, micros != timestampPlusInfinity else { throw timestampOutOfRange() }
        return micros
    }

    /// An interval from wide parts, or 22008 when a part does not fit.
    static func checkedInterval(months: Int64, days: Int64, microseconds: Int64) throws -> Interval {
        guard let m = Int32(exactly: months), let d = Int32(exactly: days) else { throw intervalOutOfRange() }
        return Interval(months: m, days: d, microseconds: microseconds)
    }

    /// A Double as an Int64 part of an interval, or 22008 when it is not finite or too large.
    static func intervalPart(_ value: Double) throws -> Int64 {
        guard value.isFinite, value >= -9.223372036854775808e18, value < 9.223372036854775808e18 else { throw intervalOutOfRange() }
        return Int64(value)
    }

    /// -interval, with 22008 for a part at its type's minimum.
    static func negate(_ i: Interval) throws -> Interval {
        guard i.months != .min, i.days != .min, i.microseconds != .min else { throw intervalOutOfRange() }
        return Interval(months: -i.months, days: -i.days, microseconds: -i.microseconds)
    }

    /// x ± y part by part, with 22008 on overflow.
    static func addIntervals(_ x: Interval, _ y: Interval, subtract: Bool = false) throws -> Interval {
        let m = subtract ? x.months.subtractingReportingOverflow(y.months) : x.months.addingReportingOverflow(y.months)
        let d = subtract ? x.days.subtractingReportingOverflow(y.days) : x.days.addingReportingOverflow(y.days)
        let u = subtract ? x.microseconds.subtractingReportingOverflow(y.microseconds) : x.microseconds.addingReportingOverflow(y.microseconds)
        guard !m.overflow, !d.overflow, !u.overflow else { throw intervalOutOfRange() }
        return Interval(months: m.partialValue, days: d.partialValue, microseconds: u.partialValue)
    }

    // MARK: Calendar

    /// Days since 1970-01-01 of a civil date (proleptic Gregorian).
    static func days(year: Int, month: Int, day: Int) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return Int64(era * 146_097 + doe - 719_468)
    }

    static func civil(_ days: Int64) -> (year: Int, month: Int, day: Int) {
        let z = Int(days) + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Adds months to a date, clamping the day to the month's length (Jan 31 + 1 month = Feb 28/29).
    static func addMonths(_ days: Int64, _ months: Int) -> Int64 {
        let (y, m, d) = civil(days)   // |months| < 2^31 and |days| < 2^48: no overflow
        let total = y * 12 + (m - 1) + months
        let year = total >= 0 ? total / 12 : (total - 11) / 12
        let month = total - year * 12 + 1
        return DateTime.days(year: year, month: month, day: min(d, daysInMonth(year: year, month: month)))
    }

    /// timestamp + interval, or 22008 "timestamp out of range" past either end.
    static func addInterval(toTimestamp micros: Int64, _ interval: Interval) throws -> Int64 {
        if isInfinite(timestamp: micros) { return micros }
        var days = floorDiv(micros, microsPerDay)
        let timeOfDay = micros - days * microsPerDay
        if interval.months != 0 { days = addMonths(days, Int(interval.months)) }
        days += Int64(interval.days)
        let (midnight, o1) = days.multipliedReportingOverflow(by: microsPerDay)
        let (withTime, o2) = midnight.addingReportingOverflow(timeOfDay)
        let (result, o3) = withTime.addingReportingOverflow(interval.microseconds)
        guard !o1, !o2, !o3 else { throw timestampOutOfRange() }
        return try checkedTimestamp(result)
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    // MARK: Formatting

    static func formatDate(_ days: Int64) -> String {
        if days == Int64(datePlusInfinity) { return "infinity" }
        if days == Int64(dateMinusInfinity) { return "-infinity" }
        let (y, m, d) = civil(days)
        let year = y > 0 ? pad(y, 4) : pad(1 - y, 4)
        return "\(year)-\(pad(m, 2))-\(pad(d, 2))" + (y > 0 ? "" : " BC")
    }

    static func formatTime(_ micros: Int64) -> String {
        let seconds = micros / 1_000_000
        let fraction = micros % 1_000_000
        var text = "\(pad(Int(seconds / 3600), 2)):\(pad(Int(seconds / 60 % 60), 2)):\(pad(Int(seconds % 60), 2))"
        if fraction != 0 {
            var digits = pad(Int(fraction), 6)
            while digits.hasSuffix("0") { digits.removeLast() }
            text += "." + digits
        }
        return text
    }

    static func formatTimestamp(_ micros: Int64, zone: Bool) -> String {
        if micros == timestampPlusInfinity { return "infinity" }
        if micros == timestampMinusInfinity { return "-infinity" }
        let days = floorDiv(micros, microsPerDay)
        var text = formatDate(days)
        let bc = text.hasSuffix(" BC")
        if bc { text.removeLast(3) }
        text += " " + formatTime(micros - days * microsPerDay)
        if zone { text += "+00" }
        return text + (bc ? " BC" : "")
    }

    static func formatInterval(_ i: Interval) -> String {
        var parts: [String] = []
        let years = i.months / 12, months = i.months % 12
        // PostgreSQL: singular only for exactly 1 ("-1 days").
        if years != 0 { parts.append("\(years) year\(years == 1 ? "" : "s")") }
        if months != 0 { parts.append("\(months) mon\(months == 1 ? "" : "s")") }
        if i.days != 0 { parts.append("\(i.days) day\(i.days == 1 ? "" : "s")") }
        if i.microseconds != 0 || parts.isEmpty {
            let negative = i.microseconds < 0
            // The magnitude as UInt64: abs(Int64.min) would trap.
            let magnitude = i.microseconds.magnitude
            let time = formatTime(Int64(magnitude % UInt64(microsPerDay)))
            let hours = magnitude / 3_600_000_000
            let rest = time.drop { $0 != ":" }
            parts.append((negative ? "-" : "") + (hours < 10 ? "0" : "") + String(hours) + rest)
        }
        return parts.joined(separator: " ")
    }

    private static func pad(_ v: Int, _ width: Int) -> String {
        let s = String(abs(v))
        return (v < 0 ? "-" : "") + (s.count >= width ? s : String(repeating: "0", count: width - s.count) + s)
    }

    // MARK: Parsing

    static func invalid(_ type: String, _ text: String) -> DatabaseError {
        DatabaseError(.mismatch, sqlState: SQLState.invalidDatetimeFormat, "invalid input syntax for type \(type): \"\(text)\"")
    }

    static func parseDate(_ text: String) throws -> Int64 {
        let t = text.trimmingWhitespace()
        let pieces = t.split(separator: "-", omittingEmptySubsequences: false)
        guard pieces.count == 3, let y = Int(pieces[0]), let m = Int(pieces[1]),
              let d = Int(pieces[2].prefix { $0.isNumber }), pieces[2].allSatisfy({ $0.isNumber }) || pieces[2].count > 2
        else { throw invalid("date", text) }
        guard y <= 5_874_897 else { throw DatabaseError(.range, sqlState: SQLState.datetimeFieldOverflow, "date out of range: \"\(text)\"") } // PostgreSQL's last year
        guard (1...12).contains(m), d >= 1, d <= daysInMonth(year: y, month: m) else {
            throw DatabaseError(.range, sqlState: SQLState.datetimeFieldOverflow, "date/time field value out of range: \"\(text)\"")
        }
        return days(year: y, month: m, day: d)
    }

    static func parseTime(_ text: String) throws -> Int64 {
        let t = text.trimmingWhitespace()
        let fields = t.split(separator: ":", omittingEmptySubsequences: false)
        guard fields.count == 2 || fields.count == 3, let h = Int(fields[0]), let m = Int(fields[1]) else { throw invalid("time", text) }
        var micros: Int64 = 0
        if fields.count == 3 {
            guard let seconds = Double(fields[2]), seconds >= 0, seconds < 61 else { throw invalid("time", text) }
            micros = Int64((seconds * 1_000_000).rounded())
        }
        guard (0...24).contains(h), (0...59).contains(m) else {
            throw DatabaseError(.range, sqlState: SQLState.datetimeFieldOverflow, "date/time field value out of range: \"\(text)\"")
        }
        return Int64(h) * 3_600_000_000 + Int64(m) * 60_000_000 + micros
    }

    /// "YYYY-MM-DD[ T]HH:MM[:SS[.ffffff]][Z|±HH[:MM]]"; with `zone`, an offset converts to UTC.
    package static func parseTimestamp(_ text: String, zone: Bool) throws -> Int64 {
        if let positive = infinityInput(text) { return positive ? timestampPlusInfinity : timestampMinusInfinity }
        var t = text.trimmingWhitespace()
        let type = zone ? "timestamp with time zone" : "timestamp without time zone"
        var offsetMicros: Int64 = 0
        if t.hasSuffix("Z") || t.hasSuffix("z") { t.removeLast() }
        if let sign = t.lastIndex(where: { $0 == "+" || $0 == "-" }), let space = t.firstIndex(where: { $0 == " " || $0 == "T" }), sign > space {
            let offset = t[t.index(after: sign)...].split(separator: ":")
            guard let h = offset.first.flatMap({ Int($0) }) else { throw invalid(type, text) }
            let m = offset.count > 1 ? Int(offset[1]) ?? 0 : 0
            guard abs(h) <= 15, (0...59).contains(m) else {
                throw DatabaseError(.range, sqlState: SQLState.invalidTimeZoneDisplacementValue, "time zone displacement out of range: \"\(text)\"")
            }
            offsetMicros = (Int64(h) * 3600 + Int64(m) * 60) * 1_000_000 * (t[sign] == "-" ? -1 : 1)
            t = String(t[..<sign])
        }
        let split = t.firstIndex(where: { $0 == " " || $0 == "T" })
        let datePart = split.map { String(t[..<$0]) } ?? t
        let timePart = split.map { String(t[t.index(after: $0)...]) } ?? "00:00:00"
        let days = try parseDate(datePart)
        let time = try parseTime(timePart)
        let (midnight, overflow) = days.multipliedReportingOverflow(by: microsPerDay)
        // 294276 AD is PostgreSQL's last timestamp too; beyond it, µs since 1970 overflow.
        guard !overflow, midnight < Int64.max - 2 * microsPerDay else {
            throw DatabaseError(.range, sqlState: SQLState.datetimeFieldOverflow, "timestamp out of range: \"\(text)\"")
        }
        return midnight + time - (zone ? offsetMicros : 0)
    }

    /// PostgreSQL interval input: "1 year 2 months 3 days 04:05:06", "3 hours", "-2 days", "1 week".
    static func parseInterval(_ text: String) throws -> Interval {
        // Parts add up in Doubles and wide integers, then must fit (22008 "interval out of range").
        var months = 0.0, days = 0.0, micros = 0.0
        let words = text.trimmingWhitespace().lowercased().split(separator: " ").map(String.init)
        guard !words.isEmpty else { throw invalid("interval", text) }
        var i = 0
        while i < words.count {
            let word = words[i]
            if word.contains(":") {
                let negative = word.hasPrefix("-")
                let time = Double(try parseTime(negative ? String(word.dropFirst()) : word))
                micros += negative ? -time : time
                i += 1
                continue
            }
            guard let amount = Double(word) else { throw invalid("interval", text) }
            let unit = i + 1 < words.count ? words[i + 1] : "second"
            i += 2
            switch unit.hasSuffix("s") && unit.count > 1 && unit != "s" ? String(unit.dropLast()) : unit {
            case "year", "yr", "y": months += (amount * 12).rounded(.towardZero)
            case "month", "mon": months += amount.rounded(.towardZero)
            case "week", "w": days += (amount * 7).rounded(.towardZero)
            case "day", "d": days += amount.rounded(.towardZero)
            case "hour", "hr", "h": micros += (amount * 3_600_000_000).rounded(.towardZero)
            case "minute", "min", "m": micros += (amount * 60_000_000).rounded(.towardZero)
            case "second", "sec", "s": micros += (amount * 1_000_000).rounded(.towardZero)
            case "millisecond", "ms": micros += (amount * 1000).rounded(.towardZero)
            case "microsecond", "us": micros += amount.rounded(.towardZero)
            default: throw invalid("interval", text)
            }
        }
        return try checkedInterval(months: try intervalPart(months), days: try intervalPart(days), microseconds: try intervalPart(micros))
    }

    // MARK: Fields

    /// extract(field FROM value) for dates, timestamps, times and intervals.
    static func extract(_ field: String, from value: Value) throws -> Value {
        let micros: Int64
        switch value {
        case .null: return .null
        case .date(let d) where DateTime.isInfinite(date: d):
            return try extractInfinite(field, positive: d > 0, type: "date")
        case .timestamp(let t) where DateTime.isInfinite(timestamp: t):
            return try extractInfinite(field, positive: t > 0, type: "timestamp without time zone")
        case .timestamptz(let t) where DateTime.isInfinite(timestamp: t):
            return try extractInfinite(field, positive: t > 0, type: "timestamp with time zone")
        case .date(let d):
            // A date's fields come from its day count: dates past the last timestamp have them too.
            let (m, overflow) = Int64(d).multipliedReportingOverflow(by: microsPerDay)
            if overflow && field == "epoch" { return .double(Double(d) * 86_400) }
            micros = overflow ? 0 : m
            if overflow { return try extract(field, days: Int64(d), time: 0, micros: 0) }
        case .timestamp(let t), .timestamptz(let t): micros = t
        case .time(let t):
            switch field {
            case "hour": return .integer(t / 3_600_000_000)
            case "minute": return .integer(t / 60_000_000 % 60)
            case "second": return .double(Double(t % 60_000_000) / 1e6)
            case "epoch": return .double(Double(t) / 1e6)
            default: throw DatabaseError(.error, sqlState: SQLState.invalidParameterValue, "unit \"\(field)\" not supported for type time")
            }
        case .interval(let i):
            switch field {
            case "year": return .integer(Int64(i.months / 12))
            case "month": return .integer(Int64(i.months % 12))
            case "day": return .integer(Int64(i.days))
            case "hour": return .integer(i.microseconds / 3_600_000_000)
            case "minute": return .integer(i.microseconds / 60_000_000 % 60)
            case "second": return .double(Double(i.microseconds % 60_000_000) / 1e6)
            case "epoch": return .double(i.comparableMicroseconds / 1e6 + Double(i.months) * 0.25 * 86_400)
            default: throw DatabaseError(.error, sqlState: SQLState.invalidParameterValue, "unit \"\(field)\" not supported for type interval")
            }
        default:
            throw DatabaseError(.mismatch, sqlState: SQLState.undefinedFunction, "function extract(\(value.typeName)) does not exist")
        }
        let days = floorDiv(micros, microsPerDay)
        return try extract(field, days: days, time: micros - days * microsPerDay, micros: micros)
    }

    /// The fields of a day count and a time of day (µs); `micros` is their instant, for epoch.
    private static func extract(_ field: String, days: Int64, time: Int64, micros: Int64) throws -> Value {
        let (y, m, d) = civil(days)
        switch field {
        case "year": return .integer(Int64(y))
        case "month": return .integer(Int64(m))
        case "day": return .integer(Int64(d))
        case "hour": return .integer(time / 3_600_000_000)
        case "minute": return .integer(time / 60_000_000 % 60)
        case "second": return .double(Double(time % 60_000_000) / 1e6)
        case "dow": return .integer((days % 7 + 7 + 4) % 7)      // 1970-01-01 was a Thursday
        case "isodow": return .integer(((days % 7 + 7 + 4) % 7 + 6) % 7 + 1)
        case "doy": return .integer(days - DateTime.days(year: y, month: 1, day: 1) + 1)
        case "quarter": return .integer(Int64((m - 1) / 3 + 1))
        case "week":
            // ISO week: the week with the year's first Thursday is week 1.
            let dow = ((days % 7 + 7 + 4) % 7 + 6) % 7   // Monday = 0
            let thursday = days - dow + 3
            let (ty, _, _) = civil(thursday)
            return .integer((thursday - DateTime.days(year: ty, month: 1, day: 1)) / 7 + 1)
        case "decade": return .integer(Int64(y / 10))
        case "century": return .integer(Int64(y > 0 ? (y + 99) / 100 : -((-y + 99) / 100)))
        case "epoch": return .double(Double(micros) / 1e6)
        default: throw DatabaseError(.error, sqlState: SQLState.invalidParameterValue, "unit \"\(field)\" not recognized")
        }
    }

    /// date_trunc(field, timestamp).
    static func truncate(_ field: String, _ micros: Int64) throws -> Int64 {
        if isInfinite(timestamp: micros) { return micros }
        let days = floorDiv(micros, microsPerDay)
        let time = micros - days * microsPerDay
        let (y, m, _) = civil(days)
        switch field {
        case "microseconds": return micros
        case "milliseconds": return micros - (micros % 1000 + 1000) % 1000
        case "second": return days * microsPerDay + time / 1_000_000 * 1_000_000
        case "minute": return days * microsPerDay + time / 60_000_000 * 60_000_000
        case "hour": return days * microsPerDay + time / 3_600_000_000 * 3_600_000_000
        case "day": return days * microsPerDay
        case "week":
            let dow = ((days % 7 + 7 + 4) % 7 + 6) % 7
            return (days - dow) * microsPerDay
        case "month": return DateTime.days(year: y, month: m, day: 1) * microsPerDay
        case "quarter": return DateTime.days(year: y, month: (m - 1) / 3 * 3 + 1, day: 1) * microsPerDay
        case "year": return DateTime.days(year: y, month: 1, day: 1) * microsPerDay
        case "decade": return DateTime.days(year: y - ((y % 10) + 10) % 10, month: 1, day: 1) * microsPerDay
        case "century": return DateTime.days(year: (y - 1) / 100 * 100 + 1, month: 1, day: 1) * microsPerDay
        default: throw DatabaseError(.error, sqlState: SQLState.invalidParameterValue, "unit \"\(field)\" not recognized")
        }
    }
}
