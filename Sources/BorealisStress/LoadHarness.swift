// Measurements under load, for closing notes and tests (the benchmark executable compares with
// SQLite; these only observe Borealis itself):
// - `durableCommits`: N threads each committing single-row transactions at synchronous FULL;
//   reports commits per second and commits per fdatasync (group commit at work).
// - `longReaderSoak`: a sustained write load while one reader holds a snapshot for the whole
//   run; reports the log folder's peak size against its hard cap, and checks that the reader
//   still sees exactly its snapshot at the end.

import Borealis
import Foundation

public enum LoadHarness {
    public struct CommitResult: Sendable, CustomStringConvertible {
        public var threads: Int
        public var commits: UInt64
        public var seconds: Double
        public var fdatasyncs: UInt64

        public var commitsPerSecond: Double { Double(commits) / seconds }
        public var commitsPerSync: Double { Double(commits) / Double(max(1, fdatasyncs)) }
        public var description: String {
            String(format: "threads=%d commits=%llu seconds=%.3f commits/s=%.0f fdatasyncs=%llu commits/fdatasync=%.2f",
                   threads, commits, seconds, commitsPerSecond, fdatasyncs, commitsPerSync)
        }
    }

    public static func durableCommits(directory: String, threads: Int, perThread: Int) throws -> CommitResult {
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let engine = try StorageEngine(path: directory + "/db")
        let setup = try engine.beginWrite()
        let table = try TableTree.create(in: setup)
        try setup.commit()
        let before = engine.metrics
        let start = Date()
        let group = DispatchGroup()
        let failures = Failures()
        for t in 0..<threads {
            group.enter()
            Thread {
                defer { group.leave() }
                let value = [UInt8](repeating: UInt8(t), count: 100)
                for i in 0..<perThread {
                    do {
                        let txn = try engine.beginWrite()
                        try table.put(Int64(t * 1_000_000 + i), value, in: txn)
                        try txn.commit()
                    } catch {
                        failures.record("\(error)")
                        return
                    }
                }
            }.start()
        }
        group.wait()
        let seconds = Date().timeIntervalSince(start)
        if let failure = failures.first { throw DatabaseError(.error, sqlState: SQLState.internalError, failure) }
        let after = engine.metrics
        try engine.close()
        return CommitResult(threads: threads, commits: after.commits - before.commits, seconds: seconds,
                            fdatasyncs: after.fdatasyncCount - before.fdatasyncCount)
    }

    public struct SoakResult: Sendable, CustomStringConvertible {
        public var commits: Int
        public var logBytesWritten: UInt64
        public var peakLogFolderBytes: UInt64
        public var hardCapBytes: UInt64
        public var peakPinnedVersions: Int
        public var readerSawItsSnapshot: Bool
        public var description: String {
            "commits=\(commits) log-written=\(logBytesWritten) peak-log-folder=\(peakLogFolderBytes) hard-cap=\(hardCapBytes) peak-pinned=\(peakPinnedVersions) reader-consistent=\(readerSawItsSnapshot)"
        }
    }

    public static func longReaderSoak(directory: String, commits: Int, options: StorageOptions) throws -> SoakResult {
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/db"
        let engine = try StorageEngine(path: path, options: options)
        let setup = try engine.beginWrite()
        let table = try TableTree.create(in: setup)
        for row in 0..<2000 { try table.put(Int64(row), Array("v0-\(row)".utf8) + [UInt8](repeating: 0, count: 80), in: setup) }
        try setup.commit()
        // The long reader: its snapshot must stay intact through the whole run.
        let reader = try engine.beginRead()
        var peakFolder: UInt64 = 0
        var peakPinned = 0
        var rng = SplitMix64(seed: 42)
        for i in 0..<commits {
            let txn = try engine.beginWrite()
            for _ in 0..<4 {
                let row = Int64(rng.next() % 2000)
                try table.put(row, Array("v\(i + 1)-\(row)".utf8) + [UInt8](repeating: 1, count: 80), in: txn)
            }
            try txn.commit()
            if i % 50 == 0 {
                peakFolder = max(peakFolder, folderBytes(path + "-log"))
                peakPinned = max(peakPinned, engine.metrics.pinnedVersions)
            }
        }
        var consistent = true
        for row in stride(from: 0, to: 2000, by: 7) {
            let value = try table.get(Int64(row), in: reader) ?? []
            if !value.starts(with: Array("v0-\(row)".utf8)) { consistent = false }
        }
        reader.rollback()
        let written = engine.metrics.logBytesWritten
        try engine.close()
        return SoakResult(commits: commits, logBytesWritten: written, peakLogFolderBytes: peakFolder,
                          hardCapBytes: UInt64(options.logHardCapBytes), peakPinnedVersions: peakPinned,
                          readerSawItsSnapshot: consistent)
    }

    /// Bytes of the log folder (archive excluded).
    public static func folderBytes(_ path: String) -> UInt64 {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        var total: UInt64 = 0
        for name in names {
            let attributes = try? FileManager.default.attributesOfItem(atPath: path + "/" + name)
            if (attributes?[.type] as? FileAttributeType) == .typeRegular {
                total += (attributes?[.size] as? UInt64) ?? 0
            }
        }
        return total
    }
}

final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var messages: [String] = []
    func record(_ message: String) { lock.lock(); messages.append(message); lock.unlock() }
    var first: String? { lock.lock(); defer { lock.unlock() }; return messages.first }
}
