// The borealis shell: runs SQL and dot-commands from arguments, scripts or an interactive
// prompt (line editing and history through libedit), printing results in the chosen mode.

import Borealis
import CEdit
import Foundation

final class Shell {
    /// Where statements run: the opened database, or a replica of it after `.replica on`.
    var db: Database
    /// The connection the shell opened (kept while statements go to a replica).
    var primary: Database
    var replica: Database?
    var formatter = OutputFormatter()
    var bail = false
    var timer = false
    var failures = 0
    var output: FileHandle = .standardOutput
    var outputFile: FileHandle?

    init(db: Database) {
        self.db = db
        self.primary = db
    }

    func write(_ text: String) {
        output.write(Data(text.utf8))
    }

    func error(_ message: String) {
        failures += 1
        FileHandle.standardError.write(Data("Error: \(message)\n".utf8))
    }

    /// Runs one complete input: a dot-command or SQL (possibly several statements).
    /// Returns false when the shell should stop (.quit, or an error with -bail).
    @discardableResult
    func run(_ input: String) -> Bool {
        let trimmed = input.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { return true }
        if trimmed.hasPrefix(".") { return dotCommand(trimmed) }
        var remaining = trimmed
        while true {
            let start = Date()
            do {
                let (prepared, tail) = try db.prepare(remaining)
                remaining = tail
                guard let statement = prepared else { break }
                var rows: [[Value]] = []
                while let row = try statement.step() { rows.append(row) }
                write(formatter.format(columns: statement.columnNames, rows: rows))
                if timer { write(String(format: "Run Time: %.3f s\n", Date().timeIntervalSince(start))) }
            } catch let failure as DatabaseError {
                error("\(failure.message) (SQLSTATE \(failure.sqlState))")
                if bail { return false }
                break
            } catch {
                self.error("\(error)")
                if bail { return false }
                break
            }
        }
        return true
    }

    // MARK: Dot-commands

    static let help = """
    .dump [TABLE]          SQL text that re-creates the database (or one table)
    .headers on|off        show column names
    .help                  this list
    .import FILE TABLE     load CSV rows into TABLE (created from the header row when absent)
    .indexes [TABLE]       index names
    .mode MODE             table, csv, json, line or list
    .nullvalue TEXT        how NULL prints
    .output [FILE]         send results to FILE, or back to standard output
    .quit                  leave (also .exit)
    .read FILE             run the SQL and dot-commands of FILE
    .replica on|off|status|promote
                           run statements on a read replica of the database, back on the
                           writer, show the replica's lag, or promote it to writer
    .schema [TABLE]        CREATE statements
    .stats                 storage metrics (log, materializer, cache)
    .tables                table and view names
    .timer on|off          time each statement

    """

    private func replicaCommand(_ argument: String) throws -> Bool {
        switch argument.lowercased() {
        case "on":
            if replica == nil {
                let opened = try primary.openReplica()
                replica = opened
                db = opened
            }
            write("statements now run on a read replica (.replica off to return to the writer)\n")
        case "off":
            if let replica {
                try replica.close()
                self.replica = nil
                db = primary
            }
            write("statements now run on the writer\n")
        case "status":
            guard let replica, let lag = replica.replicaLag else {
                write("no replica (statements run on the writer)\n")
                return true
            }
            if let detached = replica.replicaDetachedError {
                write("replica detached: \(detached.message)\n")
            } else {
                write("replica lag: \(lag.bytes) bytes, \(String(format: "%.6f", lag.seconds)) s\n")
            }
        case "promote":
            guard let replica else { error("no replica to promote; .replica on first"); return !bail }
            try primary.close()
            try replica.promote()
            primary = replica
            self.replica = nil
            write("the replica is now the writer\n")
        default:
            error("usage: .replica on|off|status|promote")
            return !bail
        }
        return true
    }

