// Scalar functions of the dialect (docs/sql.md), compiled to closures over their argument
// evaluators, and LIKE matching.

import FoundationEssentials
import Glibc
import BorealisStorage

enum Functions {
    static func compile(_ name: String, _ args: [Evaluator]) throws -> Evaluator {
        func arity(_ range: ClosedRange<Int>) throws {
            guard range.contains(args.count) else {
                throw DatabaseError(.error, sqlState: SQLState.undefinedFunction, "function \(name) with \(args.count) argument(s) does not exist")
            }
        }
        func text(_ v: Value) throws -> String? {
            if v.isNull { return nil }
            if case .text(let s) = v { return s }
            return v.description
        }
        switch name {
        case "abs":
            try arity(1...1)
            let a = args[0]
            return { ctx in
                switch try a(ctx) {
                case .integer(let v):
                    if v == .min { throw Value.overflow() }
                    return .integer(abs(v))
                case .double(let d): return .double(abs(d))
                case .numeric(let n): return .numeric(Numeric(n.value < 0 ? -n.value : n.value, scale: n.scale))
                case .null: return .null
                case let v: throw DatabaseError(.mismatch, sqlState: SQLState.undefinedFunction, "function abs(\(v.typeName)) does not exist")
                }
            }
        case "coalesce":
            try arity(1...Int.max)
            return { ctx in
                for a in args {
                    let v = try a(ctx)
                    if !v.isNull { return v }
                }
                return .null
            }
        case "nullif":
            try arity(2...2)
            let a = args[0], b = args[1]
            return { ctx in
                let x = try a(ctx)
                return try Value.compare(x, try b(ctx)) == 0 ? .null : x
            }
        case "greatest", "least":
            try arity(1...Int.max)
            let wantGreater = name == "greatest"
            return { ctx in
                var best = Value.null
                for a in args {
                    let v = try a(ctx)
                    if v.isNull { continue }
                    if best.isNull { best = v; continue }
                    if let c = try Value.compare(v, best), (wantGreater ? c > 0 : c < 0) { best = v }
                }
                return best
            }
        case "length", "char_length", "character_length":
            try arity(1...1)
            let a = args[0]
            return { ctx in Value.characterLength(try a(ctx)) }
        case "octet_length":
            try arity(1...1)
            let a = args[0]
            return { ctx in Value.octetLength(try a(ctx)) }
        case "lower", "upper":
            try arity(1...1)
            let a = args[0]
            let up = name == "upper"
            return { ctx in
                guard let s = try text(try a(ctx)) else { return .null }
                return .text(up ? s.uppercased() : s.lowercased())
            }
        case "substr", "substring":
            try arity(2...3)
            return { ctx in
                guard let s = try text(try args[0](ctx)) else { return .null }
                guard case .integer(let start) = try args[1](ctx).cast(to: .bigint) else { return .null }
                let chars = Array(s)
                // Wide arithmetic: start and length may be anywhere in bigint's range.
                var from = start == .min ? Int.min : Int(start) - 1
                var to = chars.count
                if args.count == 3 {
                    guard case .integer(let length) = try args[2](ctx).cast(to: .bigint) else { return .null }
                    if length < 0 { throw DatabaseError(.error, sqlState: SQLState.substringError, "negative substring length not allowed") }
                    let (end, overflow) = from.addingReportingOverflow(Int(length))
                    to = overflow ? chars.count : min(chars.count, end)
                }
                from = min(max(0, from), chars.count)
                return .text(from < to ? String(chars[from..<to]) : "")
            }
        case "trim", "btrim", "ltrim", "rtrim":
            try arity(1...2)
            return { ctx in
                guard let s = try text(try args[0](ctx)) else { return .null }
                let set: Set<Character>
                if args.count == 2 {
                    guard let chars = try text(try args[1](ctx)) else { return .null }
                    set = Set(chars)
                } else {
                    set = [" "]
                }
                var chars = Substring(s)
                if name != "rtrim" { chars = chars.drop { set.contains($0) } }
                if name != "ltrim" { while let last = chars.last, set.contains(last) { chars = chars.dropLast() } }
                return .text(String(chars))
            }
        case "replace":
            try arity(3...3)
            return { ctx in
                guard let s = try text(try args[0](ctx)), let from = try text(try args[1](ctx)), let to = try text(try args[2](ctx)) else { return .null }
                return .text(from.isEmpty ? s : s.replacing(from, with: to))
            }
        case "concat":
            return { ctx in .text(try args.map { try text(try $0(ctx)) ?? "" }.joined()) }
        case "round", "trunc":
            try arity(1...2)
            let truncate = name == "trunc"
            return { ctx in
                let v = try args[0](ctx)
                var digits: Int64 = 0
                if args.count == 2 {
                    guard case .integer(let d) = try args[1](ctx).cast(to: .bigint) else { return .null }
                    digits = d
                }
                switch v {
                case .null: return .null
                case .numeric(let n):
                    // PostgreSQL clamps the scale to ±2000 (NUMERIC_MAX_RESULT_SCALE); past the
                    // 38 digits a NUMERIC holds, rounding changes nothing but the display scale.
                    let scale = Int(max(-Int64(Numeric.maxResultScale), min(Int64(Numeric.maxResultScale), digits)))
                    if scale < -38 { return .numeric(Numeric(0, scale: 0)) }
                    if scale >= 0 { return .numeric(truncate ? n.truncated(to: scale) : n.rounded(to: scale)) }
                    let factor = pow(Decimal(10), -scale)
                    let shifted = Numeric(n.value / factor, scale: 0)
                    return .numeric(Numeric((truncate ? shifted.truncated(to: 0) : shifted.rounded(to: 0)).value * factor, scale: 0))
                case .integer where digits >= 0: return v
                case .integer where digits < -18: return .integer(0)
                case .integer(let i):
                    let scale = pow(10.0, Double(-digits))
                    let d = Double(i) / scale
                    return .integer(Int64((truncate ? d.rounded(.towardZero) : d.rounded(.toNearestOrAwayFromZero)) * scale))
                case .double(let d) where digits > 330 || !d.isFinite: return v   // nothing to round
                case .double where digits < -330: return .double(0)
                case .double(let d):
                    let scale = pow(10.0, Double(digits))
                    let scaled = d * scale
                    return .double((truncate ? scaled.rounded(.towardZero) : scaled.rounded(.toNearestOrAwayFromZero)) / scale)
                default: throw DatabaseError(.mismatch, sqlState: SQLState.undefinedFunction, "function \(name)(\(v.typeName)) does not exist")
                }
            }
        case "ceil", "ceiling", "floor":
            try arity(1...1)
            let up = name != "floor"
            return { ctx in
                switch try args[0](ctx) {
                case .null: return .null
                case .integer(let i): return .integer(i)
                case .double(let d): return .double(up ? d.rounded(.up) : d.rounded(.down))
                case .numeric(let n):
                    return .numeric(Numeric(n.value.rounded(scale: 0, up ? .up : .down), scale: 0))
                case let v: throw DatabaseError(.mismatch, sqlState: SQLState.undefinedFunction, "function \(name)(\(v.typeName)) does not exist")
                }
            }
        case "sign":
            try arity(1...1)
            return { ctx in
                switch try args[0](ctx) {
                case .null: return .null
                case .integer(let i): return .integer(i.signum())
                case .double(let d): return .double(d > 0 ? 1 : (d < 0 ? -1 : 0))
                case .numeric(let n): return .numeric(Numeric(n.value > 0 ? 1 : (n.value < 0 ? -1 : 0), scale: 0))
                case let v: throw DatabaseError(.mismatch, sqlState: SQLState.undefinedFunction, "function sign(\(v.typeName)) does not exist")
                }
            }
        case "mod":
            try arity(2...2)
            return { ctx in try Value.arithmetic(.modulo, try args[0](ctx), try args[1](ctx)) }
        case "power", "pow", "sqrt", "exp", "ln", "log", "log10":
            try arity(name == "power" || name == "pow" ? 2...2 : (name == "log" ? 1...2 : 1...1))
            return { ctx in
                let values = try args.map { try $0(ctx) }
                if values.contains(where: \.isNull) { return .null }
                guard let x = values[0].doubleValue else {
                    throw DatabaseError(.mismatch, sqlState: SQLState.undefinedFunction, "function \(name)(\(values[0].typeName)) does not exist")
                }
                switch name {
                case "power", "pow":
                    guard let y = values[1].doubleValue else { throw DatabaseError(.mismatch, sqlState: SQLState.undefinedFunction, "function power does not accept \(values[1].typeName)") }
                    if x == 0 && y < 0 { throw DatabaseError(.error, sqlState: SQLState.invalidArgumentForPowerFunction, "zero raised to a negative power is undefined") }
                    if x < 0 && y != y.rounded() { throw DatabaseError(.error, sqlState: SQLState.invalidArgumentForPowerFunction, "a negative number raised to a non-integer power yields a complex result") }
                    return try Functions.finite(pow(x, y), from: x, y)
                case "sqrt":
                    if x < 0 { throw DatabaseError(.error, sqlState: SQLState.invalidArgumentForPowerFunction, "cannot take square root of a negative number") }
                    return .double(x.squareRoot())
                case "exp":
                    let r = Glibc.exp(x)
                    if r == 0 && x.isFinite { throw DatabaseError(.range, sqlState: SQLState.numericValueOutOfRange, "value out of range: underflow") }
                    return try Functions.finite(r, from: x)
                default:
                    if values.count == 2 {
                        guard let y = values[1].doubleValue, x > 0, y > 0 else { throw DatabaseError(.error, sqlState: SQLState.invalidArgumentForLogarithm, "cannot take logarithm of zero or a negative number") }
                        return .double(Glibc.log(y) / Glibc.log(x))
                    }
                    if x == 0 { throw DatabaseError(.error, sqlState: SQLState.invalidArgumentForLogarithm, "cannot take logarithm of zero") }
                    if x < 0 { throw DatabaseError(.error, sqlState: SQLState.invalidArgumentForLogarithm, "cannot take logarithm of a negative number") }
                    return .double(name == "ln" ? Glibc.log(x) : log10(x))
                }
            }
        case "random":
            try arity(0...0)
            return { _ in .double(Double.random(in: 0..<1)) }
        case "repeat":
            try arity(2...2)
            return { ctx in
                guard let s = try text(try args[0](ctx)), case .integer(let n) = try args[1](ctx).cast(to: .bigint) else { return .null }
                let count = max(0, Int(n))
                let (bytes, overflow) = s.utf8.count.multipliedReportingOverflow(by: count)
                if overflow || bytes > Limits.maxValueBytes { throw Limits.valueTooLarge() }
                return .text(String(repeating: s, count: count))
            }
        case "reverse":
            try arity(1...1)
            return { ctx in
                guard let s = try text(try args[0](ctx)) else { return .null }
                return .text(String(s.reversed()))
            }
        case "strpos", "position":
            try arity(2...2)
            return { ctx in
                guard let s = try text(try args[0](ctx)), let sub = try text(try args[1](ctx)) else { return .null }
                guard let range = s.firstRange(of: sub) else { return .integer(0) }
                return .integer(Int64(s.distance(from: s.startIndex, to: range.lowerBound) + 1))
            }
        case "left", "right":
            try arity(2...2)
            return { ctx in
                guard let s = try text(try args[0](ctx)), case .integer(let n) = try args[1](ctx).cast(to: .bigint) else { return .null }
                let chars = Array(s)
                let count = n >= 0 ? min(chars.count, Int(n)) : max(0, chars.count - Int(min(n.magnitude, UInt64(chars.count))))
                return .text(String(name == "left" ? chars.prefix(count) : chars.suffix(count)))
            }
        case "now", "current_timestamp", "transaction_timestamp", "statement_timestamp":
            try arity(0...0)
            return { ctx in .timestamptz(ctx.statementTime) }
        case "localtimestamp":
            try arity(0...0)
            return { ctx in .timestamp(ctx.statementTime) }
        case "current_date":
            try arity(0...0)
            return { ctx in .date(Int32(DateTime.floorDiv(ctx.statementTime, DateTime.microsPerDay))) }
        case "current_time", "localtime":
            try arity(0...0)
            return { ctx in .time(ctx.statementTime - DateTime.floorDiv(ctx.statementTime, DateTime.microsPerDay) * DateTime.microsPerDay) }
        case "date_part":
            try arity(2...2)
            return { ctx in
                guard let field = try text(try args[0](ctx)) else { return .null }
                var v = try args[1](ctx)
                if case .text(let s) = v { v = try Value.text(s).cast(to: .timestamp) }
                return try DateTime.extract(field.lowercased(), from: v)
            }
        case "date_trunc":
            try arity(2...2)
            return { ctx in
                guard let field = try text(try args[0](ctx)) else { return .null }
                switch try args[1](ctx) {
                case .null: return .null
                case .timestamp(let t): return .timestamp(try DateTime.truncate(field.lowercased(), t))
                case .timestamptz(let t): return .timestamptz(try DateTime.truncate(field.lowercased(), t))
                case .date(let d): return .timestamp(try DateTime.truncate(field.lowercased(), try DateTime.timestamp(ofDate: Int64(d))))
                case .text(let s): return .timestamp(try DateTime.truncate(field.lowercased(), try DateTime.parseTimestamp(s, zone: false)))
                case let v: throw DatabaseError(.mismatch, sqlState: SQLState.undefinedFunction, "function date_trunc(text, \(v.typeName)) does not exist")
                }
            }
        case "make_date":
            try arity(3...3)
            return { ctx in
                let parts = try args.map { try $0(ctx).cast(to: .bigint) }
                guard case .integer(let y) = parts[0], case .integer(let m) = parts[1], case .integer(let d) = parts[2] else { return .null }
                // PostgreSQL: a negative year is BC (-1 is 1 BC, astronomical year 0); there is no year 0.
                guard y != 0, (1...12).contains(m), d >= 1, d <= DateTime.daysInMonth(year: Int(y < 0 ? y + 1 : y), month: Int(m)) else {
                    throw DatabaseError(.range, sqlState: SQLState.datetimeFieldOverflow, "date field value out of range: \(y)-\(m)-\(d)")
                }
                let outOfRange = DatabaseError(.range, sqlState: SQLState.datetimeFieldOverflow, "date out of range: \(y)-\(m)-\(d)")
                guard y > -10_000_000, y < 10_000_000 else { throw outOfRange }
                let days = DateTime.days(year: Int(y < 0 ? y + 1 : y), month: Int(m), day: Int(d))
                guard let date = try? DateTime.checkedDate(days) else { throw outOfRange }
                return .date(date)
            }
        case "to_char":
            try arity(2...2)
            return { ctx in
                let v = try args[0](ctx)
                // A date past the last timestamp is an error, as in PostgreSQL (not a clamped instant).
                if case .date(let d) = v { _ = try DateTime.timestamp(ofDate: Int64(d)) }
                guard let format = try text(try args[1](ctx)), let micros = v.instant else {
                    if v.isNull { return .null }
                    throw DatabaseError(.mismatch, sqlState: SQLState.undefinedFunction, "function to_char(\(v.typeName), text) does not exist")
                }
                return .text(Functions.formatTimestamp(micros, format))
            }
        case "md5":
            try arity(1...1)
            return { ctx in
                switch try args[0](ctx) {
                case .null: return .null
                case .blob(let b): return .text(MD5.hex(b))
                case let v: return .text(MD5.hex(Array(try text(v)!.utf8)))
                }
            }
        case "split_part":
            try arity(3...3)
            return { ctx in
                guard let s = try text(try args[0](ctx)), let delimiter = try text(try args[1](ctx)),
                      case .integer(let n) = try args[2](ctx).cast(to: .bigint) else { return .null }
                if n == 0 { throw DatabaseError(.error, sqlState: SQLState.invalidParameterValue, "field position must not be zero") }
                let parts = delimiter.isEmpty ? [s] : s.components(separatedBy: delimiter)
                let index = n > 0 ? Int(n) - 1 : parts.count + Int(n)
                return .text(index >= 0 && index < parts.count ? parts[index] : "")
            }
        case "lpad", "rpad":
            try arity(2...3)
            return { ctx in
                guard let s = try text(try args[0](ctx)), case .integer(let length) = try args[1](ctx).cast(to: .bigint) else { return .null }
                var fill = " "
                if args.count == 3 {
                    guard let f = try text(try args[2](ctx)) else { return .null }
                    fill = f
                }
                let chars = Array(s)
                let target = max(0, Int(length))
                // Every character is at least a byte: the size is checked before the text is built.
                if target > Limits.maxValueBytes { throw Limits.valueTooLarge() }
                if chars.count >= target { return .text(String(chars.prefix(target))) }
                if fill.isEmpty { return .text(s) }
                let padding = String(String(repeating: fill, count: (target - chars.count) / fill.count + 1).prefix(target - chars.count))
                return .text(name == "lpad" ? padding + s : s + padding)
            }
        case "concat_ws":
            try arity(1...Int.max)
            return { ctx in
                guard let separator = try text(try args[0](ctx)) else { return .null }
                return .text(try args.dropFirst().compactMap { try text(try $0(ctx)) }.joined(separator: separator))
            }
        case "initcap":
            try arity(1...1)
            return { ctx in
                guard let s = try text(try args[0](ctx)) else { return .null }
                var result = ""
                var startOfWord = true
                for c in s {
                    result += startOfWord ? c.uppercased() : c.lowercased()
                    startOfWord = !(c.isLetter || c.isNumber)
                }
                return .text(result)
            }
        case "ascii":
            try arity(1...1)
            return { ctx in
                guard let s = try text(try args[0](ctx)) else { return .null }
                return .integer(Int64(s.unicodeScalars.first?.value ?? 0))
            }
        case "chr":
            try arity(1...1)
            return { ctx in
                guard case .integer(let code) = try args[0](ctx).cast(to: .bigint) else { return .null }
                guard code > 0, let scalar = Unicode.Scalar(UInt32(clamping: code)) else {
                    throw DatabaseError(.range, sqlState: SQLState.programLimitExceeded, "requested character too large for encoding: \(code)")
                }
                return .text(String(Character(scalar)))
            }
        default:
            throw DatabaseError(.error, sqlState: SQLState.undefinedFunction, "function \(name) does not exist")
        }
    }

