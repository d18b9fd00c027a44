// A mutex with a condition variable (pthreads), for the few places that must sleep until
// another thread changes shared state: committers waiting for the durable LSN (each on an
// `OwnCondition` with the log's mutex, so a flush wakes only whom it must), the writer lock,
// the materializer's wake-ups. `Synchronization.Mutex` has no condition, hence this small type.
// The pthread objects live in heap memory these classes own, so they never move.

#if canImport(Glibc)
import Glibc
#endif

package final class ConditionLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    package init() {
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    package func lock() { pthread_mutex_lock(mutex) }
    package func unlock() { pthread_mutex_unlock(mutex) }

    @inline(__always)
    package func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Waits (the lock held) until signalled or until the monotonic `deadline` in nanoseconds.
    /// Returns false on timeout.
    @discardableResult
    package func wait(until deadline: UInt64? = nil) -> Bool {
        guard let deadline else {
            pthread_cond_wait(condition, mutex)
            return true
        }
        var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        return pthread_cond_timedwait(condition, mutex, &ts) != ETIMEDOUT
    }

    package func broadcast() { pthread_cond_broadcast(condition) }
    package func signal() { pthread_cond_signal(condition) }

    /// Waits (the lock held) on a waiter's own condition, which a waker signals by name.
    package func wait(on own: OwnCondition) { pthread_cond_wait(own.condition, mutex) }
}

/// A condition variable for one waiter at a time, used with a `ConditionLock`'s mutex, so that a
/// waker can wake exactly the waiters whose wait is over instead of all of them.
package final class OwnCondition: @unchecked Sendable {
    fileprivate let condition: UnsafeMutablePointer<pthread_cond_t>

    init() {
        condition = .allocate(capacity: 1)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        condition.deallocate()
    }

    package func signal() { pthread_cond_signal(condition) }
}

/// Monotonic time in nanoseconds.
package func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// Wall-clock time in microseconds since 1970, for commit timestamps.
package func wallClockMicroseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
}

/// The machine's physical memory in bytes (0 when the system does not say).
package func physicalMemoryBytes() -> UInt64 {
    let pages = sysconf(Int32(_SC_PHYS_PAGES)), size = sysconf(Int32(_SC_PAGESIZE))
    guard pages > 0, size > 0 else { return 0 }
    return UInt64(pages).multipliedReportingOverflow(by: UInt64(size)).partialValue
}

/// A value behind a pthread mutex, shaped like `Synchronization.Mutex`. Used instead of
/// `Mutex` because ThreadSanitizer understands pthread mutexes (the futex-based `Mutex` is
/// invisible to it, so every state it guards would be reported as a race).
package final class Locked<Value>: @unchecked Sendable {
    private let lock = ConditionLock()
    /// Reached only through `withLock`, whose mutex already makes each access exclusive: the
    /// runtime's dynamic exclusivity check on it cost a prepared statement's step ~5% (callgrind).
    @exclusivity(unchecked) private var value: Value

    package init(_ value: Value) {
        self.value = value
    }

    @inline(__always)
    package func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        try lock.withLock { try body(&value) }
    }
}
