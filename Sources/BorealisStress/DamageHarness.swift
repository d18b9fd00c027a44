// `borealis-stress damage`: damaged copies of a real database (issue 19). A base database is
// built on disk — one-row commits of random sizes across several log segments, a
// materializer round part way, then a clean close or an abandon as a killed process leaves
// it — and each copy gets one to three random damages: a zeroed 4 KiB block, flipped bytes, a
// truncated file, a deleted file, or two log segments swapped. Each copy is then opened: the
// open must either fail with a `DatabaseError`, or return every acknowledged row unchanged
// (or fail reading it with a `DatabaseError`). A trap ends the process: with `--verbose` the
// last line printed names the copy and its damage. After an abandon, what a damage inside the
// last flush does is what a torn write does (docs/robustness.md): the last commit's row is not
// counted, and a row of a commit within the last 4 KiB of the log, lost while the log was
// damaged there (one zeroed block can wipe the last flush, whose mark was the evidence, with
// the commits before it), is counted apart as `tail`, not as lost — and so is a row in the
// last 4 KiB before the newest segment when that segment was deleted (the zeroed block then
// held the seal naming it). Each further damaged block of the log widens that window by 4 KiB.

import Borealis
import BorealisStorage
import Foundation

public struct DamageReport: Sendable {
    public var copies = 0
    /// Opened with every acknowledged row.
    public var intact = 0
    /// Refused to open, or reported the damage when a row was read.
    public var refused = 0
    /// Opened without an acknowledged row, or returned a wrong one: the bug this loop hunts.
    public var lost = 0
    /// Opened without a row whose commit lay in the last 4 KiB of a killed database's log,
    /// damaged there: undetectable by design.
    public var tail = 0
    public var failures: [String] = []

    public var summary: String { "damaged-copies=\(copies) intact=\(intact) refused=\(refused) tail=\(tail) lost=\(lost)" }
}

public enum DamageHarness {
    package static func options() -> StorageOptions {
        var options = StorageOptions()
        options.segmentCapacity = 64 << 10
        options.backgroundMaterializer = false
        options.cacheBytes = 1 << 20
        options.busyTimeoutMilliseconds = 100
        return options
    }

    package struct Base {
        var rows: [(Int64, [UInt8])]
        /// The commit LSN of each row.
        var lsns: [UInt64]
        package var clean: Bool
        /// The end of the log's last commit.
        var end: UInt64
        /// The newest segment's start.
        var newest: UInt64
    }

    /// Builds the base database at `path`; returns the rows that must survive.
    package static func buildBase(at path: String, rng: inout SplitMix64) throws -> Base {
        let engine = try StorageEngine(path: path, options: options())
        let setup = try engine.beginWrite()
        let table = try TableTree.create(in: setup)
        try setup.setRoot(slot: 1, to: table.root)
        try setup.commit()
        let commits = 60 + Int(rng.next() % 120)
        let materializeAt = Int(rng.next() % UInt64(commits))
        var rows: [(Int64, [UInt8])] = []
        var lsns: [UInt64] = []
        for key in 0..<commits {
            let value = [UInt8](repeating: UInt8(truncatingIfNeeded: rng.next() | 1), count: 10 + Int(rng.next() % 2500))
            let txn = try engine.beginWrite()
            try table.put(Int64(key), value, in: txn)
            lsns.append(try txn.commit())
            rows.append((Int64(key), value))
            if key == materializeAt { try engine.materializeNow() }
        }
        let clean = rng.next() % 2 == 0
        let end = lsns.last ?? 0
        if clean {
            try engine.close()
        } else {
            engine.abandonForTesting()
            rows.removeLast() // its flush is the last: damage there looks like a torn write
            lsns.removeLast()
        }
        let starts = ((try? FileManager.default.contentsOfDirectory(atPath: path + "-log")) ?? []).compactMap { name -> UInt64? in
            name.hasSuffix(".log") && !name.hasPrefix("recycle") ? UInt64(name.dropLast(4), radix: 16) : nil
        }
        return Base(rows: rows, lsns: lsns, clean: clean, end: end, newest: starts.max() ?? 0)
    }

