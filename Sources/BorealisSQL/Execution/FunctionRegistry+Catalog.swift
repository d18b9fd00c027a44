// The functions tools call on the catalog (docs/sql.md, "pg_catalog"): format_type,
// pg_get_indexdef/constraintdef/expr/viewdef, pg_table_is_visible, pg_get_userbyid, the
// privilege checks (everything is allowed: the embedding process owns the database),
// to_regclass, obj_description and friends, and pg_size_pretty. They read the statement's
// catalog when they run, so they are stable, never folded into constants.

import BorealisStorage

extension FunctionRegistry {
    private static func oidArgument(_ v: Value) throws -> UInt32? {
        guard case .integer(let oid) = try v.cast(to: .oid) else { return nil }
        return UInt32(exactly: oid)
    }

    static let catalogFunctions: [ScalarFunction] = [
        ScalarFunction(["format_type"], arity: 2...2, result: .fixed(.text), parameters: [.oid, .integer], volatility: .stable) { _, args in
            { ctx in
                guard let oid = try oidArgument(try args[0](ctx)) else { return .null }
                let modifier = try args[1](ctx)
                let typmod: Int64 = try modifier.isNull ? -1 : (modifier.cast(to: .integer).integerValue ?? -1)
                return .text(RegisteredTypes.typeName(oid, modifier: typmod) ?? "???")
            }
        },
        ScalarFunction(["pg_get_indexdef"], arity: 1...3, result: .fixed(.text), parameters: [.oid, .integer, .boolean],
                       volatility: .stable) { _, args in
            { ctx in
                guard let oid = try oidArgument(try args[0](ctx)), let catalog = ctx.catalog,
                      let relation = catalog.directory.relation(oid: oid), relation.kind == .index else { return .null }
                let column = args.count > 1 ? try args[1](ctx).cast(to: .integer).integerValue ?? 0 : 0
                if column > 0 {
                    let columns = PgCatalog.indexColumns(relation, catalog)
                    guard column <= columns.count else { return .text("") }
                    return .text(columns[Int(column) - 1])
                }
                return PgCatalog.indexDefinition(relation, catalog).map(Value.text) ?? .null
            }
        },
        ScalarFunction(["pg_get_constraintdef"], arity: 1...2, result: .fixed(.text), parameters: [.oid, .boolean], volatility: .stable) { _, args in
            { ctx in
                guard let oid = try oidArgument(try args[0](ctx)), let catalog = ctx.catalog else { return .null }
                return PgCatalog.constraintDefinition(oid, catalog).map(Value.text) ?? .null
            }
        },
        // pg_attrdef.adbin, pg_index.indexprs and pg_constraint.conbin hold the SQL itself.
        ScalarFunction(["pg_get_expr"], arity: 2...3, result: .fixed(.text), parameters: [.text, .oid, .boolean], volatility: .stable) { _, args in
            { ctx in try Functions.text(try args[0](ctx)).map(Value.text) ?? .null }
        },
        ScalarFunction(["pg_get_viewdef"], arity: 1...2, result: .fixed(.text), parameters: [nil, .boolean], volatility: .stable) { _, args in
            { ctx in
                let v = try args[0](ctx)
                guard let catalog = ctx.catalog else { return .null }
                let name: String
                if case .text(let text) = v {
                    name = try RegisteredTypes.name(of: RegisteredTypes.oid(of: text, as: .regclass, catalog: catalog), as: .regclass, catalog: catalog)
                } else {
                    guard let oid = try oidArgument(v), let relation = catalog.directory.relation(oid: oid) else { return .null }
                    name = relation.name
                }
                return catalog.views[name].map { .text(" " + $0.sql + ";") } ?? .null
            }
        },
        ScalarFunction(["pg_table_is_visible", "pg_type_is_visible"], arity: 1...1, result: .fixed(.boolean), parameters: [.oid],
                       volatility: .stable) { _, args in
            { ctx in try args[0](ctx).isNull ? .null : .boolean(true) }
        },
        ScalarFunction(["pg_get_userbyid"], arity: 1...1, result: .fixed(.text), parameters: [.oid], volatility: .stable) { _, args in
            { ctx in
                guard let oid = try oidArgument(try args[0](ctx)) else { return .null }
                return .text(oid == ObjectDirectory.ownerRole ? ctx.session?.user ?? "borealis" : "unknown (OID=\(oid))")
            }
        },
        ScalarFunction(["pg_encoding_to_char"], arity: 1...1, result: .fixed(.text), parameters: [.integer], volatility: .stable) { _, args in
            { ctx in
                let v = try args[0](ctx)
                return v.isNull ? .null : .text(try v.cast(to: .integer).integerValue == 6 ? "UTF8" : "")
            }
        },
        ScalarFunction(["to_regclass", "to_regtype", "to_regnamespace"], arity: 1...1, result: .fixed(.oid), parameters: [.text],
                       volatility: .stable) { name, args in
            let type: SQLType = name == "to_regclass" ? .regclass : name == "to_regtype" ? .regtype : .regnamespace
            return { ctx in
                guard let text = try Functions.text(try args[0](ctx)), let catalog = ctx.catalog else { return .null }
                return (try? RegisteredTypes.oid(of: text, as: type, catalog: catalog)).map(Value.integer) ?? .null
            }
        },
        // COMMENT ON texts (StatementExecutor+CreateAs): a relation's, or a column's by number.
        ScalarFunction(["obj_description"], arity: 1...2, result: .fixed(.text), parameters: [.oid, .text],
                       volatility: .stable) { _, args in
            { ctx in
                guard let oid = try oidArgument(try args[0](ctx)), let catalog = ctx.catalog,
                      let relation = catalog.directory.relation(oid: oid) else { return .null }
                if args.count == 2, let kind = try Functions.text(try args[1](ctx)), kind != "pg_class" { return .null }
                return catalog.comment(relation: relation.name, column: nil).map(Value.text) ?? .null
            }
        },
        // Shared objects (databases, roles) have no comments in Borealis.
        ScalarFunction(["shobj_description"], arity: 2...2, result: .fixed(.text), parameters: [.oid, .text],
                       volatility: .stable) { _, _ in
            { _ in .null }
        },
        ScalarFunction(["col_description"], arity: 2...2, result: .fixed(.text), parameters: [.oid, .integer], volatility: .stable) { _, args in
            { ctx in
                guard let oid = try oidArgument(try args[0](ctx)), case .integer(let number) = try args[1](ctx), let catalog = ctx.catalog,
                      let relation = catalog.directory.relation(oid: oid) else { return .null }
                let columns = catalog.tables[relation.name]?.columns.map(\.name) ?? catalog.views[relation.name]?.columns ?? []
                guard number >= 1, number <= Int64(columns.count) else { return .null }
                return catalog.comment(relation: relation.name, column: columns[Int(number - 1)]).map(Value.text) ?? .null
            }
        },
        ScalarFunction(["has_table_privilege", "has_schema_privilege", "has_database_privilege", "has_column_privilege",
                        "has_sequence_privilege", "has_function_privilege", "pg_has_role"], arity: 2...4, result: .fixed(.boolean),
                       parameters: [nil], volatility: .stable) { _, args in
            { ctx in
                for a in args where try a(ctx).isNull { return .null }
                return .boolean(true)
            }
        },
        // Sizes in bytes, estimated from each B+tree's fan-out (BTree+Estimate.swift): the
        // table's tree, its indexes' trees, or both. NULL for a temporary relation.
        ScalarFunction(["pg_relation_size", "pg_table_size", "pg_total_relation_size", "pg_indexes_size"], arity: 1...2,
                       result: .fixed(.bigint), parameters: [nil, .text], volatility: .volatile) { name, args in
            { ctx in
                let v = try args[0](ctx)
                guard !v.isNull, let catalog = ctx.catalog, let txn = ctx.txn else { return .null }
                let oid: Int64
                if case .text(let text) = v { oid = try RegisteredTypes.oid(of: text, as: .regclass, catalog: catalog) } else {
                    guard case .integer(let n) = try v.cast(to: .oid) else { return .null }
                    oid = n
                }
                guard let small = UInt32(exactly: oid), let relation = catalog.directory.relation(oid: small), !relation.temporary else { return .null }
                func pages(_ root: UInt64) throws -> Double { root == 0 ? 0 : try BTree(root: root).estimatedPages(in: txn) }
                var total = 0.0
                switch relation.kind {
                case .table:
                    guard let table = catalog.tables[relation.name] else { return .null }
                    if name != "pg_indexes_size" { total += try pages(table.root) }
                    if name == "pg_total_relation_size" || name == "pg_indexes_size" {
                        for index in catalog.indexes(on: table.name) { total += try pages(index.root) }
                    }
                case .index:
                    if name == "pg_indexes_size" { return .integer(0) }
                    total = try catalog.indexes.values.first { $0.name == relation.name }.map { try pages($0.root) } ?? 0
                case .view, .sequence:
                    return .integer(0)
                }
                return .integer(Int64(total) * Int64(txn.pageSize))
            }
        },
        // The definitions of objects Borealis has none of (extended statistics, triggers, rules,
        // partitioning): their catalogs are empty, so these are only called on NULL or nothing.
        ScalarFunction(["pg_get_statisticsobjdef_columns", "pg_get_statisticsobjdef", "pg_get_triggerdef", "pg_get_ruledef",
                        "pg_get_partkeydef", "pg_get_function_arguments", "pg_get_function_result"], arity: 1...2,
                       result: .fixed(.text), parameters: [.oid, .boolean], volatility: .stable) { _, _ in
            { _ in .null }
        },
        // Whether a relation could be published (psql's \d asks): a permanent table.
        ScalarFunction(["pg_relation_is_publishable"], arity: 1...1, result: .fixed(.boolean), parameters: [nil], volatility: .stable) { _, args in
            { ctx in
                let v = try args[0](ctx)
                guard !v.isNull, let catalog = ctx.catalog else { return .null }
                let oid: Int64
                if case .text(let text) = v { oid = try RegisteredTypes.oid(of: text, as: .regclass, catalog: catalog) } else {
                    guard case .integer(let n) = try v.cast(to: .oid) else { return .null }
                    oid = n
                }
                guard let small = UInt32(exactly: oid), let relation = catalog.directory.relation(oid: small) else { return .boolean(false) }
                return .boolean(relation.kind == .table && !relation.temporary)
            }
        },
        ScalarFunction(["pg_size_pretty"], arity: 1...1, result: .fixed(.text), parameters: [.bigint], volatility: .immutable) { _, args in
            { ctx in
                let v = try args[0](ctx)
                if v.isNull { return .null }
                guard case .integer(let bytes) = try v.cast(to: .bigint) else { return .null }
                return .text(prettySize(bytes))
            }
        },
    ]

    /// pg_size_pretty's text: bytes below 10 kB, then kB, MB, GB, TB, PB, each rounded half
    /// away from zero and used while the number stays below 20 480 − 1 (PostgreSQL 15's rule).
    static func prettySize(_ bytes: Int64) -> String {
        let limit: Int64 = 10 * 1024, limit2 = limit * 2 - 1
        if bytes.magnitude < UInt64(limit) { return "\(bytes) bytes" }
        func halfRounded(_ x: Int64) -> Int64 { (x + (x < 0 ? -1 : 1)) / 2 }
        var size = bytes >> 9   // one extra bit for rounding
        for unit in ["kB", "MB", "GB", "TB"] {
            if size.magnitude < UInt64(limit2) { return "\(halfRounded(size)) \(unit)" }
            size >>= 10
        }
        return "\(halfRounded(size)) PB"
    }
}

extension Value {
    /// The integer this value holds, nil for any other kind.
    fileprivate var integerValue: Int64? { if case .integer(let v) = self { return v } else { return nil } }
}
