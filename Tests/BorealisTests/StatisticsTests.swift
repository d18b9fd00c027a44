// ANALYZE and the statistics the planner reads (docs/query-engine.md, "Statistics"): what is
// kept, when it is dropped, how estimates and join orders follow it, and when cached plans are
// made again.

import Foundation
import Testing
@testable import Borealis
@testable import BorealisSQL
@testable import BorealisStorage

@Suite struct StatisticsTests {
    /// `t`: 10,000 rows; `k` is 'common' in 90% of them and unique otherwise, `n` is NULL in a
    /// quarter of them, `v` runs 1…10,000.
    private func skewed() throws -> (TemporaryDirectory, Database) {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, k TEXT, n INTEGER, v INTEGER)")
        try db.write { db in
            for i in 1...10_000 {
                try db.execute("INSERT INTO t VALUES ($1, $2, $3, $4)", [
                    .integer(Int64(i)), .text(i % 10 == 0 ? "rare\(i)" : "common"),
                    i % 4 == 0 ? .null : .integer(Int64(i % 7)), .integer(Int64(i)),
                ])
            }
        }
        return (dir, db)
    }

    /// The estimated rows of the first line of EXPLAIN.
    private func estimate(_ db: Database, _ sql: String) throws -> Double {
        let line = try #require(try db.execute("EXPLAIN " + sql).rows.first?.first?.description)
        let range = try #require(line.range(of: "rows="))
        return try #require(Double(line[range.upperBound...].prefix { $0.isNumber || $0 == "." }))
    }

    @Test func analyzeKeepsSharesThatEstimatesFollow() throws {
        let (_, db) = try skewed()
        // Without statistics an equality keeps a fixed share whatever the value.
        #expect(try estimate(db, "SELECT * FROM t WHERE k = 'common'") == (try estimate(db, "SELECT * FROM t WHERE k = 'rare10'")))
        try db.execute("ANALYZE t")
        let common = try estimate(db, "SELECT * FROM t WHERE k = 'common'")
        let rare = try estimate(db, "SELECT * FROM t WHERE k = 'rare10'")
        #expect(common > 8_000 && common < 10_000, "\(common)")
        #expect(rare <= 3, "\(rare)")
        let nulls = try estimate(db, "SELECT * FROM t WHERE n IS NULL")
        #expect(nulls > 2_000 && nulls < 3_000, "\(nulls)")
        let below = try estimate(db, "SELECT * FROM t WHERE v < 1000")
        #expect(below > 600 && below < 1_500, "\(below)")
        let between = try estimate(db, "SELECT * FROM t WHERE v BETWEEN 2000 AND 2999")
        #expect(between > 600 && between < 1_500, "\(between)")
        let reversed = try estimate(db, "SELECT * FROM t WHERE 9000 < v")
        #expect(reversed > 600 && reversed < 1_500, "\(reversed)")

        let catalog = try #require(try db.withCatalog { catalog, _ in catalog.statistics["t"] })
        #expect(catalog.rowCount == 10_000)
        let k = try #require(catalog.columns["k"])
        #expect(k.decodedMostCommon() == [.text("common")])
        #expect(abs(k.mostCommonFrequencies[0] - 0.9) < 0.01)
        #expect(k.distinct < 0, "the distinct count of k grows with the table: \(k.distinct)")
        let n = try #require(catalog.columns["n"])
        #expect(n.nullFraction == 0.25 && n.distinctValues(rows: 10_000) == 7)
        try db.close()
    }

    @Test func statisticsFollowTheCatalogsTransactionsAndChanges() throws {
        let (_, db) = try skewed()
        func analyzed() throws -> Bool { try db.withCatalog { catalog, _ in catalog.statistics["t"] != nil } }
        try db.execute("BEGIN; ANALYZE t; ROLLBACK")
        #expect(try !analyzed())
        try db.execute("ANALYZE")
        #expect(try analyzed())
        try db.execute("ALTER TABLE t ADD COLUMN w INTEGER")
        #expect(try !analyzed(), "a changed table drops its statistics")
        try db.execute("ANALYZE VERBOSE t (k, v)")
        #expect(try analyzed())
        try db.execute("ALTER TABLE t RENAME TO u")
        #expect(try db.withCatalog { catalog, _ in catalog.statistics.isEmpty })
        try db.execute("ANALYZE u")
        try db.execute("TRUNCATE u")
        #expect(try db.withCatalog { catalog, _ in catalog.statistics.isEmpty })
        try db.execute("ANALYZE u; DROP TABLE u")
        #expect(try db.withCatalog { catalog, _ in catalog.statistics.isEmpty })

        try db.execute("CREATE VIEW vw AS SELECT 1 AS one")
        // As PostgreSQL: a view is skipped, a missing table or column is an error.
        try db.execute("CREATE TABLE kept(x INTEGER); ANALYZE vw, kept")
        #expect(try db.withCatalog { catalog, _ in Array(catalog.statistics.keys) } == ["kept"])
        let cases: [(String, String)] = [("ANALYZE nosuch", SQLState.undefinedTable), ("ANALYZE kept (x, nosuch)", SQLState.undefinedColumn)]
        for (sql, state) in cases {
            #expect { try db.execute(sql) } throws: { ($0 as? DatabaseError)?.sqlState == state }
        }
        try db.execute("DROP TABLE kept")
        // A temporary table is accepted and keeps no statistics.
        try db.execute("CREATE TEMP TABLE scratch(x INTEGER); INSERT INTO scratch VALUES (1); ANALYZE scratch; ANALYZE")
        #expect(try db.withCatalog { catalog, _ in catalog.statistics.isEmpty })
        try db.close()
    }

    @Test func aUniqueIndexKeepsOneRowPerValue() throws {
        let (_, db) = try skewed()
        #expect(try estimate(db, "SELECT * FROM t WHERE v = 5") > 1, "without a unique index: a fixed share")
        try db.execute("CREATE UNIQUE INDEX t_v ON t(v)")
        #expect(try estimate(db, "SELECT * FROM t WHERE v = 5") == 1)
        #expect(try estimate(db, "SELECT * FROM t WHERE 5 = v") == 1)
        try db.close()
    }

    @Test func analyzedKeysChangeTheJoinEstimate() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        // a.g has 2 distinct values, b.g 2,000: without statistics both are assumed to have 200.
        try db.execute("CREATE TABLE a(id INTEGER PRIMARY KEY, g INTEGER); CREATE TABLE b(id INTEGER PRIMARY KEY, g INTEGER)")
        try db.write { db in
            for i in 1...2_000 {
                try db.execute("INSERT INTO a VALUES ($1, $2)", [.integer(Int64(i)), .integer(Int64(i % 2))])
                try db.execute("INSERT INTO b VALUES ($1, $2)", [.integer(Int64(i)), .integer(Int64(i))])
            }
        }
        let sql = "SELECT count(*) FROM a JOIN b ON a.g = b.g"
        func joinEstimate() throws -> Double {
            let lines = try db.execute("EXPLAIN " + sql).rows.map { $0[0].description }
            let join = try #require(lines.first { $0.contains("Join") })
            let range = try #require(join.range(of: "rows="))
            return try #require(Double(join[range.upperBound...].prefix { $0.isNumber }))
        }
        // Table sizes are estimated from the B+trees (within a few percent of 2,000).
        let guessed = try joinEstimate()
        #expect(guessed > 17_000 && guessed < 23_000, "2,000 × 2,000 / 200: \(guessed)")
        try db.execute("ANALYZE")
        let analyzed = try joinEstimate()
        #expect(analyzed > 1_700 && analyzed < 2_300, "2,000 × 2,000 / max(2, 2,000): \(analyzed)")
        // The true count: a's 1,000 rows with g = 1 each meet b's one row with g = 1.
        #expect(try db.execute(sql).rows == [[.integer(1_000)]])
        try db.close()
    }

    @Test func aCachedPlanIsMadeAgainWhenItsTablesGrowOrStatisticsChange() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER)")
        try db.execute("INSERT INTO t VALUES (1, 1), (2, 2)")
        let cache = PlanCache()
        func plan() throws -> QueryPlan {
            try db.withCatalog { catalog, txn in
                guard case .select(let query) = try Parser.parseAll("SELECT v FROM t WHERE v > 0")[0].0 else { throw DatabaseError.internalError("not a SELECT") }
                return try StatementExecutor(txn: txn, catalog: catalog, parameters: [], planCache: cache).selectPlan(query)
            }
        }
        let first = try plan()
        for _ in 0..<(PlanCache.sizeCheckInterval * 2) { #expect(try plan() === first) }
        try db.write { db in
            for i in 3...2_000 { try db.execute("INSERT INTO t VALUES ($1, $2)", [.integer(Int64(i)), .integer(Int64(i))]) }
        }
        var replanned: QueryPlan?
        for _ in 0..<PlanCache.sizeCheckInterval where replanned == nil {
            let p = try plan()
            if p !== first { replanned = p }
        }
        let grown = try #require(replanned, "the plan follows the table's growth within one check interval")
        #expect(try plan() === grown)
        try db.execute("ANALYZE t")
        #expect(try plan() !== grown, "new statistics bump the catalog version")
        try db.close()
    }
}