    private func dotCommand(_ line: String) -> Bool {
        let words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        let argument = words.count > 1 ? words[1] : nil
        func on(_ word: String?) -> Bool? {
            switch word?.lowercased() {
            case "on", "yes", "1", "true": return true
            case "off", "no", "0", "false": return false
            default: return nil
            }
        }
        do {
            switch words[0] {
            case ".quit", ".exit": return false
            case ".help": write(Shell.help)
            case ".tables": write(try db.tableNames().joined(separator: "\n") + "\n")
            case ".indexes", ".indices": write(try db.indexNames(of: argument).joined(separator: "\n") + "\n")
            case ".schema": write(try db.schemaStatements(of: argument).joined(separator: "\n") + "\n")
            case ".mode":
                guard let name = argument, let mode = OutputMode(rawValue: name.lowercased()) else {
                    error("usage: .mode \(OutputMode.allCases.map(\.rawValue).joined(separator: "|"))")
                    return !bail
                }
                formatter.mode = mode
            case ".headers", ".header":
                guard let value = on(argument) else { error("usage: .headers on|off"); return !bail }
                formatter.headers = value
            case ".timer":
                guard let value = on(argument) else { error("usage: .timer on|off"); return !bail }
                timer = value
            case ".nullvalue": formatter.nullValue = argument ?? ""
            case ".stats": write("\(db.engine.metrics)\n")
            case ".output":
                outputFile?.closeFile()
                outputFile = nil
                output = .standardOutput
                if let path = argument {
                    guard FileManager.default.createFile(atPath: path, contents: nil),
                          let file = FileHandle(forWritingAtPath: path) else {
                        error("cannot write \(path)")
                        return !bail
                    }
                    outputFile = file
                    output = file
                }
            case ".read":
                guard let path = argument else { error("usage: .read FILE"); return !bail }
                let text = try String(contentsOfFile: path, encoding: .utf8)
                return runScript(text)
            case ".replica": return try replicaCommand(argument ?? "status")
            case ".dump": try dump(argument)
            case ".import":
                guard words.count == 3 else { error("usage: .import FILE TABLE"); return !bail }
                try importCSV(path: words[1], table: words[2])
            default:
                error("unknown command \(words[0]); try .help")
                return !bail
            }
        } catch let failure as DatabaseError {
            error("\(failure.message) (SQLSTATE \(failure.sqlState))")
            return !bail
        } catch {
            self.error("\(error)")
            return !bail
        }
        return true
    }

