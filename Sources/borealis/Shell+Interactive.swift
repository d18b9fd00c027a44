// The interactive prompt (libedit: line editing, history) and Ctrl-C.
//
// History: each statement or dot-command entered is added to ~/.borealis_history and the file
// is written at once, so a shell that is killed keeps what was typed.
//
// Ctrl-C: SIGINT's handler only writes a byte to a pipe (async-signal-safe). SIGINT is blocked
// in every thread but the watcher, which reads the pipe and acts on the shell's state:
//
//   at the prompt        the line being typed (and any unfinished statement) is dropped and a
//                        new prompt shown: the watcher wakes the prompt's input function
//                        through a second pipe, the prompt sees the interrupt count change
//   statement running    the statement is interrupted (Database.interrupt(), once the engine
//                        has it); a third Ctrl-C while one statement runs quits the shell
//   script running       (.read, standard input) the script stops after the current
//                        statement, with an error

import Borealis
import CEdit
import Foundation
import Synchronization

/// The write end of the signal pipe (set once, before the handler is installed).
nonisolated(unsafe) private var signalPipeWrite: Int32 = -1
/// The read end of the pipe that wakes the prompt (set once, before the first prompt).
nonisolated(unsafe) private var cancelPipeRead: Int32 = -1

/// What Ctrl-C does, shared between the shell and the watcher thread.
final class Interrupts: Sendable {
    private struct State {
        var running: Database?
        var atPrompt = false
        var count = 0
        var duringStatement = 0
    }
    private let state = Mutex(State())
    private let cancelPipeWrite: Int32

    /// Installs the SIGINT handler and starts the watcher thread. Call before opening a
    /// database, so that the engine's threads inherit the blocked signal.
    init() {
        var signalPipe: [Int32] = [-1, -1], cancelPipe: [Int32] = [-1, -1]
        _ = pipe(&signalPipe)
        _ = pipe(&cancelPipe)
        _ = fcntl(cancelPipe[0], F_SETFL, O_NONBLOCK)
        signalPipeWrite = signalPipe[1]
        cancelPipeRead = cancelPipe[0]
        cancelPipeWrite = cancelPipe[1]
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in
            var byte: UInt8 = 1
            _ = Glibc.write(signalPipeWrite, &byte, 1)
        }
        action.sa_flags = SA_RESTART
        sigemptyset(&action.sa_mask)
        sigaction(SIGINT, &action, nil)
        var blocked = sigset_t()
        sigemptyset(&blocked)
        sigaddset(&blocked, SIGINT)
        pthread_sigmask(SIG_BLOCK, &blocked, nil)
        let signalRead = signalPipe[0]
        Thread.detachNewThread { [self, blocked] in
            var unblock = blocked
            pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
            var byte: UInt8 = 0
            while true {
                let n = read(signalRead, &byte, 1)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }
                handleInterrupt()
            }
        }
    }

    /// Ctrl-C presses so far.
    var count: Int { state.withLock { $0.count } }

    private func handleInterrupt() {
        enum Action { case none, cancelPrompt, interrupt(Database), quit }
        let action = state.withLock { s -> Action in
            s.count += 1
            if let db = s.running {
                s.duringStatement += 1
                return s.duringStatement >= 3 ? .quit : .interrupt(db)
            }
            return s.atPrompt ? .cancelPrompt : .none
        }
        switch action {
        case .none: break
        case .cancelPrompt:
            var byte: UInt8 = 1
            _ = write(cancelPipeWrite, &byte, 1)
        case .interrupt(let db):
            // The running statement fails with 57014 and the shell returns to its prompt.
            db.interrupt()
        case .quit:
            FileHandle.standardError.write(Data("interrupted three times: quitting\n".utf8))
            _exit(130)
        }
    }

    /// Runs `body` (one statement) as the statement Ctrl-C interrupts.
    func running<T>(_ db: Database, _ body: () throws -> T) rethrows -> T {
        state.withLock { $0.running = db; $0.duringStatement = 0 }
        defer { state.withLock { $0.running = nil } }
        return try body()
    }

    /// Reads one line at the prompt; nil at end of input. `cancelled` is true when Ctrl-C
    /// ended the line (whatever it returned is to be dropped).
    func readLine(prompt: String) -> (line: String?, cancelled: Bool) {
        var byte: UInt8 = 0
        while read(cancelPipeRead, &byte, 1) == 1 {}
        let before = state.withLock { s -> Int in s.atPrompt = true; return s.count }
        let raw = readline(prompt)
        let after = state.withLock { s -> Int in s.atPrompt = false; return s.count }
        defer { free(raw) }
        return (raw.map { String(cString: $0) }, after != before)
    }
}

