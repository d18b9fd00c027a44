// The continuous archive (docs/backup.md §4, §5): restores from the archive alone equal the
// database at random points by LSN and by time; retention drops old history without breaking
// the points it keeps and refuses the ones it dropped; a damaged, truncated or deleted archive
// object is named and never restored past; a torn catalogue is ignored; ENOSPC on the archive
// leaves the database working, is recorded as a gap, and archiving resumes.

import Foundation
import Testing
@testable import Borealis
@testable import BorealisSQL
@testable import BorealisStorage

@Suite(.serialized) struct ContinuousArchiveTests {
    static func archiveOptions(_ fs: (any FileSystem)? = nil, background: Bool = false) -> StorageOptions {
        var options = smallOptions(fs)
        options.continuousArchive = true
        options.segmentCapacity = 64 << 10
        options.materializeThresholdBytes = 32 << 10
        options.archiveBaseImageLogBytes = 96 << 10
        options.backgroundMaterializer = background
        return options
    }

    private func schema(_ db: Database) throws {
        try db.execute("CREATE TABLE a(id INTEGER PRIMARY KEY, v TEXT, n INTEGER)")
        try db.execute("CREATE INDEX a_v ON a(v)")
        try db.execute("CREATE TABLE b(id SERIAL PRIMARY KEY, k INTEGER, payload BYTEA)")
    }

    /// Inserts, updates and deletes over two tables, about 1–20 KB of log.
    private func randomTransaction(_ db: Database, _ rng: inout SplitMix64, _ n: Int) throws {
        try db.write { db in
            for _ in 0..<(1 + Int(rng.next() % 12)) {
                let id = Int64(rng.next() % 300)
                switch rng.next() % 4 {
                case 0, 1:
                    try db.execute("INSERT INTO a VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET v = excluded.v, n = a.n + 1",
                                   [.integer(id), .text("t\(n)-" + String(repeating: "z", count: Int(rng.next() % 300))), .integer(Int64(n))])
                case 2:
                    try db.execute("DELETE FROM a WHERE id = $1", [.integer(id)])
                default:
                    try db.execute("INSERT INTO b(k, payload) VALUES ($1, $2)", [.integer(Int64(n)), .blob([UInt8](repeating: UInt8(n & 0xff), count: Int(rng.next() % 3000)))])
                }
            }
        }
    }