    private func dump(_ table: String?) throws {
        write("BEGIN;\n")
        for statement in try db.schemaStatements(of: table) { write(statement + "\n") }
        for name in try db.tableNames() where table == nil || name == table {
            guard try db.schemaStatements(of: name).first?.hasPrefix("CREATE TABLE") == true else { continue }
            let result = try db.execute("SELECT * FROM \"\(name.replacingOccurrences(of: "\"", with: "\"\""))\"")
            let columns = result.columns.map { "\"\($0)\"" }.joined(separator: ", ")
            for row in result.rows {
                write("INSERT INTO \"\(name)\" (\(columns)) VALUES (\(row.map(\.sqlLiteral).joined(separator: ", ")));\n")
            }
        }
        write("COMMIT;\n")
    }

    private func importCSV(path: String, table: String) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var records = CSV.parse(text)
        guard !records.isEmpty else { return }
        let exists = try db.tableNames().contains(table)
        if !exists {
            let header = records.removeFirst()
            let columns = header.map { "\"\($0.replacingOccurrences(of: "\"", with: "\"\""))\" TEXT" }.joined(separator: ", ")
            try db.execute("CREATE TABLE \"\(table)\" (\(columns))")
        }
        guard let width = records.first?.count, width > 0 else { return }
        let placeholders = (1...width).map { "$\($0)" }.joined(separator: ", ")
        let (prepared, _) = try db.prepare("INSERT INTO \"\(table)\" VALUES (\(placeholders))")
        guard let insert = prepared else { return }
        try db.execute("BEGIN")
        do {
            for (n, record) in records.enumerated() {
                guard record.count == width else {
                    throw DatabaseError(.error, sqlState: "22P04", "\(path): row \(n + 2) has \(record.count) fields, expected \(width)")
                }
                try insert.bind(record.map { Value.text($0) })
                _ = try insert.step()
                insert.reset()
                if (n + 1) % 100_000 == 0 {
                    FileHandle.standardError.write(Data("imported \(n + 1) of \(records.count) rows\r".utf8))
                }
            }
            try db.execute("COMMIT")
            if records.count >= 100_000 { FileHandle.standardError.write(Data("imported \(records.count) rows\n".utf8)) }
        } catch {
            _ = try? db.execute("ROLLBACK")
            throw error
        }
    }

    // MARK: Input

    /// Whether `text` ends a statement: a `;` outside quotes and comments (dot-commands end at
    /// the line end).
    static func isComplete(_ text: String) -> Bool {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix(".") { return true }
        var inQuote: Character?
        var inBlockComment = false
        var lastSignificant: Character?
        var chars = Array(trimmed)[...]
        while let c = chars.popFirst() {
            if inBlockComment {
                if c == "*" && chars.first == "/" { chars.removeFirst(); inBlockComment = false }
                continue
            }
            if let q = inQuote {
                if c == q { inQuote = nil }
                lastSignificant = c
                continue
            }
            switch c {
            case "'", "\"", "`": inQuote = c
            case "-" where chars.first == "-":
                while let n = chars.first, n != "\n" { chars.removeFirst() }
                continue
            case "/" where chars.first == "*":
                chars.removeFirst()
                inBlockComment = true
                continue
            default: break
            }
            if !c.isWhitespace { lastSignificant = c }
        }
        return inQuote == nil && !inBlockComment && lastSignificant == ";"
    }

    /// Runs a script (a file, or standard input): statements end with `;`, dot-commands with
    /// the line. Returns false when stopped early.
    func runScript(_ text: String) -> Bool {
        var buffer = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if buffer.isEmpty && line.trimmingCharacters(in: .whitespaces).hasPrefix(".") {
                if !run(String(line)) { return false }
                continue
            }
            buffer += line + "\n"
            if Shell.isComplete(buffer) {
                if !run(buffer) { return false }
                buffer = ""
            }
        }
        if !buffer.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return run(buffer) }
        return true
    }

    /// The interactive prompt, with line editing and history.
    func interactive() {
        let historyPath = (ProcessInfo.processInfo.environment["HOME"] ?? ".") + "/.borealis_history"
        _ = read_history(historyPath)
        write("Borealis \(borealisVersion). Enter \".help\" for usage hints; statements end with \";\".\n")
        var buffer = ""
        while true {
            guard let raw = readline(buffer.isEmpty ? "borealis> " : "     ...> ") else {
                write("\n")
                break
            }
            let line = String(cString: raw)
            free(raw)
            if buffer.isEmpty && line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            buffer += (buffer.isEmpty ? "" : "\n") + line
            guard Shell.isComplete(buffer) else { continue }
            add_history(buffer)
            let keepGoing = run(buffer)
            buffer = ""
            if !keepGoing && !bail { break }
            if !keepGoing { break }
        }
        _ = write_history(historyPath)
    }
}

/// RFC 4180 CSV: fields separated by commas, quoted with double quotes ("" inside quotes).
enum CSV {
    static func parse(_ text: String) -> [[String]] {
        var records: [[String]] = []
        var record: [String] = []
        var field = ""
        var quoted = false
        var chars = Array(text)[...]
        while let c = chars.popFirst() {
            if quoted {
                if c == "\"" {
                    if chars.first == "\"" { field.append("\""); chars.removeFirst() } else { quoted = false }
                } else {
                    field.append(c)
                }
                continue
            }
            switch c {
            case "\"": quoted = true
            case ",": record.append(field); field = ""
            case "\n", "\r\n", "\r":
                record.append(field)
                field = ""
                if !(record.count == 1 && record[0].isEmpty) { records.append(record) }
                record = []
            default: field.append(c)
            }
        }
        if !field.isEmpty || !record.isEmpty {
            record.append(field)
            records.append(record)
        }
        return records
    }
}
