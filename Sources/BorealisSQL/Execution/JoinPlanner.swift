// Orders the sources of a FROM clause and picks each join's method (docs/query-engine.md
// §"Join planning"). WHERE and ON conjuncts are split into those about one source (its filters
// and access path), those joining sources (applied as soon as every source they name is
// joined) and those with subqueries (applied to the complete rows). The order is greedy: the
// source with the fewest estimated rows first, then repeatedly the connected source whose join
// is estimated smallest. The result's columns are put back in FROM order.

import BorealisStorage

struct JoinPlanner {
    let planner: Planner
    var leaves: [SourcePlan]
    let conjuncts: [Expr]
    let parent: Scope?

    init(planner: Planner, leaves: [SourcePlan], conjuncts: [Expr], parent: Scope?) {
        self.planner = planner
        self.leaves = leaves
        self.conjuncts = conjuncts
        self.parent = parent
    }

    /// A conjunct that joins sources, with the sources it names.
    private struct Edge {
        var expr: Expr
        var items: Set<Int>
    }

    mutating func plan() throws -> SourcePlan {
        var offsets: [Int] = []
        var all: [ScopeColumn] = []
        for leaf in leaves {
            offsets.append(all.count)
            all.append(contentsOf: leaf.columns)
        }
        let fullScope = Scope(columns: all, parent: parent)
        var local = [[Expr]](repeating: [], count: leaves.count)
        var edges: [Edge] = []
        var final: [Expr] = []
        for conjunct in conjuncts {
            if Planner.containsSubquery(conjunct) {
                final.append(conjunct)
                continue
            }
            let items = try Planner.referencedItems(conjunct, fullScope, offsets)
            // Qualified, so that the conjunct means the same in any scope it is compiled in.
            let qualified = try Planner.qualify(conjunct, scope: fullScope, columns: all)
            switch items.count {
            case 0: local[0].append(conjunct)
            case 1: local[items.first!].append(conjunct)
            default: edges.append(Edge(expr: qualified, items: items))
            }
        }
        for k in leaves.indices where !local[k].isEmpty { leaves[k] = try restrict(leaves[k], local[k]) }
        // A restricted outer join is planned anew, with columns of its own: expressions
        // compiled from here on must see those.
        all = leaves.flatMap(\.columns)
        let scope = Scope(columns: all, parent: parent)

        // Greedy order.
        var members = [leaves.indices.min { leaves[$0].estimatedRows < leaves[$1].estimatedRows } ?? 0]
        var joined = leaves[members[0]].op
        var joinedColumns = leaves[members[0]].columns
        var estimate = leaves[members[0]].estimatedRows
        var used = [Bool](repeating: false, count: edges.count)
        while members.count < leaves.count {
            let memberSet = Set(members)
            var best: (k: Int, estimate: Double, connected: Bool)?
            for k in leaves.indices where !memberSet.contains(k) {
                let applicable = edges.indices.filter { !used[$0] && edges[$0].items.contains(k) && edges[$0].items.isSubset(of: memberSet.union([k])) }
                let connected = !applicable.isEmpty
                let size = try joinEstimate(estimate, members: members, k, applicable.map { edges[$0].expr }, scope: scope, offsets: offsets)
                if best == nil || (connected && !best!.connected) || (connected == best!.connected && size < best!.estimate) {
                    best = (k, size, connected)
                }
            }
            guard let (k, size, _) = best else { break }
            let applicable = edges.indices.filter { !used[$0] && edges[$0].items.contains(k) && edges[$0].items.isSubset(of: memberSet.union([k])) }
            for i in applicable { used[i] = true }
            var memberOffsets: [Int] = []
            var position = 0
            for m in members {
                memberOffsets.append(position)
                position += leaves[m].columns.count
            }
            let step = Step(left: joined, leftColumns: joinedColumns, right: leaves[k], conditions: applicable.map { edges[$0].expr },
                            kind: .inner, leftMembers: Array(0..<members.count), rightMember: members.count,
                            scope: Scope(columns: joinedColumns + leaves[k].columns, parent: parent), offsets: memberOffsets + [position])
            joined = try Self.join(step, planner: planner, parent: parent, estimatedRows: size)
            joinedColumns += leaves[k].columns
            members.append(k)
            estimate = size
        }

        // Back to FROM order.
        var source = leaves.count == 1 ? leaves[0] : SourcePlan(op: joined, columns: all)
        if leaves.count > 1 {
            var order: [Int] = []
            var start: [Int: Int] = [:]
            var position = 0
            for m in members {
                start[m] = position
                position += leaves[m].columns.count
            }
            for k in leaves.indices {
                let base = start[k] ?? 0
                order += (0..<leaves[k].columns.count).map { base + $0 }
            }
            source.op = order == Array(order.indices) ? joined : ColumnOrderOperator(input: joined, order: order)
        }
        if !final.isEmpty {
            let compiler = ExpressionCompiler(scope: scope, planner: planner, aggregation: nil, clause: "WHERE")
            source.op = FilterOperator(input: source.op, conditions: try final.map { try compiler.compile($0) },
                                       conditionSQL: final.map(\.sql), estimatedRows: source.op.estimatedRows * 0.5)
            source.table = nil
        }
        return source
    }

