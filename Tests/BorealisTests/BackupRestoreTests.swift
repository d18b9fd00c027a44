// Online backup and restore (docs/backup.md §2, §3): a backup taken while 4 writers commit
// equals the database at the backup's LSN; a restore opens as an ordinary database that passes
// the integrity check and takes new writes; a partial, torn or damaged backup is refused with
// XX001 and leaves nothing behind; nothing is ever written over an existing file.
// BOREALIS_BACKUP_TEST_SECONDS lengthens the concurrent test (default 1 second).

import Foundation
import Testing
@testable import Borealis
@testable import BorealisSQL
@testable import BorealisStorage

/// Every table's rows in key order, as text: equal dumps mean equal databases.
func logicalDump(_ db: Database) throws -> String {
    var text = ""
    for table in try db.tableNames().sorted() {
        text += "table \(table)\n"
        for row in try db.execute("SELECT * FROM \(table) ORDER BY 1").rows {
            text += row.map { "\($0)" }.joined(separator: "|") + "\n"
        }
    }
    return text
}

@Suite(.serialized) struct BackupRestoreTests {
    private func fill(_ db: Database, rows: Int) throws {
        try db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, n INTEGER)")
        try db.execute("CREATE INDEX t_v ON t(v)")
        try db.execute("CREATE TABLE big(id INTEGER PRIMARY KEY, b BYTEA)")
        try db.write { db in
            for i in 0..<rows {
                try db.execute("INSERT INTO t VALUES ($1, $2, $3)", [.integer(Int64(i)), .text("v\(i % 101)"), .integer(Int64(i * 7))])
            }
            // Values past a page: overflow chains.
            for i in 0..<5 { try db.execute("INSERT INTO big VALUES ($1, $2)", [.integer(Int64(i)), .blob([UInt8](repeating: UInt8(i), count: 20_000))]) }
        }
        try db.execute("DELETE FROM t WHERE id % 10 = 3") // some free pages
    }

    @Test func aBackupOfAFullyMaterializedDatabaseKnowsItsCommitTime() throws {
        let dir = TemporaryDirectory()
        var options = smallOptions()
        options.backgroundMaterializer = false
        let db = try Database(path: dir.database, options: options)
        try db.execute("CREATE TABLE t(x INTEGER)")
        let before = wallClockMicroseconds()
        try db.execute("INSERT INTO t VALUES (1)")
        try db.engine.materializeNow() // the backup's LSN is now the materialized LSN
        let manifest = try db.backup(to: dir.path + "/b.bbk")
        #expect(manifest.lsn == db.engine.metrics.materializedLSN)
        #expect(manifest.commitMicros >= before && manifest.commitMicros <= wallClockMicroseconds())
        try db.close()
    }

    @Test func aBackupRestoresToAnEqualDatabaseThatPassesTheCheck() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try fill(db, rows: 3000)
        let before = try logicalDump(db)
        let manifest = try db.backup(to: dir.path + "/b.bbk")
        #expect(manifest.lsn == db.engine.metrics.durableLSN)
        #expect(manifest.databaseID == db.engine.databaseID)
        #expect(manifest.commitMicros > 0)
        #expect(manifest.pageCount > 10)
        let verified = try Database.verifyBackup(at: dir.path + "/b.bbk")
        #expect(verified == manifest)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: dir.path + "/b.bbk")[.size] as? UInt64)
        #expect(size == manifest.fileBytes)
        #expect(size < manifest.uncompressedBytes) // compressed
        try db.close()

        try Database.restore(backup: dir.path + "/b.bbk", to: dir.path + "/copy.db")
        let copy = try Database(path: dir.path + "/copy.db")
        defer { try? copy.close() }
        #expect(try logicalDump(copy) == before)
        let report = try copy.checkIntegrity()
        #expect(report.isSound, "\(report)")
        #expect(copy.engine.databaseID != manifest.databaseID)
        // It takes writes, continues the LSNs of its source, and reopens.
        try copy.execute("INSERT INTO t VALUES (100000, 'new', 1)")
        #expect(copy.lastCommitLSN > manifest.lsn)
        try copy.close()
        let reopened = try Database(path: dir.path + "/copy.db")
        defer { try? reopened.close() }
        #expect(try reopened.execute("SELECT count(*) FROM t WHERE id = 100000").rows.first?.first == .integer(1))
        #expect(try reopened.checkIntegrity().isSound)
    }

    @Test func anEmptyDatabaseBacksUpAndRestores() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.backup(to: dir.path + "/e.bbk")
        try db.close()
        try Database.restore(backup: dir.path + "/e.bbk", to: dir.path + "/e.db")
        let copy = try Database(path: dir.path + "/e.db")
        defer { try? copy.close() }
        #expect(try copy.tableNames().isEmpty)
        #expect(try copy.checkIntegrity().isSound)
        try copy.execute("CREATE TABLE x(a INTEGER)")
    }

    @Test func aBackupUnderFourWritersEqualsTheDatabaseAtItsLSN() throws {
        let dir = TemporaryDirectory()
        let seconds = Double(ProcessInfo.processInfo.environment["BOREALIS_BACKUP_TEST_SECONDS"] ?? "") ?? 1
        let setup = try Database(path: dir.database)
        try setup.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, w INTEGER, v TEXT)")
        try setup.execute("CREATE INDEX t_w ON t(w, v)")
        try setup.execute("CREATE TABLE counters(w INTEGER PRIMARY KEY, n INTEGER)")
        try setup.write { db in
            for w in 0..<4 { try db.execute("INSERT INTO counters VALUES ($1, 0)", [.integer(Int64(w))]) }
            for i in 0..<2000 { try db.execute("INSERT INTO t VALUES ($1, -1, $2)", [.integer(Int64(-1 - i)), .text(String(repeating: "s", count: i % 200))]) }
        }
        let start = try logicalDump(setup)
        _ = start
        // Each writer logs (commit LSN, what it did); the state at LSN B is everything ≤ B.
        let stop = ManagedAtomicFlag()
        let logs = (0..<4).map { _ in LockedLog() }
        let group = DispatchGroup()
        let databasePath = dir.database
        for w in 0..<4 {
            group.enter()
            Thread {
                defer { group.leave() }
                guard let db = try? Database(path: databasePath) else { return }
                defer { try? db.close() }
                var i = 0
                while !stop.isSet {
                    let id = Int64(w * 1_000_000 + i)
                    do {
                        try db.write { db in
                            try db.execute("INSERT INTO t VALUES ($1, $2, $3)", [.integer(id), .integer(Int64(w)), .text("w\(w) row \(i) " + String(repeating: "p", count: i % 300))])
                            if i % 5 == 4 { try db.execute("DELETE FROM t WHERE id = $1", [.integer(id - 2)]) }
                            try db.execute("UPDATE counters SET n = n + 1 WHERE w = $1", [.integer(Int64(w))])
                        }
                        logs[w].append(lsn: db.lastCommitLSN, i: i)
                        i += 1
                    } catch {
                        continue // BUSY: try again
                    }
                }
            }.start()
        }
        var manifests: [(BackupManifest, String)] = []
        let deadline = Date().addingTimeInterval(seconds)
        var n = 0
        repeat {
            Thread.sleep(forTimeInterval: 0.05)
            let path = dir.path + "/b\(n).bbk"
            manifests.append((try setup.backup(to: path), path))
            n += 1
        } while Date() < deadline || n < 2
        stop.set()
        group.wait()
        try setup.close()

        for (manifest, path) in manifests {
            // The model at the backup's LSN.
            var rows: [Int64: (Int, String)] = [:]
            var counters = [Int](repeating: 0, count: 4)
            for w in 0..<4 {
                for (lsn, i) in logs[w].entries where lsn <= manifest.lsn {
                    let id = Int64(w * 1_000_000 + i)
                    rows[id] = (w, "w\(w) row \(i) " + String(repeating: "p", count: i % 300))
                    if i % 5 == 4 { rows[id - 2] = nil }
                    counters[w] += 1
                }
            }
            let restored = path + ".db"
            try Database.restore(backup: path, to: restored)
            let copy = try Database(path: restored)
            defer { try? copy.close() }
            let got = try copy.execute("SELECT id, w, v FROM t WHERE id >= 0 ORDER BY id").rows
            #expect(got.count == rows.count, "backup at LSN \(manifest.lsn)")
            let want = rows.keys.sorted().map { [Value.integer($0), .integer(Int64(rows[$0]!.0)), .text(rows[$0]!.1)] }
            #expect(got == want)
            let gotCounters = try copy.execute("SELECT n FROM counters ORDER BY w").rows.map { $0[0] }
            #expect(gotCounters == counters.map { .integer(Int64($0)) })
            #expect(try copy.execute("SELECT count(*) FROM t WHERE id < 0").rows.first?.first == .integer(2000))
            let report = try copy.checkIntegrity()
            #expect(report.isSound, "\(report)")
        }
        #expect(manifests.count >= 2)
    }

    @Test func aPartialOrDamagedBackupIsRefusedAndLeavesNothing() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try fill(db, rows: 2000)
        let manifest = try db.backup(to: dir.path + "/good.bbk")
        try db.close()
        let good = try Data(contentsOf: URL(fileURLWithPath: dir.path + "/good.bbk"))

        func expectRefused(_ bytes: Data, _ name: String, mentioning: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let path = dir.path + "/" + name
            try bytes.write(to: URL(fileURLWithPath: path))
            var verifyError: DatabaseError?
            do { try Database.verifyBackup(at: path) } catch let error as DatabaseError { verifyError = error }
            #expect(verifyError?.sqlState == SQLState.dataCorrupted, sourceLocation: sourceLocation)
            #expect(verifyError?.message.contains(mentioning) == true, "\(String(describing: verifyError))", sourceLocation: sourceLocation)
            var restoreError: DatabaseError?
            do { try Database.restore(backup: path, to: path + ".db") } catch let error as DatabaseError { restoreError = error }
            #expect(restoreError?.sqlState == SQLState.dataCorrupted, sourceLocation: sourceLocation)
            #expect(!FileManager.default.fileExists(atPath: path + ".db"), sourceLocation: sourceLocation)
            #expect(!FileManager.default.fileExists(atPath: path + ".db.restoring"), sourceLocation: sourceLocation)
        }
        // Cut short anywhere: no manifest at its end.
        try expectRefused(good.prefix(good.count - 1), "cut1", mentioning: "no valid manifest")
        try expectRefused(good.prefix(good.count / 2), "cut2", mentioning: "no valid manifest")
        try expectRefused(good.prefix(10), "cut3", mentioning: "too short")
        try expectRefused(Data(), "empty", mentioning: "too short")
        // A flipped byte inside a frame's compressed bytes, in a frame header, in the manifest.
        var flipped = good
        flipped[200] ^= 0x40
        try expectRefused(flipped, "flip-frame", mentioning: "frame 0")
        flipped = good
        flipped[BackupFileHeader.size + 5] ^= 0x01
        try expectRefused(flipped, "flip-frame-header", mentioning: "frame header is damaged")
        flipped = good
        flipped[good.count - 100] ^= 0x01
        try expectRefused(flipped, "flip-manifest", mentioning: "no valid manifest")
        flipped = good
        flipped[3] ^= 0x01
        try expectRefused(flipped, "flip-header", mentioning: "file header is damaged")
        // The last frame removed, the manifest kept.
        var spliced = good.prefix(BackupFileHeader.size)
        spliced.append(good.suffix(BackupManifest.size))
        try expectRefused(spliced, "no-frames", mentioning: "disagree")
        #expect(manifest.frameCount >= 1)

        // A missing backup: 58P01.
        do {
            try Database.restore(backup: dir.path + "/absent.bbk", to: dir.path + "/absent.db")
            Issue.record("restore of a missing backup succeeded")
        } catch let error as DatabaseError {
            #expect(error.sqlState == SQLState.undefinedFile)
        }
    }

    @Test func backupAndRestoreNeverOverwrite() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        defer { try? db.close() }
        try db.execute("CREATE TABLE t(a INTEGER)")
        try db.backup(to: dir.path + "/b.bbk")
        // A second backup to the same file is refused.
        #expect(throws: DatabaseError.self) { try db.backup(to: dir.path + "/b.bbk") }
        do { try db.backup(to: dir.path + "/b.bbk") } catch let error as DatabaseError { #expect(error.sqlState == SQLState.duplicateFile) }
        // A restore over the live database, or over any existing file, is refused.
        do {
            try Database.restore(backup: dir.path + "/b.bbk", to: dir.database)
            Issue.record("restore over a live database succeeded")
        } catch let error as DatabaseError {
            #expect(error.sqlState == SQLState.duplicateFile)
        }
        // A log folder holding anything is another database's.
        try FileManager.default.createDirectory(atPath: dir.path + "/other.db-log", withIntermediateDirectories: true)
        try Data([1]).write(to: URL(fileURLWithPath: dir.path + "/other.db-log/x"))
        #expect(throws: DatabaseError.self) { try Database.restore(backup: dir.path + "/b.bbk", to: dir.path + "/other.db") }
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/other.db"))
        // A leftover of a crashed restore is replaced.
        try Data([9, 9, 9]).write(to: URL(fileURLWithPath: dir.path + "/fresh.db.restoring"))
        try Database.restore(backup: dir.path + "/b.bbk", to: dir.path + "/fresh.db")
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/fresh.db.restoring"))
        let fresh = try Database(path: dir.path + "/fresh.db")
        try fresh.close()
    }

    @Test func aCancelledBackupLeavesNothing() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        defer { try? db.close() }
        try fill(db, rows: 5000)
        var calls = 0
        do {
            try db.backup(to: dir.path + "/c.bbk") { progress in
                calls += 1
                #expect(progress.pagesDone <= progress.pageCount)
                return false
            }
            Issue.record("a cancelled backup succeeded")
        } catch let error as DatabaseError {
            #expect(error.sqlState == SQLState.queryCanceled)
        }
        #expect(calls == 1)
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/c.bbk"))
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/c.bbk.partial"))
        // With a progress callback that lets it run, every page is counted.
        var last = BackupProgress(pagesDone: 0, pageCount: 0, bytesWritten: 0)
        let manifest = try db.backup(to: dir.path + "/d.bbk") { last = $0; return true }
        #expect(last.pagesDone == manifest.pageCount - 1)
    }

    /// A cancel abandons the queued runs while the writer thread may be compressing one: the
    /// thread once removed that run from the emptied queue and trapped. Cancelled at its first
    /// run many times over, a backup meets the thread in each state.
    @Test func cancellingWhileARunIsBeingCompressedIsClean() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        defer { try? db.close() }
        try fill(db, rows: 5000)
        for attempt in 0..<40 {
            let path = dir.path + "/cancel-\(attempt).bbk"
            #expect { try db.backup(to: path) { _ in false } } throws: {
                ($0 as? DatabaseError)?.sqlState == SQLState.queryCanceled
            }
            #expect(!FileManager.default.fileExists(atPath: path) && !FileManager.default.fileExists(atPath: path + ".partial"))
        }
    }

    @Test func aFullDiskDuringBackupFailsCleanly() throws {
        let fs = FaultInjectingFileSystem()
        var options = smallOptions(fs)
        options.backgroundMaterializer = false
        let engine = try StorageEngine(path: "/db", options: options)
        let txn = try engine.beginWrite()
        let table = try TableTree.create(in: txn)
        try txn.setRoot(slot: 1, to: table.root)
        for i in 0..<3000 { try table.put(Int64(i), [UInt8](repeating: UInt8(i & 0xff), count: 200), in: txn) }
        _ = try txn.commit()
        fs.arm(.noSpace(atOperation: 4)) // create, truncate, header; the first frame fails
        do {
            _ = try engine.backup(to: "/b.bbk")
            Issue.record("a backup on a full disk succeeded")
        } catch let error as DatabaseError {
            #expect(error.sqlState == SQLState.diskFull)
        }
        #expect(!fs.exists("/b.bbk"))
        #expect(!fs.exists("/b.bbk.partial"))
        // The database keeps working, and a later backup succeeds.
        fs.arm(nil)
        let more = try engine.beginWrite()
        try table.put(99_999, [1], in: more)
        _ = try more.commit()
        let manifest = try engine.backup(to: "/b.bbk")
        try BackupFile.verify(at: "/b.bbk", fileSystem: fs)
        try BackupFile.restore(from: "/b.bbk", to: "/copy", fileSystem: fs)
        #expect(manifest.pageCount > 2)
        try engine.close()
        var copyOptions = smallOptions(fs)
        copyOptions.backgroundMaterializer = false
        let copy = try StorageEngine(path: "/copy", options: copyOptions)
        defer { try? copy.close() }
        let reader = try copy.beginRead()
        defer { reader.rollback() }
        let restored = TableTree(root: try reader.root(slot: 1))
        #expect(try restored.get(99_999, in: reader) == [1])
        #expect(try restored.get(2999, in: reader) == [UInt8](repeating: UInt8(2999 & 0xff), count: 200))
        _ = try reader.checkIntegrity(trees: [restored.tree])
    }
}

/// One writer's (commit LSN, transaction number) pairs.
final class LockedLog: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [(UInt64, Int)] = []
    func append(lsn: UInt64, i: Int) { lock.withLock { items.append((lsn, i)) } }
    var entries: [(UInt64, Int)] { lock.withLock { items } }
}