    /// A float result, or 22003 when finite inputs overflowed to infinity (PostgreSQL).
    static func finite(_ r: Double, from inputs: Double...) throws -> Value {
        if r.isInfinite && inputs.allSatisfy(\.isFinite) {
            throw DatabaseError(.range, sqlState: SQLState.numericValueOutOfRange, "value out of range: overflow")
        }
        return .double(r)
    }

    /// to_char for dates and timestamps: YYYY, YY, MM, Mon, Month, DD, DDD, D, HH24, HH12, HH, MI,
    /// SS, MS, US, AM/PM, Day, Dy, Q; other characters are copied.
    static func formatTimestamp(_ micros: Int64, _ format: String) -> String {
        let days = DateTime.floorDiv(micros, DateTime.microsPerDay)
        let time = micros - days * DateTime.microsPerDay
        let (y, m, d) = DateTime.civil(days)
        let hour = Int(time / 3_600_000_000), minute = Int(time / 60_000_000 % 60), second = Int(time / 1_000_000 % 60)
        let dow = Int((days % 7 + 7 + 4) % 7)
        let monthNames = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
        let dayNames = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
        func pad(_ v: Int, _ w: Int) -> String { String(v).leftPadded(w) }
        func padRight(_ s: String, _ w: Int) -> String { s.count >= w ? s : s + String(repeating: " ", count: w - s.count) }
        let patterns: [(String, () -> String)] = [
            ("YYYY", { pad(y, 4) }), ("Month", { padRight(monthNames[m - 1], 9) }), ("MONTH", { padRight(monthNames[m - 1].uppercased(), 9) }),
            ("Mon", { String(monthNames[m - 1].prefix(3)) }), ("MON", { String(monthNames[m - 1].prefix(3)).uppercased() }),
            ("Day", { padRight(dayNames[dow], 9) }), ("DAY", { padRight(dayNames[dow].uppercased(), 9) }),
            ("Dy", { String(dayNames[dow].prefix(3)) }), ("DDD", { pad(Int(days - DateTime.days(year: y, month: 1, day: 1)) + 1, 3) }),
            ("HH24", { pad(hour, 2) }), ("HH12", { pad(hour % 12 == 0 ? 12 : hour % 12, 2) }), ("HH", { pad(hour % 12 == 0 ? 12 : hour % 12, 2) }),
            ("MI", { pad(minute, 2) }), ("SS", { pad(second, 2) }), ("MS", { pad(Int(time / 1000 % 1000), 3) }),
            ("US", { pad(Int(time % 1_000_000), 6) }), ("AM", { hour < 12 ? "AM" : "PM" }), ("PM", { hour < 12 ? "AM" : "PM" }),
            ("YY", { pad(y % 100, 2) }), ("MM", { pad(m, 2) }), ("DD", { pad(d, 2) }), ("Q", { String((m - 1) / 3 + 1) }),
            ("D", { String(dow + 1) }),
        ]
        var out = ""
        var rest = Substring(format)
        outer: while !rest.isEmpty {
            for (pattern, render) in patterns where rest.hasPrefix(pattern) {
                out += render()
                rest = rest.dropFirst(pattern.count)
                continue outer
            }
            out.append(rest.removeFirst())
        }
        return out
    }


