// Turns a SELECT into a `QueryPlan`: the FROM clause as a tree of operators (FromPlanner.swift,
// JoinPlanner.swift, Operators/), then grouping and aggregation, HAVING, projection, DISTINCT,
// ORDER BY, OFFSET/LIMIT; set operations, VALUES and CTEs. Expressions are compiled once here;
// `open` runs the plan. docs/query-engine.md describes the pipeline and its stages: everything
// above the FROM clause still runs in one closure per query (stage 2 makes it operators).

import BorealisStorage

package final class QueryPlan {
    package let columns: [String]
    /// Static types of the output columns where known (ExpressionTypes.swift).
    package var declaredTypes: [SQLType?]
    /// The types the statement's `$n` parameters took while it was planned (a cached plan
    /// describes its statement without planning again).
    package var parameterTypes: [Int: SQLType] = [:]
    /// Produces the rows one at a time.
    let open: (ExecutionContext) throws -> RowStream
    /// What EXPLAIN shows for the plan.
    var explainNode: ExplainNode
    var estimatedRows: Double { explainNode.estimatedRows ?? 1000 }

    init(columns: [String], declaredTypes: [SQLType?]? = nil, explain: ExplainNode,
         open: @escaping (ExecutionContext) throws -> RowStream) {
        self.columns = columns
        self.declaredTypes = declaredTypes ?? [SQLType?](repeating: nil, count: columns.count)
        self.explainNode = explain
        self.open = open
    }

    /// A plan whose rows are computed all at once.
    convenience init(columns: [String], declaredTypes: [SQLType?]? = nil, explain: ExplainNode,
                     run: @escaping (ExecutionContext) throws -> [[Value]]) {
        self.init(columns: columns, declaredTypes: declaredTypes, explain: explain) { ctx in Planner.stream(try run(ctx)) }
    }

    /// All the rows (charged to the statement's memory: a materialized CTE or subquery result
    /// stays in memory while the statement runs).
    func run(_ ctx: ExecutionContext) throws -> [[Value]] {
        try StackGuard.check()   // a chain of CTEs or views materializes one inside another
        return try ctx.memory.materialize(try open(ctx), for: self)
    }
}

