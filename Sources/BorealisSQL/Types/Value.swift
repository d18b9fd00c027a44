// SQL values and their PostgreSQL semantics: integer arithmetic stays integer (overflow and
// division by zero are errors), integers and floats compare and promote numerically, text
// compares byte-wise on UTF-8 (the "C" collation), NULL propagates, booleans print as t/f.

import FoundationEssentials
import Glibc
import BorealisStorage

/// A SQL value.
/// A SQL value, as parameters take them and rows hold them.
///
/// ```swift
/// try db.execute("INSERT INTO t VALUES ($1, $2, $3)", [.integer(1), .text("apple"), .null])
/// if case .text(let name) = try db.query("SELECT name FROM t")[0][0] { print(name) }
/// ```
public enum Value: Sendable, Hashable, CustomStringConvertible {
    case null
    case integer(Int64)
    case double(Double)
    case text(String)
    case blob([UInt8])
    case boolean(Bool)
    /// Days since 1970-01-01.
    case date(Int32)
    /// Microseconds since midnight.
    case time(Int64)
    /// Microseconds since 1970-01-01 00:00:00, no time zone.
    case timestamp(Int64)
    /// Microseconds since 1970-01-01 00:00:00 UTC.
    case timestamptz(Int64)
    case interval(Interval)
    case numeric(Numeric)
    /// An array of any scalar type (its SQL type is known statically; see ArrayValue.swift).
    case array(ArrayValue)

    public var isNull: Bool { if case .null = self { return true } else { return false } }

    /// The value as PostgreSQL prints it (NULL prints as "NULL").
    public var description: String {
        switch self {
        case .null: return "NULL"
        case .integer(let v): return String(v)
        case .double(let v): return Value.format(v)
        case .text(let s): return s
        case .blob(let b): return "\\x" + hexString(b)
        case .boolean(let b): return b ? "t" : "f"
        case .date(let d): return DateTime.formatDate(Int64(d))
        case .time(let t): return DateTime.formatTime(t)
        case .timestamp(let t): return DateTime.formatTimestamp(t, zone: false)
        case .timestamptz(let t): return DateTime.formatTimestamp(t, zone: true)
        case .interval(let i): return DateTime.formatInterval(i)
        case .numeric(let n): return n.description
        case .array(let a): return a.text
        }
    }

    static func format(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v < 0 ? "-Infinity" : "Infinity" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }

    package var typeName: String {
        switch self {
        case .null: return "unknown"
        case .integer: return "bigint"
        case .double: return "double precision"
        case .text: return "text"
        case .blob: return "bytea"
        case .boolean: return "boolean"
        case .date: return "date"
        case .time: return "time without time zone"
        case .timestamp: return "timestamp without time zone"
        case .timestamptz: return "timestamp with time zone"
        case .interval: return "interval"
        case .numeric: return "numeric"
        case .array: return sqlType.displayName
        }
    }

    /// Microseconds since the epoch of a date or timestamp (for mixed comparisons).
    var instant: Int64? {
        switch self {
        case .date(let d):
            // A date past the last timestamp orders after every timestamp (no overflow trap).
            let (micros, overflow) = Int64(d).multipliedReportingOverflow(by: DateTime.microsPerDay)
            return overflow ? (d < 0 ? .min : .max) : micros
        case .timestamp(let t), .timestamptz(let t): return t
        default: return nil
        }
    }

    var isTemporal: Bool {
        switch self {
        case .date, .time, .timestamp, .timestamptz, .interval: return true
        default: return false
        }
    }

    /// The type of this value, for resolving untyped text against it (NULL and text: text).
    var sqlType: SQLType {
        switch self {
        case .integer: return .bigint
        case .double: return .doublePrecision
        case .date: return .date
        case .time: return .time
        case .timestamp: return .timestamp
        case .timestamptz: return .timestamptz
        case .interval: return .interval
        case .numeric: return .numeric
        case .boolean: return .boolean
        case .blob: return .bytea
        case .null, .text: return .text
        case .array(let a):
            // The first non-NULL element's type (text for an array of NULLs or an empty one).
            return a.elements.first(where: { !$0.isNull })?.sqlType.arrayType ?? .textArray
        }
    }

