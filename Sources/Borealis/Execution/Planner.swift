// Turns a SELECT into a `QueryPlan`: the FROM clause as a tree of operators (FromPlanner.swift,
// JoinPlanner.swift, Operators/), then grouping and aggregation, HAVING, projection, DISTINCT,
// ORDER BY, OFFSET/LIMIT; set operations, VALUES and CTEs. Expressions are compiled once here;
// `open` runs the plan. docs/query-engine.md describes the pipeline and its stages: everything
// above the FROM clause still runs in one closure per query (stage 2 makes it operators).

final class QueryPlan {
    let columns: [String]
    /// Declared types of the output columns where known (table columns and casts).
    var declaredTypes: [String?]
    /// Produces the rows one at a time.
    let open: (ExecutionContext) throws -> RowStream
    /// What EXPLAIN shows for the plan.
    var explainNode: ExplainNode
    var estimatedRows: Double { explainNode.estimatedRows ?? 1000 }

    init(columns: [String], declaredTypes: [String?]? = nil, explain: ExplainNode,
         open: @escaping (ExecutionContext) throws -> RowStream) {
        self.columns = columns
        self.declaredTypes = declaredTypes ?? [String?](repeating: nil, count: columns.count)
        self.explainNode = explain
        self.open = open
    }

    /// A plan whose rows are computed all at once.
    convenience init(columns: [String], declaredTypes: [String?]? = nil, explain: ExplainNode,
                     run: @escaping (ExecutionContext) throws -> [[Value]]) {
        self.init(columns: columns, declaredTypes: declaredTypes, explain: explain) { ctx in Planner.stream(try run(ctx)) }
    }

    /// All the rows.
    func run(_ ctx: ExecutionContext) throws -> [[Value]] {
        let next = try open(ctx)
        var rows: [[Value]] = []
        while let row = try next() { rows.append(row) }
        return rows
    }
}

final class Planner {
    let catalog: Catalog
    /// Row counts of base tables for the estimates.
    let statistics: PlannerStatistics
    private var cteStack: [[String: (columns: [String], plan: QueryPlan)]] = []
    /// Subqueries in expressions, collected per query level for EXPLAIN.
    private var subplans: [[ExplainNode]] = []
    /// Whether the query reads a temporary table or view (a view over it is temporary).
    var readsTemporary = false

    init(catalog: Catalog, statistics: PlannerStatistics = PlannerStatistics()) {
        self.catalog = catalog
        self.statistics = statistics
    }

