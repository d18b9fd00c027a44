// INSERT, UPDATE and DELETE: compiled table writers (defaults, checks, index keys), the
// constraints (NOT NULL 23502, CHECK 23514, UNIQUE/PRIMARY KEY 23505), ON CONFLICT, RETURNING,
// and the rows UPDATE and DELETE match.

import BorealisStorage

extension StatementExecutor {
    // MARK: DML

    /// A table's compiled write path (a class: a prepared statement hands it to every row
    /// without copying its fields).
    final class TableWriter {
        let schema: TableSchema
        let tree: TableTree
        let indexes: [(IndexSchema, BTree, IndexKeyBuilder)]
        let checks: [(String, Evaluator)]
        let defaults: [Evaluator?]
        /// Generated columns and their expressions over the row (StatementExecutor+Generated).
        var generated: [(Int, Evaluator)] = []
        /// The table's foreign keys compiled for checking, made by the first row stored.
        var parentChecks: [ParentCheck]?
        /// Per column: which values it stores as they are (anything else goes through `assign`).
        let storedAsIs: [StoredAsIs]
        let notNull: [Bool]

        init(schema: TableSchema, tree: TableTree, indexes: [(IndexSchema, BTree, IndexKeyBuilder)], checks: [(String, Evaluator)], defaults: [Evaluator?]) {
            self.schema = schema
            self.tree = tree
            self.indexes = indexes
            self.checks = checks
            self.defaults = defaults
            storedAsIs = schema.columns.map { StoredAsIs($0.type) }
            notNull = schema.columns.map(\.notNull)
        }
    }

    /// The values a column type keeps without an assignment cast: PostgreSQL's exact cases.
    enum StoredAsIs {
        case bigint, integer, text, double, none

        init(_ type: SQLType) {
            switch type {
            case .bigint: self = .bigint
            case .integer: self = .integer
            case .text: self = .text
            case .doublePrecision: self = .double
            default: self = .none
            }
        }

        @inline(__always)
        func accepts(_ value: Value) -> Bool {
            switch (self, value) {
            case (_, .null), (.bigint, .integer), (.text, .text), (.double, .double): return true
            case (.integer, .integer(let i)): return Int32(exactly: i) != nil
            default: return false
            }
        }
    }

    /// The schema of the table `name` as INSERT/UPDATE/DELETE write it (a view is refused),
    /// its write plan made on the way.
    func schemaForWriting(_ name: String) throws -> TableSchema { try writePlan(for: name).writer.schema }

    func compileWriter(for name: String, in catalog: Catalog) throws -> TableWriter {
        if catalog.views[name] != nil {
            throw DatabaseError(.error, sqlState: SQLState.objectNotInPrerequisiteState, "cannot change view \"\(name)\"")
        }
        let schema = try placed(try catalog.table(name))
        let indexes = try catalog.indexes(on: name).map { index in
            (index, BTree(root: index.root), try IndexKeyBuilder(index, schema, catalog))
        }
        let (_, compiler) = Self.rowCompiler(schema.columns, label: name, catalog: catalog, clause: "check constraints")
        let checks = try schema.checks.map { ($0.name, try compiler.compile(try Self.parseExpression($0.sql))) }
        let plain = ExpressionCompiler(scope: Scope(columns: [], parent: nil), planner: Planner(catalog: catalog, parameterTypes: parameterTypes), aggregation: nil, clause: "DEFAULT expressions")
        let defaults = try schema.columns.map { c in try c.defaultSQL.map { try plain.compile(Self.assigned(try Self.parseExpression($0), to: c, plain)) } }
        let w = TableWriter(schema: schema, tree: TableTree(root: schema.root), indexes: indexes, checks: checks, defaults: defaults)
        w.generated = try generationEvaluators(schema, catalog: catalog)
        return w
    }

    /// Casts each value of `row` to its column's type and enforces NOT NULL.
    func coerce(_ row: inout [Value], for w: TableWriter) throws {
        for i in w.storedAsIs.indices {
            if !w.storedAsIs[i].accepts(row[i]) { row[i] = try assign(row[i], to: w.schema.columns[i]) }
            if w.notNull[i] && row[i].isNull {
                throw DatabaseError(.constraint, sqlState: SQLState.notNullViolation, "null value in column \"\(w.schema.columns[i].name)\" of relation \"\(w.schema.name)\" violates not-null constraint")
            }
        }
    }