    // MARK: Errors

    static func overflow(_ type: String = "bigint") -> DatabaseError {
        DatabaseError(.range, sqlState: SQLState.numericValueOutOfRange, "\(type) out of range")
    }
    static let divisionByZero = DatabaseError(.error, sqlState: SQLState.divisionByZero, "division by zero")

    static func operatorError(_ op: String, _ a: Value, _ b: Value) -> DatabaseError {
        DatabaseError(.mismatch, sqlState: SQLState.undefinedFunction, "operator does not exist: \(a.typeName) \(op) \(b.typeName)")
    }

    // MARK: Comparison

    /// Three-valued comparison: nil when either side is NULL. Throws for incomparable types.
    static func compare(_ a: Value, _ b: Value) throws -> Int? {
        switch (a, b) {
        case (.null, _), (_, .null): return nil
        case (.integer(let x), .integer(let y)): return x < y ? -1 : (x > y ? 1 : 0)
        case (.numeric(let x), .numeric(let y)): return Numeric.compare(x, y)
        case (.numeric(let x), .integer(let y)): return Numeric.compare(x, Numeric(y))
        case (.integer(let x), .numeric(let y)): return Numeric.compare(Numeric(x), y)
        case (.numeric(let x), .double(let y)): return compareDouble(x.doubleValue, y)
        case (.double(let x), .numeric(let y)): return compareDouble(x, y.doubleValue)
        case (.text(let s), .numeric): return try compare(try Value.text(s).cast(to: .numeric), b)
        case (.numeric, .text(let s)): return try compare(a, try Value.text(s).cast(to: .numeric))
        case (.integer(let x), .double(let y)): return compareDouble(Double(x), y)
        case (.double(let x), .integer(let y)): return compareDouble(x, Double(y))
        case (.double(let x), .double(let y)): return compareDouble(x, y)
        case (.text(let x), .text(let y)): return compareBytes(x, y)
        case (.boolean(let x), .boolean(let y)): return x == y ? 0 : (!x ? -1 : 1)
        case (.blob(let x), .blob(let y)):
            return x.lexicographicallyPrecedes(y) ? -1 : (x == y ? 0 : 1)
        case (.text(let s), .integer), (.text(let s), .double):
            return try compare(try Value.text(s).cast(to: b.isInteger ? .bigint : .doublePrecision), b)
        case (.integer, .text(let s)), (.double, .text(let s)):
            return try compare(a, try Value.text(s).cast(to: a.isInteger ? .bigint : .doublePrecision))
        case (.text(let s), .boolean):
            return try compare(try Value.text(s).cast(to: .boolean), b)
        case (.boolean, .text(let s)):
            return try compare(a, try Value.text(s).cast(to: .boolean))
        case (.time(let x), .time(let y)): return x < y ? -1 : (x > y ? 1 : 0)
        case (.array(let x), .array(let y)): return try ArrayValue.compare(x, y)
        case (.array(let x), .text(let s)):
            return try ArrayValue.compare(x, try ArrayValue.parse(s, element: a.sqlType.elementType ?? .text))
        case (.text(let s), .array(let y)):
            return try ArrayValue.compare(try ArrayValue.parse(s, element: b.sqlType.elementType ?? .text), y)
        case (.interval(let x), .interval(let y)):
            let p = x.comparableMicroseconds, q = y.comparableMicroseconds
            return p < q ? -1 : (p > q ? 1 : 0)
        case (.text(let s), _) where b.isTemporal:
            return try compare(try Value.text(s).cast(to: b.sqlType), b)
        case (_, .text(let s)) where a.isTemporal:
            return try compare(a, try Value.text(s).cast(to: a.sqlType))
        case _ where a.instant != nil && b.instant != nil:
            let x = a.instant!, y = b.instant!
            return x < y ? -1 : (x > y ? 1 : 0)
        default:
            throw operatorError("=", a, b)
        }
    }

    var isInteger: Bool { if case .integer = self { return true } else { return false } }

    private static func compareDouble(_ x: Double, _ y: Double) -> Int {
        // PostgreSQL orders NaN above every other value and equal to itself.
        if x.isNaN || y.isNaN { return x.isNaN ? (y.isNaN ? 0 : 1) : -1 }
        return x < y ? -1 : (x > y ? 1 : 0)
    }

