// What stops a running statement from outside: `Database.interrupt()` from any thread, a
// progress handler called every N units of work (a unit is one page a transaction reads), and
// the session's statement_timeout (a deadline on the monotonic clock, looked at every 64 units). The
// watch belongs to one connection; its transactions check it at every page they read, so a
// statement stops within one page of work — a scan, a join, a sort's input, an index build.
// Statements that read no page (a recursive CTE over constants) check it once per iteration.
//
// Invariants: `requested` is the only state touched from other threads (atomically); the
// progress handler and its countdown are read and written only by the thread running the
// connection's statement (the connection's lock orders them with `setProgressHandler`).

import Synchronization
#if canImport(Glibc)
import Glibc
#endif

package final class StatementWatch: @unchecked Sendable {
    package init() {}

    private let requested = Atomic<Bool>(false)
    /// The thread running the progress handler, 0 when none: it holds its connection's lock,
    /// so a call it makes on that connection must not wait for the lock (`isHandlerThread`).
    private let handlerThread = Atomic<UInt>(0)
    private var progressEvery = 0
    private var progressHandler: (() -> Bool)?
    private var countdown = 0

    /// Whether the caller is this connection's progress handler, running inside a statement.
    package var isHandlerThread: Bool {
        let running = handlerThread.load(ordering: .relaxed)
        return running != 0 && running == UInt(bitPattern: Int(bitPattern: pthread_self()))
    }

    /// Asks the running statement — and any other the connection runs before none is left
    /// running or waiting — to stop (any thread).
    package func interrupt() { requested.store(true, ordering: .relaxed) }

    /// No statement runs or waits any more: a later one starts uninterrupted (as SQLite
    /// clears its interrupt when its count of running statements reaches zero).
    package func clear() { requested.store(false, ordering: .relaxed) }

    /// When the running statement times out (CLOCK_MONOTONIC nanoseconds), 0 for never. Atomic:
    /// a statement's end clears it outside the connection's lock.
    private let deadline = Atomic<UInt64>(0)
    private var clockCountdown = 0

    /// A statement starts: its progress count starts afresh, and it may run for
    /// `timeoutMilliseconds` (0: no limit) before it fails with 57014.
    package func statementStarts(timeoutMilliseconds: Int64 = 0) {
        countdown = progressEvery
        deadline.store(timeoutMilliseconds > 0 ? Self.now() &+ UInt64(timeoutMilliseconds) &* 1_000_000 : 0, ordering: .relaxed)
        clockCountdown = 0
    }

    /// The statement's time is no longer counted (it ended; a cursor's later steps are not timed).
    package func statementTimingEnds() { deadline.store(0, ordering: .relaxed) }

    private static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }

    /// `handler` runs every `units` units of work; returning true interrupts the statement.
    package func setProgressHandler(every units: Int, _ handler: (() -> Bool)?) {
        progressEvery = handler == nil ? 0 : max(1, units)
        progressHandler = handler
        countdown = progressEvery
    }

    /// Throws 57014 when the statement was interrupted (or its progress handler said stop).
    @inline(__always)
    package func check() throws {
        if requested.load(ordering: .relaxed) { throw Self.canceled() }
        let until = deadline.load(ordering: .relaxed)
        if until != 0 {
            clockCountdown -= 1
            if clockCountdown <= 0 {
                clockCountdown = 64
                if Self.now() >= until {
                    throw DatabaseError(.interrupted, sqlState: SQLState.queryCanceled, "canceling statement due to statement timeout")
                }
            }
        }
        if progressEvery > 0 {
            countdown -= 1
            if countdown <= 0 {
                countdown = progressEvery
                handlerThread.store(UInt(bitPattern: Int(bitPattern: pthread_self())), ordering: .relaxed)
                defer { handlerThread.store(0, ordering: .relaxed) }
                if progressHandler?() == true {
                    // Sticky for the rest of the statement, as an interrupt is: a caller that
                    // turned one failed read into a report (the integrity check) still stops.
                    requested.store(true, ordering: .relaxed)
                    throw Self.canceled()
                }
            }
        }
    }

    /// `check()`, reading the clock now (for work whose units are long: pg_sleep's steps).
    package func checkNow() throws {
        clockCountdown = 0
        try check()
    }

    static func canceled() -> DatabaseError {
        DatabaseError(.interrupted, sqlState: SQLState.queryCanceled, "canceling statement due to user request")
    }
}