    /// The source with its own conjuncts applied: a base table through the best access path
    /// for them, anything else through a filter.
    private func restrict(_ leaf: SourcePlan, _ conjuncts: [Expr]) throws -> SourcePlan {
        let scope = Scope(columns: leaf.columns, parent: parent)
        let compiler = ExpressionCompiler(scope: scope, planner: planner, aggregation: nil, clause: "WHERE")
        let filters = try conjuncts.map { try compiler.compile($0) }
        if let restricting = leaf.restricting { return try restricting(conjuncts) }
        var restricted = leaf
        restricted.localConjuncts = conjuncts
        if let table = leaf.table {
            let keyable = conjuncts.filter { !ExpressionCompiler.readsCharacterColumn($0, scope) }
            let path = try AccessPath.choose(table: table, indexes: planner.catalog.indexes(on: table.name), conjuncts: keyable,
                                             scope: scope, compiler: compiler)
            let base = planner.statistics.rowCount(table)
            restricted.op = ScanOperator(table: table, alias: leaf.alias, columns: leaf.columns, path: path, filters: filters,
                                         filterSQL: conjuncts.map(\.sql), usage: leaf.usage,
                                         estimatedRows: Self.estimate(base, conjuncts, table: table, scope: scope, statistics: planner.statistics))
        } else {
            let estimate = Self.estimate(leaf.estimatedRows, conjuncts, table: nil, scope: scope)
            restricted.op = FilterOperator(input: leaf.op, conditions: filters, conditionSQL: conjuncts.map(\.sql), estimatedRows: estimate)
        }
        return restricted
    }

    // MARK: Estimates

    /// Rows left of `rows` after the conjuncts: an equality on the row id or a unique
    /// single-column index keeps one row per value; a comparison of an analyzed column takes
    /// its share from the statistics; anything else a fixed selectivity per kind of conjunct.
    static func estimate(_ rows: Double, _ conjuncts: [Expr], table: TableSchema?, scope: Scope,
                         statistics: PlannerStatistics? = nil) -> Double {
        var estimate = rows
        for conjunct in conjuncts {
            if let table, let statistics, let share = analyzedShare(conjunct, rows: rows, table: table, scope: scope, statistics: statistics) {
                if case .binary(.equal, let a, let b) = conjunct,
                   isUniqueKey(a, table: table, scope: scope, statistics: statistics) || isUniqueKey(b, table: table, scope: scope, statistics: statistics) { return 1 }
                estimate *= share
                continue
            }
            switch conjunct {
            case .binary(.equal, let a, let b):
                if let table, isUniqueKey(a, table: table, scope: scope, statistics: statistics) || isUniqueKey(b, table: table, scope: scope, statistics: statistics) { return 1 }
                estimate *= 0.1
            case .inList(_, let list, false): estimate *= min(1, 0.1 * Double(list.count))
            case .between(_, _, _, false): estimate *= 0.1
            case .binary(.less, _, _), .binary(.lessOrEqual, _, _), .binary(.greater, _, _), .binary(.greaterOrEqual, _, _):
                estimate *= 0.33
            case .isNull(_, false): estimate *= 0.1
            default: estimate *= 0.5
            }
        }
        return max(1, estimate)
    }

