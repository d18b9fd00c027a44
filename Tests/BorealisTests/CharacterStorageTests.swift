// char(n) values stored by a build before the write path padded them (the SQL behaviour is in
// Tests/SQL/character-storage.test): such rows hold the value as it was written, 'ab' or 'ab '
// in a char(5) column. They must read padded, compare without regard to trailing blanks, and be
// found by UPDATE and DELETE (which no longer probe an index on a char column for that reason).
// The older database is made by retyping a text column as char(5) in the catalog, rows untouched.

import Foundation
import Testing
@testable import Borealis
@testable import BorealisSQL
@testable import BorealisStorage

@Suite struct CharacterStorageTests {
    /// A table t (id, c char(5)) indexed on c whose rows hold c as written: 'ab', 'ab ', 'cd'.
    private func databaseWrittenByAnOlderBuild(_ dir: TemporaryDirectory) throws {
        let db = try Database(path: dir.database)
        try db.execute("CREATE TABLE t (id int PRIMARY KEY, c text)")
        try db.execute("CREATE INDEX t_c ON t (c)")
        try db.execute("INSERT INTO t VALUES (1, 'ab'), (2, 'ab '), (3, 'cd')")
        let txn = try db.engine.beginWrite()
        var table = try Catalog.load(txn).table("t")
        table.columns[1].type = .char
        table.columns[1].modifiers = [5]
        try Catalog.put("table", "t", table, txn)
        _ = try txn.commit()
        try db.close()
    }

    @Test func unpaddedRowsReadPaddedAndCompareWithoutTrailingBlanks() throws {
        let dir = TemporaryDirectory()
        try databaseWrittenByAnOlderBuild(dir)
        let db = try Database(path: dir.database)
        #expect(try textRows(db, "SELECT concat('[', c, ']') FROM t ORDER BY id") == [["[ab   ]"], ["[ab   ]"], ["[cd   ]"]])
        #expect(try textRows(db, "SELECT id FROM t WHERE c = 'ab' ORDER BY id") == [["1"], ["2"]])
        #expect(try textRows(db, "SELECT id FROM t WHERE c = 'ab   '::char(5) ORDER BY id") == [["1"], ["2"]])
        #expect(try textRows(db, "SELECT count(DISTINCT c) FROM t") == [["2"]])
        try db.close()
    }

    @Test func updateAndDeleteFindUnpaddedRowsAndReturnThemPadded() throws {
        let dir = TemporaryDirectory()
        try databaseWrittenByAnOlderBuild(dir)
        let db = try Database(path: dir.database)
        #expect(try db.execute("UPDATE t SET id = id + 10 WHERE c = 'ab '").changes == 2)
        #expect(try textRows(db, "SELECT id, octet_length(c) FROM t ORDER BY id") == [["3", "5"], ["11", "5"], ["12", "5"]])
        #expect(try textRows(db, "DELETE FROM t WHERE c = 'cd' RETURNING concat('[', c, ']')") == [["[cd   ]"]])
        #expect(try textRows(db, "DELETE FROM t WHERE id = 11 RETURNING *") == [["11", "ab   "]])
        // The updated row was stored padded: its index key is the padded value.
        #expect(try textRows(db, "SELECT id FROM t WHERE c = 'ab'") == [["12"]])
        try db.close()
    }
}
