// The one door to the operating system's files. Everything the storage layer does to a disk —
// open, pread, pwrite, fdatasync, truncate, rename, remove, directory listing and directory
// fsync — goes through `FileSystem` and `StorageFile`, so that `FaultInjectingFileSystem` can
// stand in for the real one in tests (short and torn writes, fsync failure, ENOSPC, crashes).
//
// Contract kept by every implementation:
// - `write` either writes all bytes or throws; after a throw, any prefix may have reached the file.
// - `read` returns the number of bytes read; fewer than asked only at end of file.
// - `sync` makes every completed write durable (fdatasync). After `sync` throws, the state of
//   unsynced data is unknown and callers must treat the file as failed (never retry and pretend).
// - Directory changes (create, rename, remove) are durable only after `syncDirectory`.

/// A file the storage layer reads and writes by offset.
public protocol StorageFile: AnyObject, Sendable {
    var path: String { get }
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int
    /// Reads consecutive bytes from `offset` into `buffers` one after another (a scatter read);
    /// returns the number of bytes read, fewer than asked only at end of file.
    func read(into buffers: [UnsafeMutableRawBufferPointer], at offset: UInt64) throws -> Int
    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws
    func sync() throws
    func size() throws -> UInt64
    func truncate(to size: UInt64) throws
    func close()
}

extension StorageFile {
    /// The scatter read as one read per buffer (files without a vector read).
    func read(into buffers: [UnsafeMutableRawBufferPointer], at offset: UInt64) throws -> Int {
        var done = 0
        for buffer in buffers {
            var filled = 0
            while filled < buffer.count {
                let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]), at: offset + UInt64(done + filled))
                if n == 0 { return done + filled }
                filled += n
            }
            done += filled
        }
        return done
    }

    /// As the scatter read, zero-filling whatever lies past the end of the file.
    func readFully(into buffers: [UnsafeMutableRawBufferPointer], at offset: UInt64) throws {
        let done = try read(into: buffers, at: offset)
        var start = 0
        for buffer in buffers {
            let have = min(max(done - start, 0), buffer.count)
            if have < buffer.count {
                // A short vector read (end of file, or a signal): this buffer on its own.
                try readFully(into: UnsafeMutableRawBufferPointer(rebasing: buffer[have...]), at: offset + UInt64(start + have))
            }
            start += buffer.count
        }
    }

    /// Reads exactly `buffer.count` bytes, zero-filling whatever lies past the end of the file.
    /// Returns the number of bytes that came from the file.
    @discardableResult
    func readFully(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int {
        var done = 0
        while done < buffer.count {
            let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]), at: offset + UInt64(done))
            if n == 0 { break }
            done += n
        }
        if done < buffer.count {
            UnsafeMutableRawBufferPointer(rebasing: buffer[done...]).initializeMemory(as: UInt8.self, repeating: 0)
        }
        return done
    }

    package func write(_ bytes: [UInt8], at offset: UInt64) throws {
        try bytes.withUnsafeBytes { try write($0, at: offset) }
    }

    /// The bytes from `offset` on, up to `count` (fewer at the end of the file). The array is
    /// not zero-filled before the read: it holds exactly what the file gave.
    func readBytes(count: Int, at offset: UInt64) throws -> [UInt8] {
        try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            initialized = try readFully(into: UnsafeMutableRawBufferPointer(buffer), at: offset)
        }
    }
}

/// The operating system's files, or a test double of them.
public protocol FileSystem: Sendable {
    func open(_ path: String, create: Bool) throws -> any StorageFile
    func exists(_ path: String) -> Bool
    func remove(_ path: String) throws
    func rename(_ from: String, to: String) throws
    func makeDirectory(_ path: String) throws
    func list(_ directory: String) throws -> [String]
    func syncDirectory(_ path: String) throws
    /// Opens an existing file for writes of whole 4096-byte blocks at 4096-aligned offsets from
    /// 4096-aligned memory (and reads the same way), bypassing the operating system's cache where
    /// it can: the log writer's segments (docs/storage.md §2). The default is `open(path, create: false)`.
    func openForDirectWrites(_ path: String) throws -> any StorageFile
    /// Tries, without waiting, to become the only owner of the database whose page file is
    /// `path` (creating the file when `create`), against every other open of it in this process
    /// or another (`OwnerLock.swift`).
    func tryLockOwner(of path: String, create: Bool) throws -> OwnerLockAttempt
    /// The size in bytes of the file system holding `path`, or nil when unknown (the default):
    /// a small one gets small log segments (`StorageOptions.segmentCapacity(forFileSystemBytes:)`).
    func totalBytes(ofFileSystemAt path: String) -> UInt64?
}

extension FileSystem {
    public func openForDirectWrites(_ path: String) throws -> any StorageFile {
        try open(path, create: false)
    }

    public func totalBytes(ofFileSystemAt path: String) -> UInt64? { nil }
}

func parentDirectory(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    if slash == path.startIndex { return "/" }
    return String(path[..<slash])
}