    /// The share of `table`'s rows (`rows` of them) a conjunct keeps, from ANALYZE's statistics
    /// of the column it compares with a constant; nil when it is not such a comparison or the
    /// column was not analyzed.
    static func analyzedShare(_ conjunct: Expr, rows: Double, table: TableSchema, scope: Scope, statistics: PlannerStatistics) -> Double? {
        func stats(_ e: Expr) -> ColumnStatistics? {
            columnOrdinal(e, table: table, scope: scope).flatMap { statistics.column(table, $0) }
        }
        switch conjunct {
        case .binary(let op, let a, let b) where [.equal, .less, .lessOrEqual, .greater, .greaterOrEqual].contains(op):
            for (column, other, flipped) in [(a, b, false), (b, a, true)] {
                guard let s = stats(column) else { continue }
                guard let value = constant(other) else {
                    return op == .equal ? s.equalShareOfAnyValue(rows: rows) : nil
                }
                switch (op, flipped) {
                case (.equal, _): return s.equalShare(value, rows: rows)
                case (.less, false), (.greater, true): return s.lessShare(value, inclusive: false)
                case (.lessOrEqual, false), (.greaterOrEqual, true): return s.lessShare(value, inclusive: true)
                case (.greater, false), (.less, true): return s.greaterShare(value, inclusive: false)
                default: return s.greaterShare(value, inclusive: true)
                }
            }
            return nil
        case .between(let e, let low, let high, false):
            guard let s = stats(e), let lo = constant(low), let hi = constant(high) else { return nil }
            return max(0, s.lessShare(hi, inclusive: true) - s.lessShare(lo, inclusive: false))
        case .inList(let e, let list, false):
            guard let s = stats(e) else { return nil }
            var share = 0.0
            for item in list {
                guard let value = constant(item) else { return nil }
                share += s.equalShare(value, rows: rows)
            }
            return min(1, share)
        case .isNull(let e, let negated):
            guard let s = stats(e) else { return nil }
            return negated ? 1 - s.nullFraction : s.nullFraction
        default:
            return nil
        }
    }

    /// The value of a constant expression the planner can read without running anything.
    static func constant(_ e: Expr) -> Value? {
        switch e {
        case .literal(let v): return v
        case .unary(.negate, .literal(let v)): return try? Value.arithmetic(.subtract, .integer(0), v)
        case .cast(.literal(let v), let type) where !type.serial: return try? v.cast(to: type.type)
        default: return nil
        }
    }

    /// The ordinal in `table` of the column `e` names, when it is one of the table's columns at
    /// depth 0 of `scope`.
    static func columnOrdinal(_ e: Expr, table: TableSchema, scope: Scope) -> Int? {
        guard case .column(let t, let n) = e, let found = try? scope.resolve(table: t, name: n, markingRead: false), found.depth == 0,
              found.index < scope.columns.count, scope.columns[found.index].usage != nil else { return nil }
        let ordinal = scope.columns[found.index].ordinal
        return ordinal < table.columns.count ? ordinal : nil
    }

    /// Whether `e` is a column of `table` (at depth 0 of `scope`) that is its row id, its
    /// single-column primary key or the single column of a unique index.
    static func isUniqueKey(_ e: Expr, table: TableSchema, scope: Scope, statistics: PlannerStatistics? = nil) -> Bool {
        guard let ordinal = columnOrdinal(e, table: table, scope: scope) else { return false }
        if table.rowIDColumn == ordinal || statistics?.isUnique(table, column: ordinal) == true { return true }
        return table.primaryKey == [table.columns[ordinal].name]
    }

