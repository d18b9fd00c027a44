// Window functions: the work they do (counted, never timed) and results over frames checked
// against a direct computation in Swift. SQL behaviour against PostgreSQL lives in
// Tests/SQL/window.test.

import Foundation
import Testing
@testable import Borealis
@testable import BorealisSQL
@testable import BorealisStorage

@Suite struct WindowFunctionTests {
    /// Runs `sql` and returns its rows with the frame-row visits it made.
    func counted(_ db: Database, _ sql: String) throws -> (rows: [[Value]], visits: Int) {
        let counter = WindowWorkCounter()
        let result = try WindowCollector.$workCounter.withValue(counter) { try db.execute(sql) }
        return (result.rows, counter.frameRowVisits)
    }

    func integers(_ rows: [[Value]], _ column: Int) -> [Int64?] {
        rows.map { if case .integer(let v) = $0[column] { return v } else { return nil } }
    }

    @Test func runningSumVisitsEachRowOnce() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        let n = 200_000
        try db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, g INTEGER, x INTEGER)")
        try db.execute("""
            INSERT INTO t WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < \(n))
            SELECT i, i % 10, (i * 7) % 1000 FROM c
            """)
        let (rows, visits) = try counted(db, "SELECT id, g, x, sum(x) OVER (PARTITION BY g ORDER BY id) FROM t ORDER BY id")
        // Recomputing every frame would visit Σ over 10 partitions of 20k²/2 rows: 2·10⁹.
        #expect(visits == n)
        #expect(rows.count == n)
        var running = [Int64](repeating: 0, count: 10)
        let firstWrong = rows.firstIndex { row in
            guard case .integer(let g) = row[1], case .integer(let x) = row[2] else { return true }
            running[Int(g)] += x
            return row[3] != .integer(running[Int(g)])
        }
        #expect(firstWrong == nil, "\(firstWrong.map { rows[$0] } ?? [])")
        try db.close()
    }

    @Test func slidingFramesVisitEachRowTwice() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        let n = 20_000
        try db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, x INTEGER)")
        try db.execute("""
            INSERT INTO t WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < \(n))
            SELECT i, (i * 7919) % 1013 FROM c
            """)
        let frame = "ORDER BY id ROWS BETWEEN 500 PRECEDING AND 300 FOLLOWING"
        for function in ["sum", "count", "avg", "min", "max"] {
            let (rows, visits) = try counted(db, "SELECT \(function)(x) OVER (\(frame)) FROM t")
            // Each row enters the state once and leaves it at most once (recomputing: 801 per row).
            #expect(visits <= 2 * n, "\(function)")
            #expect(rows.count == n)
        }
        let (lags, lagVisits) = try counted(db, "SELECT lag(x, 3) OVER (ORDER BY id), rank() OVER (ORDER BY x) FROM t")
        #expect(lagVisits == 0)
        #expect(lags.count == n)
    }

    /// Every aggregate the sliding states handle, over frames of every shape, on data with NULLs,
    /// duplicates and negatives, against the same aggregate computed over each frame directly.
    @Test func slidingAggregatesMatchEachFrameComputedDirectly() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, g INTEGER, x INTEGER)")
        var generator = SystemRandomNumberGenerator()
        var values: [(Int64, Int64?)] = []
        for id in 1...300 {
            let x: Int64? = Int.random(in: 0..<6, using: &generator) == 0 ? nil : Int64.random(in: -20...20, using: &generator)
            values.append((Int64(id % 3), x))
            try db.execute("INSERT INTO t VALUES ($1, $2, $3)", [.integer(Int64(id)), .integer(Int64(id % 3)), x.map(Value.integer) ?? .null])
        }
        let bounds: [(String, (Int) -> Int)] = [("UNBOUNDED PRECEDING", { _ in Int.min / 2 }), ("7 PRECEDING", { $0 - 7 }),
                                                ("1 PRECEDING", { $0 - 1 }), ("CURRENT ROW", { $0 }),
                                                ("2 FOLLOWING", { $0 + 2 }), ("UNBOUNDED FOLLOWING", { _ in Int.max / 2 })]
        for (i, start) in bounds.enumerated() where i < bounds.count - 1 {
            for end in bounds[max(i, 1)...] {
                let frame = "PARTITION BY g ORDER BY id ROWS BETWEEN \(start.0) AND \(end.0)"
                let sql = "SELECT g, count(x) OVER (\(frame)), sum(x) OVER (\(frame)), min(x) OVER (\(frame)), max(x) OVER (\(frame)), count(DISTINCT x) OVER (\(frame)), sum(DISTINCT x) OVER (\(frame)) FROM t ORDER BY id"
                let rows = try db.execute(sql).rows
                // Positions of each row within its partition.
                var partitions: [Int64: [Int64?]] = [:]
                var position: [Int] = []
                for (g, x) in values {
                    position.append(partitions[g, default: []].count)
                    partitions[g, default: []].append(x)
                }
                for (r, (g, _)) in values.enumerated() {
                    let members = partitions[g]!
                    let p = position[r]
                    let from = max(0, start.1(p)), to = min(members.count - 1, end.1(p))
                    let frameValues = from <= to ? members[from...to].compactMap { $0 } : []
                    let distinct = Set(frameValues)
                    let expected: [Value] = [
                        .integer(g), .integer(Int64(frameValues.count)),
                        frameValues.isEmpty ? .null : .integer(frameValues.reduce(0, +)),
                        frameValues.min().map(Value.integer) ?? .null, frameValues.max().map(Value.integer) ?? .null,
                        .integer(Int64(distinct.count)), distinct.isEmpty ? .null : .integer(distinct.reduce(0, +)),
                    ]
                    #expect(rows[r] == expected, "\(frame), row \(r + 1)")
                    if rows[r] != expected { return }
                }
            }
        }
    }

    @Test func frameOffsetsAndArgumentsNeverOverflow() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, x INTEGER)")
        try db.execute("INSERT INTO t VALUES (1, 10), (2, 20), (3, 30)")
        let largest = "9223372036854775807"
        let whole = try db.execute("SELECT sum(x) OVER (ORDER BY id ROWS BETWEEN \(largest) PRECEDING AND \(largest) FOLLOWING), min(x) OVER (ORDER BY id ROWS BETWEEN CURRENT ROW AND \(largest) FOLLOWING) FROM t ORDER BY id")
        #expect(whole.rows == [[.integer(60), .integer(10)], [.integer(60), .integer(20)], [.integer(60), .integer(30)]])
        let empty = try db.execute("SELECT count(x) OVER (ORDER BY id ROWS BETWEEN \(largest) FOLLOWING AND \(largest) FOLLOWING) FROM t")
        #expect(empty.rows == [[.integer(0)], [.integer(0)], [.integer(0)]])
        for sql in ["SELECT lag(x, -9223372036854775807-1) OVER (ORDER BY id) FROM t",
                    "SELECT lead(x, \(largest)) OVER (ORDER BY id) FROM t",
                    "SELECT ntile(\(largest)) OVER (ORDER BY id) FROM t",
                    "SELECT nth_value(x, \(largest)) OVER (ORDER BY id) FROM t"] {
            #expect(throws: DatabaseError.self, "\(sql)") { try db.execute(sql) }
        }
    }
}
