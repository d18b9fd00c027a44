// ALTER TABLE beyond the single actions of StatementExecutor+DDL: IF EXISTS, several actions
// in one statement (each sees the catalog the previous one wrote), and ALTER COLUMN (SET/DROP
// DEFAULT, SET/DROP NOT NULL, [SET DATA] TYPE … [USING …]; the identity actions are in
// StatementExecutor+Identity.swift).
//
// Invariants: every change goes through Catalog.put/remove in the statement's transaction, so
// a rollback undoes it and a crash keeps all or none of it; a type change rewrites every row,
// then rebuilds the indexes that read the column and re-checks the table's CHECK constraints
// and NOT NULL, as PostgreSQL's table rewrite does.

import BorealisStorage

extension StatementExecutor {
    /// ALTER TABLE as a statement: IF EXISTS on a missing table is a notice (PostgreSQL's
    /// "relation … does not exist, skipping"); several actions run one after another.
    func alterTableStatement(_ name: String, _ action: AlterAction) throws -> QueryResult {
        // RENAME of a view (ALTER VIEW, or ALTER TABLE as PostgreSQL also takes).
        if catalog.views[name] != nil {
            switch action {
            case .renameTable, .renameColumn:
                try renameView(name, action)
                return QueryResult()
            case .several(let actions, _) where actions.count == 1:
                if case .renameTable = actions[0] { try renameView(name, actions[0]); return QueryResult() }
                if case .renameColumn = actions[0] { try renameView(name, actions[0]); return QueryResult() }
            default: break
            }
        }
        guard case .several(let actions, let ifExists) = action else {
            try alterTable(name, action)
            return QueryResult()
        }
        if ifExists && catalog.tables[name] == nil && catalog.views[name] == nil {
            var result = QueryResult()
            result.notice = "relation \"\(name)\" does not exist, skipping"
            return result
        }
        var executor = self
        for (i, action) in actions.enumerated() {
            if i > 0 { executor = try executor.withReloadedCatalog() }
            try executor.alterTable(name, action)
        }
        return QueryResult()
    }

    /// This executor with its catalogs read again from its transactions (after a DDL action of
    /// this statement changed them).
    func withReloadedCatalog() throws -> StatementExecutor {
        let fresh = try Catalog.load(txn)
        var merged = fresh
        var newHome: Catalog?
        if temporaryTarget, let permanentTxn {
            newHome = fresh
            merged = Catalog.merging(fresh, over: try Catalog.load(permanentTxn))
        } else if home != nil, let temporaryTxn {
            newHome = fresh
            merged = Catalog.merging(try Catalog.load(temporaryTxn), over: fresh)
        }
        var e = StatementExecutor(txn: txn, catalog: merged, parameters: parameters, planCache: nil, workMemoryRows: workMemoryRows)
        e.home = newHome
        e.temporaryTarget = temporaryTarget
        e.permanentTxn = permanentTxn
        e.temporaryTxn = temporaryTxn
        e.session = session
        return e
    }

    // MARK: DROP CONSTRAINT

