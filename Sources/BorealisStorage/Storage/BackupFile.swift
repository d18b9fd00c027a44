// Reading, verifying and restoring a backup file (docs/backup.md §2 and §3). Every field read
// from the file is checked before it is used: the manifest and file header must agree, frame
// headers must carry their checksum, runs must be contiguous and cover the page count exactly,
// compressed and uncompressed bytes must match their checksums, every page its envelope. Any
// failure is a `corrupt` error (SQLSTATE XX001) naming the frame and its first page.
//
// Restore writes `NEW.restoring`, then renames it to NEW: a crash or a damaged backup never
// leaves a file named NEW that is not a complete database.

/// Verify and restore backups made by `Database.backup(to:)`.
///
/// ```swift
/// let manifest = try BackupFile.verify(at: "/backups/shop.bbk")
/// try BackupFile.restore(from: "/backups/shop.bbk", to: "/data/shop-restored.db")
/// ```
public enum BackupFile {
    /// Reads and checks the manifest and the file header (not the frames): what the backup
    /// says it holds. Throws XX001 when the file is not a complete backup.
    public static func manifest(at path: String, fileSystem: any FileSystem = PosixFileSystem()) throws -> BackupManifest {
        let file = try open(path, fileSystem)
        defer { file.close() }
        return try readManifest(file, path: path).manifest
    }

    /// Reads the whole backup and checks every checksum and page envelope; returns its
    /// manifest. Throws XX001 naming the first damage found.
    @discardableResult
    public static func verify(at path: String, fileSystem: any FileSystem = PosixFileSystem(),
                              progress: ((BackupProgress) -> Bool)? = nil) throws -> BackupManifest {
        try forEachRun(path, fileSystem, progress: progress) { _, _, _ in }
    }

    /// Restores the backup at `backup` into a new database at `path`: refused when `path`
    /// exists (or its log folder holds anything, or its double-write file is not empty). The
    /// backup is verified as it is read; nothing is left at `path` when it is damaged. The
    /// restored database has a new database id and continues the LSNs of its source.
    @discardableResult
    public static func restore(from backup: String, to path: String, fileSystem fs: any FileSystem = PosixFileSystem(),
                               progress: ((BackupProgress) -> Bool)? = nil) throws -> BackupManifest {
        try restore(from: backup, to: path, fileSystem: fs, progress: progress, replay: nil)
    }

    /// What a point-in-time restore does to the restored pages before the database gets its
    /// name: given the manifest and the page file (written, not yet synced), it may change
    /// pages and the header it is given.
    typealias Replay = (BackupManifest, any StorageFile, inout FileHeader) throws -> Void

    /// As `restore`, with `replay` run on the restored pages before the header is written (and
    /// before the log folder is made, so a replay that fails or is cancelled leaves none).
    static func restore(from backup: String, to path: String, fileSystem fs: any FileSystem, progress: ((BackupProgress) -> Bool)?,
                        replay: Replay?) throws -> BackupManifest {
        let logDirectory = path + "-log"
        let dwbPath = path + "-dwb"
        try refuseExistingDatabase(at: path, fs)
        let partial = path + ".restoring"
        if fs.exists(partial) { try fs.remove(partial) } // a crashed restore's leftover
        let out = try fs.open(partial, create: true)
        var finished = false
        defer {
            out.close()
            if !finished { try? fs.remove(partial) }
        }
        try out.truncate(to: 0)
        let manifest = try forEachRun(backup, fs, progress: progress) { first, pageSize, pages in
            try out.write(pages, at: first * UInt64(pageSize))
        }
        var rng = SystemRandomNumberGenerator()
        let databaseID: UInt64 = rng.next()
        var header = FileHeader(pageSize: UInt32(manifest.pageSize), databaseID: databaseID, sequence: 1, materializedLSN: manifest.lsn,
                                pageCount: manifest.pageCount, freeListHead: manifest.freeListHead, catalogRoot: manifest.catalogRoot,
                                segmentCapacity: manifest.segmentCapacity, coversPageCount: true)
        try replay?(manifest, out, &header)
        try out.write(header.encoded(), at: UInt64(FileHeader.slotOffsets[1]))
        // The page file is as long as its page count says, even when its last pages are zeros.
        let (length, overflow) = header.pageCount.multipliedReportingOverflow(by: UInt64(manifest.pageSize))
        if overflow { throw DatabaseError.corrupt("the restored meta page counts \(header.pageCount) pages") }
        if try out.size() < length { try out.truncate(to: length) }
        try out.sync()
        try fs.makeDirectory(logDirectory)
        try fs.open(dwbPath, create: true).close()
        if fs.exists(path) { throw DatabaseError.fileExists(path, "a restore never writes over a database; choose a new path") }
        try fs.rename(partial, to: path)
        finished = true
        try fs.syncDirectory(parentDirectory(of: path))
        return manifest
    }

