// Online backup (docs/backup.md §2): the database as of one LSN, copied while writers keep
// committing. The backup holds a registered read snapshot, so the materializer pins the page
// versions it still needs (docs/storage.md §5) and neither side waits for the other. Pages are
// read at the snapshot without entering the shared cache (`VersionCache.readShared`), sealed
// with their checksums, and handed in runs of 256 to a second thread that compresses each run
// as one zstd frame and appends it to `FILE.partial` (reading and compressing overlap: two
// runs in flight at most). The manifest goes last, then fsync, rename to FILE, fsync of the
// folder. Until the rename nothing named FILE exists, and a file without its manifest is
// never taken for a backup.

/// How far a backup or restore has come: pages done out of the total.
public struct BackupProgress: Sendable {
    public var pagesDone: UInt64
    public var pageCount: UInt64
    /// Bytes of pages copied so far (uncompressed).
    public var bytesWritten: UInt64
}

/// The compressing half of a backup: runs queue here (two at most) and a thread of its own
/// compresses and appends them in order. Its state is guarded by `lock`.
private final class BackupFrameWriter: @unchecked Sendable {
    private let file: any StorageFile
    private let lock = ConditionLock()
    private var queue: [(first: PageNumber, count: Int, bytes: [UInt8])] = []
    /// The run the thread took off the queue and is compressing or writing (0 or 1): it still
    /// counts toward the two in flight, and abandoning the queue cannot take it away.
    private var inFlight = 0
    private var closed = false
    private var running = true
    private(set) var failure: Error?
    // Written by the thread, read after `finish`.
    private(set) var offset = UInt64(BackupFileHeader.size)
    private(set) var chain: UInt32 = 0
    private(set) var frames: UInt32 = 0
    private(set) var uncompressed: UInt64 = 0
    /// zstd level: -1 (fast mode) compresses table pages about as well as 1, and faster.
    static let level: Int32 = -1

    init(file: any StorageFile) throws {
        self.file = file
        try startBackgroundThread(name: "borealis-backup") { [self] in loop() }
    }

    /// Queues one run; waits while two are queued. Throws the thread's failure, if any.
    func add(first: PageNumber, count: Int, bytes: [UInt8]) throws {
        try lock.withLock {
            while queue.count + inFlight >= 2 && failure == nil { lock.wait() }
            if let failure { throw failure }
            queue.append((first, count, bytes))
            lock.broadcast()
        }
    }

    /// Waits until every queued run is written (or abandons them when `abandon`); throws the
    /// thread's failure.
    func finish(abandon: Bool = false) throws {
        try lock.withLock {
            closed = true
            if abandon { queue.removeAll() }
            lock.broadcast()
            while running { lock.wait() }
            if let failure, !abandon { throw failure }
        }
    }

