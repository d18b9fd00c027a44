// A prepared INSERT/UPDATE/DELETE keeps one write plan (writer, targets, values, match and
// access path, assignments, and the foreign keys' cascade writers and paths) for as long as the
// catalog version is unchanged, and makes a new one after any schema change between executions
// (docs/query-engine.md, "Foreign keys" and "Stages" item 6).

import Testing
@testable import Borealis
@testable import BorealisSQL
@testable import BorealisStorage

@Suite struct WritePlanTests {
    private func family(_ db: Database, onDelete: String = "CASCADE", onUpdate: String = "NO ACTION", childIndex: Bool = true) throws {
        try db.execute("CREATE TABLE parent(id INTEGER PRIMARY KEY, name TEXT)")
        try db.execute("CREATE TABLE child(id INTEGER PRIMARY KEY, pid INTEGER DEFAULT 0 REFERENCES parent(id) ON DELETE \(onDelete) ON UPDATE \(onUpdate), note TEXT)")
        if childIndex { try db.execute("CREATE INDEX child_pid ON child(pid)") }
        try db.write { db in
            for p in 0...20 { try db.execute("INSERT INTO parent VALUES ($1, 'p')", [.integer(Int64(p))]) }
            for c in 1...200 { try db.execute("INSERT INTO child VALUES ($1, $2, 'n')", [.integer(Int64(c)), .integer(Int64(c % 20 + 1))]) }
        }
    }

    private func count(_ db: Database, _ sql: String) throws -> Value { try db.execute(sql).rows[0][0] }

    /// The referencing path the plan's cascade from `parent` to `child` uses.
    private func cascadePath(_ plan: StatementExecutor.WritePlan?) -> String? {
        plan?.foreignKeys.referencing["parent"]?.first?.path.description
    }

    @Test func aPreparedDeleteKeepsOneWritePlanAndItsCascadeAcrossExecutions() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try family(db)
        let delete = try #require(try db.prepare("DELETE FROM parent WHERE id = $1").statement)
        #expect(try delete.execute([.integer(1)]).changes == 1)
        let plan = try #require(delete.cache.write)
        #expect(plan.match != nil)
        let child = try #require(plan.foreignKeys.referencing["parent"]?.first)
        #expect(child.path.description.contains("child_pid"), "\(child.path.description)")
        try db.execute("BEGIN")
        for p in 2...5 { #expect(try delete.execute([.integer(Int64(p))]).changes == 1) }
        try db.execute("COMMIT")
        #expect(delete.cache.write === plan)
        #expect(plan.foreignKeys.referencing["parent"]?.first?.child === child.child)
        #expect(try count(db, "SELECT count(*) FROM child WHERE pid <= 5") == .integer(0))
        #expect(try count(db, "SELECT count(*) FROM child") == .integer(150))
    }

    @Test func aCascadeIsReplannedWhenTheChildIndexIsDroppedOrCreatedBetweenExecutions() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try family(db)
        let delete = try #require(try db.prepare("DELETE FROM parent WHERE id = $1").statement)
        try delete.execute([.integer(1)])
        let indexed = try #require(delete.cache.write)
        #expect(cascadePath(indexed)?.contains("child_pid") == true, "\(cascadePath(indexed) ?? "none")")