    /// The estimated rows of joining source k to the members (estimated `rows`) on `conditions`.
    private func joinEstimate(_ rows: Double, members: [Int], _ k: Int, _ conditions: [Expr], scope: Scope, offsets: [Int]) throws -> Double {
        let right = leaves[k].estimatedRows
        guard !conditions.isEmpty else { return rows * right }
        var equality = false
        for condition in conditions {
            guard case .binary(.equal, let a, let b) = condition else { continue }
            for (mine, theirs) in [(a, b), (b, a)] {
                let mineItems = try Planner.referencedItems(mine, scope, offsets)
                let theirItems = try Planner.referencedItems(theirs, scope, offsets)
                guard mineItems == [k], !theirItems.isEmpty, theirItems.isSubset(of: members) else { continue }
                equality = true
                // Each member row finds at most one row of k: k's own filtering is what remains.
                if let table = leaves[k].table, Self.isUniqueKey(mine, table: table, scope: scope, statistics: planner.statistics) {
                    return max(1, rows * right / planner.statistics.rowCount(table))
                }
                // Each row of k finds at most one member row of j.
                if theirItems.count == 1, let j = theirItems.first, let table = leaves[j].table,
                   Self.isUniqueKey(theirs, table: table, scope: scope, statistics: planner.statistics) {
                    return max(1, right * rows / planner.statistics.rowCount(table))
                }
                // Both keys analyzed: one match per the larger number of distinct keys.
                if theirItems.count == 1, let j = theirItems.first, let mineTable = leaves[k].table, let theirTable = leaves[j].table,
                   let mineDistinct = distinctKeys(mine, table: mineTable, scope: scope, rows: right),
                   let theirDistinct = distinctKeys(theirs, table: theirTable, scope: scope, rows: rows) {
                    return max(1, rows * right / max(mineDistinct, theirDistinct))
                }
            }
        }
        return equality ? Self.equalityJoinEstimate(rows, right) : max(1, rows * right * 0.33)
    }

    /// The distinct non-NULL values of an analyzed column of `table` among `rows` of its rows.
    private func distinctKeys(_ e: Expr, table: TableSchema, scope: Scope, rows: Double) -> Double? {
        guard let ordinal = Self.columnOrdinal(e, table: table, scope: scope),
              let s = planner.statistics.column(table, ordinal) else { return nil }
        return min(s.distinctValues(rows: planner.statistics.rowCount(table)), max(1, rows))
    }

    /// The rows of an equality join of sides of `left` and `right` rows when nothing is known
    /// of the keys: one match per max(distinct left keys, distinct right keys), with at most
    /// 200 distinct values assumed on each side (PostgreSQL's default without statistics).
    static func equalityJoinEstimate(_ left: Double, _ right: Double) -> Double {
        max(1, left * right / max(1, min(200, left), min(200, right)))
    }
}

extension JoinPlanner {
    /// One join: what is joined so far (`left`) and the next source.
    struct Step {
        var left: PhysicalOperator
        var leftColumns: [ScopeColumn]
        var right: SourcePlan
        /// Qualified conjuncts over left + right columns.
        var conditions: [Expr]
        var kind: JoinKind
        /// Positions (in `offsets`) of the sources on the left, and of the right one.
        var leftMembers: [Int]
        var rightMember: Int
        /// Left + right columns.
        var scope: Scope
        var offsets: [Int]
    }

