// Batched execution (docs/query-engine.md §"Batches"): a table scan filling batches leaf by
// leaf, and the consumers reading them in place (aggregation, Top-N) give the rows the
// row-at-a-time paths give — across leaf and batch boundaries, within row-id ranges of every
// kind of bound, with filters, overflow pages, spilling and ties.

import Testing
@testable import Borealis
@testable import BorealisSQL
@testable import BorealisStorage

/// Rows given by the test, offered both as a row stream and as batches of at most `batchRows`.
private final class BatchedRowsOperator: PhysicalOperator {
    let rows: [[Value]]
    let columns: [ScopeColumn]
    let batchRows: Int
    /// Whether `openBatches` offers batches (false: the consumer must read rows).
    let offersBatches: Bool

    init(_ rows: [[Value]], width: Int, batchRows: Int, offersBatches: Bool = true) {
        self.rows = rows
        columns = (0..<width).map { ScopeColumn(table: "t", name: "c\($0)") }
        self.batchRows = batchRows
        self.offersBatches = offersBatches
    }

    var label: String { "Rows" }
    var estimatedRows: Double { Double(rows.count) }
    func open(_ ctx: ExecutionContext) throws -> RowStream { Planner.stream(rows) }

    func openBatches(_ ctx: ExecutionContext) throws -> BatchStream? {
        guard offersBatches else { return nil }
        var position = 0
        let rows = rows, batchRows = batchRows
        return { batch in
            batch.count = 0
            while position < rows.count && batch.count < min(batchRows, batch.capacity) {
                for (c, value) in rows[position].enumerated() { batch.values[batch.count * batch.width + c] = value }
                batch.count += 1
                position += 1
            }
            return batch.count > 0
        }
    }
}

@Suite struct BatchTests {
    // MARK: Operators over batches

