// Sequences beyond one SQL session (Tests/SQL/sequences.test has the SQL): currval/lastval per
// connection, non-transactional values (rollback, savepoints, failed statements), two
// connections at once, and values after a crash (docs/storage.md §3, "Non-transactional writes").

import Foundation
import Testing
@testable import Borealis
@testable import BorealisSQL
@testable import BorealisStorage

@Suite(.serialized) struct SequenceTests {
    private func int(_ db: Database, _ sql: String) throws -> Int64 {
        guard case .integer(let v)? = try db.execute(sql).rows.first?.first else {
            Issue.record("no integer from \(sql)")
            return -1
        }
        return v
    }

    @Test func currvalAndLastvalBelongToTheConnection() throws {
        let dir = TemporaryDirectory()
        let a = try Database(path: dir.database)
        let b = try Database(path: dir.database)
        try a.execute("CREATE SEQUENCE s; CREATE SEQUENCE q START 100")
        #expect(sqlState { _ = try a.execute("SELECT currval('s')") } == SQLState.objectNotInPrerequisiteState)
        #expect(sqlState { _ = try a.execute("SELECT lastval()") } == SQLState.objectNotInPrerequisiteState)
        #expect(try int(a, "SELECT nextval('s')") == 1)
        #expect(try int(a, "SELECT currval('s')") == 1)
        #expect(try int(a, "SELECT nextval('q')") == 100)
        #expect(try int(a, "SELECT lastval()") == 100)
        #expect(try int(a, "SELECT currval('s')") == 1)
        // The other connection has its own.
        #expect(sqlState { _ = try b.execute("SELECT currval('s')") } == SQLState.objectNotInPrerequisiteState)
        #expect(try int(b, "SELECT nextval('s')") == 2)
        #expect(try int(a, "SELECT currval('s')") == 1)
        // setval(…, true) sets currval, not lastval; a serial insert sets both.
        #expect(try int(a, "SELECT setval('s', 50)") == 50)
        #expect(try int(a, "SELECT currval('s')") == 50)
        #expect(try int(a, "SELECT lastval()") == 100)
        try a.execute("CREATE TABLE t(id SERIAL PRIMARY KEY, v TEXT)")
        try a.execute("INSERT INTO t(v) VALUES ('x')")
        #expect(try int(a, "SELECT lastval()") == 1)
        #expect(try int(a, "SELECT currval('t_id_seq')") == 1)
        // A dropped sequence: lastval is undefined again.
        try a.execute("DROP TABLE t")
        #expect(sqlState { _ = try a.execute("SELECT lastval()") } == SQLState.objectNotInPrerequisiteState)
        try a.close()
        try b.close()
    }

