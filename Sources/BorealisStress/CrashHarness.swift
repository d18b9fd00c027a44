// `borealis-stress crash`: real processes, really killed. Each cycle starts a child that opens
// the database and commits workload transactions, printing each id once its commit returned;
// the parent kills it with SIGKILL at a random moment (the child materializes often, so many
// kills land mid-materialization), reopens the database and verifies it against the model.
// With `racers` > 1, that many children race to open the database each cycle (the first cycle
// races to create it): exactly one may win; the others must be refused at once with BUSY
// (exit status 75) without touching the files.

import Borealis
import Foundation

public struct CrashReport: Sendable {
    public var cycles = 0
    public var commits = 0
    public var lost = 0
    public var corrupt = 0
    public var failures: [String] = []
    /// Backups and restored databases checked after the kills (`--backups 1`).
    public var backupsChecked = 0
    /// Restores from the continuous archive compared with the workload (`--archive 1`).
    public var archiveRestoresChecked = 0
    /// Partial backups and restores the kills left (never under a complete one's name).
    public var partialBackupsSeen = 0

    public var summary: String {
        "crash-cycles=\(cycles) commits=\(commits) lost=\(lost) corrupt=\(corrupt)" + (backupsChecked > 0 ? " backups-checked=\(backupsChecked) partial-seen=\(partialBackupsSeen)" : "")
            + (archiveRestoresChecked > 0 ? " archive-restores-checked=\(archiveRestoresChecked)" : "")
    }
}

public enum CrashHarness {
    /// Options of the child: small segments and thresholds, so that segment switches, recycling
    /// and materialization all happen within a short run.
    public static func childOptions() -> StorageOptions {
        var options = StorageOptions()
        options.segmentCapacity = 256 << 10
        options.materializeThresholdBytes = 64 << 10
        options.materializeIntervalMilliseconds = 20
        options.cacheBytes = 2 << 20
        options.transactionMemoryBytes = 16 * options.pageSize
        options.commitStreamChunkBytes = 32 << 10
        options.logSoftCapBytes = 4 << 20
        options.logHardCapBytes = 64 << 20
        return options
    }

    /// The exit status of a racing child that found the database owned by another.
    public static let refusedStatus: Int32 = 75

    /// The child: commits transactions from `start` on until killed. A racing child gives up
    /// at once when another process owns the database.
    public static func runChild(directory: String, seed: UInt64, start: UInt64, racing: Bool = false, backups: Bool = false,
                                archive: Bool = false) throws -> Never {
        var options = childOptions()
        if racing { options.busyTimeoutMilliseconds = 0 }
        if archive { ArchiveCrash.configure(&options) }
        let engine: StorageEngine
        do {
            engine = try StorageEngine(path: directory + "/db", options: options)
        } catch let error as DatabaseError where racing && error.code == .busy {
            announce("refused\n")
            exit(refusedStatus)
        }
        let trees = try StressWorkload.trees(engine)
        if backups { try BackupCrash.startLoop(engine: engine, directory: directory) }
        announce("ready\n")
        var id = start
        while true {
            let transaction = StressWorkload.transaction(seed: seed, id: id)
            if try StressWorkload.run(transaction, on: engine, trees: trees) {
                announce("c \(id)\n")
            }
            id += 1
        }
    }

