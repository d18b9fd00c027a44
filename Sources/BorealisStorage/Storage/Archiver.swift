// The continuous archive (docs/backup.md §4): sealed log segments compressed into an
// `ArchiveStore`, base images taken in the background, a catalogue object per change, and
// retention. Never on the commit path:
//
// - segments: the materializer's release of a sealed segment (LogWriter.releaseSegments, on
//   the materializer thread) hands the file here before it is recycled or deleted. It is
//   compressed and stored, then a new catalogue is written, and only then does the caller
//   drop the file: a crash in between leaves the segment live, archived again on the next
//   release (the same bytes under the same name). When the store fails (ENOSPC, EIO), the
//   segment's range is recorded as a gap, the segment is let go and the database carries on;
//   the next base image (forced by the gap) makes later points restorable again.
// - base images: a thread of its own, woken after each archived segment, takes a backup
//   (StorageEngine.backup, the format of §2) into the store's staging folder when the policy
//   says so (no base image yet, a gap since the newest, or `archiveBaseImageLogBytes` of log
//   since it), then moves it into the store and writes a catalogue.
// - retention after every change: base images oldest first, each only when the next one lies
//   at or before the oldest point the window keeps; then the segments wholly before the oldest
//   base image left, gaps before it, and old catalogues (the newest three stay).
//
// State (under `lock`): the catalogue as last written, the gaps not yet written (when even the
// catalogue could not be stored), the last error. Catalogue writes happen under the lock, so
// sequences are written in order.

import Glibc

final class Archiver: @unchecked Sendable {
    let store: any ArchiveStore
    private weak var engine: StorageEngine?
    private let options: StorageOptions
    private let lock = ConditionLock()
    // Guarded by `lock`.
    private var catalogue: ArchiveCatalogue
    private var lastError: DatabaseError?
    private var forceBase = false
    private var wakeRequested = false
    private var stopping = false
    private var running = false
    private var capturing = false
    /// Where the archived log starts when the catalogue lists no segment yet.
    private let startedAt: LSN
    private let startedMicros = wallClockMicroseconds()
    private var thread: pthread_t?     // set once by the thread itself, under `lock`
    /// Set when the store holds another database's archive: nothing is archived.
    private var foreign: DatabaseError?

    init(engine: StorageEngine, store: any ArchiveStore, oldestLiveSegment: LSN) throws {
        self.engine = engine
        self.options = engine.options
        self.store = store
        if let folder = store as? FolderArchiveStore {
            try folder.prepare()
            folder.removeLeftovers()
        }
        var skipped: [String] = []
        let found = try ArchiveCatalogue.newest(in: store, skipped: &skipped)
        if let found, found.databaseID == engine.databaseID {
            catalogue = found
        } else if let found {
            // Another database's history (this one was recreated at its path, or the folder
            // copied): never overwritten or expired by this one. Archiving stays off, and says so.
            catalogue = ArchiveCatalogue(databaseID: engine.databaseID, sequence: found.sequence)
            foreign = DatabaseError(.cantOpen, sqlState: SQLState.objectInUse,
                                    "the archive \((store as? FolderArchiveStore)?.folder ?? "store") holds the history of another database (id \(String(found.databaseID, radix: 16))); this database (id \(String(engine.databaseID, radix: 16))) does not archive until it is moved away")
            lastError = foreign
        } else {
            catalogue = ArchiveCatalogue(databaseID: engine.databaseID)
        }
        if catalogue.baseImages.isEmpty { forceBase = true }
        startedAt = catalogue.archivedEnd ?? oldestLiveSegment
    }

    // MARK: Thread

    func start() throws {
        lock.withLock {
            running = true
            wakeRequested = forceBase // the first base image right away
        }
        do {
            try startBackgroundThread(name: "borealis-archive", failForTesting: options.threadStartFailsForTesting) { [self] in
                lock.withLock { thread = pthread_self() }
                loop()
            }
        } catch {
            lock.withLock { running = false }
            throw error
        }
    }