    /// Runs `copies` damaged copies under `directory`.
    public static func run(directory: String, copies: Int, seed: UInt64, log: (String) -> Void = { _ in }) -> DamageReport {
        var report = DamageReport()
        var rng = SplitMix64(seed: seed)
        let fm = FileManager.default
        let basePath = directory + "/base/db"
        let copyDirectory = directory + "/copy"
        var base: Base?
        for copy in 0..<copies {
            do {
                if base == nil || copy % 20 == 0 {
                    try? fm.removeItem(atPath: directory + "/base")
                    try fm.createDirectory(atPath: directory + "/base", withIntermediateDirectories: true)
                    base = try buildBase(at: basePath, rng: &rng)
                }
                guard let base else { continue }
                try? fm.removeItem(atPath: copyDirectory)
                try fm.copyItem(atPath: directory + "/base", toPath: copyDirectory)
                let path = copyDirectory + "/db"
                var damages: [String] = []
                for _ in 0...(rng.next() % 3) { damages.append(try damage(path, rng: &rng)) }
                let what = "copy \(copy) (\(base.clean ? "closed" : "killed")): \(damages.joined(separator: "; "))"
                log(what)
                report.copies += 1
                switch judge(path, base: base, damages: damages) {
                case .intact: report.intact += 1
                case .refused(let error): report.refused += 1; log("  refused: \(error)")
                case .tail(let message): report.tail += 1; log("  tail: \(message)")
                case .lost(let message): report.lost += 1; report.failures.append("\(what): \(message)")
                }
            } catch {
                report.failures.append("copy \(copy): the loop failed: \(error)")
            }
        }
        return report
    }

    enum Outcome { case intact, refused(String), lost(row: Int?, String) }

    package enum Verdict: Equatable { case intact, refused(String), tail(String), lost(String) }

    /// Opens the damaged copy at `path` of `base` and judges it: a row missing after `damages`
    /// (as `damage` describes them) is `tail` when it is the kind of loss a torn last write
    /// looks like (the header of this file), `lost` otherwise.
    package static func judge(_ path: String, base: Base, damages: [String]) -> Verdict {
        switch check(path, rows: base.rows) {
        case .intact: return .intact
        case .refused(let error): return .refused(error)
        case .lost(let row, let message):
            let newestName = String(base.newest, radix: 16)
            // A truncated newest segment is taken for one whose creation a crash interrupted
            // (segments are preallocated), deleted like a missing one when no seal names it.
            let newestFile = "db-log/" + String(repeating: "0", count: 16 - newestName.count) + newestName + ".log"
            let deletedNewest = damages.contains { $0 == "deleted " + newestFile || $0.hasPrefix("truncated " + newestFile + " ") }
            // Each damage that can wipe a block of the log's end (a zeroed block, a flipped
            // byte) widens the window by a block: two zeroed blocks at the end of the segment
            // before a deleted newest one leave no trace of the commits in them (fuzz-file).
            let blocks = UInt64(max(1, damages.filter { $0.contains("db-log/") && ($0.hasPrefix("zeroed") || $0.hasPrefix("flipped")) }.count))
            if !base.clean, let row, damages.contains(where: { $0.contains("db-log/") }),
               base.lsns[row] + 4096 * blocks > base.end || (deletedNewest && base.lsns[row] + 4096 * blocks + 18 > base.newest) {
                return .tail(message)
            }
            return .lost(message)
        }
    }

