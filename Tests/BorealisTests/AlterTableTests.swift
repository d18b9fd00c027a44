// ALTER TABLE and the other DDL of issue 17 beyond one SQL session (Tests/SQL/alter-table.test
// and ddl-dependencies.test have the SQL): schema changes survive a reopen, a rollback undoes
// them (several actions at once included), and temporary tables take them too.

import Foundation
import Testing
@testable import Borealis
@testable import BorealisSQL
@testable import BorealisStorage

@Suite(.serialized) struct AlterTableTests {
    @Test func alteredColumnsSurviveAReopen() throws {
        let dir = TemporaryDirectory()
        do {
            let db = try Database(path: dir.database)
            try db.execute("CREATE TABLE t (id int PRIMARY KEY, code text, n int)")
            try db.execute("INSERT INTO t VALUES (1, '10', 5), (2, '20', NULL)")
            try db.execute("CREATE INDEX t_code ON t (code)")
            try db.execute("ALTER TABLE t ALTER COLUMN code TYPE int USING code::int, ALTER n SET DEFAULT 7, ALTER id TYPE bigint")
            try db.execute("ALTER TABLE t ALTER COLUMN code SET NOT NULL")
            try db.close()
        }
        let db = try Database(path: dir.database)
        #expect(try textRows(db, "SELECT id FROM t WHERE code = 20") == [["2"]])
        try db.execute("INSERT INTO t (id, code) VALUES (3, 30)")
        #expect(try textRows(db, "SELECT n FROM t WHERE id = 3") == [["7"]])
        #expect(sqlState { _ = try db.execute("INSERT INTO t (id) VALUES (4)") } == SQLState.notNullViolation)
        #expect(sqlState { _ = try db.execute("INSERT INTO t (id, code) VALUES (5, 'x')") } == SQLState.invalidTextRepresentation)
        try db.close()
    }

