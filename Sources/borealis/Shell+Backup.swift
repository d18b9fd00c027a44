// The shell's history commands (docs/backup.md): `.check` runs the full integrity check,
// `.backup FILE` writes an online backup of the open database, `.restore BACKUP NEWPATH`
// restores a backup into a new database. Also the one-shot commands `borealis check DB` and
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

    /// `.restore BACKUP NEWPATH`
    func restoreCommand(_ arguments: [String]) throws -> Bool {
        guard arguments.count == 2 else {
            report("usage: .restore BACKUP NEWPATH")
            return !bail
        }
        let manifest = try Database.restore(backup: arguments[0], to: arguments[1], progress: Self.progressLine("restore"))
        Self.endProgressLine()
        write("restored \(arguments[0]) (LSN \(manifest.lsn), \(manifest.pageCount) pages) into \(arguments[1])\n")
        return true
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