    func wake() {
        lock.withLock {
            wakeRequested = true
            lock.broadcast()
        }
    }

    /// Stops the thread, cancelling a base image being taken, and waits for it (unless called
    /// from the thread itself, when the engine's last reference was dropped there).
    func stop() {
        lock.withLock {
            stopping = true
            lock.broadcast()
            if let thread, pthread_equal(thread, pthread_self()) != 0 { return }
            while running { lock.wait() }
        }
    }

    private func loop() {
        while true {
            let proceed = lock.withLock { () -> Bool in
                if !stopping && !wakeRequested { lock.wait(until: monotonicNanoseconds() + 1_000_000_000) }
                wakeRequested = false
                return !stopping
            }
            guard proceed, let engine else { break }
            if needsBaseImage(engine) { _ = try? captureBaseImage(engine, cancelledByStop: true) }
        }
        lock.withLock {
            running = false
            lock.broadcast()
        }
    }

    private var isStopping: Bool { lock.withLock { stopping } }

    // MARK: Base images

    func needsBaseImage(_ engine: StorageEngine) -> Bool {
        lock.withLock {
            if foreign != nil { return false }
            if forceBase { return true }
            guard let newest = catalogue.baseImages.last else { return true }
            let durable = engine.log.durableLSN
            return durable > newest.lsn && durable - newest.lsn >= UInt64(options.archiveBaseImageLogBytes)
        }
    }

    /// Takes a base image now (the background thread does this by policy) and returns its
    /// entry. With `onlyIfNone`, returns nil when the archive already holds one; with
    /// `cancelledByStop`, `stop()` cancels it (the thread's own captures).
    @discardableResult
    func captureBaseImage(_ engine: StorageEngine, onlyIfNone: Bool = false, cancelledByStop: Bool = false) throws -> ArchivedBaseImage? {
        // One capture at a time: a second caller waits for the first, then takes its own.
        let proceed = try lock.withLock { () -> Bool in
            if let foreign { throw foreign }
            while capturing { lock.wait() }
            if onlyIfNone && !catalogue.baseImages.isEmpty { return false }
            capturing = true
            return true
        }
        guard proceed else { return nil }
        defer {
            lock.withLock {
                capturing = false
                lock.broadcast()
            }
        }
        var rng = SystemRandomNumberGenerator()
        let staging = store.stagingDirectory + "/base-" + ArchiveName.hex(rng.next()) + ".bbk"
        do {
            if !engine.fileSystem.exists(store.stagingDirectory) { try engine.fileSystem.makeDirectory(store.stagingDirectory) }
            let manifest = try engine.backup(to: staging, progress: { [self] _ in !(cancelledByStop && isStopping) })
            defer { try? engine.fileSystem.remove(staging) }
            // A base image at the materialized LSN may not know its commit's time (the backup
            // scans the log from there on): the catalogue records it for time targets. When
            // no log says (no commit yet, or its segment recycled before archiving began), the
            // time the image was taken stands in: later than the commit, so a time target
            // only passes this base image over too early, never restores from it wrongly.
            var commitTime = manifest.commitMicros != 0 ? manifest.commitMicros : commitMicros(at: manifest.lsn, engine)
            if commitTime == 0 { commitTime = manifest.takenAtMicros }
            let entry = ArchivedBaseImage(lsn: manifest.lsn, commitMicros: commitTime, takenAtMicros: manifest.takenAtMicros,
                                          bytes: manifest.fileBytes, manifestChecksum: CRC32C.checksum(manifest.encoded()))
            try lock.withLock {
                try store.putFile(ArchiveName.base(manifest.lsn), from: staging)
                catalogue.baseImages.removeAll { $0.lsn == entry.lsn }
                catalogue.baseImages.append(entry)
                catalogue.baseImages.sort { $0.lsn < $1.lsn }
                forceBase = false
                applyRetentionLocked()
                try writeCatalogueLocked()
                lastError = nil
                deleteUnlistedLocked()
            }
            return entry
        } catch let error as DatabaseError {
            lock.withLock { if error.sqlState != SQLState.queryCanceled { lastError = error } }
            throw error
        }
    }