    static func compareBytes(_ x: String, _ y: String) -> Int {
        // Native strings (all but bridged ones): one memcmp (a byte at a time took minutes to
        // sort 20,000 texts of 100 kB sharing a long prefix).
        let contiguous = x.utf8.withContiguousStorageIfAvailable { a in
            y.utf8.withContiguousStorageIfAvailable { b in compareKeys(UnsafeRawBufferPointer(a), UnsafeRawBufferPointer(b)) }
        }
        if let contiguous, let c = contiguous { return c.signum() }
        var xi = x.utf8.makeIterator()
        var yi = y.utf8.makeIterator()
        while true {
            switch (xi.next(), yi.next()) {
            case (nil, nil): return 0
            case (nil, _): return -1
            case (_, nil): return 1
            case (let p?, let q?): if p != q { return p < q ? -1 : 1 }
            }
        }
    }

    /// Total order for sorting and grouping: NULLs last (PostgreSQL's default for ASC).
    static func sortCompare(_ a: Value, _ b: Value) -> Int {
        switch (a, b) {
        case (.null, .null): return 0
        case (.null, _): return 1
        case (_, .null): return -1
        default:
            if let c = try? compare(a, b) { return c }
            return a.rank - b.rank
        }
    }

    private var rank: Int {
        switch self {
        case .null: return 5
        case .boolean: return 0
        case .integer, .double, .numeric: return 1
        case .text: return 2
        case .blob: return 3
        case .date, .timestamp, .timestamptz: return 4
        case .time: return 6
        case .interval: return 7
        case .array: return 8
        }
    }

    /// The value as a hashing key (GROUP BY, DISTINCT, hash joins, set operations, window
    /// partitions): values SQL compares as equal get equal keys across the numeric types —
    /// 1 = 1.0 = 1::numeric, and 2.5::numeric = 2.5::float8, a numeric meeting a double being
    /// compared as a double, as in PostgreSQL — and NaN is one group, as PostgreSQL groups it.
    var groupKey: Value {
        switch self {
        case .double(let d):
            if d.isNaN { return Self.nanKey }
            if d == d.rounded(), abs(d) < 9.2e18 { return .integer(Int64(d)) }
            return self
        case .numeric(let n):
            if n.isIntegral, case let i = n.value.int64Value, Decimal(i) == n.value { return .integer(i) }
            // A numeric that a double spells exactly (the double's shortest text is the
            // numeric's) keys as that double; a finer one keeps its exact value.
            let text = n.value.description
            if let d = Double(text), d.isFinite, "\(d)" == text { return .double(d) }
            return .numeric(n.normalized)
        case .array(let a):
            return .array(ArrayValue(elements: a.elements.map(\.groupKey), dimensions: a.dimensions))
        default:
            return self
        }
    }

    /// NaN's key: a double NaN never equals itself, so it cannot be one.
    private static let nanKey = Value.blob([0xFF, 0x4E, 0x61, 0x4E])

    // MARK: Arithmetic