    /// ALTER TABLE … DROP CONSTRAINT: a CHECK, a foreign key, a UNIQUE constraint or the
    /// primary key (its columns stay NOT NULL, as in PostgreSQL; a row id column becomes an
    /// ordinary column). A key other tables' foreign keys reference is 2BP01 without CASCADE,
    /// which removes those foreign keys. False when the table has no such constraint.
    func dropConstraint(_ constraint: String, cascade: Bool, of table: inout TableSchema) throws -> Bool {
        let name = table.name
        if table.checks.contains(where: { $0.name == constraint }) {
            table.checks.removeAll { $0.name == constraint }
            return true
        }
        if let keys = table.foreignKeys, keys.contains(where: { $0.name == constraint }) {
            table.foreignKeys = keys.filter { $0.name != constraint }
            if table.foreignKeys?.isEmpty == true { table.foreignKeys = nil }
            return true
        }
        let index = catalog.indexes(on: name).first { $0.constraint && $0.name == constraint }
        let isPrimaryKey = !table.primaryKey.isEmpty && (constraint == "\(name)_pkey" || (index != nil && index?.columns == table.primaryKey))
        guard index != nil || isPrimaryKey else { return false }
        let keyColumns = index?.columns ?? table.primaryKey
        // Foreign keys of other tables whose parent key this is.
        let dependents = (catalog.referencing[name] ?? []).filter { Set($0.fk.parentColumns) == Set(keyColumns) }
        if !dependents.isEmpty && !cascade {
            throw DatabaseError(.error, sqlState: SQLState.dependentObjectsStillExist,
                                "cannot drop constraint \(constraint) on table \(name) because other objects depend on it\nDETAIL:  "
                                + dependents.map { "constraint \($0.fk.name) on table \($0.child) depends on index \(constraint)" }.joined(separator: "\n")
                                + "\nHINT:  Use DROP ... CASCADE to drop the dependent objects too.")
        }
        let others = dependents.filter { $0.child != name }
        try removeForeignKeys(others.map { ($0.child, $0.fk.name) })
        table.foreignKeys = table.foreignKeys?.filter { fk in !(fk.parent == name && Set(fk.parentColumns) == Set(keyColumns)) }
        if table.foreignKeys?.isEmpty == true { table.foreignKeys = nil }
        if isPrimaryKey {
            table.primaryKey = []
            table.rowIDColumn = nil
        }
        if let index {
            try BTree(root: index.root).drop(in: txn)
            try Catalog.remove("index", index.name, txn)
            try moveComments(of: index.name, to: nil)
        }
        return true
    }

    // MARK: ALTER COLUMN

    func alterColumn(_ columnName: String, _ alteration: ColumnAlteration, of table: inout TableSchema) throws {
        let name = table.name
        guard let position = table.columnIndex(columnName) else {
            throw DatabaseError(.error, sqlState: SQLState.undefinedColumn, "column \"\(columnName)\" of relation \"\(name)\" does not exist")
        }
        var column = table.columns[position]
        if column.generatedSQL != nil {
            switch alteration {
            case .setDefault, .dropDefault:
                throw DatabaseError(.error, sqlState: SQLState.syntaxError, "column \"\(columnName)\" of relation \"\(name)\" is a generated column")
            default: break
            }
        }
        switch alteration {
        case .addIdentity, .setIdentity, .dropIdentity:
            try alterIdentity(alteration, at: position, of: &table)
            return
        case .setDefault(let e):
            if column.generated != nil {
                throw DatabaseError(.error, sqlState: SQLState.syntaxError, "column \"\(columnName)\" of relation \"\(name)\" is an identity column")
            }
            if !Planner.columnReferences(e).isEmpty {
                throw DatabaseError(.error, sqlState: SQLState.featureNotSupported, "cannot use column reference in DEFAULT expression")
            }
            // Stored as SQL text, which keeps no subquery (PostgreSQL refuses them too).
            if Planner.containsSubquery(e) {
                throw DatabaseError(.error, sqlState: SQLState.featureNotSupported, "cannot use subquery in DEFAULT expression")
            }
            // Compiled now, so a column reference or an unknown function fails here, not at
            // the next INSERT (evaluated there: nextval() must not run now).
            let compiler = ExpressionCompiler(scope: Scope(columns: [], parent: nil), planner: Planner(catalog: catalog, parameterTypes: parameterTypes),
                                              aggregation: nil, clause: "DEFAULT expressions")
            _ = try compiler.compile(e)
            column.defaultSQL = e.sql
            // A SERIAL column's default was its sequence: the new default replaces it.
            column.identity = false
        case .dropDefault:
            if column.generated != nil {
                throw DatabaseError(.error, sqlState: SQLState.syntaxError,
                                    "column \"\(columnName)\" of relation \"\(name)\" is an identity column")
            }
            column.defaultSQL = nil
            column.identity = false
        case .setNotNull:
            if !column.notNull {
                var cursor = TableTree(root: table.root).tree.cursor(in: txn)
                var more = try cursor.first()
                while more {
                    let row = try RecordCodec.decode(try cursor.value())
                    if position >= row.count || row[position].isNull {
                        throw DatabaseError(.constraint, sqlState: SQLState.notNullViolation,
                                            "column \"\(columnName)\" of relation \"\(name)\" contains null values")
                    }
                    more = try cursor.next()
                }
            }
            column.notNull = true
        case .dropNotNull:
            if table.primaryKey.contains(columnName) {
                throw DatabaseError(.error, sqlState: SQLState.invalidTableDefinition, "column \"\(columnName)\" is in a primary key")
            }
            if column.generated != nil {
                throw DatabaseError(.error, sqlState: SQLState.syntaxError,
                                    "column \"\(columnName)\" of relation \"\(name)\" is an identity column")
            }
            column.notNull = false
        case .type(let typeName, let using):
            try changeType(of: position, to: typeName, using: using, in: &table)
            return
        }
        table.columns[position] = column
    }

