// A recursive pthread mutex: the lock a `Database` holds for the whole of a `read`/`write`
// closure, which the closure's own statements take again on the same thread. It replaces
// Foundation's NSRecursiveLock: the engine links FoundationEssentials only (no ICU), so that
// libborealis.so ships without the toolchain. The mutex lives in heap memory the lock owns, so
// it never moves.

#if canImport(Glibc)
import Glibc
#endif

package final class RecursiveLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    package init() {
        mutex = .allocate(capacity: 1)
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_RECURSIVE))
        pthread_mutex_init(mutex, &attributes)
        pthread_mutexattr_destroy(&attributes)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }

    @inline(__always)
    package func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}
