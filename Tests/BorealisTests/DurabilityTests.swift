import Foundation
import Testing
@testable import Borealis
@testable import BorealisSQL
@testable import BorealisStorage
import BorealisStress

/// Crash, fault, recovery and soak tests. Loop counts are short for CI; set
/// BOREALIS_CRASH_CYCLES / BOREALIS_FAULT_CASES for long runs.
@Suite(.serialized) struct DurabilityTests {
    static func count(_ variable: String, default value: Int) -> Int {
        ProcessInfo.processInfo.environment[variable].flatMap(Int.init) ?? value
    }

    static var stressExecutable: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        // The test binary lives in .build/<config>/X.xctest (a file on Linux) or deeper.
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("borealis-stress").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return "borealis-stress"
    }

    @Test func killedProcessesLoseNoAcknowledgedCommit() throws {
        let dir = TemporaryDirectory()
        let executable = Self.stressExecutable
        try #require(FileManager.default.isExecutableFile(atPath: executable), "build borealis-stress first (swift build)")
        let report = try CrashHarness.run(directory: dir.path + "/crash", cycles: Self.count("BOREALIS_CRASH_CYCLES", default: 6),
                                          seed: UInt64.random(in: 0...1 << 40), executable: executable)
        #expect(report.failures.isEmpty, "\(report.failures)")
        #expect(report.lost == 0 && report.corrupt == 0, "\(report.summary)")
        #expect(report.commits > 0)
    }

    @Test func injectedFaultsLoseNoAcknowledgedCommit() {
        let seed = UInt64.random(in: 0...1 << 40)
        let report = FaultHarness.run(cases: Self.count("BOREALIS_FAULT_CASES", default: 120), seed: seed)
        #expect(report.failures.isEmpty, "seed \(seed): \(report.failures)")
        #expect(report.lost == 0 && report.corrupt == 0)
    }

    @Test func failedFsyncRefusesWritesUntilReopened() throws {
        let (fs, options, engine, table) = try faultEngineWithTable()
        let setup = try engine.beginWrite()
        try table.put(1, [1], in: setup)
        try setup.commit()
        fs.arm(.syncFailure(atSync: 1))
        let txn = try engine.beginWrite()
        try table.put(2, [2], in: txn)
        #expect(throws: DatabaseError.self) { try txn.commit() }
        do {
            _ = try engine.beginWrite()
            Issue.record("a write began after a failed fsync")
        } catch let error as DatabaseError {
            #expect(error.code == .ioError)
            #expect(error.message.contains("reopen"))
        }
        let reader = try engine.beginRead()
        #expect(try table.get(1, in: reader) == [1])
        reader.rollback()
        try? engine.close()
        fs.crash(seed: 5)
        let reopened = try StorageEngine(path: "/db", options: options)
        let check = try reopened.beginWrite()
        #expect(try table.get(1, in: check) == [1])
        try table.put(3, [3], in: check)
        try check.commit()
        try reopened.close()
    }

    @Test func newPagesSkipTheDoubleWriteAndATornOneIsRebuiltFromItsRedo() throws {
        let (fs, options, engine, table) = try faultEngineWithTable()
        let value = [UInt8](repeating: 0x5A, count: 300)
        let setup = try engine.beginWrite()
        for key in 0..<100 { try table.put(Int64(key), value, in: setup) }
        try setup.commit()
        try engine.materializeNow()
        let materializedPages = engine.cache.materializedPages
        // More rows: new leaves past the materialized page count, and changes to old pages.
        let more = try engine.beginWrite()
        for key in 100..<400 { try table.put(Int64(key), value, in: more) }
        try table.put(0, [1], in: more)
        try more.commit()
        try engine.materializeNow()
        let grown = engine.cache.materializedPages
        #expect(grown > materializedPages + 10)
        // The double-write file of that round holds only pages that existed before it.
        let dwb = try fs.open("/db-dwb", create: false)
        let copies = try dwb.readBytes(count: 32, at: 0).withUnsafeBytes { $0.littleEndian(at: 24, as: UInt64.self) }
        #expect(copies > 0 && copies < 10, "\(copies) copies for \(grown - materializedPages) new pages")
        // Another commit allocates new pages; a round that did not finish left one of them torn.
        let last = try engine.beginWrite()
        for key in 400..<700 { try table.put(Int64(key), value, in: last) }
        try last.commit()
        let file = try fs.open("/db", create: false)
        let pageSize = UInt64(engine.pageFile.pageSize)
        try file.write([UInt8](repeating: 0xEE, count: 1000), at: (grown + 1) * pageSize + 512)
        try file.sync()
        fs.crash(seed: 3)
        let reopened = try StorageEngine(path: "/db", options: options)
        let reader = try reopened.beginRead()
        #expect(try table.get(0, in: reader) == [1])
        for key in 1..<700 { #expect(try table.get(Int64(key), in: reader) == value, "key \(key)") }
        #expect(try table.tree.verify(in: reader).entries == 700)
        reader.rollback()
        #expect(try reopened.verifyPageChecksums() > 0)
        try reopened.materializeNow()
        #expect(try reopened.verifyPageChecksums() == Int(reopened.cache.materializedPages) - 1)
        try reopened.close()
    }

    @Test func headerFallsBackToTheOtherSlotAndReportsBothDamaged() throws {
        let dir = TemporaryDirectory()
        var options = smallOptions()
        options.backgroundMaterializer = false
        do {
            let engine = try StorageEngine(path: dir.database, options: options)
            let txn = try engine.beginWrite()
            let table = try TableTree.create(in: txn)
            try txn.setRoot(slot: 1, to: table.root)
            try table.put(7, [7], in: txn)
            try txn.commit()
            try engine.materializeNow()
            try engine.close()
        }
        let fs = PosixFileSystem()
        let file = try fs.open(dir.database, create: false)
        let header = try PageFile.readHeader(file)
        // Damage the newest slot: the older one must be used, and the log still has the data.
        let newest = FileHeader.slotOffsets[Int(header.sequence % 2)]
        try file.write([0xFF, 0xFF, 0xFF], at: UInt64(newest + 40))
        #expect(try PageFile.readHeader(file).sequence == header.sequence - 1)
        file.close()
        do {
            let engine = try StorageEngine(path: dir.database, options: options)
            let reader = try engine.beginRead()
            #expect(try TableTree(root: try reader.root(slot: 1)).get(7, in: reader) == [7])
            reader.rollback()
            try engine.close()
        }
        // Both slots damaged: a clear corruption error, never a crash.
        let again = try fs.open(dir.database, create: false)
        for offset in FileHeader.slotOffsets { try again.write([0, 0, 0, 0, 0, 0, 0, 0], at: UInt64(offset)) }
        again.close()
        do {
            _ = try StorageEngine(path: dir.database, options: options)
            Issue.record("opening a file with no valid header succeeded")
        } catch let error as DatabaseError {
            #expect(error.code == .corrupt)
        }
    }

    @Test func logFolderStaysBoundedUnderALongLivedReader() throws {
        let dir = TemporaryDirectory()
        var options = StorageOptions()
        options.segmentCapacity = 128 << 10
        options.materializeThresholdBytes = 64 << 10
        options.materializeIntervalMilliseconds = 10
        options.logSoftCapBytes = 512 << 10
        options.logHardCapBytes = 2 << 20
        let result = try LoadHarness.longReaderSoak(directory: dir.path + "/soak", commits: 4000, options: options)
        #expect(result.readerSawItsSnapshot)
        #expect(result.logBytesWritten > 3 * UInt64(options.logHardCapBytes) / 4)
        #expect(result.peakLogFolderBytes < UInt64(options.logHardCapBytes), "\(result)")
        #expect(result.peakPinnedVersions > 0)
    }

    @Test func recoveryScansOnlyTheUnmaterializedTail() throws {
        let dir = TemporaryDirectory()
        var options = smallOptions()
        options.materializeThresholdBytes = 64 << 10
        options.materializeIntervalMilliseconds = 10
        let engine = try StorageEngine(path: dir.database, options: options)
        let setup = try engine.beginWrite()
        let table = try TableTree.create(in: setup)
        try setup.setRoot(slot: 1, to: table.root)
        try setup.commit()
        for i in 0..<3000 {
            let txn = try engine.beginWrite()
            try table.put(Int64(i % 500), [UInt8](repeating: UInt8(i & 0xff), count: 200), in: txn)
            try txn.commit()
        }
        let written = engine.metrics.logBytesWritten
        // A second engine on the same files, once the first stops as a killed process would,
        // sees what a restart after a crash would.
        engine.abandonForTesting()
        var second = options
        second.backgroundMaterializer = false
        let reopened = try StorageEngine(path: dir.database, options: second)
        #expect(reopened.recoveredTailBytes < UInt64(options.logSoftCapBytes), "recovered \(reopened.recoveredTailBytes) of \(written)")
        #expect(written > 4 * reopened.recoveredTailBytes)
        let reader = try reopened.beginRead()
        #expect(try table.get(2999 % 500, in: reader) == [UInt8](repeating: UInt8(2999 & 0xff), count: 200))
        reader.rollback()
        try reopened.close()
        try engine.close()
    }

    @Test func pageDeltaRoundTripsRandomEdits() throws {
        var rng = SplitMix64(seed: 77)
        for _ in 0..<200 {
            let base = PageImage(size: 4096)
            for i in stride(from: 24, to: 4096, by: 1) where rng.next() % 3 == 0 { base.bytes[i] = UInt8(truncatingIfNeeded: rng.next()) }
            let edited = PageImage(copying: base)
            for _ in 0..<Int(rng.next() % 20) {
                let at = 24 + Int(rng.next() % 4000)
                for j in at..<min(4096, at + Int(rng.next() % 100)) { edited.bytes[j] = UInt8(truncatingIfNeeded: rng.next()) }
            }
            guard let payload = PageDelta.encode(page: 9, base: base, image: edited) else {
                #expect(memcmp(base.bytes.baseAddress!, edited.bytes.baseAddress!, 4096) == 0)
                continue
            }
            #expect(payload.count <= 4096 - 24 + 8)
            let rebuilt = PageImage(copying: base)
            try payload.withUnsafeBytes { try PageDelta.apply($0, to: rebuilt) }
            #expect(memcmp(rebuilt.bytes.baseAddress! + 24, edited.bytes.baseAddress! + 24, 4096 - 24) == 0)
            let named = try payload.withUnsafeBytes { try PageDelta.pageNumber(of: $0) }
            #expect(named == 9)
        }
        // A damaged payload is an error, not a crash.
        let page = PageImage(size: 4096)
        #expect(throws: DatabaseError.self) { try [UInt8]([9, 1, 1, 200, 200, 3, 1]).withUnsafeBytes { try PageDelta.apply($0, to: page) } }
    }
}
