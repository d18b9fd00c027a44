// The rows of the pg_catalog relations that describe the user's objects: pg_class,
// pg_attribute, pg_index, pg_constraint, pg_attrdef, pg_sequence and pg_type; and the
// definitions pg_get_indexdef and pg_get_constraintdef print.

import BorealisStorage

extension PgCatalog {
    static func classRows(_ catalog: Catalog, _ directory: ObjectDirectory) -> [[Value]] {
        directory.relations.map { r in
            let table = r.kind == .table ? catalog.tables[r.name] : nil
            let indexColumns = r.kind == .index ? indexColumns(r, catalog).count : 0
            let columnCount: Int
            switch r.kind {
            case .table: columnCount = table?.columns.count ?? 0
            case .view: columnCount = catalog.views[r.name].map { $0.columns.count } ?? 0
            case .index: columnCount = indexColumns
            case .sequence: columnCount = 3
            }
            let method: UInt32 = r.kind == .table || r.kind == .sequence ? ObjectDirectory.heapMethod
                : r.kind == .index ? ObjectDirectory.btreeMethod : 0
            let rowCount = table.flatMap { catalog.statistics[$0.name]?.rowCount }.map { Value.double($0) } ?? .double(-1)
            let hasIndex = r.kind == .table && directory.relations.contains { $0.table == r.name }
            // PostgreSQL keeps a foreign key's checks as triggers on both tables: tools (psql's
            // \d) look for the keys only where relhastriggers says so.
            let hasForeignKeys = r.kind == .table && (!(table?.foreignKeys ?? []).isEmpty || catalog.referencing(r.name))
            return [.oid(r.oid), .text(r.name), .oid(ObjectDirectory.namespace(temporary: r.temporary)), .oid(0), .oid(0),
                    .oid(ObjectDirectory.ownerRole), .oid(method), .oid(r.kind == .view ? 0 : r.oid), .oid(0), .integer(0), rowCount,
                    .integer(0), .oid(0), .boolean(hasIndex), .boolean(false), .text(r.temporary ? "t" : "p"), .text(r.kind.rawValue),
                    .integer(Int64(columnCount)), .integer(Int64(table?.checks.count ?? 0)), .boolean(r.kind == .view),
                    .boolean(hasForeignKeys), .boolean(false), .boolean(false), .boolean(false), .boolean(true),
                    .text(r.kind == .table ? "d" : "n"), .boolean(false), .oid(0), .text("0"), .text("0"), .null, .null, .null]
        }
    }

    static func attributeRows(_ catalog: Catalog, _ directory: ObjectDirectory) -> [[Value]] {
        var rows: [[Value]] = []
        func row(_ relation: UInt32, _ name: String, _ type: SQLType?, _ modifiers: [Int], number: Int, notNull: Bool, hasDefault: Bool,
                 identity: String, generated: String) -> [Value] {
            let type = type ?? .text
            return [.oid(relation), .text(name), .oid(type.typeOID), .integer(-1), .integer(Int64(type.storageLength)),
                    .integer(Int64(number)), .integer(0), .integer(-1), .integer(type.typeModifier(modifiers)),
                    .boolean(type.storageLength > 0 && type.storageLength <= 8), .text(type.storageLength == 2 ? "s" : type.storageLength == 8 ? "d" : "i"),
                    .text(type.storageLength > 0 ? "p" : "x"), .text(""), .boolean(notNull), .boolean(hasDefault), .boolean(false),
                    .text(identity), .text(generated), .boolean(false), .boolean(true), .integer(0), .oid(type.isText ? 100 : 0),
                    .null, .null, .null, .null]
        }
        for r in directory.relations {
            switch r.kind {
            case .table:
                guard let t = catalog.tables[r.name] else { continue }
                let primary = Set(t.primaryKey)
                for (i, c) in t.columns.enumerated() {
                    let identity = c.generated == .always ? "a" : c.generated == .byDefault ? "d" : ""
                    let hasDefault = directory.defaultOID(table: t.name, column: c.name) != nil
                    rows.append(row(r.oid, c.name, c.type, c.modifiers, number: i + 1, notNull: c.notNull || primary.contains(c.name),
                                    hasDefault: hasDefault, identity: identity, generated: c.generatedSQL == nil ? "" : "s"))
                }
            case .view:
                guard let v = catalog.views[r.name] else { continue }
                for (i, name) in v.columns.enumerated() {
                    rows.append(row(r.oid, name, nil, [], number: i + 1, notNull: false, hasDefault: false, identity: "", generated: ""))
                }
            case .index:
                guard let table = r.table.flatMap({ catalog.tables[$0] }) else { continue }
                for (i, name) in indexColumns(r, catalog).enumerated() {
                    let column = table.columnIndex(name).map { table.columns[$0] }
                    rows.append(row(r.oid, column?.name ?? "expr", column?.type, column?.modifiers ?? [], number: i + 1, notNull: false,
                                    hasDefault: false, identity: "", generated: ""))
                }
            case .sequence:
                for (i, (name, type)) in [("last_value", SQLType.bigint), ("log_cnt", .bigint), ("is_called", .boolean)].enumerated() {
                    rows.append(row(r.oid, name, type, [], number: i + 1, notNull: true, hasDefault: false, identity: "", generated: ""))
                }
            }
        }
        return rows
    }

