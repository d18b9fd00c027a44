// Deleting or updating a parent row finds its children through an index on the foreign key
// when there is one (docs/query-engine.md), and EXPLAIN shows how.

import Testing
import Synchronization
@testable import Borealis
@testable import BorealisSQL
@testable import BorealisStorage

@Suite struct ForeignKeyPathTests {
    private func family(childIndex: Bool) throws -> (TemporaryDirectory, Database) {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute("CREATE TABLE parent(id INTEGER PRIMARY KEY, name TEXT)")
        try db.execute("CREATE TABLE child(id INTEGER PRIMARY KEY, pid INTEGER REFERENCES parent(id) ON DELETE CASCADE, note TEXT)")
        if childIndex { try db.execute("CREATE INDEX child_pid ON child(pid)") }
        try db.write { db in
            for p in 1...300 { try db.execute("INSERT INTO parent VALUES ($1, 'p')", [.integer(Int64(p))]) }
            for c in 1...10_000 {
                try db.execute("INSERT INTO child VALUES ($1, $2, 'some text to fill the pages')", [.integer(Int64(c)), .integer(Int64(c % 200 + 1))])
            }
        }
        return (dir, db)
    }

    /// Page reads (progress handler calls, one per page) of one statement.
    private func pagesRead(_ db: Database, _ sql: String) throws -> Int {
        let reads = Atomic<Int>(0)
        db.setProgressHandler(every: 1) {
            reads.add(1, ordering: .relaxed)
            return false
        }
        try db.execute(sql)
        db.setProgressHandler(every: 1, nil)
        return reads.load(ordering: .relaxed)
    }

    @Test func aCascadeProbesTheChildIndex() throws {
        let (_, indexed) = try family(childIndex: true)
        let plan = try indexed.execute("EXPLAIN DELETE FROM parent WHERE id = 1").rows.map { $0[0].description }
        #expect(plan.contains { $0.contains("Foreign Key") && $0.contains("CASCADE") }, "\(plan)")
        #expect(plan.contains { $0.contains("Index Lookup using child_pid on child") }, "\(plan)")
        // Parents 201…300 have no children: deleting them is all lookups.
        let withIndex = try pagesRead(indexed, "DELETE FROM parent WHERE id > 200")
        try indexed.execute("DELETE FROM parent WHERE id <= 10")
        #expect(try indexed.execute("SELECT count(*) FROM child").rows == [[.integer(9_500)]])
        #expect(try indexed.execute("SELECT count(*) FROM child WHERE pid <= 10").rows == [[.integer(0)]])
        try indexed.close()

        let (_, scanned) = try family(childIndex: false)
        let scanPlan = try scanned.execute("EXPLAIN DELETE FROM parent WHERE id = 1").rows.map { $0[0].description }
        #expect(scanPlan.contains { $0.contains("Seq Scan on child") }, "\(scanPlan)")
        let withoutIndex = try pagesRead(scanned, "DELETE FROM parent WHERE id > 200")
        try scanned.execute("DELETE FROM parent WHERE id <= 10")
        #expect(try scanned.execute("SELECT count(*) FROM child").rows == [[.integer(9_500)]])
        try scanned.close()
        // A hundred scans of the child table against a hundred index lookups.
        #expect(withIndex * 20 < withoutIndex, "pages read with the index \(withIndex), without \(withoutIndex)")
    }

    @Test func restrictAndSetNullFindTheirRowsThroughTheIndexToo() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute("CREATE TABLE p(id INTEGER PRIMARY KEY, code TEXT UNIQUE)")
        try db.execute("CREATE TABLE r(id INTEGER PRIMARY KEY, pcode TEXT REFERENCES p(code) ON DELETE RESTRICT ON UPDATE SET NULL)")
        try db.execute("CREATE INDEX r_pcode ON r(pcode)")
        try db.execute("INSERT INTO p VALUES (1, 'a'), (2, 'b'); INSERT INTO r VALUES (1, 'a'), (2, 'a'), (3, 'b')")
        #expect(throws: DatabaseError.self) { try db.execute("DELETE FROM p WHERE id = 1") }
        try db.execute("UPDATE p SET code = 'z' WHERE id = 1")
        #expect(try db.execute("SELECT id, pcode FROM r ORDER BY id").rows == [[.integer(1), .null], [.integer(2), .null], [.integer(3), .text("b")]])
        try db.execute("DELETE FROM r WHERE pcode = 'b'")
        try db.execute("DELETE FROM p WHERE id = 2")
        #expect(try db.execute("SELECT count(*) FROM p").rows == [[.integer(1)]])
        try db.close()
    }
}
