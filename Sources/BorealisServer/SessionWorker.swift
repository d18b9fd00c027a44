// The thread a session runs on. Engine calls block (the connection's lock, the write lock,
// fdatasync, a long query), so each session has a thread of its own rather than a Dispatch
// queue: on Linux Dispatch's queues share a pool about as wide as the machine has cores, and a
// session parked there (say, waiting for the write lock another session's COMMIT would give
// back) would stall every other session, including the one that would release it.
//
// Work runs in submission order; `stop()` lets the queued work finish and ends the thread.

import Foundation
import NIOConcurrencyHelpers

final class SessionWorker: @unchecked Sendable {
    private let condition = ConditionLock(value: 0)
    // Guarded by `condition`.
    private var queue: [@Sendable () -> Void] = []
    private var stopping = false

    init(name: String) {
        let thread = Thread { [self] in self.loop() }
        thread.name = name
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Runs `work` on the session's thread after what was submitted before it.
    func submit(_ work: @escaping @Sendable () -> Void) {
        condition.lock()
        if !stopping { queue.append(work) }
        condition.unlock(withValue: 1)
    }

    /// Ends the thread once the queued work has run.
    func stop() {
        condition.lock()
        stopping = true
        condition.unlock(withValue: 1)
    }

    private func loop() {
        while true {
            condition.lock(whenValue: 1)
            let batch = queue
            queue = []
            let done = stopping
            condition.unlock(withValue: 0)
            for work in batch { work() }
            if done { return }
        }
    }
}