    static func arithmetic(_ op: BinaryOperator, _ a: Value, _ b: Value) throws -> Value {
        if a.isNull || b.isNull { return .null }
        if a.isTemporal || b.isTemporal { return try temporalArithmetic(op, a, b) }
        switch (a, b) {
        case (.integer(let x), .integer(let y)):
            switch op {
            case .add:
                let (r, o) = x.addingReportingOverflow(y)
                if o { throw overflow() }
                return .integer(r)
            case .subtract:
                let (r, o) = x.subtractingReportingOverflow(y)
                if o { throw overflow() }
                return .integer(r)
            case .multiply:
                let (r, o) = x.multipliedReportingOverflow(by: y)
                if o { throw overflow() }
                return .integer(r)
            case .divide:
                if y == 0 { throw divisionByZero }
                if x == .min && y == -1 { throw overflow() }
                return .integer(x / y)
            case .modulo:
                if y == 0 { throw divisionByZero }
                if y == -1 { return .integer(0) }
                return .integer(x % y)
            default: break
            }
        case (.numeric, .numeric), (.numeric, .integer), (.integer, .numeric):
            let x = a.numericValue!, y = b.numericValue!
            switch op {
            case .add: return .numeric(try Numeric.add(x, y).finite())
            case .subtract: return .numeric(try Numeric.add(x, y, subtract: true).finite())
            case .multiply: return .numeric(try Numeric.multiply(x, y).finite())
            case .divide: return .numeric(try Numeric.divide(x, y).finite())
            case .modulo: return .numeric(try Numeric.modulo(x, y).finite())
            default: break
            }
        case (.integer, .double), (.double, .integer), (.double, .double), (.numeric, .double), (.double, .numeric):
            let x = a.doubleValue!, y = b.doubleValue!
            switch op {
            case .add: return try checked(x + y, x, y)
            case .subtract: return try checked(x - y, x, y)
            case .multiply: return try checked(x * y, x, y)
            case .divide:
                if y == 0 { throw divisionByZero }
                return try checked(x / y, x, y)
            case .modulo:
                if y == 0 { throw divisionByZero }
                return .double(fmod(x, y))
            default: break
            }
        case (.text, _), (_, .text):
            // An untyped literal meets a number: PostgreSQL resolves it as that number's type.
            if case .text(let s) = a, b.doubleValue != nil {
                return try arithmetic(op, try Value.text(s).cast(to: b.isInteger ? .bigint : .doublePrecision), b)
            }
            if case .text(let s) = b, a.doubleValue != nil {
                return try arithmetic(op, a, try Value.text(s).cast(to: a.isInteger ? .bigint : .doublePrecision))
            }
        default: break
        }
        throw operatorError(op.rawValue, a, b)
    }

    private static func temporalArithmetic(_ op: BinaryOperator, _ a: Value, _ b: Value) throws -> Value {
        func days(_ v: (partialValue: Int64, overflow: Bool)) throws -> Value {
            guard !v.overflow else { throw DateTime.dateOutOfRange() }
            return .date(try DateTime.checkedDate(v.partialValue))
        }
        func midnight(_ d: Int32) throws -> Int64 { try DateTime.timestamp(ofDate: Int64(d)) }
        if let infinite = try infiniteTemporalArithmetic(op, a, b) { return infinite }
        switch (op, a, b) {
        case (_, .text(let s), _) where b.isTemporal && op != .add:
            return try arithmetic(op, try Value.text(s).cast(to: b.sqlType), b)
        case (_, _, .text(let s)):
            // date + '1 day': untyped text next to a date or time is an interval (or a count).
            if case .date = a, op == .add || op == .subtract, Int64(s) != nil { return try arithmetic(op, a, .integer(Int64(s)!)) }
            return try arithmetic(op, a, try Value.text(s).cast(to: b.sqlType == .text ? .interval : b.sqlType))
        case (.add, .date(let d), .integer(let n)), (.add, .integer(let n), .date(let d)): return try days(Int64(d).addingReportingOverflow(n))
        case (.subtract, .date(let d), .integer(let n)): return try days(Int64(d).subtractingReportingOverflow(n))
        case (.subtract, .date(let x), .date(let y)): return .integer(Int64(x) - Int64(y))
        case (.add, .date(let d), .interval(let i)), (.add, .interval(let i), .date(let d)):
            return .timestamp(try DateTime.addInterval(toTimestamp: try midnight(d), i))
        case (.subtract, .date(let d), .interval(let i)):
            return .timestamp(try DateTime.addInterval(toTimestamp: try midnight(d), try DateTime.negate(i)))
        case (.add, .date(let d), .time(let t)), (.add, .time(let t), .date(let d)):
            return .timestamp(try midnight(d) + t)
        case (.add, .timestamp(let t), .interval(let i)), (.add, .interval(let i), .timestamp(let t)):
            return .timestamp(try DateTime.addInterval(toTimestamp: t, i))
        case (.subtract, .timestamp(let t), .interval(let i)): return .timestamp(try DateTime.addInterval(toTimestamp: t, try DateTime.negate(i)))
        case (.add, .timestamptz(let t), .interval(let i)), (.add, .interval(let i), .timestamptz(let t)):
            return .timestamptz(try DateTime.addInterval(toTimestamp: t, i))
        case (.subtract, .timestamptz(let t), .interval(let i)): return .timestamptz(try DateTime.addInterval(toTimestamp: t, try DateTime.negate(i)))
        case (.subtract, _, _) where a.instant != nil && b.instant != nil && !(a.isDate && b.isDate):
            let (diff, overflow) = a.instant!.subtractingReportingOverflow(b.instant!)
            guard !overflow else { throw DateTime.intervalOutOfRange() }
            return .interval(try DateTime.checkedInterval(months: 0, days: diff / DateTime.microsPerDay, microseconds: diff % DateTime.microsPerDay))
        case (.add, .time(let t), .interval(let i)), (.add, .interval(let i), .time(let t)):
            return .time((t + i.microseconds % DateTime.microsPerDay + DateTime.microsPerDay) % DateTime.microsPerDay)
        case (.subtract, .time(let t), .interval(let i)):
            return .time((t - i.microseconds % DateTime.microsPerDay + DateTime.microsPerDay) % DateTime.microsPerDay)
        case (.subtract, .time(let x), .time(let y)): return .interval(Interval(microseconds: x - y))
        case (.add, .interval(let x), .interval(let y)):
            return .interval(try DateTime.addIntervals(x, y))
        case (.subtract, .interval(let x), .interval(let y)):
            return .interval(try DateTime.addIntervals(x, y, subtract: true))
        case (.multiply, .interval(let i), _) where b.doubleValue != nil: return .interval(try scale(i, b.doubleValue!))
        case (.multiply, _, .interval(let i)) where a.doubleValue != nil: return .interval(try scale(i, a.doubleValue!))
        case (.divide, .interval(let i), _) where b.doubleValue != nil:
            if b.doubleValue! == 0 { throw divisionByZero }
            return .interval(try scale(i, 1 / b.doubleValue!))
        default:
            throw operatorError(op.rawValue, a, b)
        }
    }

