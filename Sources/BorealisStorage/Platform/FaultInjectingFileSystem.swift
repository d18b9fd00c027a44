// An in-memory `FileSystem` that misbehaves on purpose, for crash and fault tests. It models
// what a real kernel and disk may do to unsynced data, in the spirit of SQLite's crash-test VFS:
//
// - every file keeps its *durable* bytes (as of its last successful `sync`) beside its current
//   bytes and the list of writes since; directory entries (create, rename, remove) are durable
//   only after `syncDirectory` of their parent;
// - `crash(seed:)` replaces the current state with what a power cut could leave: the durable
//   bytes, plus each unsynced write applied whole, dropped, or torn (a prefix of 512-byte
//   sectors, the last one garbled where the write changes it), and a random prefix of each
//   directory's unsynced changes;
// - a `Fault` armed at the N-th mutating operation (write, sync, truncate, rename, remove,
//   create, directory sync) fails it: a crash from there on, a torn write, an fsync error
//   (the unsynced data of that file is lost, as Linux may do), or ENOSPC (which stays; or,
//   limited to the files under one folder, until disarmed).
//
// Reads never fail, except after a simulated crash, when every call fails until `crash` runs.

#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// See the file comment. Usage:
///
/// ```swift
/// let fs = FaultInjectingFileSystem()
/// var options = StorageOptions(); options.fileSystem = fs
/// fs.arm(.crash(atOperation: 40)) … fs.crash(seed: 1)   // then reopen and verify
/// ```
public final class FaultInjectingFileSystem: FileSystem, Sendable {
    public enum Fault: Sendable, Equatable {
        /// The N-th mutating operation and every later one fail as if the machine stopped.
        case crash(atOperation: Int)
        /// The N-th operation, if a write, writes only a prefix of `fraction` (0...1) and the machine stops.
        case tornWrite(atOperation: Int, fraction: Double)
        /// The N-th `sync` fails with EIO; the file's unsynced writes are lost.
        case syncFailure(atSync: Int)
        /// From the N-th write on, writes fail with ENOSPC after writing a prefix.
        case noSpace(atOperation: Int)
        /// Writes to files whose path starts with `prefix` fail with ENOSPC after writing a
        /// prefix, until disarmed (a full volume the archive lives on, the database's is not).
        case noSpaceUnder(prefix: String)
    }

    final class Inode: @unchecked Sendable {
        // Guarded by the file system's mutex.
        var data: [UInt8] = []
        var durable: [UInt8] = []
        var pending: [PendingWrite] = []
    }

    enum PendingWrite {
        case write(offset: Int, bytes: [UInt8])
        case truncate(size: Int)
    }

    enum DirectoryChange {
        case link(name: String, inode: Inode)
        case unlink(name: String)
        case move(from: String, to: String, inode: Inode)
    }

    struct State {
        var namespace: [String: Inode] = [:]
        var durableNamespace: [String: Inode] = [:]
        var directories: Set<String> = ["/", "."]
        var pendingDirectoryChanges: [String: [DirectoryChange]] = [:]
        var operations = 0
        var syncs = 0
        var fault: Fault?
        var crashed = false
        var diskFull = false
        /// Owner locks held: path → the token of the holding `FaultOwnerLock`. A crash (the
        /// simulated machine stopping) drops them all, as process death drops OFD locks.
        var ownerLocks: [String: UInt64] = [:]
        var nextLockToken: UInt64 = 1
    }

    let state = Locked(State())

    public init() {}

    /// Arms one fault; replaces any armed before.
    public func arm(_ fault: Fault?) {
        state.withLock {
            $0.fault = fault
            $0.operations = 0
            $0.syncs = 0
            $0.diskFull = false
        }
    }

    /// The number of mutating operations performed since the last `arm`.
    public var operationCount: Int { state.withLock { $0.operations } }

    public var hasCrashed: Bool { state.withLock { $0.crashed } }