package final class Planner {
    let catalog: Catalog
    /// Row counts of base tables for the estimates.
    let statistics: PlannerStatistics
    private var cteStack: [[String: (columns: [String], plan: QueryPlan)]] = []
    /// Subqueries in expressions, collected per query level for EXPLAIN.
    private var subplans: [[ExplainNode]] = []
    /// Whether the query reads a temporary table or view (a view over it is temporary).
    package var readsTemporary = false
    /// How many CTE plans each CTE's plan reads through, one inside another (c2 reads c1 reads
    /// c0: 3), and the deepest such chain the query being planned reads: a plan nests its
    /// operators as deep (running and releasing it recurse through them), so a chain deeper
    /// than Limits.maxNestingDepth is 54001 at planning time. Views nest through `plan`.
    private var cteDepths: [ObjectIdentifier: Int] = [:]
    private var cteDepthRead = 0
    var viewDepth = 0
    /// The types `$n` parameters take from where they appear (ExpressionTypes.swift).
    package let parameterTypes: ParameterTypes
    /// Constant expressions whose folding failed (`'abc'::int`) and that were left to fail
    /// when evaluated, so far: an operator folded for a NULL operand must not drop one
    /// (ExpressionCompiler.foldedByLiteralOperand).
    var constantsLeftFailing = 0

    package init(catalog: Catalog, statistics: PlannerStatistics = PlannerStatistics(), parameterTypes: ParameterTypes = ParameterTypes()) {
        self.catalog = catalog
        self.statistics = statistics
        self.parameterTypes = parameterTypes
    }

    /// The WITH query `name` visible here, innermost first.
    func cteBinding(_ name: String) -> (columns: [String], plan: QueryPlan)? {
        for frame in cteStack.reversed() {
            if let binding = frame[name] {
                cteDepthRead = max(cteDepthRead, cteDepths[ObjectIdentifier(binding.plan)] ?? 1)
                return binding
            }
        }
        return nil
    }

    /// Records a subquery of an expression of the query being planned (EXPLAIN shows it under
    /// that query).
    func noteSubplan(_ plan: QueryPlan) {
        guard !subplans.isEmpty else { return }
        subplans[subplans.count - 1].append(ExplainNode(label: "SubPlan", estimatedRows: nil, children: [plan.explainNode]))
    }

    // MARK: SELECT

    package func plan(_ statement: SelectStatement, parent: Scope?) throws -> QueryPlan {
        try StackGuard.check()
        var bindings: [String: (columns: [String], plan: QueryPlan)] = [:]
        cteStack.append(bindings)
        defer { cteStack.removeLast() }
        for cte in statement.with {
            let plan = try planCTE(cte, recursive: statement.recursive, parent: parent)
            bindings[cte.name] = (plan.columns, plan)
            cteStack[cteStack.count - 1] = bindings
        }
        if case .core(let core) = statement.body {
            return try planCore(core, orderBy: statement.orderBy, limit: statement.limit, offset: statement.offset,
                                withTies: statement.withTies, parent: parent)
        }
        let body = try planBody(statement.body, parent: parent)
        return try finish(body, orderBy: statement.orderBy, limit: statement.limit, offset: statement.offset,
                          withTies: statement.withTies, parent: parent)
    }

    private func planCTE(_ cte: CommonTableExpression, recursive: Bool, parent: Scope?) throws -> QueryPlan {
        // The statement ran a top-level one before planning (StatementExecutor+DataModifyingCTE).
        if cte.modifying != nil {
            throw DatabaseError(.error, sqlState: SQLState.featureNotSupported,
                                "WITH clause containing a data-modifying statement must be at the top level")
        }
        let box = SubqueryBox()
        func rename(_ columns: [String]) throws -> [String] {
            guard !cte.columns.isEmpty else { return columns }
            guard cte.columns.count == columns.count else {
                throw DatabaseError(.error, sqlState: SQLState.invalidColumnReference, "WITH query \"\(cte.name)\" has \(columns.count) columns available but \(cte.columns.count) columns specified")
            }
            return cte.columns
        }
        if recursive, case .setOperation(.union, let all, let anchorBody, let recursiveBody) = cte.query.body, references(recursiveBody, cte.name) {
            let anchor = try planBody(anchorBody, parent: parent)
            let columns = try rename(anchor.columns)
            // The recursive term reads the working table through this binding.
            let working = WorkingTable()
            let workingPlan = QueryPlan(columns: columns, declaredTypes: anchor.declaredTypes,
                                        explain: ExplainNode(label: "WorkTable Scan on \(cte.name)", estimatedRows: 100)) { _ in working.rows }
            cteStack[cteStack.count - 1][cte.name] = (columns, workingPlan)
            let step = try planBody(recursiveBody, parent: parent)
            guard step.columns.count == columns.count else {
                throw DatabaseError(.error, sqlState: SQLState.syntaxError, "each UNION query must have the same number of columns")
            }
            let explain = ExplainNode(label: "Recursive Union", estimatedRows: anchor.estimatedRows * 10,
                                      children: [anchor.explainNode, step.explainNode])
            return QueryPlan(columns: columns, declaredTypes: anchor.declaredTypes, explain: explain) { ctx in
                if let cached = ctx.subqueryCache[ObjectIdentifier(box)] as? [[Value]] { return cached }
                var result = try anchor.run(ctx)
                var seen = Set<[Value]>()
                if !all { result = result.filter { seen.insert($0.map(\.groupKey)).inserted } }
                working.rows = result
                var iterations = 0
                while !working.rows.isEmpty {
                    iterations += 1
                    try ctx.txn?.watch?.check() // an interrupt reaches a CTE that reads no page
                    if iterations > 1_000_000 { throw DatabaseError(.error, sqlState: SQLState.statementTooComplex, "recursive query did not terminate") }
                    var next = try step.run(ctx)
                    if !all { next = next.filter { seen.insert($0.map(\.groupKey)).inserted } }
                    // The result keeps every step's rows (and UNION's set a copy of each): charged
                    // apart from the step's own run, which the next step's replaces.
                    for row in next { try ctx.memory.charge((all ? 1 : 2) * Value.memoryFootprint(of: row)) }
                    result.append(contentsOf: next)
                    working.rows = next
                }
                ctx.subqueryCache[ObjectIdentifier(box)] = result
                return result
            }
        }
        let outerDepth = cteDepthRead
        cteDepthRead = 0
        let inner = try plan(cte.query, parent: parent)
        let depth = cteDepthRead + 1
        cteDepthRead = outerDepth
        if depth > Limits.maxNestingDepth { throw Limits.tooComplex() }
        // Running and releasing the plan recurse through the chain on this thread.
        try StackGuard.check(reserving: depth * StackGuard.bytesPerLevel)
        let columns = try rename(inner.columns)
        let result = QueryPlan(columns: columns, declaredTypes: inner.declaredTypes, explain: inner.explainNode) { ctx in
            if let cached = ctx.subqueryCache[ObjectIdentifier(box)] as? [[Value]] { return cached }
            let rows = try inner.run(ctx)
            ctx.subqueryCache[ObjectIdentifier(box)] = rows
            return rows
        }
        cteDepths[ObjectIdentifier(result)] = depth
        return result
    }

    private func references(_ body: SelectBody, _ name: String) -> Bool {
        func inFrom(_ item: FromItem) -> Bool {
            switch item {
            case .table(let n, _): return n == name
            case .subquery(let q, _, _): return references(q.body, name)
            case .join(let l, let r, _, _, _, _): return inFrom(l) || inFrom(r)
            case .function: return false
            }
        }
        switch body {
        case .core(let core): return core.from.contains(where: inFrom)
        case .values: return false
        case .setOperation(_, _, let l, let r): return references(l, name) || references(r, name)
        case .nested(let s): return references(s.body, name)
        }
    }

    private func planBody(_ body: SelectBody, parent: Scope?) throws -> QueryPlan {
        switch body {
        case .core(let core):
            return try planCore(core, orderBy: [], limit: nil, offset: nil, parent: parent)
        case .nested(let statement):
            return try plan(statement, parent: parent)
        case .values(let rows):
            let scope = Scope(columns: [], parent: parent)
            let compiler = ExpressionCompiler(scope: scope, planner: self, aggregation: nil, clause: "VALUES")
            let width = rows.first?.count ?? 0
            guard rows.allSatisfy({ $0.count == width }) else {
                throw DatabaseError(.error, sqlState: SQLState.syntaxError, "VALUES lists must all be the same length")
            }
            let compiled = try rows.map { try $0.map { try compiler.compile($0) } }
            let types = (0..<width).map { i in SQLType.common(rows.map { compiler.staticType($0[i]) }) }
            let op = ValuesOperator(rows: compiled, names: (1...max(1, width)).map { "column\($0)" })
            return QueryPlan(columns: op.columns.map(\.name), declaredTypes: width == 0 ? nil : types, explain: op.explainNode) { ctx in try op.stream(ctx) }
        case .setOperation(let operation, let all, let left, let right):
            let l = try planBody(left, parent: parent)
            let r = try planBody(right, parent: parent)
            guard l.columns.count == r.columns.count else {
                let word = operation == .union ? "UNION" : (operation == .intersect ? "INTERSECT" : "EXCEPT")
                throw DatabaseError(.error, sqlState: SQLState.syntaxError, "each \(word) query must have the same number of columns")
            }
            // A string literal column takes the other side's type, as PostgreSQL's unknown
            // literals do (`SELECT 1 UNION SELECT '2'` is integer; `… SELECT 'x'` is 22P02).
            let leftUnknown = Self.stringLiteralColumns(left), rightUnknown = Self.stringLiteralColumns(right)
            let types = l.declaredTypes.indices.map { i -> SQLType? in
                let known = [leftUnknown.contains(i) ? nil : l.declaredTypes[i], rightUnknown.contains(i) ? nil : r.declaredTypes[i]]
                return known.contains { $0 != nil } ? SQLType.common(known) : SQLType.common([l.declaredTypes[i], r.declaredTypes[i]])
            }
            let leftPlan = Self.casting(l, columns: leftUnknown, to: types), rightPlan = Self.casting(r, columns: rightUnknown, to: types)
            let op = SetOperationOperator(left: QueryPlanOperator(plan: leftPlan), right: QueryPlanOperator(plan: rightPlan), operation: operation, all: all)
            return QueryPlan(columns: l.columns, declaredTypes: types, explain: op.explainNode) { ctx in try op.stream(ctx) }
        }
    }

    /// The positions of a set operation branch's select list that are bare string literals.
    private static func stringLiteralColumns(_ body: SelectBody) -> Set<Int> {
        guard case .core(let core) = body else { return [] }
        var positions = Set<Int>()
        for (i, item) in core.items.enumerated() {
            if case .expression(.literal(.text), _) = item { positions.insert(i) }
        }
        return positions
    }

    /// `plan` with its `columns` cast to `types` where those are not text (a branch's string
    /// literals in a set operation whose other branch gives the column its type).
    private static func casting(_ plan: QueryPlan, columns: Set<Int>, to types: [SQLType?]) -> QueryPlan {
        let targets = columns.compactMap { i -> (Int, SQLType)? in
            guard i < types.count, let type = types[i], !type.isText, type.isStorable else { return nil }
            return (i, type)
        }
        guard !targets.isEmpty else { return plan }
        let inner = plan.open
        let cast = QueryPlan(columns: plan.columns, declaredTypes: plan.declaredTypes, explain: plan.explainNode) { ctx in
            let rows = try inner(ctx)
            return {
                guard var row = try rows() else { return nil }
                for (i, type) in targets where i < row.count { row[i] = try row[i].cast(to: type) }
                return row
            }
        }
        cast.parameterTypes = plan.parameterTypes
        return cast
    }

    /// ORDER BY, OFFSET and LIMIT over a plan's output columns (set operations, VALUES).
    private func finish(_ plan: QueryPlan, orderBy: [OrderItem], limit: Expr?, offset: Expr?, withTies: Bool = false,
                        parent: Scope?) throws -> QueryPlan {
        if orderBy.isEmpty && limit == nil && offset == nil { return plan }
        let width = plan.columns.count
        let scope = Scope(columns: plan.columns.map { ScopeColumn(table: nil, name: $0) }, parent: parent)
        let compiler = ExpressionCompiler(scope: scope, planner: self, aggregation: nil, clause: "ORDER BY")
        var keys: [ProjectOperator.SortKey] = []
        for item in orderBy {
            if case .literal(.integer(let n)) = item.expr {
                guard n >= 1 && Int(n) <= width else {
                    throw DatabaseError(.error, sqlState: SQLState.invalidColumnReference, "ORDER BY position \(n) is not in select list")
                }
                keys.append(.output(Int(n) - 1))
            } else {
                keys.append(.hidden(try compiler.compile(item.expr)))
            }
        }
        let limitBounds = try compileLimitBounds(limit: limit, offset: offset, parent: parent)
        let columns: [Evaluator] = (0..<width).map { i in { ctx in ctx.frames[ctx.frames.count - 1][i] } }
        var op: PhysicalOperator = ProjectOperator(input: QueryPlanOperator(plan: plan), items: columns, names: plan.columns,
                                                   sortKeys: keys, distinctOn: [])
        if !keys.isEmpty {
            let wanted: ((ExecutionContext) throws -> Int?)? = limit == nil || withTies ? nil : { ctx in
                let (skip, keep) = try limitBounds(ctx)
                return keep.map { skip + $0 }
            }
            op = SortOperator(input: op, order: RowOrder(items: orderBy, keyStart: width), keySQL: orderBy.map(\.expr.sql), wanted: wanted)
        }
        if limit != nil || offset != nil {
            op = LimitOperator(input: op, bounds: limitBounds, estimatedRows: op.estimatedRows,
                               ties: withTies ? width..<(width + keys.count) : nil)
        }
        if op.columns.count != width { op = ColumnOrderOperator(input: op, order: Array(0..<width)) }
        let root = op
        return QueryPlan(columns: plan.columns, declaredTypes: plan.declaredTypes, explain: op.explainNode) { ctx in try root.stream(ctx) }
    }

    /// OFFSET and LIMIT as (rows to skip, rows to keep or nil for all), evaluated per run.
    private func compileLimitBounds(limit: Expr?, offset: Expr?, parent: Scope?) throws -> (ExecutionContext) throws -> (Int, Int?) {
        let compiler = ExpressionCompiler(scope: Scope(columns: [], parent: parent), planner: self, aggregation: nil, clause: "LIMIT")
        for case .parameter(let n)? in [limit, offset] { parameterTypes.note(n, .bigint) }
        let limitEval = try limit.map { try compiler.compile($0) }
        let offsetEval = try offset.map { try compiler.compile($0) }
        return { ctx in
            var start = 0
            var count: Int?
            if let offsetEval, case .integer(let n) = try ctx.withFrame([], { try offsetEval(ctx) }).cast(to: .bigint) {
                if n < 0 { throw DatabaseError(.error, sqlState: SQLState.invalidRowCountInResultOffsetClause, "OFFSET must not be negative") }
                start = Int(min(n, Int64(Int32.max)))
            }
            if let limitEval, case .integer(let n) = try ctx.withFrame([], { try limitEval(ctx) }).cast(to: .bigint) {
                if n < 0 { throw DatabaseError(.error, sqlState: SQLState.invalidRowCountInLimitClause, "LIMIT must not be negative") }
                count = Int(min(n, Int64(Int32.max)))
            }
            return (start, count)
        }
    }



    // MARK: One SELECT core

    private func planCore(_ core: SelectCore, orderBy: [OrderItem], limit: Expr?, offset: Expr?, withTies: Bool = false,
                          parent: Scope?) throws -> QueryPlan {
        let core = try TableFunctions.movingSetReturningCalls(core)
        subplans.append([])
        let conjuncts = core.filter.map(Planner.conjuncts) ?? []
        // A parameter that is a whole condition is a boolean (`WHERE flag AND $1`).
        for case .parameter(let n) in conjuncts + (core.having.map(Planner.conjuncts) ?? []) { parameterTypes.note(n, .boolean) }
        let source = try planFrom(core.from, conjuncts: conjuncts, parent: parent)
        let scope = Scope(columns: source.columns, parent: parent)

        let aggregated = !core.groupBy.isEmpty || core.having != nil
            || core.items.contains { if case .expression(let e, _) = $0 { return Planner.containsAggregate(e) } else { return false } }
            || orderBy.contains { Planner.containsAggregate($0.expr) }

        // Output names and the select list, with * expanded.
        var outputExprs: [Expr] = []
        var names: [String] = []
        for item in core.items {
            switch item {
            case .star(let table):
                // `*` skips the duplicates a USING join hides; `t.*` is all of t's columns.
                let visible = source.columns.enumerated().filter { table == nil ? !$0.element.hidden : $0.element.table == table }
                if let table, !source.columns.contains(where: { $0.table == table }) {
                    throw DatabaseError(.error, sqlState: SQLState.undefinedTable, "missing FROM-clause entry for table \"\(table)\"")
                }
                if table == nil && core.from.isEmpty {
                    throw DatabaseError(.error, sqlState: SQLState.syntaxError, "SELECT * with no tables specified is not valid")
                }
                for (_, column) in visible {
                    outputExprs.append(.column(table: column.table, name: column.name))
                    names.append(column.name)
                }
            case .expression(let e, let alias):
                outputExprs.append(e)
                names.append(alias ?? Planner.outputName(e))
            }
        }
        if outputExprs.count > Limits.maxSelectListEntries {
            throw DatabaseError(.error, sqlState: SQLState.tooManyColumns, "target lists can have at most \(Limits.maxSelectListEntries) entries")
        }

        var compiler = ExpressionCompiler(scope: scope, planner: self, aggregation: nil, clause: "WHERE")
        var groupEvaluators: [Evaluator] = []
        var groupColumns: [Int?] = []
        var collector: AggregateCollector?
        if aggregated {
            // GROUP BY may name output columns by position or alias.
            var groupExprs: [Expr] = []
            for e in core.groupBy {
                if case .literal(.integer(let n)) = e {
                    guard n >= 1 && Int(n) <= outputExprs.count else {
                        throw DatabaseError(.error, sqlState: SQLState.invalidColumnReference, "GROUP BY position \(n) is not in select list")
                    }
                    groupExprs.append(outputExprs[Int(n) - 1])
                } else if case .column(nil, let name) = e, (try? scope.resolve(table: nil, name: name)).flatMap({ $0 }).map({ $0.depth > 0 }) ?? true,
                          let i = names.firstIndex(of: name) {
                    groupExprs.append(outputExprs[i])
                } else {
                    groupExprs.append(e)
                }
            }
            groupExprs += functionallyDependentColumns(groupExprs, core.from, scope)
            var groupCompiler = compiler
            groupCompiler.clause = "GROUP BY"
            groupEvaluators = try groupExprs.map { try groupCompiler.compile($0) }
            groupColumns = groupExprs.map { e -> Int? in
                guard case .column(let t, let n) = e, let (depth, index) = try? scope.resolve(table: t, name: n, markingRead: false),
                      depth == 0, index < source.columns.count, scope.columns[index].padding == nil else { return nil }
                return index
            }
            // Group keys are matched by their SQL text, with columns qualified on both sides.
            let keys = try groupExprs.map { try Planner.qualify($0, scope: scope, columns: source.columns).sql }
            collector = AggregateCollector(groupKeys: keys, groupTypes: groupExprs.map(compiler.staticType), inputScope: scope)
            let postScope = Scope(columns: [], parent: parent)
            compiler = ExpressionCompiler(scope: postScope, planner: self, aggregation: collector, clause: "select list")
        }
        func normalized(_ e: Expr) throws -> Expr {
            // Qualify bare columns so that they match the qualified group keys.
            guard collector != nil else { return e }
            return try Planner.qualify(e, scope: scope, columns: source.columns)
        }
        let hasWindows = outputExprs.contains(where: Planner.containsWindow) || orderBy.contains { Planner.containsWindow($0.expr) }
        let windows = hasWindows ? WindowCollector() : nil
        var itemCompiler = compiler
        itemCompiler.windows = windows
        itemCompiler.clause = "select list"
        let items = try outputExprs.map { try itemCompiler.compile(try normalized($0)) }
        // Items that are columns of the input row (no aggregation or windows between them).
        func inputColumn(_ e: Expr) -> Int? {
            guard collector == nil, windows == nil, case .column(let t, let n) = e,
                  let (depth, index) = try? scope.resolve(table: t, name: n, markingRead: false), depth == 0,
                  index < source.columns.count, scope.columns[index].padding == nil else { return nil }   // char(n) reads padded
            return index
        }
        var havingCompiler = compiler
        havingCompiler.clause = "HAVING"
        let having = try core.having.map { try havingCompiler.compile(try normalized($0)) }

        // ORDER BY: an output position or name, else an expression over the input.
        var sortKeys: [ProjectOperator.SortKey] = []
        for item in orderBy {
            if case .literal(.integer(let n)) = item.expr {
                guard n >= 1 && Int(n) <= items.count else {
                    throw DatabaseError(.error, sqlState: SQLState.invalidColumnReference, "ORDER BY position \(n) is not in select list")
                }
                sortKeys.append(.output(Int(n) - 1))
            } else if case .column(nil, let name) = item.expr, names.filter({ $0 == name }).count == 1,
                      core.items.contains(where: { if case .expression(_, let alias) = $0 { return alias == name } else { return false } })
                        || (try? scope.resolve(table: nil, name: name)) == nil {
                sortKeys.append(.output(names.firstIndex(of: name)!))
            } else if !Planner.containsSubquery(item.expr), let i = outputExprs.firstIndex(where: { $0.sql == item.expr.sql }) {
                sortKeys.append(.output(i))
            } else {
                if core.distinct {
                    throw DatabaseError(.error, sqlState: SQLState.invalidColumnReference, "for SELECT DISTINCT, ORDER BY expressions must appear in select list")
                }
                var orderCompiler = compiler
                orderCompiler.windows = windows
                orderCompiler.clause = "ORDER BY"
                let key = try orderCompiler.compile(try normalized(item.expr))
                sortKeys.append(inputColumn(item.expr).map { .hiddenColumn($0) } ?? .hidden(key))
            }
        }
        var distinctOnCompiler = compiler
        distinctOnCompiler.clause = "DISTINCT ON"
        // Evaluated on the input row, like ORDER BY; a position names a select-list expression.
        let distinctOn = try core.distinctOn.map { e -> Evaluator in
            if case .literal(.integer(let n)) = e, n >= 1, Int(n) <= outputExprs.count {
                return try distinctOnCompiler.compile(try normalized(outputExprs[Int(n) - 1]))
            }
            return try distinctOnCompiler.compile(try normalized(e))
        }
        if !core.distinctOn.isEmpty && !orderBy.isEmpty {
            // PostgreSQL's rule: the leftmost ORDER BY expressions are the DISTINCT ON ones.
            func meaning(_ e: Expr) throws -> String {
                var e = e
                if case .literal(.integer(let n)) = e, n >= 1, Int(n) <= outputExprs.count { e = outputExprs[Int(n) - 1] }
                if case .column(nil, let name) = e, (try? scope.resolve(table: nil, name: name, markingRead: false)) == nil,
                   let i = names.firstIndex(of: name) { e = outputExprs[i] }
                return try Planner.qualify(e, scope: scope, columns: source.columns).sql
            }
            let keys = Set(try core.distinctOn.map(meaning))
            for item in orderBy.prefix(core.distinctOn.count) where !keys.contains(try meaning(item.expr)) {
                throw DatabaseError(.error, sqlState: SQLState.invalidColumnReference,
                                    "SELECT DISTINCT ON expressions must match initial ORDER BY expressions")
            }
        }
        let limitBounds = try compileLimitBounds(limit: limit, offset: offset, parent: parent)
        let distinct = core.distinct
        let calls = collector?.calls ?? []
        let hasGroupBy = !core.groupBy.isEmpty

        let declaredTypes = try outputExprs.map { itemCompiler.staticType(try normalized($0)) }
        // The operators above the FROM clause, innermost first.
        var op = source.op
        if aggregated {
            op = HashAggregateOperator(input: op, groups: groupEvaluators, groupColumns: groupColumns, groupSQL: core.groupBy.map(\.sql), calls: calls,
                                       estimatedRows: hasGroupBy ? max(1, op.estimatedRows * 0.1) : 1)
            if let having, let sql = core.having?.sql {
                op = FilterOperator(input: op, conditions: [having], conditionSQL: [sql], estimatedRows: max(1, op.estimatedRows * 0.5))
            }
        }
        if let windows { op = WindowOperator(input: op, windows: windows) }
        let width = items.count
        // ORDER BY … LIMIT over the input rows themselves: the best rows are picked before the
        // projection, which then runs on those alone (TopNOperator.swift).
        let sortKeyExprs = zip(orderBy, sortKeys).map { item, key in
            if case .output(let i) = key { return outputExprs[i] } else { return item.expr }
        }
        let topNKeys: [TopNOperator.Key]? = {
            guard limit != nil, !withTies, !sortKeys.isEmpty, !aggregated, windows == nil, !distinct, distinctOn.isEmpty,
                  sortKeyExprs.allSatisfy(ExpressionCompiler.isDeterministic) else { return nil }
            return sortKeys.map { key in
                switch key {
                case .output(let i): return inputColumn(outputExprs[i]).map { .column($0) } ?? .expression(items[i])
                case .hidden(let e): return .expression(e)
                case .hiddenColumn(let i): return .column(i)
                }
            }
        }()
        if let topNKeys {
            op = TopNOperator(input: op, keys: topNKeys, orderBy: orderBy, keySQL: orderBy.map(\.expr.sql)) { ctx in
                let (skip, keep) = try limitBounds(ctx)
                return keep.map { skip + $0 }
            }
            sortKeys = []
        }
        op = ProjectOperator(input: op, items: items, itemColumns: outputExprs.map(inputColumn), names: names,
                             sortKeys: sortKeys, distinctOn: distinctOn)
        if distinct { op = DistinctOperator(input: op, width: width) }
        if !sortKeys.isEmpty {
            // ORDER BY … LIMIT k keeps the best k in a heap (top-N), never the whole input.
            let wanted: ((ExecutionContext) throws -> Int?)? = limit == nil || withTies || !distinctOn.isEmpty ? nil : { ctx in
                let (skip, keep) = try limitBounds(ctx)
                return keep.map { skip + $0 }
            }
            op = SortOperator(input: op, order: RowOrder(items: orderBy, keyStart: width), keySQL: orderBy.map(\.expr.sql), wanted: wanted)
        }
        if !distinctOn.isEmpty { op = DistinctOnOperator(input: op, keyStart: width + sortKeys.count, keyCount: distinctOn.count) }
        if limit != nil || offset != nil {
            var rows = op.estimatedRows
            if case .literal(.integer(let n))? = limit { rows = min(rows, Double(max(1, n))) }
            op = LimitOperator(input: op, bounds: limitBounds, estimatedRows: rows,
                               ties: withTies ? width..<(width + sortKeys.count) : nil)
        }
        if op.columns.count != width { op = ColumnOrderOperator(input: op, order: Array(0..<width)) }
        var explain = op.explainNode
        explain.children += subplans.popLast() ?? []
        let root = op
        return QueryPlan(columns: names, declaredTypes: declaredTypes, explain: explain) { ctx in try root.stream(ctx) }
    }
}

final class WorkingTable {
    var rows: [[Value]] = []
}