    private func loop() {
        while true {
            let next: (first: PageNumber, count: Int, bytes: [UInt8])? = lock.withLock {
                while queue.isEmpty && !closed { lock.wait() }
                guard !queue.isEmpty else { return nil }
                inFlight = 1
                return queue.removeFirst()
            }
            guard let run = next else { break }
            do {
                let compressed = try Zstd.compress(run.bytes, level: Self.level)
                let frame = BackupFrameHeader(pages: UInt32(run.count), firstPage: run.first, compressedLength: UInt32(compressed.count),
                                              compressedChecksum: CRC32C.checksum(compressed),
                                              uncompressedChecksum: CRC32C.checksum(run.bytes)).encoded()
                chain = CRC32C.checksum(frame, seed: chain)
                try file.write(frame + compressed, at: offset)
                offset += UInt64(frame.count + compressed.count)
                frames += 1
                uncompressed += UInt64(run.bytes.count)
            } catch {
                lock.withLock {
                    failure = error
                    queue.removeAll()
                    inFlight = 0
                    lock.broadcast()
                }
                break
            }
            lock.withLock {
                inFlight = 0
                lock.broadcast()
            }
        }
        lock.withLock {
            running = false
            lock.broadcast()
        }
    }
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
        // The scan from the materialized LSN misses the commit at it (when everything is
        // materialized): then the segment holding it is read from its start.
        let scanned = scanLiveLog(timeAt: snapshot).commitMicros ?? 0
        let commitMicros = scanned != 0 ? scanned : self.commitMicros(at: snapshot)
        let file = try fileSystem.open(partial, create: true)
        var finished = false
        var writer: BackupFrameWriter?
        defer {
            try? writer?.finish(abandon: true)
            file.close()
            if !finished { try? fileSystem.remove(partial) }
        }
        try file.truncate(to: 0)
        let header = BackupFileHeader(pageSize: UInt32(pageSize), databaseID: databaseID, lsn: snapshot, pageCount: pageCount)
        try file.write(header.encoded(), at: 0)
        let frames = try BackupFrameWriter(file: file)
        writer = frames
        let size = pageSize
        var first: PageNumber = 1
        while first < pageCount {
            let count = Int(min(UInt64(BackupFrameHeader.maximumPages), pageCount - first))
            var run = [UInt8](repeating: 0, count: count * size)
            let images = try cache.readSharedRun(first, count: count, at: snapshot)
            try run.withUnsafeMutableBytes { buffer in
                for (i, image) in images.enumerated() {
                    let number = first + UInt64(i)
                    let page = UnsafeMutableRawBufferPointer(rebasing: buffer[(i * size)..<((i + 1) * size)])
                    page.copyMemory(from: UnsafeRawBufferPointer(image.bytes))
                    if image.isAllZero { continue }
                    guard image.pageNumber == number else {
                        throw DatabaseError.corrupt("page \(number) holds page \(image.pageNumber) at LSN \(snapshot)")
                    }
                    page.storeLittleEndian(CRC32C.checksum(UnsafeRawBufferPointer(rebasing: page[4...])), at: 0)
                }
            }
            try frames.add(first: first, count: count, bytes: run)
            first += UInt64(count)
            if let progress, !progress(BackupProgress(pagesDone: first - 1, pageCount: pageCount - 1, bytesWritten: (first - 1) * UInt64(size))) {
                throw DatabaseError(.interrupted, sqlState: SQLState.queryCanceled, "the backup to \(path) was cancelled by its progress callback")
            }
        }
        try frames.finish()
        let manifest = BackupManifest(pageSize: size, databaseID: databaseID, lsn: snapshot, commitMicros: commitMicros, takenAtMicros: takenAt,
                                      pageCount: pageCount, freeListHead: MetaPage.freeListHead(meta), freePages: MetaPage.freeCount(meta),
                                      catalogRoot: MetaPage.root(meta, slot: 0), segmentCapacity: UInt32(options.segmentCapacity),
                                      frameCount: frames.frames, manifestOffset: frames.offset, uncompressedBytes: frames.uncompressed,
                                      frameChain: frames.chain)
        try file.write(manifest.encoded(), at: frames.offset)
        try file.sync()
        if fileSystem.exists(path) { throw DatabaseError.fileExists(path, "a backup never overwrites a file") }
        try fileSystem.rename(partial, to: path)
        finished = true
        try fileSystem.syncDirectory(parentDirectory(of: path))
        return manifest
    }
}

extension StorageEngine {
    /// The time stamp of the last commit at or before `lsn` that the live segment holding `lsn`
    /// records (read from the segment's start); 0 when it holds none (no commit yet, or that
    /// commit is in a released segment).
    func commitMicros(at lsn: LSN) -> Int64 {
        struct Past: Error {}
        var found: Int64 = 0
        let scanner = LogScanner(fileSystem: fileSystem, directory: path + "-log", databaseID: databaseID)
        _ = try? scanner.scan(from: lsn) { event in
            guard case .record(let record) = event else { return }
            if record.after.end > lsn { throw Past() }
            if record.type == LogRecordType.commit.rawValue, let commit = try? CommitRecord.decode(record.payload) { found = commit.timestamp }
        }
        return found
    }
}