    /// Simulates a power cut: what remains is what the disk may hold. Disarms faults.
    public func crash(seed: UInt64) {
        state.withLock { s in
            var rng = SplitMix64(seed: seed)
            // Directories: a random prefix of each directory's unsynced changes survives.
            var namespace = s.durableNamespace
            for (_, changes) in s.pendingDirectoryChanges.sorted(by: { $0.key < $1.key }) {
                let keep = Int(rng.next() % UInt64(changes.count + 1))
                for change in changes.prefix(keep) {
                    switch change {
                    case .link(let name, let inode): namespace[name] = inode
                    case .unlink(let name): namespace[name] = nil
                    case .move(let from, let to, let inode):
                        namespace[from] = nil
                        namespace[to] = inode
                    }
                }
            }
            // Files: each unsynced write survives whole, not at all, or torn.
            var seen = Set<ObjectIdentifier>()
            for inode in namespace.values where seen.insert(ObjectIdentifier(inode)).inserted {
                var bytes = inode.durable
                for op in inode.pending {
                    switch op {
                    case .truncate(let size):
                        if rng.next() % 2 == 0 { resize(&bytes, to: size) }
                    case .write(let offset, let data):
                        switch rng.next() % 4 {
                        case 0, 1: apply(data, at: offset, to: &bytes)
                        case 2: break
                        default:
                            let sectors = (data.count + 511) / 512
                            let keep = Int(rng.next() % UInt64(sectors + 1))
                            var torn = Array(data.prefix(keep * 512))
                            if keep < sectors {
                                // A half-written sector: some bytes new, the rest garbage, except
                                // that a byte rewritten with the value it holds keeps it (the log
                                // rewrites its last block's durable bytes; docs/storage.md §2).
                                let partial = Int(rng.next() % 512)
                                let end = min(data.count, keep * 512 + 512)
                                for i in (keep * 512)..<end {
                                    let unchanged = offset + i < bytes.count && bytes[offset + i] == data[i]
                                    torn.append(i - keep * 512 < partial || unchanged ? data[i] : UInt8(truncatingIfNeeded: rng.next()))
                                }
                            }
                            apply(torn, at: offset, to: &bytes)
                        }
                    }
                }
                inode.data = bytes
                inode.durable = bytes
                inode.pending = []
            }
            s.namespace = namespace
            s.durableNamespace = namespace
            s.pendingDirectoryChanges = [:]
            s.crashed = false
            s.fault = nil
            s.diskFull = false
            s.ownerLocks = [:]
        }
    }

    public func tryLockOwner(of path: String, create: Bool) throws -> OwnerLockAttempt {
        try state.withLock { s in
            if !create && s.namespace[path] == nil {
                throw DatabaseError.io("open", path: path, errno: ENOENT)
            }
            if s.ownerLocks[path] != nil { return .held(byProcess: getpid()) }
            let token = s.nextLockToken
            s.nextLockToken += 1
            s.ownerLocks[path] = token
            return .acquired(FaultOwnerLock(fileSystem: self, path: path, token: token))
        }
    }

    fileprivate func releaseOwnerLock(_ path: String, token: UInt64) {
        state.withLock { s in
            if s.ownerLocks[path] == token { s.ownerLocks[path] = nil }
        }
    }

    /// Every file's current bytes become durable (a clean shutdown of the simulated machine).
    public func syncEverything() {
        state.withLock { s in
            for inode in s.namespace.values {
                inode.durable = inode.data
                inode.pending = []
            }
            s.durableNamespace = s.namespace
            s.pendingDirectoryChanges = [:]
        }
    }

    // MARK: Fault bookkeeping

    enum Outcome { case proceed, crash, tear(Double), syncFail, noSpace }

    /// Counts one mutating operation and says what the armed fault does to it.
    fileprivate func account(_ s: inout State, isWrite: Bool, isSync: Bool, path: String) throws -> Outcome {
        if s.crashed { throw simulatedCrash(path) }
        s.operations += 1
        if traceEnabled { print("io \(s.operations) \(isWrite ? "write" : isSync ? "sync" : "meta") \(path)") }
        if isSync { s.syncs += 1 }
        if s.diskFull && isWrite { return .noSpace }
        switch s.fault {
        case .crash(let n)? where s.operations >= n:
            s.crashed = true
            throw simulatedCrash(path)
        case .tornWrite(let n, let fraction)? where s.operations >= n:
            if isWrite { return .tear(fraction) }
            s.crashed = true
            throw simulatedCrash(path)
        case .syncFailure(let n)? where isSync && s.syncs == n:
            return .syncFail
        case .noSpace(let n)? where isWrite && s.operations >= n:
            s.diskFull = true
            return .noSpace
        case .noSpaceUnder(let prefix)? where isWrite && path.hasPrefix(prefix):
            return .noSpace
        default:
            return .proceed
        }
    }