    /// The columns of the unique constraint (primary key or unique index) named `name`.
    func constraintColumns(_ name: String, of schema: TableSchema) throws -> [String] {
        if !schema.primaryKey.isEmpty, ObjectDirectory.primaryKeyName(schema, catalog) == name { return schema.primaryKey }
        if let index = catalog.indexes(on: schema.name).first(where: { $0.name == name && $0.unique }) { return index.columns }
        throw DatabaseError(.error, sqlState: SQLState.undefinedObject, "constraint \"\(name)\" for table \"\(schema.name)\" does not exist")
    }

    /// The row id of an existing row that `row` (coerced) collides with on the row id or a
    /// unique index; `target` narrows the constraints considered (ON CONFLICT (columns)).
    func conflictingRow(_ row: [Value], in w: TableWriter, target: [String], predicate: Expr? = nil, ctx: ExecutionContext) throws -> Int64? {
        // The conjuncts of ON CONFLICT's WHERE, as a partial index's predicate is compared.
        func conjuncts(_ e: Expr) -> [String] {
            if case .binary(.and, let a, let b) = e { return conjuncts(a) + conjuncts(b) }
            return [e.sql]
        }
        let given = Set(predicate.map(conjuncts) ?? [])
        var considered = false
        if let c = w.schema.rowIDColumn, target.isEmpty || target == [w.schema.columns[c].name] {
            considered = true
            if case .integer(let id) = row[c], try w.tree.get(id, in: txn) != nil { return id }
        }
        for (index, tree, key) in w.indexes where index.unique && (target.isEmpty || Set(index.columns) == Set(target)) {
            // A partial index is inferred without a conflict target, or when the target's WHERE
            // has its predicate (as written), and holds only the rows its predicate selects.
            if index.predicate != nil && !target.isEmpty, try !index.predicateConjuncts().allSatisfy(given.contains) { continue }
            considered = true
            if try !key.includes(row, ctx) { continue }
            let values = try key.values(row, ctx)
            if values.contains(where: \.isNull) { continue }
            if let other = try findConflict(tree, values, excluding: nil) { return other }
        }
        if !considered {
            throw DatabaseError(.error, sqlState: SQLState.invalidColumnReference, "there is no unique or exclusion constraint matching the ON CONFLICT specification")
        }
        return nil
    }

    func store(_ row: inout [Value], in w: TableWriter, replacing oldRowID: Int64?, old: [Value]?, ctx: ExecutionContext) throws -> Int64 {
        let schema = w.schema
        if !w.generated.isEmpty { try fillGenerated(&row, for: w, ctx: ctx) }
        try coerce(&row, for: w)
        try checkParents(of: w, row, old: old)
        for (name, check) in w.checks where try ctx.withFrame(row, { try check(ctx).truth() }) == false {
            throw DatabaseError(.constraint, sqlState: SQLState.checkViolation, "new row for relation \"\(schema.name)\" violates check constraint \"\(name)\"")
        }
        var rowID: Int64
        // A new row id is written first, in one descent with its uniqueness check; the index
        // entries follow (an error there fails the statement, whose changes are rolled back).
        let encoded = RecordCodec.encode(row)
        var written = false
        if let c = schema.rowIDColumn {
            guard case .integer(let id) = row[c] else { throw DatabaseError.internalError("row id column holds \(row[c])") }
            rowID = id
            if id != oldRowID {
                guard try w.tree.insert(id, encoded, in: txn) else {
                    throw DatabaseError(.constraint, sqlState: SQLState.uniqueViolation, "duplicate key value violates unique constraint \"\(schema.name)_pkey\"")
                }
                written = true
            }
        } else if let oldRowID {
            rowID = oldRowID
        } else {
            rowID = (try w.tree.maxRowID(in: txn) ?? 0) &+ 1
        }
        for (index, tree, key) in w.indexes {
            let values = try key.values(row, ctx)
            let included = try key.includes(row, ctx)
            if let old, let oldRowID {
                let oldValues = try key.values(old, ctx)
                let wasIncluded = try key.includes(old, ctx)
                if included && wasIncluded && oldValues == values && oldRowID == rowID { continue }
                if wasIncluded { try tree.delete(RecordCodec.indexKey(oldValues, rowID: oldRowID), in: txn) }
            }
            if !included { continue }
            if index.unique, !values.contains(where: \.isNull), try findConflict(tree, values, excluding: oldRowID ?? rowID) != nil {
                throw DatabaseError(.constraint, sqlState: SQLState.uniqueViolation, "duplicate key value violates unique constraint \"\(index.name)\"")
            }
            try tree.put(RecordCodec.indexKey(values, rowID: rowID), [], in: txn)
        }
        if let oldRowID, oldRowID != rowID { try w.tree.delete(oldRowID, in: txn) }
        if !written { try w.tree.put(rowID, encoded, in: txn) }
        return rowID
    }

