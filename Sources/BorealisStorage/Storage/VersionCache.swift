// The version cache and the page→records index (DESIGN.md §4), under one lock.
//
// For every page it keeps
// - `versions`: immutable images, each valid for the snapshots in [v, w): v is the commit LSN
//   that produced it, w the next commit that changed the page (∞ while it is the newest).
//   Intervals of one page never overlap, so a lookup at S has at most one candidate.
// - `redo`: the page's redo records with commit LSN > the materialized LSN, ascending.
//
// Invariants:
// - Only the newest version of a page may have w = ∞; publishing commit C sets w = C on it.
// - A cached image is exactly the page as of any snapshot in its interval; it is never changed.
// - Unpinned versions may be evicted at any time (CLOCK); pinned ones are kept while a live
//   snapshot falls in their interval, because the page file may already be past them.
// - `generation` changes whenever the materialized LSN moves (and redo ≤ it is dropped); a version
//   rebuilt from a redo list copied under an older generation is used but not cached.
//
// Reads never wait for I/O under the lock: a miss copies the page's redo list, reads the page
// file outside the lock, applies the redo, and inserts the result.

import Glibc
import Synchronization

struct RedoRecord {
    var lsn: LSN
    var change: PageChange
}

final class VersionCache: @unchecked Sendable {
    struct Version {
        var image: PageImage
        var from: LSN
        var until: LSN
        var pinned: Bool
    }

    struct Entry {
        var versions: [Version] = []
        var redo: [RedoRecord] = []
        var referenced = false
        var inRing = false
    }

    struct Statistics {
        var hits: UInt64 = 0
        var misses: UInt64 = 0
        var bytes: Int = 0
        var versions: Int = 0
        var pinned: Int = 0
        var redoBytes: Int = 0
    }

    let pageSize: Int
    let capacityBytes: Int
    let pageFile: PageFile
    private let lock = ConditionLock()

    // Guarded by `lock`.
    private var entries: [PageNumber: Entry] = [:]
    private var ring: [PageNumber] = []
    private var hand = 0
    /// Written under `lock`; read without it by committers (back-pressure) and metrics.
    var materializedLSN: LSN { materialized.load(ordering: .acquiring) }
    private let materialized: Atomic<UInt64>
    private var generation: UInt64 = 0
    private var stats = Statistics()

    /// Odd while the materializer is writing pages in place; bumped before and after.
    let writeEpoch = Atomic<UInt64>(0)
    /// The page count as of the materialized LSN: pages from here on were allocated after it,
    /// so the page file holds no committed image of them and all their redo is kept here.
    /// Moves (with the materialized LSN, before any redo is dropped) under `lock`.
    private let materializedPageCount: Atomic<UInt64>
    var materializedPages: UInt64 { materializedPageCount.load(ordering: .acquiring) }

    init(pageFile: PageFile, capacityBytes: Int, materializedLSN: LSN, materializedPageCount: UInt64) {
        self.pageFile = pageFile
        self.pageSize = pageFile.pageSize
        self.capacityBytes = capacityBytes
        self.materialized = Atomic(materializedLSN)
        self.materializedPageCount = Atomic(materializedPageCount)
    }

    var statistics: Statistics { lock.withLock { stats } }

    /// The cached versions of `page` as [from, until) intervals, oldest first (tests).
    func versionIntervals(of page: PageNumber) -> [(from: LSN, until: LSN, pinned: Bool)] {
        lock.withLock { entries[page]?.versions.map { ($0.from, $0.until, $0.pinned) } ?? [] }
    }

    // MARK: Lookup

    /// The cached version of `page` valid at `snapshot` (intervals of a page never overlap:
    /// the newest version starting at or before the snapshot is the only candidate).
    private func version(of page: PageNumber, at snapshot: LSN) -> Version? {
        guard let versions = entries[page]?.versions,
              let version = versions.last(where: { $0.from <= snapshot }), snapshot < version.until else { return nil }
        return version
    }

    /// As `version(of:at:)`, marking the page recently used (the writer's reads). The entry is
    /// found once and changed in place through its index (no second hash, no copy of its
    /// arrays): this runs for every page a transaction reads.
    private func find(_ page: PageNumber, at snapshot: LSN) -> PageImage? {
        guard let index = entries.index(forKey: page) else { return nil }
        let image: PageImage? = entries.values[index].versions.withUnsafeBufferPointer { versions in
            guard let version = versions.last(where: { $0.from <= snapshot }), snapshot < version.until else { return nil }
            return version.image
        }
        guard let image else { return nil }
        entries.values[index].referenced = true
        return image
    }