    fileprivate func simulatedCrash(_ path: String) -> DatabaseError {
        DatabaseError(.ioError, sqlState: SQLState.ioError, "I/O error: simulated crash (\(path))")
    }

    // MARK: FileSystem

    public func open(_ path: String, create: Bool) throws -> any StorageFile {
        try state.withLock { s in
            if s.crashed { throw simulatedCrash(path) }
            if let inode = s.namespace[path] { return MemoryFile(fs: self, inode: inode, path: path) }
            guard create else { throw DatabaseError.io("open", path: path, errno: ENOENT) }
            guard s.directories.contains(parentDirectory(of: path)) else {
                throw DatabaseError.io("open", path: path, errno: ENOENT)
            }
            _ = try account(&s, isWrite: false, isSync: false, path: path)
            let inode = Inode()
            s.namespace[path] = inode
            s.pendingDirectoryChanges[parentDirectory(of: path), default: []].append(.link(name: path, inode: inode))
            return MemoryFile(fs: self, inode: inode, path: path)
        }
    }

    public func exists(_ path: String) -> Bool {
        state.withLock { $0.namespace[path] != nil || $0.directories.contains(path) }
    }

    public func remove(_ path: String) throws {
        try state.withLock { s in
            _ = try account(&s, isWrite: false, isSync: false, path: path)
            guard s.namespace.removeValue(forKey: path) != nil else { return }
            s.pendingDirectoryChanges[parentDirectory(of: path), default: []].append(.unlink(name: path))
        }
    }

    public func rename(_ from: String, to: String) throws {
        try state.withLock { s in
            _ = try account(&s, isWrite: false, isSync: false, path: from)
            guard let inode = s.namespace.removeValue(forKey: from) else {
                throw DatabaseError.io("rename", path: from, errno: ENOENT)
            }
            s.namespace[to] = inode
            // A rename is one atomic change of its directory (the engine renames within one folder).
            s.pendingDirectoryChanges[parentDirectory(of: to), default: []].append(.move(from: from, to: to, inode: inode))
        }
    }

    public func makeDirectory(_ path: String) throws {
        state.withLock { _ = $0.directories.insert(path) }
    }

    public func list(_ directory: String) throws -> [String] {
        try state.withLock { s in
            if s.crashed { throw simulatedCrash(directory) }
            let prefix = directory.hasSuffix("/") ? directory : directory + "/"
            return s.namespace.keys.filter { $0.hasPrefix(prefix) && !$0.dropFirst(prefix.count).contains("/") }
                .map { String($0.dropFirst(prefix.count)) }.sorted()
        }
    }

    public func syncDirectory(_ path: String) throws {
        try state.withLock { s in
            _ = try account(&s, isWrite: false, isSync: true, path: path)
            for change in s.pendingDirectoryChanges[path] ?? [] {
                switch change {
                case .link(let name, let inode): s.durableNamespace[name] = inode
                case .unlink(let name): s.durableNamespace[name] = nil
                case .move(let from, let to, let inode):
                    s.durableNamespace[from] = nil
                    s.durableNamespace[to] = inode
                }
            }
            s.pendingDirectoryChanges[path] = nil
        }
    }

    // MARK: File operations

