// Read replicas inside the process (docs/replicas.md). The engine's `ReplicaFeed` carries every
// commit's per-page redo, in LSN order, to the attached replicas; each `Replica` applies the
// durable part on its own thread to the pages in its own cache and moves its read point one
// whole batch at a time.
//
//   attached ──apply (R → durable)──▶ attached
//   attached ──R more than maxLagBytes behind the last commit──▶ detached (every read fails)
//   attached ──promote / close──▶ gone (leaves the feed)

import FoundationEssentials
import Synchronization

/// Settings of one replica.
public struct ReplicaOptions: Sendable {
    /// Bytes of page versions the replica's own cache keeps (CLOCK eviction past it).
    public var cacheBytes = 16 << 20
    /// A replica whose read point falls this many log bytes behind the writer's last commit is
    /// detached (its reads then fail) rather than holding the log back.
    public var maxLagBytes = 8 << 20
    /// Tests only: the apply thread fails to start, as when the system has none to give.
    var threadStartFailsForTesting = false

    public init(cacheBytes: Int = 16 << 20, maxLagBytes: Int = 8 << 20) {
        self.cacheBytes = cacheBytes
        self.maxLagBytes = maxLagBytes
    }
}

/// How far a replica is behind: log bytes between its read point and the durable LSN, and the
/// age of the oldest durable commit it has not applied (0 when caught up).
public struct ReplicaLag: Sendable, Equatable, CustomStringConvertible {
    public var bytes: UInt64
    public var seconds: Double
    public var description: String { "\(bytes) bytes, \(cFormat("%.6f", seconds)) s" }
}

/// One commit as the replicas see it.
struct FeedCommit {
    let lsn: LSN
    let wallMicros: Int64
    let pages: [(PageNumber, PageChange)]
}

/// The writer's side: commits not yet applied by every replica, and the replicas to wake.
final class ReplicaFeed: @unchecked Sendable {
    private struct State {
        var commits: [FeedCommit] = []
        var replicas: [ObjectIdentifier: Replica] = [:]
    }
    private let state = Locked(State())
    /// Replicas attached (read without the lock on every commit).
    private let attached = Atomic<Int>(0)
    /// The LSN of the last commit appended. A commit becomes durable (by another committer's
    /// flush) possibly before its own thread appends it here, so replicas apply only up to
    /// min(durable, this): moving a read point past a commit not yet in the feed would skip it.
    private let appendedThrough = Atomic<UInt64>(0)

    /// How far a replica attached at `attachedAt` may apply now, given the visible LSN (commits
    /// up to its attach point were visible to it from the start).
    func applicableLimit(_ visible: LSN, attachedAt: LSN) -> LSN {
        min(visible, max(attachedAt, appendedThrough.load(ordering: .acquiring)))
    }

    var hasReplicas: Bool { attached.load(ordering: .relaxed) > 0 }

    func attach(_ replica: Replica) {
        state.withLock { $0.replicas[ObjectIdentifier(replica)] = replica }
        attached.add(1, ordering: .relaxed)
    }

    func detach(_ replica: Replica) {
        let removed = state.withLock { s -> Bool in
            guard s.replicas.removeValue(forKey: ObjectIdentifier(replica)) != nil else { return false }
            trim(&s)
            return true
        }
        if removed { attached.subtract(1, ordering: .relaxed) }
    }

    /// Appends a commit (the write lock is held, so commits arrive in LSN order) and detaches
    /// replicas that fell more than their limit behind.
    func append(_ commit: FeedCommit) {
        let laggards = state.withLock { s -> [Replica] in
            s.commits.append(commit)
            appendedThrough.store(commit.lsn, ordering: .releasing)
            return s.replicas.values.filter { commit.lsn - min(commit.lsn, $0.readPoint) > UInt64($0.options.maxLagBytes) }
        }
        for replica in laggards {
            replica.markDetached(behindBy: commit.lsn - min(commit.lsn, replica.readPoint))
        }
    }

    /// The commits in (after, upTo], in order.
    func commits(after: LSN, upTo: LSN) -> [FeedCommit] {
        state.withLock { s in
            var low = 0, high = s.commits.count
            while low < high {
                let mid = (low + high) / 2
                if s.commits[mid].lsn <= after { low = mid + 1 } else { high = mid }
            }
            var result: [FeedCommit] = []
            var i = low
            while i < s.commits.count && s.commits[i].lsn <= upTo {
                result.append(s.commits[i])
                i += 1
            }
            return result
        }
    }