    /// The image of `page` as of `snapshot` and its validity interval [from, until), for a
    /// replica (docs/replicas.md): taken from this cache when it holds that version, otherwise
    /// built from the page file and the redo index without being inserted here, so a replica's
    /// reads never evict the writer's pages. `until` is the first redo record after the
    /// version (∞ when there is none yet). The caller must not mutate the image.
    func readShared(_ page: PageNumber, at snapshot: LSN) throws -> (image: PageImage, from: LSN, until: LSN) {
        var attempts = 0
        while true {
            attempts += 1
            let (hit, redo) = lock.withLock { () -> ((PageImage, LSN, LSN)?, [RedoRecord]) in
                if let version = version(of: page, at: snapshot) { return ((version.image, version.from, version.until), []) }
                return (nil, entries[page]?.redo ?? [])
            }
            if let hit { return hit }
            guard let base = try build(page, at: snapshot, redo: redo, attempts: attempts) else { continue }
            let until = redo.first(where: { $0.lsn > base.lsn })?.lsn ?? .max
            return (base, base.lsn, until)
        }
    }

    /// As `readShared` for `count` consecutive pages from `first`, with one read of the page
    /// file for those not cached (a backup's reads, docs/backup.md §2): nothing is inserted
    /// here. A page whose read raced with the materializer goes the one-page way.
    func readSharedRun(_ first: PageNumber, count: Int, at snapshot: LSN) throws -> [PageImage] {
        let known = lock.withLock {
            (0..<count).map { i -> (cached: PageImage?, redo: [RedoRecord]) in
                let number = first + UInt64(i)
                if let version = version(of: number, at: snapshot) { return (version.image, []) }
                return (nil, entries[number]?.redo ?? [])
            }
        }
        let epochBefore = writeEpoch.load(ordering: .acquiring)
        let images = try pageFile.read(first, count: count)
        let epochAfter = writeEpoch.load(ordering: .acquiring)
        let quiet = epochBefore & 1 == 0 && epochBefore == epochAfter
        let newPages = materializedPageCount.load(ordering: .acquiring)
        return try images.enumerated().map { i, base in
            let number = first + UInt64(i)
            if let image = known[i].cached { return image }
            var base = base
            if !base.isValid(as: number) && number >= newPages { base = PageImage(size: pageSize) } // as in `build`
            guard quiet, base.isValid(as: number) else { return try readShared(number, at: snapshot).image }
            if base.isAllZero { base.pageNumber = number }
            guard base.lsn <= snapshot else { return try readShared(number, at: snapshot).image }
            try Self.applyRedo(known[i].redo, to: base, upTo: snapshot)
            return base
        }
    }

    /// The page as of `snapshot`: the page file's image plus the redo records after it, up to
    /// the snapshot (the image's LSN is set to the last one applied). Nil when the read raced
    /// with the materializer (a torn in-place write, or the page file already past the
    /// snapshot): the caller looks again, up to 1,000 attempts.
    private func build(_ page: PageNumber, at snapshot: LSN, redo: [RedoRecord], attempts: Int) throws -> PageImage? {
        let epochBefore = writeEpoch.load(ordering: .acquiring)
        var base = try pageFile.read(page)
        // A page allocated after the materialized LSN is written in place without a double-write
        // copy: a crash (or this read, during the write) may find it torn. Its redo since the
        // allocation, against the zero page, is all here; its image in the file is not needed.
        // (Read after `redo` was copied: redo is dropped only after the count has moved past it.)
        if !base.isValid(as: page) && page >= materializedPageCount.load(ordering: .acquiring) {
            base = PageImage(size: pageSize)
        }
        guard base.isValid(as: page) else {
            let epochAfter = writeEpoch.load(ordering: .acquiring)
            if (epochBefore & 1 == 1 || epochBefore != epochAfter) && attempts < 1000 { return nil }
            throw DatabaseError.corrupt("page \(page): checksum mismatch or misdirected write in the page file")
        }
        if base.isAllZero { base.pageNumber = page }
        let baseLSN = base.lsn
        if baseLSN > snapshot {
            // The materializer has moved this page past the snapshot; the version the snapshot
            // needs was pinned before that write, so the next lookup finds it.
            if attempts < 1000 { return nil }
            throw DatabaseError.internalError("page \(page): no version for snapshot \(snapshot) (page file at \(baseLSN), materialized \(materializedLSN))")
        }
        try Self.applyRedo(redo, to: base, upTo: snapshot)
        return base
    }

