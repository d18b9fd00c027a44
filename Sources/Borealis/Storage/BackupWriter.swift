// Online backup (docs/backup.md §2): the database as of one LSN, copied while writers keep
// committing. The backup holds a registered read snapshot, so the materializer pins the page
// versions it still needs (docs/storage.md §5) and neither side waits for the other. Pages are
// read at the snapshot without entering the shared cache (`VersionCache.readShared`), sealed
// with their checksums, and written in runs of 256 as zstd frames to `FILE.partial`; the
// manifest goes last, then fsync, rename to FILE, fsync of the folder. Until the rename
// nothing named FILE exists, and a file without its manifest is never taken for a backup.

/// How far a backup or restore has come: pages done out of the total.
public struct BackupProgress: Sendable {
    public var pagesDone: UInt64
    public var pageCount: UInt64
    /// Bytes written to the destination so far.
    public var bytesWritten: UInt64
}

extension StorageEngine {
    /// Writes a backup of the database as of now to `path` (which must not exist) and returns
    /// its manifest. `progress` is called after each run of pages; returning false cancels
    /// the backup (SQLSTATE 57014) and removes what was written.
    public func backup(to path: String, progress: ((BackupProgress) -> Bool)? = nil) throws -> BackupManifest {
        try checkOpen()
        if fileSystem.exists(path) { throw DatabaseError.fileExists(path, "a backup never overwrites a file") }
        let partial = path + ".partial"
        if fileSystem.exists(partial) { try fileSystem.remove(partial) } // a crashed backup's leftover
        let txn = try beginRead()
        defer { txn.rollback() }
        let snapshot = txn.snapshot
        let takenAt = wallClockMicroseconds()
        let meta = try txn.page(MetaPage.pageNumber)
        let pageCount = MetaPage.pageCount(meta)
        let commitMicros = scanLiveLog(timeAt: snapshot).commitMicros ?? 0
        let file = try fileSystem.open(partial, create: true)
        var finished = false
        defer {
            file.close()
            if !finished { try? fileSystem.remove(partial) }
        }
        try file.truncate(to: 0)
        let header = BackupFileHeader(pageSize: UInt32(pageSize), databaseID: databaseID, lsn: snapshot, pageCount: pageCount)
        try file.write(header.encoded(), at: 0)
        var offset = UInt64(BackupFileHeader.size)
        var chain: UInt32 = 0
        var frames: UInt32 = 0
        var uncompressed: UInt64 = 0
        let size = pageSize
        var run = [UInt8](repeating: 0, count: BackupFrameHeader.maximumPages * size)
        var first: PageNumber = 1
        while first < pageCount {
            let count = Int(min(UInt64(BackupFrameHeader.maximumPages), pageCount - first))
            run.withUnsafeMutableBytes { buffer in
                buffer.initializeMemory(as: UInt8.self, repeating: 0)
            }
            for i in 0..<count {
                let number = first + UInt64(i)
                let image = try cache.readShared(number, at: snapshot).image
                try run.withUnsafeMutableBytes { buffer in
                    let page = UnsafeMutableRawBufferPointer(rebasing: buffer[(i * size)..<((i + 1) * size)])
                    page.copyMemory(from: UnsafeRawBufferPointer(image.bytes))
                    if image.isAllZero { return }
                    guard image.pageNumber == number else {
                        throw DatabaseError.corrupt("page \(number) holds page \(image.pageNumber) at LSN \(snapshot)")
                    }
                    page.storeLittleEndian(CRC32C.checksum(UnsafeRawBufferPointer(rebasing: page[4...])), at: 0)
                }
            }
            let bytes = Array(run[0..<(count * size)])
            let compressed = try Zstd.compress(bytes, level: 1)
            let frame = BackupFrameHeader(pages: UInt32(count), firstPage: first, compressedLength: UInt32(compressed.count),
                                          compressedChecksum: CRC32C.checksum(compressed),
                                          uncompressedChecksum: CRC32C.checksum(bytes)).encoded()
            chain = CRC32C.checksum(frame, seed: chain)
            try file.write(frame + compressed, at: offset)
            offset += UInt64(frame.count + compressed.count)
            frames += 1
            uncompressed += UInt64(bytes.count)
            first += UInt64(count)
            if let progress, !progress(BackupProgress(pagesDone: first - 1, pageCount: pageCount - 1, bytesWritten: offset)) {
                throw DatabaseError(.interrupted, sqlState: SQLState.queryCanceled, "the backup to \(path) was cancelled by its progress callback")
            }
        }
        let manifest = BackupManifest(pageSize: size, databaseID: databaseID, lsn: snapshot, commitMicros: commitMicros, takenAtMicros: takenAt,
                                      pageCount: pageCount, freeListHead: MetaPage.freeListHead(meta), freePages: MetaPage.freeCount(meta),
                                      catalogRoot: MetaPage.root(meta, slot: 0), segmentCapacity: UInt32(options.segmentCapacity),
                                      frameCount: frames, manifestOffset: offset, uncompressedBytes: uncompressed, frameChain: chain)
        try file.write(manifest.encoded(), at: offset)
        try file.sync()
        if fileSystem.exists(path) { throw DatabaseError.fileExists(path, "a backup never overwrites a file") }
        try fileSystem.rename(partial, to: path)
        finished = true
        try fileSystem.syncDirectory(parentDirectory(of: path))
        return manifest
    }
}