    /// Drops commits every replica has applied.
    func applied() {
        state.withLock { trim(&$0) }
    }

    private func trim(_ s: inout State) {
        let lowest = s.replicas.values.map(\.readPoint).min() ?? .max
        let keep = s.commits.firstIndex { $0.lsn > lowest } ?? s.commits.count
        if keep > 0 { s.commits.removeFirst(keep) }
    }

    /// The lowest read point of the attached replicas (the materializer stays at or below it).
    var lowestReadPoint: LSN? {
        state.withLock { s in s.replicas.values.map(\.readPoint).min() }
    }

    /// The durable (visible) LSN moved: the calling committer applies it to every replica.
    func notify(_ visible: LSN) {
        guard hasReplicas else { return }
        let replicas = state.withLock { Array($0.replicas.values) }
        for replica in replicas { replica.applyNow(visible) }
    }

    /// The wall time of the oldest commit after `lsn` still in the feed.
    func oldestCommitTime(after lsn: LSN) -> Int64? {
        state.withLock { s in s.commits.first { $0.lsn > lsn }?.wallMicros }
    }
}

/// A replica's cache and apply thread. Queries read it through `StorageTransaction`s whose page
/// source is the replica.
package final class Replica: @unchecked Sendable {
    struct Version {
        var image: PageImage
        var from: LSN
        var until: LSN
    }

    let engine: StorageEngine
    let options: ReplicaOptions
    /// The read point it started at.
    private let attachedAt: LSN
    private let lock = ConditionLock()
    // Guarded by `lock`.
    private var versions: [PageNumber: [Version]] = [:]
    private var referenced: Set<PageNumber> = []
    private var ring: [PageNumber] = []
    private var hand = 0
    private var bytes = 0
    private var point: LSN
    private var readPointSnapshotID: UInt64
    private var liveSnapshots: [LSN: Int] = [:]
    private var visibleSeen: LSN
    private var stopping = false
    private var running = false
    private var detachedError: DatabaseError?
    private var commitsApplied: UInt64 = 0
    /// Tests only: runs between building a missed page and caching it (the race window).
    var afterSharedRead: ((PageNumber) -> Void)?

    /// The newest commit applied (read by the feed without the lock: a relaxed atomic mirror).
    private let readPointMirror: Atomic<UInt64>
    var readPoint: LSN { readPointMirror.load(ordering: .acquiring) }

    /// Attaches a replica at the engine's visible LSN: O(1), nothing is copied.
    package init(engine: StorageEngine, options: ReplicaOptions) throws {
        try engine.checkOpen()
        self.engine = engine
        self.options = options
        // The read point is registered as a snapshot, atomically with taking it, so a
        // materializer round that chose its target before the attach cannot pass it unseen.
        let (id, lsn) = engine.snapshots.register { engine.visibleLSN }
        point = lsn
        attachedAt = lsn
        visibleSeen = lsn
        readPointSnapshotID = id
        readPointMirror = Atomic(lsn)
        engine.replicaFeed.attach(self)
        running = true
        do {
            try startBackgroundThread(name: "borealis-replica", failForTesting: options.threadStartFailsForTesting) { [self] in applyLoop() }
        } catch {
            running = false
            leave()
            throw error
        }
    }

    // MARK: Apply

    /// Called by a committer that saw the durable LSN reach `visible`: applies the batch here
    /// and now, on a thread that is already running, so replica lag does not wait for the
    /// apply thread to be scheduled (on a busy machine that took milliseconds). The apply
    /// thread still covers whatever no committer applied.
    /// Returns whether the read point moved.
    @discardableResult
    func applyNow(_ visible: LSN) -> Bool {
        let moved = lock.withLock { () -> Bool in
            if visible > visibleSeen { visibleSeen = visible }
            let target = engine.replicaFeed.applicableLimit(visible, attachedAt: attachedAt)
            guard !stopping, detachedError == nil, target > point else { return false }
            applyLocked(engine.replicaFeed.commits(after: point, upTo: target), upTo: target)
            return true
        }
        if moved { engine.replicaFeed.applied() }
        return moved
    }

    private func applyLoop() {
        while true {
            let visible = lock.withLock { () -> LSN? in
                while !stopping && detachedError == nil && visibleSeen <= point {
                    // Also look now and then, in case a wake-up raced with the wait.
                    lock.wait(until: monotonicNanoseconds() + 50_000_000)
                    let visible = engine.visibleLSN
                    if visible > visibleSeen { visibleSeen = visible }
                }
                return (stopping || detachedError != nil) ? nil : visibleSeen
            }
            guard let visible else { break }
            if !applyNow(visible) {
                // The durable commits are not all in the feed yet; their committers apply them.
                lock.withLock { _ = lock.wait(until: monotonicNanoseconds() + 10_000_000) }
            }
        }
        lock.withLock {
            running = false
            lock.broadcast()
        }
    }

    /// Applies a batch of commits atomically (the lock held), ending with the read point moved.
    private func applyLocked(_ commits: [FeedCommit], upTo target: LSN) {
        guard detachedError == nil, target > point else { return }
        for commit in commits where commit.lsn > point {
            for (page, change) in commit.pages {
                guard var list = versions[page],
                      let i = list.lastIndex(where: { $0.from < commit.lsn && ($0.until == commit.lsn || $0.until == .max) }) else { continue }
                let before = list.count
                list[i].until = commit.lsn
                // A page its transaction spilled: the new image is in a file, not read under
                // this lock; the old version just ends here and the next read rebuilds the page.
                if case .delta(let payload) = change {
                    let image = PageImage(copying: list[i].image)
                    do {
                        try payload.withUnsafeBytes { try PageDelta.apply($0, to: image) }
                    } catch {
                        // Cannot happen for redo the writer produced; drop the page instead of
                        // serving a wrong image (the next read rebuilds it from the log).
                        bytes -= before * engine.pageSize
                        versions[page] = nil
                        continue
                    }
                    image.lsn = commit.lsn
                    list.insert(Version(image: image, from: commit.lsn, until: .max), at: i + 1)
                }
                let kept = pruned(list)
                bytes += (kept.count - before) * engine.pageSize
                versions[page] = kept
            }
            commitsApplied += 1
        }
        // Every commit up to the target is in: the new read point (also registered as a
        // snapshot before the old one goes, so the materializer never passes it).
        let newPoint = max(point, commits.last?.lsn ?? target, target)
        if newPoint != point {
            let (id, _) = engine.snapshots.register { newPoint }
            engine.snapshots.unregister(readPointSnapshotID)
            readPointSnapshotID = id
            point = newPoint
            readPointMirror.store(newPoint, ordering: .releasing)
        }
        evictIfNeeded()
        lock.broadcast()
    }

    /// Keeps the versions a live replica snapshot or the read point can still read.
    private func pruned(_ list: [Version]) -> [Version] {
        list.filter { v in
            v.until == .max || v.until > point || liveSnapshots.keys.contains { $0 >= v.from && $0 < v.until }
        }
    }

    // MARK: Reads

    /// Starts a query snapshot at the read point; `snapshotEnded` ends it.
    func beginSnapshot() throws -> (id: UInt64, lsn: LSN) {
        try lock.withLock {
            if let detachedError { throw detachedError }
            let point = self.point
            let (id, lsn) = engine.snapshots.register { point }
            liveSnapshots[lsn, default: 0] += 1
            return (id, lsn)
        }
    }

    /// Starts another query snapshot at `lsn`, a snapshot that is live now (its versions are
    /// kept while the count for it stays above zero); `snapshotEnded` ends it.
    func beginSnapshot(sharing lsn: LSN) throws -> UInt64 {
        try lock.withLock {
            if let detachedError { throw detachedError }
            guard liveSnapshots[lsn] != nil else {
                throw DatabaseError.internalError("replica snapshot \(lsn) shared after it ended")
            }
            let (id, _) = engine.snapshots.register { lsn }
            liveSnapshots[lsn, default: 0] += 1
            return id
        }
    }

    func snapshotEnded(id: UInt64, lsn: LSN) {
        engine.snapshotEnded(id)
        lock.withLock {
            if let n = liveSnapshots[lsn] { liveSnapshots[lsn] = n > 1 ? n - 1 : nil }
        }
    }

    /// The page as of `snapshot` (≤ the read point).
    func read(_ page: PageNumber, at snapshot: LSN) throws -> PageImage {
        let (hit, pointBefore) = try lock.withLock { () -> (PageImage?, LSN) in
            if let detachedError { throw detachedError }
            if let v = versions[page]?.last(where: { $0.from <= snapshot && snapshot < $0.until }) {
                referenced.insert(page)
                return (v.image, point)
            }
            return (nil, point)
        }
        if let hit { return hit }
        let (image, from, until) = try engine.cache.readShared(page, at: snapshot)
        afterSharedRead?(page)
        lock.withLock {
            // Cached only if no commit was applied meanwhile that this page might have skipped.
            guard point == pointBefore || until <= pointBefore else { return }
            var list = versions[page] ?? []
            if list.contains(where: { $0.from == from }) { return }
            let position = list.firstIndex { $0.from > from } ?? list.count
            list.insert(Version(image: image, from: from, until: until), at: position)
            if versions[page] == nil { ring.append(page) }
            versions[page] = list
            referenced.insert(page)
            bytes += engine.pageSize
            evictIfNeeded()
        }
        return image
    }

    private func evictIfNeeded() {
        var scanned = 0
        while bytes > options.cacheBytes && !ring.isEmpty && scanned < ring.count * 2 {
            if hand >= ring.count { hand = 0 }
            let page = ring[hand]
            scanned += 1
            if referenced.remove(page) != nil {
                hand += 1
                continue
            }
            bytes -= (versions[page]?.count ?? 0) * engine.pageSize
            versions[page] = nil
            ring.swapAt(hand, ring.count - 1)
            ring.removeLast()
        }
    }

    // MARK: State

    package var lag: ReplicaLag {
        let visible = engine.visibleLSN
        let point = readPoint
        guard visible > point else { return ReplicaLag(bytes: 0, seconds: 0) }
        let seconds = engine.replicaFeed.oldestCommitTime(after: point).map { max(0, Double(wallClockMicroseconds() - $0) / 1e6) } ?? 0
        return ReplicaLag(bytes: visible - point, seconds: seconds)
    }

    /// Waits until the read point reaches `lsn`; false on timeout.
    package func waitFor(_ lsn: LSN, timeoutSeconds: Double) throws -> Bool {
        let deadline = monotonicNanoseconds() + UInt64(max(0, timeoutSeconds) * 1e9)
        return try lock.withLock {
            while point < lsn {
                if let detachedError { throw detachedError }
                if monotonicNanoseconds() >= deadline { return false }
                lock.wait(until: min(deadline, monotonicNanoseconds() + 10_000_000))
            }
            return true
        }
    }

    var cachedBytes: Int { lock.withLock { bytes } }
    /// Commits applied since the replica was attached.
    var appliedCommits: UInt64 { lock.withLock { commitsApplied } }

    package var detached: DatabaseError? { lock.withLock { detachedError } }

    func markDetached(behindBy lag: UInt64) {
        lock.withLock {
            guard detachedError == nil else { return }
            detachedError = DatabaseError(.error, sqlState: SQLState.objectNotInPrerequisiteState,
                "the replica fell \(lag) bytes behind the writer (limit \(options.maxLagBytes)) and was detached; close it and open a new replica")
            lock.broadcast()
        }
        leave()
    }

    /// Applies everything up to the durable LSN now, then stops following (promotion).
    package func catchUpAndStop() throws {
        // The writer is closed or idle: every durable commit is in the feed by now.
        if let detached { throw detached }
        applyNow(engine.visibleLSN)
        stop()
    }

    /// Stops the apply thread and leaves the feed (close).
    package func stop() {
        lock.withLock {
            stopping = true
            lock.broadcast()
            while running { lock.wait() }
        }
        leave()
    }

    private func leave() {
        engine.replicaFeed.detach(self)
        let id: UInt64? = lock.withLock {
            defer { readPointSnapshotID = 0 }
            return readPointSnapshotID == 0 ? nil : readPointSnapshotID
        }
        if let id { engine.snapshotEnded(id) }
    }
}