    /// The time stamp of the last commit at or before `lsn`: from the live log, else from the
    /// catalogue (0 when neither knows).
    private func commitMicros(at lsn: LSN, _ engine: StorageEngine) -> Int64 {
        let found = engine.commitMicros(at: lsn)
        if found != 0 { return found }
        return lock.withLock { catalogue.segments.last(where: { $0.end <= lsn && $0.lastCommitMicros != 0 })?.lastCommitMicros ?? 0 }
    }

    // MARK: Segments

    /// Archives the sealed segment file at `path` holding [start, end). Never throws: a
    /// failure is recorded as a gap (and in `lastError`), and the caller lets the segment go.
    func archiveSegment(path: String, start: LSN, end: LSN) {
        if lock.withLock({ foreign != nil }) { return }
        var staged: String?
        do {
            let (file, entry) = try compressSegment(path: path, start: start, end: end)
            staged = file
            // Stored and catalogued under the lock: `deleteUnlistedLocked` never sees it unlisted.
            try lock.withLock {
                try store.putFile(ArchiveName.segment(start), from: file)
                staged = nil
                if let previous = catalogue.segments.last(where: { $0.start < start }), previous.end < start,
                   !catalogue.gaps.contains(where: { $0.to == start }) {
                    catalogue.gaps.append(ArchiveGap(from: previous.end, to: start, recordedAtMicros: wallClockMicroseconds(), reason: .segmentMissing))
                    forceBase = true
                }
                catalogue.segments.removeAll { $0.start == start }
                catalogue.segments.append(entry)
                catalogue.segments.sort { $0.start < $1.start }
                applyRetentionLocked()
                try writeCatalogueLocked()
                lastError = nil
                deleteUnlistedLocked()
            }
        } catch {
            // A staged file the store did not take is removed (a store other than the folder
            // one never sweeps its staging folder).
            if let staged { try? options.fileSystem.remove(staged) }
            let failure = (error as? DatabaseError) ?? DatabaseError.internalError("\(error)")
            lock.withLock {
                lastError = failure
                catalogue.segments.removeAll { $0.start == start }
                catalogue.gaps.append(ArchiveGap(from: start, to: end, recordedAtMicros: wallClockMicroseconds(), reason: .storeFailed))
                forceBase = true
                // The gap goes into the next catalogue written; try now, it may fail too.
                try? writeCatalogueLocked()
            }
        }
        wake()
    }

