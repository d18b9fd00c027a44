// Write transactions larger than their memory budget (docs/storage.md §3, "Large
// transactions"): pages spilled to the transaction's temporary file and read back, savepoints
// over spilled pages, the commit streamed to the log ahead of its commit record, readers never
// seeing a partial transaction, and crashes or a full disk in the middle of a streamed commit.

import Foundation
import Testing
@testable import Borealis
@testable import BorealisSQL
@testable import BorealisStorage

@Suite struct LargeTransactionTests {
    /// Options that make a transaction of a few hundred rows spill and stream.
    func largeOptions(_ fs: (any FileSystem)? = nil) -> StorageOptions {
        var options = smallOptions(fs)
        options.transactionMemoryBytes = 16 * 4096
        options.commitStreamChunkBytes = 64 << 10
        options.segmentCapacity = 128 << 10
        options.logSoftCapBytes = 64 << 20
        options.logHardCapBytes = 128 << 20
        return options
    }

    func row(_ id: Int64, generation: Int) -> [UInt8] {
        Array("row \(id) generation \(generation) ".utf8) + [UInt8](repeating: UInt8(truncatingIfNeeded: id &+ Int64(generation)), count: 150)
    }

    /// Every row in `ids` holds its value of `generation`, and no other row exists.
    func expectRows(_ table: TableTree, _ ids: Range<Int64>, generation: (Int64) -> Int, in txn: StorageTransaction,
                    sourceLocation: SourceLocation = #_sourceLocation) throws {
        var cursor = table.tree.cursor(in: txn)
        var more = try cursor.first()
        var expected = ids.lowerBound
        while more {
            let id = try TableTree.decode(cursor.key)
            #expect(id == expected, sourceLocation: sourceLocation)
            if id != expected { return }
            #expect(try cursor.value() == row(id, generation: generation(id)), sourceLocation: sourceLocation)
            expected += 1
            more = try cursor.next()
        }
        #expect(expected == ids.upperBound, sourceLocation: sourceLocation)
    }