    /// PostgreSQL's assignment cast into a column's type.
    func assign(_ value: Value, to column: ColumnSchema) throws -> Value {
        // The common exact cases first, without a cast.
        if StoredAsIs(column.type).accepts(value) { return value }
        switch column.type {
        case .integer, .bigint, .smallint:
            if case .integer = value, column.type == .bigint { return value }
            if case .boolean = value { throw DatabaseError(.mismatch, sqlState: SQLState.datatypeMismatch, "column \"\(column.name)\" is of type \(column.type.displayName) but expression is of type boolean") }
            return try value.cast(to: column.type)
        case .numeric:
            if case .boolean = value { throw DatabaseError(.mismatch, sqlState: SQLState.datatypeMismatch, "column \"\(column.name)\" is of type numeric but expression is of type boolean") }
            guard case .numeric(let n) = try value.cast(to: .numeric) else { return .null }
            return .numeric(try n.fitted(precision: column.modifiers.first, scale: column.modifiers.first.map { _ in column.modifiers.count > 1 ? column.modifiers[1] : 0 }))
        case .real, .doublePrecision:
            if case .boolean = value { throw DatabaseError(.mismatch, sqlState: SQLState.datatypeMismatch, "column \"\(column.name)\" is of type \(column.type.displayName) but expression is of type boolean") }
            let v = try value.cast(to: .doublePrecision)
            if column.type == .real, case .double(let d) = v { return .double(Double(Float(d))) }
            return v
        case .text, .varchar, .char:
            // char(n) pads to n (StatementExecutor+Character.swift).
            guard case .text(let s) = try value.cast(to: .text) else { return .null }
            return .text(try Self.storedCharacter(s, limit: column.modifiers.first, type: column.type))
        case .boolean: return try value.cast(to: .boolean)
        case .bytea: return try value.cast(to: .bytea)
        case .json, .jsonb:
            guard case .text = value else {
                throw DatabaseError(.mismatch, sqlState: SQLState.datatypeMismatch,
                                    "column \"\(column.name)\" is of type \(column.type.name) but expression is of type \(value.typeName)")
            }
            return try value.cast(to: column.type)
        case .uuid:
            guard case .text = value else {
                throw DatabaseError(.mismatch, sqlState: SQLState.datatypeMismatch,
                                    "column \"\(column.name)\" is of type uuid but expression is of type \(value.typeName)")
            }
            return try value.cast(to: .uuid)
        case .date, .time, .timestamp, .timestamptz, .interval:
            switch (column.type, value) {
            case (.date, .date), (.time, .time), (.timestamp, .timestamp), (.timestamptz, .timestamptz), (.interval, .interval): return value
            case (_, .text), (.date, .timestamp), (.date, .timestamptz), (.timestamp, .date), (.timestamptz, .date),
                 (.timestamp, .timestamptz), (.timestamptz, .timestamp), (.time, .timestamp), (.time, .timestamptz):
                return try value.cast(to: column.type)
            default:
                throw DatabaseError(.mismatch, sqlState: SQLState.datatypeMismatch, "column \"\(column.name)\" is of type \(column.type.displayName) but expression is of type \(value.typeName)")
            }
        case _ where column.type.isArray:
            // Text is read as an array literal; an array has its elements cast to the element type.
            switch value {
            case .text, .array: return try value.cast(to: column.type)
            default:
                throw DatabaseError(.mismatch, sqlState: SQLState.datatypeMismatch, "column \"\(column.name)\" is of type \(column.type.displayName) but expression is of type \(value.typeName)")
            }
        default: return value
        }
    }

