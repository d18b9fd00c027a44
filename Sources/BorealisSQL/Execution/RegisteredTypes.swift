// The reg* types (regclass, regtype, regnamespace, regproc): oids that a cast from text finds
// by name and that a query's result shows as the name again (docs/sql.md, "pg_catalog").
// `'t'::regclass` is t's oid, so `attrelid = 't'::regclass` compares oids; `SELECT
// 't'::regclass` shows `t`, and so does `c.oid::regclass::text`.

import BorealisStorage

enum RegisteredTypes {
    /// The fixed oids of the pg_catalog relations, as PostgreSQL 15 numbers them (tools compare
    /// `classoid = 'pg_class'::regclass`).
    static let catalogRelations: [String: UInt32] = [
        "pg_type": 1247, "pg_attribute": 1249, "pg_proc": 1255, "pg_class": 1259, "pg_authid": 1260, "pg_database": 1262,
        "pg_tablespace": 1213, "pg_sequence": 2224, "pg_am": 2601, "pg_attrdef": 2604, "pg_constraint": 2606, "pg_depend": 2608,
        "pg_description": 2609, "pg_index": 2610, "pg_inherits": 2611, "pg_namespace": 2615, "pg_rewrite": 2618, "pg_trigger": 2620,
        "pg_shdescription": 2396, "pg_policy": 3256, "pg_statistic_ext": 3381, "pg_collation": 3456, "pg_enum": 3501,
        "pg_extension": 3079, "pg_publication": 6104, "pg_publication_namespace": 6237, "pg_publication_rel": 6106,
        "pg_roles": 12_001, "pg_user": 12_006, "pg_tables": 12_010, "pg_views": 12_014, "pg_indexes": 12_022,
        "pg_sequences": 12_026, "pg_settings": 12_030,
    ]

    /// The oid a name (or a number in text) denotes as a value of `type`.
    static func oid(of text: String, as type: SQLType, catalog: Catalog) throws -> Int64 {
        let trimmed = text.trimmingWhitespace()
        if let first = trimmed.unicodeScalars.first, first.properties.numericType != nil || first == "-" {
            guard case .integer(let oid) = try Value.text(trimmed).cast(to: .oid) else { return 0 }
            return oid
        }
        if trimmed == "-" { return 0 }
        switch type {
        case .regclass:
            let parts = try qualifiedParts(trimmed, type)
            let name = parts.last ?? ""
            if parts.count > 1 { try checkSchema(parts[parts.count - 2]) }
            if parts.count != 2 || parts[0] != "pg_catalog", let relation = catalog.directory.relation(named: name) {
                return Int64(relation.oid)
            }
            if let oid = catalogRelations[name] { return Int64(oid) }
            throw DatabaseError(.error, sqlState: SQLState.undefinedTable, "relation \"\(trimmed)\" does not exist")
        case .regnamespace:
            let parts = try qualifiedParts(trimmed, type)
            guard parts.count == 1, let namespace = ObjectDirectory.namespaces.first(where: { $0.name == parts[0] }) else {
                throw DatabaseError(.error, sqlState: SQLState.invalidSchemaName, "schema \"\(trimmed)\" does not exist")
            }
            return Int64(namespace.oid)
        case .regtype:
            return Int64(try typeOID(trimmed))
        default:
            throw DatabaseError(.error, sqlState: SQLState.undefinedFunction, "function \"\(trimmed)\" does not exist")
        }
    }

    /// The text a value of `type` shows: the name of the object its oid denotes, or the
    /// number when there is none (as PostgreSQL shows an oid it cannot find).
    static func name(of oid: Int64, as type: SQLType, catalog: Catalog) -> String {
        guard oid != 0 else { return "-" }
        guard let small = UInt32(exactly: oid) else { return String(oid) }
        switch type {
        case .regclass:
            if let relation = catalog.directory.relation(oid: small) { return PgCatalog.quotedIdentifier(relation.name) }
            if let name = catalogRelations.first(where: { $0.value == small })?.key { return name }
        case .regnamespace:
            if let namespace = ObjectDirectory.namespaces.first(where: { $0.oid == small }) { return namespace.name }
        case .regtype:
            if let name = typeName(small, modifier: -1) { return name }
        default: break
        }
        return String(oid)
    }