    private var isDate: Bool { if case .date = self { return true } else { return false } }

    /// Multiplies an interval, carrying fractional months into days and fractional days into time.
    /// 22008 when a part of the product does not fit (or the factor is not finite).
    private static func scale(_ i: Interval, _ factor: Double) throws -> Interval {
        let months = Double(i.months) * factor
        let wholeMonths = months.rounded(.towardZero)
        let days = Double(i.days) * factor + (months - wholeMonths) * 30
        let wholeDays = days.rounded(.towardZero)
        let micros = Double(i.microseconds) * factor + (days - wholeDays) * 86_400e6
        return try DateTime.checkedInterval(months: try DateTime.intervalPart(wholeMonths), days: try DateTime.intervalPart(wholeDays),
                                            microseconds: try DateTime.intervalPart(micros.rounded()))
    }

    /// 22003 when finite operands overflowed to infinity (an infinite operand gives infinity,
    /// as in PostgreSQL).
    private static func checked(_ v: Double, _ x: Double, _ y: Double) throws -> Value {
        if v.isInfinite && x.isFinite && y.isFinite { throw overflow("double precision") }
        return .double(v)
    }

    package var doubleValue: Double? {
        switch self {
        case .integer(let v): return Double(v)
        case .double(let v): return v
        case .numeric(let n): return n.doubleValue
        default: return nil
        }
    }

    var numericValue: Numeric? {
        switch self {
        case .integer(let v): return Numeric(v)
        case .numeric(let n): return n
        default: return nil
        }
    }

    // MARK: Casts