    func returningPlan(_ items: [SelectItem], _ schema: TableSchema, alias: String?) throws -> (columns: [String], evaluate: (ExecutionContext, [Value]) throws -> [Value])? {
        guard !items.isEmpty else { return nil }
        let label = alias ?? schema.name
        let (_, compiler) = Self.rowCompiler(schema.columns, label: label, catalog: catalog, clause: "RETURNING", parameterTypes: parameterTypes)
        var names: [String] = []
        var evaluators: [Evaluator] = []
        for item in items {
            switch item {
            case .star:
                for (i, c) in schema.columns.enumerated() {
                    names.append(c.name)
                    evaluators.append(Self.returnedColumn(c, at: i))
                }
            case .expression(let e, let a):
                names.append(a ?? Planner.outputName(e))
                evaluators.append(try compiler.compile(e))
            }
        }
        return (names, { ctx, row in try ctx.withFrame(row) { try evaluators.map { try $0(ctx) } } })
    }

    func insert(_ name: String, _ columnNames: [String]?, _ source: InsertSource, _ onConflict: OnConflict?, _ returning: [SelectItem],
                overriding: Overriding? = nil) throws -> QueryResult {
        let plan = try writePlan(for: name)
        let w = plan.writer
        let width = w.storedAsIs.count
        let targets: [Int]
        if let cached = plan.targets {
            targets = cached
        } else {
            targets = try (columnNames ?? w.schema.columns.map(\.name)).map { c -> Int in
                guard let i = w.schema.columnIndex(c) else {
                    throw DatabaseError(.error, sqlState: SQLState.undefinedColumn, "column \"\(c)\" of relation \"\(name)\" does not exist")
                }
                return i
            }
            guard Set(targets).count == targets.count else { throw DatabaseError(.error, sqlState: SQLState.duplicateColumn, "column specified more than once") }
            plan.targets = targets
        }
        let ctx = context()
        // Target positions whose values OVERRIDING USER VALUE ignores (identity columns).
        let ignored = try identityTargets(w, targets, source, overriding)
        var inputs: [[Value?]] = []
        // One VALUES row naming every column (a prepared single-row INSERT) is evaluated straight
        // into the row; several rows are all evaluated before the first is stored.
        var single: [Value]?
        switch source {
        case .defaultValues:
            inputs = [[]]
        case .values(let rows):
            // Compiled once per write plan.
            let evaluators: [[Evaluator?]]
            if let cached = plan.values {
                evaluators = cached
            } else {
                let compiler = ExpressionCompiler(scope: Scope(columns: [], parent: nil), planner: Planner(catalog: catalog, parameterTypes: parameterTypes), aggregation: nil, clause: "VALUES")
                evaluators = try rows.map { row in
                    guard row.count <= targets.count else {
                        throw DatabaseError(.error, sqlState: SQLState.syntaxError, "INSERT has more expressions than target columns")
                    }
                    return try row.enumerated().map { k, e in try e.map { try compiler.compile(Self.assigned($0, to: w.schema.columns[targets[k]], compiler)) } }
                }
                plan.values = evaluators
            }
            if evaluators.count == 1, evaluators[0].count == width, !evaluators[0].contains(where: { $0 == nil }), ignored.isEmpty {
                // The last execution's row array, when nothing kept it (every slot is set).
                var row: [Value] = []
                if let cache = planCache { swap(&row, &cache.rowBuffer) }
                if row.count != width { row = [Value](repeating: .null, count: width) }
                try ctx.withFrame([]) {
                    for (k, evaluate) in evaluators[0].enumerated() { row[targets[k]] = try evaluate!(ctx) }
                }
                single = row
            } else {
                inputs.reserveCapacity(evaluators.count)
                try ctx.withFrame([]) {
                    for row in evaluators { inputs.append(try row.map { try $0.map { try $0(ctx) } }) }
                }
            }
        case .select(let query):
            let plan = try makePlanner().plan(query, parent: nil)
            guard plan.columns.count <= targets.count else {
                throw DatabaseError(.error, sqlState: SQLState.syntaxError, "INSERT has more expressions than target columns")
            }
            inputs = try plan.run(ctx).map { $0.map { Optional($0) } }
            for k in Self.strippedPositions(plan.declaredTypes, targets: targets, w.schema) {
                for r in inputs.indices where k < inputs[r].count {
                    if case .text(let s)? = inputs[r][k] { inputs[r][k] = .text(ExpressionCompiler.strippedCharacter(s)) }
                }
            }
        }
        if !ignored.isEmpty {
            for r in inputs.indices {
                for k in ignored where k < inputs[r].count { inputs[r][k] = nil }
            }
        }
        let returningPlan = try returningPlan(returning, w.schema, alias: nil)
        var result = QueryResult(columns: returningPlan?.columns ?? [])
        // ON CONFLICT DO UPDATE sees the existing row under the table's name and the proposed
        // one as `excluded`.
        var conflictAssignments: [(Int, Evaluator)] = []
        var conflictFilter: Evaluator?
        if let onConflict, let assignments = onConflict.assignments {
            let columns = Self.rowScope(w.schema.columns, label: name).columns + Self.rowScope(w.schema.columns, label: "excluded").columns
            let compiler = ExpressionCompiler(scope: Scope(columns: columns, parent: nil), planner: Planner(catalog: catalog, parameterTypes: parameterTypes), aggregation: nil, clause: "ON CONFLICT DO UPDATE")
            conflictAssignments = try compileAssignments(assignments, w, compiler)
            conflictFilter = try onConflict.filter.map { try compiler.compile($0) }
        }
        var conflictTarget = onConflict?.columns ?? []
        if let constraint = onConflict?.constraint {
            conflictTarget = try constraintColumns(constraint, of: w.schema)
        }
        // The rows this statement inserted or updated: DO UPDATE may not reach one again (21000).
        var touched = Set<Int64>()
        /// Stores one complete row (or, ON CONFLICT, updates or skips the row it collides with).
        func insertRow(_ row: inout [Value]) throws {
            if let onConflict {
                if !w.generated.isEmpty { try fillGenerated(&row, for: w, ctx: ctx) }
                try coerce(&row, for: w)
                if let existingID = try conflictingRow(row, in: w, target: conflictTarget, predicate: onConflict.indexPredicate, ctx: ctx) {
                    guard onConflict.assignments != nil, let raw = try w.tree.get(existingID, in: txn) else { return }
                    guard touched.insert(existingID).inserted else {
                        throw DatabaseError(.constraint, sqlState: SQLState.cardinalityViolation,
                                            "ON CONFLICT DO UPDATE command cannot affect row a second time")
                    }
                    let existing = try RecordCodec.decode(raw)
                    let frame = existing + row
                    if let conflictFilter, try ctx.withFrame(frame, { try conflictFilter(ctx).truth() }) != true { return }
                    var updated = existing
                    try ctx.withFrame(frame) {
                        for (i, e) in conflictAssignments { updated[i] = try e(ctx) }
                    }
                    _ = try store(&updated, in: w, replacing: existingID, old: existing, ctx: ctx)
                    result.changes += 1
                    if let returningPlan { result.rows.append(try returningPlan.evaluate(ctx, updated)) }
                    return
                }
            }
            let rowID = try store(&row, in: w, replacing: nil, old: nil, ctx: ctx)
            if onConflict?.assignments != nil { touched.insert(rowID) }
            result.changes += 1
            result.lastInsertRowID = rowID
            if let returningPlan { result.rows.append(try returningPlan.evaluate(ctx, row)) }
        }
        if var row = single {
            try insertRow(&row)
            planCache?.rowBuffer = row
        }
        for input in inputs {
            var row = [Value](repeating: .null, count: width)
            if input.count == width && !input.contains(where: { $0 == nil }) {
                // Every column given: no defaults to fill in.
                for (k, value) in input.enumerated() { row[targets[k]] = value! }
            } else {
                var provided = [Bool](repeating: false, count: width)
                for (k, value) in input.enumerated() {
                    if let value {
                        row[targets[k]] = value
                        provided[targets[k]] = true
                    }
                }
                for (i, column) in w.schema.columns.enumerated() where !provided[i] {
                    if let d = w.defaults[i] {
                        row[i] = try ctx.withFrame([]) { try d(ctx) }
                    } else if column.identity {
                        row[i] = .integer(try nextIdentity(w, column: i, ctx: ctx))
                    }
                }
            }
            try insertRow(&row)
        }
        return result
    }

