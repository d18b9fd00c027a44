import Testing
@testable import Borealis
@testable import BorealisSQL
@testable import BorealisStorage

@Suite struct LogTests {
    func segmentFile(_ dir: TemporaryDirectory) throws -> String {
        let names = try PosixFileSystem().list(dir.database + "-log").filter { LogFormat.parseSegmentName($0) != nil }
        return dir.database + "-log/" + names.first!
    }

    @Test(arguments: [false, true])
    func blockWriterKeepsEveryByteAcrossAwkwardWrites(onDisk: Bool) throws {
        // Writes of every awkward size, a restart that must read its block back, a second file
        // in between, and writes past the writer's buffer: the file holds exactly the bytes.
        let dir = TemporaryDirectory()
        let fs: any FileSystem = onDisk ? PosixFileSystem() : FaultInjectingFileSystem()
        let base = onDisk ? dir.path : ""
        let size = 2 << 20
        for name in ["/a", "/b"] {
            let f = try fs.open(base + name, create: true)
            try f.write([UInt8](repeating: 0, count: size), at: 0)
            f.close()
        }
        let a = try fs.openForDirectWrites(base + "/a")
        let b = try fs.openForDirectWrites(base + "/b")
        defer { a.close(); b.close() }
        var writer = LogBlockWriter(capacity: 64 << 10)
        var expectedA: [UInt8] = [], expectedB: [UInt8] = []
        var counter: UInt32 = 0
        func bytes(_ n: Int) -> [UInt8] {
            (0..<n).map { _ in counter &+= 1; return UInt8(truncatingIfNeeded: (counter &* 2_654_435_761) >> 13) | 1 }
        }
        func write(_ n: Int, to file: any StorageFile, _ expected: inout [UInt8]) throws {
            let data = bytes(n)
            try data.withUnsafeBytes { try writer.write($0, to: file, at: UInt64(4096 + expected.count)) }
            expected += data
        }
        for (step, n) in [1, 100, 4095, 1, 4096, 4097, 200_000, 3, 8191, 637, 65536, 65535].enumerated() {
            try write(n, to: a, &expectedA)
            if step % 3 == 0 { try write(step + 1, to: b, &expectedB) }
            if step == 5 { writer = LogBlockWriter(capacity: 64 << 10) }
        }
        // Going back two blocks (as a writer reopened at an earlier end would): the block there
        // is read back, not taken from the remembered tail of the later block.
        expectedA.removeLast(8192)
        try write(10, to: a, &expectedA)
        for (file, expected) in [(a, expectedA), (b, expectedB)] {
            let blockEnd = (4096 + expected.count + 4095) / 4096 * 4096
            let back = try file.readBytes(count: blockEnd, at: 0)
            #expect(Array(back[4096...].prefix(expected.count)) == expected)
            #expect(back[(4096 + expected.count)...].allSatisfy { $0 == 0 }, "the last block is padded with zeros")
            #expect(back[0..<4096].allSatisfy { $0 == 0 }, "the header block is not touched")
        }
    }

    @Test func recordFramingRoundTripsAndChains() {
        var buffer: [UInt8] = []
        let first = LogFormat.appendRecord(to: &buffer, lsn: 100, type: .pageRedo, payload: [1, 2, 3], previous: 7)
        let second = LogFormat.appendRecord(to: &buffer, lsn: 112, type: .commit, payload: [], previous: first)
        #expect(buffer.count == 12 + 9)
        buffer.withUnsafeBytes { raw in
            let one = UnsafeRawBufferPointer(rebasing: raw[0..<12])
            #expect(LogFormat.recordChecksum(previous: 7, lsn: 100, record: one) == first)
            // The same bytes at another LSN, or after another record, do not verify.
            #expect(LogFormat.recordChecksum(previous: 7, lsn: 101, record: one) != first)
            #expect(LogFormat.recordChecksum(previous: 8, lsn: 100, record: one) != first)
            let two = UnsafeRawBufferPointer(rebasing: raw[12...])
            #expect(LogFormat.recordChecksum(previous: first, lsn: 112, record: two) == second)
        }
        #expect(LogFormat.parseSegmentName(LogFormat.segmentName(start: 0xABCDEF)) == 0xABCDEF)
        #expect(LogFormat.parseSegmentName("recycle-1.log") == nil)
    }