    /// An index's key columns: names, or each expression's SQL.
    static func indexColumns(_ r: ObjectDirectory.Relation, _ catalog: Catalog) -> [String] {
        if r.implicit { return r.table.flatMap { catalog.tables[$0]?.primaryKey } ?? [] }
        return catalog.indexes.values.first { $0.name == r.name }.map { $0.expressions ?? $0.columns } ?? []
    }

    static func indexRows(_ catalog: Catalog, _ directory: ObjectDirectory) -> [[Value]] {
        directory.relations.filter { $0.kind == .index }.compactMap { r in
            guard let tableName = r.table, let table = catalog.tables[tableName], let tableOID = directory.relation(named: tableName)?.oid else {
                return nil
            }
            let index = catalog.indexes.values.first { $0.name == r.name }
            let columns = indexColumns(r, catalog)
            let numbers = columns.map { name in table.columnIndex(name).map { $0 + 1 } ?? 0 }
            let zeros = Value.array(ArrayValue(columns.map { _ in .integer(0) }))
            let primary = r.name == ObjectDirectory.primaryKeyName(table, catalog) && !table.primaryKey.isEmpty
            let unique = r.implicit || index?.unique == true
            let expressions = index?.expressions.map { list in list.enumerated().filter { numbers[$0.offset] == 0 }.map(\.element) }
            return [.oid(r.oid), .oid(tableOID), .integer(Int64(columns.count)), .integer(Int64(columns.count)), .boolean(unique),
                    .boolean(false), .boolean(primary), .boolean(false), .boolean(true), .boolean(false), .boolean(true), .boolean(false),
                    .boolean(true), .boolean(true), .boolean(false), .array(ArrayValue(numbers.map { .integer(Int64($0)) })),
                    zeros, zeros, zeros,
                    expressions.flatMap { $0.isEmpty ? nil : Value.text($0.joined(separator: ", ")) } ?? .null,
                    index?.predicate.map(Value.text) ?? .null]
        }
    }

    /// `CREATE [UNIQUE] INDEX name ON public.table USING btree (columns)`, as pg_get_indexdef.
    static func indexDefinition(_ r: ObjectDirectory.Relation, _ catalog: Catalog) -> String? {
        guard r.kind == .index, let table = r.table else { return nil }
        let unique = r.implicit || catalog.indexes.values.first { $0.name == r.name }?.unique == true
        let schema = r.temporary ? "pg_temp" : "public"
        let columns = indexColumns(r, catalog).map { catalog.tables[table]?.columnIndex($0) != nil ? quotedIdentifier($0) : "(\($0))" }
        // A partial index's predicate, parenthesized as PostgreSQL prints it.
        let predicate = catalog.indexes.values.first { $0.name == r.name }?.predicate.map { " WHERE " + parenthesized($0) } ?? ""
        return "CREATE \(unique ? "UNIQUE " : "")INDEX \(quotedIdentifier(r.name)) ON \(schema).\(quotedIdentifier(table)) USING btree (\(columns.joined(separator: ", ")))\(predicate)"
    }

    /// `sql` in one pair of parentheses (it may have them already, as Expr.sql writes a binary
    /// operation: `(b IS NOT NULL)`).
    static func parenthesized(_ sql: String) -> String {
        var depth = 0
        for (i, c) in sql.enumerated() {
            if c == "(" { depth += 1 }
            if c == ")" { depth -= 1 }
            // Closed before the end: the outer parentheses (if any) are not one pair.
            if depth == 0 && i < sql.count - 1 { return "(" + sql + ")" }
        }
        return sql.hasPrefix("(") && depth == 0 ? sql : "(" + sql + ")"
    }

    private struct ConstraintEntry {
        var oid: UInt32
        var name: String
        var table: TableSchema
        var type: String
        var columns: [String]
        var index: String?
        var foreignKey: ForeignKey?
        var check: String?
    }

