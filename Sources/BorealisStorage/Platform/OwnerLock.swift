// The owner lock: at most one open of a database at a time — in this process or any other —
// so two storage engines never append to one log (docs/storage.md §1 "One owner").
//
// On the real file system it is an open-file-description (OFD) write lock on the page file,
// which conflicts between any two opens of the file (two processes, or two threads of one
// process that bypass the connection registry) and disappears with the process that held it,
// however it died. POSIX record locks would not do: they do not conflict inside one process and
// vanish when *any* descriptor of the file is closed. The lock covers one byte far past any
// page (`ownerByte`); a second lock on the byte `processBase + pid` tells a refused opener who
// holds the database (an OFD lock reports no process id of its own).
//
// Invariants: a `StorageEngine` takes the lock before it reads or creates a file of the
// database and releases it only after its last write (on close, or when it is dropped).

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CBorealisSupport

/// A held owner lock. `release` gives it up; calling it again does nothing.
public protocol OwnerLock: AnyObject, Sendable {
    func release()
}

/// What an attempt to become a database's owner found.
public enum OwnerLockAttempt: Sendable {
    case acquired(any OwnerLock)
    /// Another open holds the database: the holder's process id when it could be learned.
    case held(byProcess: Int32?)
}

enum OwnerLocking {
    /// The locked byte: 2^62, past the last byte of any page file (128 TiB is 2^47).
    static let ownerByte: Int64 = 1 << 62
    /// The holder's marker byte is `processBase + pid`.
    static let processBase: Int64 = (1 << 62) + 1

    /// Becomes the owner of the database at `path`, waiting up to `timeoutMilliseconds` for
    /// another owner to go away; then fails with BUSY naming the holder.
    static func acquire(_ fileSystem: any FileSystem, path: String, create: Bool,
                        timeoutMilliseconds: Int) throws -> any OwnerLock {
        let clock = ContinuousClock()
        let deadline = clock.now + .milliseconds(max(0, timeoutMilliseconds))
        var pause = 1
        while true {
            switch try fileSystem.tryLockOwner(of: path, create: create) {
            case .acquired(let lock):
                return lock
            case .held(let holder):
                if clock.now >= deadline { throw busy(path: path, holder: holder, waited: timeoutMilliseconds) }
                usleep(UInt32(pause * 1000))
                pause = min(pause * 2, 50)
            }
        }
    }

    static func busy(path: String, holder: Int32?, waited: Int) -> DatabaseError {
        let who: String
        switch holder {
        case getpid()?: who = "another open in this process (pid \(getpid())) that bypassed its connections"
        case let pid?: who = "process \(pid)"
        case nil: who = "another process"
        }
        let wait = waited > 0 ? " (still locked after \(waited) ms)" : ""
        return DatabaseError(.busy, sqlState: SQLState.lockNotAvailable,
            "database \(path) is in use by \(who)\(wait): one process owns a database at a time (docs/storage.md §1)")
    }
}

/// The OFD lock of `PosixFileSystem`: the descriptor that holds it.
final class PosixOwnerLock: OwnerLock, @unchecked Sendable {
    private let descriptor: Locked<Int32>

    init(descriptor: Int32) { self.descriptor = Locked(descriptor) }

    func release() {
        descriptor.withLock { fd in
            guard fd >= 0 else { return }
            Glibc.close(fd) // closing the description drops both of its locks
            fd = -1
        }
    }

    deinit { release() }
}

extension PosixFileSystem {
    public func tryLockOwner(of path: String, create: Bool) throws -> OwnerLockAttempt {
        var flags = O_RDWR | O_CLOEXEC
        if create { flags |= O_CREAT }
        var fd: Int32
        repeat { fd = Glibc.open(path, flags, 0o644) } while fd < 0 && errno == EINTR
        guard fd >= 0 else { throw DatabaseError.io("open", path: path, errno: errno) }
        if borealis_ofd_write_lock(fd, OwnerLocking.ownerByte, 1) == 0 {
            // Best effort: without the marker a refused opener cannot name this process.
            _ = borealis_ofd_write_lock(fd, OwnerLocking.processBase + Int64(getpid()), 1)
            return .acquired(PosixOwnerLock(descriptor: fd))
        }
        let failure = errno
        defer { Glibc.close(fd) }
        guard failure == EAGAIN || failure == EACCES else {
            throw DatabaseError.io("lock (fcntl F_OFD_SETLK)", path: path, errno: failure)
        }
        let marker = borealis_ofd_conflicting_write_lock(fd, OwnerLocking.processBase, 1 << 32)
        let pid = marker >= OwnerLocking.processBase ? Int32(truncatingIfNeeded: marker - OwnerLocking.processBase) : nil
        return .held(byProcess: pid)
    }
}