    /// Brings `base` (a page-file image, its LSN its version) forward by the records after
    /// its LSN up to `snapshot`; its LSN becomes the last one applied.
    private static func applyRedo(_ redo: [RedoRecord], to base: PageImage, upTo snapshot: LSN) throws {
        let baseLSN = base.lsn
        var version = baseLSN
        for record in redo where record.lsn > baseLSN && record.lsn <= snapshot {
            try record.change.apply(to: base)
            version = record.lsn
        }
        base.lsn = version
    }

    /// The first commit after `lsn` that changed `page` (the end of the interval of a
    /// version made at `lsn`), ∞ when none has yet. Called with the lock held.
    private func nextChange(of page: PageNumber, after lsn: LSN) -> LSN {
        entries[page]?.redo.first(where: { $0.lsn > lsn })?.lsn ?? .max
    }

    /// The image of `page` as of `snapshot`. The caller must not mutate it.
    func read(_ page: PageNumber, at snapshot: LSN) throws -> PageImage {
        var attempts = 0
        while true {
            attempts += 1
            let (hit, redo, generationSeen) = lock.withLock { () -> (PageImage?, [RedoRecord], UInt64) in
                if let image = find(page, at: snapshot) {
                    stats.hits += 1
                    return (image, [], 0)
                }
                stats.misses += 1
                return (nil, entries[page]?.redo ?? [], generation)
            }
            if let hit {
                if Self.verifiesHits { try verify(hit, of: page, at: snapshot) }
                return hit
            }
            guard let base = try build(page, at: snapshot, redo: redo, attempts: attempts) else { continue }
            let version = base.lsn
            lock.withLock {
                guard generation == generationSeen else { return }
                let until = nextChange(of: page, after: version)
                insert(Version(image: base, from: version, until: until, pinned: false), for: page)
            }
            return base
        }
    }

    /// Pages a read may fetch ahead of the one asked for.
    static let readAheadPages = 32

    /// As `read`, and when the page is not cached, also the pages right after it that `next`
    /// lists (a scan's next leaves, in order), as far as their numbers follow on one from
    /// another: one read of the page file for all of them. Every page built is handed to
    /// `keep` (the transaction holds them for its next reads). The pages ahead go into the
    /// cache only while it has room, so a scan of a table larger than the cache neither
    /// evicts other pages for them nor pays for evicting (the requested page is cached as by
    /// `read`). Best effort for the pages ahead: one that cannot be built now is left out.
    func read(_ page: PageNumber, at snapshot: LSN, readingAhead next: () -> [PageNumber],
              keep: (PageNumber, PageImage) -> Void) throws -> PageImage {
        let (hit, generationSeen) = lock.withLock { () -> (PageImage?, UInt64) in
            if let image = find(page, at: snapshot) {
                stats.hits += 1
                return (image, 0)
            }
            return (nil, generation)
        }
        if let hit {
            if Self.verifiesHits { try verify(hit, of: page, at: snapshot) }
            return hit
        }
        var run = 1
        for candidate in next().prefix(Self.readAheadPages - 1) where candidate == page + UInt64(run) { run += 1 }
        guard run > 1 else { return try read(page, at: snapshot) }
        let pages = (0..<run).map { page + UInt64($0) }
        // Per page: its cached image, or the redo to build it with.
        let known = lock.withLock {
            pages.map { number -> (cached: PageImage?, redo: [RedoRecord]) in
                if let version = version(of: number, at: snapshot) { return (version.image, []) }
                return (nil, entries[number]?.redo ?? [])
            }
        }
        let epochBefore = writeEpoch.load(ordering: .acquiring)
        let images = try pageFile.read(page, count: run)
        let epochAfter = writeEpoch.load(ordering: .acquiring)
        var built: [(PageNumber, PageImage)] = []
        var cached: [(PageNumber, PageImage)] = []
        for (i, base) in images.enumerated() {
            let number = pages[i]
            if let image = known[i].cached {
                cached.append((number, image))
                continue
            }
            let records = known[i].redo
            // A torn or racing read is left to the one-page path, which retries.
            guard epochBefore & 1 == 0, epochBefore == epochAfter, base.isValid(as: number) else { continue }
            if base.isAllZero { base.pageNumber = number }
            guard base.lsn <= snapshot else { continue }
            try Self.applyRedo(records, to: base, upTo: snapshot)
            built.append((number, base))
        }
        lock.withLock {
            stats.misses += 1
            guard generation == generationSeen else { return }
            for (number, image) in built where version(of: number, at: snapshot) == nil {
                guard number == page || stats.bytes + pageSize <= capacityBytes else { continue }
                let until = nextChange(of: number, after: image.lsn)
                insert(Version(image: image, from: image.lsn, until: until, pinned: false), for: number)
            }
        }
        for (number, image) in built + cached { keep(number, image) }
        if let first = built.first, first.0 == page { return first.1 }
        return try read(page, at: snapshot)
    }

