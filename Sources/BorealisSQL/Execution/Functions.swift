// Helpers of the scalar functions (FunctionRegistry.swift): text conversion, floating-point
// functions, to_char formatting, and LIKE matching.

import FoundationEssentials
import Glibc
import BorealisStorage

enum Functions {
    /// A value as text for the string functions (nil for NULL).
    static func text(_ v: Value) throws -> String? {
        if v.isNull { return nil }
        if case .text(let s) = v { return s }
        return v.description
    }

    /// Every argument as text, or nil when any is NULL (the strict functions' rule).
    static func texts(_ args: [Evaluator], _ ctx: ExecutionContext) throws -> [String]? {
        var texts: [String] = []
        for a in args {
            guard let t = try text(try a(ctx)) else { return nil }
            texts.append(t)
        }
        return texts
    }

    /// power, sqrt, exp, ln, log and log10, over double precision.
    @Sendable static func floatingPoint(_ name: String, _ args: [Evaluator]) throws -> Evaluator {
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
    /// Characters are code points, as PostgreSQL compares them; the text is read as UTF-8 in
    /// place (an array of its Characters took 16 bytes a character: 2.7 GB for a 170 MB text,
    /// found by fuzz-sql).
    static func like(_ s: String, _ pattern: String, escape: Character?) -> Bool {
        var pieces: [Int64] = []
        let escapeScalar = escape.flatMap { $0.unicodeScalars.count == 1 ? $0.unicodeScalars.first : nil }
        var scalars = pattern.unicodeScalars.makeIterator()
        while let c = scalars.next() {
            if let escapeScalar, c == escapeScalar, let next = scalars.next() {
                pieces.append(Int64(next.value))
            } else {
                pieces.append(c == "%" ? likeAnyRun : (c == "_" ? likeOneCharacter : Int64(c.value)))
            }
        }
        var text = s
        return text.withUTF8 { likeMatch($0, pieces) }
    }

    /// A piece of a LIKE pattern: a code point, or one of these.
    private static let likeAnyRun: Int64 = -1, likeOneCharacter: Int64 = -2

    /// The matching loop of `like` over UTF-8 `text`.
    private static func likeMatch(_ text: UnsafeBufferPointer<UInt8>, _ pieces: [Int64]) -> Bool {
        /// The code point at byte `i` and the byte after it (valid UTF-8: Swift strings are).
        func scalar(at i: Int) -> (value: Int64, next: Int) {
            let lead = UInt32(text[i])
            if lead < 0x80 { return (Int64(lead), i + 1) }
            let length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2
            var value = lead & (0x7F >> UInt32(length))
            var k = i + 1
            while k < min(i + length, text.count) {
                value = value << 6 | (UInt32(text[k]) & 0x3F)
                k += 1
            }
            return (Int64(value), k)
        }
        var i = 0, p = 0
        var lastAny = -1, resumeAt = 0
        while i < text.count {
            if p < pieces.count, pieces[p] != likeAnyRun {
                let (value, next) = scalar(at: i)
                if pieces[p] == likeOneCharacter || pieces[p] == value {
                    i = next
                    p += 1
                    continue
                }
            }
            if p < pieces.count, pieces[p] == likeAnyRun {
                lastAny = p
                resumeAt = i
                p += 1
            } else if lastAny >= 0 {
                // Let the last % take one more character and try again from there.
                p = lastAny + 1
                resumeAt = scalar(at: resumeAt).next
                i = resumeAt
            } else {
                return false
            }
        }
        while p < pieces.count, pieces[p] == likeAnyRun { p += 1 }
        return p == pieces.count
    }
}
