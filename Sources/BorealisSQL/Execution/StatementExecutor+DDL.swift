// CREATE TABLE, CREATE INDEX and ALTER TABLE: the catalog records, the trees they need, and
// the checks on existing rows.

import BorealisStorage

extension StatementExecutor {
    // MARK: ALTER TABLE

    func rewriteRows(_ table: TableSchema, _ transform: ([Value]) throws -> [Value]) throws {
        let tree = TableTree(root: table.root)
        var cursor = tree.tree.cursor(in: txn)
        var rows: [(Int64, [Value])] = []
        var more = try cursor.first()
        while more {
            rows.append((try TableTree.decode(cursor.key), try RecordCodec.decode(try cursor.value())))
            more = try cursor.next()
        }
        for (rowID, row) in rows { try tree.put(rowID, RecordCodec.encode(try transform(row)), in: txn) }
    }

    func alterTable(_ name: String, _ action: AlterAction) throws {
        var table = try writableTable(name)
        switch action {
        case .addColumn(let definition, let ifNotExists):
            if table.columnIndex(definition.name) != nil {
                if ifNotExists { return }
                throw DatabaseError(.error, sqlState: SQLState.duplicateColumn, "column \"\(definition.name)\" of relation \"\(name)\" already exists")
            }
            try Self.checkStorable(definition.type)
            try Self.checkStoredExpressions(definition)
            if table.columns.count >= Limits.maxTableColumns { throw Limits.tooManyTableColumns() }
            if definition.primaryKey || definition.unique {
                throw DatabaseError(.error, sqlState: SQLState.featureNotSupported, "ADD COLUMN with PRIMARY KEY or UNIQUE is not supported; add the column, then CREATE UNIQUE INDEX")
            }
            if definition.type.serial || definition.generated != nil || definition.autoIncrement {
                try addIdentityColumn(definition, to: &table)
                break
            }
            var column = ColumnSchema(name: definition.name, type: definition.type.type, modifiers: definition.type.modifiers,
                                      notNull: definition.notNull, defaultSQL: definition.defaultValue?.sql)
            if let g = definition.generatedExpression {
                if definition.defaultValue != nil {
                    throw DatabaseError(.error, sqlState: SQLState.syntaxError, "both default and generation expression specified for column \"\(definition.name)\" of table \"\(name)\"")
                }
                try Self.checkGenerationSyntax(g)
                column.generatedSQL = g.sql
                if let check = definition.check { table.checks.append(NamedCheck(name: definition.constraintNames["check"] ?? "\(name)_\(column.name)_check", sql: check.sql)) }
                try addGeneratedColumn(column, to: &table)
                break
            }
            var fill = Value.null
            if let d = definition.defaultValue {
                let compiler = ExpressionCompiler(scope: Scope(columns: [], parent: nil), planner: Planner(catalog: catalog, parameterTypes: parameterTypes), aggregation: nil, clause: "DEFAULT expressions")
                let ctx = context()
                fill = try assign(try ctx.withFrame([]) { try compiler.compile(d)(ctx) }, to: column)
            }
            if column.notNull && fill.isNull, try TableTree(root: table.root).maxRowID(in: txn) != nil {
                throw DatabaseError(.constraint, sqlState: SQLState.notNullViolation, "column \"\(column.name)\" of relation \"\(name)\" contains null values")
            }
            if let check = definition.check { table.checks.append(NamedCheck(name: definition.constraintNames["check"] ?? "\(name)_\(column.name)_check", sql: check.sql)) }
            table.columns.append(column)
            try rewriteRows(table) { $0 + [fill] }
        case .alterColumn(let column, let alteration):
            try alterColumn(column, alteration, of: &table)
        case .dropConstraint(let constraint, let ifExists, let cascade):
            guard try dropConstraint(constraint, cascade: cascade, of: &table) || ifExists else {
                throw DatabaseError(.error, sqlState: SQLState.undefinedObject, "constraint \"\(constraint)\" of relation \"\(name)\" does not exist")
            }
        case .several:
            _ = try alterTableStatement(name, action)
            return
        case .dropColumn(let column, let ifExists, let cascade):
            guard table.columnIndex(column) != nil else {
                if ifExists { return }
                throw DatabaseError(.error, sqlState: SQLState.undefinedColumn, "column \"\(column)\" of relation \"\(name)\" does not exist")
            }
            // The generated columns reading it go first (CASCADE), or keep it (2BP01).
            let generated = Self.generatedColumns(of: table, reading: column).filter { $0 != column }
            if let first = generated.first, !cascade {
                throw Self.dependentObjectsError("column \(column) of table \(name)", ["column \(first) of table \(name) depends on column \(column) of table \(name)"])
            }
            var droppedIndexes = Set<String>()
            for g in generated + [column] { try dropColumn(g, of: &table, cascade: cascade, droppedIndexes: &droppedIndexes) }
        case .renameColumn(let old, let new):
            guard let position = table.columnIndex(old) else {
                throw DatabaseError(.error, sqlState: SQLState.undefinedColumn, "column \"\(old)\" does not exist")
            }
            guard table.columnIndex(new) == nil else {
                throw DatabaseError(.error, sqlState: SQLState.duplicateColumn, "column \"\(new)\" of relation \"\(name)\" already exists")
            }
            table.columns[position].name = new
            try followColumnRename(&table, old, to: new)
            try renameSequenceOwner(table: name, column: old, to: name, new)
            table.primaryKey = table.primaryKey.map { $0 == old ? new : $0 }
            table.checks = try table.checks.map { NamedCheck(name: $0.name, sql: Self.renameColumn(try Self.parseExpression($0.sql), old, new).sql) }
            for i in table.columns.indices {
                if let sql = table.columns[i].generatedSQL {
                    table.columns[i].generatedSQL = Self.renameColumn(try Self.parseExpression(sql), old, new).sql
                }
            }
            for var index in catalog.indexes(on: name) where try index.referencedColumns().contains(old) {
                if let predicate = index.predicate {
                    index.predicate = Self.renameColumn(try Self.parseExpression(predicate), old, new).sql
                }
                if let expressions = index.expressions {
                    index.expressions = try expressions.map { Self.renameColumn(try Self.parseExpression($0), old, new).sql }
                    index.columns = index.expressions!
                } else {
                    index.columns = index.columns.map { $0 == old ? new : $0 }
                }
                try Catalog.put("index", index.name, index, txn)
            }
        case .addConstraint(let constraint):
            try addConstraint(constraint, to: &table)
        case .renameTable(let new):
            guard !own.relationExists(new) else {
                throw DatabaseError(.error, sqlState: SQLState.duplicateTable, "relation \"\(new)\" already exists")
            }
            try Catalog.remove("table", name, txn)
            try followTableRename(name, to: new)
            table.name = new
            table.foreignKeys = table.foreignKeys?.map { fk in
                var fk = fk
                if fk.parent == name { fk.parent = new }
                return fk
            }
            for column in table.columns { try renameSequenceOwner(table: name, column: column.name, to: new, column.name) }
            for var index in catalog.indexes(on: name) {
                index.table = new
                try Catalog.put("index", index.name, index, txn)
            }
            try Catalog.put("table", new, table, txn)
            return
        }
        try Catalog.put("table", name, table, txn)
    }

