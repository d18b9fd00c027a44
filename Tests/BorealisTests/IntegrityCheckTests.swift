// The full integrity check (docs/backup.md §1): a sound database reports nothing and counts
// what it checked; each kind of damage — a flipped byte in a page, an index entry missing or
// extra, a page owned twice, a page lost, a damaged archived segment — is reported with the
// page or object it concerns, and the check goes on past it.

import Foundation
import Testing
@testable import Borealis
@testable import BorealisSQL
@testable import BorealisStorage

@Suite(.serialized) struct IntegrityCheckTests {
    /// A database with table t (id primary key, v text), an index on v, and `rows` rows.
    private func makeDatabase(_ path: String, rows: Int = 2000) throws {
        let db = try Database(path: path)
        try db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, w INTEGER)")
        try db.execute("CREATE INDEX t_v ON t(v)")
        try db.execute("CREATE INDEX t_w2 ON t((w * 2))")
        try db.write { db in
            for i in 0..<rows {
                try db.execute("INSERT INTO t VALUES ($1, $2, $3)", [.integer(Int64(i)), .text("value \(i % 97) \(String(repeating: "x", count: i % 50))"), .integer(Int64(i % 13))])
            }
        }
        try db.close()
    }

    private func schema(_ db: Database) throws -> Catalog {
        let txn = try db.engine.beginRead()
        defer { txn.rollback() }
        return try Catalog.load(txn)
    }

    @Test func aSoundDatabaseReportsNoProblemAndCountsWhatItChecked() throws {
        let dir = TemporaryDirectory()
        try makeDatabase(dir.database)
        let db = try Database(path: dir.database)
        defer { try? db.close() }
        let report = try db.checkIntegrity()
        #expect(report.isSound, "\(report)")
        #expect(report.rows == 2000)
        #expect(report.indexEntries == 4000)
        #expect(report.trees == 4) // catalog, t, t_v, t_w2
        #expect(report.pagesChecked > 10)
        #expect(report.description.hasPrefix("ok: "))
        // The SQL form: no rows for a sound database, with its four named columns.
        let sql = try db.execute("SELECT * FROM borealis_check()")
        #expect(sql.columns == ["kind", "object", "page", "message"])
        #expect(sql.rows.isEmpty)
        #expect(try db.execute("SELECT count(*) FROM borealis_check() c WHERE c.kind <> 'ok'").rows == [[.integer(0)]])
        #expect(throws: DatabaseError.self) { try db.execute("SELECT * FROM borealis_check(1)") }
        // It stops when the statement is interrupted (here by its progress handler), with
        // 57014, instead of reading the whole database.
        db.setProgressHandler(every: 10) { true }
        #expect(sqlState { _ = try db.execute("SELECT * FROM borealis_check()") } == SQLState.queryCanceled)
        db.setProgressHandler(every: 10, nil)
        #expect(try db.execute("SELECT count(*) FROM borealis_check()").rows == [[.integer(0)]])
    }

    @Test func theCheckRunsWhileWritersCommit() throws {
        let dir = TemporaryDirectory()
        try makeDatabase(dir.database, rows: 500)
        let db = try Database(path: dir.database)
        defer { try? db.close() }
        let writer = try Database(path: dir.database)
        defer { try? writer.close() }
        let done = ManagedAtomicFlag()
        let finished = DispatchSemaphore(value: 0)
        let thread = Thread {
            var i = 10_000
            while !done.isSet {
                _ = try? writer.execute("INSERT INTO t VALUES ($1, 'w', 1)", [.integer(Int64(i))])
                i += 1
            }
            finished.signal()
        }
        thread.start()
        for _ in 0..<5 {
            let report = try db.checkIntegrity()
            #expect(report.isSound, "\(report)")
        }
        done.set()
        finished.wait()
    }

    @Test func aFlippedByteInAPageIsReportedWithItsPage() throws {
        let dir = TemporaryDirectory()
        try makeDatabase(dir.database)
        var root: UInt64 = 0
        do {
            let db = try Database(path: dir.database)
            root = try #require(try schema(db).indexes["t_v"]).root
            try db.close()
        }
        // The double-write file could repair the page on open: empty it.
        try Data().write(to: URL(fileURLWithPath: dir.database + "-dwb"))
        let handle = try #require(FileHandle(forUpdatingAtPath: dir.database))
        try handle.seek(toOffset: root * 4096 + 100)
        let old = try #require(try handle.read(upToCount: 1)).first ?? 0
        try handle.seek(toOffset: root * 4096 + 100)
        try handle.write(contentsOf: [old ^ 0xFF])
        try handle.close()

        let db = try Database(path: dir.database)
        defer { try? db.close() }
        let report = try db.checkIntegrity()
        #expect(!report.isSound)
        let checksum = report.problems(of: .pageChecksum)
        #expect(checksum.count == 1)
        #expect(checksum.first?.page == root)
        // The index's tree cannot be read past its root; the table is still checked.
        #expect(report.problems(of: .treeStructure).contains { $0.object == "index t_v" && $0.page == root })
        #expect(report.rows == 2000)
        // Its pages below the root are then owned by nothing.
        #expect(!report.problems(of: .pageLost).isEmpty)
    }

    @Test func anIndexEntryMissingOrExtraIsReportedWithItsRow() throws {
        let dir = TemporaryDirectory()
        try makeDatabase(dir.database, rows: 300)
        let db = try Database(path: dir.database)
        defer { try? db.close() }
        let catalog = try schema(db)
        let index = try #require(catalog.indexes["t_v"])
        // Remove the entry of row 7 and add one for row 100000, behind the SQL layer's back.
        let txn = try db.engine.beginWrite()
        let tree = BTree(root: index.root)
        let key7 = RecordCodec.indexKey([.text("value 7 \(String(repeating: "x", count: 7))")], rowID: 7)
        #expect(try tree.delete(key7, in: txn))
        try tree.put(RecordCodec.indexKey([.text("bogus")], rowID: 100_000), [], in: txn)
        _ = try txn.commit()

        let report = try db.checkIntegrity()
        let mismatches = report.problems(of: .indexMismatch)
        #expect(mismatches.count == 2, "\(report)")
        #expect(mismatches.contains { $0.object == "index t_v" && $0.message.contains("lacks the entry of row 7") })
        #expect(mismatches.contains { $0.object == "index t_v" && $0.message.contains("row 100000") })
        #expect(report.problems.count == 2)
        // The SQL form names the same problems, one row each.
        let rows = try db.execute("SELECT kind, object, message FROM borealis_check() ORDER BY message").rows
        #expect(rows.count == 2)
        #expect(rows.allSatisfy { $0[0] == .text("indexMismatch") && $0[1] == .text("index t_v") })
        #expect(rows.contains { if case .text(let m) = $0[2] { m.contains("lacks the entry of row 7") } else { false } })
    }

    @Test func anExpressionIndexWithAStrayEntryIsReported() throws {
        let dir = TemporaryDirectory()
        try makeDatabase(dir.database, rows: 100)
        let db = try Database(path: dir.database)
        defer { try? db.close() }
        let index = try #require(try schema(db).indexes["t_w2"])
        let txn = try db.engine.beginWrite()
        try BTree(root: index.root).put(RecordCodec.indexKey([.integer(4)], rowID: 5000), [], in: txn)
        _ = try txn.commit()
        let report = try db.checkIntegrity()
        let mismatches = report.problems(of: .indexMismatch)
        #expect(mismatches.contains { $0.object == "index t_w2" && $0.message.contains("row 5000") })
        #expect(mismatches.contains { $0.object == "index t_w2" && $0.message.contains("101 entries") })
    }

    @Test func aPageOwnedTwiceAndAPageLostAreReported() throws {
        let dir = TemporaryDirectory()
        try makeDatabase(dir.database, rows: 50)
        let db = try Database(path: dir.database)
        defer { try? db.close() }
        let table = try #require(try schema(db).tables["t"])
        let txn = try db.engine.beginWrite()
        try txn.setRoot(slot: 5, to: table.root)  // a second owner of t's root
        let leaked = try txn.allocatePage()         // a page nobody owns
        _ = try txn.commit()
        let report = try db.checkIntegrity()
        #expect(report.problems(of: .pageOwnedTwice).contains { $0.page == table.root })
        #expect(report.problems(of: .pageLost).map(\.page) == [leaked])
    }

    @Test func aDamagedFreeListIsReported() throws {
        let dir = TemporaryDirectory()
        try makeDatabase(dir.database, rows: 2000)
        let db = try Database(path: dir.database)
        defer { try? db.close() }
        try db.execute("DELETE FROM t WHERE id >= 100")
        #expect(try db.checkIntegrity().isSound)
        let txn = try db.engine.beginWrite()
        let meta = try txn.writablePage(MetaPage.pageNumber)
        MetaPage.setFreeCount(meta, MetaPage.freeCount(meta) + 3)
        _ = try txn.commit()
        let report = try db.checkIntegrity()
        #expect(report.problems(of: .freeList).count == 1)
        #expect(report.problems(of: .freeList).first?.message.contains("the meta page counts") == true)
    }

    @Test func aDamagedArchivedSegmentIsReported() throws {
        let dir = TemporaryDirectory()
        try makeDatabase(dir.database, rows: 10)
        let archive = dir.database + "-log/archive"
        try FileManager.default.createDirectory(atPath: archive, withIntermediateDirectories: true)
        try Data([1, 2, 3, 4, 5]).write(to: URL(fileURLWithPath: archive + "/" + LogFormat.segmentName(start: 0) + ".zst"))
        let db = try Database(path: dir.database)
        defer { try? db.close() }
        let report = try db.checkIntegrity()
        #expect(report.problems(of: .logChecksum).count == 1)
        #expect(report.problems(of: .logChecksum).first?.object?.hasPrefix("archived segment") == true)
    }

    @Test func retainedArchivedSegmentsCheckAsSound() throws {
        let dir = TemporaryDirectory()
        var options = smallOptions()
        options.retainLogArchive = true
        let db = try Database(path: dir.database, options: options)
        defer { try? db.close() }
        try db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
        for round in 0..<6 {
            try db.write { db in
                for i in 0..<500 { try db.execute("INSERT INTO t VALUES ($1, $2)", [.integer(Int64(round * 1000 + i)), .text(String(repeating: "y", count: 100))]) }
            }
            try db.engine.materializeNow()
        }
        let archived = (try? FileManager.default.contentsOfDirectory(atPath: dir.database + "-log/archive")) ?? []
        #expect(!archived.isEmpty)
        let report = try db.checkIntegrity()
        #expect(report.isSound, "\(report)")
        #expect(report.logBytesChecked > 0)
    }
}

/// A flag the test thread sets once and worker threads poll.
final class ManagedAtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}
