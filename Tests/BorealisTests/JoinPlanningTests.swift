// The join planner (docs/query-engine.md §"Join planning"): where WHERE conjuncts land, which
// order and method it picks, and that every method gives the same rows.

import Testing
@testable import Borealis
@testable import BorealisSQL
@testable import BorealisStorage

@Suite struct JoinPlanningTests {
    private func plan(_ db: Database, _ sql: String) throws -> [String] {
        try db.execute("EXPLAIN " + sql).rows.map { $0[0].description }
    }

    /// customers (100 rows, 10 regions) and orders (5,000 rows) indexed by customer.
    private func shop() throws -> (TemporaryDirectory, Database) {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute("CREATE TABLE c(id INTEGER PRIMARY KEY, region INTEGER, name TEXT)")
        try db.execute("CREATE TABLE o(id INTEGER PRIMARY KEY, cid INTEGER, amount INTEGER)")
        try db.execute("CREATE INDEX o_cid ON o(cid)")
        try db.write { db in
            for i in 1...100 { try db.execute("INSERT INTO c VALUES ($1, $2, $3)", [.integer(Int64(i)), .integer(Int64(i % 10)), .text("c\(i)")]) }
            for i in 1...5000 { try db.execute("INSERT INTO o VALUES ($1, $2, $3)", [.integer(Int64(i)), .integer(Int64(i % 100 + 1)), .integer(Int64(i % 7))]) }
        }
        return (dir, db)
    }

    @Test func whereConjunctsFilterTheirTableUnderAnExplicitJoin() throws {
        let (_, db) = try shop()
        let lines = try plan(db, "SELECT count(*), sum(o.amount) FROM c JOIN o ON o.cid = c.id WHERE c.region = 1")
        let scan = try #require(lines.firstIndex { $0.contains("Seq Scan on c") })
        #expect(lines[scan + 1].contains("Filter: (c.region = 1)"), "\(lines)")
        #expect(lines.contains { $0.contains("Index Nested Loop") }, "\(lines)")
        #expect(lines.contains { $0.contains("Probe: index o_cid on o") }, "\(lines)")
        let result = try db.execute("SELECT count(*), sum(o.amount) FROM c JOIN o ON o.cid = c.id WHERE c.region = 1").rows
        let expected = (1...5000).filter { ($0 % 100 + 1) % 10 == 1 }
        #expect(result == [[.integer(Int64(expected.count)), .integer(Int64(expected.map { $0 % 7 }.reduce(0, +)))]])
        try db.close()
    }

    @Test func aLeftJoinProbesTheIndexOfItsRightSide() throws {
        let (_, db) = try shop()
        let lines = try plan(db, "SELECT c.id, o.amount FROM c LEFT JOIN o ON o.cid = c.id WHERE c.id < 5")
        #expect(lines.contains { $0.contains("Index Nested Loop Left Join") }, "\(lines)")
        #expect(lines.contains { $0.contains("Row ID Range Scan on c") }, "\(lines)")
        try db.execute("INSERT INTO c VALUES (1000, 1, 'lonely')")
        let rows = try db.execute("SELECT c.id, count(o.id) FROM c LEFT JOIN o ON o.cid = c.id WHERE c.id IN (1, 1000) GROUP BY c.id ORDER BY c.id").rows
        #expect(rows == [[.integer(1), .integer(50)], [.integer(1000), .integer(0)]])
        try db.close()
    }