    /// Throws 58P02 when `path` holds a database, or a log or double-write file of one: a
    /// restore never writes over one.
    static func refuseExistingDatabase(at path: String, _ fs: any FileSystem) throws {
        let logDirectory = path + "-log"
        let dwbPath = path + "-dwb"
        if fs.exists(path) { throw DatabaseError.fileExists(path, "a restore never writes over a database; choose a new path") }
        if fs.exists(logDirectory), !((try? fs.list(logDirectory)) ?? ["?"]).isEmpty {
            throw DatabaseError.fileExists(logDirectory, "it holds another database's log; choose a new path")
        }
        if fs.exists(dwbPath) {
            let file = try fs.open(dwbPath, create: false)
            let size = try file.size()
            file.close()
            if size > 0 { throw DatabaseError.fileExists(dwbPath, "it belongs to another database; choose a new path") }
        }
    }

    // MARK: Reading

    private static func open(_ path: String, _ fs: any FileSystem) throws -> any StorageFile {
        guard fs.exists(path) else {
            throw DatabaseError(.cantOpen, sqlState: SQLState.undefinedFile, "backup \(path) does not exist")
        }
        return try fs.open(path, create: false)
    }

    private static func readManifest(_ file: any StorageFile, path: String) throws -> (manifest: BackupManifest, header: BackupFileHeader, size: UInt64) {
        let size = try file.size()
        let smallest = UInt64(BackupFileHeader.size + BackupManifest.size)
        guard size >= smallest else {
            throw DatabaseError.badBackup(path, "it is \(size) bytes, too short to be a backup (a partial or torn copy)")
        }
        let tail = try file.readBytes(count: BackupManifest.size, at: size - UInt64(BackupManifest.size))
        guard let manifest = tail.withUnsafeBytes({ BackupManifest.decode($0) }) else {
            throw DatabaseError.badBackup(path, "it has no valid manifest at its end (a partial or torn backup, or not a backup)")
        }
        let head = try file.readBytes(count: BackupFileHeader.size, at: 0)
        guard let header = head.withUnsafeBytes({ BackupFileHeader.decode($0) }) else {
            throw DatabaseError.badBackup(path, "its file header is damaged")
        }
        let pageSize = manifest.pageSize
        guard header.pageSize == UInt32(pageSize), header.databaseID == manifest.databaseID, header.lsn == manifest.lsn,
              header.pageCount == manifest.pageCount, manifest.manifestOffset == size - UInt64(BackupManifest.size),
              pageSize >= 4096, pageSize <= 65536, pageSize & (pageSize - 1) == 0,
              manifest.pageCount >= 2, manifest.pageCount <= (1 << 40) / UInt64(pageSize) * 1024,
              manifest.freeListHead < manifest.pageCount, manifest.catalogRoot < manifest.pageCount
        else {
            throw DatabaseError.badBackup(path, "its manifest and file header disagree (a file spliced from two backups, or damaged)")
        }
        return (manifest, header, size)
    }