    private static func announce(_ line: String) {
        var bytes = Array(line.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(1, $0.baseAddress! + offset, $0.count - offset) }
            if n <= 0 { exit(3) }
            offset += n
        }
        bytes.removeAll()
    }

    /// The parent: `cycles` kill-and-verify cycles. `executable` is this program, run as
    /// `executable child --dir D --seed S --start N`.
    public static func run(directory: String, cycles: Int, seed: UInt64, executable: String, racers: Int = 1, backups: Bool = false,
                           archive: Bool = false, log: (String) -> Void = { _ in }) throws -> CrashReport {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var rng = SplitMix64(seed: seed)
        var report = CrashReport()
        var model = StressModel()
        var acknowledged: UInt64 = 0
        var next: UInt64 = 1
        for cycle in 0..<cycles {
            var children: [(process: Process, output: FileHandle)] = []
            for _ in 0..<max(1, racers) {
                let child = Process()
                child.executableURL = URL(fileURLWithPath: executable)
                child.arguments = ["child", "--dir", directory, "--seed", String(seed), "--start", String(next)]
                    + (racers > 1 ? ["--racing", "1"] : []) + (backups ? ["--backups", "1"] : []) + (archive ? ["--archive", "1"] : [])
                let output = Pipe()
                child.standardOutput = output
                child.standardError = FileHandle.standardError
                children.append((child, output.fileHandleForReading))
            }
            for child in children { try child.process.run() }
            // Wait for "ready" (the open, including recovery) or the refusal of each child
            // before the random delay starts.
            var buffers = [Data](repeating: Data(), count: children.count)
            for (i, child) in children.enumerated() {
                while !String(decoding: buffers[i], as: UTF8.self).contains("ready\n") {
                    let chunk = child.output.availableData
                    if chunk.isEmpty { break }
                    buffers[i].append(chunk)
                }
            }
            usleep(UInt32(5_000 + rng.next() % 300_000))
            for child in children { kill(child.process.processIdentifier, SIGKILL) }
            var winners: [[Substring]] = []
            for (i, child) in children.enumerated() {
                child.process.waitUntilExit()
                buffers[i].append(child.output.readDataToEndOfFile())
                let lines = String(decoding: buffers[i], as: UTF8.self).split(separator: "\n")
                if lines.first == "ready" {
                    winners.append(lines)
                } else if !(lines.first == "refused" && child.process.terminationStatus == refusedStatus) {
                    report.failures.append("cycle \(cycle): a child neither started nor was refused (status \(child.process.terminationStatus))")
                }
            }
            guard winners.count == 1, report.failures.isEmpty else {
                if winners.count > 1 { report.failures.append("cycle \(cycle): \(winners.count) processes opened the database at once") }
                if winners.isEmpty { report.failures.append("cycle \(cycle): no child opened the database") }
                report.corrupt += 1
                break
            }
            let lines = winners[0]
            for line in lines where line.hasPrefix("c ") {
                guard let id = UInt64(line.dropFirst(2)) else { continue }
                // Replay every transaction up to this acknowledged one into the model.
                while next <= id {
                    model.apply(StressWorkload.transaction(seed: seed, id: next))
                    next += 1
                }
                acknowledged = id
                report.commits += 1
            }
            var options = childOptions()
            options.backgroundMaterializer = false
            if archive { ArchiveCrash.configure(&options) }
            let verdict: StressVerdict
            do {
                let engine = try StorageEngine(path: directory + "/db", options: options)
                verdict = StressVerifier.verify(engine: engine, seed: seed, acknowledged: acknowledged, model: &model)
                try engine.close()
            } catch {
                report.corrupt += 1
                report.failures.append("cycle \(cycle): reopening failed: \(error)")
                break
            }
            if backups {
                let (checked, partial, failures) = BackupCrash.verify(directory: directory, seed: seed, options: options)
                report.backupsChecked += checked
                report.partialBackupsSeen += partial
                if !failures.isEmpty {
                    report.corrupt += 1
                    report.failures += failures.map { "cycle \(cycle): \($0)" }
                    break
                }
            }
            if archive {
                let (checked, failures) = ArchiveCrash.verify(directory: directory, seed: seed, options: options)
                report.archiveRestoresChecked += checked
                if !failures.isEmpty {
                    report.corrupt += 1
                    report.failures += failures.map { "cycle \(cycle): \($0)" }
                    break
                }
            }
            report.cycles += 1
            if verdict.lost { report.lost += 1 }
            if verdict.corrupt { report.corrupt += 1 }
            if verdict.lost || verdict.corrupt {
                report.failures.append("cycle \(cycle): \(verdict.detail)")
                break
            }
            if verdict.lastID > acknowledged {
                acknowledged = verdict.lastID
                report.commits += 1
            }
            next = max(next, acknowledged + 1)
            log("cycle \(cycle): \(lines.count - 1) commits acknowledged, database at \(verdict.lastID)")
        }
        return report
    }
}