    private static func constraintEntries(_ catalog: Catalog, _ directory: ObjectDirectory) -> [ConstraintEntry] {
        var out: [ConstraintEntry] = []
        for t in catalog.tables.values.sorted(by: { $0.name < $1.name }) {
            func oid(_ name: String) -> UInt32 { directory.constraintOID(table: t.name, name: name) ?? 0 }
            if !t.primaryKey.isEmpty {
                let name = ObjectDirectory.primaryKeyName(t, catalog)
                out.append(ConstraintEntry(oid: oid(name), name: name, table: t, type: "p", columns: t.primaryKey, index: name))
            }
            for index in catalog.indexes(on: t.name) where index.constraint && index.unique && index.columns != t.primaryKey {
                out.append(ConstraintEntry(oid: oid(index.name), name: index.name, table: t, type: "u", columns: index.columns, index: index.name))
            }
            for fk in t.foreignKeys ?? [] {
                // The referenced key's index.
                let parentIndex = catalog.tables[fk.parent].flatMap { parent -> String? in
                    if parent.primaryKey == fk.parentColumns { return ObjectDirectory.primaryKeyName(parent, catalog) }
                    return catalog.indexes(on: parent.name).first { $0.unique && $0.columns == fk.parentColumns }?.name
                }
                out.append(ConstraintEntry(oid: oid(fk.name), name: fk.name, table: t, type: "f", columns: fk.columns, index: parentIndex,
                                           foreignKey: fk))
            }
            for check in t.checks {
                out.append(ConstraintEntry(oid: oid(check.name), name: check.name, table: t, type: "c", columns: [], check: check.sql))
            }
        }
        return out
    }

    static func constraintRows(_ catalog: Catalog, _ directory: ObjectDirectory) -> [[Value]] {
        constraintEntries(catalog, directory).map { c in
            let numbers = { (table: TableSchema?, names: [String]) -> Value in
                guard let table, !names.isEmpty else { return .null }
                return .array(ArrayValue(names.map { .integer(Int64((table.columnIndex($0) ?? -1) + 1)) }))
            }
            func action(_ a: ReferentialAction?) -> Value {
                guard let a else { return .text(" ") }
                switch a {
                case .noAction: return .text("a")
                case .restrict: return .text("r")
                case .cascade: return .text("c")
                case .setNull: return .text("n")
                case .setDefault: return .text("d")
                }
            }
            let parent = c.foreignKey.flatMap { catalog.tables[$0.parent] }
            return [.oid(c.oid), .text(c.name), .oid(ObjectDirectory.namespace(temporary: c.table.isTemporary)), .text(c.type),
                    .boolean(false), .boolean(false), .boolean(true), .oid(directory.relation(named: c.table.name)?.oid ?? 0), .oid(0),
                    .oid(c.index.flatMap { directory.relation(named: $0)?.oid } ?? 0), .oid(0),
                    .oid(parent.flatMap { directory.relation(named: $0.name)?.oid } ?? 0), action(c.foreignKey?.onUpdate),
                    action(c.foreignKey?.onDelete), .text(c.foreignKey == nil ? " " : "s"), .boolean(true), .integer(0),
                    .boolean(false), numbers(c.table, c.columns), numbers(parent, c.foreignKey?.parentColumns ?? []), .null, .null,
                    .null, .null, .null, c.check.map(Value.text) ?? .null]
        }
    }

    /// What pg_get_constraintdef prints for the constraint `oid`.
    static func constraintDefinition(_ oid: UInt32, _ catalog: Catalog) -> String? {
        guard let c = constraintEntries(catalog, catalog.directory).first(where: { $0.oid == oid }) else { return nil }
        let columns = c.columns.map(quotedIdentifier).joined(separator: ", ")
        switch c.type {
        case "p": return "PRIMARY KEY (\(columns))"
        case "u": return "UNIQUE (\(columns))"
        case "c": return "CHECK (\(c.check ?? ""))"
        default:
            guard let fk = c.foreignKey else { return nil }
            var text = "FOREIGN KEY (\(columns)) REFERENCES \(quotedIdentifier(fk.parent))(\(fk.parentColumns.map(quotedIdentifier).joined(separator: ", ")))"
            if fk.onUpdate != .noAction { text += " ON UPDATE \(fk.onUpdate.rawValue)" }
            if fk.onDelete != .noAction { text += " ON DELETE \(fk.onDelete.rawValue)" }
            return text
        }
    }

    static func defaultRows(_ catalog: Catalog, _ directory: ObjectDirectory) -> [[Value]] {
        var rows: [[Value]] = []
        for t in catalog.tables.values.sorted(by: { $0.name < $1.name }) {
            guard let tableOID = directory.relation(named: t.name)?.oid else { continue }
            for (i, c) in t.columns.enumerated() {
                guard let oid = directory.defaultOID(table: t.name, column: c.name), let text = defaultExpression(c) else { continue }
                rows.append([.oid(oid), .oid(tableOID), .integer(Int64(i + 1)), .text(text)])
            }
        }
        return rows
    }

