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
    private var dirty: [PageNumber: PageImage] = [:]
    /// Pages from this number on were past the end of the file when the replay began: zeros
    /// until written back (`written`), known without a read.
    private let pagesInFile: UInt64
    /// Pages at or past `pagesInFile` that a write-back wrote, a bit each (a hole in the file
    /// reads as zeros too, but costs a read).
    private var written: [UInt64] = []
    /// Pages past the file's first end a replay may name: 2^31 (8 TiB at 4 KiB), so that the
    /// bits above stay within 256 MiB whatever a damaged log says.
    static let maximumNewPages: UInt64 = 1 << 31
    /// Images written back, reused for the next pages (fresh page memory costs a page fault
    /// per page).
    private var spare: [PageImage] = []
    /// Dirty pages kept before they are written back (all of them, in page order).
    private let dirtyLimit: Int

    /// 32 MiB of dirty pages at the default page size.
    static let defaultDirtyBytes = 32 << 20

    /// `file` holds the base image's pages (all of them, each valid or zero); the pages past its
    /// end were allocated after B.
    init(file: any StorageFile, pageSize: Int, dirtyBytes: Int = RedoReplay.defaultDirtyBytes) throws {
        self.file = file
        self.pageSize = pageSize
        self.dirtyLimit = max(16, dirtyBytes / max(1, pageSize))
        self.pagesInFile = try file.size() / UInt64(pageSize)
    }

    /// Scans the log in `logDirectory` of `fs` from `base` and applies what `plan` selects;
    /// then writes every page back and returns the meta page as of the cut. The log reads as
    /// cut just past `cut`, so the scan must end there.
    /// `progress` is told the LSN reached every megabyte of log; false cancels (57014).
    mutating func run(logDirectory: String, databaseID: UInt64, from base: LSN, through cut: LSN, plan: ReplayPlan,
                      fileSystem fs: any FileSystem, progress: ((LSN) -> Bool)? = nil) throws -> PageImage {
        let scanner = LogScanner(fileSystem: fs, directory: logDirectory, databaseID: databaseID)
        var commit = 0
        var abandoned = 0
        let redoType = LogRecordType.pageRedo.rawValue
        var reported = base
        let end = try scanner.scan(from: base) { event in
            guard case .record(let record) = event, record.lsn >= base else { return }
            if let progress, record.lsn - reported >= 1 << 20 {
                reported = record.lsn
                guard progress(record.lsn) else {
                    throw DatabaseError(.interrupted, sqlState: SQLState.queryCanceled, "the point-in-time restore was cancelled by its progress callback")
                }
            }
            guard record.type == redoType else { return }
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
        if let progress, !progress(cut) {
            throw DatabaseError(.interrupted, sqlState: SQLState.queryCanceled, "the point-in-time restore was cancelled by its progress callback")
        }
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
        guard number < pagesInFile || number - pagesInFile < Self.maximumNewPages else {
            throw DatabaseError.corrupt("page redo names page \(number), past any page file a restore writes")
        }
        if dirty.count >= dirtyLimit { try writeBack() }
        let image = spare.popLast() ?? PageImage(size: pageSize)
        if number < pagesInFile || wasWritten(number) {
            _ = try file.readFully(into: image.bytes, at: number * UInt64(pageSize))
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

    private func wasWritten(_ page: PageNumber) -> Bool {
        let bit = page - pagesInFile
        let word = Int(bit / 64)
        return word < written.count && written[word] & (1 << (bit % 64)) != 0
    }

    private mutating func markWritten(_ page: PageNumber) {
        let bit = page - pagesInFile
        let word = Int(bit / 64)
        if word >= written.count { written.append(contentsOf: repeatElement(0, count: word + 1 - written.count)) }
        written[word] |= 1 << (bit % 64)
    }

    /// Pages written with one call at most: runs of consecutive pages are gathered into one
    /// buffer of up to this many pages.
    static let writeRunPages = 64

    /// Writes every dirty page in page order (checksums sealed) and forgets them, runs of
    /// consecutive pages with one write each. Not synced: the restore syncs the file once,
    /// before it names it.
    private mutating func writeBack() throws {
        let pages = dirty.sorted(by: { $0.key < $1.key })
        let run = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.writeRunPages * pageSize, alignment: 4096)
        defer { run.deallocate() }
        var index = 0
        while index < pages.count {
            let first = pages[index].key
            var count = 0
            while index + count < pages.count, count < Self.writeRunPages, pages[index + count].key == first + UInt64(count) {
                let image = pages[index + count].value
                image.pageNumber = first + UInt64(count)
                image.sealChecksum()
                UnsafeMutableRawBufferPointer(rebasing: run[(count * pageSize)..<((count + 1) * pageSize)]).copyMemory(from: UnsafeRawBufferPointer(image.bytes))
                count += 1
            }
            try file.write(UnsafeRawBufferPointer(rebasing: run[0..<(count * pageSize)]), at: first * UInt64(pageSize))
            index += count
            for page in first..<(first + UInt64(count)) where page >= pagesInFile { markWritten(page) }
        }
        spare.append(contentsOf: pages.lazy.map(\.value))
        dirty.removeAll(keepingCapacity: true)
    }
}
