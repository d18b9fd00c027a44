// The storage engine of one database: page file, log, version cache, materializer, write lock
// and snapshots put together. It hands out `StorageTransaction`s and enforces the commit
// protocol of docs/storage.md §3:
//
//   private pages ──diff──▶ redo batch ──append──▶ log buffer (commit LSN C)
//        ──publish──▶ version cache + redo index, lastCommitLSN = C ──▶ release write lock
//        ──wait (group commit)──▶ durable ≥ C ──▶ visible to new snapshots
//
// Engine states: open ──(fsync/log failure)──▶ failed (reads only) ──close──▶ closed.

import Synchronization

/// The storage engine of one database file (for tools and tests; applications open a
/// `Database`, which owns one).
///
/// ```swift
/// let engine = try StorageEngine(path: "/tmp/x.db")
/// print(engine.metrics)
/// try engine.close()
/// ```
public final class StorageEngine: @unchecked Sendable {
    public let path: String
    /// Unique among the engines this process opens (an address may be reused, this is not).
    let instance = StorageEngine.instances.add(1, ordering: .relaxed).newValue
    private static let instances = Atomic<UInt64>(0)
    package let options: StorageOptions
    let fileSystem: any FileSystem
    let pageFile: PageFile
    let doubleWrite: DoubleWriteBuffer
    let cache: VersionCache
    let log: LogWriter
    let writerLock = WriterLock()
    let snapshots = SnapshotRegistry()
    /// Carries commits to the replicas attached to this engine (docs/replicas.md).
    let replicaFeed = ReplicaFeed()
    /// Tests only: runs inside a commit after it is in the log and published, before the
    /// replica feed has it (the window another committer's flush can make it durable in).
    var afterPublishForTesting: ((LSN) -> Void)?
    /// Tests only: runs inside a commit after it is in the log, before it is published.
    var beforePublishForTesting: ((LSN) -> Void)?
    /// Tests only: runs when a read snapshot has ended, after it is unregistered and before
    /// the pins no live snapshot needs are released.
    var beforeReleasingPinsForTesting: (() -> Void)?
    var materializer: Materializer!
    /// The continuous archive, when `StorageOptions.continuousArchive` is on (docs/backup.md §4).
    private(set) var archiver: Archiver?
    /// Why the continuous archive could not start for this open (its folder cannot be made or
    /// read); the database works without history, and `metrics.archiveError` says so.
    private var archiveUnavailable: String?
    public var pageSize: Int { pageFile.pageSize }
    public var databaseID: UInt64 { pageFile.databaseID }

    private struct State {
        var lastCommitLSN: LSN
        var nextTransactionID: UInt64
        var failure: DatabaseError?
        var closed = false
        var commits: UInt64 = 0
    }
    private let state: Locked<State>
    let progress = ConditionLock() // signalled when the materialized LSN moves
    let materializations = Atomic<UInt64>(0)
    let pageFileSyncs = Atomic<UInt64>(0)
    /// Pages restored from the double-write file when this database was opened.
    public let pagesRepairedOnOpen: [UInt64]
    /// Bytes of log recovery scanned past the materialized LSN when this database was opened.
    public let recoveredTailBytes: UInt64
    /// This engine's ownership of the database's files (`OwnerLock.swift`), released after
    /// its last write.
    private let ownerLock: any OwnerLock

    // MARK: Open

