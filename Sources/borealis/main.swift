// borealis: the shell.
//
//   borealis [options] [DB] [SQL…]
//
// With SQL arguments it runs them and exits; with standard input not a terminal it runs the
// script from it; otherwise it opens an interactive prompt. DB defaults to ":memory:".

import Borealis
import Foundation

let usage = """
usage: borealis [options] [DB] [SQL…]

Runs SQL against the Borealis database DB (":memory:" when absent). With SQL arguments, runs
them and exits; with standard input not a terminal, runs it as a script; otherwise opens an
interactive prompt. Statements end with ";"; lines starting with "." are shell commands
(.help lists them).

options:
  -bail            stop at the first error (exit status 1)
  -cmd COMMAND     run COMMAND before anything else (repeatable)
  -csv, -json, -line, -list, -table   output mode (default: table)
  -header, -noheader                  show or hide column names
  -readonly        open the database read-only
  -version, --version                 print the version
  -help, --help                       this text

"""

var arguments = Array(CommandLine.arguments.dropFirst())
var databasePath: String?
var sql: [String] = []
var commands: [String] = []
var mode: OutputMode?
var headers: Bool?
var bail = false
var readOnly = false
while !arguments.isEmpty {
    let argument = arguments.removeFirst()
    switch argument {
    case "-help", "--help", "-h":
        print(usage, terminator: "")
        exit(0)
    case "-version", "--version":
        print("borealis \(borealisVersion)")
        exit(0)
    case "-bail": bail = true
    case "-readonly": readOnly = true
    case "-header", "-headers": headers = true
    case "-noheader": headers = false
    case "-csv", "-json", "-line", "-list", "-table": mode = OutputMode(rawValue: String(argument.dropFirst()))
    case "-cmd":
        guard !arguments.isEmpty else { FileHandle.standardError.write(Data("Error: -cmd needs a command\n".utf8)); exit(2) }
        commands.append(arguments.removeFirst())
    default:
        if argument.hasPrefix("-") {
            FileHandle.standardError.write(Data("Error: unknown option \(argument)\n\(usage)".utf8))
            exit(2)
        }
        if databasePath == nil { databasePath = argument } else { sql.append(argument) }
    }
}

let db: Database
do {
    db = try Database(path: databasePath ?? ":memory:", readOnly: readOnly)
} catch let failure as DatabaseError {
    FileHandle.standardError.write(Data("Error: cannot open \(databasePath ?? ":memory:"): \(failure.message)\n".utf8))
    exit(1)
} catch {
    FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
    exit(1)
}
let shell = Shell(db: db)
shell.bail = bail
if let mode { shell.formatter.mode = mode }
shell.formatter.headers = headers ?? true

var finished = false
for command in commands where !finished {
    if !shell.run(command) { finished = true }
}
if !finished {
    if !sql.isEmpty {
        for text in sql where !finished {
            if !shell.run(text) { finished = true }
        }
    } else if isatty(0) == 0 {
        let input = FileHandle.standardInput.readDataToEndOfFile()
        _ = shell.runScript(String(decoding: input, as: UTF8.self))
    } else {
        shell.interactive()
    }
}
try? shell.replica?.close()
try? shell.primary.close()
exit(shell.failures > 0 ? 1 : 0)