    func spillFileNames(in directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.contains("-spill-") }
    }

    @Test func spilledPagesAreReadBackChangedAgainAndCommitted() throws {
        let dir = TemporaryDirectory()
        let engine = try StorageEngine(path: dir.database, options: largeOptions())
        let setup = try engine.beginWrite()
        let table = try TableTree.create(in: setup)
        try setup.setRoot(slot: 1, to: table.root)
        try setup.commit()

        let txn = try engine.beginWrite()
        // In random order: splits all over the tree, so pages a split still holds are often
        // the oldest private pages, the first candidates to spill.
        var rng = SplitMix64(seed: 42)
        for id in (Int64(0)..<3000).shuffled(using: &rng) { try table.put(id, row(id, generation: 1), in: txn) }
        #expect(txn.spilledPageCount > 100)
        // The spill file is unlinked at once: nothing named for it stays in the directory.
        #expect(spillFileNames(in: dir.path).isEmpty)
        // Spilled pages read back (and changed again) within the transaction.
        for id in stride(from: Int64(0), to: 3000, by: 7) { #expect(try table.get(id, in: txn) == row(id, generation: 1)) }
        for id in stride(from: Int64(0), to: 3000, by: 3) { try table.put(id, row(id, generation: 2), in: txn) }
        let generation = { (id: Int64) in id % 3 == 0 ? 2 : 1 }
        try expectRows(table, 0..<3000, generation: generation, in: txn)
        _ = try txn.checkIntegrity(trees: [table.tree])
        let reader = try engine.beginRead()
        try txn.commit()
        // A snapshot taken before the commit sees none of it.
        try expectRows(table, 0..<0, generation: generation, in: reader)
        reader.rollback()

        let after = try engine.beginRead()
        try expectRows(table, 0..<3000, generation: generation, in: after)
        _ = try after.checkIntegrity(trees: [table.tree])
        after.rollback()
        try engine.materializeNow()
        let materialized = try engine.beginRead()
        try expectRows(table, 0..<3000, generation: generation, in: materialized)
        materialized.rollback()
        try engine.close()

        let reopened = try StorageEngine(path: dir.database, options: largeOptions())
        let check = try reopened.beginRead()
        try expectRows(table, 0..<3000, generation: generation, in: check)
        check.rollback()
        try reopened.close()
    }

    @Test func aSavepointBringsBackSpilledPagesAsTheyWere() throws {
        let dir = TemporaryDirectory()
        let engine = try StorageEngine(path: dir.database, options: largeOptions())
        let txn = try engine.beginWrite()
        let table = try TableTree.create(in: txn)
        try txn.setRoot(slot: 1, to: table.root)
        for id in Int64(0)..<1000 { try table.put(id, row(id, generation: 1), in: txn) }
        let spilledAtSavepoint = txn.spilledPageCount
        #expect(spilledAtSavepoint > 0)
        let savepoint = try txn.savepoint()
        for id in Int64(0)..<1000 { try table.put(id, row(id, generation: 2), in: txn) }
        for id in Int64(1000)..<3000 { try table.put(id, row(id, generation: 2), in: txn) }
        #expect(txn.spilledPageCount > spilledAtSavepoint)
        try txn.rollback(to: savepoint)
        try expectRows(table, 0..<1000, generation: { _ in 1 }, in: txn)
        for id in Int64(1000)..<1500 { try table.put(id, row(id, generation: 3), in: txn) }
        try txn.commit()
        try engine.close()

        let reopened = try StorageEngine(path: dir.database, options: largeOptions())
        let check = try reopened.beginRead()
        try expectRows(table, 0..<1500, generation: { $0 < 1000 ? 1 : 3 }, in: check)
        _ = try check.checkIntegrity(trees: [table.tree])
        check.rollback()
        try reopened.close()
    }

    /// A replica holding pages that a large commit spilled ends its cached versions there and
    /// reads the new ones; its older snapshot keeps reading the old ones.
    @Test func replicasSeeASpilledCommit() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database, options: largeOptions())
        try db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
        try db.write { db in
            for i in 0..<2000 { try db.execute("INSERT INTO t VALUES ($1, $2)", [.integer(Int64(i)), .text(String(repeating: "a", count: 150))]) }
        }
        let replica = try db.openReplica()
        #expect(try replica.query("SELECT count(*), sum(length(v)) FROM t").first?.values == [.integer(2000), .integer(300_000)])
        let old = try db.openReplica()
        try old.execute("BEGIN")
        #expect(try old.query("SELECT sum(length(v)) FROM t").first?.values == [.integer(300_000)])
        try db.execute("UPDATE t SET v = v || 'bb'")
        #expect(try replica.waitFor(lsn: db.lastCommitLSN, timeout: 5))
        #expect(try replica.query("SELECT count(*), sum(length(v)) FROM t").first?.values == [.integer(2000), .integer(304_000)])
        #expect(try replica.query("SELECT v FROM t WHERE id = 1234").first?.values == [.text(String(repeating: "a", count: 150) + "bb")])
        #expect(try old.query("SELECT sum(length(v)) FROM t").first?.values == [.integer(300_000)])
        try old.execute("COMMIT")
        try old.close()
        try replica.close()
        try db.close()
    }

    /// A spill file whose name outlived a crash (between its creation and its unlink) is
    /// deleted when the database opens; other files are left alone.
    @Test func openingDeletesALeftoverSpillFile() throws {
        let dir = TemporaryDirectory()
        try StorageEngine(path: dir.database, options: largeOptions()).close()
        FileManager.default.createFile(atPath: dir.path + "/db-spill-1f2e", contents: Data([1, 2, 3]))
        FileManager.default.createFile(atPath: dir.path + "/other-spill-1f2e", contents: Data([1]))
        let engine = try StorageEngine(path: dir.database, options: largeOptions())
        #expect(spillFileNames(in: dir.path) == ["other-spill-1f2e"])
        try engine.close()
    }

    @Test func aRolledBackLargeTransactionLeavesNothing() throws {
        let dir = TemporaryDirectory()
        let engine = try StorageEngine(path: dir.database, options: largeOptions())
        let setup = try engine.beginWrite()
        let table = try TableTree.create(in: setup)
        try setup.setRoot(slot: 1, to: table.root)
        try table.put(0, row(0, generation: 1), in: setup)
        try setup.commit()
        let before = engine.metrics.lastCommitLSN
        let txn = try engine.beginWrite()
        for id in Int64(1)..<3000 { try table.put(id, row(id, generation: 1), in: txn) }
        #expect(txn.spilledPageCount > 0)
        txn.rollback()
        #expect(engine.metrics.lastCommitLSN == before)
        let check = try engine.beginRead()
        try expectRows(table, 0..<1, generation: { _ in 1 }, in: check)
        check.rollback()
        try engine.close()
    }

    /// The log's durable LSN is a transaction end, never a point inside a batch that a large
    /// commit sent ahead of its commit record — even when a flush wrote that batch.
    @Test func theDurableLSNNeverEndsInsideAStreamingTransaction() throws {
        let dir = TemporaryDirectory()
        var options = largeOptions()
        options.backgroundMaterializer = false
        let engine = try StorageEngine(path: dir.database, options: options)
        let log = engine.log
        let start = log.durableLSN
        let base = PageImage(size: 4096), image = PageImage(size: 4096)
        image.bytes.storeLittleEndian(UInt64(7), at: 200)
        let payload = PageDelta.encode(page: 900, base: base, image: image)!
        let first = try log.append([(.pageRedo, payload)], endsTransaction: false)
        try log.writeBuffered()
        #expect(log.durableLSN == start)
        // Another committer's flush takes the partial batch along; durable stays put.
        try log.waitDurable(first)
        #expect(log.durableLSN == start)
        let commit = CommitRecord(transactionID: 99, timestamp: 0, pageRecordCount: 1).encoded()
        let end = try log.append([(.commit, commit)])
        try log.waitDurable(end)
        #expect(log.durableLSN == end)
        try engine.close()
    }

    /// Runs the setup (row 0 committed) and a streamed commit of rows 1..<count on `fs`,
    /// arming `fault` just before the commit. Returns whether the commit returned.
    func streamedCommit(on fs: FaultInjectingFileSystem, count: Int64, fault: FaultInjectingFileSystem.Fault?) throws -> (committed: Bool, operations: Int, engine: StorageEngine) {
        var options = largeOptions(fs)
        options.backgroundMaterializer = false
        let engine = try StorageEngine(path: "/db", options: options)
        let setup = try engine.beginWrite()
        let table = try TableTree.create(in: setup)
        try setup.setRoot(slot: 1, to: table.root)
        try table.put(0, row(0, generation: 1), in: setup)
        try setup.commit()
        let txn = try engine.beginWrite()
        for id in Int64(1)..<count { try table.put(id, row(id, generation: 1), in: txn) }
        fs.arm(fault)
        do {
            try txn.commit()
            return (true, fs.operationCount, engine)
        } catch is DatabaseError {
            return (false, fs.operationCount, engine)
        }
    }

    @Test func aCrashInAStreamedCommitKeepsAllOrNothingOfIt() throws {
        let count: Int64 = 2500
        let clean = FaultInjectingFileSystem()
        let (committed, operations, engine) = try streamedCommit(on: clean, count: count, fault: nil)
        #expect(committed)
        #expect(engine.log.bytesWritten.load(ordering: .relaxed) > 256 << 10)
        try engine.close()
        #expect(operations > 20)
        var outcomes: Set<Bool> = []
        for (i, fraction) in [0.1, 0.3, 0.5, 0.7, 0.9, 1.2].enumerated() {
            let fs = FaultInjectingFileSystem()
            let at = max(1, Int(Double(operations) * fraction))
            let (returned, _, engine) = try streamedCommit(on: fs, count: count, fault: .crash(atOperation: at))
            if returned { try? engine.close() }
            fs.crash(seed: UInt64(i + 1))
            let reopened = try StorageEngine(path: "/db", options: largeOptions(fs))
            let table = TableTree(root: try reopened.beginRead().root(slot: 1))
            let check = try reopened.beginRead()
            let present = try table.get(1, in: check) != nil
            outcomes.insert(present)
            // Acknowledged means present; otherwise all or nothing.
            if returned { #expect(present) }
            try expectRows(table, 0..<(present ? count : 1), generation: { _ in 1 }, in: check)
            check.rollback()
            // The log continues cleanly after the dropped partial transaction.
            let next = try reopened.beginWrite()
            try table.put(count, row(count, generation: 1), in: next)
            try next.commit()
            try reopened.close()
            let again = try StorageEngine(path: "/db", options: largeOptions(fs))
            let final = try again.beginRead()
            #expect(try table.get(count, in: final) == row(count, generation: 1))
            #expect(try table.get(0, in: final) == row(0, generation: 1))
            _ = try final.checkIntegrity(trees: [table.tree])
            final.rollback()
            try again.close()
        }
        #expect(outcomes.contains(false))
    }

    @Test func aFullDiskInAStreamedCommitFailsTheEngineAndLosesNothingCommitted() throws {
        let count: Int64 = 2500
        let probe = FaultInjectingFileSystem()
        let (_, operations, probeEngine) = try streamedCommit(on: probe, count: count, fault: nil)
        try probeEngine.close()
        let fs = FaultInjectingFileSystem()
        let (committed, _, engine) = try streamedCommit(on: fs, count: count, fault: .noSpace(atOperation: operations / 2))
        #expect(!committed)
        #expect(throws: DatabaseError.self) { _ = try engine.beginWrite() }
        let table = TableTree(root: try engine.beginRead().root(slot: 1))
        let reader = try engine.beginRead()
        try expectRows(table, 0..<1, generation: { _ in 1 }, in: reader)
        reader.rollback()
        try? engine.close()
        fs.arm(nil)
        let reopened = try StorageEngine(path: "/db", options: largeOptions(fs))
        let check = try reopened.beginWrite()
        try expectRows(table, 0..<1, generation: { _ in 1 }, in: check)
        try table.put(1, row(1, generation: 1), in: check)
        try check.commit()
        try reopened.close()
        let again = try StorageEngine(path: "/db", options: largeOptions(fs))
        let final = try again.beginRead()
        try expectRows(table, 0..<2, generation: { _ in 1 }, in: final)
        final.rollback()
        try again.close()
    }
}