    fileprivate func write(_ inode: Inode, path: String, bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
        try state.withLock { s in
            let data = [UInt8](bytes)
            switch try account(&s, isWrite: true, isSync: false, path: path) {
            case .proceed:
                apply(data, at: Int(offset), to: &inode.data)
                inode.pending.append(.write(offset: Int(offset), bytes: data))
            case .tear(let fraction):
                let prefix = Array(data.prefix(Int(Double(data.count) * fraction)))
                apply(prefix, at: Int(offset), to: &inode.data)
                inode.pending.append(.write(offset: Int(offset), bytes: prefix))
                s.crashed = true
                throw simulatedCrash(path)
            case .noSpace:
                let prefix = Array(data.prefix(data.count / 2))
                apply(prefix, at: Int(offset), to: &inode.data)
                inode.pending.append(.write(offset: Int(offset), bytes: prefix))
                throw DatabaseError.io("pwrite", path: path, errno: ENOSPC)
            case .crash, .syncFail:
                throw simulatedCrash(path)
            }
        }
    }

    fileprivate func sync(_ inode: Inode, path: String) throws {
        try state.withLock { s in
            switch try account(&s, isWrite: false, isSync: true, path: path) {
            case .syncFail:
                // Linux may mark the failed pages clean: the data is gone from the disk's view.
                inode.pending = []
                throw DatabaseError.io("fdatasync", path: path, errno: EIO)
            default:
                inode.durable = inode.data
                inode.pending = []
            }
        }
    }

    fileprivate func truncate(_ inode: Inode, path: String, to size: UInt64) throws {
        try state.withLock { s in
            _ = try account(&s, isWrite: false, isSync: false, path: path)
            resize(&inode.data, to: Int(size))
            inode.pending.append(.truncate(size: Int(size)))
        }
    }

    fileprivate func read(_ inode: Inode, path: String, into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int {
        try state.withLock { s in
            if s.crashed { throw simulatedCrash(path) }
            let start = Int(offset)
            guard start < inode.data.count else { return 0 }
            let n = min(buffer.count, inode.data.count - start)
            inode.data.withUnsafeBytes { src in
                buffer.baseAddress!.copyMemory(from: src.baseAddress! + start, byteCount: n)
            }
            return n
        }
    }

    fileprivate func size(_ inode: Inode, path: String) throws -> UInt64 {
        try state.withLock { s in
            if s.crashed { throw simulatedCrash(path) }
            return UInt64(inode.data.count)
        }
    }
}

private let traceEnabled = getenv("BOREALIS_FS_TRACE") != nil

private func apply(_ data: [UInt8], at offset: Int, to bytes: inout [UInt8]) {
    if bytes.count < offset + data.count { bytes.append(contentsOf: repeatElement(0, count: offset + data.count - bytes.count)) }
    bytes.replaceSubrange(offset..<(offset + data.count), with: data)
}

private func resize(_ bytes: inout [UInt8], to size: Int) {
    if bytes.count > size { bytes.removeLast(bytes.count - size) } else { bytes.append(contentsOf: repeatElement(0, count: size - bytes.count)) }
}

final class MemoryFile: StorageFile, Sendable {
    let fs: FaultInjectingFileSystem
    let inode: FaultInjectingFileSystem.Inode
    let path: String

    init(fs: FaultInjectingFileSystem, inode: FaultInjectingFileSystem.Inode, path: String) {
        self.fs = fs
        self.inode = inode
        self.path = path
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int {
        try fs.read(inode, path: path, into: buffer, at: offset)
    }
    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
        try fs.write(inode, path: path, bytes: bytes, at: offset)
    }
    func sync() throws { try fs.sync(inode, path: path) }
    func size() throws -> UInt64 { try fs.size(inode, path: path) }
    func truncate(to size: UInt64) throws { try fs.truncate(inode, path: path, to: size) }
    func close() {}
}

/// A small, fast, seedable generator (SplitMix64) for tests and simulations.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// An owner lock of the simulated file system (released by its holder or by a crash).
final class FaultOwnerLock: OwnerLock, @unchecked Sendable {
    private let fileSystem: FaultInjectingFileSystem
    private let path: String
    private let token: UInt64

    init(fileSystem: FaultInjectingFileSystem, path: String, token: UInt64) {
        self.fileSystem = fileSystem
        self.path = path
        self.token = token
    }

    func release() { fileSystem.releaseOwnerLock(path, token: token) }

    deinit { release() }
}
