// The database-wide write lock: one writer at a time; a waiter gives up with BUSY after its
// timeout. Readers never take it.
//
//   free ──acquire──▶ held ──release──▶ free        (acquire while held: wait ≤ timeout, then BUSY)

final class WriterLock: @unchecked Sendable {
    private let lock = ConditionLock()
    private var held = false // guarded by `lock`

    func acquire(timeoutMilliseconds: Int) throws {
        try lock.withLock {
            if !held {
                held = true
                return
            }
            let deadline = monotonicNanoseconds() + UInt64(max(0, timeoutMilliseconds)) * 1_000_000
            while held {
                if !lock.wait(until: deadline) && held {
                    throw DatabaseError.busy("database is locked: another write transaction held the write lock for \(timeoutMilliseconds) ms")
                }
            }
            held = true
        }
    }

    func release() {
        lock.withLock {
            precondition(held, "write lock released while not held")
            held = false
        }
        // After the unlock: the woken waiter does not run into the mutex still held. Waiters
        // re-check `held` under the mutex, so the wake-up cannot be lost.
        lock.signal()
    }
}