    /// SET column = expr pairs, compiled; DEFAULT becomes the column's default.
    func compileAssignments(_ assignments: [(String, Expr)], _ w: TableWriter, _ compiler: ExpressionCompiler) throws -> [(Int, Evaluator)] {
        try assignments.map { column, e -> (Int, Evaluator) in
            guard let i = w.schema.columnIndex(column) else {
                throw DatabaseError(.error, sqlState: SQLState.undefinedColumn, "column \"\(column)\" of relation \"\(w.schema.name)\" does not exist")
            }
            if w.schema.columns[i].generatedSQL != nil {
                // Computed again as the row is stored; only DEFAULT may be assigned.
                guard case .defaultValue = e else {
                    throw DatabaseError(.error, sqlState: SQLState.generatedAlways, "column \"\(column)\" can only be updated to DEFAULT")
                }
                return (i, { _ in .null })
            }
            if case .defaultValue = e {
                if w.schema.columns[i].identity && w.defaults[i] == nil {
                    // Kept in a prepared statement's plan cache: captures no transaction.
                    let sequence = try identitySequence(w, column: i)
                    return (i, { ctx in
                        let txn = w.schema.isTemporary ? ctx.temporaryTxn ?? ctx.txn : ctx.txn
                        guard let txn else { throw DatabaseError.internalError("DEFAULT of an identity column without a transaction") }
                        return .integer(try Self.nextIdentity(w, column: i, sequence: sequence, txn: txn, ctx: ctx))
                    })
                }
                let d = w.defaults[i]
                return (i, { ctx in try d?(ctx) ?? .null })
            }
            if w.schema.columns[i].generated == .always {
                throw DatabaseError(.error, sqlState: SQLState.generatedAlways, "column \"\(column)\" can only be updated to DEFAULT")
            }
            return (i, try compiler.compile(Self.assigned(e, to: w.schema.columns[i], compiler)))
        }
    }

