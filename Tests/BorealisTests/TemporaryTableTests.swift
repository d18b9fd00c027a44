// Temporary tables across connections, engines and crashes (docs/temporary-tables.md); their
// SQL behaviour in one connection is in Tests/SQL/temp.test.

import Foundation
import Testing
@testable import Borealis
@testable import BorealisSQL
@testable import BorealisStorage

@Suite struct TemporaryTableTests {
    private func expectError(_ state: String, _ sql: String, on db: Database, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            try db.execute(sql)
            Issue.record("no error from \(sql)", sourceLocation: sourceLocation)
        } catch let error as DatabaseError {
            #expect(error.sqlState == state, "\(sql): \(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(sql): \(error)", sourceLocation: sourceLocation)
        }
    }

    private func count(_ sql: String, _ db: Database) throws -> Int64 {
        guard case .integer(let n)? = try db.execute(sql).rows.first?.first else { return -1 }
        return n
    }

    @Test func temporaryTableIsInvisibleToAnotherConnectionOnTheSameFile() throws {
        let dir = TemporaryDirectory()
        let first = try Database(path: dir.database)
        let second = try Database(path: dir.database)
        #expect(first.engine === second.engine)
        try first.execute("CREATE TEMP TABLE scratch(id INTEGER PRIMARY KEY, v TEXT)")
        try first.execute("INSERT INTO scratch VALUES (1, 'first')")
        expectError("42P01", "SELECT * FROM scratch", on: second)
        expectError("42P01", "INSERT INTO scratch VALUES (2, 'second')", on: second)
        // The second connection has a namespace of its own.
        try second.execute("CREATE TEMP TABLE scratch(v TEXT)")
        try second.execute("INSERT INTO scratch VALUES ('second'), ('again')")
        #expect(try count("SELECT count(*) FROM scratch", first) == 1)
        #expect(try count("SELECT count(*) FROM scratch", second) == 2)
        #expect(try first.tableNames() == [])
        try first.close()
        try second.close()
    }

    @Test func temporaryTablesAreDroppedWhenTheConnectionCloses() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute("CREATE TABLE kept(a INTEGER)")
        try db.execute("CREATE TEMP TABLE gone(a INTEGER)")
        try db.execute("INSERT INTO gone VALUES (1)")
        let folder = try #require(db.temporary.folderForTesting)
        #expect(FileManager.default.fileExists(atPath: folder))
        // Temporary tables keep no history: their engine has no continuous archive.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix("-archive") } == [])
        try db.close()
        #expect(!FileManager.default.fileExists(atPath: folder))
        // Released without close: deinit drops them too.
        var dropped: Database? = try Database(path: dir.database)
        try dropped!.execute("CREATE TEMP TABLE gone(a INTEGER)")
        let second = try #require(dropped!.temporary.folderForTesting)
        dropped = nil
        #expect(!FileManager.default.fileExists(atPath: second))
        let reopened = try Database(path: dir.database)
        expectError("42P01", "SELECT * FROM gone", on: reopened)
        #expect(try reopened.tableNames() == ["kept"])
        try reopened.close()
    }

    @Test func temporaryWritesNeverReachTheDatabaseLogOrPageFile() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute("CREATE TABLE base(id INTEGER PRIMARY KEY, v TEXT)")
        try db.execute("INSERT INTO base SELECT i, 'row' FROM (VALUES (1), (2), (3)) AS s(i)")
        let before = db.engine.metrics
        let pagesBefore = try db.engine.beginRead().pageCounts()
        try db.execute("CREATE TEMP TABLE big(id INTEGER PRIMARY KEY, payload TEXT, n INTEGER)")
        try db.execute("CREATE INDEX big_n ON big(n)")
        let payload = String(repeating: "x", count: 200)
        for chunk in 0..<20 {
            let values = (0..<100).map { "(\(chunk * 100 + $0), '\(payload)', \($0 % 7))" }.joined(separator: ", ")
            try db.execute("INSERT INTO big VALUES " + values)
        }
        try db.execute("UPDATE big SET n = n + 1 WHERE id % 2 = 0")
        try db.execute("DELETE FROM big WHERE id % 3 = 0")
        try db.execute("BEGIN; INSERT INTO big SELECT id + 100000, v, 1 FROM base; COMMIT")
        #expect(try count("SELECT count(*) FROM big", db) == 2000 - 667 + 3)
        #expect(try count("SELECT count(*) FROM big JOIN base ON base.id + 100000 = big.id", db) == 3)
        let after = db.engine.metrics
        #expect(after.lastCommitLSN == before.lastCommitLSN)
        #expect(after.logBytesWritten == before.logBytesWritten)
        #expect(after.commits == before.commits)
        #expect(try db.engine.beginRead().pageCounts() == pagesBefore)
        try db.close()
    }

    @Test func aCrashLeavesNoTraceOfTemporaryTablesInTheDatabase() throws {
        let fs = FaultInjectingFileSystem()
        var options = smallOptions(fs)
        options.backgroundMaterializer = false
        let path = "/crash-\(UInt32.random(in: 0...UInt32.max))/db"
        try fs.makeDirectory(parentDirectory(of: path))
        var db: Database? = try Database(path: path, options: options)
        try db!.execute("CREATE TABLE base(id INTEGER PRIMARY KEY, v TEXT)")
        try db!.execute("INSERT INTO base VALUES (1, 'one')")
        let committed = try db!.engine.beginRead().pageCounts()
        try db!.execute("CREATE TEMP TABLE scratch(id INTEGER PRIMARY KEY, v TEXT)")
        try db!.execute("INSERT INTO scratch SELECT id, v FROM base")
        try db!.execute("BEGIN; INSERT INTO scratch VALUES (2, 'two'); CREATE TEMP TABLE more(a INTEGER)")
        // Power cut with the connection open and a transaction running: nothing is closed.
        fs.crash(seed: 7)
        let reopened = try StorageEngine(path: path, options: options)
        let txn = try reopened.beginRead()
        let catalog = try Catalog.load(txn)
        #expect(Array(catalog.tables.keys) == ["base"])
        #expect(catalog.indexes.isEmpty)
        #expect(try txn.pageCounts() == committed)
        txn.rollback()
        try reopened.close()
        db = nil
    }

    @Test func onCommitDeleteRowsEmptiesTheTableAtEveryCommit() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute("CREATE TEMP TABLE d(a INTEGER PRIMARY KEY, b TEXT UNIQUE) ON COMMIT DELETE ROWS")
        try db.execute("INSERT INTO d VALUES (1, 'x')")
        #expect(try count("SELECT count(*) FROM d", db) == 0)
        try db.execute("BEGIN")
        try db.execute("INSERT INTO d VALUES (1, 'x'), (2, 'y')")
        #expect(try count("SELECT count(*) FROM d", db) == 2)
        try db.execute("COMMIT")
        #expect(try count("SELECT count(*) FROM d", db) == 0)
        // The unique index was emptied with the rows.
        try db.execute("BEGIN; INSERT INTO d VALUES (1, 'x'); COMMIT")
        // Preserved rows stay.
        try db.execute("CREATE TEMP TABLE p(a INTEGER) ON COMMIT PRESERVE ROWS")
        try db.execute("INSERT INTO p VALUES (1)")
        #expect(try count("SELECT count(*) FROM p", db) == 1)
        try db.close()
    }

    @Test func onCommitDropDropsTheTableWhenItsTransactionCommits() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute("BEGIN")
        try db.execute("CREATE TEMP TABLE x(a INTEGER) ON COMMIT DROP")
        try db.execute("INSERT INTO x VALUES (1)")
        #expect(try count("SELECT count(*) FROM x", db) == 1)
        try db.execute("COMMIT")
        expectError("42P01", "SELECT * FROM x", on: db)
        // In autocommit mode its own commit drops it at once (PostgreSQL does the same).
        try db.execute("CREATE TEMP TABLE x(a INTEGER) ON COMMIT DROP")
        expectError("42P01", "SELECT * FROM x", on: db)
        expectError("42P16", "CREATE TABLE y(a INTEGER) ON COMMIT DROP", on: db)
        expectError("42P16", "CREATE TABLE y(a INTEGER) ON COMMIT DELETE ROWS", on: db)
        try db.close()
    }

    @Test func rollbackUndoesTemporaryChangesAndCreation() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute("CREATE TABLE base(a INTEGER)")
        try db.execute("BEGIN; CREATE TEMP TABLE t(a INTEGER); INSERT INTO t VALUES (1); INSERT INTO base VALUES (1); ROLLBACK")
        expectError("42P01", "SELECT * FROM t", on: db)
        #expect(try count("SELECT count(*) FROM base", db) == 0)
        try db.execute("CREATE TEMP TABLE t(a INTEGER)")
        try db.execute("INSERT INTO t VALUES (1)")
        try db.execute("BEGIN; INSERT INTO t VALUES (2); DELETE FROM t WHERE a = 1; DROP TABLE t; ROLLBACK")
        #expect(try db.execute("SELECT a FROM t").rows == [[.integer(1)]])
        // A failed autocommit statement leaves nothing behind.
        try db.execute("CREATE TEMP TABLE u(a INTEGER PRIMARY KEY)")
        expectError("23505", "INSERT INTO u VALUES (1), (2), (1)", on: db)
        #expect(try count("SELECT count(*) FROM u", db) == 0)
        // COMMIT of a failed block rolls both back.
        try db.execute("BEGIN")
        try db.execute("INSERT INTO u VALUES (5)")
        expectError("42P01", "SELECT * FROM nowhere", on: db)
        expectError("25P02", "COMMIT", on: db)
        #expect(try count("SELECT count(*) FROM u", db) == 0)
        try db.close()
    }

    @Test func savepointsCoverTemporaryTables() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute("CREATE TABLE base(a INTEGER)")
        try db.execute("BEGIN")
        try db.execute("SAVEPOINT empty")
        try db.execute("CREATE TEMP TABLE t(a INTEGER)")
        try db.execute("INSERT INTO t VALUES (1)")
        try db.execute("SAVEPOINT one")
        try db.execute("INSERT INTO t VALUES (2)")
        try db.execute("INSERT INTO base VALUES (2)")
        try db.execute("ROLLBACK TO SAVEPOINT one")
        #expect(try db.execute("SELECT a FROM t").rows == [[.integer(1)]])
        #expect(try count("SELECT count(*) FROM base", db) == 0)
        try db.execute("ROLLBACK TO SAVEPOINT empty")
        expectError("42P01", "SELECT * FROM t", on: db)
        try db.execute("ROLLBACK TO SAVEPOINT empty")
        try db.execute("CREATE TEMP TABLE t(a INTEGER)")
        try db.execute("SAVEPOINT two")
        try db.execute("INSERT INTO t VALUES (3)")
        try db.execute("RELEASE SAVEPOINT two")
        try db.execute("COMMIT")
        #expect(try db.execute("SELECT a FROM t").rows == [[.integer(3)]])
        try db.close()
    }

    @Test func foreignKeysNeverCrossBetweenTemporaryAndPermanentTables() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute("CREATE TABLE perm_parent(id INTEGER PRIMARY KEY)")
        try db.execute("CREATE TEMP TABLE temp_parent(id INTEGER PRIMARY KEY)")
        expectError("42P16", "CREATE TABLE c(id INTEGER REFERENCES temp_parent(id))", on: db)
        expectError("42P16", "CREATE TEMP TABLE c(id INTEGER REFERENCES perm_parent(id))", on: db)
        try db.execute("CREATE TEMP TABLE c(id INTEGER REFERENCES temp_parent(id) ON DELETE CASCADE)")
        try db.execute("INSERT INTO temp_parent VALUES (1)")
        try db.execute("INSERT INTO c VALUES (1)")
        expectError("23503", "INSERT INTO c VALUES (2)", on: db)
        try db.execute("DELETE FROM temp_parent")
        #expect(try count("SELECT count(*) FROM c", db) == 0)
        try db.close()
    }

    @Test func permanentForeignKeysFindTheirTablesWhenATemporaryTableHidesThem() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute("CREATE TABLE p(id INTEGER PRIMARY KEY)")
        try db.execute("CREATE TABLE c(id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p(id) ON DELETE CASCADE)")
        try db.execute("CREATE TABLE owner(id INTEGER PRIMARY KEY, c_id INTEGER REFERENCES c(id))")
        try db.execute("INSERT INTO p VALUES (1), (2)")
        try db.execute("CREATE TEMP TABLE p(id INTEGER PRIMARY KEY)")
        try db.execute("INSERT INTO p VALUES (7)")
        // The check reads the permanent parent, not the temporary table that hides it.
        try db.execute("INSERT INTO c VALUES (10, 1)")
        expectError("23503", "INSERT INTO c VALUES (11, 7)", on: db)
        // A cascade reaches the permanent child even when a temporary table takes its name.
        try db.execute("CREATE TEMP TABLE c(id INTEGER)")
        try db.execute("DROP TABLE p")  // the temporary p
        try db.execute("DELETE FROM p WHERE id = 1")
        try db.execute("DROP TABLE c")  // the temporary c
        #expect(try count("SELECT count(*) FROM c", db) == 0)
        try db.close()
    }

    @Test func preparedStatementFollowsATemporaryTableThatHidesItsTable() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute("CREATE TABLE t(v TEXT)")
        try db.execute("INSERT INTO t VALUES ('permanent')")
        let select = try #require(try db.prepare("SELECT v FROM t").statement)
        #expect(try select.step() == [.text("permanent")])
        select.reset()
        try db.execute("CREATE TEMP TABLE t(v TEXT)")
        try db.execute("INSERT INTO t VALUES ('temporary')")
        #expect(try select.step() == [.text("temporary")])
        select.reset()
        let insert = try #require(try db.prepare("INSERT INTO t VALUES ($1)").statement)
        try insert.bind([.text("inserted")])
        _ = try insert.step()
        insert.reset()
        try db.execute("DROP TABLE t")
        #expect(try select.step() == [.text("permanent")])
        select.reset()
        try insert.bind([.text("into permanent")])
        _ = try insert.step()
        #expect(try count("SELECT count(*) FROM t", db) == 2)
        // The output columns of a query on a temporary table are known before it runs.
        try db.execute("CREATE TEMP TABLE only_temp(x INTEGER, y TEXT)")
        #expect(try #require(try db.prepare("SELECT * FROM only_temp").statement).columnNames == ["x", "y"])
        try db.close()
    }

    @Test func writingOnlyTemporaryTablesTakesNoWriteLock() throws {
        let dir = TemporaryDirectory()
        var options = StorageOptions()
        options.busyTimeoutMilliseconds = 50
        let db = try Database(path: dir.database, options: options)
        let other = try Database(path: dir.database, options: options)
        try db.execute("CREATE TABLE base(a INTEGER)")
        try db.execute("INSERT INTO base VALUES (1)")
        try other.execute("BEGIN IMMEDIATE")
        try db.execute("CREATE TEMP TABLE t(a INTEGER PRIMARY KEY)")
        try db.execute("INSERT INTO t SELECT a FROM base")
        try db.execute("UPDATE t SET a = a + 1")
        try db.execute("CREATE INDEX t_a ON t(a)")
        try db.execute("DELETE FROM t WHERE a = 5")
        try db.execute("DROP TABLE t")
        // A write to a permanent table still waits for the lock.
        expectError("55P03", "INSERT INTO base VALUES (2)", on: db)
        try other.execute("ROLLBACK")
        try db.close()
        try other.close()
    }

    @Test func readOnlyConnectionsRefuseTemporaryTables() throws {
        let dir = TemporaryDirectory()
        let writer = try Database(path: dir.database)
        try writer.execute("CREATE TABLE base(a INTEGER)")
        let replica = try writer.openReplica()
        expectError("25006", "CREATE TEMP TABLE t(a INTEGER)", on: replica)
        expectError("25006", "CREATE TEMP VIEW v AS SELECT 1", on: replica)
        try replica.close()
        try writer.close()
        let readOnly = try Database(path: dir.database, readOnly: true)
        expectError("25006", "CREATE TEMP TABLE t(a INTEGER)", on: readOnly)
        try readOnly.close()
    }

    @Test func aViewOverATemporaryTableIsTemporary() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        let other = try Database(path: dir.database)
        try db.execute("CREATE TABLE base(a INTEGER)")
        try db.execute("INSERT INTO base VALUES (1), (2)")
        try db.execute("CREATE TEMP TABLE t(a INTEGER)")
        try db.execute("INSERT INTO t VALUES (2)")
        let result = try db.execute("CREATE VIEW v AS SELECT base.a FROM base JOIN t ON t.a = base.a")
        #expect(result.notice == "view \"v\" will be a temporary view")
        #expect(try db.execute("SELECT * FROM v").rows == [[.integer(2)]])
        expectError("42P01", "SELECT * FROM v", on: other)
        #expect(try db.execute("CREATE VIEW w AS SELECT a FROM base").notice == nil)
        #expect(try other.tableNames() == ["base", "w"])
        try db.close()
        try other.close()
        let reopened = try Database(path: dir.database)
        #expect(try reopened.tableNames() == ["base", "w"])
        try reopened.close()
    }

    @Test func foldersOfProcessesThatNoLongerRunAreRemoved() throws {
        let base = TemporaryDirectory()
        let abandoned = base.path + "/borealis-temp-999999999-1"
        let mine = base.path + "/borealis-temp-\(getpid())-2"
        for folder in [abandoned, mine] { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        TemporaryTables.removeAbandonedFolders(in: base.path)
        #expect(!FileManager.default.fileExists(atPath: abandoned))
        #expect(FileManager.default.fileExists(atPath: mine))
    }
}