        try db.execute("DROP INDEX child_pid")
        try delete.execute([.integer(2)])
        let scanning = try #require(delete.cache.write)
        #expect(scanning !== indexed)
        #expect(scanning.catalogVersion != indexed.catalogVersion)
        #expect(cascadePath(scanning)?.contains("child_pid") == false, "\(cascadePath(scanning) ?? "none")")
        #expect(try count(db, "SELECT count(*) FROM child WHERE pid = 2") == .integer(0))
        // The dropped index's entries are no longer maintained: a new index on the same column
        // must come out whole.
        try db.execute("CREATE INDEX child_pid2 ON child(pid)")
        try delete.execute([.integer(3)])
        let reindexed = try #require(delete.cache.write)
        #expect(reindexed !== scanning)
        #expect(cascadePath(reindexed)?.contains("child_pid2") == true, "\(cascadePath(reindexed) ?? "none")")
        #expect(try count(db, "SELECT count(*) FROM child WHERE pid <= 3") == .integer(0))
        #expect(try count(db, "SELECT count(*) FROM child WHERE pid > 3") == .integer(170))
        #expect(try count(db, "SELECT count(*) FROM child WHERE pid >= 4 AND pid <= 20") == .integer(170))
        #expect(try db.checkIntegrity().isSound)
    }

    @Test func aPreparedUpdateCascadeFollowsAnIndexCreatedAfterItsFirstRun() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try family(db, onDelete: "NO ACTION", onUpdate: "CASCADE", childIndex: false)
        let update = try #require(try db.prepare("UPDATE parent SET id = $2 WHERE id = $1").statement)
        #expect(try update.execute([.integer(1), .integer(101)]).changes == 1)
        let scanning = try #require(delete(update))
        #expect(cascadePath(scanning)?.contains("child_pid") == false)
        try db.execute("CREATE INDEX child_pid ON child(pid)")
        #expect(try update.execute([.integer(2), .integer(102)]).changes == 1)
        let indexed = try #require(delete(update))
        #expect(indexed !== scanning)
        #expect(cascadePath(indexed)?.contains("child_pid") == true)
        #expect(try count(db, "SELECT count(*) FROM child WHERE pid IN (101, 102)") == .integer(20))
        #expect(try count(db, "SELECT count(*) FROM child WHERE pid IN (1, 2)") == .integer(0))
        // NO ACTION on delete, through the rebuilt plan's path.
        let remove = try #require(try db.prepare("DELETE FROM parent WHERE id = $1").statement)
        #expect(throws: DatabaseError.self) { try remove.execute([.integer(101)]) }
        #expect(try remove.execute([.integer(0)]).changes == 1)
    }

    private func delete(_ statement: PreparedStatement) -> StatementExecutor.WritePlan? { statement.cache.write }

    @Test func aCascadeSetDefaultUsesTheDefaultAlteredBetweenExecutions() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try family(db, onDelete: "SET DEFAULT")
        let delete = try #require(try db.prepare("DELETE FROM parent WHERE id = $1").statement)
        try delete.execute([.integer(1)])
        #expect(try count(db, "SELECT count(*) FROM child WHERE pid = 0") == .integer(10))
        try db.execute("ALTER TABLE child ALTER COLUMN pid SET DEFAULT 20")
        try delete.execute([.integer(2)])
        #expect(try count(db, "SELECT count(*) FROM child WHERE pid = 20") == .integer(20))
        // A default whose parent does not exist fails the cascade (23503) and changes nothing.
        try db.execute("ALTER TABLE child ALTER COLUMN pid SET DEFAULT 999")
        #expect(throws: DatabaseError.self) { try delete.execute([.integer(3)]) }
        #expect(try count(db, "SELECT count(*) FROM parent WHERE id = 3") == .integer(1))
    }

    @Test func aSelfReferencingCascadeDeletesWholeSubtreesFromAPreparedDelete() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute("CREATE TABLE node(id INTEGER PRIMARY KEY, up INTEGER REFERENCES node(id) ON DELETE CASCADE)")
        try db.execute("CREATE INDEX node_up ON node(up)")
        // Two trees: 1 ← 2 ← 3 ← 4 and 10 ← 11, 10 ← 12.
        try db.execute("INSERT INTO node VALUES (1, NULL), (2, 1), (3, 2), (4, 3), (10, NULL), (11, 10), (12, 10)")
        let delete = try #require(try db.prepare("DELETE FROM node WHERE id = $1").statement)
        try delete.execute([.integer(2)])
        #expect(try db.execute("SELECT id FROM node ORDER BY id").rows == [[.integer(1)], [.integer(10)], [.integer(11)], [.integer(12)]])
        try db.execute("DROP INDEX node_up")
        try delete.execute([.integer(10)])
        #expect(try db.execute("SELECT id FROM node ORDER BY id").rows == [[.integer(1)]])
    }

    @Test func aPreparedInsertAndUpdateAreReplannedAfterAlterTable() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute("CREATE TABLE t(a INTEGER PRIMARY KEY, b INTEGER)")
        let insert = try #require(try db.prepare("INSERT INTO t VALUES ($1, $2)").statement)
        let update = try #require(try db.prepare("UPDATE t SET b = $2 WHERE b = $1").statement)
        try insert.execute([.integer(1), .integer(10)])
        try insert.execute([.integer(2), .integer(20)])
        #expect(try update.execute([.integer(10), .integer(11)]).changes == 1)
        let firstInsert = try #require(insert.cache.write)
        let firstUpdate = try #require(update.cache.write)
        #expect(firstInsert.targets == [0, 1])

        // A new column with a default (existing rows take it, as in PostgreSQL): the VALUES
        // list fills the first two columns, the default the third.
        try db.execute("ALTER TABLE t ADD COLUMN c INTEGER DEFAULT 7")
        try insert.execute([.integer(3), .integer(30)])
        #expect(insert.cache.write !== firstInsert)
        #expect(insert.cache.write?.targets == [0, 1, 2])
        #expect(try db.execute("SELECT c FROM t WHERE a = 3").rows == [[.integer(7)]])

        // An index on b: the update's WHERE now probes it; a CHECK added later is enforced.
        try db.execute("CREATE INDEX t_b ON t(b)")
        #expect(try update.execute([.integer(20), .integer(21)]).changes == 1)
        let indexedUpdate = try #require(update.cache.write)
        #expect(indexedUpdate !== firstUpdate)
        #expect(indexedUpdate.match?.path.description.contains("t_b") == true, "\(indexedUpdate.match?.path.description ?? "none")")
        try db.execute("ALTER TABLE t ADD CONSTRAINT small CHECK (b < 100)")
        #expect(throws: DatabaseError.self) { try update.execute([.integer(21), .integer(500)]) }
        #expect(throws: DatabaseError.self) { try insert.execute([.integer(4), .integer(400)]) }
        try db.execute("DROP INDEX t_b")
        #expect(try update.execute([.integer(21), .integer(22)]).changes == 1)
        #expect(update.cache.write?.match?.path.description.contains("t_b") == false)
        #expect(try db.execute("SELECT a, b, c FROM t ORDER BY a").rows == [
            [.integer(1), .integer(11), .integer(7)], [.integer(2), .integer(22), .integer(7)], [.integer(3), .integer(30), .integer(7)],
        ])
        #expect(try count(db, "SELECT count(*) FROM t WHERE b = 22") == .integer(1))
    }

    /// A prepared INSERT's writer checks the foreign keys the table has now: one added or
    /// dropped between executions, a parent key through a unique index as through the row id.
    @Test func aPreparedInsertChecksForeignKeysAddedOrDroppedBetweenExecutions() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute("CREATE TABLE p(id INTEGER PRIMARY KEY, code TEXT UNIQUE)")
        try db.execute("CREATE TABLE c(id INTEGER PRIMARY KEY, pid INTEGER, pcode TEXT)")
        try db.execute("INSERT INTO p VALUES (1, 'a'), (2, 'b')")
        let insert = try #require(try db.prepare("INSERT INTO c VALUES ($1, $2, $3)").statement)
        try insert.execute([.integer(1), .integer(9), .text("z")])
        try db.execute("DELETE FROM c")
        try db.execute("ALTER TABLE c ADD CONSTRAINT c_pid FOREIGN KEY (pid) REFERENCES p(id)")
        try insert.execute([.integer(2), .integer(1), .text("a")])
        #expect(insert.cache.write?.writer.parentChecks?.count == 1)
        #expect(throws: DatabaseError.self) { try insert.execute([.integer(3), .integer(9), .text("z")]) }
        try db.execute("ALTER TABLE c ADD CONSTRAINT c_pcode FOREIGN KEY (pcode) REFERENCES p(code)")
        #expect(throws: DatabaseError.self) { try insert.execute([.integer(4), .integer(1), .text("z")]) }
        try insert.execute([.integer(5), .integer(2), .text("b")])
        try insert.execute([.integer(6), .null, .null])
        #expect(insert.cache.write?.writer.parentChecks?.count == 2)
        try db.execute("ALTER TABLE c DROP CONSTRAINT c_pid")
        try insert.execute([.integer(7), .integer(9), .text("a")])
        #expect(throws: DatabaseError.self) { try insert.execute([.integer(8), .integer(9), .text("q")]) }
        #expect(try db.execute("SELECT id FROM c ORDER BY id").rows == [[.integer(2)], [.integer(5)], [.integer(6)], [.integer(7)]])
    }

    /// Each data-modifying CTE compiles its own statement: two DELETEs of one table with
    /// different WHERE clauses in one prepared statement each delete their own row.
    @Test func dataModifyingCTEsOfOnePreparedStatementDoNotShareAWritePlan() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY)")
        try db.execute("INSERT INTO t SELECT g FROM generate_series(1, 10) g")
        let statement = try #require(try db.prepare(
            "WITH a AS (DELETE FROM t WHERE id = $1 RETURNING id), b AS (DELETE FROM t WHERE id = $2 RETURNING id) SELECT (SELECT count(*) FROM a) + (SELECT count(*) FROM b)").statement)
        #expect(try statement.execute([.integer(1), .integer(2)]).rows == [[.integer(2)]])
        #expect(try statement.execute([.integer(3), .integer(4)]).rows == [[.integer(2)]])
        #expect(try db.execute("SELECT id FROM t ORDER BY id LIMIT 1").rows == [[.integer(5)]])
    }
}
