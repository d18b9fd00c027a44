// The SQL types a column can be declared with and a value can be cast to. The parser turns every
// spelling (`int4`, `character varying`, MySQL's `datetime`) into one of these; the catalog stores
// the raw value (the canonical name, unchanged from the strings earlier catalogs stored), so
// nothing above the parser compares type names as strings.

import BorealisStorage

package enum SQLType: String, Codable, Sendable, CaseIterable {
    case smallint, integer, bigint
    case real, doublePrecision = "double precision", numeric
    case text, varchar, char
    case boolean, bytea
    case date, time, timetz, timestamp, timestamptz, interval
    case json, jsonb
    /// Kept as text in its canonical form (lower-case hexadecimal with hyphens), which sorts
    /// and compares exactly as PostgreSQL's 16 bytes do.
    case uuid
    /// Arrays of each scalar type: the element's raw value followed by `[]` (SQLType+Arrays.swift).
    case smallintArray = "smallint[]", integerArray = "integer[]", bigintArray = "bigint[]"
    case realArray = "real[]", doublePrecisionArray = "double precision[]", numericArray = "numeric[]"
    case textArray = "text[]", varcharArray = "varchar[]", charArray = "char[]"
    case booleanArray = "boolean[]", byteaArray = "bytea[]"
    case dateArray = "date[]", timeArray = "time[]", timetzArray = "timetz[]", timestampArray = "timestamp[]"
    case timestamptzArray = "timestamptz[]", intervalArray = "interval[]"
    case jsonArray = "json[]", jsonbArray = "jsonb[]", uuidArray = "uuid[]"
    /// PostgreSQL's object identifiers (pg_catalog.md): an unsigned 32-bit integer, held as an
    /// integer. The `reg*` types are oids that a cast from text looks up by name and that a
    /// query's result shows as the name again.
    case oid, regclass, regtype, regnamespace, regproc

    /// The type a spelling names, or nil when there is none. Accepts PostgreSQL's aliases and the
    /// common MySQL spellings; multi-word names arrive joined by one space.
    init?(spelling: String) {
        switch spelling {
        case "int", "int4", "integer", "mediumint", "tinyint": self = .integer
        case "int8", "bigint", "signed", "unsigned": self = .bigint
        case "int2", "smallint": self = .smallint
        case "float8", "double", "double precision", "float": self = .doublePrecision
        case "float4", "real": self = .real
        case "decimal", "numeric": self = .numeric
        case "character", "char", "bpchar": self = .char
        case "varchar", "nvarchar", "character varying": self = .varchar
        case "text", "string", "clob", "longtext", "mediumtext", "tinytext": self = .text
        case "bool", "boolean": self = .boolean
        case "bytea", "blob", "longblob", "binary", "varbinary": self = .bytea
        case "datetime", "timestamp": self = .timestamp
        case "name": self = .text       // PostgreSQL's 63-byte identifier type
        case "regprocedure": self = .regproc
        default:
            guard let type = SQLType(rawValue: spelling) else { return nil }
            self = type
        }
    }

    /// The name as the catalog and DESCRIBE report it (PostgreSQL's canonical short name).
    package var name: String { rawValue }

    /// The name in PostgreSQL's messages and `format_type`.
    var displayName: String {
        if let element = elementType { return element.displayName + "[]" }
        switch self {
        case .varchar: return "character varying"
        case .char: return "character"
        case .time: return "time without time zone"
        case .timetz: return "time with time zone"
        case .timestamp: return "timestamp without time zone"
        case .timestamptz: return "timestamp with time zone"
        default: return rawValue
        }
    }

    /// PostgreSQL's internal name (`pg_type.typname`), which names the column of a cast:
    /// `SELECT 1::bigint` gives a column `int8`.
    var internalName: String {
        if let element = elementType { return "_" + element.internalName }
        switch self {
        case .smallint: return "int2"
        case .integer: return "int4"
        case .bigint: return "int8"
        case .real: return "float4"
        case .doublePrecision: return "float8"
        case .char: return "bpchar"
        case .boolean: return "bool"
        default: return rawValue
        }
    }

    var isInteger: Bool { self == .smallint || self == .integer || self == .bigint }
    /// `oid` and the `reg*` types, held as integers.
    var isObjectIdentifier: Bool { self == .oid || isRegistered }
    /// The `reg*` types, which name an object: a query's result shows their values as names.
    package var isRegistered: Bool { self == .regclass || self == .regtype || self == .regnamespace || self == .regproc }
    var isText: Bool { self == .text || self == .varchar || self == .char }
    var isFloat: Bool { self == .real || self == .doublePrecision }

    /// The inclusive range an integer type holds.
    var integerBounds: ClosedRange<Int64>? {
        switch self {
        case .smallint: return Int64(Int16.min)...Int64(Int16.max)
        case .integer: return Int64(Int32.min)...Int64(Int32.max)
        case .bigint: return Int64.min...Int64.max
        default: return nil
        }
    }

    /// Whether a table column may be declared with this type (the rest exist only as cast targets).
    var isStorable: Bool { self != .timetz && self != .timetzArray && !isRegistered }
}