    /// Drops one column: what depends on it (StatementExecutor+Dependencies), the indexes and
    /// checks that read it, its owned sequences, and its value from every row. `droppedIndexes`
    /// keeps an index read by two dropped columns from being dropped twice.
    private func dropColumn(_ column: String, of table: inout TableSchema, cascade: Bool, droppedIndexes: inout Set<String>) throws {
        let name = table.name
        guard let position = table.columnIndex(column) else { return }
        guard table.columns.count > 1 else {
            throw DatabaseError(.error, sqlState: SQLState.featureNotSupported, "cannot drop the only column of table \"\(name)\"")
        }
        _ = try dropColumnDependents(&table, column, cascade: cascade)
        for index in catalog.indexes(on: name) where !droppedIndexes.contains(index.name) {
            guard try index.referencedColumns().contains(column) else { continue }
            droppedIndexes.insert(index.name)
            try BTree(root: index.root).drop(in: txn)
            try Catalog.remove("index", index.name, txn)
        }
        table.checks.removeAll { check in
            (try? Self.parseExpression(check.sql)).map { Planner.columnReferences($0).contains { $0.1 == column } } ?? true
        }
        if table.rowIDColumn == position { table.rowIDColumn = nil }
        if let r = table.rowIDColumn, r > position { table.rowIDColumn = r - 1 }
        table.primaryKey.removeAll { $0 == column }
        table.columns.remove(at: position)
        try dropOwnedSequences(of: name, column: column)
        try rewriteRows(table) { row in
            var row = row
            if position < row.count { row.remove(at: position) }
            return row
        }
    }

