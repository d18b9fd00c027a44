// `borealis-stress crash --backups 1`: while the child commits, a second thread of it takes
// online backups one after another into D/backups/b-N.bbk and restores every other one into
// D/backups/r-N.db, so that the SIGKILL lands in the middle of backups and restores too. After
// each kill the parent checks (docs/backup.md §2, §3): every file named b-N.bbk verifies and
// restores to exactly the workload's state at the transaction its marker names; every r-N.db
// opens and holds exactly that state too. A partial backup or restore must never be under
// those names. Then it clears the folder for the next cycle.

import Borealis
import Foundation

public enum BackupCrash {
    static func folder(_ directory: String) -> String { directory + "/backups" }

    /// The child's backup thread (runs until the process is killed).
    public static func startLoop(engine: StorageEngine, directory: String) throws {
        let folder = folder(directory)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let thread = Thread {
            var n = 0
            while true {
                let backup = folder + "/b-\(n).bbk"
                do {
                    _ = try engine.backup(to: backup)
                    if n % 2 == 0 { try BackupFile.restore(from: backup, to: folder + "/r-\(n).db") }
                } catch {
                    FileHandle.standardError.write(Data("backup loop: \(error)\n".utf8))
                    exit(4)
                }
                n += 1
            }
        }
        thread.start()
    }

    /// The parent's check after a kill: the number of backups and restored databases checked,
    /// of partial ones left by the kill (`.partial`, `.restoring`: the kill landed inside a
    /// backup or restore), and what failed. Clears the folder.
    public static func verify(directory: String, seed: UInt64, options: StorageOptions) -> (checked: Int, partial: Int, failures: [String]) {
        let folder = folder(directory)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
        var checked = 0
        var failures: [String] = []
        for name in names where name.hasPrefix("b-") && name.hasSuffix(".bbk") {
            let path = folder + "/" + name
            do {
                try BackupFile.verify(at: path)
                let restored = folder + "/check-" + name + ".db"
                try BackupFile.restore(from: path, to: restored)
                if let problem = compare(restored, seed: seed, options: options) { failures.append("\(name): \(problem)") }
                checked += 1
            } catch {
                failures.append("\(name) is named as a backup but is not one: \(error)")
            }
        }
        for name in names where name.hasPrefix("r-") && name.hasSuffix(".db") {
            if let problem = compare(folder + "/" + name, seed: seed, options: options) { failures.append("\(name): \(problem)") }
            checked += 1
        }
        let partial = names.filter { $0.hasSuffix(".partial") || $0.hasSuffix(".restoring") }.count
        return (checked, partial, failures)
    }

    /// Opens the database at `path` and compares it with the workload's state at the
    /// transaction its marker names; nil when equal.
    static func compare(_ path: String, seed: UInt64, options: StorageOptions) -> String? {
        do {
            let engine = try StorageEngine(path: path, options: options)
            defer { try? engine.close() }
            let reader = try engine.beginRead()
            let root = try reader.root(slot: StressWorkload.firstRootSlot)
            let marker = try root == 0 ? nil : BTree(root: root).get(StressWorkload.markerKey, in: reader)
            reader.rollback()
            let last = marker.map { $0.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) } } ?? 0
            var model = StressModel()
            if last > 0 { for id in 1...last { model.apply(StressWorkload.transaction(seed: seed, id: id)) } }
            let verdict = StressVerifier.verify(engine: engine, seed: seed, acknowledged: last, model: &model)
            if verdict.lost || verdict.corrupt { return verdict.detail }
            return nil
        } catch {
            return "does not open: \(error)"
        }
    }
}
