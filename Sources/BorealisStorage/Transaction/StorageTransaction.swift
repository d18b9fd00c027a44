// A transaction on the storage engine: a snapshot for reading and, once it writes, the write
// lock and private copies of the pages it changes. Past `transactionMemoryBytes` of them, the
// pages it is not using go to its spill file and come back when touched again; nothing
// uncommitted reaches the log or the page file before the commit (docs/storage.md §3).
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
    package let engine: StorageEngine
    /// Set for a transaction on a replica (read-only).
    private var replica: Replica?
    @exclusivity(unchecked) public private(set) var isWriter: Bool
    /// The snapshot it reads: a reader sees commits ≤ it; a writer, the newest state.
    public private(set) var snapshot: UInt64
    private var snapshotID: UInt64?
    /// Private pages in memory, with the version each was copied from.
    private var dirty: [PageNumber: (image: PageImage, base: PageImage)] = [:]
    /// Private pages in the spill file (never also in `dirty`).
    private var spilled: [PageNumber: SpilledPage] = [:]
    /// Every private page, in the order first changed (the commit's redo order).
    private var order: [PageNumber] = []
    private var spillFile: PageSpillFile?
    /// Where the search for pages to spill resumes in `order`.
    private var spillCursor = 0

    fileprivate struct SpilledPage {
        var slot: Int
        /// Allocated past the end of the file: its base is the zero page.
        var isNew: Bool
    }
    public private(set) var isFinished = false
    /// Bumped on every page change, so cursors can tell that they must re-seek.
    /// Read by cursors at every step (so without the dynamic exclusivity check: a transaction
    /// is used by one thread at a time and the accesses never overlap).
    @exclusivity(unchecked) package private(set) var changeCount: UInt64 = 0

    /// A number no other transaction of the process has: lets a connection remember which
    /// transaction it checked something in without a weak reference (a weak reference moves
    /// the object's reference count to a side table, and every retain and release — a scan
    /// makes them per row — onto a slow path).
    package let serial = StorageTransaction.serials.add(1, ordering: .relaxed).newValue
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
        ahead = []
    }

    package var pageSize: Int { engine.pageSize }

    /// The connection's interrupt and progress watch, checked at every page read (nil for
    /// transactions of the storage API).
    package var watch: StatementWatch?
    /// How long this transaction waits for the write lock when it becomes the writer (the
    /// connection's busy timeout; the engine's default when nil).
    package var busyTimeoutMilliseconds: Int?

    /// Writes that outlive the transaction's outcome (sequence state, docs/storage.md §3,
    /// "Non-transactional writes"), by key: each runs before a writer's commit builds its redo,
    /// and when a writer rolls back, in a commit of their own that replaces every other change
    /// of the transaction (the write lock held throughout). Keyed by an id the caller picks (a
    /// sequence incarnation), in whose order they run; registering a key again replaces it.
    package var nonTransactionalWrites: [UInt64: (StorageTransaction) throws -> Void] = [:]

    /// Identifies the engine (unique in the process, unlike its address): state kept per
    /// database file, such as sequence values, is keyed by it.
    package var engineInstance: UInt64 { engine.instance }

    @inline(__always)
    private func checkActive() throws {
        if isFinished { throw DatabaseError.misuse("the transaction has already ended") }
    }

    // MARK: Pages

    /// The page as this transaction sees it. Do not mutate the result.
    func page(_ number: PageNumber) throws -> PageImage {
        try checkActive()
        try watch?.check()
        if !dirty.isEmpty, let entry = dirty[number] { return entry.image }
        if !spilled.isEmpty, let image = try unspill(number) { return image }
        if let image = readAhead(number) { return image }
        let slot = PageMemo.slot(of: number)
        if let recent = memo.slots[slot], recent.number == number { return recent.image }
        let image = try replica?.read(number, at: snapshot) ?? engine.cache.read(number, at: snapshot)
        memo.slots[slot] = (number, image)
        return image
    }

    /// As `page`; when the page has to come from the page file, the pages `next` lists that
    /// follow it in the file come along in the same read and wait in `ahead` (see
    /// `VersionCache.read(_:at:readingAhead:keep:)`).
    func page(_ number: PageNumber, readingAhead next: () -> [PageNumber]) throws -> PageImage {
        try checkActive()
        try watch?.check()
        if replica != nil || !dirty.isEmpty || !spilled.isEmpty { return try page(number) }
        if let image = readAhead(number) { return image }
        let slot = PageMemo.slot(of: number)
        if let recent = memo.slots[slot], recent.number == number { return recent.image }
        var window: [PageImage?] = []
        let image = try engine.cache.read(number, at: snapshot, readingAhead: next) { page, image in
            let offset = Int(page - number)
            while window.count <= offset { window.append(nil) }
            window[offset] = image
        }
        if !window.isEmpty {
            ahead = window
            aheadFirst = number
        }
        memo.slots[slot] = (number, image)
        return image
    }

    /// Pages read ahead by the last `page(_:readingAhead:)` that missed: `ahead[i]` is page
    /// `aheadFirst + i` as of the snapshot (nil when it could not be built).
    @exclusivity(unchecked) private var ahead: [PageImage?] = []
    @exclusivity(unchecked) private var aheadFirst: PageNumber = 0

    @inline(__always)
    private func readAhead(_ number: PageNumber) -> PageImage? {
        let offset = number &- aheadFirst
        return offset < UInt64(ahead.count) ? ahead[Int(offset)] : nil
    }

    /// Pages read lately (see `PageMemo`); the connection's memo when it was free at begin.
    private let memo: PageMemo

    /// Bumped whenever a page is allocated or freed or a savepoint is restored — every change
    /// to the shape of a tree (a split allocates, a merge frees) — so a remembered root-to-leaf
    /// path is known to be still valid while it is unchanged.
    @exclusivity(unchecked) private(set) var structureVersion: UInt64 = 0

    /// The path to the rightmost leaf of the tree last appended to (see `BTree.put`).
    /// `leaf` is that leaf's private image once an append wrote to it: holding it keeps the page
    /// from being spilled, so it stays this transaction's image of the page until the structure
    /// version moves (a savepoint restore bumps it).
    @exclusivity(unchecked) var appendHint: (root: PageNumber, path: [(page: PageNumber, index: Int)], structure: UInt64, leaf: PageImage?)?

    /// Records a change made to a private page the caller already holds (see `appendHint`):
    /// cursors re-check their position as after `writablePage`.
    func noteChange() {
        changeCount &+= 1
    }

    /// This transaction's private, writable copy of the page.
    func writablePage(_ number: PageNumber) throws -> PageImage {
        if let entry = dirty[number] {
            changeCount &+= 1
            return entry.image
        }
        if !spilled.isEmpty, let image = try unspill(number) {
            changeCount &+= 1
            return image
        }
        try ensureWriter()
        let base = try engine.cache.read(number, at: snapshot)
        let copy = PageImage(copying: base)
        copy.pageNumber = number
        try addPrivate(number, copy, base: base)
        return copy
    }

    /// Records a new private page (its caller holds `image`, so it is not spilled now).
    private func addPrivate(_ number: PageNumber, _ image: PageImage, base: PageImage) throws {
        dirty[number] = (image, base)
        order.append(number)
        changeCount &+= 1
        if dirty.count > memoryPages { try spillIdlePages() }
    }

    private var memoryPages: Int { engine.options.transactionMemoryBytes / pageSize }

    // MARK: Spilling

    /// Writes private pages nobody holds to the spill file until a quarter of the memory
    /// budget is free, oldest first. A failed write leaves every page in memory.
    private func spillIdlePages() throws {
        let goal = memoryPages * 3 / 4
        var victims: [(number: PageNumber, image: PageImage, isNew: Bool)] = []
        var scanned = 0
        while dirty.count - victims.count > goal && scanned < order.count {
            if spillCursor >= order.count { spillCursor = 0 }
            let number = order[spillCursor]
            spillCursor += 1
            scanned += 1
            // Only a page held by nothing but this table: a B-tree operation or a cursor
            // still using the image would go on changing or reading a copy no longer ours.
            guard dirty[number] != nil, isKnownUniquelyReferenced(&dirty[number]!.image) else { continue }
            let entry = dirty[number]!
            victims.append((number, entry.image, entry.base === zeroPage))
        }
        guard !victims.isEmpty else { return }
        let file = try spillFile ?? PageSpillFile(databasePath: engine.path, pageSize: pageSize, fileSystem: engine.fileSystem)
        spillFile = file
        let first = try file.append(victims.map(\.image))
        for (i, victim) in victims.enumerated() {
            dirty[victim.number] = nil
            spilled[victim.number] = SpilledPage(slot: first + i, isNew: victim.isNew)
        }
    }

    /// Brings a spilled page back into memory; nil when `number` is not spilled.
    private func unspill(_ number: PageNumber) throws -> PageImage? {
        guard let entry = spilled[number], let spillFile else { return nil }
        let image = try spillFile.image(slot: entry.slot)
        let base = try self.base(of: number, spilled: entry)
        spilled[number] = nil
        dirty[number] = (image, base)
        if dirty.count > memoryPages { try spillIdlePages() }
        return image
    }

    /// The version a spilled page was copied from: the zero page for one allocated past the
    /// end of the file, else the committed page at the snapshot (which cannot have moved: the
    /// writer holds the write lock).
    private func base(of number: PageNumber, spilled entry: SpilledPage) throws -> PageImage {
        entry.isNew ? zeroPage : try engine.cache.read(number, at: snapshot)
    }

    /// Pages in the spill file (tests).
    var spilledPageCount: Int { spilled.count }

    /// A new read transaction at this reader's snapshot, for a cursor that must outlive this
    /// transaction (a SELECT streamed inside a transaction block, docs/swift-api.md). It is
    /// registered while this one still holds the snapshot, so every version it reads is still
    /// kept: the materializer pins versions for live snapshots, and the new registration keeps
    /// the snapshot live after this transaction ends or becomes the writer.
    package func reader(sharingSnapshot memo: PageMemo?) throws -> StorageTransaction {
        try checkActive()
        guard !isWriter, snapshotID != nil else {
            throw DatabaseError.internalError("only a reader's snapshot can be shared")
        }
        let txn: StorageTransaction
        if let replica {
            let id = try replica.beginSnapshot(sharing: snapshot)
            txn = StorageTransaction(engine: engine, replica: replica, snapshot: snapshot, snapshotID: id, memo: memo)
        } else {
            try engine.checkOpen()
            let lsn = snapshot
            let (id, _) = engine.snapshots.register { lsn }
            txn = StorageTransaction(engine: engine, snapshot: lsn, snapshotID: id, memo: memo)
        }
        txn.watch = watch
        txn.busyTimeoutMilliseconds = busyTimeoutMilliseconds
        return txn
    }

    /// Turns a reader into the writer: the write lock, and no commit newer than its snapshot.
    public func ensureWriter() throws {
        if isWriter { return }
        try checkActive()
        if replica != nil { throw DatabaseError.readOnly("cannot write on a read replica") }
        if let failure = engine.failure { throw failure }
        try engine.writerLock.acquire(timeoutMilliseconds: busyTimeoutMilliseconds ?? engine.options.busyTimeoutMilliseconds)
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
        try addPrivate(number, copy, base: zeroPage)
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
        /// Spill slots never change, so the map is enough for the spilled pages.
        fileprivate let spilled: [PageNumber: SpilledPage]
        fileprivate let order: [PageNumber]
    }

    /// Captures the current private pages (copies of those in memory, so later writes do not
    /// reach them).
    public func savepoint() throws -> Savepoint {
        try checkActive()
        return Savepoint(pages: dirty.mapValues { (PageImage(copying: $0.image), $0.base) }, spilled: spilled, order: order)
    }

    /// Discards every change made after `savepoint` was taken; the transaction continues.
    public func rollback(to savepoint: Savepoint) throws {
        try checkActive()
        dirty = savepoint.pages.mapValues { (PageImage(copying: $0.image), $0.base) }
        spilled = savepoint.spilled
        order = savepoint.order
        spillCursor = 0
        changeCount &+= 1
        structureVersion &+= 1
    }

    // MARK: End

    /// Commits: returns the commit LSN once the commit is durable (or at once with
    /// `synchronous = .off`). A read-only transaction just ends.
    @discardableResult
    public func commit() throws -> UInt64 {
        try checkActive()
        if isWriter && !nonTransactionalWrites.isEmpty {
            for key in nonTransactionalWrites.keys.sorted() { try nonTransactionalWrites[key]?(self) }
        }
        isFinished = true
        releaseMemo()
        guard isWriter else {
            endSnapshot()
            return snapshot
        }
        var lockHeld = true
        defer { if lockHeld { engine.writerLock.release() } }
        let (records, published, streamed) = try prepareRedo()
        dirty = [:]
        spilled = [:]
        spillFile = nil
        guard !published.isEmpty else { return engine.lastCommitLSN }
        let lsn: LSN
        do {
            lsn = try engine.commit(records: records, pages: published)
        } catch let error as DatabaseError {
            if streamed { engine.failStreamedCommit(error) }
            throw error
        }
        engine.writerLock.release()
        lockHeld = false
        if engine.options.synchronous == .full { try engine.waitDurable(lsn) }
        return lsn
    }

    /// Diffs every private page against its base, in the order they were first changed. A
    /// large transaction's redo goes to the log ahead of the commit in 4 MiB batches
    /// (`streamed`); what is returned is the rest, ending with the commit record, and every
    /// page's change for the redo index.
    private func prepareRedo() throws -> (records: [(LogRecordType, [UInt8])], published: [(PageNumber, PageImage?, PageChange)], streamed: Bool) {
        var records: [(LogRecordType, [UInt8])] = []
        var published: [(PageNumber, PageImage?, PageChange)] = []
        published.reserveCapacity(order.count)
        var batchBytes = 0
        var streamed = false
        do {
            for number in order {
                let image: PageImage, base: PageImage, inMemory: Bool
                if let entry = dirty[number] {
                    (image, base, inMemory) = (entry.image, entry.base, true)
                } else if let entry = spilled[number], let spillFile {
                    image = try spillFile.image(slot: entry.slot)
                    base = try self.base(of: number, spilled: entry)
                    inMemory = false
                } else {
                    continue
                }
                guard let payload = PageDelta.encode(page: number, base: base, image: image) else { continue }
                records.append((.pageRedo, payload))
                batchBytes += payload.count
                if inMemory {
                    published.append((number, image, .delta(payload)))
                } else {
                    published.append((number, nil, .spilled(spillFile!, slot: spilled[number]!.slot)))
                }
                if batchBytes >= engine.options.commitStreamChunkBytes {
                    if !streamed { try engine.applyBackPressure() }
                    streamed = true
                    try engine.appendAhead(records)
                    records.removeAll(keepingCapacity: true)
                    batchBytes = 0
                }
            }
            if !published.isEmpty && !streamed { try engine.applyBackPressure() }
        } catch let error as DatabaseError {
            if streamed { engine.failStreamedCommit(error) }
            throw error
        }
        guard !published.isEmpty else { return ([], [], false) }
        let commit = CommitRecord(transactionID: engine.nextTransactionID(), timestamp: wallClockMicroseconds(),
                                  pageRecordCount: UInt64(published.count))
        records.append((.commit, commit.encoded()))
        return (records, published, streamed)
    }

    /// Discards every change and ends the transaction.
    public func rollback() {
        guard !isFinished else { return }
        if isWriter && !nonTransactionalWrites.isEmpty && engine.failure == nil {
            // Keep only the non-transactional writes: drop every other change, redo them, commit.
            let writes = nonTransactionalWrites
            nonTransactionalWrites = [:]
            dirty = [:]
            spilled = [:]
            order = []
            spillFile = nil
            spillCursor = 0
            appendHint = nil
            changeCount &+= 1
            structureVersion &+= 1
            do {
                for key in writes.keys.sorted() { try writes[key]?(self) }
                try commit()
                return
            } catch {
                // A failed commit has ended the transaction; otherwise roll back as usual.
                if isFinished { return }
                dirty = [:]
                spilled = [:]
                order = []
                spillFile = nil
            }
        }
        isFinished = true
        releaseMemo()
        dirty = [:]
        spilled = [:]
        spillFile = nil
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