    /// ALTER COLUMN … TYPE: every row's value converted (by USING, else by the assignment cast,
    /// which must exist: 42804 as PostgreSQL), then the indexes reading the column rebuilt.
    private func changeType(of position: Int, to typeName: TypeName, using: Expr?, in table: inout TableSchema) throws {
        let name = table.name
        let old = table.columns[position]
        try Self.checkStorable(typeName)
        if !Self.generatedColumns(of: table, reading: old.name).filter({ $0 != old.name }).isEmpty {
            throw DatabaseError(.error, sqlState: SQLState.featureNotSupported, "cannot alter type of a column used by a generated column")
        }
        if old.generatedSQL != nil && using != nil {
            throw DatabaseError(.error, sqlState: SQLState.syntaxError, "cannot specify USING when altering type of generated column")
        }
        if using == nil && !Self.hasAssignmentCast(from: old.type, to: typeName.type) {
            throw DatabaseError(.mismatch, sqlState: SQLState.datatypeMismatch,
                                "column \"\(old.name)\" cannot be cast automatically to type \(typeName.type.displayName)")
        }
        // An identity column keeps an integer type, and its sequence follows the new type
        // (AS type: bounds at the old type's limits move to the new type's), as in PostgreSQL.
        if old.generated != nil {
            guard [.smallint, .integer, .bigint].contains(typeName.type) else {
                throw DatabaseError(.error, sqlState: SQLState.invalidParameterValue, "identity column type must be smallint, integer, or bigint")
            }
            if let sequenceName = old.sequence, let sequence = catalog.sequences[sequenceName] {
                try alterSequence(sequence, [.type(typeName.type)])
            }
        }
        if let view = try viewsDepending(on: name, column: old.name).first {
            throw DatabaseError(.error, sqlState: SQLState.featureNotSupported,
                                "cannot alter type of a column used by a view or rule (view \(view) depends on column \"\(old.name)\")")
        }
        // Foreign keys on either side must still compare.
        let keys = (table.foreignKeys ?? []).filter { $0.columns.contains(old.name) }
            + (catalog.referencing[name] ?? []).map(\.fk).filter { $0.parentColumns.contains(old.name) }
        for key in keys where Self.typeFamily(old.type) != Self.typeFamily(typeName.type) {
            throw DatabaseError(.mismatch, sqlState: SQLState.datatypeMismatch,
                                "foreign key constraint \"\(key.name)\" cannot be implemented")
        }
        var column = old
        column.type = typeName.type
        column.modifiers = typeName.modifiers
        var converted = table
        converted.columns[position] = column
        let ctx = context()
        let convert: Evaluator?
        if let using {
            if Planner.containsSubquery(using) {
                throw DatabaseError(.error, sqlState: SQLState.featureNotSupported, "cannot use subquery in transform expression")
            }
            let (_, compiler) = Self.rowCompiler(table.columns, label: name, catalog: catalog, clause: "transform expressions")
            convert = try compiler.compile(Self.assigned(using, to: column, compiler))
        } else if old.type == .char && (column.type == .text || column.type == .varchar) {
            // char → text or varchar strips the trailing blanks, as PostgreSQL's cast does.
            convert = { ctx in
                let value = ctx.frames[ctx.frames.count - 1][position]
                guard case .text(let s) = value else { return value }
                return .text(ExpressionCompiler.strippedCharacter(s))
            }
        } else {
            convert = nil
        }
        // The checks as they compile against the new types (an operator may no longer exist).
        let (_, checkCompiler) = Self.rowCompiler(converted.columns, label: name, catalog: catalog, clause: "check constraints")
        let checks = try converted.checks.map { ($0.name, try checkCompiler.compile(try Self.parseExpression($0.sql))) }
        if let d = column.defaultSQL {
            let compiler = ExpressionCompiler(scope: Scope(columns: [], parent: nil), planner: Planner(catalog: catalog, parameterTypes: parameterTypes),
                                              aggregation: nil, clause: "DEFAULT expressions")
            _ = try compiler.compile(try Self.parseExpression(d))
        }
        // A row id column that is no longer an integer becomes an ordinary key with an index.
        let loseRowID = table.rowIDColumn == position && !typeName.type.isInteger
        if loseRowID { converted.rowIDColumn = nil }
        try rewriteRows(converted) { row in
            var row = row
            while row.count < converted.columns.count { row.append(.null) }
            let source = row[position]
            let value = try convert.map { evaluator in try ctx.withFrame(row) { try evaluator(ctx) } } ?? source
            row[position] = try assign(value, to: column)
            if column.notNull && row[position].isNull {
                throw DatabaseError(.constraint, sqlState: SQLState.notNullViolation,
                                    "column \"\(column.name)\" of relation \"\(name)\" contains null values")
            }
            for (checkName, check) in checks where try ctx.withFrame(row, { try check(ctx) }).truth() == false {
                throw DatabaseError(.constraint, sqlState: SQLState.checkViolation,
                                    "check constraint \"\(checkName)\" of relation \"\(name)\" is violated by some row")
            }
            return row
        }
        table = converted
        try Catalog.put("table", name, table, txn)
        for index in catalog.indexes(on: name) where try index.referencedColumns().contains(old.name) {
            try BTree(root: index.root).drop(in: txn)
            var rebuilt = index
            rebuilt.root = 0
            try createIndex(rebuilt, schema: table)
        }
        if loseRowID {
            try createIndex(IndexSchema(name: "\(name)_pkey", table: name, columns: table.primaryKey, unique: true, root: 0, constraint: true),
                            schema: table)
        }
    }

    /// Whether PostgreSQL converts `from` to `to` by an implicit or assignment cast (pg_cast's
    /// contexts 'i' and 'a', and the I/O conversion of anything to a string type): what ALTER
    /// COLUMN … TYPE without USING may use.
    static func hasAssignmentCast(from: SQLType, to: SQLType) -> Bool {
        if from == to { return true }
        let numbers: Set<SQLType> = [.smallint, .integer, .bigint, .real, .doublePrecision, .numeric]
        let strings: Set<SQLType> = [.text, .varchar, .char]
        if strings.contains(to) { return true }
        if numbers.contains(from) && numbers.contains(to) { return true }
        switch (from, to) {
        case (.date, .timestamp), (.date, .timestamptz), (.timestamp, .date), (.timestamp, .timestamptz), (.timestamp, .time),
             (.timestamptz, .date), (.timestamptz, .timestamp), (.timestamptz, .time), (.time, .interval), (.interval, .time),
             (.json, .jsonb), (.jsonb, .json), (.time, .timetz), (.timestamptz, .timetz):
            return true
        default:
            return false
        }
    }
}
