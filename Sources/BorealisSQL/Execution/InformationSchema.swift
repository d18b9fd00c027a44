// The information_schema views applications and ORMs read to learn a database's shape:
// schemata, tables, columns, views, table_constraints and key_column_usage, with PostgreSQL
// 15's columns in its order (those Borealis has no notion of are NULL), built from the catalog
// the statement is planned with. Every relation lives in schema `public`; the catalog is the
// database's name. A FROM item names them `information_schema.tables` (Parser.qualifiedName).

import BorealisStorage

enum InformationSchema {
    /// The columns of `name` (`information_schema.tables`), or nil when it is not one of these.
    static func columns(_ name: String) -> [String]? {
        guard name.hasPrefix("information_schema.") else { return nil }
        switch name.dropFirst("information_schema.".count) {
        case "schemata":
            return ["catalog_name", "schema_name", "schema_owner", "default_character_set_catalog", "default_character_set_schema",
                    "default_character_set_name", "sql_path"]
        case "tables":
            return ["table_catalog", "table_schema", "table_name", "table_type", "self_referencing_column_name", "reference_generation",
                    "user_defined_type_catalog", "user_defined_type_schema", "user_defined_type_name", "is_insertable_into", "is_typed",
                    "commit_action"]
        case "columns":
            return ["table_catalog", "table_schema", "table_name", "column_name", "ordinal_position", "column_default", "is_nullable",
                    "data_type", "character_maximum_length", "character_octet_length", "numeric_precision", "numeric_precision_radix",
                    "numeric_scale", "datetime_precision", "interval_type", "interval_precision", "character_set_catalog",
                    "character_set_schema", "character_set_name", "collation_catalog", "collation_schema", "collation_name",
                    "domain_catalog", "domain_schema", "domain_name", "udt_catalog", "udt_schema", "udt_name", "scope_catalog",
                    "scope_schema", "scope_name", "maximum_cardinality", "dtd_identifier", "is_self_referencing", "is_identity",
                    "identity_generation", "identity_start", "identity_increment", "identity_maximum", "identity_minimum",
                    "identity_cycle", "is_generated", "generation_expression", "is_updatable"]
        case "views":
            return ["table_catalog", "table_schema", "table_name", "view_definition", "check_option", "is_updatable",
                    "is_insertable_into", "is_trigger_updatable", "is_trigger_deletable", "is_trigger_insertable_into"]
        case "table_constraints":
            return ["constraint_catalog", "constraint_schema", "constraint_name", "table_catalog", "table_schema", "table_name",
                    "constraint_type", "is_deferrable", "initially_deferred", "enforced", "nulls_distinct"]
        case "key_column_usage":
            return ["constraint_catalog", "constraint_schema", "constraint_name", "table_catalog", "table_schema", "table_name",
                    "column_name", "ordinal_position", "position_in_unique_constraint"]
        default:
            return nil
        }
    }

    /// The rows of `name` for this catalog; `database` is the catalog column's value.
    static func rows(_ name: String, catalog: Catalog, database: String) -> [[Value]] {
        let db = Value.text(database), publicSchema = Value.text("public")
        let tables = catalog.tables.values.sorted { $0.name < $1.name }
        switch name.dropFirst("information_schema.".count) {
        case "schemata":
            return ["information_schema", "pg_catalog", "public"].map { schema in
                [db, .text(schema), .text("borealis"), .null, .null, .null, .null]
            }
        case "tables":
            var rows = tables.map { t -> [Value] in
                let temporary = t.temporary == true
                return [db, temporary ? .text("pg_temp") : publicSchema, .text(t.name), .text(temporary ? "LOCAL TEMPORARY" : "BASE TABLE"),
                        .null, .null, .null, .null, .null, .text("YES"), .text("NO"), temporary ? .text("PRESERVE") : .null]
            }
            rows += catalog.views.values.sorted { $0.name < $1.name }.map { v in
                [db, publicSchema, .text(v.name), .text("VIEW"), .null, .null, .null, .null, .null, .text("NO"), .text("NO"), .null]
            }
            return rows
        case "columns":
            var rows: [[Value]] = []
            for t in tables {
                let primary = Set(t.primaryKey)
                for (i, c) in t.columns.enumerated() {
                    rows.append(columnRow(db, t.name, i, c, nullable: !(c.notNull || primary.contains(c.name))))
                }
            }
            return rows
        case "views":
            return catalog.views.values.sorted { $0.name < $1.name }.map { v in
                [db, publicSchema, .text(v.name), .text(v.sql), .text("NONE"), .text("NO"), .text("NO"), .text("NO"), .text("NO"), .text("NO")]
            }
        case "table_constraints":
            return constraints(catalog, tables).map { c in
                [db, publicSchema, .text(c.name), db, publicSchema, .text(c.table), .text(c.type), .text("NO"), .text("NO"), .text("YES"),
                 c.type == "UNIQUE" || c.type == "PRIMARY KEY" ? .text("YES") : .null]
            }
        case "key_column_usage":
            var rows: [[Value]] = []
            for c in constraints(catalog, tables) where c.type != "CHECK" {
                for (i, column) in c.columns.enumerated() {
                    var position = Value.null
                    if let parentColumns = c.referencedColumns, i < parentColumns.count {
                        position = .integer(Int64(i + 1))
                    }
                    rows.append([db, publicSchema, .text(c.name), db, publicSchema, .text(c.table), .text(column), .integer(Int64(i + 1)), position])
                }
            }
            return rows
        default:
            return []
        }
    }

