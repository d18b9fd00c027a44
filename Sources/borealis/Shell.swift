// The borealis shell's core: runs input — SQL statements and dot-commands — from arguments,
// scripts (standard input, `.read FILE`) or the interactive prompt, and prints results in the
// chosen mode. Aspects live beside it: Shell+Commands (dot-commands), Shell+Import (.import),
// Shell+Dump (.dump, .schema), Shell+Interactive (the prompt, history, Ctrl-C).
//
// Input runs a line at a time: a line starting with "." while no statement is pending is a
// dot-command; otherwise lines feed a StatementSplitter and each statement runs as soon as its
// `;` arrives (so a script streamed on a pipe runs as it comes). Errors in a script name the
// script and the statement's first line (`file.sql:12: ERROR: …`); elsewhere they print
// `Error: …`. Every error counts towards the exit status (1 when any failed); with bail on,
// the input stops at the first.

import Borealis
import Foundation

final class Shell {
    /// Where statements run: the opened database, or a replica of it after `.replica on`.
    var db: Database
    /// The connection the shell opened (kept while statements go to a replica).
    var primary: Database
    var replica: Database?
    /// What `.show` reports as the file name.
    var databasePath: String
    var formatter = OutputFormatter()
    var bail = false
    var echo = false
    var timer = false
    var showChanges = false
    var failures = 0
    var lastChanges = 0
    var totalChanges = 0
    var output: FileHandle = .standardOutput
    var outputFile: FileHandle?
    /// What `.show` reports as the output ("stdout" or a file name).
    var outputName = "stdout"
    /// Commands left before `.once` output returns to standard output (0: none pending).
    var onceCountdown = 0
    /// The script being run and the line of the statement or command running: nil at the
    /// prompt and for arguments.
    var location: (name: String, line: Int)?
    let interrupts: Interrupts

    init(db: Database, path: String, interrupts: Interrupts) {
        self.db = db
        self.primary = db
        self.databasePath = path
        self.interrupts = interrupts
    }

    func write(_ text: String) {
        if !text.isEmpty { output.write(Data(text.utf8)) }
    }

    /// Prints an error on standard error (with the script and line when in a script) and
    /// counts it for the exit status.
    func report(_ message: String) {
        failures += 1
        let prefix = location.map { "\($0.name):\($0.line): ERROR: " } ?? "Error: "
        FileHandle.standardError.write(Data((prefix + message + "\n").utf8))
    }

    func report(_ failure: Error) {
        if let failure = failure as? DatabaseError {
            report("\(failure.message) (SQLSTATE \(failure.sqlState))")
        } else {
            report("\(failure)")
        }
    }

    // MARK: Input

