// The shell's history commands (docs/backup.md): `.check` runs the full integrity check,
// `.backup FILE` writes an online backup of the open database, `.restore BACKUP NEWPATH`
// restores a backup into a new database, `.restore --to TIME NEWPATH` restores from the open
// database's continuous archive. Also the one-shot commands `borealis check DB` and
// `borealis check-backup FILE` (`Shell.standalone`), which exit 0 when sound and 1 when not.
// Long runs print a progress line on standard error when it is a terminal.

import Borealis
import Foundation

extension Shell {
    /// `.check`: the report, one line per problem; a damaged database counts as an error.
    func checkCommand() throws {
        let result = try primary.checkIntegrity()
        write(result.description)
        if !result.isSound {
            report("the integrity check found \(result.problems.count + result.omittedProblems) problems")
        }
    }

    /// `.backup FILE`
    func backupCommand(_ arguments: [String]) throws -> Bool {
        guard arguments.count == 1, let path = arguments.first else {
            report("usage: .backup FILE")
            return !bail
        }
        let start = Date()
        let manifest = try primary.backup(to: path, progress: Self.progressLine("backup"))
        Self.endProgressLine()
        let seconds = max(Date().timeIntervalSince(start), 1e-6)
        write("backup \(path): LSN \(manifest.lsn), \(manifest.pageCount) pages, \(Self.megabytes(manifest.uncompressedBytes)) MB in \(Self.megabytes(manifest.fileBytes)) MB, \(String(format: "%.1f", Double(manifest.uncompressedBytes) / 1e6 / seconds)) MB/s\n")
        return true
    }

    /// `.restore [--to TIME | --lsn N | --latest] [BACKUP] NEWPATH`: with a target, the open
    /// database's log is replayed from the backup's LSN to it (point-in-time restore); with a
    /// target and no BACKUP, from the newest suitable base image of its continuous archive.
    func restoreCommand(_ arguments: [String]) throws -> Bool {
        var rest = arguments[...]
        var target: RestoreTarget?
        while let flag = rest.first, flag.hasPrefix("--") {
            rest.removeFirst()
            switch flag {
            case "--latest": target = .latest
            case "--lsn":
                guard let text = rest.popFirst(), let lsn = UInt64(text) else { throw ShellError("--lsn needs an LSN (a whole number)") }
                target = .lsn(lsn)
            case "--to":
                guard let text = rest.popFirst(), let micros = Self.parseTime(text) else {
                    throw ShellError("--to needs a time 'YYYY-MM-DD HH:MM:SS[.ffffff]' (UTC)")
                }
                target = .time(microseconds: micros)
            default: throw ShellError("unknown option \(flag) of .restore")
            }
        }
        if let target, rest.count == 1, let destination = rest.first {
            // No backup named: the open database's continuous archive finds its base image.
            let result = try Database.restore(archiveOf: databasePath, to: destination, upTo: target, progress: Self.progressLine("restore"))
            Self.endProgressLine()
            write("restored the base image at LSN \(result.backup.lsn) and \(result.commitsReplayed) commits of \(databasePath)'s archive into \(destination): LSN \(result.lsn), committed \(BackupFile.timeText(result.commitMicros))\n")
            return true
        }
        guard rest.count == 2 else {
            report("usage: .restore [--to TIME | --lsn N | --latest] [BACKUP] NEWPATH")
            return !bail
        }
        let backup = rest[rest.startIndex], destination = rest[rest.startIndex + 1]
        if let target {
            let result = try Database.restore(backup: backup, to: destination, replayingLogOf: databasePath, upTo: target,
                                              progress: Self.progressLine("restore"))
            Self.endProgressLine()
            write("restored \(backup) (LSN \(result.backup.lsn)) and \(result.commitsReplayed) commits of \(databasePath)'s log into \(destination): LSN \(result.lsn), committed \(BackupFile.timeText(result.commitMicros))\n")
            return true
        }
        let manifest = try Database.restore(backup: backup, to: destination, progress: Self.progressLine("restore"))
        Self.endProgressLine()
        write("restored \(backup) (LSN \(manifest.lsn), \(manifest.pageCount) pages) into \(destination)\n")
        return true
    }