    /// Opens (creating when absent) the database at `path`: recovers from the log tail and starts
    /// the materializer.
    public init(path: String, options: StorageOptions = StorageOptions()) throws {
        let options = try options.validated()
        self.path = path
        self.options = options
        self.fileSystem = options.fileSystem
        if !options.createIfMissing && !fileSystem.exists(path) {
            throw DatabaseError(.cantOpen, sqlState: SQLState.undefinedFile, "unable to open database file \(path): it does not exist, and this open may not create it (read-only, or no create flag)")
        }
        let ownerLock = try OwnerLocking.acquire(fileSystem, path: path, create: options.createIfMissing,
                                                 timeoutMilliseconds: options.busyTimeoutMilliseconds)
        let recovered: Recovery.Result
        do {
            recovered = try Recovery.run(path: path, options: options)
        } catch {
            ownerLock.release()
            throw error
        }
        self.ownerLock = ownerLock
        pageFile = recovered.pageFile
        doubleWrite = recovered.doubleWrite
        cache = recovered.cache
        log = recovered.log
        pagesRepairedOnOpen = recovered.repairedPages
        recoveredTailBytes = recovered.lastCommitLSN - recovered.cache.materializedLSN
        state = Locked(State(lastCommitLSN: recovered.lastCommitLSN, nextTransactionID: recovered.lastTransactionID + 1))
        materializer = Materializer(engine: self)
        if options.archiving {
            let store = options.archiveStore ?? FolderArchiveStore(folder: path + "-archive", fileSystem: fileSystem)
            // History is kept by default: an archive that cannot start never keeps the
            // database from opening (as a failure while archiving never reaches it).
            do {
                let archiver = try Archiver(engine: self, store: store, oldestLiveSegment: log.oldestSegmentStart ?? recovered.lastCommitLSN)
                self.archiver = archiver
                log.archiveSegment = { [weak archiver] path, start, end in archiver?.archiveSegment(path: path, start: start, end: end) }
            } catch {
                archiveUnavailable = "the continuous archive is off for this open: \((error as? DatabaseError)?.message ?? "\(error)")"
            }
            if options.backgroundMaterializer, let archiver {
                do {
                    try archiver.start()
                } catch {
                    self.archiver = nil
                    log.archiveSegment = nil
                    archiveUnavailable = "the continuous archive is off for this open: its thread did not start (\((error as? DatabaseError)?.message ?? "\(error)"))"
                }
            }
        }
        if options.backgroundMaterializer { try materializer.start() } // on failure deinit closes the files
    }

    deinit {
        try? shutdown(finalRound: false)
    }

    /// Stops the materializer after one last round, and closes the files. Transactions still
    /// open fail from now on.
    public func close() throws {
        // An archive must hold a base image to restore anything: a database closed before the
        // background thread took its first one takes it now (once; later closes do not wait).
        if let archiver, failure == nil, (try? checkOpen()) != nil {
            _ = try? archiver.captureBaseImage(self, onlyIfNone: true)
        }
        try shutdown(finalRound: true)
    }

    private func shutdown(finalRound: Bool) throws {
        let already = state.withLock { s -> Bool in
            defer { s.closed = true }
            return s.closed
        }
        guard !already else { return }
        defer { ownerLock.release() }
        archiver?.stop()
        materializer.stop()
        var firstError: DatabaseError?
        if failure == nil {
            do {
                try log.waitDurable(lastCommitLSN)
                if finalRound { try materializer.runRound(self) }
            } catch let error as DatabaseError {
                firstError = error
            }
        }
        log.close()
        pageFile.file.close()
        doubleWrite.file.close()
        if let firstError { throw firstError }
    }

    /// Tests only: stops as a killed process would — no waiting, no last materialization, the
    /// files closed and the owner lock dropped — so that a second engine can recover the files.
    package func abandonForTesting() {
        let already = state.withLock { s -> Bool in
            defer { s.closed = true }
            return s.closed
        }
        guard !already else { return }
        archiver?.stop()
        materializer.stop()
        log.close()
        pageFile.file.close()
        doubleWrite.file.close()
        ownerLock.release()
    }

    // MARK: State

    var lastCommitLSN: LSN { state.withLock { $0.lastCommitLSN } }

    /// The newest commit that is both durable and published (its versions in the cache, its
    /// redo in the index). A commit can become durable through another committer's flush
    /// before its own thread has published it; a snapshot there would miss its pages, and a
    /// materializer round there would drop its redo without having written it.
    /// `lastCommitLSN` is read first: every commit up to it is published.
    var durablePublishedLSN: LSN {
        let published = lastCommitLSN
        return min(log.durableLSN, published)
    }

    /// The newest LSN a new read snapshot may see: durable commits (all commits with `.off`).
    var visibleLSN: LSN {
        options.synchronous == .full ? durablePublishedLSN : lastCommitLSN
    }

    package var failure: DatabaseError? { state.withLock { $0.failure } }

    func checkOpen() throws {
        try state.withLock { s in
            if s.closed { throw DatabaseError.misuse("the database is closed") }
        }
    }

    /// Puts the engine in the failed state: writes are refused until reopen.
    func fail(_ error: DatabaseError) {
        state.withLock { s in
            if s.failure == nil {
                s.failure = DatabaseError(error.code == .full ? .ioError : error.code, sqlState: error.sqlState,
                                          "the database refuses writes after an I/O failure; reopen it to recover (\(error.message))")
            }
        }
        progress.withLock { progress.broadcast() }
    }

