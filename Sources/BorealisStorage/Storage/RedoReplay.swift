// The replay of a point-in-time restore (docs/backup.md §5): the committed redo of (B, C]
// applied straight to the restored page file, before that file gets its name. The file is not
// live — no reader, no materializer, no torn write to guard against (a crash leaves only
// NEW.restoring, which the next restore removes) — so none of the engine's machinery is used:
// no index of the whole replayed log in memory (recovery keeps every record of (B, C] until a
// round), no double-write copies, one fdatasync at the end (the restore's). Memory is bounded by
// the dirty pages kept between write-backs.
//
// Which records apply was settled by the first scan of the log (`ReplayPlan`): the page
// records of commits up to the cut, except those of a transaction that a mark abandoned. Each
// page's version (its LSN) is the end of the commit that its record belongs to, as recovery
// would have given it.

/// What the first scan of the log learned, for the second to apply.
struct ReplayPlan {
    /// The end LSN of every commit after B up to the cut, ascending. A page record belongs to
    /// the first commit ending after it.
    var commitEnds: [LSN] = []
    /// Page records in these LSN ranges (ascending) belong to transactions abandoned by a mark.
    var abandoned: [Range<LSN>] = []
}

struct RedoReplay {
    private let file: any StorageFile
    private let pageSize: Int
    /// Pages from this number on were allocated after B: the file holds no image of them yet
    /// (or one this replay wrote back).
    private let basePageCount: UInt64
    private var dirty: [PageNumber: PageImage] = [:]
    /// Pages from this number on were past the end of the file when the replay began: zeros
    /// until written back (`written`), known without a read.
    private let pagesInFile: UInt64
    /// Pages at or past `pagesInFile` that a write-back wrote.
    private var written: Set<PageNumber> = []
    /// The batch being written, and buffers for the next (`writeBack`).
    private var inFlight: WriteBatch?
    private var buffers: [UnsafeMutableRawBufferPointer] = []
    /// Images written back, reused for the next pages (fresh page memory costs a page fault
    /// per 4 KiB, the largest cost of a replay before they were kept).
    private var spare: [PageImage] = []
    /// Dirty pages kept before they are written back (all of them, in page order).
    private let dirtyLimit: Int

    /// 32 MiB of dirty pages at the default page size.
    static let defaultDirtyBytes = 32 << 20

    init(file: any StorageFile, pageSize: Int, basePageCount: UInt64, dirtyBytes: Int = RedoReplay.defaultDirtyBytes) throws {
        self.file = file
        self.pageSize = pageSize
        self.basePageCount = basePageCount
        self.dirtyLimit = max(16, dirtyBytes / max(1, pageSize))
        self.pagesInFile = try file.size() / UInt64(pageSize)
    }

    /// Scans the log in `logDirectory` of `fs` from `base` and applies what `plan` selects;
    /// then writes every page back and returns the meta page as of the cut. The log reads as
    /// cut just past `cut`, so the scan must end there.
    mutating func run(logDirectory: String, databaseID: UInt64, from base: LSN, through cut: LSN, plan: ReplayPlan,
                      fileSystem fs: any FileSystem) throws -> PageImage {
        let scanner = LogScanner(fileSystem: fs, directory: logDirectory, databaseID: databaseID)
        var commit = 0
        var abandoned = 0
        let redoType = LogRecordType.pageRedo.rawValue
        // Every batch is in the file (or has failed) before this returns, whatever it throws:
        // the restore closes the file next.
        defer {
            try? awaitWrites()
            for buffer in buffers { buffer.deallocate() }
            buffers.removeAll()
        }
        let end = try scanner.scan(from: base) { event in
            guard case .record(let record) = event, record.lsn >= base, record.type == redoType else { return }
            while abandoned < plan.abandoned.count, plan.abandoned[abandoned].upperBound <= record.lsn { abandoned += 1 }
            if abandoned < plan.abandoned.count, plan.abandoned[abandoned].contains(record.lsn) { return }
            while commit < plan.commitEnds.count, plan.commitEnds[commit] <= record.lsn { commit += 1 }
            // Past the last commit up to the cut: a transaction that never committed.
            guard commit < plan.commitEnds.count else { return }
            try apply(record.payload, version: plan.commitEnds[commit])
        }
        guard let end, end.end == cut else {
            throw DatabaseError.corrupt("the log ends at LSN \(end.map { String($0.end) } ?? "none"), not at the cut \(cut), when read a second time (a segment vanished or changed meanwhile)")
        }
        try writeBack()
        try awaitWrites()
        return try page(MetaPage.pageNumber)
    }

    /// Applies one page record, its commit ending at `version`.
    private mutating func apply(_ payload: UnsafeRawBufferPointer, version: LSN) throws {
        let image = try page(try PageDelta.pageNumber(of: payload))
        try PageDelta.apply(payload, to: image)
        image.lsn = version
    }