    /// Compresses the segment at `path` into a staging file of the store, 1 MiB at a time
    /// (memory stays small whatever the segment's size), noting its commit times and the
    /// compressed object's size and CRC32C on the way. Returns the staged file and its entry.
    private func compressSegment(path: String, start: LSN, end: LSN) throws -> (String, ArchivedSegment) {
        let fs = options.fileSystem
        let file = try fs.open(path, create: false)
        defer { file.close() }
        let size = try file.size()
        guard size <= UInt64(Int32.max) else { throw DatabaseError.corrupt("log segment \(path) is \(size) bytes") }
        // The folder store makes its folders again if they went away (as its puts do).
        if let folder = store as? FolderArchiveStore {
            try folder.prepare()
        } else if !fs.exists(store.stagingDirectory) {
            try fs.makeDirectory(store.stagingDirectory)
        }
        // A random name, as base images have: a staging folder may be shared by other databases.
        var rng = SystemRandomNumberGenerator()
        let staged = store.stagingDirectory + "/seg-" + ArchiveName.hex(start) + "-" + ArchiveName.hex(rng.next()) + ".zst.partial"
        let out = try fs.open(staged, create: true)
        var finished = false
        defer {
            out.close()
            if !finished { try? fs.remove(staged) }
        }
        try out.truncate(to: 0)
        let compressor = try Zstd.StreamCompressor(level: 1, contentSize: size)
        var walker = CommitTimeWalker()
        var written: UInt64 = 0
        var checksum: UInt32 = 0
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var at: UInt64 = 0
        repeat {
            let count = Int(min(UInt64(chunk.count), size - at))
            try chunk.withUnsafeMutableBytes { buffer in
                let piece = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count])
                guard try file.readFully(into: piece, at: at) == count else {
                    throw DatabaseError.corrupt("log segment \(path) ended at \(at) of its \(size) bytes while it was archived")
                }
                walker.feed(UnsafeRawBufferPointer(piece))
                try compressor.compress(UnsafeRawBufferPointer(piece)) { compressed in
                    try out.write(compressed, at: written)
                    written += UInt64(compressed.count)
                    checksum = CRC32C.checksum(compressed, seed: checksum)
                }
            }
            at += UInt64(count)
        } while at < size
        finished = true // the store's putFile makes it durable
        return (staged, ArchivedSegment(start: start, end: end, firstCommitMicros: walker.firstCommit, lastCommitMicros: walker.lastCommit,
                                        bytes: written, checksum: checksum))
    }

    /// The first and last commit time stamps in a segment's bytes (0, 0 when it holds none).
    static func commitTimes(_ segment: [UInt8]) -> (first: Int64, last: Int64) {
        var walker = CommitTimeWalker()
        segment.withUnsafeBytes { walker.feed($0) }
        return (walker.firstCommit, walker.lastCommit)
    }

    // MARK: Catalogue and retention

    private func writeCatalogueLocked() throws {
        var next = catalogue
        next.sequence += 1
        try store.put(ArchiveName.catalogue(next.sequence), next.encoded())
        catalogue = next
        // The newest three stay: a torn newest falls back to the one before.
        if next.sequence > 3 { try? store.delete(ArchiveName.catalogue(next.sequence - 3)) }
    }

    /// Drops from the catalogue what the retention window no longer needs (objects are
    /// deleted by `deleteUnlistedLocked` after the catalogue without them is stored).
    private func applyRetentionLocked() {
        let seconds = options.archiveRetentionSeconds, limit = options.archiveRetentionBytes
        let (window, overflow) = Int64(clamping: seconds).multipliedReportingOverflow(by: 1_000_000)
        let cutoff = overflow ? Int64.min : wallClockMicroseconds() &- window
        while catalogue.baseImages.count >= 2 {
            let next = catalogue.baseImages[1]
            // The next base image lies at or before the window's oldest point: by time, or
            // because the log needed from it on is already past the byte budget.
            let byTime = next.commitMicros != 0 && next.commitMicros <= cutoff
            let logFromNext = catalogue.segments.filter { $0.end > next.lsn }.reduce(UInt64(0)) { $0 &+ $1.bytes }
            let byBytes = logFromNext >= UInt64(limit)
            guard byTime || byBytes else { break }
            catalogue.baseImages.removeFirst()
        }
        guard let oldest = catalogue.baseImages.first else { return }
        catalogue.segments.removeAll { $0.end <= oldest.lsn }
        catalogue.gaps.removeAll { $0.to <= oldest.lsn }
    }

    /// Deletes segment and base objects the current catalogue does not list and that lie
    /// before its oldest base image (expired, or orphans of a crash during retention). Under
    /// the lock: every put of a segment or base image is catalogued under it too, so an object
    /// being archived is never taken for an orphan. (An orphan of a crash may be the segment
    /// holding the oldest base image: it is still live, and archived again on its release.)
    private func deleteUnlistedLocked() {
        let oldestBase = catalogue.baseImages.first?.lsn
        let listed = Set(catalogue.segments.map { ArchiveName.segment($0.start) } + catalogue.baseImages.map { ArchiveName.base($0.lsn) })
        guard let oldestBase else { return }
        for name in (try? store.list("seg/")) ?? [] where !listed.contains(name) {
            if let start = ArchiveName.parse(name, prefix: "seg/", suffix: ".zst"), start < oldestBase { try? store.delete(name) }
        }
        for name in (try? store.list("base/")) ?? [] where !listed.contains(name) {
            if let lsn = ArchiveName.parse(name, prefix: "base/", suffix: ".bbk"), lsn < oldestBase { try? store.delete(name) }
        }
    }

    // MARK: Metrics

    struct Status {
        var lagBytes: UInt64
        var lagSeconds: Double
        var gaps: [ArchiveGap]
        var baseImages: Int
        var segments: Int
        var compressedLogBytes: UInt64
        var error: String?
    }

    func status(durable: LSN) -> Status {
        lock.withLock {
            let archivedEnd = catalogue.archivedEnd ?? startedAt
            let lag = durable > archivedEnd ? durable - archivedEnd : 0
            let since = max(catalogue.segments.last?.lastCommitMicros ?? 0, startedMicros)
            let seconds = lag == 0 ? 0 : max(0, Double(wallClockMicroseconds() - since) / 1e6)
            return Status(lagBytes: lag, lagSeconds: seconds, gaps: catalogue.gaps, baseImages: catalogue.baseImages.count,
                          segments: catalogue.segments.count, compressedLogBytes: catalogue.segmentBytes, error: lastError?.message)
        }
    }

    var currentCatalogue: ArchiveCatalogue { lock.withLock { catalogue } }
}