    @Test func aDamagedRecordBeforeLaterFlushesIsAnErrorAndATornLastFlushIsCutOff() throws {
        let dir = TemporaryDirectory()
        var options = smallOptions()
        options.backgroundMaterializer = false
        var lsns: [LSN] = []
        let page: PageNumber
        do {
            let engine = try StorageEngine(path: dir.database, options: options)
            let setup = try engine.beginWrite()
            page = try setup.allocatePage()
            try setup.commit()
            for v in 1...10 {
                let txn = try engine.beginWrite()
                try txn.writablePage(page).bytes.storeLittleEndian(UInt64(v), at: 200)
                lsns.append(try txn.commit())
            }
            engine.abandonForTesting() // no close: the tail stays un-materialized
        }
        let path = try segmentFile(dir)
        func flip(at lsn: LSN) throws {
            let file = try PosixFileSystem().open(path, create: false)
            defer { file.close() }
            let offset = UInt64(LogFormat.segmentHeaderSize) + lsn
            var byte = try file.readBytes(count: 1, at: offset)
            byte[0] ^= 0xFF
            try file.write(byte, at: offset)
        }
        // One byte inside the 6th commit's records: the flushes after it were synced, so the
        // 7th to 10th commits were acknowledged — an error naming the segment and the LSN, not
        // an open without them (it used to open with 5 commits).
        try flip(at: lsns[4] + 5)
        do {
            _ = try StorageEngine(path: dir.database, options: options)
            Issue.record("opened without four acknowledged commits")
        } catch let error as DatabaseError {
            #expect(error.code == .corrupt)
            #expect(error.message.contains(path) && error.message.contains("LSN \(lsns[4])"), "\(error)")
        }
        try flip(at: lsns[4] + 5)
        // One byte inside the last flush (the 10th commit, after the mark the 9th flush ended
        // with): what a torn write leaves. The log ends after the 9th commit, and new commits
        // continue after it and survive a reopen.
        try flip(at: lsns[8] + UInt64(LogMark.recordSize) + 5)
        let engine = try StorageEngine(path: dir.database, options: options)
        let reader = try engine.beginRead()
        let value = UnsafeRawBufferPointer(try reader.page(page).bytes).littleEndian(at: 200, as: UInt64.self)
        #expect(value == 9)
        #expect(engine.metrics.lastCommitLSN == lsns[8])
        reader.rollback()
        let txn = try engine.beginWrite()
        try txn.writablePage(page).bytes.storeLittleEndian(UInt64(99), at: 200)
        try txn.commit()
        try engine.close()
        let again = try StorageEngine(path: dir.database, options: options)
        let check = try again.beginRead()
        #expect(UnsafeRawBufferPointer(try check.page(page).bytes).littleEndian(at: 200, as: UInt64.self) == 99)
        check.rollback()
        try again.close()
    }

    @Test func recoveryReadsALargeSegmentTailInPieces() throws {
        // The scanner reads a segment's first megabyte and extends as records need; a tail of
        // several megabytes, with a record straddling each boundary, must come back whole.
        let dir = TemporaryDirectory()
        var options = smallOptions()
        options.backgroundMaterializer = false
        options.segmentCapacity = 8 << 20
        options.logSoftCapBytes = 32 << 20
        options.logHardCapBytes = 64 << 20
        options.materializeThresholdBytes = 64 << 20
        var pages: [PageNumber] = []
        var lastLSN: LSN = 0
        do {
            let engine = try StorageEngine(path: dir.database, options: options)
            let setup = try engine.beginWrite()
            for _ in 0..<64 { pages.append(try setup.allocatePage()) }
            try setup.commit()
            // ~3 MB of redo: 600 commits rewriting 8 KB of page bytes.
            for v in 1...600 {
                let txn = try engine.beginWrite()
                for k in 0..<2 {
                    let image = try txn.writablePage(pages[(v * 2 + k) % pages.count]).bytes
                    for offset in stride(from: 100, to: 4000, by: 8) { image.storeLittleEndian(UInt64(v &* 31 &+ offset), at: offset) }
                }
                lastLSN = try txn.commit()
            }
            #expect(engine.metrics.unmaterializedBytes > 2 << 20)
            _ = engine // no close: the tail stays un-materialized
        }
        let engine = try StorageEngine(path: dir.database, options: options)
        #expect(engine.metrics.lastCommitLSN == lastLSN)
        #expect(engine.recoveredTailBytes > 2 << 20)
        let reader = try engine.beginRead()
        // The last commit wrote value 600 into pages[(1200) % 64] and pages[1201 % 64].
        let image = UnsafeRawBufferPointer(try reader.page(pages[1200 % pages.count]).bytes)
        #expect(image.littleEndian(at: 100, as: UInt64.self) == UInt64(600 &* 31 &+ 100))
        #expect(image.littleEndian(at: 3996, as: UInt64.self) == UInt64(600 &* 31 &+ 3996))
        reader.rollback()
        try engine.close()
    }

