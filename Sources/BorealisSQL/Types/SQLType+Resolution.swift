// PostgreSQL's rules for the type of an operator's result and for the common type of several
// values (CASE arms, COALESCE, UNION columns, VALUES rows), as far as Borealis's types go.
// These are static: they describe what a column will hold before any row is read, which is
// what a prepared statement reports and what a client of the wire protocol is told.

import BorealisStorage

extension SQLType {
    /// The category PostgreSQL resolves common types within (`pg_type.typcategory`).
    private enum Category { case numeric, string, datetime, timespan, boolean, binary, json, uuid, array }

    private var category: Category {
        switch self {
        case .smallint, .integer, .bigint, .numeric, .real, .doublePrecision, .oid, .regclass, .regtype, .regnamespace, .regproc: return .numeric
        case .text, .varchar, .char: return .string
        case .date, .time, .timetz, .timestamp, .timestamptz: return .datetime
        case .interval: return .timespan
        case .boolean: return .boolean
        case .bytea: return .binary
        case .json, .jsonb: return .json
        case .uuid: return .uuid
        case .smallintArray, .integerArray, .bigintArray, .realArray, .doublePrecisionArray, .numericArray, .textArray,
             .varcharArray, .charArray, .booleanArray, .byteaArray, .dateArray, .timeArray, .timetzArray, .timestampArray,
             .timestamptzArray, .intervalArray, .jsonArray, .jsonbArray, .uuidArray:
            return .array
        }
    }

    /// The order in which a numeric or date/time type absorbs another of its category: the
    /// wider of two is the common type (`int4` and `numeric` → `numeric`, `date` and
    /// `timestamptz` → `timestamptz`).
    private var rank: Int {
        switch self {
        case .smallint: return 1
        case .integer: return 2
        case .bigint: return 3
        case .numeric: return 4
        case .real: return 5
        case .doublePrecision: return 6
        case .char: return 1
        case .varchar: return 2
        case .text: return 3
        case .date: return 1
        case .timestamp: return 2
        case .timestamptz: return 3
        case .time: return 1
        case .timetz: return 2
        default: return 0
        }
    }

    /// The type several values resolve to, as CASE, COALESCE and UNION resolve them; nil
    /// arguments (NULL, an untyped parameter) take the others' type. When the types belong to
    /// different categories, the first one's type stands (PostgreSQL would refuse such a mix
    /// with 42804; Borealis compares the values as they come).
    static func common(_ types: [SQLType?]) -> SQLType? {
        var result: SQLType?
        for case let type? in types {
            guard let current = result else { result = type; continue }
            guard current.category == type.category else { continue }
            if current.category == .datetime, (current == .time || current == .timetz) != (type == .time || type == .timetz) { continue }
            if let a = current.elementType, let b = type.elementType {
                result = common([a, b])?.arrayType ?? current
                continue
            }
            if type.rank > current.rank { result = type }
        }
        return result
    }

    /// Whether PostgreSQL resolves the two types to a common one (they share a category:
    /// `integer` and `numeric` do, `integer` and `boolean` do not).
    func resolves(with other: SQLType) -> Bool {
        guard category == other.category else { return false }
        if category == .datetime, (self == .time || self == .timetz) != (other == .time || other == .timetz) { return false }
        if category == .array, let a = elementType, let b = other.elementType { return a.resolves(with: b) }
        return true
    }

    /// The type of `left op right` for the arithmetic operators, or nil when PostgreSQL has no
    /// such operator for these types (or one side is not known).
    static func arithmetic(_ op: BinaryOperator, _ left: SQLType?, _ right: SQLType?) -> SQLType? {
        // An untyped operand (a string literal, a parameter) takes the other side's type.
        guard let l = left ?? right, let r = right ?? left else { return nil }
        switch (l.category, r.category) {
        case (.numeric, .numeric):
            // real and float4 operations stay float4; any float with another number is float8.
            if l == .real && r == .real { return .real }
            if l.isFloat || r.isFloat { return .doublePrecision }
            return l.rank >= r.rank ? l : r
        case (.datetime, .numeric) where l == .date && r.isInteger && (op == .add || op == .subtract):
            return .date
        case (.numeric, .datetime) where r == .date && l.isInteger && op == .add:
            return .date
        case (.datetime, .datetime) where op == .subtract:
            if l == .date && r == .date { return .integer }
            if l == .time && r == .time { return .interval }
            if l == .date && r == .time { return .timestamp }
            return .interval
        case (.datetime, .datetime) where op == .add:
            // date + time
            if (l == .date && r == .time) || (l == .time && r == .date) { return .timestamp }
            return nil
        case (.datetime, .timespan) where op == .add || op == .subtract:
            return l == .date ? .timestamp : l
        case (.timespan, .datetime) where op == .add:
            return r == .date ? .timestamp : r
        case (.timespan, .timespan) where op == .add || op == .subtract:
            return .interval
        case (.timespan, .numeric) where op == .multiply || op == .divide,
             (.numeric, .timespan) where op == .multiply:
            return .interval
        default:
            return nil
        }
    }
}