    /// Walks every frame, checking everything, and hands each run's pages (first page number,
    /// page size, bytes) to `body`. Returns the manifest once the whole file has verified.
    private static func forEachRun(_ path: String, _ fs: any FileSystem, progress: ((BackupProgress) -> Bool)?,
                                   _ body: (UInt64, Int, UnsafeRawBufferPointer) throws -> Void) throws -> BackupManifest {
        let file = try open(path, fs)
        defer { file.close() }
        let (manifest, _, _) = try readManifest(file, path: path)
        let pageSize = manifest.pageSize
        var offset = UInt64(BackupFileHeader.size)
        var next: UInt64 = 1
        var chain: UInt32 = 0
        var frames: UInt32 = 0
        var uncompressed: UInt64 = 0
        while offset < manifest.manifestOffset {
            let at = "frame \(frames) (offset \(offset), first page \(next))"
            guard manifest.manifestOffset - offset >= UInt64(BackupFrameHeader.size) else {
                throw DatabaseError.badBackup(path, "\(at) is cut short")
            }
            let raw = try file.readBytes(count: BackupFrameHeader.size, at: offset)
            guard let frame = raw.withUnsafeBytes({ BackupFrameHeader.decode($0) }) else {
                throw DatabaseError.badBackup(path, "\(at): its frame header is damaged")
            }
            guard frame.firstPage == next, frame.pages >= 1, frame.pages <= UInt32(BackupFrameHeader.maximumPages),
                  UInt64(frame.pages) <= manifest.pageCount - next else {
                throw DatabaseError.badBackup(path, "\(at): it holds pages \(frame.firstPage) + \(frame.pages), expected the run from page \(next)")
            }
            chain = CRC32C.checksum(raw, seed: chain)
            offset += UInt64(BackupFrameHeader.size)
            guard UInt64(frame.compressedLength) <= manifest.manifestOffset - offset else {
                throw DatabaseError.badBackup(path, "\(at) is cut short: \(frame.compressedLength) compressed bytes announced")
            }
            let compressed = try file.readBytes(count: Int(frame.compressedLength), at: offset)
            guard CRC32C.checksum(compressed) == frame.compressedChecksum else {
                throw DatabaseError.badBackup(path, "\(at): its compressed bytes fail their checksum")
            }
            let expected = Int(frame.pages) * pageSize
            let pages: [UInt8]
            do {
                pages = try Zstd.decompress(compressed, maximumSize: expected)
            } catch {
                throw DatabaseError.badBackup(path, "\(at): its pages do not decompress")
            }
            guard pages.count == expected, CRC32C.checksum(pages) == frame.uncompressedChecksum else {
                throw DatabaseError.badBackup(path, "\(at): its pages fail their checksum after decompression")
            }
            try pages.withUnsafeBytes { buffer in
                for i in 0..<Int(frame.pages) {
                    let number = next + UInt64(i)
                    let page = UnsafeRawBufferPointer(rebasing: buffer[(i * pageSize)..<((i + 1) * pageSize)])
                    let stored = page.littleEndian(at: PageImage.checksumOffset, as: UInt32.self)
                    let valid = (stored == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: page[4...]))
                                 && page.littleEndian(at: PageImage.pageNumberOffset, as: UInt64.self) == number)
                        || !page.contains(where: { $0 != 0 })
                    guard valid else { throw DatabaseError.badBackup(path, "page \(number) in \(at) fails its checksum") }
                }
                try body(next, pageSize, buffer)
            }
            offset += UInt64(frame.compressedLength)
            next += UInt64(frame.pages)
            frames += 1
            uncompressed += UInt64(expected)
            if let progress, !progress(BackupProgress(pagesDone: next - 1, pageCount: manifest.pageCount - 1, bytesWritten: uncompressed)) {
                throw DatabaseError(.interrupted, sqlState: SQLState.queryCanceled, "reading backup \(path) was cancelled by its progress callback")
            }
        }
        guard next == manifest.pageCount else {
            throw DatabaseError.badBackup(path, "its frames hold pages 1..<\(next), the manifest counts \(manifest.pageCount)")
        }
        guard frames == manifest.frameCount, chain == manifest.frameChain, uncompressed == manifest.uncompressedBytes else {
            throw DatabaseError.badBackup(path, "its frames do not match the manifest (\(frames) frames, \(manifest.frameCount) listed)")
        }
        return manifest
    }
}