    /// `.archive [base]`: what the continuous archive holds (segments, base images, gaps, lag);
    /// with `base`, a base image taken now.
    func archiveCommand(_ arguments: [String]) throws -> Bool {
        guard arguments.isEmpty || arguments == ["base"] else {
            report("usage: .archive [base]")
            return !bail
        }
        guard let catalogue = primary.engine.archiveCatalogue else {
            throw ShellError("the continuous archive is off for \(databasePath) (it was opened with -noarchive, read-only without an archive, or the archive could not start: see .stats)")
        }
        if arguments == ["base"] {
            let base = try primary.engine.captureBaseImageNow()
            write("base image at LSN \(base.lsn), \(Self.megabytes(base.bytes)) MB, committed \(BackupFile.timeText(base.commitMicros))\n")
            return true
        }
        let metrics = primary.engine.metrics
        write("archive \(databasePath)-archive: catalogue \(catalogue.sequence), \(catalogue.segments.count) segments (\(Self.megabytes(catalogue.segmentBytes)) MB), \(catalogue.baseImages.count) base images, \(catalogue.gaps.count) gaps\n")
        for base in catalogue.baseImages {
            write("  base image LSN \(base.lsn), committed \(BackupFile.timeText(base.commitMicros)), \(Self.megabytes(base.bytes)) MB\n")
        }
        if let first = catalogue.segments.first, let last = catalogue.segments.last {
            write("  log LSN \(first.start) ..< \(last.end), commits to \(BackupFile.timeText(last.lastCommitMicros))\n")
        }
        for gap in catalogue.gaps { write("  gap LSN \(gap.from) ..< \(gap.to) (\(gap.reason == .storeFailed ? "store failed" : "segment missing"))\n") }
        write("  lag \(metrics.archiveLagBytes) bytes, \(String(format: "%.1f", metrics.archiveLagSeconds)) s\(metrics.archiveError.map { "; last error: \($0)" } ?? "")\n")
        return true
    }

    /// 'YYYY-MM-DD HH:MM:SS[.ffffff]' or 'YYYY-MM-DDTHH:MM:SS[.ffffff][Z]', UTC, as µs since 1970.
    static func parseTime(_ text: String) -> Int64? {
        var t = text.trimmingCharacters(in: .whitespaces)
        if t.hasSuffix("Z") { t.removeLast() }
        let parts = t.split(whereSeparator: { $0 == " " || $0 == "T" })
        guard parts.count == 2 else { return nil }
        let date = parts[0].split(separator: "-").compactMap { Int32($0) }
        let clock = parts[1].split(separator: ":")
        guard date.count == 3, clock.count == 3, let hour = Int32(clock[0]), let minute = Int32(clock[1]) else { return nil }
        let secondParts = clock[2].split(separator: ".", maxSplits: 1)
        guard let second = Int32(secondParts[0]) else { return nil }
        var micros: Int64 = 0
        if secondParts.count == 2 {
            let digits = String(secondParts[1].prefix(6))
            guard let value = Int64(digits), digits.allSatisfy(\.isNumber) else { return nil }
            micros = value * Int64(pow(10.0, Double(6 - digits.count)))
        }
        var parts_ = tm()
        parts_.tm_year = date[0] - 1900
        parts_.tm_mon = date[1] - 1
        parts_.tm_mday = date[2]
        parts_.tm_hour = hour
        parts_.tm_min = minute
        parts_.tm_sec = second
        let seconds = timegm(&parts_)
        guard seconds != -1 || (date[0] == 1969) else { return nil }
        return Int64(seconds) * 1_000_000 + micros
    }

    static func megabytes(_ bytes: UInt64) -> String { String(format: "%.1f", Double(bytes) / 1e6) }

    /// A progress closure printing "backup: 42%" over itself on a terminal's standard error.
    static func progressLine(_ what: String) -> ((BackupProgress) -> Bool)? {
        guard isatty(2) != 0 else { return nil }
        var shown = -1
        return { progress in
            let percent = progress.pageCount == 0 ? 100 : Int(progress.pagesDone * 100 / progress.pageCount)
            if percent != shown {
                shown = percent
                FileHandle.standardError.write(Data("\r\(what): \(percent)%".utf8))
            }
            return true
        }
    }

    static func endProgressLine() {
        if isatty(2) != 0 { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }

    /// `borealis check DB` and `borealis check-backup FILE`: the exit status, or nil when
    /// `arguments` is not one of them (then they are a database and SQL). A file named
    /// "check" or "check-backup" in the current folder keeps its old meaning.
    static func standalone(_ arguments: [String]) -> Int32? {
        guard arguments.count == 2, arguments[0] == "check" || arguments[0] == "check-backup",
              !FileManager.default.fileExists(atPath: arguments[0]) else { return nil }
        let path = arguments[1]
        func failure(_ error: Error) -> Int32 {
            let text = (error as? DatabaseError).map { "\($0.message) (SQLSTATE \($0.sqlState))" } ?? "\(error)"
            FileHandle.standardError.write(Data("Error: \(text)\n".utf8))
            return 1
        }
        if arguments[0] == "check-backup" {
            do {
                let manifest = try Database.verifyBackup(at: path, progress: progressLine("check-backup"))
                endProgressLine()
                let taken = Date(timeIntervalSince1970: Double(manifest.takenAtMicros) / 1e6)
                print("backup \(path): ok (LSN \(manifest.lsn), \(manifest.pageCount) pages of \(manifest.pageSize) bytes, database id \(String(manifest.databaseID, radix: 16)), taken \(taken))")
                return 0
            } catch {
                endProgressLine()
                return failure(error)
            }
        }
        guard FileManager.default.fileExists(atPath: path) else {
            return failure(DatabaseError(.cantOpen, sqlState: SQLState.undefinedFile, "database \(path) does not exist"))
        }
        do {
            let db = try Database(path: path, readOnly: true)
            defer { try? db.close() }
            let report = try db.checkIntegrity()
            print(report.description, terminator: "")
            return report.isSound ? 0 : 1
        } catch {
            return failure(error)
        }
    }
}