    /// The page's current image: dirty, or read from the file (kept as dirty from then on).
    private mutating func page(_ number: PageNumber) throws -> PageImage {
        if let image = dirty[number] { return image }
        guard number < UInt64(Int64.max) / UInt64(pageSize) else {
            throw DatabaseError.corrupt("page redo names page \(number), past any page file")
        }
        if dirty.count >= dirtyLimit { try writeBack() }
        let image = spare.popLast() ?? PageImage(size: pageSize)
        if let batch = inFlight, let offset = batch.offsets[number] {
            // Written back a moment ago, and perhaps not in the file yet.
            image.bytes.copyMemory(from: UnsafeRawBufferPointer(rebasing: batch.bytes[offset..<(offset + pageSize)]))
        } else if number < pagesInFile || written.contains(number) {
            _ = try file.readFully(into: image.bytes, at: number * UInt64(pageSize))
            if !image.isValid(as: number) && number >= basePageCount {
                // Allocated after B and not written back yet: its redo starts from the zero page.
                image.bytes.initializeMemory(as: UInt8.self, repeating: 0)
            }
            guard image.isValid(as: number) else {
                throw DatabaseError.corrupt("page \(number) of the restored backup fails its checksum during the replay")
            }
        } else {
            image.bytes.initializeMemory(as: UInt8.self, repeating: 0)
        }
        image.pageNumber = number
        dirty[number] = image
        return image
    }

    /// Seals every dirty page and copies it, in page order, into a batch that a thread of its
    /// own writes to the file (runs of consecutive pages with one write each) while the replay
    /// goes on; the dirty images are reused. One batch is in flight at a time: this waits for
    /// the previous one first (and throws its error). A page read while its batch is in flight
    /// is copied from the batch. Not synced: the restore syncs the file once, before it names it.
    private mutating func writeBack() throws {
        try awaitWrites()
        guard !dirty.isEmpty else { return }
        let pages = dirty.sorted(by: { $0.key < $1.key })
        let buffer = buffers.popLast() ?? UnsafeMutableRawBufferPointer.allocate(byteCount: dirtyLimit * pageSize, alignment: 4096)
        var runs: [(first: PageNumber, count: Int)] = []
        var offsets: [PageNumber: Int] = [:]
        offsets.reserveCapacity(pages.count)
        for (i, (number, image)) in pages.enumerated() {
            image.pageNumber = number
            image.sealChecksum()
            let offset = i * pageSize
            UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<(offset + pageSize)]).copyMemory(from: UnsafeRawBufferPointer(image.bytes))
            offsets[number] = offset
            if let last = runs.last, last.first + UInt64(last.count) == number, last.count < Self.writeRunPages {
                runs[runs.count - 1].count += 1
            } else {
                runs.append((number, 1))
            }
            if number >= pagesInFile { written.insert(number) }
        }
        spare.append(contentsOf: pages.lazy.map(\.value))
        dirty.removeAll(keepingCapacity: true)
        let batch = WriteBatch(bytes: buffer, runs: runs, offsets: offsets, pageSize: pageSize)
        inFlight = batch
        let file = self.file
        do {
            try startBackgroundThread(name: "borealis-restore") { batch.write(to: file) }
        } catch {
            batch.write(to: file) // no thread to spare: written here
        }
    }

    /// Waits for the batch in flight, if any, and takes its buffer back.
    private mutating func awaitWrites() throws {
        guard let batch = inFlight else { return }
        inFlight = nil
        defer { buffers.append(batch.bytes) }
        try batch.wait()
    }

    /// Pages written with one call at most.
    static let writeRunPages = 64
}

/// Sealed pages on their way into the file, written on a thread of their own. The bytes are
/// only read while in flight (by the writer, and by the replay copying a page it needs again).
private final class WriteBatch: @unchecked Sendable {
    let bytes: UnsafeMutableRawBufferPointer
    let offsets: [PageNumber: Int]
    private let runs: [(first: PageNumber, count: Int)]
    private let pageSize: Int
    private let lock = ConditionLock()
    private var finished = false       // guarded by lock
    private var failure: (any Error)?  // guarded by lock

    init(bytes: UnsafeMutableRawBufferPointer, runs: [(first: PageNumber, count: Int)], offsets: [PageNumber: Int], pageSize: Int) {
        self.bytes = bytes
        self.runs = runs
        self.offsets = offsets
        self.pageSize = pageSize
    }

    func write(to file: any StorageFile) {
        var error: (any Error)?
        var offset = 0
        for run in runs where error == nil {
            let length = run.count * pageSize
            do {
                try file.write(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)]), at: run.first * UInt64(pageSize))
            } catch let failure {
                error = failure
            }
            offset += length
        }
        lock.withLock {
            failure = error
            finished = true
            lock.broadcast()
        }
    }

    func wait() throws {
        try lock.withLock {
            while !finished { lock.wait() }
            if let failure { throw failure }
        }
    }
}