    /// SQL LIKE: % matches any run, _ one character, the escape character quotes the next one.
    /// Iterative (greedy, returning to the last %): no recursion and no memo table, so a long
    /// text or pattern cannot exhaust the stack or memory; time is at most text × pattern.
    static func like(_ s: String, _ pattern: String, escape: Character?) -> Bool {
        enum Piece: Equatable { case any, one, literal(Character) }
        var pieces: [Piece] = []
        let pat = Array(pattern)
        var j = 0
        while j < pat.count {
            if let escape, pat[j] == escape, j + 1 < pat.count {
                pieces.append(.literal(pat[j + 1]))
                j += 2
                continue
            }
            pieces.append(pat[j] == "%" ? .any : (pat[j] == "_" ? .one : .literal(pat[j])))
            j += 1
        }
        let text = Array(s)
        var i = 0, p = 0
        var lastAny = -1, resumeAt = 0
        while i < text.count {
            if p < pieces.count, pieces[p] == .one || pieces[p] == .literal(text[i]) {
                i += 1
                p += 1
            } else if p < pieces.count, pieces[p] == .any {
                lastAny = p
                resumeAt = i
                p += 1
            } else if lastAny >= 0 {
                // Let the last % take one more character and try again from there.
                p = lastAny + 1
                resumeAt += 1
                i = resumeAt
            } else {
                return false
            }
        }
        while p < pieces.count, pieces[p] == .any { p += 1 }
        return p == pieces.count
    }
}