    /// ALTER TABLE … ADD PRIMARY KEY, UNIQUE or CHECK, checked against the rows already there
    /// (PostgreSQL's errors: 23502 for a NULL in a key column, 23505 for a duplicate key, 23514
    /// for a row the check fails). A primary key added later is a unique index with NOT NULL
    /// columns; it does not become the row id.
    private func addConstraint(_ constraint: TableConstraint, to table: inout TableSchema) throws {
        let name = table.name
        func checkColumns(_ columns: [String]) throws {
            for column in columns where table.columnIndex(column) == nil {
                throw DatabaseError(.error, sqlState: SQLState.undefinedColumn, "column \"\(column)\" named in key does not exist")
            }
        }
        switch constraint {
        case .primaryKey(let columns, let constraintName):
            guard table.primaryKey.isEmpty else {
                throw DatabaseError(.error, sqlState: SQLState.invalidTableDefinition, "multiple primary keys for table \"\(name)\" are not allowed")
            }
            try checkColumns(columns)
            let positions = columns.compactMap(table.columnIndex)
            let tree = TableTree(root: table.root)
            var cursor = tree.tree.cursor(in: txn)
            var more = try cursor.first()
            while more {
                let row = try RecordCodec.decode(try cursor.value())
                for i in positions where i >= row.count || row[i].isNull {
                    throw DatabaseError(.constraint, sqlState: SQLState.notNullViolation,
                                        "column \"\(table.columns[i].name)\" of relation \"\(name)\" contains null values")
                }
                more = try cursor.next()
            }
            for i in positions { table.columns[i].notNull = true }
            table.primaryKey = columns
            try Catalog.put("table", name, table, txn)
            try createIndex(IndexSchema(name: constraintName ?? "\(name)_pkey", table: name, columns: columns, unique: true, root: 0, constraint: true),
                            schema: table)
        case .unique(let columns, let constraintName):
            try checkColumns(columns)
            try createIndex(IndexSchema(name: constraintName ?? "\(name)_\(columns.joined(separator: "_"))_key", table: name, columns: columns,
                                        unique: true, root: 0, constraint: true), schema: table)
        case .check(let e, let constraintName):
            try Self.checkStoredExpressions(check: e)
            // PostgreSQL's name: t_col_check for a check on one column, else t_check; then a
            // number when the name is taken (t_a_check1).
            let referenced = Set(Planner.columnReferences(e).map(\.1))
            let base = "\(name)_\(referenced.count == 1 ? referenced.first! + "_" : "")check"
            var checkName = constraintName ?? base
            var suffix = 0
            while constraintName == nil && table.checks.contains(where: { $0.name == checkName }) {
                suffix += 1
                checkName = base + String(suffix)
            }
            let (_, compiler) = Self.rowCompiler(table.columns, label: name, catalog: catalog, clause: "check constraints")
            let test = try compiler.compile(e)
            let ctx = context()
            var cursor = TableTree(root: table.root).tree.cursor(in: txn)
            var more = try cursor.first()
            while more {
                let row = try RecordCodec.decode(try cursor.value())
                if try ctx.withFrame(row, { try test(ctx) }).truth() == false {
                    throw DatabaseError(.constraint, sqlState: SQLState.checkViolation,
                                        "check constraint \"\(checkName)\" of relation \"\(name)\" is violated by some row")
                }
                more = try cursor.next()
            }
            table.checks.append(NamedCheck(name: checkName, sql: e.sql))
        case .like:
            throw DatabaseError.internalError("LIKE in ALTER TABLE")
        case .foreignKey(let columns, let reference, let constraintName):
            let keys = [table.primaryKey] + catalog.indexes(on: name).filter { $0.unique && $0.expressions == nil && $0.predicate == nil }.map(\.columns)
            let key = try foreignKey(columns, reference, name: constraintName, of: name, columns: table.columns, keys: keys)
            var checked = table
            checked.foreignKeys = [key]
            // Every row already there must find its parent (23503, as an insert would).
            var cursor = TableTree(root: table.root).tree.cursor(in: txn)
            var more = try cursor.first()
            while more {
                try checkParents(of: checked, try RecordCodec.decode(try cursor.value()), old: nil)
                more = try cursor.next()
            }
            table.foreignKeys = (table.foreignKeys ?? []) + [key]
        }
    }