    /// The WITH query `name` visible here, innermost first.
    func cteBinding(_ name: String) -> (columns: [String], plan: QueryPlan)? {
        for frame in cteStack.reversed() {
            if let binding = frame[name] { return binding }
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

    func plan(_ statement: SelectStatement, parent: Scope?) throws -> QueryPlan {
        var bindings: [String: (columns: [String], plan: QueryPlan)] = [:]
        cteStack.append(bindings)
        defer { cteStack.removeLast() }
        for cte in statement.with {
            let plan = try planCTE(cte, recursive: statement.recursive, parent: parent)
            bindings[cte.name] = (plan.columns, plan)
            cteStack[cteStack.count - 1] = bindings
        }
        if case .core(let core) = statement.body {
            return try planCore(core, orderBy: statement.orderBy, limit: statement.limit, offset: statement.offset, parent: parent)
        }
        let body = try planBody(statement.body, parent: parent)
        return try finish(body, orderBy: statement.orderBy, limit: statement.limit, offset: statement.offset, parent: parent)
    }

    private func planCTE(_ cte: CommonTableExpression, recursive: Bool, parent: Scope?) throws -> QueryPlan {
        let box = SubqueryBox()
        func rename(_ columns: [String]) throws -> [String] {
            guard !cte.columns.isEmpty else { return columns }
            guard cte.columns.count == columns.count else {
                throw DatabaseError(.error, sqlState: "42P10", "WITH query \"\(cte.name)\" has \(columns.count) columns available but \(cte.columns.count) columns specified")
            }
            return cte.columns
        }
        if recursive, case .setOperation(.union, let all, let anchorBody, let recursiveBody) = cte.query.body, references(recursiveBody, cte.name) {
            let anchor = try planBody(anchorBody, parent: parent)
            let columns = try rename(anchor.columns)
            // The recursive term reads the working table through this binding.
            let working = WorkingTable()
            let workingPlan = QueryPlan(columns: columns, explain: ExplainNode(label: "WorkTable Scan on \(cte.name)", estimatedRows: 100)) { _ in working.rows }
            cteStack[cteStack.count - 1][cte.name] = (columns, workingPlan)
            let step = try planBody(recursiveBody, parent: parent)
            guard step.columns.count == columns.count else {
                throw DatabaseError(.error, sqlState: "42601", "each UNION query must have the same number of columns")
            }
            let explain = ExplainNode(label: "Recursive Union", estimatedRows: anchor.estimatedRows * 10,
                                      children: [anchor.explainNode, step.explainNode])
            return QueryPlan(columns: columns, explain: explain) { ctx in
                if let cached = ctx.subqueryCache[ObjectIdentifier(box)] as? [[Value]] { return cached }
                var result = try anchor.run(ctx)
                var seen = Set<[Value]>()
                if !all { result = result.filter { seen.insert($0.map(\.groupKey)).inserted } }
                working.rows = result
                var iterations = 0
                while !working.rows.isEmpty {
                    iterations += 1
                    try ctx.txn?.watch?.check() // an interrupt reaches a CTE that reads no page
                    if iterations > 1_000_000 { throw DatabaseError(.error, sqlState: "54001", "recursive query did not terminate") }
                    var next = try step.run(ctx)
                    if !all { next = next.filter { seen.insert($0.map(\.groupKey)).inserted } }
                    result.append(contentsOf: next)
                    working.rows = next
                }
                ctx.subqueryCache[ObjectIdentifier(box)] = result
                return result
            }
        }
        let inner = try plan(cte.query, parent: parent)
        let columns = try rename(inner.columns)
        return QueryPlan(columns: columns, explain: inner.explainNode) { ctx in
            if let cached = ctx.subqueryCache[ObjectIdentifier(box)] as? [[Value]] { return cached }
            let rows = try inner.run(ctx)
            ctx.subqueryCache[ObjectIdentifier(box)] = rows
            return rows
        }
    }

    private func references(_ body: SelectBody, _ name: String) -> Bool {
        func inFrom(_ item: FromItem) -> Bool {
            switch item {
            case .table(let n, _): return n == name
            case .subquery(let q, _, _): return references(q.body, name)
            case .join(let l, let r, _, _, _, _): return inFrom(l) || inFrom(r)
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
                throw DatabaseError(.error, sqlState: "42601", "VALUES lists must all be the same length")
            }
            let compiled = try rows.map { try $0.map { try compiler.compile($0) } }
            let explain = ExplainNode(label: "Values Scan", estimatedRows: Double(rows.count))
            return QueryPlan(columns: (1...max(1, width)).map { "column\($0)" }, explain: explain) { ctx in
                try ctx.withFrame([]) { try compiled.map { try $0.map { try $0(ctx) } } }
            }
        case .setOperation(let op, let all, let left, let right):
            let l = try planBody(left, parent: parent)
            let r = try planBody(right, parent: parent)
            guard l.columns.count == r.columns.count else {
                let word = op == .union ? "UNION" : (op == .intersect ? "INTERSECT" : "EXCEPT")
                throw DatabaseError(.error, sqlState: "42601", "each \(word) query must have the same number of columns")
            }
            let word = op == .union ? "Union" : (op == .intersect ? "Intersect" : "Except")
            let explain = ExplainNode(label: word + (all ? " All" : ""), estimatedRows: l.estimatedRows + r.estimatedRows,
                                      children: [l.explainNode, r.explainNode])
            return QueryPlan(columns: l.columns, explain: explain) { ctx in
                let a = try l.run(ctx), b = try r.run(ctx)
                switch (op, all) {
                case (.union, true): return a + b
                case (.union, false):
                    var seen = Set<[Value]>()
                    return (a + b).filter { seen.insert($0.map(\.groupKey)).inserted }
                case (.intersect, _), (.except, _):
                    var counts: [[Value]: Int] = [:]
                    for row in b { counts[row.map(\.groupKey), default: 0] += 1 }
                    var emitted = Set<[Value]>()
                    var result: [[Value]] = []
                    for row in a {
                        let key = row.map(\.groupKey)
                        let inRight = (counts[key] ?? 0) > 0
                        if op == .intersect ? inRight : !inRight {
                            if all {
                                if op == .intersect { counts[key]! -= 1 }
                                result.append(row)
                            } else if emitted.insert(key).inserted {
                                result.append(row)
                            }
                        } else if all && op == .except {
                            counts[key]! -= 1
                        }
                    }
                    return result
                }
            }
        }
    }

    /// ORDER BY, OFFSET and LIMIT over a plan's output columns (set operations, VALUES).
    private func finish(_ plan: QueryPlan, orderBy: [OrderItem], limit: Expr?, offset: Expr?, parent: Scope?) throws -> QueryPlan {
        if orderBy.isEmpty && limit == nil && offset == nil { return plan }
        let scope = Scope(columns: plan.columns.map { ScopeColumn(table: nil, name: $0) }, parent: parent)
        let compiler = ExpressionCompiler(scope: scope, planner: self, aggregation: nil, clause: "ORDER BY")
        var keys: [(Evaluator, OrderItem)] = []
        for item in orderBy {
            if case .literal(.integer(let n)) = item.expr {
                guard n >= 1 && Int(n) <= plan.columns.count else {
                    throw DatabaseError(.error, sqlState: "42P10", "ORDER BY position \(n) is not in select list")
                }
                let i = Int(n) - 1
                keys.append(({ ctx in ctx.frames[ctx.frames.count - 1][i] }, item))
            } else {
                keys.append((try compiler.compile(item.expr), item))
            }
        }
        let limits = try compileLimits(limit: limit, offset: offset, parent: parent)
        var explain = plan.explainNode
        if !keys.isEmpty { explain = ExplainNode(label: "Sort", details: ["Sort Key: " + orderBy.map(\.expr.sql).joined(separator: ", ")],
                                                 estimatedRows: explain.estimatedRows, children: [explain]) }
        if limit != nil || offset != nil { explain = ExplainNode(label: "Limit", estimatedRows: explain.estimatedRows, children: [explain]) }
        return QueryPlan(columns: plan.columns, explain: explain) { ctx in
            var rows = try plan.run(ctx)
            if !keys.isEmpty {
                let keyed = try rows.map { row in (row, try ctx.withFrame(row) { try keys.map { try $0.0(ctx) } }) }
                rows = Planner.sort(keyed, keys.map(\.1)).map(\.0)
            }
            return try limits(ctx, rows)
        }
    }

    /// OFFSET and LIMIT as (rows to skip, rows to keep or nil for all), evaluated per run.
    private func compileLimitBounds(limit: Expr?, offset: Expr?, parent: Scope?) throws -> (ExecutionContext) throws -> (Int, Int?) {
        let compiler = ExpressionCompiler(scope: Scope(columns: [], parent: parent), planner: self, aggregation: nil, clause: "LIMIT")
        let limitEval = try limit.map { try compiler.compile($0) }
        let offsetEval = try offset.map { try compiler.compile($0) }
        return { ctx in
            var start = 0
            var count: Int?
            if let offsetEval, case .integer(let n) = try ctx.withFrame([], { try offsetEval(ctx) }).cast(to: "bigint") {
                if n < 0 { throw DatabaseError(.error, sqlState: "2201X", "OFFSET must not be negative") }
                start = Int(min(n, Int64(Int32.max)))
            }
            if let limitEval, case .integer(let n) = try ctx.withFrame([], { try limitEval(ctx) }).cast(to: "bigint") {
                if n < 0 { throw DatabaseError(.error, sqlState: "2201W", "LIMIT must not be negative") }
                count = Int(min(n, Int64(Int32.max)))
            }
            return (start, count)
        }
    }

    private func compileLimits(limit: Expr?, offset: Expr?, parent: Scope?) throws -> (ExecutionContext, [[Value]]) throws -> [[Value]] {
        let bounds = try compileLimitBounds(limit: limit, offset: offset, parent: parent)
        return { ctx, rows in
            let (skip, keep) = try bounds(ctx)
            let start = min(skip, rows.count)
            let end = keep.map { min(rows.count, start + $0) } ?? rows.count
            return start == 0 && end == rows.count ? rows : Array(rows[start..<end])
        }
    }

    /// The first k rows in sort order, without sorting them all (a bounded heap; stable).
    static func topN(_ next: () throws -> ([Value], [Value])?, _ items: [OrderItem], _ k: Int) throws -> [([Value], [Value])] {
        guard k > 0 else { return [] }
        func precedes(_ a: (Int, ([Value], [Value])), _ b: (Int, ([Value], [Value]))) -> Bool {
            for (i, item) in items.enumerated() {
                let x = a.1.1[i], y = b.1.1[i]
                if x.isNull || y.isNull {
                    if x.isNull && y.isNull { continue }
                    return x.isNull == (item.nullsFirst ?? item.descending)
                }
                let c = Value.sortCompare(x, y)
                if c != 0 { return item.descending ? c > 0 : c < 0 }
            }
            return a.0 < b.0
        }
        // The best k seen so far; `first` is the worst of them (a max-heap in sort order).
        var heap = BinaryHeap<(Int, ([Value], [Value]))> { a, b in precedes(b, a) }
        heap.reserveCapacity(k + 1)
        var index = 0
        while let row = try next() {
            let entry = (index, row)
            index += 1
            if heap.count < k {
                heap.push(entry)
            } else if precedes(entry, heap.first!) {
                heap.replaceFirst(with: entry)
            }
        }
        return heap.elements.sorted(by: precedes).map(\.1)
    }

    static func sort(_ keyed: [([Value], [Value])], _ items: [OrderItem]) -> [([Value], [Value])] {
        // A stable sort: equal keys keep their input order.
        let indexed = keyed.enumerated().map { ($0.offset, $0.element) }
        return indexed.sorted { a, b in
            for (i, item) in items.enumerated() {
                let x = a.1.1[i], y = b.1.1[i]
                if x.isNull || y.isNull {
                    if x.isNull && y.isNull { continue }
                    let nullsFirst = item.nullsFirst ?? item.descending
                    return x.isNull == nullsFirst
                }
                let c = Value.sortCompare(x, y)
                if c != 0 { return item.descending ? c > 0 : c < 0 }
            }
            return a.0 < b.0
        }.map(\.1)
    }

    // MARK: One SELECT core

    private func planCore(_ core: SelectCore, orderBy: [OrderItem], limit: Expr?, offset: Expr?, parent: Scope?) throws -> QueryPlan {
        subplans.append([])
        let conjuncts = core.filter.map(Planner.conjuncts) ?? []
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
                let visible = source.columns.enumerated().filter { !$0.element.hidden && (table == nil || $0.element.table == table) }
                if let table, !source.columns.contains(where: { $0.table == table }) {
                    throw DatabaseError(.error, sqlState: "42P01", "missing FROM-clause entry for table \"\(table)\"")
                }
                if table == nil && core.from.isEmpty {
                    throw DatabaseError(.error, sqlState: "42601", "SELECT * with no tables specified is not valid")
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

        var compiler = ExpressionCompiler(scope: scope, planner: self, aggregation: nil, clause: "WHERE")
        var groupEvaluators: [Evaluator] = []
        var collector: AggregateCollector?
        if aggregated {
            // GROUP BY may name output columns by position or alias.
            var groupExprs: [Expr] = []
            for e in core.groupBy {
                if case .literal(.integer(let n)) = e {
                    guard n >= 1 && Int(n) <= outputExprs.count else {
                        throw DatabaseError(.error, sqlState: "42P10", "GROUP BY position \(n) is not in select list")
                    }
                    groupExprs.append(outputExprs[Int(n) - 1])
                } else if case .column(nil, let name) = e, (try? scope.resolve(table: nil, name: name)).flatMap({ $0 }).map({ $0.depth > 0 }) ?? true,
                          let i = names.firstIndex(of: name) {
                    groupExprs.append(outputExprs[i])
                } else {
                    groupExprs.append(e)
                }
            }
            var groupCompiler = compiler
            groupCompiler.clause = "GROUP BY"
            groupEvaluators = try groupExprs.map { try groupCompiler.compile($0) }
            // Group keys are matched by their SQL text, with columns qualified on both sides.
            let keys = try groupExprs.map { try Planner.qualify($0, scope: scope, columns: source.columns).sql }
            collector = AggregateCollector(groupKeys: keys, inputScope: scope)
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
        var havingCompiler = compiler
        havingCompiler.clause = "HAVING"
        let having = try core.having.map { try havingCompiler.compile(try normalized($0)) }

        // ORDER BY: an output position or name, else an expression over the input.
        enum SortKey { case output(Int), hidden(Evaluator) }
        var sortKeys: [SortKey] = []
        for item in orderBy {
            if case .literal(.integer(let n)) = item.expr {
                guard n >= 1 && Int(n) <= items.count else {
                    throw DatabaseError(.error, sqlState: "42P10", "ORDER BY position \(n) is not in select list")
                }
                sortKeys.append(.output(Int(n) - 1))
            } else if case .column(nil, let name) = item.expr, names.filter({ $0 == name }).count == 1,
                      core.items.contains(where: { if case .expression(_, let alias) = $0 { return alias == name } else { return false } })
                        || (try? scope.resolve(table: nil, name: name)) == nil {
                sortKeys.append(.output(names.firstIndex(of: name)!))
            } else if let i = outputExprs.firstIndex(where: { $0.sql == item.expr.sql }) {
                sortKeys.append(.output(i))
            } else {
                if core.distinct {
                    throw DatabaseError(.error, sqlState: "42P10", "for SELECT DISTINCT, ORDER BY expressions must appear in select list")
                }
                var orderCompiler = compiler
                orderCompiler.windows = windows
                orderCompiler.clause = "ORDER BY"
                sortKeys.append(.hidden(try orderCompiler.compile(try normalized(item.expr))))
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
        let limitBounds = try compileLimitBounds(limit: limit, offset: offset, parent: parent)
        let distinct = core.distinct
        let calls = collector?.calls ?? []
        let hasGroupBy = !core.groupBy.isEmpty

        // EXPLAIN: the steps above the FROM clause, innermost first, with the subqueries of
        // this query's expressions under the top one.
        var explain = source.op.explainNode
        func step(_ label: String, _ details: [String] = [], rows: Double? = nil) {
            explain = ExplainNode(label: label, details: details, estimatedRows: rows ?? explain.estimatedRows, children: [explain])
        }
        if aggregated {
            if core.groupBy.isEmpty {
                step("Aggregate", rows: 1)
            } else {
                step("Hash Aggregate", ["Group Key: " + core.groupBy.map(\.sql).joined(separator: ", ")],
                     rows: max(1, (explain.estimatedRows ?? 1000) * 0.1))
            }
            if let having = core.having { step("Filter", ["Filter: " + having.sql]) }
        }
        if hasWindows { step("WindowAgg") }
        if core.distinct || !core.distinctOn.isEmpty { step("Unique") }
        if !sortKeys.isEmpty {
            let keys = ["Sort Key: " + orderBy.map(\.expr.sql).joined(separator: ", ")]
            step(limit != nil ? "Top-N Sort" : "Sort", keys)
        }
        if limit != nil || offset != nil {
            var rows = explain.estimatedRows
            if case .literal(.integer(let n))? = limit { rows = min(rows ?? 1000, Double(max(1, n))) }
            step("Limit", rows: rows)
        }
        explain.children += subplans.popLast() ?? []
        let declaredTypes = try outputExprs.map { e -> String? in
            switch e {
            case .column(let t, let n):
                guard let (depth, index) = try scope.resolve(table: t, name: n), depth == 0 else { return nil }
                return source.columns[index].type
            case .cast(_, let type): return type.name
            default: return nil
            }
        }
        let orderItems = orderBy
        return QueryPlan(columns: names, declaredTypes: declaredTypes, explain: explain) { (ctx: ExecutionContext) -> RowStream in
            var input = try source.open(ctx)
            if aggregated {
                var rows = try Planner.aggregate(input, ctx: ctx, groups: groupEvaluators, calls: calls, hasGroupBy: hasGroupBy)
                if let having {
                    rows = try rows.filter { row in try ctx.withFrame(row) { try having(ctx).truth() == true } }
                }
                input = Planner.stream(rows)
            }
            if let windows {
                var rows: [[Value]] = []
                while let row = try input() { rows.append(row) }
                input = Planner.stream(try windows.apply(to: rows, ctx: ctx))
            }
            // Each input row becomes (output values, sort keys + DISTINCT ON keys).
            let project: () throws -> ([Value], [Value])? = {
                guard let row = try input() else { return nil }
                return try ctx.withFrame(row) {
                    let values = try items.map { try $0(ctx) }
                    var keys: [Value] = []
                    for key in sortKeys {
                        switch key {
                        case .output(let i): keys.append(values[i])
                        case .hidden(let e): keys.append(try e(ctx))
                        }
                    }
                    // The DISTINCT ON key rides after the sort keys (sorting reads only the
                    // first orderBy.count of them).
                    for e in distinctOn { keys.append(try e(ctx)) }
                    return (values, keys)
                }
            }
            let (skip, keep) = try limitBounds(ctx)
            let unique: () throws -> ([Value], [Value])? = distinct
                ? try Planner.distinctRows(project, width: items.count, memoryRows: ctx.workMemoryRows)
                : project
            var ordered: () throws -> ([Value], [Value])?
            if sortKeys.isEmpty {
                ordered = unique
            } else if let keep, distinctOn.isEmpty, skip + keep <= ctx.workMemoryRows {
                // ORDER BY … LIMIT k: keep the best k in a heap (top-N), never the whole input.
                let top = Planner.stream(try Planner.topN(unique, orderItems, skip + keep).map { $0.0 + $0.1 })
                let width = items.count
                ordered = { try top().map { (Array($0[..<width]), Array($0[width...])) } }
            } else {
                ordered = try Planner.externalSort(unique, orderItems, width: items.count, memoryRows: ctx.workMemoryRows)
            }
            if !distinctOn.isEmpty {
                var firsts = Set<[Value]>()
                let width = distinctOn.count
                let sorted = ordered
                ordered = {
                    while let next = try sorted() {
                        if firsts.insert(next.1.suffix(width).map(\.groupKey)).inserted { return next }
                    }
                    return nil
                }
            }
            var skipped = 0
            var emitted = 0
            return {
                while skipped < skip {
                    guard try ordered() != nil else { return nil }
                    skipped += 1
                }
                if let keep, emitted >= keep { return nil }
                guard let next = try ordered() else { return nil }
                emitted += 1
                return next.0
            }
        }
    }

    /// Removes duplicate rows (by their values) from a stream of (values, keys): in a hash set
    /// while it fits in `memoryRows`, else by an external sort on the values.
    static func distinctRows(_ input: @escaping () throws -> ([Value], [Value])?, width: Int,
                             memoryRows: Int) throws -> () throws -> ([Value], [Value])? {
        var seen = Set<[Value]>()
        var buffered: [([Value], [Value])] = []
        var exhausted = false
        while !exhausted && seen.count < max(1, memoryRows) {
            guard let next = try input() else {
                exhausted = true
                break
            }
            if seen.insert(next.0.map(\.groupKey)).inserted { buffered.append(next) }
        }
        if exhausted { return { [buffered = stream(buffered.map { $0.0 + $0.1 })] in try buffered().map { (Array($0[..<width]), Array($0[width...])) } } }
        // Too many: sort everything by its values and keep the first of each run of equals.
        let items = (0..<width).map { _ in OrderItem(expr: .literal(.null)) }
        var replay = buffered.makeIterator()
        let all: () throws -> ([Value], [Value])? = {
            if let next = replay.next() { return (next.0, next.0 + next.1) }
            return try input().map { ($0.0, $0.0 + $0.1) }
        }
        let sorted = try externalSort(all, items, width: width, memoryRows: memoryRows)
        var previous: [Value]?
        return {
            while let (values, keys) = try sorted() {
                let key = values.map(\.groupKey)
                if key == previous { continue }
                previous = key
                return (values, Array(keys[width...]))
            }
            return nil
        }
    }

    /// Sorts a stream stably; past `memoryRows` rows, sorted runs go to temporary files and are
    /// merged as they are read back.
    static func externalSort(_ input: () throws -> ([Value], [Value])?, _ items: [OrderItem], width: Int,
                             memoryRows: Int) throws -> () throws -> ([Value], [Value])? {
        var runs: [SpillFile] = []
        var buffer: [([Value], [Value])] = []
        var index: Int64 = 0
        // Each spilled row carries its input position, so the merge stays stable.
        func spill() throws {
            let file = try SpillFile()
            for (values, keys) in sort(buffer, items) {
                try file.append(values + keys)
            }
            runs.append(file)
            buffer.removeAll(keepingCapacity: true)
        }
        while let next = try input() {
            buffer.append((next.0, next.1 + [.integer(index)]))
            index += 1
            if buffer.count >= max(1, memoryRows) { try spill() }
        }
        if runs.isEmpty {
            let sorted = stream(sort(buffer, items).map { $0.0 + $0.1 })
            return { try sorted().map { (Array($0[..<width]), Array($0[width..<($0.count - 1)])) } }
        }
        if !buffer.isEmpty { try spill() }
        let readers = try runs.map { try $0.reader() }
        func precedes(_ a: [Value], _ b: [Value]) -> Bool {
            for (i, item) in items.enumerated() {
                let x = a[width + i], y = b[width + i]
                if x.isNull || y.isNull {
                    if x.isNull && y.isNull { continue }
                    return x.isNull == (item.nullsFirst ?? item.descending)
                }
                let c = Value.sortCompare(x, y)
                if c != 0 { return item.descending ? c > 0 : c < 0 }
            }
            return Value.sortCompare(a[a.count - 1], b[b.count - 1]) < 0
        }
        // A k-way merge: a heap of each run's next row.
        var heads = BinaryHeap<(row: [Value], run: Int)> { a, b in precedes(a.row, b.row) }
        for run in readers.indices { if let row = try readers[run]() { heads.push((row, run)) } }
        return {
            guard let (row, run) = heads.first else { return nil }
            if let next = try readers[run]() { heads.replaceFirst(with: (next, run)) } else { heads.popFirst() }
            return (Array(row[..<width]), Array(row[width..<(row.count - 1)]))
        }
    }

    /// Hash aggregation over a stream. Past `ctx.workMemoryRows` groups, rows of groups not yet
    /// in memory go to one of 16 temporary partitions (by group hash), aggregated one at a time.
    static func aggregate(_ input: @escaping RowStream, ctx: ExecutionContext, groups: [Evaluator], calls: [AggregateCollector.Call], hasGroupBy: Bool) throws -> [[Value]] {
        let fresh = calls.map { AggregateState(name: $0.name, distinct: $0.distinct) }
        if !hasGroupBy {
            // One group: no hashing per row.
            var states = fresh
            if calls.allSatisfy({ $0.filter == nil && $0.extra == nil && ($0.argument == nil || $0.argumentColumn != nil) }) {
                // Every argument is a column of the input row (or count(*)): read it directly.
                let columns = calls.map(\.argumentColumn)
                while let row = try input() {
                    for i in states.indices {
                        if let c = columns[i] { try states[i].add(row[c], extra: nil) } else { try states[i].add(nil, extra: nil) }
                    }
                }
                return [states.map { $0.result() }]
            }
            let filters = calls.map(\.filter), arguments = calls.map(\.argument), extras = calls.map(\.extra)
            while let row = try input() {
                try ctx.withFrame(row) {
                    for i in states.indices {
                        if let filter = filters[i], try filter(ctx).truth() != true { continue }
                        try states[i].add(try arguments[i].map { try $0(ctx) }, extra: try extras[i].map { try $0(ctx) })
                    }
                }
            }
            return [states.map { $0.result() }]
        }
        var output: [[Value]] = []
        var pending: [(RowStream, level: Int)] = [(input, 0)]
        var partitions: [SpillFile] = []
        var sawRow = false
        while let (next, level) = pending.popLast() {
            var order: [[Value]] = []
            var states: [[Value]: (key: [Value], states: [AggregateState])] = [:]
            var spilling = false
            while let row = try next() {
                sawRow = true
                try ctx.withFrame(row) {
                    let key = try groups.map { try $0(ctx) }
                    let hashKey = key.map(\.groupKey)
                    if states[hashKey] == nil {
                        // Each level partitions by another hash; past four levels, memory it is.
                        if states.count >= max(1, ctx.workMemoryRows) && hasGroupBy && level < 4 {
                            if !spilling {
                                spilling = true
                                partitions = try (0..<16).map { _ in try SpillFile() }
                            }
                            var hasher = Hasher()
                            hasher.combine(level)
                            hasher.combine(hashKey)
                            try partitions[abs(hasher.finalize() % 16)].append(row)
                            return
                        }
                        states[hashKey] = (key, fresh)
                        order.append(hashKey)
                    }
                    for (i, call) in calls.enumerated() {
                        if let filter = call.filter, try filter(ctx).truth() != true { continue }
                        let value = try call.argument.map { try $0(ctx) }
                        let extra = try call.extra.map { try $0(ctx) }
                        try states[hashKey]!.states[i].add(value, extra: extra)
                    }
                }
            }
            for hashKey in order {
                let group = states[hashKey]!
                output.append(group.key + group.states.map { $0.result() })
            }
            if spilling {
                // Each partition holds whole groups; aggregate them with a fresh table.
                for partition in partitions where partition.count > 0 { pending.append((try partition.reader(), level + 1)) }
                partitions = []
            }
        }
        if !sawRow && !hasGroupBy {
            return [fresh.map { $0.result() }]
        }
        return output
    }

    // MARK: FROM

    static func stream(_ rows: [[Value]]) -> RowStream {
        var position = 0
        return {
            guard position < rows.count else { return nil }
            defer { position += 1 }
            return rows[position]
        }
    }

    // MARK: Expression analysis

    static func outputName(_ e: Expr) -> String {
        switch e {
        case .column(_, let name): return name
        case .function(let name, _, _, _): return name
        case .cast(let inner, let type):
            if case .column = inner { return outputName(inner) }
            return type.name
        case .caseWhen: return "case"
        case .exists: return "exists"
        case .subquery(let q):
            if case .core(let core) = q.body, core.items.count == 1, case .expression(let inner, let alias) = core.items[0] {
                return alias ?? outputName(inner)
            }
            return "?column?"
        default: return "?column?"
        }
    }

    /// Visits e and its sub-expressions, not descending into subqueries.
    static func walk(_ e: Expr, _ visit: (Expr) -> Void) {
        visit(e)
        switch e {
        case .unary(_, let a), .isNull(let a, _), .isBoolean(let a, _, _), .cast(let a, _), .inSubquery(let a, _, _), .quantified(_, let a, _, _):
            walk(a, visit)
        case .binary(_, let a, let b):
            walk(a, visit); walk(b, visit)
        case .between(let a, let b, let c, _):
            walk(a, visit); walk(b, visit); walk(c, visit)
        case .inList(let a, let list, _):
            walk(a, visit); list.forEach { walk($0, visit) }
        case .caseWhen(let base, let whens, let otherwise):
            base.map { walk($0, visit) }
            for (w, t) in whens { walk(w, visit); walk(t, visit) }
            otherwise.map { walk($0, visit) }
        case .function(_, let args, _, _):
            args.forEach { walk($0, visit) }
        case .like(let a, let p, let esc, _, _):
            walk(a, visit); walk(p, visit); esc.map { walk($0, visit) }
        case .aggregateFilter(let call, let condition):
            walk(call, visit); walk(condition, visit)
        case .window(let call, let spec):
            // The call itself is not a grouping aggregate; its arguments and spec may hold some.
            var inner = call
            if case .aggregateFilter(let c, let condition) = call { inner = c; walk(condition, visit) }
            if case .function(_, let args, _, _) = inner { args.forEach { walk($0, visit) } }
            spec.partition.forEach { walk($0, visit) }
            spec.order.forEach { walk($0.expr, visit) }
        default: break
        }
    }

    static func containsWindow(_ e: Expr) -> Bool {
        var found = false
        walk(e) { if case .window = $0 { found = true } }
        return found
    }

    static func containsAggregate(_ e: Expr) -> Bool {
        var found = false
        walk(e) { if case .function(let name, _, _, _) = $0, ExpressionCompiler.aggregateNames.contains(name) { found = true } }
        return found
    }

    static func containsSubquery(_ e: Expr) -> Bool {
        var found = false
        walk(e) {
            switch $0 {
            case .subquery, .exists, .inSubquery, .quantified: found = true
            default: break
            }
        }
        return found
    }

    static func columnReferences(_ e: Expr) -> [(String?, String)] {
        var refs: [(String?, String)] = []
        walk(e) { if case .column(let t, let n) = $0 { refs.append((t, n)) } }
        return refs
    }

    /// Rewrites bare column references that resolve in `scope` to their qualified form.
    static func qualify(_ e: Expr, scope: Scope, columns: [ScopeColumn]) throws -> Expr {
        func q(_ e: Expr) throws -> Expr { try qualify(e, scope: scope, columns: columns) }
        switch e {
        case .column(let t, let n):
            if let (depth, index) = try scope.resolve(table: t, name: n), depth == 0 {
                return .column(table: columns[index].table, name: columns[index].name)
            }
            return e
        case .unary(let op, let a): return .unary(op, try q(a))
        case .binary(let op, let a, let b): return .binary(op, try q(a), try q(b))
        case .isNull(let a, let n): return .isNull(try q(a), negated: n)
        case .isBoolean(let a, let v, let n): return .isBoolean(try q(a), value: v, negated: n)
        case .between(let a, let b, let c, let n): return .between(try q(a), low: try q(b), high: try q(c), negated: n)
        case .inList(let a, let list, let n): return .inList(try q(a), try list.map(q), negated: n)
        case .inSubquery(let a, let s, let n): return .inSubquery(try q(a), s, negated: n)
        case .quantified(let op, let a, let s, let all): return .quantified(op, try q(a), s, all: all)
        case .caseWhen(let base, let whens, let otherwise):
            return .caseWhen(base: try base.map(q), whens: try whens.map { (try q($0.0), try q($0.1)) }, otherwise: try otherwise.map(q))
        case .cast(let a, let type): return .cast(try q(a), type)
        case .function(let name, let args, let distinct, let star):
            // Aggregate arguments are compiled against the input, so leave them as written.
            if ExpressionCompiler.aggregateNames.contains(name) { return e }
            return .function(name: name, args: try args.map(q), distinct: distinct, star: star)
        case .like(let a, let p, let esc, let ci, let n):
            return .like(try q(a), pattern: try q(p), escape: try esc.map(q), caseInsensitive: ci, negated: n)
        case .window(let call, var spec):
            spec.partition = try spec.partition.map(q)
            spec.order = try spec.order.map { item in
                var item = item
                item.expr = try q(item.expr)
                return item
            }
            var qualifiedCall = call
            if case .function(let name, let args, let distinct, let star) = call {
                qualifiedCall = .function(name: name, args: try args.map(q), distinct: distinct, star: star)
            }
            return .window(qualifiedCall, spec)
        default: return e
        }
    }
}

final class WorkingTable {
    var rows: [[Value]] = []
}
