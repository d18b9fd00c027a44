// Foreign keys: a child row's parent must exist (23503); a parent row's UPDATE or DELETE
// checks, cascades to, or rewrites the rows that reference it, found through an access path
// on the child (an index on the key when there is one). The children's writers and paths are
// compiled once per write plan (StatementExecutor+WritePlan.swift), not once per parent row.

import BorealisStorage

extension StatementExecutor {
    // MARK: Foreign keys

    /// Another table (not among `droppedTogether`) whose foreign key references `name`.
    func referencingTable(_ name: String, droppedTogether: [String]) -> String? {
        own.tables.values.first { child in
            !droppedTogether.contains(child.name) && (child.foreignKeys ?? []).contains { $0.parent == name }
        }?.name
    }

    /// One foreign key of a table as its writes check it: where the key's values sit in the
    /// table's rows, and how the parent row is found (compiled once per table writer).
    struct ParentCheck {
        enum Lookup {
            /// The key is the parent's row id (of the column's type).
            case rowID(TableTree, ColumnSchema)
            /// A unique index of the parent on the key's columns: per index column, the key
            /// position that fills it and the parent column whose type it takes.
            case index(BTree, [(key: Int, column: ColumnSchema)])
        }
        let fk: ForeignKey
        let positions: [Int]
        let lookup: Lookup
    }

    /// The foreign keys of `schema` compiled for checking, against the catalog of its own kind.
    func parentChecks(of schema: TableSchema) throws -> [ParentCheck] {
        let catalog = own
        return try (schema.foreignKeys ?? []).map { fk in
            let positions = try fk.columns.map { try position(of: $0, in: schema) }
            let parent = try catalog.table(fk.parent)
            if let r = parent.rowIDColumn, fk.parentColumns == [parent.columns[r].name] {
                return ParentCheck(fk: fk, positions: positions, lookup: .rowID(TableTree(root: parent.root), parent.columns[r]))
            }
            guard let index = catalog.indexes(on: parent.name).first(where: { $0.unique && $0.expressions == nil && $0.predicate == nil && Set($0.columns) == Set(fk.parentColumns) }) else {
                throw DatabaseError.internalError("foreign key \(fk.name) has no unique index on \(fk.parent)")
            }
            let columns = try index.columns.map { column -> (key: Int, column: ColumnSchema) in
                guard let k = fk.parentColumns.firstIndex(of: column) else {
                    throw DatabaseError.internalError("index \(index.name) column \(column) is not in foreign key \(fk.name)")
                }
                return (k, parent.columns[try position(of: column, in: parent)])
            }
            return ParentCheck(fk: fk, positions: positions, lookup: .index(BTree(root: index.root), columns))
        }
    }

    /// Checks that every foreign key of `schema` finds its parent row (23503).
    func checkParents(of schema: TableSchema, _ row: [Value], old: [Value]?) throws {
        try checkParents(try parentChecks(of: schema), of: schema.name, row, old: old)
    }

    /// As above with the table writer's compiled checks (made on its first row).
    func checkParents(of w: TableWriter, _ row: [Value], old: [Value]?) throws {
        if w.schema.foreignKeys?.isEmpty ?? true { return }
        let checks: [ParentCheck]
        if let known = w.parentChecks {
            checks = known
        } else {
            checks = try parentChecks(of: w.schema)
            w.parentChecks = checks
        }
        try checkParents(checks, of: w.schema.name, row, old: old)
    }

    private func checkParents(_ checks: [ParentCheck], of table: String, _ row: [Value], old: [Value]?) throws {
        for check in checks {
            let values = check.positions.map { row[$0] }
            if values.contains(where: \.isNull) { continue }
            if let old, check.positions.map({ old[$0] }) == values { continue }
            guard try parentExists(check, values) else {
                let fk = check.fk
                throw DatabaseError(.constraint, sqlState: SQLState.foreignKeyViolation, "insert or update on table \"\(table)\" violates foreign key constraint \"\(fk.name)\": key (\(fk.columns.joined(separator: ", ")))=(\(values.map(\.description).joined(separator: ", "))) is not present in table \"\(fk.parent)\"")
            }
        }
    }

    private func parentExists(_ check: ParentCheck, _ values: [Value]) throws -> Bool {
        switch check.lookup {
        case .rowID(let tree, let column):
            guard case .integer(let id) = try assign(values[0], to: column) else { return false }
            return try tree.get(id, in: txn) != nil
        case .index(let tree, let columns):
            let ordered = try columns.map { try assign(values[$0.key], to: $0.column) }
            return try findConflict(tree, ordered, excluding: nil) != nil
        }
    }