    /// `e` with references to column `old` renamed to `new` (check constraints are stored as SQL).
    static func renameColumn(_ e: Expr, _ old: String, _ new: String) -> Expr {
        func r(_ e: Expr) -> Expr { renameColumn(e, old, new) }
        switch e {
        case .column(let t, let n): return .column(table: t, name: n == old ? new : n)
        case .unary(let op, let a): return .unary(op, r(a))
        case .binary(let op, let a, let b): return .binary(op, r(a), r(b))
        case .isNull(let a, let n): return .isNull(r(a), negated: n)
        case .isBoolean(let a, let v, let n): return .isBoolean(r(a), value: v, negated: n)
        case .between(let a, let b, let c, let n): return .between(r(a), low: r(b), high: r(c), negated: n)
        case .inList(let a, let list, let n): return .inList(r(a), list.map(r), negated: n)
        case .caseWhen(let base, let whens, let otherwise):
            return .caseWhen(base: base.map(r), whens: whens.map { (r($0.0), r($0.1)) }, otherwise: otherwise.map(r))
        case .cast(let a, let type): return .cast(r(a), type)
        case .function(let name, let args, let distinct, let star): return .function(name: name, args: args.map(r), distinct: distinct, star: star)
        case .like(let a, let p, let esc, let ci, let n): return .like(r(a), pattern: r(p), escape: esc.map(r), caseInsensitive: ci, negated: n)
        default: return e
        }
    }

    // MARK: DDL

