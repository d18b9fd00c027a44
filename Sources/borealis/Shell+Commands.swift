// The shell's dot-commands. A command line splits into words at spaces; 'single quotes' keep
// their text as it is, "double quotes" also take \" \\ \n \t escapes, so paths with spaces can
// be named. A failing command reports an error like a failing statement (and stops the input
// with bail on).

import Borealis
import Foundation

extension Shell {
    static let help = """
    .backup FILE           write an online backup of the database to FILE (a new file)
    .bail on|off           stop at the first error
    .changes on|off        print the rows each statement changed
    .check                 check the whole database: checksums, trees, indexes, catalog
    .dump [TABLE]          SQL text that re-creates the database (or one table)
    .echo on|off           print each command before running it
    .headers on|off        show column names
    .help                  this list
    .import [--csv] [--skip N] FILE TABLE
                           load CSV rows into TABLE (created from the first row when absent)
    .indexes [TABLE]       index names
    .mode MODE [TABLE]     table, box, markdown, column, csv, json, line, list, quote or
                           insert (INSERT statements for TABLE)
    .nullvalue TEXT        how NULL prints
    .once FILE             send the next command's output to FILE
    .open [--readonly] [FILE]
                           close this database and open FILE (":memory:" when absent)
    .output [FILE]         send results to FILE, or back to standard output
    .print TEXT...         print the words of TEXT
    .quit                  leave (also .exit)
    .read FILE             run the SQL and dot-commands of FILE
    .restore [--to TIME | --lsn N | --latest] [BACKUP] NEWPATH
                           restore a backup into a new database at NEWPATH; with a target,
                           replay this database's log from the backup to that point
                           (TIME as 'YYYY-MM-DD HH:MM:SS', UTC); with a target and no
                           BACKUP, from this database's continuous archive
    .archive [base]        the continuous archive (kept unless -noarchive): its catalogue and
                           lag; with base, take a base image now
    .replica on|off|status|promote
                           run statements on a read replica of the database, back on the
                           writer, show the replica's lag, or promote it to writer
    .schema [TABLE]        CREATE statements
    .separator COL [ROW]   separators of list mode (\\t, \\n and \\\\ escapes)
    .show                  the current settings
    .stats                 storage metrics (log, materializer, cache)
    .tables                table and view names
    .timer on|off          time each statement

    """

    /// Splits a dot-command line into words (quotes as described above).
    static func words(_ line: String) -> [String] {
        var words: [String] = []
        var chars = line[...]
        while true {
            chars = chars.drop(while: { $0 == " " || $0 == "\t" })
            guard let first = chars.first else { return words }
            var word = ""
            if first == "'" || first == "\"" {
                chars.removeFirst()
                while let c = chars.popFirst(), c != first {
                    if first == "\"" && c == "\\", let next = chars.popFirst() {
                        word.append(next == "n" ? "\n" : next == "t" ? "\t" : next)
                    } else {
                        word.append(c)
                    }
                }
            } else {
                while let c = chars.first, c != " " && c != "\t" { word.append(c); chars.removeFirst() }
            }
            words.append(word)
        }
    }

    /// `\t`, `\n`, `\r` and `\\` in a separator.
    static func unescape(_ text: String) -> String {
        var out = ""
        var chars = text[...]
        while let c = chars.popFirst() {
            guard c == "\\", let next = chars.popFirst() else { out.append(c); continue }
            switch next {
            case "t": out.append("\t")
            case "n": out.append("\n")
            case "r": out.append("\r")
            default: out.append(next)
            }
        }
        return out
    }

    /// Runs one dot-command line. Returns false when the shell should stop.
    func command(_ line: String) -> Bool {
        if echo { write(line + "\n") }
        let words = Self.words(line)
        defer { if words.first != ".once" { commandFinished() } }
        do {
            return try dotCommand(words)
        } catch {
            report(error)
            return !bail
        }
    }

