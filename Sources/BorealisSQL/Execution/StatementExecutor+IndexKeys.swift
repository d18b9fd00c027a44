// Index keys from table rows: plain columns read, expressions evaluated with the row as their
// frame, and a partial index's predicate deciding which rows it holds.

import BorealisStorage

extension StatementExecutor {

    /// Computes an index's key values from a table row: plain columns are read, expressions
    /// evaluated (with the row as their frame).
    struct IndexKeyBuilder {
        let elements: [Evaluator]
        let index: IndexSchema
        /// For an index on plain columns: their positions in the row (read without evaluating).
        let positions: [Int]?
        /// A partial index's WHERE: which rows it holds.
        let predicate: Evaluator?

        init(_ index: IndexSchema, _ schema: TableSchema, _ catalog: Catalog) throws {
            self.index = index
            positions = index.expressions == nil ? index.columns.map { schema.columnIndex($0) ?? -1 } : nil
            let (_, compiler) = StatementExecutor.rowCompiler(schema.columns, label: schema.name, catalog: catalog, clause: "index expressions")
            elements = try (index.expressions ?? index.columns).map { sql in
                // A plain index's elements are column names, not SQL.
                let e = index.expressions == nil ? Expr.column(table: nil, name: sql) : try StatementExecutor.parseExpression(sql)
                if Planner.containsSubquery(e) || Planner.containsAggregate(e) || !ExpressionCompiler.isDeterministic(e) {
                    throw DatabaseError(.error, sqlState: SQLState.invalidObjectDefinition, "functions in index expression must be marked IMMUTABLE")
                }
                return try compiler.compile(e)
            }
            predicate = try index.predicate.map { sql in
                let e = try StatementExecutor.parseExpression(sql)
                if Planner.containsSubquery(e) || Planner.containsAggregate(e) || !ExpressionCompiler.isDeterministic(e) {
                    throw DatabaseError(.error, sqlState: SQLState.invalidObjectDefinition, "functions in index predicate must be marked IMMUTABLE")
                }
                return try compiler.compile(e)
            }
        }

        /// Whether the index holds `row` (always, unless it is partial).
        func includes(_ row: [Value], _ ctx: ExecutionContext) throws -> Bool {
            guard let predicate else { return true }
            return try ctx.withFrame(row) { try predicate(ctx) }.truth() == true
        }

        /// Which of the table's columns the key reads (the others need not be decoded).
        func columnsRead(_ schema: TableSchema) throws -> [Bool] {
            var read = [Bool](repeating: false, count: schema.columns.count)
            if index.expressions == nil {
                // Plain column names, not SQL (a quoted "Ä" is not folded).
                for name in index.columns { if let i = schema.columnIndex(name) { read[i] = true } }
            }
            for sql in (index.expressions ?? []) + (index.predicate.map { [$0] } ?? []) {
                for (_, name) in Planner.columnReferences(try StatementExecutor.parseExpression(sql)) {
                    if let i = schema.columnIndex(name) { read[i] = true }
                }
            }
            return read
        }

        func values(_ row: [Value], _ ctx: ExecutionContext) throws -> [Value] {
            if let positions, !positions.contains(where: { $0 < 0 || $0 >= row.count }) { return positions.map { row[$0] } }
            return try ctx.withFrame(row) { try elements.map { try $0(ctx) } }
        }
    }

    func delete(_ name: String, _ alias: String?, _ using: [FromItem], _ filter: Expr?, _ returning: [SelectItem]) throws -> QueryResult {
        let plan = try writePlan(for: name)
        let w = plan.writer
        let ctx = context()
        let returningPlan = try returningPlan(returning, w.schema, alias: alias)
        var result = QueryResult(columns: returningPlan?.columns ?? [])
        var join: (columns: [ScopeColumn], firstMatch: (ExecutionContext, [Value]) throws -> [Value]?)?
        if !using.isEmpty {
            join = try joinedSource(using, filter, targetColumns: w.schema.columns.map { ScopeColumn(table: alias ?? name, name: $0.name) })
        }
        var targets = try matchingRows(plan, alias: alias, filter: join == nil ? filter : nil, ctx: ctx)
        // Every row's match is found before any row is deleted: the USING items may read the
        // target table, and must see it as the statement found it.
        if let join { targets = try targets.filter { try join.firstMatch(ctx, $0.1) != nil } }
        for (rowID, row) in targets {
            try deleteRow(rowID, row, in: w, ctx: ctx, depth: 0, plans: plan.foreignKeys)
            result.changes += 1
            if let returningPlan { result.rows.append(try returningPlan.evaluate(ctx, row)) }
        }
        return result
    }
}