    func createTable(_ name: String, _ definitions: [ColumnDefinition], _ constraints: [TableConstraint], onCommit: OnCommitAction?) throws {
        if definitions.count > Limits.maxTableColumns { throw Limits.tooManyTableColumns() }
        for d in definitions { try Self.checkStoredExpressions(d) }
        for case .check(let e, _) in constraints { try Self.checkStoredExpressions(check: e) }
        var columns: [ColumnSchema] = []
        var seen = Set<String>()
        for d in definitions {
            guard seen.insert(d.name).inserted else {
                throw DatabaseError(.error, sqlState: SQLState.duplicateColumn, "column \"\(d.name)\" specified more than once")
            }
            try Self.checkStorable(d.type)
            let serial = d.type.serial || d.generated != nil
            columns.append(ColumnSchema(name: d.name, type: d.type.type, modifiers: d.type.modifiers,
                                        notNull: d.notNull || d.primaryKey || serial, defaultSQL: d.defaultValue?.sql,
                                        identity: serial || d.autoIncrement))
        }
        guard !columns.isEmpty else { throw DatabaseError(.error, sqlState: SQLState.syntaxError, "a table must have at least one column") }
        for (i, d) in definitions.enumerated() {
            guard let g = d.generatedExpression else { continue }
            if d.defaultValue != nil {
                throw DatabaseError(.error, sqlState: SQLState.syntaxError, "both default and generation expression specified for column \"\(d.name)\" of table \"\(name)\"")
            }
            if d.generated != nil || d.type.serial || d.autoIncrement {
                throw DatabaseError(.error, sqlState: SQLState.syntaxError, "both identity and generation expression specified for column \"\(d.name)\" of table \"\(name)\"")
            }
            try Self.checkGenerationSyntax(g)
            columns[i].generatedSQL = g.sql
        }
        try validateGeneration(columns, table: name)
        var primaryKey = definitions.filter(\.primaryKey).map(\.name)
        var uniques: [[String]] = definitions.filter(\.unique).map { [$0.name] }
        var checks: [NamedCheck] = []
        for (i, d) in definitions.enumerated() where d.check != nil {
            checks.append(NamedCheck(name: d.constraintNames["check"] ?? "\(name)_\(d.name)_check\(i == 0 ? "" : "")", sql: d.check!.sql))
        }
        for constraint in constraints {
            switch constraint {
            case .primaryKey(let cols, _):
                guard primaryKey.isEmpty else { throw DatabaseError(.error, sqlState: SQLState.invalidTableDefinition, "multiple primary keys for table \"\(name)\" are not allowed") }
                primaryKey = cols
            case .unique(let cols, _): uniques.append(cols)
            case .check(let e, let constraintName): checks.append(NamedCheck(name: constraintName ?? "\(name)_check", sql: e.sql))
            case .foreignKey, .like: break
            }
        }
        if primaryKey.count > 1 || definitions.filter(\.primaryKey).count > 1 {
            if definitions.filter(\.primaryKey).count > 1 { throw DatabaseError(.error, sqlState: SQLState.invalidTableDefinition, "multiple primary keys for table \"\(name)\" are not allowed") }
        }
        for column in primaryKey + uniques.flatMap({ $0 }) where !seen.contains(column) {
            throw DatabaseError(.error, sqlState: SQLState.undefinedColumn, "column \"\(column)\" named in key does not exist")
        }
        for i in columns.indices where primaryKey.contains(columns[i].name) { columns[i].notNull = true }
        var rowIDColumn: Int?
        if primaryKey.count == 1, let i = columns.firstIndex(where: { $0.name == primaryKey[0] }),
           columns[i].type.isInteger {
            rowIDColumn = i
        }
        // Foreign keys: from column REFERENCES and table FOREIGN KEY constraints.
        var references: [([String], ForeignKeyReference, String?)] = definitions.compactMap { d in d.references.map { ([d.name], $0, d.constraintNames["references"]) } }
        for constraint in constraints {
            if case .foreignKey(let cols, let reference, let constraintName) = constraint { references.append((cols, reference, constraintName)) }
        }
        let foreignKeys = try references.map { cols, reference, constraintName in
            try foreignKey(cols, reference, name: constraintName, of: name, columns: columns, keys: [primaryKey] + uniques)
        }
        try createIdentitySequences(table: name, columns: &columns, definitions)
        let tree = try TableTree.create(in: txn)
        var schema = TableSchema(name: name, columns: columns, root: tree.root, rowIDColumn: rowIDColumn, primaryKey: primaryKey, checks: checks)
        if !foreignKeys.isEmpty { schema.foreignKeys = foreignKeys }
        if temporaryTarget {
            schema.temporary = true
            schema.onCommit = onCommit
        }
        // Validate defaults and checks now rather than at the first insert.
        let (_, compiler) = Self.rowCompiler(columns, label: name, catalog: catalog, clause: "check constraints")
        for check in checks { _ = try compiler.compile(try Self.parseExpression(check.sql)) }
        try Catalog.put("table", name, schema, txn)
        if rowIDColumn == nil && !primaryKey.isEmpty {
            try createIndex(IndexSchema(name: "\(name)_pkey", table: name, columns: primaryKey, unique: true, root: 0, constraint: true), schema: schema)
        }
        for cols in uniques where cols != primaryKey {
            try createIndex(IndexSchema(name: "\(name)_\(cols.joined(separator: "_"))_key", table: name, columns: cols, unique: true, root: 0, constraint: true), schema: schema)
        }
    }