    /// `format_type(oid, typmod)`'s text for a type oid Borealis knows, nil otherwise.
    static func typeName(_ oid: UInt32, modifier: Int64) -> String? {
        if let type = SQLType(typeOID: oid) { return type.formatted(typeModifier: modifier) }
        if let element = SQLType.allCases.first(where: { $0.arrayTypeOID == oid }) {
            return element.formatted(typeModifier: modifier) + "[]"
        }
        switch oid {
        case 19: return "name"
        case 18: return "\"char\""
        case 705: return "unknown"
        case 1003: return "name[]"
        default: return nil
        }
    }

    /// The oid of a type as written (`integer`, `int4`, `character varying(20)`, `text[]`).
    private static func typeOID(_ text: String) throws -> UInt32 {
        var spelling = text.lowercased()
        var array = false
        if spelling.hasSuffix("[]") { array = true; spelling = String(spelling.dropLast(2)).trimmingWhitespace() }
        if spelling.hasPrefix("pg_catalog.") { spelling = String(spelling.dropFirst("pg_catalog.".count)) }
        if let paren = spelling.firstIndex(of: "(") { spelling = String(spelling[..<paren]).trimmingWhitespace() }
        let special: [String: (UInt32, UInt32)] = ["name": (19, 1003), "\"char\"": (18, 1002), "unknown": (705, 0)]
        if let (oid, arrayOID) = special[spelling] { return array ? arrayOID : oid }
        let canonical: [String: String] = [
            "character varying": "varchar", "double precision": "float8", "timestamp without time zone": "timestamp",
            "timestamp with time zone": "timestamptz", "time without time zone": "time", "time with time zone": "timetz",
        ]
        guard let type = SQLType(spelling: canonical[spelling] ?? spelling) else {
            throw DatabaseError(.error, sqlState: SQLState.undefinedObject, "type \"\(text)\" does not exist")
        }
        return array ? type.arrayTypeOID : type.typeOID
    }

    /// The dot-separated parts of a qualified name (at most catalog.schema.name; the catalog
    /// part dropped), quoted parts as written, others folded to lower case.
    private static func qualifiedParts(_ text: String, _ type: SQLType) throws -> [String] {
        let parts = try Sequences.splitQualifiedName(text)
        guard parts.count <= 3, !parts.contains(where: \.isEmpty) else {
            throw DatabaseError(.error, sqlState: SQLState.invalidNameSyntax, "invalid name syntax")
        }
        return parts.count == 3 ? Array(parts.dropFirst()) : parts
    }

    private static func checkSchema(_ schema: String) throws {
        guard ObjectDirectory.namespaces.contains(where: { $0.name == schema }) else {
            throw DatabaseError(.error, sqlState: SQLState.invalidSchemaName, "schema \"\(schema)\" does not exist")
        }
    }
}

extension QueryPlan {
    /// This plan with its reg* columns shown as names, for a statement's result (a reg* value
    /// inside the query stays an oid, which comparisons need). nil when it has none.
    func namingRegisteredColumns(_ catalog: Catalog) -> QueryPlan? {
        let registered = declaredTypes.enumerated().compactMap { $0.element?.isRegistered == true ? $0.offset : nil }
        guard !registered.isEmpty else { return nil }
        let types = declaredTypes
        let inner = open
        var shown = declaredTypes
        for i in registered { shown[i] = .text }
        let plan = QueryPlan(columns: columns, declaredTypes: shown, explain: explainNode) { ctx in
            let rows = try inner(ctx)
            return {
                guard var row = try rows() else { return nil }
                for i in registered where i < row.count {
                    if case .integer(let oid) = row[i], let type = types[i] {
                        row[i] = .text(RegisteredTypes.name(of: oid, as: type, catalog: ctx.catalog ?? catalog))
                    }
                }
                return row
            }
        }
        plan.parameterTypes = parameterTypes
        return plan
    }
}
