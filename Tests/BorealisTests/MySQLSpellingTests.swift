// MySQL's spellings that Borealis reads where they do not clash with PostgreSQL's (docs/sql.md):
// SHOW TABLES, DESCRIBE / DESC, SHOW COLUMNS FROM, SHOW DATABASES.

import Testing
@testable import Borealis
@testable import BorealisSQL

@Suite struct MySQLSpellingTests {
    @Test func showTablesAndDescribeReadTheCatalog() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute("CREATE TABLE g (id serial PRIMARY KEY, e text UNIQUE, n numeric(5,2) NOT NULL DEFAULT 1)")
        try db.execute("CREATE VIEW gv AS SELECT 1 AS one")
        let tables = try db.execute("SHOW TABLES")
        #expect(tables.columns == ["Tables"])
        #expect(tables.rows == [[.text("g")], [.text("gv")]])
        let described = try db.execute("DESCRIBE g")
        #expect(described.columns == ["Field", "Type", "Null", "Key", "Default", "Extra"])
        #expect(described.rows == [
            [.text("id"), .text("integer"), .text("NO"), .text("PRI"), .null, .text("auto_increment")],
            [.text("e"), .text("text"), .text("YES"), .text("UNI"), .null, .text("")],
            [.text("n"), .text("numeric"), .text("NO"), .text(""), .text("1"), .text("")],
        ])
        #expect(try db.execute("DESC g").rows == described.rows)
        #expect(try db.execute("SHOW FULL COLUMNS FROM g").rows == described.rows)
        #expect(throws: DatabaseError.self) { try db.execute("DESCRIBE nope") }
        do { try db.execute("DESCRIBE nope") } catch let error as DatabaseError { #expect(error.sqlState == "42P01") }
        #expect(try db.execute("SHOW DATABASES").rows.count == 1)
        // PostgreSQL's SHOW of a setting is unchanged.
        #expect(try db.execute("SHOW timezone").rows == [[.text("UTC")]])
    }
}