    /// The foreign key `cols REFERENCES reference` of table `table` (whose `columns` and unique
    /// `keys` are given, as the table may not be in the catalog yet), checked as PostgreSQL
    /// checks it: the columns exist, the parent key is unique, the types compare.
    func foreignKey(_ cols: [String], _ reference: ForeignKeyReference, name constraintName: String?, of name: String,
                    columns: [ColumnSchema], keys: [[String]]) throws -> ForeignKey {
        let seen = Set(columns.map(\.name))
        let primaryKey = keys.first ?? []
        let uniques = Array(keys.dropFirst())
        for column in cols where !seen.contains(column) {
            throw DatabaseError(.error, sqlState: SQLState.undefinedColumn, "column \"\(column)\" referenced in foreign key constraint does not exist")
        }
        let selfReference = reference.table == name
        let parentColumns: [String]
        let parentKeys: [[String]]
        if selfReference {
            parentColumns = reference.columns.isEmpty ? primaryKey : reference.columns
            parentKeys = [primaryKey] + uniques
        } else {
            let parent = try catalog.table(reference.table)
            if parent.isTemporary != temporaryTarget {
                throw DatabaseError(.error, sqlState: SQLState.invalidTableDefinition, "constraints on \(temporaryTarget ? "temporary" : "permanent") tables may reference only \(temporaryTarget ? "temporary" : "permanent") tables")
            }
            parentColumns = reference.columns.isEmpty ? parent.primaryKey : reference.columns
            parentKeys = [parent.primaryKey] + catalog.indexes(on: parent.name).filter { $0.unique && $0.expressions == nil && $0.predicate == nil }.map(\.columns)
        }
        guard parentColumns.count == cols.count, !parentColumns.isEmpty else {
            throw DatabaseError(.error, sqlState: SQLState.invalidForeignKey, "number of referencing and referenced columns for foreign key disagree")
        }
        let parentTypes = try parentColumns.map { column -> SQLType? in
            if selfReference { return columns.first { $0.name == column }?.type }
            let parent = try catalog.table(reference.table)
            return parent.columnIndex(column).map { parent.columns[$0].type }
        }
        for (column, parentType) in zip(cols, parentTypes) {
            guard let type = columns.first(where: { $0.name == column })?.type,
                  Self.typeFamily(type) == Self.typeFamily(parentType) else {
                let type = columns.first(where: { $0.name == column })?.type
                throw DatabaseError(.mismatch, sqlState: SQLState.datatypeMismatch, "foreign key constraint cannot be implemented: key columns \"\(column)\" and \"\(parentColumns[cols.firstIndex(of: column)!])\" are of incompatible types: \(type?.displayName ?? "unknown") and \(parentType?.displayName ?? "unknown")")
            }
        }
        guard parentKeys.contains(where: { Set($0) == Set(parentColumns) }) else {
            throw DatabaseError(.error, sqlState: SQLState.invalidForeignKey, "there is no unique constraint matching given keys for referenced table \"\(reference.table)\"")
        }
        return ForeignKey(name: constraintName ?? "\(name)_\(cols.joined(separator: "_"))_fkey", columns: cols,
                          parent: reference.table, parentColumns: parentColumns,
                          onDelete: reference.onDelete, onUpdate: reference.onUpdate)
    }

    /// Types whose values compare with each other, for matching a foreign key to its parent key.
    static func typeFamily(_ type: SQLType?) -> String {
        guard let type else { return "" }
        switch type {
        case .smallint, .integer, .bigint, .real, .doublePrecision, .numeric: return "number"
        case .text, .varchar, .char: return "text"
        default: return type.name
        }
    }

    /// A column's DEFAULT and CHECK as the catalog can keep them: without a subquery (kept as
    /// SQL text, which writes none; PostgreSQL refuses them too, 0A000).
    static func checkStoredExpressions(_ d: ColumnDefinition) throws {
        if let e = d.defaultValue, Planner.containsSubquery(e) {
            throw DatabaseError(.error, sqlState: SQLState.featureNotSupported, "cannot use subquery in DEFAULT expression")
        }
        if let e = d.check { try checkStoredExpressions(check: e) }
    }

    static func checkStoredExpressions(check e: Expr) throws {
        if Planner.containsSubquery(e) {
            throw DatabaseError(.error, sqlState: SQLState.featureNotSupported, "cannot use subquery in check constraint")
        }
    }

    /// A column's declared type: one a table can hold.
    static func checkStorable(_ type: TypeName) throws {
        guard type.type.isStorable else {
            throw DatabaseError(.error, sqlState: SQLState.featureNotSupported, "columns of type \(type.type.displayName) are not supported")
        }
    }