    @Test func aggregationOverBatchesMatchesRowsForEveryPathAndSpills() throws {
        // (g, x): 50 groups, NULLs among the values.
        let rows: [[Value]] = (0..<3_000).map { (i: Int) -> [Value] in
            let x: Value = i % 7 == 0 ? .null : .integer(Int64(i % 17))
            return [.integer(Int64(i * 11 % 50)), x]
        }
        func calls(direct: Bool) -> [AggregateCollector.Call] {
            [AggregateCollector.Call(name: "count", argument: nil, distinct: false, key: "count(*)"),
             AggregateCollector.Call(name: "sum", argument: inputColumn(1), argumentColumn: direct ? 1 : nil, distinct: false, key: "sum(x)"),
             AggregateCollector.Call(name: "max", argument: inputColumn(1), argumentColumn: direct ? 1 : nil, distinct: true, key: "max(DISTINCT x)")]
        }
        for grouped in [true, false] {
            for direct in [true, false] {
                func aggregate(_ input: PhysicalOperator) -> HashAggregateOperator {
                    HashAggregateOperator(input: input, groups: grouped ? [inputColumn(0)] : [], groupColumns: grouped ? [0] : [],
                                          groupSQL: grouped ? ["g"] : [], calls: calls(direct: direct), estimatedRows: 50)
                }
                let byRows = aggregate(BatchedRowsOperator(rows, width: 2, batchRows: 64, offersBatches: false))
                let byBatches = aggregate(BatchedRowsOperator(rows, width: 2, batchRows: 64))
                for memory in [250_000, 7] {
                    let expected = try drainOperator(byRows, workMemoryRows: memory)
                    #expect(try drainOperator(byBatches, workMemoryRows: memory) == expected, "grouped \(grouped), direct \(direct), memory \(memory)")
                    #expect(expected.count == (grouped ? 50 : 1))
                }
            }
        }
        // No rows at all: one row of empty aggregates without GROUP BY, none with it.
        let empty = BatchedRowsOperator([], width: 2, batchRows: 64)
        #expect(try drainOperator(HashAggregateOperator(input: empty, groups: [], groupSQL: [], calls: calls(direct: true), estimatedRows: 1))
                == [[.integer(0), .null, .null]])
        #expect(try drainOperator(HashAggregateOperator(input: empty, groups: [inputColumn(0)], groupColumns: [0], groupSQL: ["g"],
                                                calls: calls(direct: true), estimatedRows: 1)).isEmpty)
    }

    @Test func topNOverBatchesIsStableAcrossBatchBoundaries() throws {
        // Keys with many ties: the first rows of each key in input order must win.
        let rows: [[Value]] = (0..<2_500).map { i in [.integer(Int64(i % 5)), .integer(Int64(i))] }
        let order = [OrderItem(expr: .column(table: nil, name: "c0"), descending: true)]
        for k in [1, 3, 10, 700] {
            func topN(_ input: PhysicalOperator) -> TopNOperator {
                TopNOperator(input: input, keys: [.column(0)], orderBy: order, keySQL: ["c0"], wanted: { _ in k })
            }
            let expected = try drainOperator(topN(BatchedRowsOperator(rows, width: 2, batchRows: 100, offersBatches: false)))
            #expect(expected.count == k)
            #expect(expected.first == [.integer(4), .integer(4)])
            #expect(try drainOperator(topN(BatchedRowsOperator(rows, width: 2, batchRows: 97))) == expected, "k \(k)")
        }
    }

    /// Keys of every awkward kind for the integer-keyed fast paths: NULL, negatives, the
    /// extremes, doubles and numerics equal to an integer (which group with it), a fraction,
    /// and many distinct keys (the map of integer keys grows several times).
    private static func awkwardKeys(_ i: Int) -> Value {
        switch i % 13 {
        case 0: return .null
        case 1: return .integer(.min)
        case 2: return .integer(.max)
        case 3: return .double(Double(i % 40))
        case 4: return .numeric(Numeric(Int64(i % 40)))
        case 5: return .double(2.5)
        case 6: return .integer(Int64(i % 3_000) - 1_500)
        default: return .integer(Int64(i % 40))
        }
    }

    @Test func groupingByOneIntegerColumnAgreesWithEvaluatedKeysAndSpills() throws {
        let rows: [[Value]] = (0..<20_000).map { i in [Self.awkwardKeys(i * 7), i % 9 == 0 ? .null : .integer(Int64(i % 1_000))] }
        func aggregate(direct: Bool) -> HashAggregateOperator {
            let calls = [AggregateCollector.Call(name: "count", argument: nil, distinct: false, key: "count(*)"),
                         AggregateCollector.Call(name: "sum", argument: inputColumn(1), argumentColumn: direct ? 1 : nil, distinct: false, key: "sum(x)"),
                         AggregateCollector.Call(name: "avg", argument: inputColumn(1), argumentColumn: direct ? 1 : nil, distinct: false, key: "avg(x)"),
                         AggregateCollector.Call(name: "min", argument: inputColumn(1), argumentColumn: direct ? 1 : nil, distinct: false, key: "min(x)")]
            // With `direct`, keys and arguments are read from the row (the integer map); without,
            // both are evaluated and hashed as arrays.
            return HashAggregateOperator(input: BatchedRowsOperator(rows, width: 2, batchRows: 333), groups: [inputColumn(0)],
                                         groupColumns: direct ? [0] : [nil], groupSQL: ["g"], calls: calls, estimatedRows: 100)
        }
        for memory in [250_000, 50, 3] {
            var spills = 0
            let expected = try drainOperator(aggregate(direct: false), workMemoryRows: memory)
            let fast = try drainOperator(aggregate(direct: true), workMemoryRows: memory) { spills = $0 }
            #expect(fast == expected, "memory \(memory)")
            #expect(spills > 0 || memory == 250_000)
            // 1 and 1.0 and numeric 1 are one group; 2.5 its own; NULL one group.
            #expect(Set(expected.map { $0[0].groupKey }).count == expected.count)
            #expect(expected.count > 1_000)
        }
    }

    @Test func topNOfOneIntegerKeyAgreesWithEvaluatedKeysWithTiesNullsAndOtherNumbers() throws {
        let rows: [[Value]] = (0..<6_000).map { i in [Self.awkwardKeys(i * 5 + i / 13), .integer(Int64(i))] }
        for descending in [true, false] {
            for nullsFirst in [true, false, nil] {
                let order = [OrderItem(expr: .column(table: nil, name: "c0"), descending: descending, nullsFirst: nullsFirst)]
                for k in [1, 2, 7, 40, 1_000, 7_000] {
                    // `.expression` keys read rows one by one and compare key arrays; `.column`
                    // keys over batches drop rows by one integer comparison once the heap is full.
                    let evaluated = TopNOperator(input: BatchedRowsOperator(rows, width: 2, batchRows: 100), keys: [.expression(inputColumn(0))],
                                                 orderBy: order, keySQL: ["c0"], wanted: { _ in k })
                    let inPlace = TopNOperator(input: BatchedRowsOperator(rows, width: 2, batchRows: 100), keys: [.column(0)],
                                               orderBy: order, keySQL: ["c0"], wanted: { _ in k })
                    let expected = try drainOperator(evaluated)
                    #expect(expected.count == min(k, rows.count))
                    #expect(try drainOperator(inPlace) == expected, "descending \(descending), nulls first \(String(describing: nullsFirst)), k \(k)")
                }
            }
        }
    }

    // MARK: Table scans filling batches

    /// `t(id INTEGER PRIMARY KEY, g INTEGER, x INTEGER, s TEXT)` with ids 1…`rows`; every
    /// 500th row's text is long enough to go to overflow pages.
    private func table(rows: Int) throws -> (TemporaryDirectory, Database) {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, g INTEGER, x INTEGER, s TEXT)")
        try db.execute("""
            INSERT INTO t SELECT i, i % 13, (i * 7919) % 1009,
                CASE WHEN i % 500 = 0 THEN repeat('long', 5000) ELSE 'row ' || i END
            FROM generate_series(1, \(rows)) i
            """)
        return (dir, db)
    }

    private func scalar(_ db: Database, _ sql: String) throws -> Value? {
        try db.execute(sql).rows.first?.first
    }

    @Test func scansInBatchesReadEveryRowOnceAcrossLeavesBatchesAndOverflowPages() throws {
        let (dir, db) = try table(rows: 5_000)
        defer { withExtendedLifetime(dir) {} }
        let expectedSum = (1...5_000).reduce(Int64(0)) { $0 + Int64($1 * 7919 % 1009) }
        let whole = try db.execute("SELECT count(*), sum(x), sum(id), sum(length(s)), max(s) FROM t").rows
        let longRows = Int64(5_000 / 500)
        let shortLength = (1...5_000).filter { $0 % 500 != 0 }.reduce(Int64(0)) { $0 + Int64("row \($1)".count) }
        #expect(whole == [[.integer(5_000), .integer(expectedSum), .integer(5_000 * 5_001 / 2),
                           .integer(longRows * 20_000 + shortLength), .text("row 999")]])
        // Grouped, reading key and argument columns in place.
        let groups = try db.execute("SELECT g, count(*), sum(x) FROM t GROUP BY g ORDER BY g").rows
        #expect(groups.count == 13)
        #expect(groups.reduce(Int64(0)) { total, row in
            guard case .integer(let n) = row[1] else { return total }
            return total + n
        } == 5_000)
        // Top-N reading keys in place; the long texts come back whole.
        let top = try db.execute("SELECT id, length(s) FROM t ORDER BY length(s) DESC, id LIMIT 3").rows
        #expect(top == [[.integer(500), .integer(20_000)], [.integer(1_000), .integer(20_000)], [.integer(1_500), .integer(20_000)]])
        let topByColumn = try db.execute("SELECT id, x FROM t ORDER BY x DESC, id LIMIT 2").rows
        #expect(topByColumn.first?[1] == .integer(1_008))
    }

    @Test func windowsOverABatchedScanGiveEveryRowItsValues() throws {
        let (dir, db) = try table(rows: 3_000)
        defer { withExtendedLifetime(dir) {} }
        // Running sums per group, computed here in id order.
        var running = [Int64](repeating: 0, count: 13)
        var expected: [[Value]] = []
        for i in 1...3_000 {
            running[i % 13] += Int64(i * 7919 % 1009)
            expected.append([.integer(Int64(i)), .integer(running[i % 13]), .integer(Int64(i))])
        }
        // The window reads the scan's batches (3 of them); EXPLAIN shows no other input.
        let rows = try db.execute("SELECT id, sum(x) OVER (PARTITION BY g ORDER BY id), row_number() OVER (ORDER BY id) FROM t ORDER BY id").rows
        #expect(rows == expected)
        // Long texts (overflow pages) come through whole beside the window's values.
        let long = try db.execute("SELECT id, length(s), count(*) OVER () FROM t WHERE id % 500 = 0 ORDER BY id").rows
        #expect(long.count == 6 && long.allSatisfy { $0[1] == .integer(20_000) && $0[2] == .integer(6) })
    }

    @Test func rowIDRangesInBatchesHonourEveryKindOfBound() throws {
        let (dir, db) = try table(rows: 3_000)
        defer { withExtendedLifetime(dir) {} }
        let cases: [(String, Int64)] = [
            ("id BETWEEN 100 AND 1099", 1_000),
            ("id > 2990", 10),
            ("id >= 2990", 11),
            ("id < 5", 4),
            ("id <= 5", 5),
            ("id > 2990.5", 10),
            ("id < 4.5", 4),
            ("id >= 2990.0", 11),
            ("id > 9223372036854775807", 0),
            ("id < -9223372036854775808", 0),
            ("id >= -9223372036854775808 AND id <= 9223372036854775807", 3_000),
            ("id > NULL", 0),
            ("id > 10 AND id < 10", 0),
        ]
        for (condition, expected) in cases {
            #expect(try scalar(db, "SELECT count(*) FROM t WHERE \(condition)") == .integer(expected), "\(condition)")
            // The same through a filter the range does not cover (x is not the row id).
            #expect(try scalar(db, "SELECT count(*) FROM t WHERE \(condition) AND x >= 0") == .integer(expected), "\(condition) with a filter")
        }
        // Parameters bound as integers, floats and NULL.
        #expect(try db.execute("SELECT count(*) FROM t WHERE id > $1 AND id <= $2", [.integer(10), .integer(20)]).rows == [[.integer(10)]])
        #expect(try db.execute("SELECT count(*) FROM t WHERE id > $1", [.double(2_999.5)]).rows == [[.integer(1)]])
        #expect(try db.execute("SELECT count(*) FROM t WHERE id > $1", [.null]).rows == [[.integer(0)]])
    }

    @Test func filteredBatchesKeepOnlyPassingRowsAndAnalyzeCountsThem() throws {
        let (dir, db) = try table(rows: 4_000)
        defer { withExtendedLifetime(dir) {} }
        #expect(try scalar(db, "SELECT count(*) FROM t WHERE g = 3") == .integer(Int64((1...4_000).filter { $0 % 13 == 3 }.count)))
        let small: [Int] = (1...4_000).filter { $0 * 7919 % 1009 < 10 }
        let smallSum: Int64 = small.reduce(0) { $0 + Int64($1) }
        #expect(try scalar(db, "SELECT sum(id) FROM t WHERE x < 10") == .integer(smallSum))
        // A filter that throws stops the statement with its error.
        #expect(throws: DatabaseError.self) { try db.execute("SELECT count(*) FROM t WHERE 1 / (id - 2500) > 0") }
        let plan = try db.execute("EXPLAIN ANALYZE SELECT count(*) FROM t WHERE g = 3").rows.compactMap { row -> String? in
            if case .text(let line) = row.first { return line } else { return nil }
        }
        #expect(plan.contains { $0.contains("Seq Scan on t") && $0.contains("rows=308 loops=1") }, "\(plan)")
    }

    @Test func aScanInsideATransactionSeesItsOwnWritesInBatches() throws {
        let (dir, db) = try table(rows: 2_000)
        defer { withExtendedLifetime(dir) {} }
        try db.execute("BEGIN")
        try db.execute("DELETE FROM t WHERE id % 2 = 0")
        try db.execute("INSERT INTO t SELECT i, 0, 1, 'new' FROM generate_series(5001, 5100) i")
        #expect(try db.execute("SELECT count(*), sum(x) FILTER (WHERE s = 'new') FROM t").rows == [[.integer(1_100), .integer(100)]])
        try db.execute("ROLLBACK")
        #expect(try scalar(db, "SELECT count(*) FROM t") == .integer(2_000))
    }
}