    // MARK: Transactions

    /// Starts a read-only transaction on a replica's snapshot (its read point).
    package func beginRead(on replica: Replica, memo: PageMemo? = nil) throws -> StorageTransaction {
        try checkOpen()
        let (id, lsn) = try replica.beginSnapshot()
        return StorageTransaction(engine: self, replica: replica, snapshot: lsn, snapshotID: id, memo: memo)
    }

    /// Starts a read-only transaction on a snapshot of the latest durable state.
    public func beginRead() throws -> StorageTransaction {
        try beginRead(memo: nil)
    }

    /// A read transaction that may use `memo`, the connection's pages from earlier snapshots.
    package func beginRead(memo: PageMemo?) throws -> StorageTransaction {
        try checkOpen()
        let (id, lsn) = snapshots.register { visibleLSN }
        return StorageTransaction(engine: self, snapshot: lsn, snapshotID: id, memo: memo)
    }

    /// Starts a write transaction: takes the write lock (BUSY after the busy timeout) and reads
    /// the newest committed state.
    public func beginWrite() throws -> StorageTransaction {
        try beginWrite(memo: nil)
    }

    /// A write transaction that may use `memo` (see `beginRead(memo:)`).
    package func beginWrite(memo: PageMemo?, busyTimeoutMilliseconds: Int? = nil) throws -> StorageTransaction {
        try checkOpen()
        if let failure { throw failure }
        try writerLock.acquire(timeoutMilliseconds: busyTimeoutMilliseconds ?? options.busyTimeoutMilliseconds)
        return StorageTransaction(engine: self, writerAt: lastCommitLSN, memo: memo)
    }

    func nextTransactionID() -> UInt64 {
        state.withLock { s in
            defer { s.nextTransactionID += 1 }
            return s.nextTransactionID
        }
    }

    /// Appends part of a large transaction's redo ahead of its commit record, writing the log
    /// buffer out once it holds `commitStreamChunkBytes` (docs/storage.md §3, "Large transactions").
    /// Called with the write lock held. Once this has been called, any failure before the
    /// commit is published must go through `failStreamedCommit`.
    func appendAhead(_ records: [(LogRecordType, [UInt8])]) throws {
        if let failure { throw failure }
        _ = try log.append(records, endsTransaction: false)
        if log.bufferedBytes >= options.commitStreamChunkBytes { try log.writeBuffered() }
    }

    /// A commit failed after part of its redo went to the log: the log and the engine refuse
    /// writes from now on (recovery on reopen drops the incomplete transaction).
    func failStreamedCommit(_ error: DatabaseError) {
        log.fail(error)
        fail(error)
    }

    /// Appends and publishes one transaction's redo (the rest of it, after `appendAhead`).
    /// Called with the write lock held; returns the commit LSN. Durability is awaited by the
    /// caller after releasing the lock. `pages` carries an image for each page still in
    /// memory (nil for a spilled one).
    func commit(records: [(LogRecordType, [UInt8])], pages: [(PageNumber, PageImage?, PageChange)]) throws -> LSN {
        if let failure { throw failure }
        let commitLSN: LSN
        do {
            commitLSN = try log.append(records)
        } catch let error as DatabaseError {
            if error.code != .range { fail(error) }
            throw error
        }
        for case (_, let image?, _) in pages { image.lsn = commitLSN }
        // The visible LSN is read before the snapshot count: a snapshot registered after the
        // count was taken starts at or above it, so nothing it reads ends below it.
        beforePublishForTesting?(commitLSN)
        let visible = visibleLSN
        cache.publish(commit: commitLSN, pages: pages, unreadBelow: snapshots.count == 0 ? visible : nil)
        afterPublishForTesting?(commitLSN)
        if replicaFeed.hasReplicas {
            replicaFeed.append(FeedCommit(lsn: commitLSN, wallMicros: wallClockMicroseconds(), pages: pages.map { ($0.0, $0.2) }))
        }
        state.withLock { s in
            s.lastCommitLSN = commitLSN
            s.commits += 1
        }
        if options.synchronous == .off {
            if log.bufferedBytes >= 4 << 20 { try waitDurable(commitLSN) }
            replicaFeed.notify(commitLSN)
        }
        return commitLSN
    }

    func waitDurable(_ lsn: LSN) throws {
        do {
            try log.waitDurable(lsn)
            replicaFeed.notify(visibleLSN)
        } catch let error as DatabaseError {
            fail(error)
            throw error
        }
    }