    /// The next value of an identity column: its sequence's next value. A column without one
    /// (a temporary table's, or one created before sequences existed) takes one past the
    /// largest value it holds: the row-id column's is found in one descent, another's by a scan.
    func nextIdentity(_ w: TableWriter, column: Int, ctx: ExecutionContext) throws -> Int64 {
        try Self.nextIdentity(w, column: column, sequence: try identitySequence(w, column: column), txn: txn, ctx: ctx)
    }

    /// The sequence of an identity column (nil for one without).
    func identitySequence(_ w: TableWriter, column: Int) throws -> SequenceSchema? {
        guard let name = w.schema.columns[column].sequence else { return nil }
        guard let sequence = catalog.sequences[name] else {
            throw DatabaseError(.error, sqlState: SQLState.undefinedTable, "relation \"\(name)\" does not exist")
        }
        return sequence
    }

    static func nextIdentity(_ w: TableWriter, column: Int, sequence: SequenceSchema?, txn: StorageTransaction, ctx: ExecutionContext) throws -> Int64 {
        if let sequence { return try Sequences.next(sequence, ctx) }
        var best: Int64 = 0
        if w.schema.rowIDColumn == column {
            best = try w.tree.maxRowID(in: txn) ?? 0
        } else {
            var cursor = w.tree.tree.cursor(in: txn)
            var more = try cursor.first()
            while more {
                if case .integer(let v) = try RecordCodec.decode(try cursor.value())[column] { best = max(best, v) }
                more = try cursor.next()
            }
        }
        let (next, overflow) = best.addingReportingOverflow(1)
        if overflow { throw DatabaseError(.range, sqlState: SQLState.numericValueOutOfRange, "integer out of range") }
        return next
    }