    /// `BOREALIS_VERIFY_CACHE=1` in the environment: every hit of `read` is compared with the
    /// page rebuilt from the page file and the redo (slow; scripts/test runs the concurrency
    /// tests of the release build with it). A cached version that is not what its interval
    /// claims — the stretched version of `pinIfSuperseded` was one — fails the read at once
    /// instead of showing up, rarely, as a wrong answer.
    static let verifiesHits = getenv("BOREALIS_VERIFY_CACHE").map { String(cString: $0) } == "1"

    /// Throws when `hit`, the cached image of `page` at `snapshot`, differs from the page built
    /// anew. Skipped when the page file has moved past the snapshot or a round is writing it.
    private func verify(_ hit: PageImage, of page: PageNumber, at snapshot: LSN) throws {
        let redo = lock.withLock { entries[page]?.redo ?? [] }
        let epochBefore = writeEpoch.load(ordering: .acquiring)
        let base = try pageFile.read(page)
        let epochAfter = writeEpoch.load(ordering: .acquiring)
        guard epochBefore & 1 == 0, epochBefore == epochAfter, base.isValid(as: page), !base.isAllZero,
              base.lsn <= snapshot else { return }
        try Self.applyRedo(redo, to: base, upTo: snapshot)
        let cached = UnsafeRawBufferPointer(rebasing: hit.bytes[PageImage.bodyOffset...])
        let built = UnsafeRawBufferPointer(rebasing: base.bytes[PageImage.bodyOffset...])
        guard hit.lsn != base.lsn || !cached.elementsEqual(built) else { return }
        let intervals = versionIntervals(of: page).map { "[\($0.from), \($0.until))\($0.pinned ? " pinned" : "")" }
        throw DatabaseError.internalError("page \(page) at snapshot \(snapshot): the cached version (LSN \(hit.lsn)) differs from the page rebuilt from the page file and redo (LSN \(base.lsn)); cached versions \(intervals.joined(separator: ", "))")
    }

    private func insert(_ version: Version, for page: PageNumber) {
        // Changed in place (a copy of the entry would copy its arrays on every change).
        let inserted = updateEntry(page) { entry -> Bool in
            let position = entry.versions.firstIndex(where: { $0.from >= version.from }) ?? entry.versions.count
            if position < entry.versions.count && entry.versions[position].from == version.from { return false }
            entry.versions.insert(version, at: position)
            entry.referenced = true
            return true
        }
        guard inserted else { return }
        stats.bytes += pageSize
        stats.versions += 1
        evictIfNeeded()
    }

    /// Runs `body` on the page's entry in place (created when absent) and puts the page in the
    /// eviction ring if it is not there yet.
    private func updateEntry<T>(_ page: PageNumber, _ body: (inout Entry) -> T) -> T {
        var joinRing = false
        let result = { (entry: inout Entry) -> T in
            let r = body(&entry)
            if !entry.inRing {
                entry.inRing = true
                joinRing = true
            }
            return r
        }(&entries[page, default: Entry()])
        if joinRing { ring.append(page) }
        return result
    }

    // MARK: Commit

