// The background materializer (DESIGN.md §5). A round with target T (≤ durable LSN, a commit
// boundary) writes every page with redo ≤ T into the page file as of T, torn-write safe, and
// then records T in the header; only after that are redo ≤ T and fully materialized log
// segments released. Before the page file moves past a live snapshot S < T, the version that S
// needs is pinned in the version cache, so old readers never stall a round.
//
//   idle ──(threshold reached | interval passed | wake())──▶ round ──▶ idle
//   round: pin ▶ per batch of 256 pages: build, double-write + fdatasync, in place + fdatasync
//          ▶ header + fdatasync ▶ release
//
// An I/O error in a round leaves the previous header in force (nothing is lost; the next round
// redoes the work). A failed fdatasync puts the engine in the failed state.

import FoundationEssentials
import Glibc
import Synchronization

final class Materializer: @unchecked Sendable {
    /// Weak: the engine owns the materializer. The thread holds the engine strongly only for
    /// the duration of a round, and stops when the engine is gone.
    private weak var engine: StorageEngine?
    private let options: StorageOptions
    private var thread: pthread_t?     // set once by start()
    private let lock = ConditionLock()
    private var wakeRequested = false  // guarded by lock
    private var stopping = false       // guarded by lock
    private var running = false        // guarded by lock
    private let roundLock = ConditionLock()
    private let error = Locked<DatabaseError?>(nil)
    var lastError: DatabaseError? { error.withLock { $0 } }

    static let batchPages = 256

    init(engine: StorageEngine) {
        self.engine = engine
        self.options = engine.options
    }

    func start() throws {
        lock.withLock { running = true }
        do {
            try startBackgroundThread(name: "borealis-materializer", failForTesting: options.threadStartFailsForTesting) { [self] in
                lock.withLock { self.thread = pthread_self() }
                loop()
            }
        } catch {
            lock.withLock { running = false }
            throw error
        }
    }

    func wake() {
        lock.withLock {
            if !wakeRequested {
                wakeRequested = true
                lock.broadcast()
            }
        }
    }

    /// Stops the thread and waits for it to finish its current round (unless called from the
    /// thread itself, when the engine's last reference was dropped there).
    func stop() {
        lock.withLock {
            stopping = true
            lock.broadcast()
            if let thread, pthread_equal(thread, pthread_self()) != 0 { return }
            while running { lock.wait() }
        }
    }

    private func loop() {
        let interval = UInt64(options.materializeIntervalMilliseconds) * 1_000_000
        var backoff: UInt64 = 0
        while true {
            let proceed = lock.withLock { () -> Bool in
                if !stopping && !wakeRequested { lock.wait(until: monotonicNanoseconds() + interval + backoff) }
                wakeRequested = false
                return !stopping
            }
            guard proceed, let engine else { break }
            do {
                try runRound(engine)
                try engine.log.prepareSpareSegment()
                backoff = 0
                self.error.withLock { $0 = nil }
            } catch let failure as DatabaseError {
                self.error.withLock { $0 = failure }
                backoff = min(max(backoff * 2, 10_000_000), 1_000_000_000)
            } catch {
                self.error.withLock { $0 = DatabaseError.internalError("\(error)") }
            }
        }
        lock.withLock {
            running = false
            lock.broadcast()
        }
    }

    /// Runs `body` while no round writes the page file (the integrity check re-reads a page
    /// that failed its checksum under it, to tell damage from a page caught mid-write).
    func withoutRounds<T>(_ body: () throws -> T) rethrows -> T {
        try roundLock.withLock(body)
    }

    /// One round; a no-op when nothing is waiting to be materialized.
    func runRound(_ engine: StorageEngine) throws {
        do {
            try roundLock.withLock { try round(engine) }
        } catch let error as DatabaseError {
            // A failed write leaves the old header in force; a failed fsync leaves the files in
            // an unknown state, so the engine stops accepting writes.
            if error.code == .ioError { engine.fail(error) }
            throw error
        }
    }