    private func removeDatabase(_ path: String) {
        for suffix in ["", "-log", "-dwb"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }

    private func waitUntil(_ what: String, timeout: Double = 20, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while try !condition() {
            guard Date() < deadline else {
                Issue.record("timed out waiting until \(what)")
                return
            }
            usleep(10_000)
        }
    }

    private func expectError(_ sqlState: String, containing parts: [String], _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("expected SQLSTATE \(sqlState) containing \(parts)")
        } catch let error as DatabaseError {
            #expect(error.sqlState == sqlState, "\(error.message)")
            for part in parts { #expect(error.message.contains(part), "\(error.message) should name \(part)") }
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    // MARK: Restore equals original

    @Test func restoresFromTheArchiveAloneAtRandomPointsByLSNAndByTime() throws {
        let dir = TemporaryDirectory()
        let points = Int(ProcessInfo.processInfo.environment["BOREALIS_ARCHIVE_POINTS"] ?? "") ?? 12
        // The background threads take the base images by policy, as in production.
        let db = try Database(path: dir.database, options: Self.archiveOptions(background: true))
        try schema(db)
        try waitUntil("the first base image is taken") { (db.engine.archiveCatalogue?.baseImages.count ?? 0) >= 1 }
        var rng = SplitMix64(seed: 1616)
        var recorded: [(lsn: UInt64, micros: Int64, dump: String)] = []
        var n = 0
        for _ in 0..<points {
            for _ in 0..<(1 + Int(rng.next() % 5)) {
                try randomTransaction(db, &rng, n)
                n += 1
            }
            usleep(2000)
            recorded.append((db.lastCommitLSN, wallClockMicroseconds(), try logicalDump(db)))
            usleep(2000)
        }
        // More log until every recorded point lies in an archived segment.
        let last = recorded.last?.lsn ?? 0
        try waitUntil("the archive holds every recorded point", timeout: 60) {
            if (db.engine.archiveCatalogue?.archivedEnd ?? 0) > last { return true }
            try randomTransaction(db, &rng, n)
            n += 1
            try db.engine.materializeNow()
            return false
        }
        try waitUntil("a second base image is taken by policy") { (db.engine.archiveCatalogue?.baseImages.count ?? 0) >= 2 }
        let metrics = db.engine.metrics
        #expect(metrics.archiveSegments >= 3 && metrics.archiveGaps.isEmpty && metrics.archiveError == nil, "\(metrics)")
        #expect(metrics.archiveLagBytes > 0 && metrics.archiveLagBytes <= metrics.durableLSN)
        try db.close()
        removeDatabase(dir.database) // the archive alone from here on
        for (i, point) in recorded.enumerated() {
            let target: RestoreTarget = i % 2 == 0 ? .lsn(point.lsn) : .time(microseconds: point.micros)
            let path = dir.path + "/point\(i).db"
            let result = try Database.restore(archiveOf: dir.database, to: path, upTo: target)
            #expect(result.lsn == point.lsn, "point \(i)")
            #expect(result.backup.lsn <= point.lsn)
            let copy = try Database(path: path)
            #expect(try logicalDump(copy) == point.dump, "point \(i) at LSN \(point.lsn) by \(target)")
            if i == recorded.count - 1 {
                let report = try copy.checkIntegrity()
                #expect(report.isSound, "\(report)")
            }
            try copy.close()
        }
        // Base images are chosen newest first: the last point restores from a later one than the first.
        let first = try Database.restore(archiveOf: dir.database, to: dir.path + "/first.db", upTo: .lsn(recorded[0].lsn))
        var calls = 0
        var lastProgress: BackupProgress?
        let newest = try Database.restore(archiveOf: dir.database, to: dir.path + "/newest.db", upTo: .latest) { progress in
            calls += 1
            lastProgress = progress
            return true
        }
        #expect(calls >= 1 && lastProgress?.pagesDone == lastProgress?.pageCount, "the progress callback counts the base image's pages")
        expectError(SQLState.queryCanceled, containing: ["cancelled"]) {
            try Database.restore(archiveOf: dir.database, to: dir.path + "/cancelled.db", upTo: .latest) { _ in false }
        }
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/cancelled.db"))
        #expect(newest.backup.lsn >= first.backup.lsn)
        #expect(newest.lsn >= last)
    }

    // MARK: Retention

    @Test func retentionDropsOldHistoryAndKeepsEveryPointInsideTheWindow() throws {
        let dir = TemporaryDirectory()
        var options = Self.archiveOptions()
        options.archiveRetentionBytes = 12 << 10
        var db = try Database(path: dir.database, options: options)
        try schema(db)
        var rng = SplitMix64(seed: 99)
        try db.engine.captureBaseImageNow()
        try randomTransaction(db, &rng, 0)
        let early = db.lastCommitLSN
        var recorded: [(lsn: UInt64, dump: String)] = []
        for n in 1...60 {
            try randomTransaction(db, &rng, n)
            try db.engine.materializeNow()
            if n % 10 == 0 { try db.engine.captureBaseImageNow() }
            if n % 6 == 0 { recorded.append((db.lastCommitLSN, try logicalDump(db))) }
        }
        let catalogue = try #require(db.engine.archiveCatalogue)
        let oldest = try #require(catalogue.baseImages.first)
        #expect(oldest.lsn > early, "the first base image should have expired")
        #expect(catalogue.baseImages.count >= 2)
        // What the catalogue dropped is gone from the folder, and nothing it lists is.
        let folder = dir.database + "-archive"
        let segments = try FileManager.default.contentsOfDirectory(atPath: folder + "/seg").filter { $0.hasSuffix(".zst") }
        let bases = try FileManager.default.contentsOfDirectory(atPath: folder + "/base")
        #expect(Set(segments.map { "seg/" + $0 }) == Set(catalogue.segments.map { ArchiveName.segment($0.start) }))
        #expect(Set(bases.map { "base/" + $0 }) == Set(catalogue.baseImages.map { ArchiveName.base($0.lsn) }))
        #expect(catalogue.segments.allSatisfy { $0.end > oldest.lsn })
        // The window: what it needs from the newest base image before it stays under the budget.
        let needed = catalogue.segments.filter { $0.end > catalogue.baseImages[1].lsn }.reduce(UInt64(0)) { $0 + $1.bytes }
        #expect(needed < UInt64(options.archiveRetentionBytes))
        try db.close()
        expectError(SQLState.invalidParameterValue, containing: ["outside the available window", "from LSN \(oldest.lsn)"]) {
            try Database.restore(archiveOf: dir.database, to: dir.path + "/early.db", upTo: .lsn(early))
        }
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/early.db"))
        for (i, point) in recorded.enumerated() where point.lsn >= oldest.lsn {
            let path = dir.path + "/kept\(i).db"
            try Database.restore(archiveOf: dir.database, to: path, upTo: .lsn(point.lsn))
            let copy = try Database(path: path)
            #expect(try logicalDump(copy) == point.dump)
            try copy.close()
        }
        // By time: a window of one second keeps only the base image the oldest point in it needs.
        options.archiveRetentionBytes = 1 << 30
        options.archiveRetentionSeconds = 1
        db = try Database(path: dir.database, options: options)
        usleep(1_200_000)
        try randomTransaction(db, &rng, 100)
        try db.engine.materializeNow()
        try db.engine.captureBaseImageNow()
        let afterTime = try #require(db.engine.archiveCatalogue)
        #expect(afterTime.baseImages.count == 2, "\(afterTime.baseImages)")
        try db.close()
    }

    // MARK: Damage

    /// A closed database whose archive holds two base images and at least three segments after
    /// the newer one; returns the points (LSN, dump) recorded after each transaction.
    private func damageFixture(_ dir: TemporaryDirectory) throws -> [(lsn: UInt64, dump: String)] {
        let db = try Database(path: dir.database, options: Self.archiveOptions())
        try schema(db)
        var rng = SplitMix64(seed: 7)
        try db.engine.captureBaseImageNow()
        try randomTransaction(db, &rng, 0)
        try db.engine.captureBaseImageNow()
        var recorded: [(lsn: UInt64, dump: String)] = []
        var n = 1
        while (db.engine.archiveCatalogue?.segments.filter { $0.start > (recorded.first?.lsn ?? .max) }.count ?? 0) < 3 {
            try randomTransaction(db, &rng, n)
            n += 1
            recorded.append((db.lastCommitLSN, try logicalDump(db)))
            try db.engine.materializeNow()
        }
        try db.close()
        return recorded
    }

    @Test func aDamagedTruncatedOrDeletedSegmentIsNamedAndNeverRestoredPast() throws {
        let dir = TemporaryDirectory()
        let recorded = try damageFixture(dir)
        let catalogue = try BackupFile.archiveCatalogue(of: dir.database)
        let victim = try #require(catalogue.segments.first { $0.start > recorded[0].lsn })
        let name = ArchiveName.segment(victim.start)
        let file = dir.database + "-archive/" + name
        let original = try Data(contentsOf: URL(fileURLWithPath: file))
        let before = try #require(recorded.last { $0.lsn < victim.start })
        var attempt = 0
        func check(_ damage: Data?, _ says: String) throws {
            if let damage { try damage.write(to: URL(fileURLWithPath: file)) } else { try FileManager.default.removeItem(atPath: file) }
            attempt += 1
            let path = dir.path + "/after\(attempt).db"
            expectError(SQLState.invalidParameterValue, containing: [name, says, "outside the available window"]) {
                try Database.restore(archiveOf: dir.database, to: path, upTo: .latest)
            }
            expectError(SQLState.invalidParameterValue, containing: [name, says]) {
                try Database.restore(archiveOf: dir.database, to: path, upTo: .lsn(recorded.last?.lsn ?? 0))
            }
            #expect(!FileManager.default.fileExists(atPath: path))
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: path + "-log")) ?? []).isEmpty)
            // A point before the damage still restores, exactly.
            let good = dir.path + "/before\(attempt).db"
            try Database.restore(archiveOf: dir.database, to: good, upTo: .lsn(before.lsn))
            let copy = try Database(path: good)
            #expect(try logicalDump(copy) == before.dump)
            try copy.close()
        }
        var flipped = original
        flipped[flipped.count / 2] ^= 0x40
        try check(flipped, "fails its checksum")
        try check(original.prefix(original.count - 7), "the catalogue lists")
        try check(nil, "is missing")
        // Put back, the archive restores to the latest commit again.
        try original.write(to: URL(fileURLWithPath: file))
        let latest = try Database.restore(archiveOf: dir.database, to: dir.path + "/latest.db", upTo: .latest)
        #expect(latest.lsn == recorded.last?.lsn)
    }

    @Test func aBaseImageWithADamagedManifestIsPassedOverForAnOlderOne() throws {
        let dir = TemporaryDirectory()
        let recorded = try damageFixture(dir)
        let catalogue = try BackupFile.archiveCatalogue(of: dir.database)
        #expect(catalogue.baseImages.count == 2)
        let newer = dir.database + "-archive/" + ArchiveName.base(catalogue.baseImages[1].lsn)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: newer))
        bytes[bytes.count - 200] ^= 1 // inside the manifest
        try bytes.write(to: URL(fileURLWithPath: newer))
        let result = try Database.restore(archiveOf: dir.database, to: dir.path + "/r.db", upTo: .latest)
        #expect(result.backup.lsn == catalogue.baseImages[0].lsn)
        let copy = try Database(path: dir.path + "/r.db")
        #expect(try logicalDump(copy) == recorded.last?.dump)
        try copy.close()
        // With the older one gone too, no base image is usable: XX001 naming both.
        try FileManager.default.removeItem(atPath: dir.database + "-archive/" + ArchiveName.base(catalogue.baseImages[0].lsn))
        expectError(SQLState.dataCorrupted, containing: [ArchiveName.base(catalogue.baseImages[0].lsn), ArchiveName.base(catalogue.baseImages[1].lsn)]) {
            try Database.restore(archiveOf: dir.database, to: dir.path + "/none.db", upTo: .latest)
        }
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/none.db"))
    }

    @Test func aBaseImageBeyondTheArchivedLogIsPassedOverWhenTheLiveLogIsGone() throws {
        let dir = TemporaryDirectory()
        let recorded = try damageFixture(dir)
        let db = try Database(path: dir.database, options: Self.archiveOptions())
        let beyond = try db.engine.captureBaseImageNow() // its segment is still live
        try db.close()
        removeDatabase(dir.database)
        let result = try Database.restore(archiveOf: dir.database, to: dir.path + "/r.db", upTo: .latest)
        #expect(result.backup.lsn < beyond.lsn)
        let point = try #require(recorded.first { $0.lsn == result.lsn }, "restored to LSN \(result.lsn)")
        let copy = try Database(path: dir.path + "/r.db")
        #expect(try logicalDump(copy) == point.dump)
        try copy.close()
    }

    @Test func aTornCatalogueIsIgnoredAndTheOneBeforeItWins() throws {
        let dir = TemporaryDirectory()
        let recorded = try damageFixture(dir)
        let valid = try BackupFile.archiveCatalogue(of: dir.database)
        let encoded = valid.encoded()
        #expect(ArchiveCatalogue.decode(encoded) == valid)
        #expect(ArchiveCatalogue.decode(Array(encoded.dropLast(9))) == nil)
        // A newer catalogue cut short by a crash (as if the store's rename were not atomic).
        let torn = dir.database + "-archive/" + ArchiveName.catalogue(valid.sequence + 1)
        try Data(encoded.prefix(encoded.count / 2)).write(to: URL(fileURLWithPath: torn))
        #expect(try BackupFile.archiveCatalogue(of: dir.database) == valid)
        let result = try Database.restore(archiveOf: dir.database, to: dir.path + "/r.db", upTo: .latest)
        #expect(result.lsn == recorded.last?.lsn)
        // The database reopens and writes its next catalogue over the torn one.
        let db = try Database(path: dir.database, options: Self.archiveOptions())
        try db.engine.captureBaseImageNow()
        try db.close()
        let next = try BackupFile.archiveCatalogue(of: dir.database)
        #expect(next.sequence == valid.sequence + 1 && next.baseImages.count == valid.baseImages.count + 1)
    }

    // MARK: ENOSPC

    @Test func aFullArchiveVolumeLeavesTheDatabaseWorkingRecordsTheGapAndArchivingResumes() throws {
        let fs = FaultInjectingFileSystem()
        let db = try Database(path: "/db", options: Self.archiveOptions(fs))
        try schema(db)
        var rng = SplitMix64(seed: 53)
        try db.engine.captureBaseImageNow()
        try randomTransaction(db, &rng, 0)
        let source = db.engine.path // as Database spells it ("//db")
        fs.arm(.noSpaceUnder(prefix: source + "-archive"))
        var n = 1
        var inGap: UInt64 = 0
        while db.engine.metrics.archiveGaps.isEmpty && n < 200 {
            try randomTransaction(db, &rng, n) // commits keep working
            n += 1
            try db.engine.materializeNow()
            if inGap == 0 { inGap = db.lastCommitLSN }
        }
        let full = db.engine.metrics
        #expect(full.archiveGaps.count >= 1 && full.archiveGaps.allSatisfy { $0.reason == .storeFailed }, "\(full)")
        #expect(full.archiveError?.contains("disk full") == true, "\(full.archiveError ?? "no error")")
        #expect(throws: DatabaseError.self) { try db.engine.captureBaseImageNow() }
        #expect(full.materializerError == nil)
        fs.arm(nil)
        let segmentsBefore = db.engine.archiveCatalogue?.segments.count ?? 0
        while (db.engine.archiveCatalogue?.segments.count ?? 0) <= segmentsBefore && n < 400 {
            try randomTransaction(db, &rng, n)
            n += 1
            try db.engine.materializeNow()
        }
        try db.engine.captureBaseImageNow() // what the background thread does after a gap
        try randomTransaction(db, &rng, n)
        let after = (lsn: db.lastCommitLSN, dump: try logicalDump(db))
        let resumed = db.engine.metrics
        #expect(resumed.archiveError == nil && resumed.archiveSegments > segmentsBefore, "\(resumed)")
        let catalogue = try #require(db.engine.archiveCatalogue)
        #expect(!catalogue.gaps.isEmpty, "the gap is recorded in the catalogue")
        // After the gap: restores from the base image taken after it. Inside it: refused.
        try BackupFile.restore(archiveOf: source, to: "//after", upTo: .lsn(after.lsn), fileSystem: fs)
        var options = smallOptions(fs)
        options.createIfMissing = false
        let copy = try Database(path: "/after", options: options) // Database spells it "//after"
        #expect(try logicalDump(copy) == after.dump)
        try copy.close()
        let gap = try #require(catalogue.gaps.first)
        #expect(inGap > 0)
        expectError(SQLState.invalidParameterValue, containing: ["outside the available window", "gap"]) {
            try BackupFile.restore(archiveOf: source, to: "/inside", upTo: .lsn(gap.to), fileSystem: fs)
        }
        #expect(!fs.exists("/inside"))
        try db.close()
    }

    @Test func theShellKeepsAnArchiveAndRestoresFromItWithoutABackup() throws {
        let dir = TemporaryDirectory()
        var run = try ShellTests.shell(["shop.db", "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a')",
                                        ".archive base", "INSERT INTO t VALUES (2, 'b')", ".archive"], in: dir.path)
        #expect(run.status == 0, "\(run.err)")
        #expect(run.out.contains("base image at LSN "), "\(run.out)")
        #expect(run.out.contains("archive shop.db-archive: catalogue "), "\(run.out)")
        run = try ShellTests.shell(["shop.db", ".restore --latest shop-copy.db"], in: dir.path)
        #expect(run.status == 0, "\(run.err)")
        #expect(run.out.hasPrefix("restored the base image at LSN "), "\(run.out)")
        run = try ShellTests.shell(["shop-copy.db", "SELECT count(*) FROM t"], in: dir.path)
        #expect(run.out.contains("2"), "\(run.out)")
        run = try ShellTests.shell(["shop.db", ".restore --to '2001-01-01 00:00:00' early.db"], in: dir.path)
        #expect(run.status == 1)
        #expect(run.err.contains("outside the available window"), "\(run.err)")
        run = try ShellTests.shell(["-noarchive", "other.db", ".archive"], in: dir.path)
        #expect(run.status == 1)
        #expect(run.err.contains("-noarchive"), "\(run.err)")
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/other.db-archive"))
        // -archive, the default now, is still accepted.
        run = try ShellTests.shell(["-archive", "shop.db", ".archive"], in: dir.path)
        #expect(run.status == 0, "\(run.err)")
    }

    @Test func aRetentionWindowOfAnyLengthIsAccepted() throws {
        let dir = TemporaryDirectory()
        var options = Self.archiveOptions()
        options.archiveRetentionSeconds = Int.max // µs of it overflow Int64: the window is then "forever"
        let db = try Database(path: dir.database, options: options)
        try db.execute("CREATE TABLE t(x INTEGER)")
        try db.engine.captureBaseImageNow()
        try db.execute("INSERT INTO t VALUES (1)")
        try db.engine.captureBaseImageNow()
        #expect(db.engine.archiveCatalogue?.baseImages.count == 2) // none of them expired
        try db.close()
    }

    @Test func aRestoreFromAGivenBackupReadsTheSourcesArchiveToo() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database, options: Self.archiveOptions()) // retainLogArchive off
        try schema(db)
        var rng = SplitMix64(seed: 5)
        try db.engine.captureBaseImageNow() // the archive keeps the log from here on
        try randomTransaction(db, &rng, 0)
        let backup = try db.backup(to: dir.path + "/b.bbk")
        var n = 1
        while (db.engine.archiveCatalogue?.segments.filter { $0.start > backup.lsn }.count ?? 0) < 2 {
            try randomTransaction(db, &rng, n)
            n += 1
            try db.engine.materializeNow()
        }
        let expected = (lsn: db.lastCommitLSN, dump: try logicalDump(db))
        try db.close()
        // The segments after the backup are no longer in db-log/, only in db-archive/seg/.
        let result = try Database.restore(backup: dir.path + "/b.bbk", to: dir.path + "/r.db", replayingLogOf: dir.database, upTo: .latest)
        #expect(result.lsn == expected.lsn)
        let copy = try Database(path: dir.path + "/r.db")
        #expect(try logicalDump(copy) == expected.dump)
        try copy.close()
    }

    @Test func anotherDatabasesArchiveIsLeftAlone() throws {
        let dir = TemporaryDirectory()
        let first = try Database(path: dir.database, options: Self.archiveOptions())
        try first.execute("CREATE TABLE t(x INTEGER)")
        try first.engine.captureBaseImageNow()
        try first.close()
        let before = try BackupFile.archiveCatalogue(of: dir.database)
        removeDatabase(dir.database) // a new database at the same path; the old archive stays
        let second = try Database(path: dir.database, options: Self.archiveOptions())
        try second.execute("CREATE TABLE u(y INTEGER)")
        try second.execute("INSERT INTO u VALUES (1)")
        #expect(second.engine.metrics.archiveError?.contains("another database") == true)
        #expect(throws: DatabaseError.self) { try second.engine.captureBaseImageNow() }
        try second.close()
        #expect(try BackupFile.archiveCatalogue(of: dir.database) == before)
    }

    @Test func commitTimesAreFoundWhateverPiecesTheSegmentStreamsIn() throws {
        let dir = TemporaryDirectory()
        var options = smallOptions()
        options.backgroundMaterializer = false
        let db = try Database(path: dir.database, options: options)
        try db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
        for i in 0..<40 { try db.execute("INSERT INTO t VALUES ($1, $2)", [.integer(Int64(i)), .text(String(repeating: "v", count: i * 97))]) }
        try db.close()
        let log = dir.database + "-log"
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: log).filter { $0.hasSuffix(".log") }.sorted().first)
        let segment = try [UInt8](Data(contentsOf: URL(fileURLWithPath: log + "/" + name)))
        let whole = Archiver.commitTimes(segment)
        #expect(whole.first > 0 && whole.last >= whole.first)
        for size in [1, 7, 4096, 65_537] {
            var walker = CommitTimeWalker()
            var at = 0
            while at < segment.count {
                let end = min(segment.count, at + size)
                segment.withUnsafeBytes { walker.feed(UnsafeRawBufferPointer(rebasing: $0[at..<end])) }
                at = end
            }
            #expect(walker.firstCommit == whole.first && walker.lastCommit == whole.last, "pieces of \(size)")
        }
        // A damaged record stops the walk: the commits before it count, none after.
        var damaged = segment
        damaged[LogFormat.segmentHeaderSize + 40] ^= 0xFF
        #expect(Archiver.commitTimes(damaged).first == 0)
    }

    @Test func theArchiveIsOnByDefaultAndOffWhereItShouldBe() throws {
        let dir = TemporaryDirectory()
        // By default a database keeps its history, and restores from it with no backup named.
        let db = try Database(path: dir.database)
        try db.execute("CREATE TABLE t(x INTEGER)")
        try db.execute("INSERT INTO t VALUES (1)")
        #expect(db.engine.archiveCatalogue != nil)
        let lsn = db.lastCommitLSN
        try db.close()
        #expect(try BackupFile.archiveCatalogue(of: dir.database).baseImages.count >= 1)
        let restored = try Database.restore(archiveOf: dir.database, to: dir.path + "/r.db", upTo: .latest)
        #expect(restored.lsn == lsn)
        // The restore itself starts no archive for the new database (its first open does).
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/r.db-archive"))

        // continuousArchive = false keeps none.
        let off = dir.path + "/off.db"
        var options = smallOptions()
        options.continuousArchive = false
        let unarchived = try Database(path: off, options: options)
        try unarchived.execute("CREATE TABLE t(x INTEGER)")
        #expect(unarchived.engine.archiveCatalogue == nil)
        #expect(unarchived.engine.metrics.archiveLagBytes == 0)
        try unarchived.close()
        #expect(!FileManager.default.fileExists(atPath: off + "-archive"))
        expectError(SQLState.undefinedFile, containing: ["archive", "no catalogue"]) {
            try Database.restore(archiveOf: off, to: dir.path + "/r2.db", upTo: .latest)
        }
        // A read-only open of it does not start one; of a database that has one, keeps it going.
        let reader = try Database(path: off, readOnly: true)
        #expect(reader.engine.archiveCatalogue == nil)
        try reader.close()
        #expect(!FileManager.default.fileExists(atPath: off + "-archive"))
        let archivedReader = try Database(path: dir.database, readOnly: true)
        #expect(archivedReader.engine.archiveCatalogue != nil)
        try archivedReader.close()

        // A :memory: database keeps none.
        let memory = try Database(path: ":memory:")
        #expect(memory.engine.archiveCatalogue == nil)
        try memory.close()

        // An archive that cannot start (its folder is a file) never keeps the database from
        // opening: it works without history and says why.
        let blocked = dir.path + "/blocked.db"
        FileManager.default.createFile(atPath: blocked + "-archive", contents: Data("not a folder".utf8))
        let withoutHistory = try Database(path: blocked)
        try withoutHistory.execute("CREATE TABLE t(x INTEGER)")
        try withoutHistory.execute("INSERT INTO t VALUES (1)")
        #expect(try withoutHistory.execute("SELECT count(*) FROM t").rows == [[.integer(1)]])
        #expect(withoutHistory.engine.archiveCatalogue == nil)
        #expect(withoutHistory.engine.metrics.archiveError?.contains("the continuous archive is off for this open") == true)
        #expect(throws: DatabaseError.self) { try withoutHistory.engine.captureBaseImageNow() }
        try withoutHistory.close()
    }
}
