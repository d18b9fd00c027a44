// The shell's interactive prompt on a pseudo-terminal: Ctrl-C (SIGINT) drops the line being
// typed and keeps the shell alive, and each entered statement is in the history file at once.

import Foundation
import Synchronization
import Testing
@testable import Borealis
@testable import BorealisSQL
@testable import BorealisStorage

@Suite struct InteractiveShellTests {
    /// The shell on a new pseudo-terminal, its output collected.
    final class Session {
        let process = Process()
        let master: FileHandle
        private let collected = Locked<String>("")

        init(home: String) throws {
            // posix_openpt and friends are not in Swift's Glibc module: looked up by name.
            func function<T>(_ name: String, _ type: T.Type) -> T {
                unsafeBitCast(dlsym(UnsafeMutableRawPointer(bitPattern: 0), name)!, to: type)
            }
            typealias Call = @convention(c) (Int32) -> Int32
            let openpt = function("posix_openpt", Call.self), grantpt = function("grantpt", Call.self)
            let unlockpt = function("unlockpt", Call.self)
            let ptsname = function("ptsname", (@convention(c) (Int32) -> UnsafeMutablePointer<CChar>?).self)
            let fd = openpt(O_RDWR | O_NOCTTY)
            guard fd >= 0, grantpt(fd) == 0, unlockpt(fd) == 0, let name = ptsname(fd) else {
                throw DatabaseError(.error, sqlState: "58000", "no pseudo-terminal")
            }
            let slave = FileHandle(forUpdatingAtPath: String(cString: name))!
            master = FileHandle(fileDescriptor: fd, closeOnDealloc: false)
            process.executableURL = URL(fileURLWithPath: ShellTests.executable)
            process.arguments = [":memory:"]
            process.environment = ["HOME": home, "TERM": "dumb", "LANG": "C.UTF-8"]
            process.standardInput = slave
            process.standardOutput = slave
            process.standardError = slave
            try process.run()
            try slave.close()
            // read(2) rather than availableData: the master reports EIO once the shell exits.
            let collected = self.collected
            Thread.detachNewThread {
                var buffer = [UInt8](repeating: 0, count: 4096)
                while true {
                    let n = read(fd, &buffer, buffer.count)
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { return }
                    collected.withLock { $0 += String(decoding: buffer[..<n], as: UTF8.self) }
                }
            }
        }

        var output: String { collected.withLock { $0 } }

        func type(_ text: String) { master.write(Data(text.utf8)) }

        /// Waits up to 10 s for `text` to appear in the output after `offset`.
        func waitFor(_ text: String, after offset: Int = 0) -> Bool {
            for _ in 0..<1000 {
                if output.dropFirst(offset).contains(text) { return true }
                usleep(10_000)
            }
            return false
        }

        func finish() -> Int32 {
            type(".quit\n")
            process.waitUntilExit()
            return process.terminationStatus
        }
    }

    @Test func ctrlCDropsTheLineBeingTypedAndHistoryIsWrittenAsItGoes() throws {
        try #require(FileManager.default.isExecutableFile(atPath: ShellTests.executable))
        let home = TemporaryDirectory()
        let session = try Session(home: home.path)
        #expect(session.waitFor("borealis> "))
        session.type("select 'first' as h;\n")
        #expect(session.waitFor("│ first │"))
        // The statement is in the history file while the shell still runs.
        let history = try String(contentsOfFile: home.path + "/.borealis_history", encoding: .utf8)
        #expect(history.contains("select\\040'first'\\040as\\040h;"))
        // An unfinished statement (an open quote), then Ctrl-C: it is dropped, so the next
        // statement runs on its own.
        session.type("select 'unfinished\n")
        #expect(session.waitFor("...> "))
        let mark = session.output.count
        kill(session.process.processIdentifier, SIGINT)
        #expect(session.waitFor("^C", after: mark))
        session.type("select 40 + 2 as answer;\n")
        #expect(session.waitFor("42", after: mark))
        #expect(session.process.isRunning)
        #expect(session.finish() == 0)
    }

    @Test func ctrlCInterruptsTheRunningStatementAndKeepsTheShell() throws {
        try #require(FileManager.default.isExecutableFile(atPath: ShellTests.executable))
        let home = TemporaryDirectory()
        let session = try Session(home: home.path)
        #expect(session.waitFor("borealis> "))
        let mark = session.output.count
        // Runs until interrupted (the recursion limit is far away).
        session.type("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r;\n")
        usleep(300_000)
        kill(session.process.processIdentifier, SIGINT)
        #expect(session.waitFor("canceling statement due to user request", after: mark))
        session.type("select 40 + 2 as answer;\n")
        #expect(session.waitFor("42", after: mark))
        #expect(session.process.isRunning)
        #expect(session.finish() == 1) // the interrupted statement counts as a failure
    }
}