    private func round(_ engine: StorageEngine) throws {
        let cache = engine.cache
        if engine.failure != nil { return }
        var target: LSN
        if engine.options.synchronous == .full {
            // Durable and published: a commit made durable by another committer's flush
            // before its own thread published it has no redo in the index yet, and this
            // round would drop that redo without writing it (a lost update).
            target = engine.durablePublishedLSN
        } else {
            target = engine.lastCommitLSN
            try engine.waitDurable(target)
        }
        // Never past a replica's read point: a replica rebuilds the pages it lacks at its read
        // point from the page file (docs/replicas.md).
        if let lowest = engine.replicaFeed.lowestReadPoint { target = min(target, lowest) }
        guard target > cache.materializedLSN else { return }
        if engine.doubleWrite.protectsUnsyncedPages {
            // A previous round failed between its double-write and its in-place sync.
            cache.writeEpoch.add(1, ordering: .releasing)
            defer { cache.writeEpoch.add(1, ordering: .releasing) }
            _ = try engine.doubleWrite.repair(engine.pageFile, force: true)
        }

        let pages = cache.pagesWithRedo(upTo: target)
        // 1. Pin what live snapshots older than the target still need.
        let older = engine.snapshots.live().filter { $0 < target }
        if !older.isEmpty {
            for page in pages {
                for snapshot in older { try cache.pinIfSuperseded(page, snapshot: snapshot, target: target, isLive: engine.snapshots.isLive) }
            }
        }
        // 2. Batch by batch, the images as of the target (sealed copies: cached images are
        //    shared and immutable), written to the double-write file and then in place. Built
        //    per batch so a round never holds every page of a large commit at once. A page
        //    allocated after the materialized LSN skips the double-write file: the page file has
        //    no committed image of it to lose, and a torn write of it is rebuilt from its redo
        //    (VersionCache.build; docs/storage.md §5).
        let newPagesFrom = engine.pageFile.header.pageCount
        var start = 0
        while start < pages.count {
            var batch: [PageImage] = []
            batch.reserveCapacity(Self.batchPages)
            for page in pages[start..<min(pages.count, start + Self.batchPages)] {
                let image = PageImage(copying: try cache.read(page, at: target))
                image.pageNumber = page
                image.sealChecksum()
                batch.append(image)
            }
            let existing = batch.filter { $0.pageNumber < newPagesFrom }
            if !existing.isEmpty {
                try engine.doubleWrite.store(existing, target: target)
                engine.doubleWrite.protectsUnsyncedPages = true
                engine.pageFileSyncs.add(1, ordering: .relaxed)
            }
            cache.writeEpoch.add(1, ordering: .releasing)
            defer { cache.writeEpoch.add(1, ordering: .releasing) }
            try engine.pageFile.write(batch)
            try engine.pageFile.sync()
            engine.doubleWrite.protectsUnsyncedPages = false
            engine.pageFileSyncs.add(1, ordering: .relaxed)
            start += batch.count
        }
        let meta = try cache.read(MetaPage.pageNumber, at: target)
        // 3. The header names the new materialized LSN.
        var header = engine.pageFile.header
        header.materializedLSN = target
        header.pageCount = MetaPage.pageCount(meta)
        header.freeListHead = MetaPage.freeListHead(meta)
        header.catalogRoot = MetaPage.root(meta, slot: 0)
        // Version 2's fields (docs/storage.md §1): where recovery starts reading the log, the
        // durable LSN it must reach, and a file long enough for its page count.
        header.logChain = engine.log.chain(at: target)
        header.durableLSN = max(target, engine.log.durableLSN)
        let (length, overflow) = header.pageCount.multipliedReportingOverflow(by: UInt64(engine.pageFile.pageSize))
        if overflow { throw DatabaseError.corrupt("the meta page counts \(header.pageCount) pages") }
        if try engine.pageFile.file.size() < length {
            try engine.pageFile.file.truncate(to: length)
            try engine.pageFile.sync()
        }
        header.coversPageCount = true
        try engine.pageFile.writeHeader(header)
        engine.pageFileSyncs.add(1, ordering: .relaxed)
        // 4. Only now: release redo, versions and segments the new header made unnecessary.
        cache.completeMaterialization(at: target, pageCount: header.pageCount)
        engine.materializations.add(1, ordering: .relaxed)
        engine.progress.withLock { engine.progress.broadcast() }
        cache.releasePins(live: engine.snapshots.live)
        try engine.log.releaseSegments(before: target)
        engine.log.forgetChains(before: target)
    }
}
