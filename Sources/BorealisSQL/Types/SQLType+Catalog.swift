// What PostgreSQL's catalog says of each type: its oid (`pg_type.oid`, the number the wire
// protocol names a column's type by), its array type's oid, its length and category, and the
// type modifier it records for a column (`pg_attribute.atttypmod`). The values are PostgreSQL
// 15's, so tools that know them (psql, drivers) read Borealis's catalog as they read theirs.

import BorealisStorage

extension SQLType {
    /// `pg_type.oid`.
    package var typeOID: UInt32 {
        if let element = elementType { return element.arrayTypeOID }
        switch self {
        case .smallint: return 21
        case .integer: return 23
        case .bigint: return 20
        case .real: return 700
        case .doublePrecision: return 701
        case .numeric: return 1700
        case .text: return 25
        case .varchar: return 1043
        case .char: return 1042
        case .boolean: return 16
        case .bytea: return 17
        case .date: return 1082
        case .time: return 1083
        case .timetz: return 1266
        case .timestamp: return 1114
        case .timestamptz: return 1184
        case .interval: return 1186
        case .json: return 114
        case .jsonb: return 3802
        case .uuid: return 2950
        case .oid: return 26
        case .regclass: return 2205
        case .regtype: return 2206
        case .regnamespace: return 4089
        case .regproc: return 24
        default: return 0   // arrays, answered above
        }
    }

    /// `pg_type.typarray`: the oid of the array type whose elements are of this type.
    var arrayTypeOID: UInt32 {
        if elementType != nil { return 0 }   // an array type's arrays are itself (more dimensions)
        switch self {
        case .smallint: return 1005
        case .integer: return 1007
        case .bigint: return 1016
        case .real: return 1021
        case .doublePrecision: return 1022
        case .numeric: return 1231
        case .text: return 1009
        case .varchar: return 1015
        case .char: return 1014
        case .boolean: return 1000
        case .bytea: return 1001
        case .date: return 1182
        case .time: return 1183
        case .timetz: return 1270
        case .timestamp: return 1115
        case .timestamptz: return 1185
        case .interval: return 1187
        case .json: return 199
        case .jsonb: return 3807
        case .uuid: return 2951
        case .oid: return 1028
        case .regclass: return 2210
        case .regtype: return 2211
        case .regnamespace: return 4090
        case .regproc: return 1008
        default: return 0
        }
    }

    /// The type whose oid is `oid`, if Borealis has it.
    init?(typeOID oid: UInt32) {
        guard let type = SQLType.allCases.first(where: { $0.typeOID == oid }) else { return nil }
        self = type
    }

    /// `pg_type.typlen`: the fixed length in bytes, or -1 for a variable-length type.
    var storageLength: Int {
        switch self {
        case .boolean: return 1
        case .smallint: return 2
        case .integer, .real, .date, .oid, .regclass, .regtype, .regnamespace, .regproc: return 4
        case .bigint, .doublePrecision, .time, .timestamp, .timestamptz: return 8
        case .timetz: return 12
        case .interval, .uuid: return 16
        default: return -1
        }
    }

    /// `pg_type.typcategory`.
    var categoryCode: String {
        if elementType != nil { return "A" }
        switch self {
        case .smallint, .integer, .bigint, .real, .doublePrecision, .numeric, .oid, .regclass, .regtype, .regnamespace, .regproc: return "N"
        case .text, .varchar, .char: return "S"
        case .boolean: return "B"
        case .date, .time, .timetz, .timestamp, .timestamptz: return "D"
        case .interval: return "T"
        case .bytea, .json, .jsonb, .uuid: return "U"
        default: return "A"
        }
    }

    /// `pg_attribute.atttypmod` of a column declared with these modifiers (-1: none):
    /// varchar(n) and char(n) store n + 4, numeric(p, s) stores (p << 16 | s) + 4.
    func typeModifier(_ modifiers: [Int]) -> Int64 {
        guard let first = modifiers.first, first >= 0, first <= 0xFFFF else { return -1 }
        switch self {
        case .varchar, .char: return Int64(first) + 4
        case .numeric:
            let scale = modifiers.count > 1 ? modifiers[1] : 0
            guard scale >= 0, scale <= 0xFFFF else { return -1 }
            return (Int64(first) << 16 | Int64(scale)) + 4
        case .time, .timetz, .timestamp, .timestamptz, .interval: return Int64(first)
        default: return -1
        }
    }

    /// `format_type(oid, typmod)`: the type's name as PostgreSQL prints it in `\d`, with its
    /// modifiers (`character varying(20)`, `numeric(10,2)`).
    func formatted(typeModifier: Int64) -> String {
        if let element = elementType { return element.formatted(typeModifier: typeModifier) + "[]" }
        let base = formatTypeName
        guard typeModifier >= 0 else { return base }
        switch self {
        case .varchar, .char:
            return typeModifier >= 4 ? "\(base)(\(typeModifier - 4))" : base
        case .numeric:
            guard typeModifier >= 4 else { return base }
            let packed = typeModifier - 4
            return "numeric(\(packed >> 16),\(packed & 0xFFFF))"
        case .time: return "time(\(typeModifier)) without time zone"
        case .timetz: return "time(\(typeModifier)) with time zone"
        case .timestamp: return "timestamp(\(typeModifier)) without time zone"
        case .timestamptz: return "timestamp(\(typeModifier)) with time zone"
        case .interval: return "interval(\(typeModifier))"
        default: return base
        }
    }

    /// The name `format_type` gives the type without modifiers.
    private var formatTypeName: String {
        switch self {
        case .regclass, .regtype, .regnamespace, .regproc, .oid: return rawValue
        default: return displayName
        }
    }
}