    /// Publishes a commit: each page's new image (valid from `commit` on; none for a page
    /// spilled by its transaction, whose version is rebuilt on demand) and its redo.
    /// `unreadBelow`, when given, is an LSN no snapshot can read before (no live snapshot, and
    /// new ones start at the durable LSN): unpinned versions that ended by then are dropped at
    /// once rather than left for eviction — a hot page would otherwise fill the cache with a
    /// version per commit.
    func publish(commit: LSN, pages: [(PageNumber, PageImage?, PageChange)], unreadBelow: LSN? = nil) {
        lock.withLock {
            for (page, image, change) in pages {
                let dropped = updateEntry(page) { entry -> Int in
                    if let last = entry.versions.indices.last, entry.versions[last].until == .max {
                        entry.versions[last].until = commit
                    }
                    var dropped = 0
                    if let unreadBelow, entry.versions.contains(where: { !$0.pinned && $0.until <= unreadBelow }) {
                        let before = entry.versions.count
                        entry.versions.removeAll { !$0.pinned && $0.until <= unreadBelow }
                        dropped = before - entry.versions.count
                    }
                    if let image { entry.versions.append(Version(image: image, from: commit, until: .max, pinned: false)) }
                    entry.redo.append(RedoRecord(lsn: commit, change: change))
                    entry.referenced = true
                    return dropped
                }
                let added = image == nil ? 0 : 1
                stats.bytes += pageSize * (added - dropped)
                stats.versions += added - dropped
                stats.redoBytes += change.memoryBytes
            }
            evictIfNeeded()
        }
    }

    /// Restores the redo index during recovery (no images are cached).
    func addRecoveredRedo(page: PageNumber, lsn: LSN, payload: [UInt8]) {
        lock.withLock {
            entries[page, default: Entry()].redo.append(RedoRecord(lsn: lsn, change: .delta(payload)))
            stats.redoBytes += payload.count
        }
    }

    // MARK: Materializer support

    /// Pages with redo at or before `target`, ascending.
    func pagesWithRedo(upTo target: LSN) -> [PageNumber] {
        lock.withLock {
            entries.compactMap { page, entry in (entry.redo.first.map { $0.lsn <= target } ?? false) ? page : nil }.sorted()
        }
    }

    /// Pins the version of `page` at `snapshot` if it ends at or before `target` (that is, if the
    /// page file is about to move past it). Returns whether a pin was made. `isLive` tells
    /// whether a snapshot at an LSN is still registered; it is asked under this cache's lock
    /// (the order `releasePins` takes them in).
    ///
    /// A round lists the live snapshots once, so one of them may end while it pins: its release
    /// then drops the versions pinned for it, possibly between the read here and the lock. Such a
    /// snapshot needs no pin, and its version must not be put back: its end can no longer be
    /// told, since the redo of the change that ended it may be gone with an earlier round, and
    /// `nextChange` would stretch the interval over that change — a stale image served to
    /// every later snapshot inside it (SnapshotRaceTests saw sums that disagreed with their
    /// total). While the snapshot is live, a version of it that ends at or before the
    /// materialized LSN stays pinned from the round that moved the page file past it, so one
    /// not found here ends after it, and the redo after the image is all here.
    @discardableResult
    func pinIfSuperseded(_ page: PageNumber, snapshot: LSN, target: LSN, isLive: (LSN) -> Bool) throws -> Bool {
        if !lock.withLock({ isLive(snapshot) }) { return false }
        let image: PageImage
        do {
            image = try read(page, at: snapshot)
        } catch {
            // An ended snapshot's version may be gone with the page file already past it.
            if !lock.withLock({ isLive(snapshot) }) { return false }
            throw error
        }
        afterPinReadForTesting?(page)
        return lock.withLock {
            if let entry = entries[page], let i = entry.versions.firstIndex(where: { $0.from <= snapshot && snapshot < $0.until }) {
                guard entry.versions[i].until <= target else { return false }
                if !entry.versions[i].pinned {
                    entries[page]!.versions[i].pinned = true
                    stats.pinned += 1
                }
                return true
            }
            guard isLive(snapshot) else { return false }
            // Not cached (evicted, or its generation moved on): insert it pinned, with its exact
            // interval.
            let until = nextChange(of: page, after: image.lsn)
            guard until <= target else { return false }
            updateEntry(page) { entry in
                let position = entry.versions.firstIndex(where: { $0.from >= image.lsn }) ?? entry.versions.count
                entry.versions.insert(Version(image: image, from: image.lsn, until: until, pinned: true), at: position)
            }
            stats.pinned += 1
            stats.bytes += pageSize
            stats.versions += 1
            return true
        }
    }