    /// A read snapshot ended: versions pinned only for it can go. The live snapshots are read
    /// by `releasePins` under the cache's lock, not here: a reader registered after a list read
    /// here, and pinned by a round before this release, would lose its pins (the page file
    /// already past its snapshot, it could not read the page again).
    func snapshotEnded(_ id: UInt64) {
        snapshots.unregister(id)
        beforeReleasingPinsForTesting?()
        cache.releasePins(live: snapshots.live)
    }

    /// Slows a committer down when the materializer falls behind (DESIGN.md §5).
    func applyBackPressure() throws {
        let behind = lastCommitLSN - cache.materializedLSN
        if behind >= UInt64(options.materializeThresholdBytes) { materializer.wake() }
        guard behind > UInt64(options.logSoftCapBytes) else { return }
        if behind <= UInt64(options.logHardCapBytes) {
            let excess = Double(behind - UInt64(options.logSoftCapBytes)) / Double(options.logHardCapBytes - options.logSoftCapBytes)
            let micros = UInt32(min(1.0, excess) * 20_000)
            if micros > 0 { usleep(micros) }
            return
        }
        let deadline = monotonicNanoseconds() + UInt64(options.busyTimeoutMilliseconds) * 1_000_000
        try progress.withLock {
            while lastCommitLSN - cache.materializedLSN > UInt64(options.logHardCapBytes) {
                if let failure { throw failure }
                materializer.wake()
                if !progress.wait(until: deadline) {
                    throw DatabaseError(.full, sqlState: SQLState.configurationLimitExceeded,
                        "the log holds \(lastCommitLSN - cache.materializedLSN) un-materialized bytes, past its hard cap of \(options.logHardCapBytes); the materializer cannot keep up (see its last error in metrics)")
                }
            }
        }
    }

    // MARK: Metrics

    public var metrics: StorageMetrics {
        let stats = cache.statistics
        let s = state.withLock { $0 }
        let durable = log.durableLSN
        let materialized = cache.materializedLSN
        var m = StorageMetrics(
            durableLSN: durable,
            lastCommitLSN: s.lastCommitLSN,
            materializedLSN: materialized,
            unmaterializedBytes: s.lastCommitLSN - min(materialized, s.lastCommitLSN),
            fdatasyncCount: log.syncCount.load(ordering: .relaxed) + pageFileSyncs.load(ordering: .relaxed),
            commits: s.commits,
            materializations: materializations.load(ordering: .relaxed),
            liveSnapshots: snapshots.count,
            oldestSnapshotAgeSeconds: snapshots.oldestAgeSeconds,
            cacheHits: stats.hits,
            cacheMisses: stats.misses,
            cachedBytes: stats.bytes,
            pinnedVersions: stats.pinned,
            logSegments: log.segmentCount,
            logBytesWritten: log.bytesWritten.load(ordering: .relaxed),
            materializerError: materializer.lastError?.message)
        if let archive = archiver?.status(durable: durable) {
            m.archiveLagBytes = archive.lagBytes
            m.archiveLagSeconds = archive.lagSeconds
            m.archiveBaseImages = archive.baseImages
            m.archiveSegments = archive.segments
            m.archiveCompressedLogBytes = archive.compressedLogBytes
            m.archiveGaps = archive.gaps
            m.archiveError = archive.error
        } else if let archiveUnavailable {
            m.archiveError = archiveUnavailable
        }
        return m
    }

    /// Takes a base image into the continuous archive now (tests and tools; the archive's
    /// thread takes them by policy). Throws when the archive is off.
    @discardableResult
    public func captureBaseImageNow() throws -> ArchivedBaseImage {
        try checkOpen()
        guard let archiver else { throw DatabaseError.misuse(archiveUnavailable ?? "the continuous archive is off (StorageOptions.continuousArchive)") }
        guard let base = try archiver.captureBaseImage(self) else { throw DatabaseError.internalError("no base image was taken") }
        return base
    }

    /// The continuous archive's current catalogue (nil when the archive is off).
    public var archiveCatalogue: ArchiveCatalogue? { archiver?.currentCatalogue }

    /// Runs one materialization round now (tests and tools); the background thread does this
    /// on its own.
    public func materializeNow() throws {
        try checkOpen()
        try materializer.runRound(self)
    }
}

#if canImport(Glibc)
import Glibc
#endif
