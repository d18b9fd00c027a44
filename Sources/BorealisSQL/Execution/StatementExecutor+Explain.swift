// EXPLAIN and EXPLAIN ANALYZE of every kind of statement (docs/query-engine.md).

import BorealisStorage

extension StatementExecutor {
    func explain(_ statement: Statement) throws -> [String] {
        let planner = makePlanner()
        switch statement {
        case .select(let query):
            return try planner.plan(query, parent: nil).explainNode.lines()
        case .insert(let table, _, let source, _, _, _):
            var node = ExplainNode(label: "Insert on \(table)")
            if case .select(let query) = source { node.children = [try planner.plan(query, parent: nil).explainNode] }
            return node.lines()
        case .update(let table, let alias, _, let from, let filter, _):
            return ExplainNode(label: "Update on \(table)",
                               children: [try writeScan(table, alias, from.isEmpty ? filter : nil)] + (try referencingRows(of: table, deleting: false))).lines()
        case .delete(let table, let alias, let using, let filter, _):
            return ExplainNode(label: "Delete on \(table)",
                               children: [try writeScan(table, alias, using.isEmpty ? filter : nil)] + (try referencingRows(of: table, deleting: true))).lines()
        default:
            return ["Utility Statement"]
        }
    }

    /// EXPLAIN ANALYZE: runs the statement (a write changes the database, as in PostgreSQL) and
    /// shows the plan with what each operator did.
    func explainAnalyze(_ statement: Statement) throws -> [String] {
        let clock = ContinuousClock()
        let start = clock.now
        func milliseconds(_ d: Duration) -> String {
            cFormat("%.3f", Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15)
        }
        guard case .select(let query) = statement else {
            var lines = try explain(statement)
            let result = try execute(statement)
            if !lines.isEmpty, StatementExecutor.isWrite(statement) { lines[0] += " (actual rows=\(result.changes))" }
            return lines + ["Execution Time: \(milliseconds(clock.now - start)) ms"]
        }
        let plan = try makePlanner().plan(query, parent: nil)
        let planned = clock.now
        let ctx = context()
        let profile = OperatorProfile()
        ctx.profile = profile
        defer { ctx.profile = nil }
        let next = try plan.open(ctx)
        while try next() != nil {}
        return profile.annotate(plan.explainNode).lines()
            + ["Planning Time: \(milliseconds(planned - start)) ms", "Execution Time: \(milliseconds(clock.now - planned)) ms"]
    }

    /// How UPDATE or DELETE of `table`'s rows finds the rows that reference them, per foreign key.
    func referencingRows(of table: String, deleting: Bool) throws -> [ExplainNode] {
        try (own.referencing[table] ?? []).map { childName, fk in
            let child = try own.table(childName)
            let path = try referencingRowsPath(child, fk, catalog: own)
            let scan = ScanOperator(table: child, alias: child.name, columns: [], path: path, usage: nil,
                                    estimatedRows: JoinPlanner.estimate(makePlanner().statistics.rowCount(child), [.literal(.null)], table: nil, scope: Scope(columns: [], parent: nil)))
            let action = deleting ? fk.onDelete : fk.onUpdate
            return ExplainNode(label: "Foreign Key \(fk.name) (\(action.rawValue))", estimatedRows: nil, children: [scan.explainNode])
        }
    }

    /// How UPDATE or DELETE finds its rows.
    func writeScan(_ name: String, _ alias: String?, _ filter: Expr?) throws -> ExplainNode {
        let table = try catalog.table(name)
        let (scope, compiler) = Self.rowCompiler(table.columns, label: alias ?? name, catalog: catalog, clause: "WHERE")
        let conjuncts = filter.map(Planner.conjuncts)?.filter { !Planner.containsSubquery($0) && !ExpressionCompiler.readsCharacterColumn($0, scope) } ?? []
        let path = try AccessPath.choose(table: table, indexes: catalog.indexes(on: name), conjuncts: conjuncts, scope: scope, compiler: compiler)
        let scan = ScanOperator(table: table, alias: alias ?? name, columns: scope.columns, path: path, filterSQL: filter.map { [$0.sql] } ?? [],
                                usage: nil, estimatedRows: JoinPlanner.estimate(makePlanner().statistics.rowCount(table), conjuncts, table: table, scope: scope))
        return scan.explainNode
    }
}
