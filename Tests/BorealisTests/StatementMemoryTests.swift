// The memory one statement may hold (issue 19; docs/robustness.md, "Memory"): what cannot spill
// is charged against `statement_memory` and fails with 53200 past it (it used to end the process
// when the allocator gave up); a string or array aggregate past PostgreSQL's 1 GB fails with
// 54000; what can spill goes to temporary files by bytes as well as by rows (OperatorTests).

import BorealisC
import Testing
@testable import Borealis
@testable import BorealisSQL
@testable import BorealisStorage

@Suite struct StatementMemoryTests {
    private func expectError(_ db: Database, _ sql: String, _ state: String, code: DatabaseError.Code? = nil,
                             sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try db.query(sql)
            Issue.record("no error from \(sql)", sourceLocation: sourceLocation)
        } catch let error as DatabaseError {
            #expect(error.sqlState == state, "\(sql): \(error)", sourceLocation: sourceLocation)
            if let code { #expect(error.code == code, "\(sql): \(error)", sourceLocation: sourceLocation) }
        } catch {
            Issue.record("\(sql): \(error)", sourceLocation: sourceLocation)
        }
    }

    private func show(_ db: Database) throws -> Value { try db.query("SHOW statement_memory")[0][0] }

    @Test func theSettingsTakePostgreSQLsMemoryUnitsAndShowThemAsItDoes() throws {
        let db = try Database(path: ":memory:")
        defer { try? db.close() }
        let initial = try show(db)
        #expect(initial == .text(SessionSettings.describeKilobytes(StatementMemory.defaultLimit / 1024)))
        #expect(StatementMemory.defaultLimit >= 256 << 20)
        // As PostgreSQL 15 shows work_mem and temp_file_limit after the same SETs.
        for (setting, shown) in [("'8MB'", "8MB"), ("'64kB'", "64kB"), ("2048", "2MB"), ("3000", "3000kB"), ("'3GB'", "3GB"),
                                 ("'1TB'", "1TB"), ("'70000B'", "68kB"), ("'1.5MB'", "1536kB")] {
            try db.execute("SET statement_memory = \(setting)")
            #expect(try show(db) == .text(shown), "\(setting)")
        }
        for bad in ["'abc'", "'63kB'", "'10 PB'", "'-1MB'", "'99999999999999999999GB'", "''"] {
            expectError(db, "SET statement_memory = \(bad)", SQLState.invalidParameterValue)
        }
        try db.execute("RESET statement_memory")
        #expect(try show(db) == initial)
        #expect(try db.query("SHOW temp_file_limit")[0][0] == .text("-1"))
        try db.execute("SET temp_file_limit = 1024")
        #expect(try db.query("SHOW temp_file_limit")[0][0] == .text("1MB"))
        expectError(db, "SET temp_file_limit = -2", SQLState.invalidParameterValue)
        expectError(db, "SET temp_file_limit = 2147483648", SQLState.invalidParameterValue)
    }

