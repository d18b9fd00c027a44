// A transaction on the storage engine: a snapshot for reading and, once it writes, the write
// lock and private copies of the pages it changes (no-steal: nothing uncommitted leaves memory).
//
//   reader(S) ──first write: lock, and S must be the newest commit, else 40001──▶ writer
//   writer ──commit──▶ finished (redo appended, versions published, durable)   ──rollback──▶ finished
//
// A transaction is used by one thread at a time. Pages it hands out are valid while it lives;
// images from `page` must not be mutated — `writablePage` gives the private copy.

import Synchronization

/// A storage-level transaction (for tools and tests; applications use SQL through `Database`).
///
/// ```swift
/// let txn = try engine.beginWrite()
/// try TableTree(root: try txn.root(slot: 1)).put(7, Array("seven".utf8), in: txn)
/// try txn.commit()
/// ```
public final class StorageTransaction {
    let engine: StorageEngine
    /// Set for a transaction on a replica (read-only).
    private var replica: Replica?
    @exclusivity(unchecked) public private(set) var isWriter: Bool
    /// The snapshot it reads: a reader sees commits ≤ it; a writer, the newest state.
    public private(set) var snapshot: UInt64
    private var snapshotID: UInt64?
    private var dirty: [PageNumber: (image: PageImage, base: PageImage)] = [:]
    private var order: [PageNumber] = []
    public private(set) var isFinished = false
    /// Bumped on every page change, so cursors can tell that they must re-seek.
    /// Read by cursors at every step (so without the dynamic exclusivity check: a transaction
    /// is used by one thread at a time and the accesses never overlap).
    @exclusivity(unchecked) private(set) var changeCount: UInt64 = 0

    /// A number no other transaction of the process has: lets a connection remember which
    /// transaction it checked something in without a weak reference (a weak reference moves
    /// the object's reference count to a side table, and every retain and release — a scan
    /// makes them per row — onto a slow path).
    let serial = StorageTransaction.serials.add(1, ordering: .relaxed).newValue
    private static let serials = Atomic<UInt64>(0)

    init(engine: StorageEngine, snapshot: LSN, snapshotID: UInt64, memo: PageMemo? = nil) {
        self.engine = engine
        self.isWriter = false
        self.snapshot = snapshot
        self.snapshotID = snapshotID
        self.memo = PageMemo.claim(memo, snapshot: snapshot, engine: engine)
    }

    /// A read-only transaction on a replica: pages come from the replica's cache.
    init(engine: StorageEngine, replica: Replica, snapshot: LSN, snapshotID: UInt64, memo: PageMemo? = nil) {
        self.engine = engine
        self.replica = replica
        self.isWriter = false
        self.snapshot = snapshot
        self.snapshotID = snapshotID
        self.memo = PageMemo.claim(memo, snapshot: snapshot, engine: engine)
    }

    init(engine: StorageEngine, writerAt lsn: LSN, memo: PageMemo? = nil) {
        self.engine = engine
        self.isWriter = true
        self.snapshot = lsn
        self.memo = PageMemo.claim(memo, snapshot: lsn, engine: engine)
    }

    deinit {
        if !isFinished { rollback() }
        releaseMemo()
    }

    private var memoReleased = false

    /// Hands the memo back (once) when the transaction ends.
    private func releaseMemo() {
        guard !memoReleased else { return }
        memoReleased = true
        memo.release()
    }

    var pageSize: Int { engine.pageSize }

    @inline(__always)
    private func checkActive() throws {
        if isFinished { throw DatabaseError.misuse("the transaction has already ended") }
    }

    // MARK: Pages

    /// The page as this transaction sees it. Do not mutate the result.
    func page(_ number: PageNumber) throws -> PageImage {
        try checkActive()
        if !dirty.isEmpty, let entry = dirty[number] { return entry.image }
        let slot = Int(truncatingIfNeeded: number) & (PageMemo.slotCount - 1)
        if let recent = memo.slots[slot], recent.number == number { return recent.image }
        let image = try replica?.read(number, at: snapshot) ?? engine.cache.read(number, at: snapshot)
        memo.slots[slot] = (number, image)
        return image
    }