    /// COMMENT ON texts: a relation's (objsubid 0) and its columns' (their numbers).
    static func descriptionRows(_ catalog: Catalog, _ directory: ObjectDirectory) -> [[Value]] {
        var rows: [[Value]] = []
        for (key, text) in catalog.comments.sorted(by: { $0.key < $1.key }) {
            let parts = key.split(separator: "\u{1F}", maxSplits: 1).map(String.init)
            guard let relation = parts.first, let oid = directory.relation(named: relation)?.oid else { continue }
            var number = 0
            if parts.count == 2 {
                let columns = catalog.tables[relation]?.columns.map(\.name) ?? catalog.views[relation]?.columns ?? []
                guard let i = columns.firstIndex(of: parts[1]) else { continue }
                number = i + 1
            }
            rows.append([.oid(oid), .oid(RegisteredTypes.catalogRelations["pg_class"] ?? 1259), .integer(Int64(number)), .text(text)])
        }
        return rows
    }

    /// A column's default as `pg_get_expr(adbin, adrelid)` prints it: a serial column's is
    /// `nextval('t_id_seq'::regclass)`.
    static func defaultExpression(_ c: ColumnSchema) -> String? {
        if let sql = c.defaultSQL { return sql }
        // A generated column's expression is its pg_attrdef entry, as in PostgreSQL.
        if let sql = c.generatedSQL { return sql }
        if c.identity, c.generated == nil, let sequence = c.sequence { return "nextval('\(sequence)'::regclass)" }
        return nil
    }

    static func sequenceRows(_ catalog: Catalog, _ directory: ObjectDirectory) -> [[Value]] {
        catalog.sequences.values.sorted { $0.name < $1.name }.compactMap { s in
            guard let oid = directory.relation(named: s.name)?.oid else { return nil }
            return [.oid(oid), .oid(s.type.typeOID), .integer(s.start), .integer(s.increment), .integer(s.maxValue), .integer(s.minValue),
                    .integer(s.cache), .boolean(s.cycle)]
        }
    }

    /// One row per type Borealis has, and one per array type of it.
    static func typeRows() -> [[Value]] {
        var rows: [[Value]] = []
        let namespace = Value.oid(ObjectDirectory.catalogNamespace), owner = Value.oid(ObjectDirectory.ownerRole)
        for type in SQLType.allCases where type.elementType == nil {
            let length = type.storageLength
            let align = length == 2 ? "s" : length == 8 ? "d" : length == 1 ? "c" : "i"
            rows.append([.oid(type.typeOID), .text(type.internalName), namespace, owner, .integer(Int64(length)),
                         .boolean(length > 0 && length <= 8), .text("b"), .text(type.categoryCode), .boolean(false), .boolean(true),
                         .text(","), .oid(0), .text("-"), .oid(0), .oid(type.arrayTypeOID), .text(type.internalName + "in"),
                         .text(type.internalName + "out"), .text(type.internalName + "recv"), .text(type.internalName + "send"), .text("-"),
                         .text("-"), .text("-"), .text(align), .text(length > 0 ? "p" : "x"), .boolean(false), .oid(0), .integer(-1),
                         .integer(0), .oid(type.isText ? 100 : 0), .null, .null, .null])
            rows.append([.oid(type.arrayTypeOID), .text("_" + type.internalName), namespace, owner, .integer(-1), .boolean(false), .text("b"),
                         .text("A"), .boolean(false), .boolean(true), .text(","), .oid(0), .text("array_subscript_handler"),
                         .oid(type.typeOID), .oid(0), .text("array_in"), .text("array_out"), .text("array_recv"), .text("array_send"),
                         .text("-"), .text("-"), .text("array_typanalyze"), .text(length == 8 ? "d" : "i"), .text("x"), .boolean(false),
                         .oid(0), .integer(-1), .integer(0), .oid(type.isText ? 100 : 0), .null, .null, .null])
        }
        // name and "char", which the catalog's own columns have.
        for (oid, name, length, array) in [(UInt32(19), "name", 64, UInt32(1003)), (18, "char", 1, 1002), (705, "unknown", -2, 0)] {
            rows.append([.oid(oid), .text(name), namespace, owner, .integer(Int64(length)), .boolean(length == 1), .text(oid == 705 ? "p" : "b"),
                         .text(oid == 705 ? "X" : "S"), .boolean(false), .boolean(true), .text(","), .oid(0), .text("-"),
                         .oid(0), .oid(array), .text(name + "in"), .text(name + "out"), .text(name + "recv"), .text(name + "send"),
                         .text("-"), .text("-"), .text("-"), .text("c"), .text("p"), .boolean(false), .oid(0), .integer(-1), .integer(0),
                         .oid(oid == 19 ? 950 : 0), .null, .null, .null])
        }
        return rows
    }

    /// `name`, double-quoted when PostgreSQL would quote it (quote_ident's rule).
    static func quotedIdentifier(_ name: String) -> String { FunctionRegistry.quotedIdentifier(name) }
}