    /// CAST(self AS type) with PostgreSQL's conversions.
    package func cast(to type: SQLType) throws -> Value {
        if isNull { return .null }
        if let element = type.elementType { return try castToArray(of: element, type) }
        if case .array = self, !type.isText {
            throw DatabaseError(.mismatch, sqlState: SQLState.cannotCoerce, "cannot cast type \(typeName) to \(type.displayName)")
        }
        switch type {
        case .smallintArray, .integerArray, .bigintArray, .realArray, .doublePrecisionArray, .numericArray, .textArray,
             .varcharArray, .charArray, .booleanArray, .byteaArray, .dateArray, .timeArray, .timetzArray, .timestampArray,
             .timestamptzArray, .intervalArray, .jsonArray, .jsonbArray, .uuidArray:
            throw DatabaseError.internalError("array cast reached the scalar casts")
        case .smallint, .integer, .bigint:
            let range = type.integerBounds ?? Int64.min...Int64.max
            let bounds = (range.lowerBound, range.upperBound, type.name)
            let v: Int64
            switch self {
            case .integer(let x): v = x
            case .double(let d):
                let r = d.rounded(.toNearestOrEven)
                guard r.isFinite, r >= -9.223372036854775808e18, r < 9.223372036854775808e18 else { throw Value.overflow(bounds.2) }
                v = Int64(r)
            case .boolean(let b): v = b ? 1 : 0
            case .numeric(let n):
                // NUMERIC rounds half away from zero.
                let r = n.rounded(to: 0).value
                guard r >= Decimal(Int64.min), r <= Decimal(Int64.max) else { throw Value.overflow(bounds.2) }
                v = r.int64Value
            case .text(let s):
                let trimmed = s.trimmingWhitespace()
                guard let parsed = Int64(trimmed) else {
                    // Digits past bigint are out of range (PostgreSQL's 22003), not bad syntax.
                    let digits = trimmed.first == "-" || trimmed.first == "+" ? trimmed.dropFirst() : Substring(trimmed)
                    if !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) {
                        throw DatabaseError(.range, sqlState: SQLState.numericValueOutOfRange, "value \"\(s)\" is out of range for type \(bounds.2)")
                    }
                    throw DatabaseError(.mismatch, sqlState: SQLState.invalidTextRepresentation, "invalid input syntax for type \(bounds.2): \"\(s)\"")
                }
                v = parsed
            default: throw DatabaseError(.mismatch, sqlState: SQLState.cannotCoerce, "cannot cast type \(typeName) to \(bounds.2)")
            }
            guard v >= bounds.0 && v <= bounds.1 else { throw Value.overflow(bounds.2) }
            return .integer(v)
        case .numeric:
            switch self {
            case .numeric: return self
            case .integer(let x): return .numeric(Numeric(x))
            case .double(let d):
                guard d.isFinite else { throw DatabaseError(.range, sqlState: SQLState.numericValueOutOfRange, "cannot convert \(Value.format(d)) to numeric") }
                // Past what a NUMERIC holds (38 digits, exponents within ±127) it is 22003, never
                // a NaN that would be stored and make its row unreadable.
                let text = cFormat("%.15g", d)
                try Numeric.checkRepresentable(text)
                guard let n = Numeric(text), !n.value.isNaN else { throw Numeric.overflow() }
                return .numeric(n)
            case .text(let s):
                try Numeric.checkRepresentable(s)
                guard let n = Numeric(s) else {
                    throw DatabaseError(.mismatch, sqlState: SQLState.invalidTextRepresentation, "invalid input syntax for type numeric: \"\(s)\"")
                }
                return .numeric(n)
            default: throw DatabaseError(.mismatch, sqlState: SQLState.cannotCoerce, "cannot cast type \(typeName) to numeric")
            }
        case .real, .doublePrecision:
            switch self {
            case .integer(let x): return .double(Double(x))
            case .double: return self
            case .numeric(let n): return .double(n.doubleValue)
            case .text(let s):
                let t = s.trimmingWhitespace()
                switch t.lowercased() {
                case "nan": return .double(.nan)
                case "infinity", "inf": return .double(.infinity)
                case "-infinity", "-inf": return .double(-.infinity)
                default: break
                }
                guard let d = Double(t) else {
                    throw DatabaseError(.mismatch, sqlState: SQLState.invalidTextRepresentation, "invalid input syntax for type \(type.name): \"\(s)\"")
                }
                // PostgreSQL: digits past the float's range (or below its smallest) are an error, not ±Infinity or 0.
                let mantissa = t.lowercased().split(separator: "e").first ?? ""
                if d.isInfinite || (d == 0 && mantissa.contains(where: { $0.isNumber && $0 != "0" })) {
                    throw DatabaseError(.range, sqlState: SQLState.numericValueOutOfRange, "\"\(s)\" is out of range for type double precision")
                }
                return .double(d)
            default: throw DatabaseError(.mismatch, sqlState: SQLState.cannotCoerce, "cannot cast type \(typeName) to \(type.name)")
            }
        case .text, .varchar, .char:
            if case .text = self { return self }
            // A boolean cast to text spells its value out (PostgreSQL's booltext), unlike its
            // output form t/f.
            if case .boolean(let b) = self { return .text(b ? "true" : "false") }
            return .text(description)
        case .boolean:
            switch self {
            case .boolean: return self
            case .integer(let x): return .boolean(x != 0)
            case .text(let s):
                switch s.trimmingWhitespace().lowercased() {
                case "t", "true", "yes", "y", "on", "1": return .boolean(true)
                case "f", "false", "no", "n", "off", "0": return .boolean(false)
                default: throw DatabaseError(.mismatch, sqlState: SQLState.invalidTextRepresentation, "invalid input syntax for type boolean: \"\(s)\"")
                }
            default: throw DatabaseError(.mismatch, sqlState: SQLState.cannotCoerce, "cannot cast type \(typeName) to boolean")
            }
        case .date:
            switch self {
            case .date: return self
            case .timestamp(let t), .timestamptz(let t):
                if DateTime.isInfinite(timestamp: t) { return .date(DateTime.infiniteDate(ofTimestamp: t)) }
                return .date(Int32(DateTime.floorDiv(t, DateTime.microsPerDay)))
            case .text(let s):
                if let positive = DateTime.infinityInput(s) { return .date(positive ? DateTime.datePlusInfinity : DateTime.dateMinusInfinity) }
                return .date(try DateTime.checkedDate(try DateTime.parseDate(s)))
            default: throw DatabaseError(.mismatch, sqlState: SQLState.cannotCoerce, "cannot cast type \(typeName) to date")
            }
        case .time, .timetz:
            switch self {
            case .time: return self
            case .timestamp(let t), .timestamptz(let t):
                if DateTime.isInfinite(timestamp: t) { return .null }
                return .time(t - DateTime.floorDiv(t, DateTime.microsPerDay) * DateTime.microsPerDay)
            case .text(let s): return .time(try DateTime.parseTime(s))
            default: throw DatabaseError(.mismatch, sqlState: SQLState.cannotCoerce, "cannot cast type \(typeName) to time")
            }
        case .timestamp, .timestamptz:
            let zone = type == .timestamptz
            switch self {
            case .timestamp(let t), .timestamptz(let t): return zone ? .timestamptz(t) : .timestamp(t)
            case .date(let d):
                let micros = try DateTime.timestamp(ofDate: Int64(d))
                return zone ? .timestamptz(micros) : .timestamp(micros)
            case .text(let s):
                let t = try DateTime.parseTimestamp(s, zone: zone)
                return zone ? .timestamptz(t) : .timestamp(t)
            default: throw DatabaseError(.mismatch, sqlState: SQLState.cannotCoerce, "cannot cast type \(typeName) to \(zone ? "timestamp with time zone" : "timestamp")")
            }
        case .interval:
            switch self {
            case .interval: return self
            case .text(let s): return .interval(try DateTime.parseInterval(s))
            case .time(let t): return .interval(Interval(microseconds: t))
            default: throw DatabaseError(.mismatch, sqlState: SQLState.cannotCoerce, "cannot cast type \(typeName) to interval")
            }
        case .bytea:
            switch self {
            case .blob: return self
            case .text(let s):
                // PostgreSQL's hex input format: \x followed by pairs of hex digits.
                if s.hasPrefix("\\x") {
                    guard let bytes = Lexer.hexBytes(Array(s.utf8.dropFirst(2))) else {
                        throw DatabaseError(.mismatch, sqlState: SQLState.invalidTextRepresentation, "invalid hexadecimal data in bytea input \"\(s)\"")
                    }
                    return .blob(bytes)
                }
                return .blob(try BinaryText.fromEscaped(s))
            default: throw DatabaseError(.mismatch, sqlState: SQLState.cannotCoerce, "cannot cast type \(typeName) to bytea")
            }
        case .json, .jsonb:
            // json keeps the text as written once it parses; jsonb keeps its normalized form.
            guard case .text(let s) = self else {
                throw DatabaseError(.mismatch, sqlState: SQLState.cannotCoerce, "cannot cast type \(typeName) to \(type.name)")
            }
            let document = try JSONValue.parse(s, type: type.name)
            return type == .jsonb ? .text(document.normalized.jsonbText) : self
        case .uuid:
            guard case .text(let s) = self else {
                throw DatabaseError(.mismatch, sqlState: SQLState.cannotCoerce, "cannot cast type \(typeName) to uuid")
            }
            guard let canonical = Value.canonicalUUID(s) else {
                throw DatabaseError(.mismatch, sqlState: SQLState.invalidTextRepresentation, "invalid input syntax for type uuid: \"\(s)\"")
            }
            return .text(canonical)
        case .oid, .regclass, .regtype, .regnamespace, .regproc:
            // A name given to a reg* type is looked up in the catalog by the compiled cast
            // (ExpressionCompiler+Catalog.swift); here only numbers convert.
            let wide: Int64
            switch self {
            case .integer(let x): wide = x
            case .text(let s):
                let trimmed = s.trimmingWhitespace()
                guard let parsed = Int64(trimmed) else {
                    throw DatabaseError(.mismatch, sqlState: SQLState.invalidTextRepresentation, "invalid input syntax for type \(type.name): \"\(s)\"")
                }
                guard parsed >= Int64(Int32.min), parsed <= Int64(UInt32.max) else {
                    throw DatabaseError(.range, sqlState: SQLState.numericValueOutOfRange, "value \"\(s)\" is out of range for type \(type.name)")
                }
                wide = parsed
            default: throw DatabaseError(.mismatch, sqlState: SQLState.cannotCoerce, "cannot cast type \(typeName) to \(type.name)")
            }
            // PostgreSQL reads a negative int4 as the oid with the same bits.
            if wide < 0, wide >= Int64(Int32.min) { return .integer(wide + (1 << 32)) }
            guard wide >= 0, wide <= Int64(UInt32.max) else { throw DatabaseError(.range, sqlState: SQLState.numericValueOutOfRange, "OID out of range") }
            return .integer(wide)
        }
    }

    /// A uuid's text in PostgreSQL's output form (32 lower-case hexadecimal digits grouped
    /// 8-4-4-4-12), from any form PostgreSQL reads: upper or lower case, with or without
    /// braces, with a hyphen after any group of four digits or none; nil otherwise.
    static func canonicalUUID(_ text: String) -> String? {
        var bytes = Array(text.utf8)
        if bytes.first == UInt8(ascii: "{") {
            guard bytes.last == UInt8(ascii: "}") else { return nil }
            bytes = Array(bytes.dropFirst().dropLast())
        }
        var digits: [UInt8] = []
        digits.reserveCapacity(32)
        var sinceHyphen = 0
        for (i, c) in bytes.enumerated() {
            if c == UInt8(ascii: "-") {
                // A hyphen may follow any group of four digits, never lead, trail or double.
                guard sinceHyphen >= 4, sinceHyphen % 4 == 0, i + 1 < bytes.count else { return nil }
                sinceHyphen = 0
                continue
            }
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"): digits.append(c)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digits.append(c + 32)
            default: return nil
            }
            sinceHyphen += 1
        }
        guard digits.count == 32 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(36)
        for (i, d) in digits.enumerated() {
            if i == 8 || i == 12 || i == 16 || i == 20 { out.append(UInt8(ascii: "-")) }
            out.append(d)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The truth value for WHERE, AND, OR, NOT: nil for NULL.
    package func truth() throws -> Bool? {
        switch self {
        case .null: return nil
        case .boolean(let b): return b
        case .integer(let v): return v != 0
        case .double(let v): return v != 0
        case .text(let s): return try Value.text(s).cast(to: .boolean).truth()
        case .numeric(let n): return n.value != 0
        case .blob, .date, .time, .timestamp, .timestamptz, .interval, .array:
            throw DatabaseError(.mismatch, sqlState: SQLState.datatypeMismatch, "argument of WHERE must be type boolean, not type \(typeName)")
        }
    }
}