    /// Applies the foreign keys that reference `schema` when one of its rows is deleted
    /// (`new` nil) or updated: RESTRICT/NO ACTION fail with 23503, CASCADE deletes or updates
    /// the referencing rows, SET NULL/SET DEFAULT rewrite their key columns. The children's
    /// writers and access paths come from `plans` (compiled once per write plan).
    func parentChanged(_ schema: TableSchema, old: [Value], new: [Value]?, ctx: ExecutionContext, depth: Int,
                       plans: ForeignKeyPlans) throws {
        guard depth < 64 else { throw DatabaseError(.error, sqlState: SQLState.statementTooComplex, "foreign key cascades nest too deeply") }
        for key in try referencingKeys(of: schema, in: plans) {
            let fk = key.fk, w = key.child, child = w.schema, positions = key.childPositions
            let oldKey = key.parentPositions.map { old[$0] }
            let newKey = new.map { row in key.parentPositions.map { row[$0] } }
            if oldKey.contains(where: \.isNull) || newKey == oldKey { continue }
            var matches: [(Int64, [Value])] = []
            let next = try ctx.withFrame(oldKey) { try key.path.openKeyed(table: child, ctx: ctx) }
            while let (rowID, row) = try next() {
                if try zip(positions, oldKey).allSatisfy({ try Value.compare(row[$0.0], $0.1) == 0 }) { matches.append((rowID, row)) }
            }
            if matches.isEmpty { continue }
            switch new == nil ? fk.onDelete : fk.onUpdate {
            case .noAction, .restrict:
                throw DatabaseError(.constraint, sqlState: SQLState.foreignKeyViolation, "update or delete on table \"\(schema.name)\" violates foreign key constraint \"\(fk.name)\" on table \"\(child.name)\"")
            case .cascade:
                for (rowID, row) in matches {
                    if let newKey {
                        var updated = row
                        for (p, v) in zip(positions, newKey) { updated[p] = v }
                        _ = try store(&updated, in: w, replacing: rowID, old: row, ctx: ctx)
                        try parentChanged(child, old: row, new: updated, ctx: ctx, depth: depth + 1, plans: plans)
                    } else {
                        try deleteRow(rowID, row, in: w, ctx: ctx, depth: depth + 1, plans: plans)
                    }
                }
            case .setNull, .setDefault:
                let action = new == nil ? fk.onDelete : fk.onUpdate
                for (rowID, row) in matches {
                    var updated = row
                    for p in positions {
                        updated[p] = action == .setNull ? .null : try ctx.withFrame([]) { try w.defaults[p]?(ctx) ?? .null }
                    }
                    // A default naming the parent key that is going away still references it
                    // (the parent check skips a key that did not change).
                    if action == .setDefault,
                       try zip(positions, oldKey).allSatisfy({ try Value.compare(updated[$0.0], $0.1) == 0 }) {
                        throw DatabaseError(.constraint, sqlState: SQLState.foreignKeyViolation, "update or delete on table \"\(schema.name)\" violates foreign key constraint \"\(fk.name)\" on table \"\(child.name)\"")
                    }
                    _ = try store(&updated, in: w, replacing: rowID, old: row, ctx: ctx)
                    try parentChanged(child, old: row, new: updated, ctx: ctx, depth: depth + 1, plans: plans)
                }
            }
        }
    }

    /// How the rows of `child` that reference one parent key are found: an access path whose
    /// bounds read the key's values from the outer row (an index led by the foreign key's first
    /// column, else a scan), chosen once per write plan (`referencingKeys`) and by EXPLAIN.
    func referencingRowsPath(_ child: TableSchema, _ fk: ForeignKey, catalog: Catalog) throws -> AccessPath {
        let keyScope = Scope(columns: fk.columns.indices.map { ScopeColumn(table: "parent key", name: "k\($0)") }, parent: nil)
        let scope = Scope(columns: child.columns.map { ScopeColumn(table: child.name, name: $0.name) }, parent: keyScope)
        let compiler = ExpressionCompiler(scope: scope, planner: Planner(catalog: catalog, parameterTypes: parameterTypes), aggregation: nil, clause: "foreign key")
        let conjuncts = fk.columns.enumerated().map { i, column in
            Expr.binary(.equal, .column(table: child.name, name: column), .column(table: "parent key", name: "k\(i)"))
        }
        return try AccessPath.choose(table: child, indexes: catalog.indexes(on: child.name), conjuncts: conjuncts, scope: scope, compiler: compiler)
    }

    /// Deletes one row: the row and its index entries first, then its referencing rows (per
    /// their foreign keys). In that order a row referencing itself is not found again (a
    /// CASCADE recursed on it until 54001, a SET NULL rewrote it and left its new index
    /// entries behind), and a SET DEFAULT naming the deleted row fails its parent check
    /// (23503) instead of leaving a dangling reference. A row already deleted by an earlier
    /// cascade of the same statement is left alone.
    func deleteRow(_ rowID: Int64, _ row: [Value], in w: TableWriter, ctx: ExecutionContext, depth: Int, plans: ForeignKeyPlans) throws {
        guard try w.tree.delete(rowID, in: txn) else { return }
        for (_, tree, key) in w.indexes {
            try tree.delete(RecordCodec.indexKey(try key.values(row, ctx), rowID: rowID), in: txn)
        }
        try parentChanged(w.schema, old: row, new: nil, ctx: ctx, depth: depth, plans: plans)
    }
}