/// Walks a log segment's records as its bytes stream by, in pieces of any size, as recovery
/// walks them (the segment header, then records while their checksum chain holds), and keeps
/// the first and last commit time stamps (0 when it holds no commit). A record split across
/// two pieces waits in `pending` for the rest.
struct CommitTimeWalker {
    private(set) var firstCommit: Int64 = 0
    private(set) var lastCommit: Int64 = 0
    private var pending: [UInt8] = []
    private var header: LogFormat.SegmentHeader?
    private var chain: UInt32 = 0
    private var lsn: LSN = 0
    /// Bytes of the segment consumed (the header and whole records), and where its records
    /// may end (the header's capacity).
    private var offset = 0
    private var limit = 0
    private var stopped = false

    mutating func feed(_ piece: UnsafeRawBufferPointer) {
        guard !stopped else { return }
        pending.append(contentsOf: piece)
        let used = pending.withUnsafeBytes { walk($0) }
        pending.removeFirst(used)
    }

    /// Walks what `bytes` (the unconsumed bytes) holds whole; returns how many it consumed.
    private mutating func walk(_ bytes: UnsafeRawBufferPointer) -> Int {
        var at = 0
        if header == nil {
            guard bytes.count >= LogFormat.segmentHeaderSize else { return 0 }
            guard let decoded = LogFormat.SegmentHeader.decode(bytes) else {
                stopped = true
                return bytes.count
            }
            header = decoded
            chain = LogFormat.chainSeed(salt: decoded.salt)
            lsn = decoded.startLSN
            limit = LogFormat.segmentHeaderSize + Int(decoded.capacity)
            at = LogFormat.segmentHeaderSize
            offset = at
        }
        while bytes.count - at >= LogFormat.recordHeaderSize {
            let length = Int(bytes.littleEndian(at: at, as: UInt32.self))
            guard length <= limit - offset - LogFormat.recordHeaderSize else {
                stopped = true
                return bytes.count
            }
            guard bytes.count - at >= LogFormat.recordHeaderSize + length else { break }
            let record = UnsafeRawBufferPointer(rebasing: bytes[at..<(at + LogFormat.recordHeaderSize + length)])
            let stored = record.littleEndian(at: 4, as: UInt32.self)
            guard stored == LogFormat.recordChecksum(previous: chain, lsn: lsn, record: record) else {
                stopped = true
                return bytes.count
            }
            if record[8] == LogRecordType.commit.rawValue,
               let commit = try? CommitRecord.decode(UnsafeRawBufferPointer(rebasing: record[LogFormat.recordHeaderSize...])) {
                if firstCommit == 0 { firstCommit = commit.timestamp }
                lastCommit = commit.timestamp
            }
            chain = stored
            at += LogFormat.recordHeaderSize + length
            offset += LogFormat.recordHeaderSize + length
            lsn &+= UInt64(LogFormat.recordHeaderSize + length)
        }
        return at
    }
}