    @Test func spillsPastTempFileLimitFailWith53400AsInPostgreSQL() throws {
        let db = try Database(path: ":memory:")
        defer { try? db.close() }
        // A 1 MB statement limit spills past 256 kB: ~10 MB of rows to sort go to temporary files.
        let sort = "SELECT count(*) FROM (SELECT g, repeat('x', 1000) || g AS r FROM generate_series(1, 10000) AS g ORDER BY r DESC) s"
        // (A hash aggregation's partitions hold its input rows: wide ones here.)
        try db.execute("CREATE TABLE w AS SELECT repeat('x', 1000) || g AS k FROM generate_series(1, 10000) AS g")
        let group = "SELECT count(*) FROM (SELECT k, count(*) FROM w GROUP BY k) s"
        try db.execute("SET statement_memory = '1MB'")
        try db.execute("SET temp_file_limit = 2048")
        do {
            _ = try db.query(sort)
            Issue.record("no error from \(sort)")
        } catch let error as DatabaseError {
            #expect(error.sqlState == SQLState.configurationLimitExceeded, "\(error)")
            #expect(error.message == "temporary file size exceeds temp_file_limit (2048kB)")
        }
        try db.execute("RESET temp_file_limit")
        #expect(try db.query(sort)[0][0] == .integer(10_000))
        try db.execute("SET statement_memory = '16MB'")
        #expect(try db.query(group)[0][0] == .integer(10_000))
        // A hash aggregation's partitions count too.
        try db.execute("SET temp_file_limit = 2048")
        expectError(db, group, SQLState.configurationLimitExceeded)
        // The files of one statement are given back: the same spill runs again and again.
        try db.execute("SET temp_file_limit = '32MB'; SET statement_memory = '1MB'")
        for _ in 0..<5 { #expect(try db.query(sort)[0][0] == .integer(10_000)) }
    }

    @Test func whatCannotSpillFailsWith53200PastTheLimitAndTheConnectionCarriesOn() throws {
        let db = try Database(path: ":memory:")
        defer { try? db.close() }
        // 10,000 inputs of 1 kB: about 10 MB kept, past a 4 MB limit.
        let inputs = "FROM generate_series(1, 10000) AS g"
        let queries = [
            "SELECT count(*) FROM (SELECT array_agg(repeat('x', 1000)) \(inputs) GROUP BY g % 10) s",
            "SELECT length(string_agg(repeat('x', 1000), ',')) \(inputs)",
            "SELECT length(string_agg(repeat('x', 1000), ',' ORDER BY g DESC)) \(inputs)",
            "SELECT count(DISTINCT repeat('x', 1000) || g) \(inputs)",
            "SELECT length(json_agg(repeat('x', 1000))::text) \(inputs)",
            "SELECT mode() WITHIN GROUP (ORDER BY repeat('x', 1000) || g) \(inputs)",
            // A recursive CTE keeps every step's rows.
            "WITH RECURSIVE r(n, s) AS (SELECT 1, repeat('x', 1000) UNION ALL SELECT n + 1, s FROM r WHERE n < 10000) SELECT count(*) FROM r",
            "WITH RECURSIVE r(n, s) AS (SELECT 1, repeat('x', 1000) UNION SELECT n + 1, s FROM r WHERE n < 10000) SELECT count(*) FROM r",
            // Groups with 1 kB keys: the output of a hash aggregation stays in memory.
            "SELECT count(*) FROM (SELECT repeat('x', 1000) || g AS k, count(*) \(inputs) GROUP BY 1) s",
        ]
        try db.execute("SET statement_memory = '4MB'")
        for sql in queries {
            expectError(db, sql, SQLState.outOfMemory, code: .noMemory)
            #expect(try db.query("SELECT 1")[0][0] == .integer(1), "after \(sql)")
        }
        // Within the limit, each runs.
        try db.execute("SET statement_memory = '256MB'")
        for sql in queries { #expect(try db.query(sql).count == 1, "\(sql)") }
        // A window's input, materialized again for each outer row of a correlated subquery
        // (100 kB a run, 200 MB over the 2,000 runs): each run's rows replace the last's.
        try db.execute("SET statement_memory = '1MB'")
        let correlated = """
            SELECT count(*) FROM generate_series(1, 2000) AS g
            WHERE (SELECT max(length(n || r)) FROM (SELECT row_number() OVER () + g.g AS n, repeat('x', 1000) AS r
                                                   FROM generate_series(1, 100)) s) > 0
            """
        #expect(try db.query(correlated)[0][0] == .integer(2000))
        // The limit is per statement: many statements under it never add up.
        try db.execute("SET statement_memory = '4MB'")
        for _ in 0..<20 {
            #expect(try db.query("SELECT length(string_agg(repeat('x', 1000), '')) FROM generate_series(1, 1000)")[0][0] == .integer(1_000_000))
        }
    }

    @Test func theCAPIReportsBOREALIS_NOMEM() throws {
        var db: OpaquePointer?
        #expect(borealis_open(":memory:", &db) == 0)
        defer { _ = borealis_close(db) }
        #expect(borealis_exec(db, "SET statement_memory = '1MB'", nil, nil, nil) == 0)
        #expect(borealis_exec(db, "SELECT string_agg(repeat('x', 1000), '') FROM generate_series(1, 2000)", nil, nil, nil) == 7)
        #expect(String(cString: borealis_sqlstate(db)!) == SQLState.outOfMemory)
        #expect(String(cString: borealis_errmsg(db)!).contains("statement_memory (1MB)"))
        #expect(String(cString: borealis_errstr(7)!) == "out of memory")
    }

    @Test func aStringAggregatePastOneGigabyteFailsWith54000() throws {
        let db = try Database(path: ":memory:")
        defer { try? db.close() }
        try db.execute("SET statement_memory = '2GB'")
        expectError(db, "SELECT length(string_agg(repeat('x', 100000000), '')) FROM generate_series(1, 11)", SQLState.programLimitExceeded)
        #expect(try db.query("SELECT length(string_agg(repeat('x', 100000000), '')) FROM generate_series(1, 2)")[0][0] == .integer(200_000_000))
    }
}