    /// Runs one argument or `-cmd` command: a dot-command, or SQL (any number of statements).
    /// Returns false when the shell should stop (.quit, or an error with bail on).
    @discardableResult
    func run(_ input: String) -> Bool {
        let trimmed = input.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix(".") { return command(trimmed) }
        var splitter = StatementSplitter()
        var statements: [StatementSplitter.Statement] = []
        for (n, line) in trimmed.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            statements += splitter.feed(String(line), lineNumber: n + 1)
        }
        if let last = splitter.finish() { statements.append(last) }
        for statement in statements where !execute(statement) { return false }
        return true
    }

    /// Runs a script read a line at a time from `nextLine` (nil at its end), naming it `name`
    /// in error messages. Returns false when it stopped early (.quit, bail, Ctrl-C).
    func runScript(name: String, nextLine: () -> String?) -> Bool {
        let outer = location
        defer { location = outer }
        let interruptsAtStart = interrupts.count
        var splitter = StatementSplitter()
        var lineNumber = 0
        func stopped() -> Bool {
            guard interrupts.count != interruptsAtStart else { return false }
            location = nil
            report("interrupted: stopped \(name) at line \(lineNumber)")
            return true
        }
        while let raw = nextLine() {
            lineNumber += 1
            let line = raw.hasSuffix("\r") ? String(raw.dropLast()) : raw
            if splitter.isEmpty && line.drop(while: { $0 == " " || $0 == "\t" }).hasPrefix(".") {
                location = (name, lineNumber)
                if !command(line.trimmingCharacters(in: .whitespaces)) { return false }
                if stopped() { return false }
                continue
            }
            for statement in splitter.feed(line, lineNumber: lineNumber) {
                location = (name, statement.line)
                if !execute(statement) { return false }
                if stopped() { return false }
            }
        }
        if let last = splitter.finish() {
            location = (name, last.line)
            return execute(last)
        }
        return true
    }

    /// Rows printed at a time in the modes that print in pieces.
    static let chunkRows = 512

    /// Runs one statement and prints its result. Returns false when the shell should stop.
    func execute(_ statement: StatementSplitter.Statement) -> Bool {
        if echo { write(statement.text + "\n") }
        defer { commandFinished() }
        var remaining = statement.text
        while true {
            let start = Date()
            do {
                let (prepared, tail) = try db.prepare(remaining)
                remaining = tail
                guard let prepared else { return true }
                let keyword = prepared.sql.prefix(while: { $0.isLetter }).lowercased()
                if keyword == "commit" || keyword == "end" {
                    guard try commit(prepared.sql) else { return !bail }
                } else {
                    // A SELECT's rows stream from the engine; the row-at-a-time modes whose
                    // pieces concatenate print them every `chunkRows` rows, so a big result
                    // never sits whole in memory (the aligned modes need every row's width).
                    var rows: [[Value]] = []
                    var chunk = formatter
                    var printed = false
                    try interrupts.running(db) {
                        while let row = try prepared.step() {
                            rows.append(row)
                            if rows.count >= Self.chunkRows && chunk.printsInPieces {
                                write(chunk.format(columns: prepared.columnNames, rows: rows))
                                chunk.headers = false
                                printed = true
                                rows.removeAll(keepingCapacity: true)
                            }
                        }
                    }
                    if !printed || !rows.isEmpty { write(chunk.format(columns: prepared.columnNames, rows: rows)) }
                    if ["insert", "update", "delete"].contains(keyword) || prepared.changes > 0 {
                        lastChanges = prepared.changes
                        totalChanges += prepared.changes
                    }
                }
                if showChanges { write("changes: \(lastChanges)   total_changes: \(totalChanges)\n") }
                if timer { write(String(format: "Run Time: %.3f s\n", Date().timeIntervalSince(start))) }
            } catch {
                report(error)
                return !bail
            }
        }
    }

    /// COMMIT (or END). When an earlier error had aborted the transaction, the engine rolls it
    /// back — reported by a notice, or by a 25P02 error once Database throws one — and the
    /// shell prints `ROLLBACK`, as psql does, then the error. Returns false in that case.
    private func commit(_ sql: String) throws -> Bool {
        do {
            let result = try db.execute(sql)
            guard let notice = result.notice else { return true }
            write("ROLLBACK\n")
            let message = notice.hasPrefix("ROLLBACK: ") ? String(notice.dropFirst("ROLLBACK: ".count)) : notice
            report(DatabaseError(.error, sqlState: SQLState.inFailedSQLTransaction, message))
            return false
        } catch let failure as DatabaseError where failure.sqlState == SQLState.inFailedSQLTransaction {
            write("ROLLBACK\n")
            report(failure)
            return false
        }
    }

    /// Called after every statement and dot-command: ends `.once` output after one command.
    func commandFinished() {
        guard onceCountdown > 0 else { return }
        onceCountdown -= 1
        if onceCountdown == 0 { redirectOutput(to: nil) }
    }

    /// Sends output to `path` (created or truncated), or back to standard output for nil.
    func redirectOutput(to path: String?) {
        outputFile?.closeFile()
        outputFile = nil
        output = .standardOutput
        outputName = "stdout"
        onceCountdown = 0
        guard let path else { return }
        guard FileManager.default.createFile(atPath: path, contents: nil),
              let file = FileHandle(forWritingAtPath: path) else {
            report("cannot write \(path)")
            return
        }
        outputFile = file
        output = file
        outputName = path
    }

    /// Closes the connections (at exit, or before `.open`).
    func closeDatabases() {
        try? replica?.close()
        replica = nil
        try? primary.close()
    }
}