    /// Pages read lately (see `PageMemo`); the connection's memo when it was free at begin.
    private let memo: PageMemo

    /// Bumped whenever a page is allocated or freed or a savepoint is restored — every change
    /// to the shape of a tree (a split allocates, a merge frees) — so a remembered root-to-leaf
    /// path is known to be still valid while it is unchanged.
    @exclusivity(unchecked) private(set) var structureVersion: UInt64 = 0

    /// The path to the rightmost leaf of the tree last appended to (see `BTree.put`).
    @exclusivity(unchecked) var appendHint: (root: PageNumber, path: [(page: PageNumber, index: Int)], structure: UInt64)?

    /// This transaction's private, writable copy of the page.
    func writablePage(_ number: PageNumber) throws -> PageImage {
        if let entry = dirty[number] {
            changeCount &+= 1
            return entry.image
        }
        try ensureWriter()
        let base = try engine.cache.read(number, at: snapshot)
        let copy = PageImage(copying: base)
        copy.pageNumber = number
        dirty[number] = (copy, base)
        order.append(number)
        changeCount &+= 1
        return copy
    }

    /// Turns a reader into the writer: the write lock, and no commit newer than its snapshot.
    public func ensureWriter() throws {
        if isWriter { return }
        try checkActive()
        if replica != nil { throw DatabaseError.readOnly("cannot write on a read replica") }
        if let failure = engine.failure { throw failure }
        try engine.writerLock.acquire(timeoutMilliseconds: engine.options.busyTimeoutMilliseconds)
        let newest = engine.lastCommitLSN
        guard newest == snapshot else {
            engine.writerLock.release()
            throw DatabaseError.serialization("could not serialize access due to concurrent update: the transaction read a snapshot at LSN \(snapshot), and LSN \(newest) committed since")
        }
        isWriter = true
        if let id = snapshotID {
            engine.snapshots.unregister(id)
            snapshotID = nil
        }
    }

    // MARK: Allocation

    private func meta() throws -> PageImage { try page(MetaPage.pageNumber) }

    /// A new zeroed page: from the free list when it has one, else from the end of the file.
    func allocatePage() throws -> PageNumber {
        structureVersion &+= 1
        let meta = try writablePage(MetaPage.pageNumber)
        let head = MetaPage.freeListHead(meta)
        if head != 0 {
            let page = try writablePage(head)
            guard MetaPage.isFreePage(page) else {
                throw DatabaseError.corrupt("free-list head \(head) is not a free page")
            }
            MetaPage.setFreeListHead(meta, MetaPage.nextFree(page))
            MetaPage.setFreeCount(meta, MetaPage.freeCount(meta) - 1)
            UnsafeMutableRawBufferPointer(rebasing: page.bytes[PageImage.bodyOffset...]).initializeMemory(as: UInt8.self, repeating: 0)
            return head
        }
        let number = MetaPage.pageCount(meta)
        MetaPage.setPageCount(meta, number + 1)
        // Every new page diffs against one shared zero page (not a zero page each: a bulk load
        // allocates thousands); the redo then also carries the page-number bytes.
        let copy = PageImage(size: pageSize)
        copy.pageNumber = number
        dirty[number] = (copy, zeroPage)
        order.append(number)
        changeCount &+= 1
        return number
    }

    private lazy var zeroPage = PageImage(size: pageSize)

    /// Returns a page to the free list.
    func freePage(_ number: PageNumber) throws {
        guard number > MetaPage.pageNumber else { throw DatabaseError.misuse("page \(number) cannot be freed") }
        structureVersion &+= 1
        let meta = try writablePage(MetaPage.pageNumber)
        let page = try writablePage(number)
        MetaPage.markFree(page, next: MetaPage.freeListHead(meta))
        MetaPage.setFreeListHead(meta, number)
        MetaPage.setFreeCount(meta, MetaPage.freeCount(meta) + 1)
    }

