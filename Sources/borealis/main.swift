// borealis: the shell.
//
//   borealis [options] [DB] [SQL…]
//
// With SQL arguments it runs them and exits; with standard input not a terminal it runs the
// script from it, each statement as soon as its `;` arrives; otherwise it opens an interactive
// prompt. DB defaults to ":memory:". The exit status is 1 when any statement or command failed.

import Borealis
import Foundation

let usage = """
usage: borealis [options] [DB] [SQL…]
       borealis check DB              check the whole database (exit status 1 when damaged)
       borealis check-backup FILE     verify a backup file
       borealis serve DB [--port 5432] [--host 127.0.0.1] [--max-connections 100]
                                      serve DB to PostgreSQL clients (docs/server.md)

Runs SQL against the Borealis database DB (":memory:" when absent). With SQL arguments, runs
them and exits; with standard input not a terminal, runs it as a script; otherwise opens an
interactive prompt. Statements end with ";"; lines starting with "." are shell commands
(.help lists them).

options:
  -bail            stop at the first error (exit status 1)
  -cmd COMMAND     run COMMAND before anything else (repeatable)
  -echo            print each command before running it
  -box, -column, -csv, -insert, -json, -line, -list, -markdown, -quote, -table
                   output mode (default: table)
  -header, -noheader                  show or hide column names
  -readonly        open the database read-only
  -noarchive       keep no history: no continuous archive in DB-archive/ (docs/backup.md §4;
                   it is kept by default, except for a read-only open of a database without one)
  -version, --version                 print the version
  -help, --help                       this text

"""

func fail(_ message: String, status: Int32) -> Never {
    FileHandle.standardError.write(Data("Error: \(message)\n".utf8))
    exit(status)
}

var arguments = Array(CommandLine.arguments.dropFirst())
if let status = Shell.standalone(arguments) { exit(status) }
if let status = Shell.serve(arguments) { exit(status) }
var databasePath: String?
var sql: [String] = []
var commands: [String] = []
var mode: OutputMode?
var headers: Bool?
var bail = false
var echo = false
var readOnly = false
var archive = true
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
    case "-echo": echo = true
    case "-readonly": readOnly = true
    case "-archive": archive = true // the default; accepted for scripts written before it was
    case "-noarchive": archive = false
    case "-header", "-headers": headers = true
    case "-noheader": headers = false
    case "-cmd":
        guard !arguments.isEmpty else { fail("-cmd needs a command", status: 2) }
        commands.append(arguments.removeFirst())
    default:
        if argument.hasPrefix("-"), let chosen = OutputMode(rawValue: String(argument.dropFirst())) {
            mode = chosen
        } else if argument.hasPrefix("-") {
            fail("unknown option \(argument)\n\(usage)", status: 2)
        } else if databasePath == nil {
            databasePath = argument
        } else {
            sql.append(argument)
        }
    }
}

// Before the database opens: its threads inherit SIGINT blocked, so only the watcher gets it.
let interrupts = Interrupts()
let path = databasePath ?? ":memory:"
let db: Database
do {
    var options = StorageOptions()
    options.continuousArchive = archive
    db = try Database(path: path, options: options, readOnly: readOnly)
} catch let failure as DatabaseError {
    fail("cannot open \(path): \(failure.message)", status: 1)
} catch {
    fail("\(error)", status: 1)
}
let shell = Shell(db: db, path: path, interrupts: interrupts)
shell.bail = bail
shell.echo = echo
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
        _ = shell.runScript(name: "<stdin>") { readLine(strippingNewline: true) }
    } else {
        shell.interactive()
    }
}
shell.closeDatabases()
exit(shell.failures > 0 ? 1 : 0)