    @Test func aRolledBackAlterLeavesTheTableAsItWas() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute("CREATE TABLE s (id int PRIMARY KEY, v text)")
        try db.execute("CREATE UNIQUE INDEX s_v ON s (v)")
        try db.execute("INSERT INTO s VALUES (1, 'a'), (2, 'bb')")
        try db.execute("BEGIN")
        try db.execute("ALTER TABLE s ALTER COLUMN v TYPE int USING length(v), ADD COLUMN w int DEFAULT 1, ALTER id SET DEFAULT 99")
        #expect(try textRows(db, "SELECT id, v, w FROM s ORDER BY id") == [["1", "1", "1"], ["2", "2", "1"]])
        try db.execute("ROLLBACK")
        #expect(try textRows(db, "SELECT * FROM s ORDER BY id") == [["1", "a"], ["2", "bb"]])
        #expect(try textRows(db, "SELECT id FROM s WHERE v = 'bb'") == [["2"]])
        #expect(sqlState { _ = try db.execute("INSERT INTO s (v) VALUES ('c')") } == SQLState.notNullViolation)
        // A failing action undoes the actions before it in the same statement.
        #expect(sqlState { _ = try db.execute("ALTER TABLE s ADD COLUMN x int, ALTER v TYPE int") } == SQLState.datatypeMismatch)
        #expect(try db.execute("SELECT * FROM s").columns == ["id", "v"])
        try db.close()
    }

    @Test func temporaryTablesTakeSeveralActions() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute("CREATE TABLE p (a int)")
        try db.execute("CREATE TEMP TABLE tt (a int, b text)")
        try db.execute("INSERT INTO tt VALUES (1, '5')")
        try db.execute("ALTER TABLE tt ALTER b TYPE int USING b::int, ADD COLUMN c int DEFAULT 3, DROP COLUMN a")
        #expect(try textRows(db, "SELECT * FROM tt") == [["5", "3"]])
        try db.execute("ALTER TABLE p ADD COLUMN b int, ALTER a SET NOT NULL")
        #expect(try db.execute("SELECT * FROM p").columns == ["a", "b"])
        try db.close()
    }

    @Test func commentsSurviveAReopenAndFollowRenamesAndDrops() throws {
        let dir = TemporaryDirectory()
        do {
            let db = try Database(path: dir.database)
            try db.execute("CREATE TABLE t (a int, b int)")
            try db.execute("COMMENT ON TABLE t IS 'the table'")
            try db.execute("COMMENT ON COLUMN t.b IS 'bee'")
            try db.close()
        }
        let db = try Database(path: dir.database)
        #expect(try textRows(db, "SELECT obj_description('t'::regclass), col_description('t'::regclass, 2), col_description('t'::regclass, 1)")
                == [["the table", "bee", "NULL"]])
        try db.execute("ALTER TABLE t RENAME TO u")
        try db.execute("ALTER TABLE u RENAME COLUMN b TO c")
        #expect(try textRows(db, "SELECT obj_description('u'::regclass, 'pg_class'), col_description('u'::regclass, 2)") == [["the table", "bee"]])
        try db.execute("BEGIN")
        try db.execute("COMMENT ON TABLE u IS NULL")
        try db.execute("ROLLBACK")
        #expect(try textRows(db, "SELECT obj_description('u'::regclass)") == [["the table"]])
        try db.execute("ALTER TABLE u DROP COLUMN c")
        try db.execute("ALTER TABLE u ADD COLUMN c int")
        #expect(try textRows(db, "SELECT col_description('u'::regclass, 2)") == [["NULL"]])
        try db.execute("DROP TABLE u")
        try db.execute("CREATE TABLE u (a int)")
        #expect(try textRows(db, "SELECT obj_description('u'::regclass)") == [["NULL"]])
        #expect(try textRows(db, "SELECT count(*) FROM pg_description") == [["0"]])
        try db.close()
    }

    @Test func viewDependenciesSurviveAReopenAndARollback() throws {
        let dir = TemporaryDirectory()
        do {
            let db = try Database(path: dir.database)
            try db.execute("CREATE TABLE t (a int, b int)")
            try db.execute("INSERT INTO t VALUES (1, 2)")
            try db.execute("CREATE VIEW v AS SELECT * FROM t")
            try db.execute("CREATE VIEW w AS SELECT a FROM v")
            try db.close()
        }
        let db = try Database(path: dir.database)
        #expect(sqlState { _ = try db.execute("DROP TABLE t") } == SQLState.dependentObjectsStillExist)
        try db.execute("BEGIN")
        try db.execute("DROP TABLE t CASCADE")
        #expect(sqlState { _ = try db.execute("SELECT * FROM w") } == SQLState.undefinedTable)
        try db.execute("ROLLBACK")
        #expect(try textRows(db, "SELECT * FROM w") == [["1"]])
        try db.execute("ALTER TABLE t RENAME TO t2")
        try db.execute("ALTER TABLE t2 RENAME COLUMN a TO x")
        #expect(try textRows(db, "SELECT * FROM v") == [["1", "2"]])
        #expect(try db.execute("SELECT * FROM v").columns == ["a", "b"])
        #expect(sqlState { _ = try db.execute("ALTER TABLE t2 DROP COLUMN x") } == SQLState.dependentObjectsStillExist)
        try db.close()
    }

    @Test func generatedColumnsSurviveAReopen() throws {
        let dir = TemporaryDirectory()
        do {
            let db = try Database(path: dir.database)
            try db.execute("CREATE TABLE g (a int, b int GENERATED ALWAYS AS (a * 2) STORED)")
            try db.execute("INSERT INTO g (a) VALUES (1)")
            try db.close()
        }
        let db = try Database(path: dir.database)
        try db.execute("INSERT INTO g (a) VALUES (5)")
        try db.execute("UPDATE g SET a = a + 1")
        #expect(try textRows(db, "SELECT a, b FROM g ORDER BY a") == [["2", "4"], ["6", "12"]])
        #expect(sqlState { _ = try db.execute("INSERT INTO g VALUES (1, 1)") } == SQLState.generatedAlways)
        // A prepared INSERT computes it on every run.
        let insert = try #require(try db.prepare("INSERT INTO g (a) VALUES ($1)").statement)
        try insert.execute([.integer(10)])
        try insert.execute([.integer(11)])
        #expect(try textRows(db, "SELECT b FROM g WHERE a > 9 ORDER BY a") == [["20"], ["22"]])
        try db.close()
    }

    @Test func thePlannerUsesAPartialIndexOnlyWhenTheWhereHasItsPredicate() throws {
        let dir = TemporaryDirectory()
        do {
            let db = try Database(path: dir.database)
            try db.execute("CREATE TABLE a (id int PRIMARY KEY, email text, deleted_at date)")
            try db.execute("CREATE UNIQUE INDEX live ON a (email) WHERE deleted_at IS NULL")
            try db.execute("INSERT INTO a VALUES (1, 'x', NULL), (2, 'x', '2024-01-01')")
            try db.close()
        }
        let db = try Database(path: dir.database)
        func plan(_ sql: String) throws -> String { try textRows(db, "EXPLAIN " + sql).map { $0.joined() }.joined(separator: "\n") }
        #expect(try plan("SELECT * FROM a WHERE email = 'x' AND deleted_at IS NULL").contains("using live"))
        #expect(try plan("SELECT * FROM a WHERE a.deleted_at IS NULL AND a.email = 'x' AND id > 0").contains("using live"))
        #expect(try !plan("SELECT * FROM a WHERE email = 'x'").contains("using live"))
        #expect(try !plan("SELECT * FROM a WHERE email = 'x' OR deleted_at IS NULL").contains("using live"))
        #expect(try textRows(db, "SELECT id FROM a WHERE email = 'x' AND deleted_at IS NULL") == [["1"]])
        #expect(try textRows(db, "SELECT id FROM a WHERE email = 'x' ORDER BY id") == [["1"], ["2"]])
        // Still enforced after the reopen.
        #expect(sqlState { _ = try db.execute("INSERT INTO a VALUES (3, 'x', NULL)") } == SQLState.uniqueViolation)
        try db.execute("INSERT INTO a VALUES (3, 'x', '2024-02-02')")
        try db.close()
    }
}
