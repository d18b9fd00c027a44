// Threads for blocking work that async callers wait for. A statement can wait for the
// connection's lock, for the write lock and for fdatasync; Swift's cooperative pool has one
// thread per core, and on Linux Dispatch's queues (custom concurrent ones too) draw on the same
// few threads, so work parked there stalls every task in the process. This pool never makes a
// submission wait for a thread: it hands the work to an idle thread, or starts a new one. A
// thread idle for `idleTimeout` exits.
//
// Invariant (under `lock`): every submission is followed by a thread that looks at `pending`:
// either `wakeups` was raised for an idle thread, or a new thread was started. A woken thread
// that finds `pending` empty (another took the work) goes back to idle.

import BorealisSQL
import BorealisStorage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class BlockingThreadPool: @unchecked Sendable {
    static let shared = BlockingThreadPool(idleTimeoutNanoseconds: 10_000_000_000)

    private let lock = ConditionLock()
    private let idleTimeout: UInt64
    // Guarded by `lock`.
    private var pending: [@Sendable () -> Void] = []
    private var first = 0
    private var idle = 0
    private var wakeups = 0
    private var threads = 0

    init(idleTimeoutNanoseconds: UInt64) {
        idleTimeout = idleTimeoutNanoseconds
    }

    /// Threads alive now (tests).
    var threadCount: Int { lock.withLock { threads } }

    /// Runs `work` on a pool thread, at once.
    func submit(_ work: @escaping @Sendable () -> Void) {
        let start: Bool = lock.withLock {
            pending.append(work)
            if idle > 0 {
                idle -= 1
                wakeups += 1
                lock.signal()
                return false
            }
            threads += 1
            return true
        }
        if start && !startThread() {
            // No thread could be made (the process limit): run it here rather than never.
            lock.withLock { threads -= 1 }
            if let work = lock.withLock({ take() }) { work() }
        }
    }

    /// The oldest pending work (the lock held).
    private func take() -> (@Sendable () -> Void)? {
        guard first < pending.count else { return nil }
        let work = pending[first]
        first += 1
        if first == pending.count {
            pending.removeAll(keepingCapacity: true)
            first = 0
        }
        return work
    }

    private func workerLoop() {
        lock.lock()
        while true {
            if let work = take() {
                lock.unlock()
                work()
                lock.lock()
                continue
            }
            idle += 1
            let deadline = monotonicNanoseconds() + idleTimeout
            while wakeups == 0 {
                if !lock.wait(until: deadline) && wakeups == 0 {
                    idle -= 1
                    threads -= 1
                    lock.unlock()
                    return
                }
            }
            wakeups -= 1
        }
    }

    /// A new worker thread; false when the system has none to give.
    private func startThread() -> Bool {
        (try? startBackgroundThread(name: "borealis-blocking") { [self] in workerLoop() }) != nil
    }
}
