// `FileSystem` over the real POSIX calls. Each call retries EINTR, loops over short reads and
// writes, and turns errno into a `DatabaseError` that names the operation and the path.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CBorealisSupport

/// The real file system (the default of `StorageOptions.fileSystem`).
///
/// ```swift
/// var options = StorageOptions()
/// options.fileSystem = PosixFileSystem()
/// ```
public struct PosixFileSystem: FileSystem {
    public init() {}

    public func open(_ path: String, create: Bool) throws -> any StorageFile {
        var flags = O_RDWR | O_CLOEXEC
        if create { flags |= O_CREAT }
        let fd = retryingEINTR { Glibc.open(path, flags, 0o644) }
        guard fd >= 0 else { throw DatabaseError.io("open", path: path, errno: errno) }
        return PosixFile(fd: fd, path: path)
    }

    public func totalBytes(ofFileSystemAt path: String) -> UInt64? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        let (bytes, overflow) = UInt64(info.f_blocks).multipliedReportingOverflow(by: UInt64(info.f_frsize))
        return overflow ? nil : bytes
    }

    /// O_DIRECT where the file system takes it (not tmpfs: an ordinary descriptor there).
    public func openForDirectWrites(_ path: String) throws -> any StorageFile {
        let fd = retryingEINTR { Glibc.open(path, O_RDWR | O_CLOEXEC | borealis_open_direct_flag()) }
        if fd >= 0 { return DirectPosixFile(fd: fd, path: path) }
        guard errno == EINVAL else { throw DatabaseError.io("open", path: path, errno: errno) }
        return try open(path, create: false)
    }

    public func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    public func remove(_ path: String) throws {
        if unlink(path) != 0 && errno != ENOENT { throw DatabaseError.io("unlink", path: path, errno: errno) }
    }

    public func rename(_ from: String, to: String) throws {
        if Glibc.rename(from, to) != 0 { throw DatabaseError.io("rename to \(to)", path: from, errno: errno) }
    }

    public func makeDirectory(_ path: String) throws {
        if mkdir(path, 0o755) != 0 && errno != EEXIST { throw DatabaseError.io("mkdir", path: path, errno: errno) }
    }

    public func list(_ directory: String) throws -> [String] {
        guard let dir = opendir(directory) else { throw DatabaseError.io("opendir", path: directory, errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    public func syncDirectory(_ path: String) throws {
        let fd = retryingEINTR { Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard fd >= 0 else { throw DatabaseError.io("open directory", path: path, errno: errno) }
        defer { Glibc.close(fd) }
        if fsync(fd) != 0 { throw DatabaseError.io("fsync directory", path: path, errno: errno) }
    }
}

final class PosixFile: StorageFile, @unchecked Sendable {
    // `fd` is immutable after init; `close` is called once by the owner after all users are done.
    let fd: Int32
    let path: String

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int {
        let n = readOnce(into: buffer, at: offset)
        guard n >= 0 else { throw DatabaseError.io("pread", path: path, errno: Int32(-n)) }
        return n
    }

    /// One pread: the bytes read, or minus the errno of its failure.
    func readOnce(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) -> Int {
        guard buffer.count > 0 else { return 0 }
        let n = retryingEINTR { pread(fd, buffer.baseAddress, buffer.count, off_t(offset)) }
        return n >= 0 ? n : -Int(errno)
    }

    func read(into buffers: [UnsafeMutableRawBufferPointer], at offset: UInt64) throws -> Int {
        // Linux takes at most 1,024 vectors (IOV_MAX); the caller reads the rest on its own.
        let vectors = buffers.prefix(1024).map { iovec(iov_base: $0.baseAddress, iov_len: $0.count) }
        let n = vectors.withUnsafeBufferPointer { v in
            retryingEINTR { preadv(fd, v.baseAddress, Int32(v.count), off_t(offset)) }
        }
        guard n >= 0 else { throw DatabaseError.io("preadv", path: path, errno: errno) }
        return n
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
        let error = writeAll(bytes, at: offset)
        if error != 0 { throw DatabaseError.io("pwrite", path: path, errno: error) }
    }

    /// Writes all of `bytes` at `offset` (looping over short writes): 0, or the errno of the
    /// call that failed.
    func writeAll(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) -> Int32 {
        var done = 0
        while done < bytes.count {
            let n = retryingEINTR { pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done)) }
            guard n > 0 else { return n == 0 ? EIO : errno }
            done += n
        }
        return 0
    }

    func sync() throws {
        if retryingEINTR({ fdatasync(fd) }) != 0 { throw DatabaseError.io("fdatasync", path: path, errno: errno) }
    }

    func size() throws -> UInt64 {
        var st = stat()
        if fstat(fd, &st) != 0 { throw DatabaseError.io("fstat", path: path, errno: errno) }
        return UInt64(st.st_size)
    }

    func truncate(to size: UInt64) throws {
        if retryingEINTR({ ftruncate(fd, off_t(size)) }) != 0 { throw DatabaseError.io("ftruncate", path: path, errno: errno) }
    }

    func close() {
        _ = Glibc.close(fd)
    }
}

/// A file opened with O_DIRECT for the log writer's whole-block writes. Used by one thread at a
/// time (the flusher of the moment). A direct read or write the device refuses (EINVAL: its
/// logical block is larger than the writer's block) reopens the file without O_DIRECT and tries
/// again, so the log keeps working at the page cache's speed.
final class DirectPosixFile: StorageFile, @unchecked Sendable {
    private var file: PosixFile
    private(set) var isDirect = true
    var path: String { file.path }

    init(fd: Int32, path: String) {
        file = PosixFile(fd: fd, path: path)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int {
        while true {
            let n = file.readOnce(into: buffer, at: offset)
            if n >= 0 { return n }
            if try !fallBackToCache(after: Int32(-n)) { throw DatabaseError.io("pread", path: path, errno: Int32(-n)) }
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
        while true {
            let error = file.writeAll(bytes, at: offset)
            if error == 0 { return }
            if try !fallBackToCache(after: error) { throw DatabaseError.io("pwrite", path: path, errno: error) }
        }
    }

    func sync() throws { try file.sync() }
    func size() throws -> UInt64 { try file.size() }
    func truncate(to size: UInt64) throws { try file.truncate(to: size) }
    func close() { file.close() }

    /// After a failed call: on EINVAL from the direct descriptor, swaps in a cached one and
    /// returns true (try again); otherwise false.
    private func fallBackToCache(after error: Int32) throws -> Bool {
        guard isDirect, error == EINVAL else { return false }
        let cached = retryingEINTR { Glibc.open(path, O_RDWR | O_CLOEXEC) }
        guard cached >= 0 else { throw DatabaseError.io("open", path: path, errno: errno) }
        file.close()
        file = PosixFile(fd: cached, path: path)
        isDirect = false
        return true
    }
}

@inline(__always)
private func retryingEINTR<T: BinaryInteger>(_ call: () -> T) -> T {
    while true {
        let result = call()
        if result < 0 && errno == EINTR { continue }
        return result
    }
}