    @Test func segmentsSealRecycleAndArchiveWithRetention() throws {
        let dir = TemporaryDirectory()
        var options = smallOptions()
        options.segmentCapacity = 64 << 10
        options.backgroundMaterializer = false
        options.retainLogArchive = true
        let engine = try StorageEngine(path: dir.database, options: options)
        let txn = try engine.beginWrite()
        let table = try TableTree.create(in: txn)
        try txn.commit()
        for i in 0..<300 {
            let t = try engine.beginWrite()
            try table.put(Int64(i), [UInt8](repeating: UInt8(i & 0xff), count: 900), in: t)
            try t.commit()
        }
        #expect(engine.metrics.logSegments > 3)
        try engine.materializeNow()
        #expect(engine.metrics.logSegments == 1)
        let archived = try PosixFileSystem().list(dir.database + "-log/archive")
        #expect(archived.count >= 3)
        // An archived segment decompresses to a valid segment with its records.
        let file = try PosixFileSystem().open(dir.database + "-log/archive/" + archived[0], create: false)
        let segment = try Zstd.decompress(try file.readBytes(count: Int(try file.size()), at: 0))
        file.close()
        let header = segment.withUnsafeBytes { raw in LogFormat.SegmentHeader.decode(raw) }
        #expect(header?.databaseID == engine.databaseID)
        try engine.close()
    }

    @Test func groupCommitSharesFdatasyncsAcrossEightThreads() throws {
        let dir = TemporaryDirectory()
        let engine = try StorageEngine(path: dir.database, options: smallOptions())
        let setup = try engine.beginWrite()
        let table = try TableTree.create(in: setup)
        try setup.commit()
        let before = engine.metrics
        let perThread = 150
        DispatchQueueConcurrentPerform(iterations: 8) { thread in
            for i in 0..<perThread {
                do {
                    let txn = try engine.beginWrite()
                    try table.put(Int64(thread * 10_000 + i), [UInt8](repeating: 1, count: 100), in: txn)
                    try txn.commit()
                } catch {
                    Issue.record("commit failed: \(error)")
                }
            }
        }
        let after = engine.metrics
        let commits = after.commits - before.commits
        let syncs = after.fdatasyncCount - before.fdatasyncCount
        #expect(commits == UInt64(8 * perThread))
        #expect(syncs < commits / 2, "fdatasyncs \(syncs) for \(commits) commits")
        let reader = try engine.beginRead()
        #expect(try table.tree.verify(in: reader).entries == 8 * perThread)
        reader.rollback()
        try engine.close()
    }

    @Test(.timeLimit(.minutes(1)))
    func aFailedFlushWakesEveryWaitingCommitter() throws {
        // Committers sleep on conditions of their own; a failed fdatasync must still wake every
        // one of them (none may hang), and each thread then sees the failure.
        let (fs, _, engine, table) = try faultEngineWithTable()
        fs.arm(.syncFailure(atSync: 60))
        let outcomes = Locked((acknowledged: 0, failedThreads: 0))
        DispatchQueueConcurrentPerform(iterations: 8) { thread in
            for i in 0..<1_000 {
                do {
                    let txn = try engine.beginWrite()
                    try table.put(Int64(thread * 10_000 + i), [1, 2, 3], in: txn)
                    try txn.commit()
                    outcomes.withLock { $0.acknowledged += 1 }
                } catch {
                    outcomes.withLock { $0.failedThreads += 1 }
                    return
                }
            }
        }
        let (acknowledged, failedThreads) = outcomes.withLock { $0 }
        #expect(failedThreads == 8)
        #expect(acknowledged > 0 && acknowledged < 8_000)
        try? engine.close()
    }

    @Test func oneRowUpdateOfAHundredByteValueLogsUnder300Bytes() throws {
        let dir = TemporaryDirectory()
        let engine = try StorageEngine(path: dir.database, options: smallOptions())
        let setup = try engine.beginWrite()
        let table = try TableTree.create(in: setup)
        // Random insertion order leaves leaves partly free, as in a table that lived a while.
        var rng = SplitMix64(seed: 3)
        for i in (0..<2000).shuffled(using: &rng) {
            try table.put(Int64(i), [UInt8](repeating: UInt8(i & 0x7f), count: 100), in: setup)
        }
        try setup.commit()
        // Same size (in place), shorter (in place), longer (moved within its page).
        for (row, newSize) in [(1000, 100), (1200, 90), (1500, 104)] {
            let before = engine.metrics.lastCommitLSN
            let txn = try engine.beginWrite()
            try table.put(Int64(row), [UInt8](repeating: 0xEE, count: newSize), in: txn)
            let after = try txn.commit()
            #expect(after - before < 300, "a one-row update logged \(after - before) bytes")
        }
        try engine.close()
    }
}

import Foundation

/// Runs `body(i)` on `iterations` dedicated threads at once (Dispatch's concurrentPerform would
/// use only as many threads as there are cores) and waits for all of them.
func DispatchQueueConcurrentPerform(iterations: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let done = DispatchGroup()
    for i in 0..<iterations {
        done.enter()
        Thread {
            body(i)
            done.leave()
        }.start()
    }
    done.wait()
}