    func matchingRows(_ plan: WritePlan, alias: String?, filter: Expr?, ctx: ExecutionContext) throws -> [(Int64, [Value])] {
        let w = plan.writer
        let test: Evaluator?, path: AccessPath
        if let cached = plan.match {
            (test, path) = cached
        } else {
            let label = alias ?? w.schema.name
            let (scope, compiler) = Self.rowCompiler(w.schema.columns, label: label, catalog: catalog, clause: "WHERE", parameterTypes: parameterTypes)
            test = try filter.map { try compiler.compile($0) }
            // The WHERE clause picks the access path (row-id or index lookups), as for SELECT.
            // No probe keys on a char(n) column: rows stored unpadded must be found too.
            let conjuncts = filter.map(Planner.conjuncts)?.filter { !Planner.containsSubquery($0) && !ExpressionCompiler.readsCharacterColumn($0, scope) } ?? []
            path = try AccessPath.choose(table: w.schema, indexes: catalog.indexes(on: w.schema.name), conjuncts: conjuncts,
                                         scope: scope, compiler: compiler)
            // Compiled once per write plan (its only caller is the statement's own UPDATE or
            // DELETE).
            plan.match = (test, path)
        }
        let next = try path.openKeyed(table: w.schema, ctx: ctx)
        var rows: [(Int64, [Value])] = []
        while let (rowID, row) = try next() {
            if try test.map({ t in try ctx.withFrame(row) { try t(ctx).truth() == true } }) ?? true {
                rows.append((rowID, row))
            }
        }
        return rows
    }

    /// For UPDATE … FROM and DELETE … USING: the FROM items, filtered by the WHERE clause with
    /// the target row as their outer row; `firstMatch(ctx, targetRow)` is the first joined row.
    func joinedSource(_ items: [FromItem], _ filter: Expr?, targetColumns: [ScopeColumn]) throws
        -> (columns: [ScopeColumn], firstMatch: (ExecutionContext, [Value]) throws -> [Value]?) {
        let source = try makePlanner().planSource(items, filter: filter, parent: Scope(columns: targetColumns, parent: nil))
        return (source.columns, { ctx, target in
            try ctx.withFrame(target) { try source.open(ctx)() }
        })
    }

    func update(_ name: String, _ alias: String?, _ assignments: [(String, Expr)], _ from: [FromItem], _ filter: Expr?, _ returning: [SelectItem]) throws -> QueryResult {
        let plan = try writePlan(for: name)
        let w = plan.writer
        let ctx = context()
        let label = alias ?? name
        func targetColumns() -> [ScopeColumn] { w.schema.columns.map { ScopeColumn(table: label, name: $0.name, type: $0.type) } }
        var join: (columns: [ScopeColumn], firstMatch: (ExecutionContext, [Value]) throws -> [Value]?)?
        if !from.isEmpty { join = try joinedSource(from, filter, targetColumns: targetColumns()) }
        let compiled: [(Int, Evaluator)]
        if join == nil, let cached = plan.assignments {
            compiled = cached
        } else {
            let scope = Scope(columns: targetColumns() + (join?.columns ?? []), parent: nil)
            let compiler = ExpressionCompiler(scope: scope, planner: Planner(catalog: catalog, parameterTypes: parameterTypes), aggregation: nil, clause: "UPDATE")
            compiled = try compileAssignments(assignments, w, compiler)
            if join == nil { plan.assignments = compiled }
        }
        let returningPlan = try returningPlan(returning, w.schema, alias: alias)
        var result = QueryResult(columns: returningPlan?.columns ?? [])
        // Every row's match is found before any row changes: the FROM items may read the
        // target table, and must see it as the statement found it.
        var targets: [(rowID: Int64, old: [Value], frame: [Value])] = []
        for (rowID, old) in try matchingRows(plan, alias: alias, filter: join == nil ? filter : nil, ctx: ctx) {
            var frame = old
            if let join {
                guard let match = try join.firstMatch(ctx, old) else { continue }
                frame += match
            }
            targets.append((rowID, old, frame))
        }
        for (rowID, old, frame) in targets {
            var row = old
            try ctx.withFrame(frame) {
                for (i, e) in compiled { row[i] = try e(ctx) }
            }
            _ = try store(&row, in: w, replacing: rowID, old: old, ctx: ctx)
            try parentChanged(w.schema, old: old, new: row, ctx: ctx, depth: 0, plans: plan.foreignKeys)
            result.changes += 1
            if let returningPlan { result.rows.append(try returningPlan.evaluate(ctx, row)) }
        }
        return result
    }
}
