// PREPARE, EXECUTE and DEALLOCATE on one connection (Database+PreparedSQL.swift): the expected
// values and SQLSTATEs are PostgreSQL 15's for the same statements in one psql session.

import Testing
@testable import Borealis
@testable import BorealisSQL

@Suite struct PreparedSQLTests {
    private func state(_ db: Database, _ sql: String) -> String? {
        do { try db.execute(sql); return nil } catch let error as DatabaseError { return error.sqlState } catch { return "?" }
    }

    @Test func preparedStatementsRunWithTheirArgumentsUntilDeallocated() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute("CREATE TABLE t (a int, b text)")
        try db.execute("PREPARE ins (int, text) AS INSERT INTO t VALUES ($1, $2)")
        #expect(try db.execute("EXECUTE ins(1, 'one')").changes == 1)
        try db.execute("EXECUTE ins(2, 'two')")
        try db.execute("PREPARE q AS SELECT b FROM t WHERE a = $1")
        #expect(try db.execute("EXECUTE q(2)").rows == [[.text("two")]])
        #expect(try db.execute("EXECUTE q('1')").rows == [[.text("one")]])
        #expect(state(db, "PREPARE ins AS SELECT 1") == "42P05")
        #expect(state(db, "EXECUTE nosuch") == "26000")
        #expect(state(db, "EXECUTE q(1, 2)") == "42601")
        try db.execute("PREPARE upd (int) AS UPDATE t SET a = a + $1 RETURNING a")
        #expect(try db.execute("EXECUTE upd(10)").rows.map { $0[0] }.sorted { $0.description < $1.description } == [.integer(11), .integer(12)])
        try db.execute("DEALLOCATE q")
        #expect(state(db, "EXECUTE q(1)") == "26000")
        #expect(state(db, "DEALLOCATE q") == "26000")
        try db.execute("PREPARE v AS VALUES (1, 'x'), (2, 'y')")
        #expect(try db.execute("EXECUTE v").rows == [[.integer(1), .text("x")], [.integer(2), .text("y")]])
        try db.execute("DEALLOCATE ALL")
        #expect(state(db, "EXECUTE v") == "26000")
        // The PREPARE's own statement keeps its $n: the outer statement takes no parameters.
        let outer = try db.prepare("PREPARE p2 AS SELECT $1::int + 1").statement
        #expect(outer?.parameterCount == 0)
    }

    @Test func aPrepareSurvivesRollbackAndAnExecuteFailsItsBlock() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute("BEGIN")
        try db.execute("PREPARE s AS SELECT 1/0")
        #expect(state(db, "EXECUTE s") == "22012")
        #expect(state(db, "SELECT 1") == "25P02")
        try db.execute("ROLLBACK")
        // PostgreSQL keeps a PREPARE made in a rolled-back block.
        #expect(state(db, "EXECUTE s") == "22012")
        // Another connection does not see this one's statements.
        let other = try Database(path: dir.database)
        #expect(state(other, "EXECUTE s") == "26000")
    }
}
