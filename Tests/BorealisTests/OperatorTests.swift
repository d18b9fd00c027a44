// The physical operators on their own (docs/query-engine.md): each join method against the
// others, sorting and DISTINCT in memory against their spilling paths, limits, and the
// counting EXPLAIN ANALYZE does.

import Testing
@testable import Borealis
@testable import BorealisSQL
@testable import BorealisStorage

/// Rows given by the test, as an operator.
private final class RowsOperator: PhysicalOperator {
    let rows: [[Value]]
    let columns: [ScopeColumn]

    init(_ rows: [[Value]], width: Int, table: String) {
        self.rows = rows
        columns = (0..<width).map { ScopeColumn(table: table, name: "c\($0)") }
    }

    var label: String { "Rows" }
    var estimatedRows: Double { Double(rows.count) }
    func open(_ ctx: ExecutionContext) throws -> RowStream { Planner.stream(rows) }
}

private func sorted(_ rows: [[Value]]) -> [[Value]] {
    rows.sorted { a, b in
        for (x, y) in zip(a, b) {
            if x.isNull != y.isNull { return x.isNull }
            let c = Value.sortCompare(x, y)
            if c != 0 { return c < 0 }
        }
        return false
    }
}

@Suite struct OperatorTests {
    private func randomRows(_ count: Int, keys: Int, seed: UInt64) -> [[Value]] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { i in
            let key: Value = rng.next() % 6 == 0 ? .null : .integer(Int64(rng.next() % UInt64(keys)))
            return [key, .integer(Int64(i))]
        }
    }

    @Test func hashJoinsGiveTheNestedLoopsRowsForEveryKind() throws {
        let left = RowsOperator(randomRows(60, keys: 12, seed: 1), width: 2, table: "l")
        let right = RowsOperator(randomRows(45, keys: 12, seed: 2), width: 2, table: "r")
        // key equality, and a residual condition: the left row number is even.
        let equal: Evaluator = { ctx in
            let row = ctx.frames[ctx.frames.count - 1]
            return try Value.compare(row[0], row[2]).map { .boolean($0 == 0) } ?? .null
        }
        let even: Evaluator = { ctx in
            guard case .integer(let n) = ctx.frames[ctx.frames.count - 1][1] else { return .null }
            return .boolean(n % 2 == 0)
        }
        for kind in [JoinKind.inner, .left, .right, .full] {
            let loop = NestedLoopJoinOperator(kind: kind, left: left, right: right, conditions: [equal, even], conditionSQL: [], estimatedRows: 1)
            let expected = sorted(try drainOperator(loop))
            // Keys evaluated, and keys copied from the rows' columns.
            for (buildLeft, copied) in [(false, false), (true, false), (false, true), (true, true)] {
                let hash = HashJoinOperator(kind: kind, left: left, right: right, leftKeys: [inputColumn(0)], rightKeys: [inputColumn(0)],
                                            leftKeyColumns: copied ? [0] : nil, rightKeyColumns: copied ? [0] : nil, keySQL: [],
                                            conditions: [even], conditionSQL: [], buildLeft: buildLeft, estimatedRows: 1)
                #expect(sorted(try drainOperator(hash)) == expected, "\(kind) buildLeft \(buildLeft) copied \(copied)")
                // A build side past work memory goes through the partitions on disk (inner joins).
                #expect(sorted(try drainOperator(hash, workMemoryRows: 4)) == expected, "\(kind) buildLeft \(buildLeft) copied \(copied), spilled")
            }
            if kind == .left || kind == .full {
                // The right side's row number is NULL only in a padded row.
                #expect(expected.contains { $0[3].isNull }, "\(kind) pads unmatched left rows")
            }
        }
    }

    @Test func externalSortsAndTopNAgreeWithASortInMemoryAndAreStable() throws {
        var rng = SplitMix64(seed: 3)
        // Sort key at 1 (with ties and NULLs); column 0 is the input position.
        let rows: [[Value]] = (0..<500).map { i in [.integer(Int64(i)), rng.next() % 9 == 0 ? .null : .integer(Int64(rng.next() % 40))] }
        let input = RowsOperator(rows, width: 2, table: "t")
        for descending in [false, true] {
            let order = RowOrder(items: [OrderItem(expr: .literal(.null), descending: descending)], keyStart: 1)
            let expected = order.sorted(rows)
            // Stable: equal keys keep their input order.
            for (a, b) in zip(expected, expected.dropFirst()) where order.compare(a, b) == 0 {
                #expect(Value.sortCompare(a[0], b[0]) < 0)
            }
            let sort = SortOperator(input: input, order: order, keySQL: [], wanted: nil)
            #expect(try drainOperator(sort) == expected)
            #expect(try drainOperator(sort, workMemoryRows: 7) == expected, "external sort, descending \(descending)")
            let top = SortOperator(input: input, order: order, keySQL: [], wanted: { _ in 25 })
            #expect(try drainOperator(top) == Array(expected.prefix(25)), "top-N, descending \(descending)")
        }
    }

    @Test func topNBelowTheProjectionAgreesWithTheSortForColumnAndExpressionKeys() throws {
        var rng = SplitMix64(seed: 4)
        // Column 0 the input position, column 1 a key with ties and NULLs, column 2 another.
        let rows: [[Value]] = (0..<600).map { i in
            [.integer(Int64(i)), rng.next() % 7 == 0 ? .null : .integer(Int64(rng.next() % 30)), .integer(Int64(rng.next() % 5))]
        }
        let input = RowsOperator(rows, width: 3, table: "t")
        // The key of column 1 negated, as an expression over the row.
        let negated: Evaluator = { ctx in
            guard case .integer(let v) = ctx.frames[ctx.frames.count - 1][1] else { return .null }
            return .integer(-v)
        }
        for descending in [false, true] {
            for nullsFirst in [nil, true, false] as [Bool?] {
                let first = OrderItem(expr: .literal(.null), descending: descending, nullsFirst: nullsFirst)
                let second = OrderItem(expr: .literal(.null), descending: !descending)
                // The reference: the keys appended to each row, sorted stably.
                let keyed = rows.map { $0 + [$0[1], $0[2]] }
                let expected = RowOrder(items: [first, second], keyStart: 3).sorted(keyed).map { Array($0.prefix(3)) }
                for k in [0, 1, 10, 599, 600, 1000] {
                    let top = TopNOperator(input: input, keys: [.column(1), .column(2)], orderBy: [first, second], keySQL: []) { _ in k }
                    #expect(try drainOperator(top) == Array(expected.prefix(k)), "k \(k), descending \(descending), nulls first \(String(describing: nullsFirst))")
                }
                // More rows wanted than work memory holds, or no bound: a full (external) sort.
                let unbounded = TopNOperator(input: input, keys: [.column(1), .column(2)], orderBy: [first, second], keySQL: []) { _ in nil }
                #expect(try drainOperator(unbounded, workMemoryRows: 50) == expected)
                let large = TopNOperator(input: input, keys: [.column(1), .column(2)], orderBy: [first, second], keySQL: []) { _ in 400 }
                #expect(try drainOperator(large, workMemoryRows: 50) == Array(expected.prefix(400)))
            }
            // An expression key, evaluated with the row as its frame.
            let item = OrderItem(expr: .literal(.null), descending: descending)
            let negatedKeys = rows.map { row -> [Value] in
                guard case .integer(let v) = row[1] else { return row + [.null] }
                return row + [.integer(-v)]
            }
            let expected = RowOrder(items: [item], keyStart: 3).sorted(negatedKeys).prefix(40).map { Array($0.prefix(3)) }
            let byExpression = TopNOperator(input: input, keys: [.expression(negated)], orderBy: [item], keySQL: []) { _ in 40 }
            #expect(try drainOperator(byExpression) == expected)
        }
    }

    @Test func setOperationsCountDuplicatesAsPostgreSQLDoes() throws {
        // Values with duplicates and NULLs on both sides (NULLs compare equal here).
        func values(_ list: [Int?]) -> [[Value]] { list.map { [$0.map { .integer(Int64($0)) } ?? .null] } }
        let left = RowsOperator(values([1, 1, 1, 2, 2, 3, nil, nil, 5]), width: 1, table: "l")
        let right = RowsOperator(values([1, 2, 2, 2, 4, nil, 5, 5]), width: 1, table: "r")
        func run(_ operation: SetOperator, _ all: Bool, workMemoryRows: Int = 250_000) throws -> [[Value]] {
            sorted(try drainOperator(SetOperationOperator(left: left, right: right, operation: operation, all: all), workMemoryRows: workMemoryRows))
        }
        // What PostgreSQL 15 returns for the same two lists (sorted).
        #expect(try run(.union, true) == sorted(values([1, 1, 1, 2, 2, 3, nil, nil, 5, 1, 2, 2, 2, 4, nil, 5, 5])))
        #expect(try run(.union, false) == sorted(values([1, 2, 3, 4, 5, nil])))
        #expect(try run(.union, false, workMemoryRows: 2) == sorted(values([1, 2, 3, 4, 5, nil])), "UNION spilling")
        #expect(try run(.intersect, true) == sorted(values([1, 2, 2, nil, 5])))
        #expect(try run(.intersect, false) == sorted(values([1, 2, 5, nil])))
        #expect(try run(.except, true) == sorted(values([1, 1, 3, nil])))
        #expect(try run(.except, false) == sorted(values([3])))
        // VALUES evaluates its rows as they are read.
        let valuesOperator = ValuesOperator(rows: [[{ _ in .integer(1) }, { _ in .text("a") }], [{ _ in .null }, { _ in .text("b") }]],
                                            names: ["column1", "column2"])
        #expect(try drainOperator(valuesOperator) == [[.integer(1), .text("a")], [.null, .text("b")]])
    }

    @Test func distinctSpillsToASortAndKeepsTheSameRows() throws {
        let rows = randomRows(300, keys: 17, seed: 4).map { [$0[0], .integer(7)] }
        let distinct = DistinctOperator(input: RowsOperator(rows, width: 2, table: "t"), width: 1)
        let inMemory = try drainOperator(distinct)
        #expect(inMemory.count == Set(rows.map { $0[0] }).count)
        #expect(sorted(try drainOperator(distinct, workMemoryRows: 3)) == sorted(inMemory))
    }

    @Test func projectionsCopyingColumnsMatchEvaluatedOnes() throws {
        let rows = randomRows(50, keys: 9, seed: 6).map { [$0[0], .text("r\($0[0])"), .integer(3)] }
        let input = RowsOperator(rows, width: 3, table: "t")
        // SELECT c1, c0 … ORDER BY c2, c0: items and keys are all input columns.
        let keys: [ProjectOperator.SortKey] = [.hiddenColumn(2), .output(1)]
        let copying = ProjectOperator(input: input, items: [inputColumn(1), inputColumn(0)], itemColumns: [1, 0], names: ["a", "b"],
                                      sortKeys: keys, distinctOn: [])
        let evaluating = ProjectOperator(input: input, items: [inputColumn(1), inputColumn(0)], names: ["a", "b"],
                                         sortKeys: [.hidden(inputColumn(2)), .output(1)], distinctOn: [])
        let expected = rows.map { [$0[1], $0[0], $0[2], $0[0]] }
        #expect(try drainOperator(copying) == expected)
        #expect(try drainOperator(evaluating) == expected)
        // One item that is not a column: every row is evaluated.
        let mixed = ProjectOperator(input: input, items: [inputColumn(1), { _ in .integer(1) }], itemColumns: [1, nil], names: ["a", "one"],
                                    sortKeys: keys, distinctOn: [])
        #expect(try drainOperator(mixed) == rows.map { [$0[1], .integer(1), $0[2], .integer(1)] })
    }

    @Test func hashAggregationReadingColumnsMatchesEvaluatingAndSpills() throws {
        // Rows (g, x): 40 groups; count(*), sum(x), count(DISTINCT x) per group.
        let rows: [[Value]] = (0..<2_000).map { (i: Int) -> [Value] in
            let x: Value = i % 9 == 0 ? .null : .integer(Int64(i % 13))
            return [.integer(Int64(i * 7 % 40)), x]
        }
        let input = RowsOperator(rows, width: 2, table: "t")
        func calls(direct: Bool) -> [AggregateCollector.Call] {
            [AggregateCollector.Call(name: "count", argument: nil, distinct: false, key: "count(*)"),
             AggregateCollector.Call(name: "sum", argument: inputColumn(1), argumentColumn: direct ? 1 : nil, distinct: false, key: "sum(x)"),
             AggregateCollector.Call(name: "count", argument: inputColumn(1), argumentColumn: direct ? 1 : nil, distinct: true, key: "count(DISTINCT x)")]
        }
        let copying = HashAggregateOperator(input: input, groups: [inputColumn(0)], groupColumns: [0], groupSQL: ["g"], calls: calls(direct: true), estimatedRows: 40)
        let evaluating = HashAggregateOperator(input: input, groups: [inputColumn(0)], groupSQL: ["g"], calls: calls(direct: false), estimatedRows: 40)
        var expected: [[Value]] = []
        for g in 0..<40 {
            let xs = rows.filter { $0[0] == .integer(Int64(g)) }.map { $0[1] }
            let present = xs.compactMap { if case .integer(let v) = $0 { return v } else { return nil } }
            let sum: Value = present.isEmpty ? .null : .integer(present.reduce(0, +))
            expected.append([.integer(Int64(g)), .integer(Int64(xs.count)), sum, .integer(Int64(Set(present).count))])
        }
        #expect(sorted(try drainOperator(copying)) == expected)
        #expect(sorted(try drainOperator(evaluating)) == expected)
        // Past work memory (5 groups), groups go to partitions and come back whole.
        #expect(sorted(try drainOperator(copying, workMemoryRows: 5)) == expected)
        #expect(sorted(try drainOperator(evaluating, workMemoryRows: 5)) == expected)
    }

    @Test func wideRowsSpillByBytesLongBeforeTheRowCount() throws {
        // 400 rows with a 2 kB text (300 distinct): ~800 kB, four times the spill bytes of a
        // 1 MB statement limit (256 kB), and far below the work memory's 250,000 rows.
        var rng = SplitMix64(seed: 9)
        let wide = String(repeating: "w", count: 2_000)
        let rows: [[Value]] = (0..<400).map { i in [.text(wide + "\(i % 300)"), .integer(Int64(rng.next() % 50)), .integer(Int64(i))] }
        let input = RowsOperator(rows, width: 3, table: "t")
        let limit = 1 << 20
        func check(_ op: PhysicalOperator, _ what: String, compare: ([[Value]]) -> [[Value]] = { $0 }) throws {
            var spills = -1
            let inMemory = try drainOperator(op) { spills = $0 }
            #expect(spills == 0, "\(what) in memory")
            #expect(compare(try drainOperator(op, statementMemory: limit) { spills = $0 }) == compare(inMemory), "\(what) spilled")
            #expect(spills > 0, "\(what) spills by bytes")
        }
        let order = RowOrder(items: [OrderItem(expr: .literal(.null))], keyStart: 1)
        try check(SortOperator(input: input, order: order, keySQL: [], wanted: nil), "sort")
        try check(DistinctOperator(input: input, width: 1), "DISTINCT", compare: sorted)
        let count = AggregateCollector.Call(name: "count", argument: nil, distinct: false, key: "count(*)")
        try check(HashAggregateOperator(input: input, groups: [inputColumn(0)], groupColumns: [0], groupSQL: ["k"], calls: [count], estimatedRows: 300),
                  "hash aggregation", compare: sorted)
        let other = RowsOperator((0..<300).map { [.text(wide + "\($0)"), .integer(Int64($0))] }, width: 2, table: "o")
        try check(HashJoinOperator(kind: .inner, left: input, right: other, leftKeys: [inputColumn(0)], rightKeys: [inputColumn(0)],
                                   leftKeyColumns: [0], rightKeyColumns: [0], keySQL: [], conditions: [], conditionSQL: [], buildLeft: true,
                                   estimatedRows: 400), "hash join", compare: sorted)
    }

    @Test func limitsSkipAndStop() throws {
        let rows: [[Value]] = (0..<10).map { [.integer(Int64($0))] }
        let input = RowsOperator(rows, width: 1, table: "t")
        #expect(try drainOperator(LimitOperator(input: input, bounds: { _ in (3, 4) }, estimatedRows: 4)) == Array(rows[3..<7]))
        #expect(try drainOperator(LimitOperator(input: input, bounds: { _ in (8, nil) }, estimatedRows: 2)) == Array(rows[8...]))
        #expect(try drainOperator(LimitOperator(input: input, bounds: { _ in (0, 0) }, estimatedRows: 0)).isEmpty)
        #expect(try drainOperator(LimitOperator(input: input, bounds: { _ in (20, 5) }, estimatedRows: 0)).isEmpty)
    }

    @Test func analyzingCountsEachOperatorsLoopsAndRows() throws {
        let rows: [[Value]] = (0..<10).map { [.integer(Int64($0))] }
        let input = RowsOperator(rows, width: 1, table: "t")
        let isOdd: Evaluator = { ctx in
            guard case .integer(let n) = ctx.frames[ctx.frames.count - 1][0] else { return .null }
            return .boolean(n % 2 == 1)
        }
        let filter = FilterOperator(input: input, conditions: [isOdd], conditionSQL: ["odd"], estimatedRows: 5)
        let ctx = ExecutionContext(parameters: [], txn: nil, catalog: nil)
        let profile = OperatorProfile()
        ctx.profile = profile
        for _ in 0..<2 {
            let next = try filter.stream(ctx)
            while try next() != nil {}
        }
        let lines = profile.annotate(filter.explainNode).lines()
        #expect(lines[0].contains("rows=5 loops=2"), "\(lines)")
        #expect(lines.contains { $0.contains("Rows") && $0.contains("rows=10 loops=2") }, "\(lines)")
    }
}