    private static func columnRow(_ db: Value, _ table: String, _ i: Int, _ c: ColumnSchema, nullable: Bool) -> [Value] {
        let type = c.type
        var maximumLength = Value.null, octetLength = Value.null
        if type.isText {
            if let n = c.modifiers.first {
                maximumLength = .integer(Int64(n))
                octetLength = .integer(Int64(n) * 4)
            } else if type == .text || type == .varchar {
                octetLength = .integer(1_073_741_824)
            }
        }
        var precision = Value.null, radix = Value.null, scale = Value.null, datetimePrecision = Value.null
        switch type {
        case .smallint: precision = .integer(16); radix = .integer(2); scale = .integer(0)
        case .integer: precision = .integer(32); radix = .integer(2); scale = .integer(0)
        case .bigint: precision = .integer(64); radix = .integer(2); scale = .integer(0)
        case .real: precision = .integer(24); radix = .integer(2)
        case .doublePrecision: precision = .integer(53); radix = .integer(2)
        case .numeric:
            radix = .integer(10)
            if let p = c.modifiers.first { precision = .integer(Int64(p)); scale = .integer(Int64(c.modifiers.count > 1 ? c.modifiers[1] : 0)) }
        case .date: datetimePrecision = .integer(0)
        case .time, .timetz, .timestamp, .timestamptz, .interval: datetimePrecision = .integer(6)
        default: break
        }
        var row: [Value] = [db, .text("public"), .text(table), .text(c.name), .integer(Int64(i + 1)),
                            c.defaultSQL.map(Value.text) ?? .null, .text(nullable ? "YES" : "NO"), .text(type.isArray ? "ARRAY" : type.displayName),
                            maximumLength, octetLength, precision, radix, scale, datetimePrecision, .null, .null]
        row += [Value](repeating: .null, count: 9)   // character set, collation, domain
        row += [db, .text("pg_catalog"), .text(type.internalName)]
        row += [.null, .null, .null, .null, .text(String(i + 1)), .text("NO")]
        row += [.text(c.identity ? "YES" : "NO"), c.identity ? .text(c.generated?.rawValue ?? "BY DEFAULT") : .null, .null, .null, .null, .null, .text("NO")]
        row += c.generatedSQL.map { [.text("ALWAYS"), .text($0), .text("YES")] } ?? [.text("NEVER"), .null, .text("YES")]
        return row
    }

    private struct Constraint {
        var name: String
        var table: String
        var type: String
        var columns: [String]
        var referencedColumns: [String]?
    }

    /// Each table's constraints: its primary key, unique constraints, foreign keys and checks.
    private static func constraints(_ catalog: Catalog, _ tables: [TableSchema]) -> [Constraint] {
        var out: [Constraint] = []
        for t in tables {
            let indexes = catalog.indexes(on: t.name)
            if !t.primaryKey.isEmpty {
                let name = indexes.first { $0.constraint && $0.unique && $0.columns == t.primaryKey }?.name ?? "\(t.name)_pkey"
                out.append(Constraint(name: name, table: t.name, type: "PRIMARY KEY", columns: t.primaryKey))
            }
            for index in indexes where index.constraint && index.unique && index.columns != t.primaryKey {
                out.append(Constraint(name: index.name, table: t.name, type: "UNIQUE", columns: index.columns))
            }
            for fk in t.foreignKeys ?? [] {
                out.append(Constraint(name: fk.name, table: t.name, type: "FOREIGN KEY", columns: fk.columns, referencedColumns: fk.parentColumns))
            }
            for check in t.checks {
                out.append(Constraint(name: check.name, table: t.name, type: "CHECK", columns: []))
            }
        }
        return out
    }
}

/// Rows of a catalog view (information_schema, pg_catalog), computed when the statement runs.
final class CatalogViewOperator: PhysicalOperator {
    let name: String
    let columns: [ScopeColumn]
    let catalog: Catalog

    init(name: String, columns: [ScopeColumn], catalog: Catalog) {
        self.name = name
        self.columns = columns
        self.catalog = catalog
    }

    var label: String { "Catalog Scan on \(name)" }
    var estimatedRows: Double { 100 }

    func open(_ ctx: ExecutionContext) throws -> RowStream {
        let rows = name.hasPrefix("information_schema.")
            ? InformationSchema.rows(name, catalog: catalog, database: ctx.session?.database ?? "borealis")
            : PgCatalog.rows(name, catalog: catalog, ctx: ctx)
        var position = 0
        return {
            guard position < rows.count else { return nil }
            defer { position += 1 }
            return rows[position]
        }
    }
}
