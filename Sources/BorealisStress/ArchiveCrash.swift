// `borealis-stress crash --archive 1`: the child keeps a continuous archive (docs/backup.md §4)
// with a base image every 512 KiB of log and a 2 MiB retention window, so the SIGKILL lands
// while segments are stored, base images taken, catalogues written and expired objects deleted.
// After each kill (and the parent's own reopen and close, which archives and takes a base image
// if none exists) the parent checks:
//
// - the newest valid catalogue exists, names this database, and lists a base image;
// - every segment it lists is in the store with its size and CRC32C; its newest base image
//   verifies as a backup;
// - a restore from the archive up to the latest commit (the live log beside it) equals the
//   workload's state at the transaction its marker names;
// - a restore from a copy of the archive alone (no live log) either equals the workload's state
//   at its marker, or is refused because the archive does not yet reach a base image's log
//   (58P01) — never a different database.

import Borealis
import BorealisStorage
import Foundation

public enum ArchiveCrash {
    /// The archive settings of the child and of the parent's reopen.
    public static func configure(_ options: inout StorageOptions) {
        options.continuousArchive = true
        options.archiveBaseImageLogBytes = 512 << 10
        options.archiveRetentionBytes = 2 << 20
    }

    /// The parent's check after a kill: restores made and compared, and what failed.
    public static func verify(directory: String, seed: UInt64, options: StorageOptions) -> (checked: Int, failures: [String]) {
        let source = directory + "/db"
        let scratch = directory + "/archive-check"
        try? FileManager.default.removeItem(atPath: scratch)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var failures: [String] = []
        var checked = 0
        do {
            try FileManager.default.createDirectory(atPath: scratch + "/alone", withIntermediateDirectories: true)
            let catalogue = try BackupFile.archiveCatalogue(of: source)
            let store = FolderArchiveStore(folder: source + "-archive")
            guard let newest = catalogue.baseImages.last else { return (0, ["the catalogue lists no base image"]) }
            for segment in catalogue.segments {
                let name = "seg/" + hex(segment.start) + ".zst"
                guard let bytes = try? store.get(name) else {
                    failures.append("catalogue \(catalogue.sequence) lists \(name), which is missing")
                    continue
                }
                if UInt64(bytes.count) != segment.bytes || crc32c(bytes) != segment.checksum {
                    failures.append("catalogue \(catalogue.sequence) lists \(name), which does not match its entry")
                }
            }
            let basePath = source + "-archive/base/" + hex(newest.lsn) + ".bbk"
            do { try BackupFile.verify(at: basePath) } catch { failures.append("newest base image \(basePath): \(error)") }

            let latest = scratch + "/latest.db"
            try BackupFile.restore(archiveOf: source, to: latest, upTo: .latest)
            if let problem = BackupCrash.compare(latest, seed: seed, options: plain(options)) { failures.append("restore of the latest commit: \(problem)") }
            checked += 1

            try FileManager.default.copyItem(atPath: source + "-archive", toPath: scratch + "/alone/db-archive")
            let alone = scratch + "/alone.db"
            do {
                try BackupFile.restore(archiveOf: scratch + "/alone/db", to: alone, upTo: .latest)
                if let problem = BackupCrash.compare(alone, seed: seed, options: plain(options)) { failures.append("restore from the archive alone: \(problem)") }
                checked += 1
            } catch let error as DatabaseError where error.sqlState == SQLState.undefinedFile {
                // The archived log does not reach a base image yet: refused, not wrong.
            }
        } catch {
            failures.append("archive check: \(error)")
        }
        return (checked, failures)
    }

    /// The options to open a restored copy with: no archive of its own.
    private static func plain(_ options: StorageOptions) -> StorageOptions {
        var copy = options
        copy.continuousArchive = false
        return copy
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
    }

    private static func crc32c(_ bytes: [UInt8]) -> UInt32 { CRC32C.checksum(bytes) }
}
