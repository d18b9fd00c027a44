// Transactions that cannot be misread: COMMIT of a failed transaction fails (ABORT, 25P02),
// read-only transactions and `read { }` refuse writes (25006), nested `read`/`write` closures
// join the open transaction instead of ending it, each connection keeps its own busy timeout,
// and a running statement can be interrupted (57014).

import Foundation
import Testing
@testable import Borealis
@testable import BorealisSQL
@testable import BorealisStorage

@Suite struct TransactionModeTests {
    func table() throws -> (TemporaryDirectory, Database) {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY)")
        return (dir, db)
    }

    func count(_ db: Database) throws -> Value { try db.execute("SELECT count(*) FROM t").rows[0][0] }

    @Test func aWriteClosureWhoseCommitRollsBackThrows() throws {
        let (_, db) = try table()
        // The body swallows a failed statement: the transaction is aborted all the same.
        #expect {
            try db.write { db in
                try db.execute("INSERT INTO t VALUES (1)")
                _ = try? db.execute("INSERT INTO t VALUES (1)")
            }
        } throws: { ($0 as? DatabaseError)?.code == .abort }
        #expect(try count(db) == .integer(0))
    }

    @Test func aReadClosureRefusesWrites() throws {
        let (_, db) = try table()
        #expect {
            try db.read { db in try db.execute("INSERT INTO t VALUES (1)") }
        } throws: { error in
            guard let error = error as? DatabaseError else { return false }
            return error.code == .readOnly && error.sqlState == "25006" && error.message == "cannot execute INSERT in a read-only transaction"
        }
        #expect(throws: DatabaseError.self) { try db.read { db in try db.execute("CREATE TABLE u(x INTEGER)") } }
        // As in PostgreSQL: no temporary table is created in a read-only transaction, but an
        // existing one's rows may change.
        #expect(throws: DatabaseError.self) { try db.read { db in try db.execute("CREATE TEMP TABLE scratch(x INTEGER)") } }
        try db.execute("CREATE TEMP TABLE scratch(x INTEGER)")
        try db.read { db in try db.execute("INSERT INTO scratch VALUES (1)") }
        #expect(try count(db) == .integer(0))
        #expect(try db.tableNames() == ["t"])
    }

    @Test func beginReadOnlyRefusesWritesAndModesParse() throws {
        let (_, db) = try table()
        try db.execute("BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        #expect(throws: DatabaseError.self) { try db.execute("DELETE FROM t") }
        try db.execute("ROLLBACK")
        try db.execute("START TRANSACTION READ WRITE ISOLATION LEVEL SERIALIZABLE NOT DEFERRABLE")
        try db.execute("INSERT INTO t VALUES (1)")
        try db.execute("COMMIT")
        #expect(try count(db) == .integer(1))
        #expect(throws: DatabaseError.self) { try db.execute("BEGIN READ SOMETHING") }
    }

    @Test func aReadInsideAWriteJoinsItWithoutEndingIt() throws {
        let (_, db) = try table()
        try db.write { db in
            try db.execute("INSERT INTO t VALUES (1)")
            let seen = try db.read { db in try count(db) }
            #expect(seen == .integer(1))
            try db.execute("INSERT INTO t VALUES (2)") // the outer transaction still writes
        }
        #expect(try count(db) == .integer(2))
    }

    @Test func aWriteAttemptInANestedReadAbortsTheOuterTransaction() throws {
        let (_, db) = try table()
        #expect {
            try db.write { db in
                try db.execute("INSERT INTO t VALUES (1)")
                _ = try? db.read { db in try db.execute("INSERT INTO t VALUES (9)") }
            }
        } throws: { ($0 as? DatabaseError)?.message.contains("read-only transaction") == true }
        #expect(try count(db) == .integer(0))
    }

    @Test func aWriteInsideAWriteIsASavepoint() throws {
        let (_, db) = try table()
        try db.write { db in
            try db.execute("INSERT INTO t VALUES (1)")
            #expect(throws: DatabaseError.self) {
                try db.write { db in
                    try db.execute("INSERT INTO t VALUES (2)")
                    try db.execute("INSERT INTO t VALUES (1)") // duplicate: the inner write fails
                }
            }
            try db.write { db in try db.execute("INSERT INTO t VALUES (3)") }
        }
        #expect(try db.execute("SELECT id FROM t ORDER BY id").rows == [[.integer(1)], [.integer(3)]])
    }

    @Test func eachConnectionKeepsItsOwnBusyTimeout() throws {
        let dir = TemporaryDirectory()
        var patient = StorageOptions()
        patient.busyTimeoutMilliseconds = 5000
        let holder = try Database(path: dir.database, options: patient)
        try holder.execute("CREATE TABLE t(id INTEGER)")
        var hasty = StorageOptions()
        hasty.busyTimeoutMilliseconds = 50
        let second = try Database(path: dir.database, options: hasty)
        #expect(second.busyTimeoutMilliseconds == 50)
        try holder.execute("BEGIN IMMEDIATE")
        var started = ContinuousClock.now
        #expect(throws: DatabaseError.self) { try second.execute("INSERT INTO t VALUES (1)") }
        #expect(ContinuousClock.now - started < .seconds(2))
        second.busyTimeoutMilliseconds = 300
        started = ContinuousClock.now
        #expect { try second.execute("INSERT INTO t VALUES (1)") } throws: { ($0 as? DatabaseError)?.sqlState == "55P03" }
        #expect(ContinuousClock.now - started >= .milliseconds(300))
        try holder.execute("ROLLBACK")
        try second.execute("INSERT INTO t VALUES (1)")
    }

    @Test func aSecondConnectionCannotChangeTheFilesDurability() throws {
        let dir = TemporaryDirectory()
        let first = try Database(path: dir.database)
        var off = StorageOptions()
        off.synchronous = .off
        #expect { _ = try Database(path: dir.database, options: off) } throws: { ($0 as? DatabaseError)?.sqlState == "55000" }
        try first.close()
    }

    /// Interrupts `db` from another thread 50 ms after a statement starts running on it.
    private func interruptOnceRunning(_ db: Database) {
        Thread {
            while db.statementsInFlight == 0 { usleep(1000) }
            usleep(50_000)
            db.interrupt()
        }.start()
    }

    @Test func interruptStopsARunningStatement() throws {
        let (_, db) = try table()
        try db.execute("INSERT INTO t WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < 20000) SELECT x FROM g")
        interruptOnceRunning(db)
        let started = ContinuousClock.now
        #expect {
            _ = try db.execute("SELECT count(*) FROM t a, t b WHERE a.id + b.id = -1")
        } throws: { error in
            guard let error = error as? DatabaseError else { return false }
            return error.code == .interrupted && error.sqlState == "57014" && error.message == "canceling statement due to user request"
        }
        // The join pairs rows held in memory: it polls for the interrupt itself (the whole
        // join takes tens of seconds; before it polled, the interrupt waited for its end).
        #expect(ContinuousClock.now - started < .seconds(10))
        // The connection works on; an interrupt with nothing running is forgotten.
        db.interrupt()
        #expect(try count(db) == .integer(20000))
    }

    /// An unfiltered three-way cross join pairs rows it holds in memory for minutes without
    /// reading a page: before the join loop polled, an interrupt (or a wire-protocol cancel)
    /// waited for its end.
    @Test func interruptStopsACrossJoinOfRowsInMemory() throws {
        let (_, db) = try table()
        try db.execute("INSERT INTO t WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < 2000) SELECT x FROM g")
        interruptOnceRunning(db)
        let started = ContinuousClock.now
        #expect {
            _ = try db.execute("SELECT count(*) FROM t a, t b, t c")
        } throws: { ($0 as? DatabaseError)?.sqlState == "57014" }
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test func interruptStopsARecursiveQueryThatReadsNoTable() throws {
        let (_, db) = try table()
        interruptOnceRunning(db)
        #expect {
            _ = try db.execute("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r")
        } throws: { ($0 as? DatabaseError)?.sqlState == "57014" }
    }

    @Test func aProgressHandlerCanStopAStatement() throws {
        let (_, db) = try table()
        try db.execute("INSERT INTO t WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < 5000) SELECT x FROM g")
        var calls = 0
        db.setProgressHandler(every: 10) { calls += 1; return calls >= 3 }
        #expect { _ = try db.execute("SELECT count(*) FROM t a, t b") } throws: { ($0 as? DatabaseError)?.sqlState == "57014" }
        #expect(calls == 3)
        db.setProgressHandler(every: 10, nil)
        #expect(try count(db) == .integer(5000))
    }

    @Test func cancellingTheTaskInterruptsItsStatement() async throws {
        let (_, db) = try table()
        let task = Task {
            try await db.execute("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r")
        }
        // Cancelled from a thread of its own: the cooperative pool may be busy with other
        // tests for a long while, and the cancellation must not wait for it.
        let canceller = Thread {
            while db.statementsInFlight == 0 { usleep(1000) }
            usleep(50_000)
            task.cancel()
        }
        canceller.start()
        await #expect { _ = try await task.value } throws: { ($0 as? DatabaseError)?.sqlState == "57014" }
        #expect(try count(db) == .integer(0))
    }
}