    /// Called by `pinIfSuperseded` between its read and its lock (tests end a snapshot there).
    var afterPinReadForTesting: ((PageNumber) -> Void)?

    /// After the header records `target` as materialized: drops redo ≤ target and the unpinned
    /// versions no snapshot from now on can need.
    func completeMaterialization(at target: LSN, pageCount: UInt64) {
        lock.withLock {
            materializedPageCount.store(pageCount, ordering: .releasing)
            materialized.store(target, ordering: .releasing)
            generation += 1
            // Entries are changed in place, through the values view (copying an entry out and
            // back would copy its arrays, and writing while iterating would copy the table).
            var i = entries.values.startIndex
            while i != entries.values.endIndex {
                let redo = entries.values[i].redo
                if let first = redo.first, first.lsn <= target {
                    let dropped = redo.prefix { $0.lsn <= target }
                    stats.redoBytes -= dropped.reduce(0) { $0 + $1.change.memoryBytes }
                    entries.values[i].redo.removeFirst(dropped.count)
                }
                let versions = entries.values[i].versions
                if versions.contains(where: { !$0.pinned && $0.until <= target }) {
                    let kept = versions.filter { $0.pinned || $0.until > target }
                    stats.bytes -= (versions.count - kept.count) * pageSize
                    stats.versions -= versions.count - kept.count
                    entries.values[i].versions = kept
                }
                entries.values.formIndex(after: &i)
            }
        }
    }

    /// Unpins versions no live snapshot needs any more. `live` gives the live snapshot LSNs; it
    /// is called under the lock, so that a pin made by a round (under the lock too) is judged
    /// by a list that has the snapshot it was made for. A list read before the call could
    /// miss a reader registered since, whose version a round pinned in between, and unpin it
    /// after the page file moved past it. (Lock order: this lock, then the registry's.)
    func releasePins(live: () -> [LSN]) {
        lock.withLock {
            guard stats.pinned > 0 else { return }
            let live = live()
            var i = entries.values.startIndex
            while i != entries.values.endIndex {
                let versions = entries.values[i].versions
                var changed = false
                var updated = versions
                for v in updated.indices where updated[v].pinned {
                    let version = updated[v]
                    if !live.contains(where: { $0 >= version.from && $0 < version.until }) {
                        updated[v].pinned = false
                        stats.pinned -= 1
                        changed = true
                    }
                }
                if changed {
                    // An unpinned version that ends at or before the materialized LSN is garbage.
                    let kept = updated.filter { $0.pinned || $0.until > materializedLSN }
                    stats.bytes -= (versions.count - kept.count) * pageSize
                    stats.versions -= versions.count - kept.count
                    entries.values[i].versions = kept
                }
                entries.values.formIndex(after: &i)
            }
        }
    }

    // MARK: Eviction (CLOCK over pages)

    private func evictIfNeeded() {
        guard stats.bytes > capacityBytes else { return }
        var scanned = 0
        while stats.bytes > capacityBytes && !ring.isEmpty && scanned < ring.count * 2 {
            if hand >= ring.count { hand = 0 }
            let page = ring[hand]
            scanned += 1
            // One lookup per page looked at; the entry is changed in place through its index.
            guard let index = entries.index(forKey: page) else {
                ring.swapAt(hand, ring.count - 1)
                ring.removeLast()
                continue
            }
            if entries.values[index].referenced {
                entries.values[index].referenced = false
                hand += 1
                continue
            }
            let before = entries.values[index].versions.count
            entries.values[index].versions.removeAll { !$0.pinned }
            let kept = entries.values[index].versions.count
            stats.bytes -= (before - kept) * pageSize
            stats.versions -= before - kept
            if kept == 0 {
                ring.swapAt(hand, ring.count - 1)
                ring.removeLast()
                if entries.values[index].redo.isEmpty {
                    entries.remove(at: index)
                } else {
                    entries.values[index].inRing = false
                }
            } else {
                hand += 1
            }
        }
    }
}
