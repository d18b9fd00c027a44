// `borealis serve DB [--port N] [--host H] [--max-connections N]`: serves the database over the
// PostgreSQL wire protocol (BorealisServer, docs/server.md) until SIGINT or SIGTERM, then closes
// every connection (rolling back open transactions) and the database.

import Borealis
import BorealisServer
import Foundation

extension Shell {
    static let serveUsage = "usage: borealis serve DB [--port 5432] [--host 127.0.0.1] [--max-connections 100]\n"

    /// Runs `borealis serve …` when `arguments` start with `serve` (and no file of that name
    /// exists); returns the exit status, or nil for any other command line.
    static func serve(_ arguments: [String]) -> Int32? {
        guard arguments.first == "serve", !FileManager.default.fileExists(atPath: "serve") else { return nil }
        var configuration = BorealisServer.Configuration()
        var path: String?
        var rest = Array(arguments.dropFirst())
        func usageError(_ message: String) -> Int32 {
            FileHandle.standardError.write(Data("Error: \(message)\n\(serveUsage)".utf8))
            return 2
        }
        while !rest.isEmpty {
            let argument = rest.removeFirst()
            switch argument {
            case "--port", "--host", "--max-connections":
                guard let value = rest.first else { return usageError("\(argument) needs a value") }
                rest.removeFirst()
                if argument == "--host" {
                    configuration.host = value
                } else {
                    guard let number = Int(value), number >= 0, argument == "--port" ? number <= 65535 : number >= 1 else {
                        return usageError("\(argument) needs a number, not \(value)")
                    }
                    if argument == "--port" { configuration.port = number } else { configuration.maxConnections = number }
                }
            case "-h", "--help", "-help":
                print(serveUsage, terminator: "")
                return 0
            default:
                guard !argument.hasPrefix("-"), path == nil else { return usageError("unexpected argument \(argument)") }
                path = argument
            }
        }
        guard let path else { return usageError("serve needs a database path") }
        // Before the database opens its threads: they inherit the signals blocked, so only
        // this thread's sigwait sees them.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        do {
            let db = try Database(path: path)
            let server = try db.serve(configuration)
            FileHandle.standardError.write(Data("borealis \(borealisVersion) serving \(path) on \(configuration.host):\(server.port) (PostgreSQL protocol 3.0; psql -h \(configuration.host) -p \(server.port))\n".utf8))
            var received: Int32 = 0
            sigwait(&signals, &received)
            FileHandle.standardError.write(Data("stopping: closing \(server.connectionCount) connection(s)\n".utf8))
            try server.stop()
            try db.close()
            return 0
        } catch let failure as DatabaseError {
            FileHandle.standardError.write(Data("Error: \(failure.message) (SQLSTATE \(failure.sqlState))\n".utf8))
            return 1
        } catch {
            FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
            return 1
        }
    }
}
