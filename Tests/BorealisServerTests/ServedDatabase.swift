// The fixture of the server tests: a scratch database served on an ephemeral port in this
// process, and real client programs (psql, pgbench) run against it with a watchdog, their
// output captured in files (no pipes to fill up).

import Foundation
import Testing
import Borealis
import BorealisServer

final class ServedDatabase {
    let directory: String
    let db: Database
    let server: BorealisServer
    var port: Int { server.port }

    init(maxConnections: Int = 100) throws {
        directory = NSTemporaryDirectory() + "borealis-serve-test-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        db = try Database(path: directory + "/test.db")
        server = try db.serve(BorealisServer.Configuration(port: 0, maxConnections: maxConnections))
    }

    func close() {
        try? server.stop()
        try? db.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    struct Run {
        var out: String
        var err: String
        var status: Int32
    }

    static let psql = "/usr/bin/psql"
    static let pgbench = "/usr/bin/pgbench"
    static var hasPsql: Bool { FileManager.default.isExecutableFile(atPath: psql) }
    static var hasPgbench: Bool { FileManager.default.isExecutableFile(atPath: pgbench) }

    /// Runs psql on `script` (its standard input) with ON_ERROR_STOP.
    func psql(_ script: String, extra: [String] = []) throws -> Run {
        try run(Self.psql, ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", String(port), "-U", "tester", "-d", "test"] + extra, input: script)
    }

    /// Runs pgbench with `arguments` against the server.
    func pgbench(_ arguments: [String]) throws -> Run {
        try run(Self.pgbench, ["-h", "127.0.0.1", "-p", String(port), "-U", "tester"] + arguments + ["test"], input: "")
    }

    /// Writes `text` to a file in the scratch directory and returns its path.
    func file(_ name: String, _ text: String) throws -> String {
        let path = directory + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Runs any program (a driver's script) with empty standard input.
    func program(_ executable: String, _ arguments: [String]) throws -> Run {
        try run(executable, arguments, input: "")
    }

    private func run(_ executable: String, _ arguments: [String], input: String, timeout: Double = 120) throws -> Run {
        let tag = UInt32.random(in: 0...UInt32.max)
        let inPath = try file("in-\(tag)", input)
        let outPath = directory + "/out-\(tag)", errPath = directory + "/err-\(tag)"
        FileManager.default.createFile(atPath: outPath, contents: nil)
        FileManager.default.createFile(atPath: errPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["PGCONNECT_TIMEOUT"] = "10"
        environment["PGPASSWORD"] = nil
        environment["PGOPTIONS"] = nil
        process.environment = environment
        process.standardInput = FileHandle(forReadingAtPath: inPath)
        process.standardOutput = FileHandle(forWritingAtPath: outPath)
        process.standardError = FileHandle(forWritingAtPath: errPath)
        try process.run()
        let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
        process.waitUntilExit()
        watchdog.cancel()
        let out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        return Run(out: out, err: err, status: process.terminationStatus)
    }
}