    static func check(_ path: String, rows: [(Int64, [UInt8])]) -> Outcome {
        let engine: StorageEngine
        do {
            engine = try StorageEngine(path: path, options: options())
        } catch let error as DatabaseError {
            return .refused(error.description)
        } catch {
            return .lost(row: nil, "open threw a non-DatabaseError: \(error)")
        }
        defer { try? engine.close() }
        do {
            let reader = try engine.beginRead()
            defer { reader.rollback() }
            let table = TableTree(root: try reader.root(slot: 1))
            for (i, (key, value)) in rows.enumerated() {
                guard let stored = try table.get(key, in: reader) else { return .lost(row: i, "opened without acknowledged row \(key)") }
                guard stored == value else { return .lost(row: nil, "row \(key) reads back different bytes") }
            }
            return .intact
        } catch let error as DatabaseError {
            return .refused("reading: \(error.description)")
        } catch {
            return .lost(row: nil, "a read threw a non-DatabaseError: \(error)")
        }
    }

    /// Applies one random damage to the database at `path`; returns what it did.
    package static func damage(_ path: String, rng: inout some RandomNumberGenerator) throws -> String {
        let fm = FileManager.default
        let logDirectory = path + "-log"
        let segments = ((try? fm.contentsOfDirectory(atPath: logDirectory)) ?? []).filter { $0.hasSuffix(".log") && !$0.hasPrefix("recycle") }.sorted()
        var files = [path, path + "-dwb"] + segments.map { logDirectory + "/" + $0 }
        files = files.filter { fm.fileExists(atPath: $0) }
        guard let file = files.isEmpty ? nil : files[Int(rng.next() % UInt64(files.count))] else { return "nothing left to damage" }
        let name = String(file.dropFirst(path.count - 2))
        let size = UInt64((try? fm.attributesOfItem(atPath: file)[.size] as? UInt64) ?? 0)
        switch rng.next() % 10 {
        case 0, 1, 2:
            guard size >= 4096 else { return "zero nothing (\(name) is empty)" }
            let block = rng.next() % (size / 4096)
            try write([UInt8](repeating: 0, count: 4096), to: file, at: block * 4096)
            return "zeroed block \(block) of \(name)"
        case 3, 4, 5:
            guard size > 0 else { return "flip nothing (\(name) is empty)" }
            // Most of a segment is preallocated zeros: aim at its first quarter half of the time.
            let span = rng.next() % 2 == 0 ? max(1, size / 4) : size
            let offset = rng.next() % span
            let handle = try FileHandle(forUpdating: URL(fileURLWithPath: file))
            defer { try? handle.close() }
            try handle.seek(toOffset: offset)
            let old = try handle.read(upToCount: 1)?.first ?? 0
            try handle.seek(toOffset: offset)
            try handle.write(contentsOf: Data([old ^ UInt8(truncatingIfNeeded: rng.next() | 1)]))
            return "flipped byte \(offset) of \(name)"
        case 6:
            let length = size == 0 ? 0 : rng.next() % size
            let handle = try FileHandle(forUpdating: URL(fileURLWithPath: file))
            defer { try? handle.close() }
            try handle.truncate(atOffset: length)
            return "truncated \(name) to \(length) bytes"
        case 7:
            try fm.removeItem(atPath: file)
            return "deleted \(name)"
        default:
            guard segments.count >= 2 else { return "swap nothing (one segment)" }
            let a = Int(rng.next() % UInt64(segments.count))
            let b = (a + 1 + Int(rng.next() % UInt64(segments.count - 1))) % segments.count
            let pa = logDirectory + "/" + segments[a], pb = logDirectory + "/" + segments[b]
            try fm.moveItem(atPath: pa, toPath: pa + ".swap")
            try fm.moveItem(atPath: pb, toPath: pa)
            try fm.moveItem(atPath: pa + ".swap", toPath: pb)
            return "swapped \(segments[a]) and \(segments[b])"
        }
    }

    static func write(_ bytes: [UInt8], to file: String, at offset: UInt64) throws {
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: file))
        defer { try? handle.close() }
        try handle.seek(toOffset: offset)
        try handle.write(contentsOf: Data(bytes))
    }
}
