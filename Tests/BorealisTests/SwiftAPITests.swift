import Foundation
import Testing
import Borealis

@Suite struct SwiftAPITests {
    struct Player: Decodable, Equatable {
        enum Team: String, Decodable { case red, blue }
        var id: Int
        var name: String
        var score: Double?
        var team: Team
        var joined: Date
        var balance: Decimal
    }

    @Test func schemaChangesInsideOneTransactionAreSeenByItsNextStatements() throws {
        // The connection keeps its catalog for the rest of a transaction once checked; DDL in
        // the transaction must still reach the statements after it.
        let db = try Database(path: ":memory:")
        try db.write { db in
            try db.execute("CREATE TABLE x(a INTEGER)")
            try db.execute("INSERT INTO x VALUES (1)")
            try db.execute("ALTER TABLE x ADD COLUMN b TEXT DEFAULT 'd'")
            try db.execute("INSERT INTO x(a) VALUES (2)")
            try db.execute("CREATE INDEX x_a ON x(a)")
            #expect(try db.query("SELECT a, b FROM x WHERE a = 2").first?.values == [.integer(2), .text("d")])
            try db.execute("DROP INDEX x_a")
            try db.execute("CREATE TABLE y(c INTEGER)")
            try db.execute("INSERT INTO y SELECT a FROM x")
        }
        #expect(try db.query("SELECT count(*) FROM y")[0].values == [.integer(2)])
        try db.execute("BEGIN; SAVEPOINT s; CREATE TABLE z(q INTEGER); ROLLBACK TO SAVEPOINT s")
        #expect(throws: DatabaseError.self) { try db.execute("INSERT INTO z VALUES (1)") }
        try db.execute("ROLLBACK")
        try db.close()
    }

    /// A prepared statement reuses its execution context and, for a single-row INSERT, its row
    /// array between runs: a failed run must not keep its transaction (and the write lock)
    /// alive, and a run must not see anything of the previous one.
    @Test func preparedStatementsReuseTheirStateWithoutKeepingTransactions() throws {
        let dir = TemporaryDirectory()
        var options = StorageOptions()
        options.busyTimeoutMilliseconds = 200
        let db = try Database(path: dir.database, options: options)
        let other = try Database(path: dir.database, options: options)
        try db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER NOT NULL, v TEXT)")
        let insert = try #require(try db.prepare("INSERT INTO t VALUES ($1, $2, $3) RETURNING id, k, v").statement)
        func run(_ values: [Value]) throws -> [[Value]] {
            insert.reset()
            try insert.bind(values)
            var rows: [[Value]] = []
            while let row = try insert.step() { rows.append(row) }
            return rows
        }
        #expect(try run([.integer(1), .integer(10), .text("a")]) == [[.integer(1), .integer(10), .text("a")]])
        for (n, failing) in [[Value.integer(1), .integer(11), .text("duplicate")], [.integer(2), .null, .text("null k")]].enumerated() {
            #expect(throws: DatabaseError.self) { _ = try run(failing) }
            // The failed run's transaction is gone: another connection writes at once.
            try other.execute("INSERT INTO t VALUES ($1, 0, 'other')", [.integer(Int64(100 + n))])
        }
        #expect(try run([.integer(2), .integer(20), .null]) == [[.integer(2), .integer(20), .null]])
        #expect(try run([.integer(3), .text("30"), .text("c")]) == [[.integer(3), .integer(30), .text("c")]])
        let rows = try db.query("SELECT id, k, v FROM t WHERE id < 100 ORDER BY id").map(\.values)
        #expect(rows == [[.integer(1), .integer(10), .text("a")], [.integer(2), .integer(20), .null], [.integer(3), .integer(30), .text("c")]])
        #expect(try db.query("SELECT count(*) FROM t WHERE id >= 100").first?.values == [.integer(2)])
        try other.close()
        try db.close()
    }

    @Test func preparedWritesRecompileAfterARolledBackSchemaChange() throws {
        // A prepared INSERT keeps its compiled table writer per catalog version; a DDL that
        // rolls back must not leave a writer that a later, different schema version matches.
        let db = try Database(path: ":memory:")
        try db.execute("CREATE TABLE a(x INTEGER)")
        let (prepared, _) = try db.prepare("INSERT INTO a VALUES ($1)")
        let insert = try #require(prepared)
        try db.execute("BEGIN; ALTER TABLE a ADD COLUMN y INTEGER DEFAULT 5")
        try insert.bind([.integer(1)])
        _ = try insert.step()
        insert.reset()
        try db.execute("ROLLBACK")
        // The same kind of change again (the same number of catalog writes), another default.
        try db.execute("ALTER TABLE a ADD COLUMN y INTEGER DEFAULT 7")
        try insert.bind([.integer(2)])
        _ = try insert.step()
        insert.reset()
        let rows = try db.query("SELECT * FROM a")
        #expect(rows.count == 1)
        #expect(rows.first?.values == [.integer(2), .integer(7)])
        try db.close()
    }

    @Test func rowsDecodeByColumnName() throws {
        let db = try Database(path: ":memory:")
        try db.execute("""
            CREATE TABLE player(id SERIAL PRIMARY KEY, name TEXT, score DOUBLE PRECISION, team TEXT, joined TIMESTAMP, balance NUMERIC(8,2));
            INSERT INTO player(name, score, team, joined, balance) VALUES
              ('ann', 9.5, 'red', '2026-01-02 03:04:05', 10.25), ('bob', NULL, 'blue', '2026-02-01 00:00:00', 0)
            """)
        #expect(db.changes == 2)
        #expect(db.lastInsertRowID == 2)
        let players = try db.query(Player.self, "SELECT * FROM player ORDER BY id")
        #expect(players.count == 2)
        #expect(players[0].name == "ann" && players[0].team == .red && players[0].score == 9.5)
        #expect(players[1].score == nil && players[1].balance == 0)
        #expect(players[0].balance == Decimal(string: "10.25"))
        #expect(players[0].joined == Date(timeIntervalSince1970: 1_767_323_045))
        let rows = try db.query("SELECT id, name, score FROM player WHERE id = $1", [.integer(2)])
        #expect(try rows[0].get("name") == "bob")
        #expect(try rows[0].get(0) == 2)
        #expect(try rows[0].get("score", as: Double?.self) == nil)
        #expect(throws: DatabaseError.self) { _ = try rows[0].get("score", as: Double.self) }
        #expect(throws: DatabaseError.self) { _ = try rows[0].get("missing", as: Int.self) }
        #expect(throws: DecodingError.self) { _ = try db.query(Player.self, "SELECT id, name FROM player") }
        try db.close()
    }

    @Test func writeCommitsOrRollsBackAndReadSeesOneSnapshot() throws {
        let db = try Database(path: ":memory:")
        try db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY)")
        try db.write { db in try db.execute("INSERT INTO t VALUES (1), (2)") }
        struct Oops: Error {}
        #expect(throws: Oops.self) {
            try db.write { db in
                try db.execute("INSERT INTO t VALUES (3)")
                throw Oops()
            }
        }
        let count = try db.read { db in try db.query("SELECT count(*) FROM t")[0].get(0, as: Int.self) }
        #expect(count == 2)
        try db.close()
    }

    @Test func concurrentWriteBlocksDoNotInterleave() throws {
        let db = try Database(path: ":memory:")
        try db.execute("CREATE TABLE account(id INTEGER PRIMARY KEY, balance INTEGER)")
        try db.execute("INSERT INTO account VALUES (1, 1000), (2, 1000)")
        let group = DispatchGroup()
        for _ in 0..<4 {
            group.enter()
            Thread {
                defer { group.leave() }
                for _ in 0..<25 {
                    try? db.write { db in
                        try db.execute("UPDATE account SET balance = balance - 1 WHERE id = 1")
                        try db.execute("UPDATE account SET balance = balance + 1 WHERE id = 2")
                    }
                }
            }.start()
        }
        group.wait()
        let rows = try db.query("SELECT balance FROM account ORDER BY id")
        #expect(try rows[0].get(0, as: Int.self) == 900)
        #expect(try rows[1].get(0, as: Int.self) == 1100)
        try db.close()
    }

    @Test func asyncVariantsRunOffTheCaller() async throws {
        let db = try Database(path: ":memory:")
        try await db.execute("CREATE TABLE t(x INTEGER)")
        try await db.execute("INSERT INTO t VALUES (7)")
        let rows = try await db.query("SELECT x FROM t")
        #expect(try rows[0].get(0, as: Int.self) == 7)
        try await db.close()
    }
}