    private func dotCommand(_ words: [String]) throws -> Bool {
        let argument = words.count > 1 ? words[1] : nil
        func usage(_ text: String) -> Bool {
            report("usage: \(text)")
            return !bail
        }
        func on(_ word: String?) -> Bool? {
            switch word?.lowercased() {
            case "on", "yes", "1", "true": return true
            case "off", "no", "0", "false": return false
            default: return nil
            }
        }
        switch words[0] {
        case ".quit", ".exit": return false
        case ".help": write(Shell.help)
        case ".tables": write(try db.tableNames().map { $0 + "\n" }.joined())
        case ".indexes", ".indices": write(try db.indexNames(of: argument).map { $0 + "\n" }.joined())
        case ".schema": write(try schemaText(argument))
        case ".dump": try dump(argument)
        case ".mode":
            guard let name = argument, let mode = OutputMode(rawValue: name.lowercased()) else {
                return usage(".mode \(OutputMode.allCases.map(\.rawValue).joined(separator: "|")) [TABLE]")
            }
            formatter.mode = mode
            if mode == .list { (formatter.columnSeparator, formatter.rowSeparator) = ("|", "\n") }
            if mode == .insert { formatter.insertTable = words.count > 2 ? words[2] : "table" }
        case ".headers", ".header":
            guard let value = on(argument) else { return usage(".headers on|off") }
            formatter.headers = value
        case ".timer":
            guard let value = on(argument) else { return usage(".timer on|off") }
            timer = value
        case ".bail":
            guard let value = on(argument) else { return usage(".bail on|off") }
            bail = value
        case ".echo":
            guard let value = on(argument) else { return usage(".echo on|off") }
            echo = value
        case ".changes":
            guard let value = on(argument) else { return usage(".changes on|off") }
            showChanges = value
        case ".separator":
            guard let column = argument else { return usage(".separator COL [ROW]") }
            formatter.columnSeparator = Self.unescape(column)
            if words.count > 2 { formatter.rowSeparator = Self.unescape(words[2]) }
        case ".nullvalue": formatter.nullValue = argument ?? ""
        case ".print": write(words.dropFirst().joined(separator: " ") + "\n")
        case ".show": write(settings())
        case ".stats": write("\(db.engine.metrics)\n")
        case ".output": redirectOutput(to: argument)
        case ".once":
            guard let path = argument else { return usage(".once FILE") }
            redirectOutput(to: path)
            if outputFile != nil { onceCountdown = 1 }
        case ".open": try open(Array(words.dropFirst()))
        case ".read":
            guard let path = argument else { return usage(".read FILE") }
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ShellError("cannot open \"\(path)\"")
            }
            var lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)[...]
            if lines.last == "" { lines.removeLast() }
            return runScript(name: path) { lines.popFirst().map(String.init) }
        case ".replica": return try replicaCommand(argument ?? "status")
        case ".import": try importCommand(Array(words.dropFirst()))
        case ".check": try checkCommand()
        case ".backup": return try backupCommand(Array(words.dropFirst()))
        case ".restore": return try restoreCommand(Array(words.dropFirst()))
        case ".archive": return try archiveCommand(Array(words.dropFirst()))
        default:
            report("unknown command \(words[0]); try .help")
            return !bail
        }
        return true
    }

    /// `.show`: the settings, one per line, names right-aligned as sqlite3 prints them.
    private func settings() -> String {
        func onOff(_ b: Bool) -> String { b ? "on" : "off" }
        func quoted(_ s: String) -> String {
            "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\t", with: "\\t")
                .replacingOccurrences(of: "\r", with: "\\r") + "\""
        }
        let mode = formatter.mode == .insert ? "insert \(formatter.insertTable)" : formatter.mode.rawValue
        let rows: [(String, String)] = [
            ("bail", onOff(bail)), ("changes", onOff(showChanges)), ("echo", onOff(echo)),
            ("headers", onOff(formatter.headers)), ("mode", mode), ("nullvalue", quoted(formatter.nullValue)),
            ("output", outputName), ("colseparator", quoted(formatter.columnSeparator)),
            ("rowseparator", quoted(formatter.rowSeparator)), ("timer", onOff(timer)),
            ("replica", onOff(replica != nil)), ("filename", databasePath),
        ]
        return rows.map { String(repeating: " ", count: max(0, 12 - $0.0.count)) + "\($0.0): \($0.1)\n" }.joined()
    }

    /// `.open [--readonly] [FILE]`: the current database stays open when FILE cannot be opened.
    private func open(_ arguments: [String]) throws {
        var readOnly = false
        var path = ":memory:"
        for argument in arguments {
            if argument == "--readonly" { readOnly = true } else if argument.hasPrefix("-") {
                throw ShellError("usage: .open [--readonly] [FILE]")
            } else {
                path = argument
            }
        }
        let opened: Database
        do {
            opened = try Database(path: path, readOnly: readOnly)
        } catch let failure as DatabaseError {
            throw ShellError("cannot open \(path): \(failure.message)")
        }
        closeDatabases()
        primary = opened
        db = opened
        databasePath = path
    }

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
            guard let replica else { throw ShellError("no replica to promote; .replica on first") }
            try primary.close()
            try replica.promote()
            primary = replica
            self.replica = nil
            write("the replica is now the writer\n")
        default:
            throw ShellError("usage: .replica on|off|status|promote")
        }
        return true
    }
}

/// A shell-level failure (bad usage, a missing file), printed as its message.
struct ShellError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