/// libedit's input function at the prompt: a byte of standard input, or EOF (-1) when the
/// watcher wakes it for Ctrl-C. Multi-byte UTF-8 is decoded here and returned as one
/// character, as libedit's wide-character reader expects.
private let promptGetc: @convention(c) (UnsafeMutablePointer<FILE>?) -> Int32 = { _ in
    func byte() -> Int32? {
        var fds = [pollfd(fd: 0, events: Int16(POLLIN), revents: 0), pollfd(fd: cancelPipeRead, events: Int16(POLLIN), revents: 0)]
        while true {
            if poll(&fds, 2, -1) < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if fds[1].revents != 0 { return nil }
            var c: UInt8 = 0
            let n = read(0, &c, 1)
            if n < 0 && errno == EINTR { continue }
            return n == 1 ? Int32(c) : nil
        }
    }
    guard let first = byte() else { return -1 }
    let extra = first >= 0xF0 ? 3 : first >= 0xE0 ? 2 : first >= 0xC0 ? 1 : 0
    var value = extra == 0 ? first : first & (0x3F >> extra)
    for _ in 0..<extra {
        guard let next = byte() else { return -1 }
        value = value << 6 | (next & 0x3F)
    }
    return value
}

extension Shell {
    /// The interactive prompt, with line editing and history.
    func interactive() {
        // libedit reads and prints characters beyond ASCII only under a UTF-8 character type.
        let ctype = setlocale(LC_CTYPE, "").map { String(cString: $0) } ?? "C"
        if !ctype.uppercased().contains("UTF") { _ = setlocale(LC_CTYPE, "C.UTF-8") }
        let historyPath = (ProcessInfo.processInfo.environment["HOME"] ?? ".") + "/.borealis_history"
        // libedit's own SIGINT handling off (the watcher has it), and our input function. Set
        // through their addresses: Swift 6 refuses direct use of C global variables.
        dlsym(UnsafeMutableRawPointer(bitPattern: 0), "rl_catch_signals")?.storeBytes(of: Int32(0), as: Int32.self)
        dlsym(UnsafeMutableRawPointer(bitPattern: 0), "rl_getc_function")?.storeBytes(of: promptGetc, as: (@convention(c) (UnsafeMutablePointer<FILE>?) -> Int32).self)
        stifle_history(2000)
        _ = read_history(historyPath)
        write("Borealis \(borealisVersion). Enter \".help\" for usage hints; statements end with \";\".\n")
        var splitter = StatementSplitter()
        var entry = ""
        var lineNumber = 0
        func remember(_ text: String) {
            add_history(text)
            _ = write_history(historyPath)
        }
        while true {
            let (read, cancelled) = interrupts.readLine(prompt: splitter.isEmpty ? "borealis> " : "     ...> ")
            if cancelled {
                write("^C\n")
                splitter = StatementSplitter()
                entry = ""
                continue
            }
            guard let line = read else {
                write("\n")
                break
            }
            lineNumber += 1
            if splitter.isEmpty && line.trimmingCharacters(in: .whitespaces).hasPrefix(".") {
                remember(line)
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                // At the prompt only .quit ends the shell (bail stops scripts, not the prompt).
                if !command(trimmed) && Self.words(trimmed).first.map({ $0 == ".quit" || $0 == ".exit" }) == true { break }
                continue
            }
            if splitter.isEmpty && line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            entry += (entry.isEmpty ? "" : "\n") + line
            let statements = splitter.feed(line, lineNumber: lineNumber)
            if splitter.isEmpty {
                remember(entry)
                entry = ""
            }
            for statement in statements { _ = execute(statement) }
        }
    }
}