    /// The operator for one join: an index nested loop when the right source is a base table
    /// whose row id or index the join's equalities key and probing it once per left row is
    /// estimated cheaper than reading it whole, else a hash join on the equalities, else a
    /// nested loop.
    static func join(_ step: Step, planner: Planner, parent: Scope?, estimatedRows: Double) throws -> PhysicalOperator {
        let kind: JoinKind = step.kind == .cross ? .inner : step.kind
        let leftSet = Set(step.leftMembers)
        var keys: [(left: Expr, right: Expr, condition: Int)] = []
        for (i, condition) in step.conditions.enumerated() where !Planner.containsSubquery(condition)
            && !ExpressionCompiler.readsCharacterColumn(condition, step.scope) {
            guard case .binary(.equal, let a, let b) = condition else { continue }
            let ia = try Planner.referencedItems(a, step.scope, step.offsets), ib = try Planner.referencedItems(b, step.scope, step.offsets)
            if !ia.isEmpty && ia.isSubset(of: leftSet) && ib == [step.rightMember] { keys.append((a, b, i)) }
            else if !ib.isEmpty && ib.isSubset(of: leftSet) && ia == [step.rightMember] { keys.append((b, a, i)) }
        }
        let combined = ExpressionCompiler(scope: step.scope, planner: planner, aggregation: nil, clause: "JOIN conditions")
        if kind == .inner || kind == .left, !keys.isEmpty, let table = step.right.table, let scan = step.right.op as? ScanOperator {
            let innerScope = Scope(columns: step.right.columns, parent: Scope(columns: step.leftColumns, parent: parent))
            let innerCompiler = ExpressionCompiler(scope: innerScope, planner: planner, aggregation: nil, clause: "JOIN conditions")
            let path = try AccessPath.choose(table: table, indexes: planner.catalog.indexes(on: table.name),
                                             conjuncts: keys.map { .binary(.equal, $0.right, $0.left) }, scope: innerScope, compiler: innerCompiler)
            // Costs in rough page touches: a probe descends a tree (~4); each row it finds costs
            // one more through the row id, three through an index (its entry, then the row).
            // A hash join reads the right side once (its own path's rows) and hashes the left.
            let perRow: Double
            switch path.kind {
            case .rowIDs: perRow = 1
            case .indexEquals: perRow = 3
            default: perRow = .infinity
            }
            var scanCost = planner.statistics.rowCount(table)
            if case .fullScan = scan.path.kind {} else { scanCost = scan.estimatedRows }
            let probing = step.left.estimatedRows * 4 + estimatedRows * perRow
            if probing < scanCost + step.left.estimatedRows {
                let residual = step.conditions + step.right.localConjuncts
                return IndexNestedLoopJoinOperator(kind: kind, left: step.left, table: table, alias: step.right.alias,
                                                   rightColumns: step.right.columns, path: path,
                                                   keySQL: keys.map { "\($0.right.sql) = \($0.left.sql)" },
                                                   conditions: try residual.map { try combined.compile($0) }, conditionSQL: residual.map(\.sql),
                                                   usage: step.right.usage, estimatedRows: estimatedRows)
            }
        }
        let keyConditions = Set(keys.map(\.condition))
        let rest = step.conditions.indices.filter { !keyConditions.contains($0) }.map { step.conditions[$0] }
        let conditions = try rest.map { try combined.compile($0) }
        if keys.isEmpty {
            return NestedLoopJoinOperator(kind: kind, left: step.left, right: step.right.op, conditions: conditions,
                                          conditionSQL: rest.map(\.sql), estimatedRows: estimatedRows)
        }
        let leftScope = Scope(columns: step.leftColumns, parent: parent), rightScope = Scope(columns: step.right.columns, parent: parent)
        let leftCompiler = ExpressionCompiler(scope: leftScope, planner: planner, aggregation: nil, clause: "JOIN conditions")
        let rightCompiler = ExpressionCompiler(scope: rightScope, planner: planner, aggregation: nil, clause: "JOIN conditions")
        /// The position of a key that is a column of its side's rows.
        func column(_ e: Expr, _ scope: Scope, width: Int) -> Int? {
            guard scope.columns.count == width, case .column(let t, let n) = e, let (depth, index) = try? scope.resolve(table: t, name: n, markingRead: false),
                  depth == 0, index < width else { return nil }
            return index
        }
        return HashJoinOperator(kind: kind, left: step.left, right: step.right.op,
                                leftKeys: try keys.map { try leftCompiler.compile($0.left) },
                                rightKeys: try keys.map { try rightCompiler.compile($0.right) },
                                leftKeyColumns: keys.map { column($0.left, leftScope, width: step.left.columns.count) },
                                rightKeyColumns: keys.map { column($0.right, rightScope, width: step.right.op.columns.count) },
                                keySQL: keys.map { "\($0.left.sql) = \($0.right.sql)" }, conditions: conditions, conditionSQL: rest.map(\.sql),
                                buildLeft: kind == .inner && step.left.estimatedRows < step.right.estimatedRows, estimatedRows: estimatedRows)
    }
}