    @Test func valuesOfRolledBackWorkAreNotHandedOutAgain() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute("CREATE SEQUENCE s; CREATE TABLE t(id SERIAL PRIMARY KEY, v INTEGER CHECK (v > 0))")
        try db.execute("BEGIN")
        #expect(try int(db, "SELECT nextval('s')") == 1)
        try db.execute("ROLLBACK")
        #expect(try int(db, "SELECT nextval('s')") == 2)
        // Rolled back to a savepoint, then committed.
        try db.execute("BEGIN; SAVEPOINT a")
        #expect(try int(db, "SELECT nextval('s')") == 3)
        try db.execute("ROLLBACK TO a")
        try db.execute("COMMIT")
        #expect(try int(db, "SELECT nextval('s')") == 4)
        // A failing autocommit statement, and a failed block.
        #expect(sqlState { _ = try db.execute("INSERT INTO t(v) VALUES (1), (-1)") } == SQLState.checkViolation)
        try db.execute("BEGIN; INSERT INTO t(v) VALUES (5)")
        #expect(sqlState { _ = try db.execute("SELECT 1 / 0") } == SQLState.divisionByZero)
        try db.execute("ROLLBACK")
        #expect(try int(db, "INSERT INTO t(v) VALUES (7) RETURNING id") == 4)
        // A prepared SELECT streamed through a cursor, reset before its end.
        let statement = try #require(try db.prepare("SELECT nextval('s') FROM (VALUES (1), (2), (3)) v(x)").statement)
        #expect(try statement.step() != nil)
        statement.reset()
        #expect(try int(db, "SELECT nextval('s')") > 5)
        try db.close()
        // And after reopening, where the last transaction left them.
        let again = try Database(path: dir.database)
        let next = try int(again, "SELECT nextval('s')")
        #expect(next > 6)
        #expect(try int(again, "INSERT INTO t(v) VALUES (8) RETURNING id") == 5)
        try again.close()
    }

    @Test func aCleanReopenContinuesWithoutAGap() throws {
        let dir = TemporaryDirectory()
        do {
            let db = try Database(path: dir.database)
            try db.execute("CREATE SEQUENCE s INCREMENT 3")
            for _ in 0..<5 { _ = try int(db, "SELECT nextval('s')") }
            try db.close()
        }
        let db = try Database(path: dir.database)
        #expect(try int(db, "SELECT nextval('s')") == 16)
        try db.close()
    }

    @Test func twoConnectionsGetDistinctValues() throws {
        let dir = TemporaryDirectory()
        let setup = try Database(path: dir.database)
        try setup.execute("CREATE SEQUENCE s; CREATE TABLE t(id BIGSERIAL PRIMARY KEY, who INTEGER)")
        let perThread = 200
        let path = dir.database
        let results = Locked<[Int64]>([])
        let failures = Locked<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { who in
            do {
                let db = try Database(path: path)
                var mine: [Int64] = []
                for i in 0..<perThread {
                    if i % 2 == 0 {
                        guard case .integer(let v)? = try db.execute("SELECT nextval('s')").rows.first?.first else { continue }
                        mine.append(v)
                    } else {
                        try db.execute("INSERT INTO t(who) VALUES ($1)", [.integer(Int64(who))])
                    }
                }
                results.withLock { $0 += mine }
                try db.close()
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        let values = results.withLock { $0 }
        #expect(values.count == perThread)
        #expect(Set(values).count == values.count)
        #expect(Set(values) == Set(1...Int64(perThread)))
        let ids = try setup.execute("SELECT id FROM t ORDER BY id").rows.map { $0[0] }
        #expect(ids == (1...Int64(perThread)).map { .integer($0) })
        try setup.close()
    }

    /// Runs `work` on a database holding sequence s and identity table t, lets the process
    /// die (no close, unsynced bytes lost), reopens, and returns the connection.
    private func afterCrash(seed: UInt64, _ work: (Database) throws -> Void) throws -> Database {
        let fs = FaultInjectingFileSystem()
        var options = smallOptions(fs)
        options.backgroundMaterializer = false
        let db = try Database(path: "/db", options: options)
        try db.execute("CREATE SEQUENCE s; CREATE TABLE t(id INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v INTEGER)")
        try db.execute("SELECT nextval('s')")
        try db.engine.materializeNow()
        try work(db)
        db.engine.abandonForTesting()
        try? db.close()
        fs.crash(seed: seed)
        return try Database(path: "/db", options: options)
    }

    @Test func noValueIsHandedOutTwiceAcrossACrash() throws {
        // Committed values.
        var handed: [Int64] = []
        var db = try afterCrash(seed: 1) { db in
            for _ in 0..<20 { handed.append(try int(db, "SELECT nextval('s')")) }
            for _ in 0..<5 { handed.append(try int(db, "INSERT INTO t(v) VALUES (1) RETURNING id")) }
        }
        #expect(try int(db, "SELECT nextval('s')") == 22)
        #expect(try int(db, "INSERT INTO t(v) VALUES (1) RETURNING id") == 6)
        try db.close()
        // Values of a transaction that rolled back just before the crash.
        db = try afterCrash(seed: 2) { db in
            try db.execute("BEGIN")
            #expect(try int(db, "SELECT nextval('s')") == 2)
            #expect(try int(db, "INSERT INTO t(v) VALUES (1) RETURNING id") == 1)
            try db.execute("ROLLBACK")
        }
        #expect(try int(db, "SELECT nextval('s')") == 3)
        #expect(try int(db, "INSERT INTO t(v) VALUES (1) RETURNING id") == 2)
        try db.close()
        // Values rolled back to a savepoint of a transaction that then committed.
        db = try afterCrash(seed: 3) { db in
            try db.execute("BEGIN; SAVEPOINT a")
            #expect(try int(db, "SELECT nextval('s')") == 2)
            #expect(try int(db, "INSERT INTO t(v) VALUES (1) RETURNING id") == 1)
            try db.execute("ROLLBACK TO a; COMMIT")
        }
        #expect(try int(db, "SELECT nextval('s')") == 3)
        #expect(try int(db, "INSERT INTO t(v) VALUES (1) RETURNING id") == 2)
        try db.close()
        // Values taken by an autocommit statement that failed.
        db = try afterCrash(seed: 4) { (db: Database) throws in
            // The third row is out of range once its id is taken.
            #expect(sqlState { _ = try db.execute("INSERT INTO t(v) VALUES (1), (2), (3000000000)") } == SQLState.numericValueOutOfRange)
        }
        #expect(try int(db, "INSERT INTO t(v) VALUES (1) RETURNING id") == 4)
        try db.close()
        // setval, and the log's tail torn at another point.
        db = try afterCrash(seed: 5) { (db: Database) throws in
            #expect(try int(db, "SELECT setval('s', 1000)") == 1000)
        }
        #expect(try int(db, "SELECT nextval('s')") == 1001)
        try db.close()
    }

    @Test func readOnlyTransactionsAndReplicasDoNotMoveSequences() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute("CREATE SEQUENCE s")
        try db.execute("BEGIN READ ONLY")
        #expect(sqlState { _ = try db.execute("SELECT nextval('s')") } == SQLState.readOnlySQLTransaction)
        try db.execute("ROLLBACK")
        let replica = try db.openReplica()
        #expect(sqlState { _ = try replica.execute("SELECT nextval('s')") } == SQLState.readOnlySQLTransaction)
        #expect(try int(db, "SELECT nextval('s')") == 1)
        try replica.close()
        try db.close()
    }

    @Test func dumpRestoresSequencesWhereTheyStand() throws {
        let dir = TemporaryDirectory()
        let a = try Database(path: dir.path + "/a.db")
        try a.execute("""
            CREATE SEQUENCE "Odd" INCREMENT 2 MINVALUE -11 MAXVALUE 99 START -11 CYCLE;
            CREATE TABLE g(id INTEGER GENERATED ALWAYS AS IDENTITY (START WITH 10 INCREMENT BY 5) PRIMARY KEY,
                           n SMALLSERIAL, b BIGINT GENERATED BY DEFAULT AS IDENTITY (SEQUENCE NAME other_name), v TEXT);
            CREATE SEQUENCE tick OWNED BY g.v;
            INSERT INTO g(v) VALUES ('a'), ('b'), ('c');
            DELETE FROM g WHERE v = 'c';
            SELECT nextval('"Odd"'), nextval('"Odd"'), nextval('tick');
            """)
        try a.close()
        let text = try ShellTests.dump(dir.path + "/a.db")
        #expect(text.contains("CREATE TABLE g (\n  id integer GENERATED ALWAYS AS IDENTITY (INCREMENT BY 5 START WITH 10) PRIMARY KEY,"))
        #expect(text.contains("INSERT INTO g OVERRIDING SYSTEM VALUE VALUES (10, 1, 1, 'a');"))
        #expect(text.contains("CREATE SEQUENCE \"Odd\" AS bigint INCREMENT BY 2 MINVALUE -11 MAXVALUE 99 START WITH -11 CACHE 1 CYCLE;"))
        #expect(text.contains("ALTER SEQUENCE tick OWNED BY g.v;"))
        #expect(text.contains("SELECT setval('g_id_seq', 20, true);"))
        let b = try Database(path: dir.path + "/b.db")
        try b.execute(text)
        try b.close()
        #expect(try ShellTests.dump(dir.path + "/b.db") == text)
        for path in [dir.path + "/a.db", dir.path + "/b.db"] {
            let db = try Database(path: path)
            #expect(try db.execute("INSERT INTO g(v) VALUES ('d') RETURNING id, n, b").rows == [[.integer(25), .integer(4), .integer(4)]])
            #expect(try int(db, "SELECT nextval('\"Odd\"')") == -7)
            #expect(try int(db, "SELECT nextval('tick')") == 2)
            try db.execute("DROP TABLE g")
            #expect(sqlState { _ = try db.execute("SELECT nextval('tick')") } == SQLState.undefinedTable)
            try db.close()
        }
    }

    /// The incarnations that have a state record in the catalog tree.
    private func stateRecords(_ db: Database) throws -> Set<UInt64> {
        try db.withCatalog { _, txn in
            var found = Set<UInt64>()
            guard let tree = try Catalog.tree(txn) else { return found }
            var cursor = tree.cursor(in: txn)
            var more = try cursor.first()
            while more {
                let key = String(decoding: cursor.key, as: UTF8.self)
                if key.hasPrefix("seqstate:"), let n = UInt64(key.dropFirst("seqstate:".count)) { found.insert(n) }
                more = try cursor.next()
            }
            return found
        }
    }

    private func incarnations(_ db: Database) throws -> Set<UInt64> {
        try db.withCatalog { catalog, _ in Set(catalog.sequences.values.map(\.incarnation)) }
    }

    @Test func stateRecordsLiveExactlyAsLongAsTheirIncarnations() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute("CREATE SEQUENCE kept")
        // Created, used and rolled back: no record is left behind, and the name starts afresh.
        try db.execute("BEGIN; CREATE SEQUENCE s START 10")
        #expect(try int(db, "SELECT nextval('s')") == 10)
        try db.execute("ROLLBACK")
        #expect(try stateRecords(db) == incarnations(db))
        try db.execute("CREATE SEQUENCE s START 10")
        #expect(try int(db, "SELECT nextval('s')") == 10)
        // Restarted (a new incarnation) and used in one transaction, then committed.
        try db.execute("BEGIN; ALTER SEQUENCE s RESTART WITH 50")
        #expect(try int(db, "SELECT nextval('s')") == 50)
        try db.execute("COMMIT")
        #expect(try stateRecords(db) == incarnations(db))
        // Used, then dropped in the same transaction; a serial table dropped with its sequence.
        try db.execute("CREATE TABLE t(id SERIAL, v INTEGER); INSERT INTO t(v) VALUES (1)")
        try db.execute("BEGIN")
        #expect(try int(db, "SELECT nextval('s')") == 51)
        try db.execute("DROP SEQUENCE s; DROP TABLE t; COMMIT")
        #expect(try stateRecords(db) == incarnations(db))
        #expect(try incarnations(db).count == 1)
        try db.close()
    }

    @Test func aWriterDroppedUnfinishedStillCommitsItsNonTransactionalWrites() throws {
        let (_, _, engine, table) = try faultEngineWithTable()
        func write(_ key: Int64, kept: Int64) throws {
            let txn = try engine.beginWrite()
            try table.put(key, [1], in: txn)
            txn.nonTransactionalWrites[1] = { t in try table.put(kept, [2], in: t) }
            if key == 1 { txn.rollback() } // else dropped: deinit rolls it back
        }
        try write(1, kept: 100)
        try write(2, kept: 200)
        let reader = try engine.beginRead()
        #expect(try table.get(1, in: reader) == nil && table.get(2, in: reader) == nil)
        #expect(try table.get(100, in: reader) == [2] && table.get(200, in: reader) == [2])
        reader.rollback()
        // A write that fails leaves the rollback a plain one.
        let txn = try engine.beginWrite()
        try table.put(3, [1], in: txn)
        txn.nonTransactionalWrites[2] = { _ in throw DatabaseError.internalError("no") }
        txn.rollback()
        let after = try engine.beginWrite()
        #expect(try table.get(3, in: after) == nil)
        after.rollback()
        try engine.close()
    }

    @Test func aPreparedUpdateToDefaultTakesTheNextValueInEveryTransaction() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute("CREATE TABLE p(id SERIAL PRIMARY KEY, v INTEGER); CREATE TEMP TABLE q(id BIGSERIAL, v INTEGER)")
        try db.execute("INSERT INTO p(v) VALUES (1), (2); INSERT INTO q(v) VALUES (1), (2)")
        for (table, expected) in [("p", [Int64(3), 4]), ("q", [Int64(3), 4])] {
            let update = try #require(try db.prepare("UPDATE \(table) SET id = DEFAULT WHERE v = $1 RETURNING id").statement)
            for (i, v) in [Int64(1), 2].enumerated() {
                update.reset()
                try update.bind([.integer(v)])
                #expect(try update.step() == [.integer(expected[i])], "\(table)")
            }
        }
        // The temporary table's identity (no sequence) is one past the largest; at the end of
        // bigint that is an error, not a wrap.
        try db.execute("INSERT INTO q(id, v) VALUES (9223372036854775807, 3)")
        #expect(sqlState { _ = try db.execute("INSERT INTO q(v) VALUES (4)") } == SQLState.numericValueOutOfRange)
        try db.close()
    }

    @Test func identityValuesNeverScanTheTable() throws {
        // The old rule (one past the largest value, found by a scan for a column that is not
        // the row id) gave 3 here after the delete; a sequence gives 4 without reading a row.
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute("CREATE TABLE t(k TEXT PRIMARY KEY, n SERIAL)")
        try db.execute("INSERT INTO t(k) VALUES ('a'), ('b'), ('c')")
        try db.execute("DELETE FROM t WHERE n = 3")
        #expect(try int(db, "INSERT INTO t(k) VALUES ('d') RETURNING n") == 4)
        try db.close()
    }
}