@Suite struct ConnectionTests {
    @Test func connectionsToOneFileShareTheEngineAndGroupCommits() throws {
        let dir = TemporaryDirectory()
        let first = try Database(path: dir.database)
        try first.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, who INTEGER)")
        let before = first.engine.metrics
        let group = DispatchGroup()
        let threads = 6, perThread = 60
        let path = dir.database
        for who in 0..<threads {
            group.enter()
            Thread {
                defer { group.leave() }
                guard let db = try? Database(path: path) else { return }
                for i in 0..<perThread {
                    _ = try? db.execute("INSERT INTO t VALUES ($1, $2)", [.integer(Int64(who * 1000 + i)), .integer(Int64(who))])
                }
                try? db.close()
            }.start()
        }
        group.wait()
        let after = first.engine.metrics
        #expect(try first.query("SELECT count(*) FROM t")[0].get(0, as: Int.self) == threads * perThread)
        let commits = after.commits - before.commits
        #expect(commits == UInt64(threads * perThread))
        #expect(after.fdatasyncCount - before.fdatasyncCount < commits, "no fdatasync was shared")
        // A second connection sees the first one's commits, and a stale snapshot cannot write.
        let second = try Database(path: dir.database)
        try second.execute("BEGIN")
        _ = try second.query("SELECT count(*) FROM t")
        try first.execute("INSERT INTO t VALUES (-1, -1)")
        do {
            try second.execute("INSERT INTO t VALUES (-2, -2)")
            Issue.record("a stale snapshot wrote")
        } catch let error as DatabaseError {
            #expect(error.sqlState == "40001")
        }
        try second.execute("ROLLBACK")
        try second.close()
        #expect(throws: DatabaseError.self) { try second.execute("SELECT 1") }
        try first.close()
        // Reopened after the last connection closed.
        let again = try Database(path: dir.database)
        #expect(try again.query("SELECT count(*) FROM t")[0].get(0, as: Int.self) == threads * perThread + 1)
        try again.close()
    }
}