    /// Root slot `slot` (0…15) of the meta page; 0 when unset.
    public func root(slot: Int) throws -> UInt64 {
        guard (0..<MetaPage.rootSlotCount).contains(slot) else { throw DatabaseError.misuse("root slot \(slot) out of range") }
        return MetaPage.root(try meta(), slot: slot)
    }

    public func setRoot(slot: Int, to page: UInt64) throws {
        guard (0..<MetaPage.rootSlotCount).contains(slot) else { throw DatabaseError.misuse("root slot \(slot) out of range") }
        MetaPage.setRoot(try writablePage(MetaPage.pageNumber), slot: slot, page)
    }

    /// Page count and free pages as this transaction sees them.
    public func pageCounts() throws -> (pages: UInt64, free: UInt64) {
        let meta = try meta()
        return (MetaPage.pageCount(meta), MetaPage.freeCount(meta))
    }

    // MARK: Savepoints

    /// The transaction's private changes at one moment, to return to with `rollback(to:)`.
    public struct Savepoint {
        fileprivate let pages: [PageNumber: (image: PageImage, base: PageImage)]
        fileprivate let order: [PageNumber]
    }

    /// Captures the current private pages (copies, so later writes do not reach them).
    public func savepoint() throws -> Savepoint {
        try checkActive()
        return Savepoint(pages: dirty.mapValues { (PageImage(copying: $0.image), $0.base) }, order: order)
    }

    /// Discards every change made after `savepoint` was taken; the transaction continues.
    public func rollback(to savepoint: Savepoint) throws {
        try checkActive()
        dirty = savepoint.pages.mapValues { (PageImage(copying: $0.image), $0.base) }
        order = savepoint.order
        changeCount &+= 1
        structureVersion &+= 1
    }

    // MARK: End

    /// Commits: returns the commit LSN once the commit is durable (or at once with
    /// `synchronous = .off`). A read-only transaction just ends.
    @discardableResult
    public func commit() throws -> UInt64 {
        try checkActive()
        isFinished = true
        releaseMemo()
        guard isWriter else {
            endSnapshot()
            return snapshot
        }
        var lockHeld = true
        defer { if lockHeld { engine.writerLock.release() } }
        var records: [(LogRecordType, [UInt8])] = []
        var published: [(PageNumber, PageImage, [UInt8])] = []
        records.reserveCapacity(order.count + 1)
        for number in order {
            let (image, base) = dirty[number]!
            guard let payload = PageDelta.encode(page: number, base: base, image: image) else { continue }
            records.append((.pageRedo, payload))
            published.append((number, image, payload))
        }
        dirty = [:]
        guard !published.isEmpty else { return engine.lastCommitLSN }
        try engine.applyBackPressure()
        let commit = CommitRecord(transactionID: engine.nextTransactionID(), timestamp: wallClockMicroseconds(),
                                  pageRecordCount: UInt64(published.count))
        records.append((.commit, commit.encoded()))
        let lsn = try engine.commit(records: records, pages: published)
        engine.writerLock.release()
        lockHeld = false
        if engine.options.synchronous == .full { try engine.waitDurable(lsn) }
        return lsn
    }

    /// Discards every change and ends the transaction.
    public func rollback() {
        guard !isFinished else { return }
        isFinished = true
        releaseMemo()
        dirty = [:]
        if isWriter {
            engine.writerLock.release()
        } else {
            endSnapshot()
        }
    }

    private func endSnapshot() {
        guard let id = snapshotID else { return }
        snapshotID = nil
        if let replica {
            replica.snapshotEnded(id: id, lsn: snapshot)
        } else {
            engine.snapshotEnded(id)
        }
    }
}