    @Test func joinOrderStartsFromTheSmallestFilteredTable() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute("CREATE TABLE big1(id INTEGER PRIMARY KEY, x INTEGER); CREATE TABLE big2(id INTEGER PRIMARY KEY, x INTEGER, y INTEGER)")
        try db.execute("CREATE TABLE small(id INTEGER PRIMARY KEY, y INTEGER, z INTEGER)")
        try db.write { db in
            for i in 1...2000 {
                try db.execute("INSERT INTO big1 VALUES ($1, $2)", [.integer(Int64(i)), .integer(Int64(i % 500))])
                try db.execute("INSERT INTO big2 VALUES ($1, $2, $3)", [.integer(Int64(i)), .integer(Int64(i % 500)), .integer(Int64(i % 40))])
            }
            for i in 1...10 { try db.execute("INSERT INTO small VALUES ($1, $2, $3)", [.integer(Int64(i)), .integer(Int64(i)), .integer(Int64(i % 3))]) }
        }
        let sql = "SELECT count(*) FROM big1, big2, small WHERE big1.x = big2.x AND big2.y = small.y AND small.z = 1"
        let lines = try plan(db, sql)
        let firstScan = try #require(lines.first { $0.contains("Scan on") })
        #expect(firstScan.contains("on small"), "\(lines)")
        // small.z = 1 keeps y in {1, 4, 7, 10}; big2 rows with y in it: 50 each; each matches 4 big1 rows.
        #expect(try db.execute(sql).rows == [[.integer(4 * 50 * 4)]])
        try db.close()
    }

    /// 21 tables written so that no two neighbours are joined: joined in written order this
    /// is a cross product of billions of rows; ordered along the join conditions it is quick.
    @Test func twentyOneTablesInAnUnhelpfulOrderJoinAlongTheirConditions() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.write { db in
            for t in 0...20 {
                try db.execute("CREATE TABLE t\(t)(a INTEGER, b INTEGER)")
                for i in 1...5 { try db.execute("INSERT INTO t\(t) VALUES (\(i), \(i))") }
            }
        }
        let order = Array(stride(from: 0, through: 20, by: 2)) + Array(stride(from: 1, through: 20, by: 2))
        let conditions = (0..<20).map { "t\($0).b = t\($0 + 1).a" }
        let sql = "SELECT count(*), sum(t0.a + t20.b) FROM " + order.map { "t\($0)" }.joined(separator: ", ")
            + " WHERE " + conditions.joined(separator: " AND ")
        #expect(try db.execute(sql).rows == [[.integer(5), .integer(30)]])
        try db.close()
    }

    /// The same joins through an index nested loop (index present) and a hash join (index
    /// dropped), over keys of mixed types and NULLs, give the same rows.
    @Test func everyJoinMethodGivesTheSameRows() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute("CREATE TABLE a(id INTEGER PRIMARY KEY, k INTEGER, r REAL)")
        try db.execute("CREATE TABLE b(id INTEGER PRIMARY KEY, ak INTEGER, ar REAL, at TEXT)")
        var generator = SystemRandomNumberGenerator()
        try db.write { db in
            for i in 1...300 {
                let k: Value = Int.random(in: 0..<10, using: &generator) == 0 ? .null : .integer(Int64.random(in: 0..<60, using: &generator))
                try db.execute("INSERT INTO a VALUES ($1, $2, $3)", [.integer(Int64(i)), k, .double(Double(i % 50) / 2)])
            }
            for i in 1...20 {
                let ak: Value = i % 7 == 0 ? .null : .integer(Int64.random(in: 0..<70, using: &generator))
                try db.execute("INSERT INTO b VALUES ($1, $2, $3, $4)", [.integer(Int64(i)), ak, .double(Double(i) / 2), .text(String(i))])
            }
        }
        let queries = [
            "SELECT a.id, b.id FROM b JOIN a ON a.k = b.ak",
            "SELECT a.id, b.id FROM b JOIN a ON a.id = b.ak",
            "SELECT a.id, b.id FROM b JOIN a ON a.id = b.ar",
            "SELECT a.id, b.id FROM b JOIN a ON a.r = b.ar",
            "SELECT a.id, b.id FROM b LEFT JOIN a ON a.k = b.ak AND a.r > 3",
            "SELECT a.id, b.id FROM b LEFT JOIN a ON a.id = b.ak",
            "SELECT a.id, b.id FROM b, a WHERE a.k = b.ak AND a.id % 2 = 0",
        ]
        func results() throws -> [[[Value]]] {
            try queries.map { try db.execute($0 + " ORDER BY 1, 2").rows }
        }
        try db.execute("CREATE INDEX a_k ON a(k); CREATE INDEX a_r ON a(r)")
        #expect(try plan(db, queries[0]).contains { $0.contains("Index Nested Loop") })
        let indexed = try results()
        try db.execute("DROP INDEX a_k; DROP INDEX a_r")
        let hashed = try results()
        for (i, query) in queries.enumerated() {
            #expect(indexed[i] == hashed[i], "\(query)")
        }
        #expect(indexed[0].count > 0)
        try db.close()
    }
}