    /// A compiler for expressions evaluated with one table's row as their frame, and its scope.
    /// `parameterTypes` collects the types its `$n` parameters take (a statement's own).
    static func rowCompiler(_ columns: [ColumnSchema], label: String, catalog: Catalog, clause: String,
                            parameterTypes: ParameterTypes = ParameterTypes()) -> (Scope, ExpressionCompiler) {
        let scope = rowScope(columns, label: label)
        return (scope, ExpressionCompiler(scope: scope, planner: Planner(catalog: catalog, parameterTypes: parameterTypes), aggregation: nil, clause: clause))
    }

    static func parseExpression(_ sql: String) throws -> Expr {
        var parser = try Parser(sql)
        let e = try parser.parseExpr()
        guard parser.peek.kind == .end else { throw DatabaseError.corrupt("stored expression has trailing text: \(sql)") }
        return e
    }

    /// Fills a new index from the table: keys are computed from the columns they read, sorted in
    /// batches (bounded memory) and inserted in key order, so the tree grows leaf after leaf.
    func createIndex(_ definition: IndexSchema, schema: TableSchema) throws {
        if definition.columns.count > Limits.maxIndexColumns {
            throw DatabaseError(.error, sqlState: SQLState.tooManyColumns, "cannot use more than \(Limits.maxIndexColumns) columns in an index")
        }
        var index = definition
        let key = try IndexKeyBuilder(index, schema, catalog)
        let wanted = try key.columnsRead(schema).map { $0 ? ColumnDecode.value : .skip }
        let ctx = context()
        let tree = try BTree.create(in: txn)
        index.root = tree.root
        let table = TableTree(root: schema.root)
        // Sort every entry (in spilled runs past the work memory), then load the tree bottom-up.
        let sorter = IndexEntrySorter(runLength: workMemoryRows)
        let rows = try AccessPath(kind: .fullScan, description: "").openKeyed(table: schema, ctx: ctx, wanted: wanted)
        while let (rowID, row) = try rows() {
            if try !key.includes(row, ctx) { continue }
            let values = try key.values(row, ctx)
            // NULLs never conflict: a unique index holds any number of them.
            try sorter.append(checkUnique: index.unique && !values.contains(where: \.isNull)) { out in
                for value in values { RecordCodec.appendKey(value, to: &out) }
                TableTree.appendKey(rowID, to: &out)
            }
        }
        var builder = try BTreeBuilder(tree, in: txn)
        var previous: [UInt8] = []
        try sorter.forEachSorted { entry, checkUnique in
            // Equal keys are adjacent in sorted order (they differ only in the row id suffix).
            let prefix = UnsafeRawBufferPointer(rebasing: entry[..<(entry.count - 8)])
            if checkUnique {
                if previous.count == prefix.count && previous.withUnsafeBytes({ Node.compare($0, prefix) == 0 }) {
                    let rowID = try TableTree.decode(Array(entry[(entry.count - 8)...]))
                    guard let raw = try table.get(rowID, in: txn) else { throw DatabaseError.internalError("row \(rowID) vanished") }
                    let values = try key.values(try RecordCodec.decode(raw), ctx)
                    throw DatabaseError(.constraint, sqlState: SQLState.uniqueViolation, "could not create unique index \"\(index.name)\": key (\(index.columns.joined(separator: ", ")))=(\(values.map(\.description).joined(separator: ", "))) is duplicated")
                }
                previous.removeAll(keepingCapacity: true)
                previous.append(contentsOf: prefix)
            }
            try builder.append(entry)
        }
        try builder.finish()
        try Catalog.put("index", index.name, index, txn)
    }

    /// The row id of another row with the same key in a unique index, if any.
    func findConflict(_ tree: BTree, _ values: [Value], excluding rowID: Int64?) throws -> Int64? {
        try findConflict(tree, prefix: RecordCodec.indexKey(values, rowID: nil), excluding: rowID)
    }

    func findConflict(_ tree: BTree, prefix: [UInt8], excluding rowID: Int64?) throws -> Int64? {
        var cursor = tree.cursor(in: txn)
        var more = try cursor.seek(atLeast: prefix)
        while more && cursor.key.starts(with: prefix) && cursor.key.count == prefix.count + 8 {
            let other = try TableTree.decode(Array(cursor.key.suffix(8)))
            if other != rowID { return other }
            more = try cursor.next()
        }
        return nil
    }
}
