// Opening a database: create it when absent, read the header, repair torn pages from the
// double-write file, and scan the log tail from the materialized LSN to rebuild the redo index.
// Only transactions whose commit record is valid are indexed; the log continues right after the
// last one. Segments that start past that point hold nothing valid and are deleted. No page is
// replayed into the page file: open time is bounded by the un-materialized tail.
//
// Damaged files (docs/storage.md §6): a database is created only where none of its files
// exists; a missing file, a log that stops before a commit known durable, a seal without its
// next segment, or a hole that later valid log proves was durable is an error naming the file
// (and the LSN) — never an open without an acknowledged commit.

enum Recovery {
    struct Result {
        var pageFile: PageFile
        var doubleWrite: DoubleWriteBuffer
        var cache: VersionCache
        var log: LogWriter
        var lastCommitLSN: LSN
        var lastTransactionID: UInt64
        var repairedPages: [PageNumber]
    }

    static func run(path: String, options: StorageOptions) throws -> Result {
        let fs = options.fileSystem
        let directory = parentDirectory(of: path)
        let dwbPath = path + "-dwb"
        let logDirectory = path + "-log"
        let file = try fs.open(path, create: true)
        // Every file opened here is closed again when the open fails: a failed open of a
        // damaged database used to leave the page file and the double-write file open (EMFILE
        // after some 30,000 tries; found by fuzz-file).
        var opened: [any StorageFile] = [file]
        var handedOver = false
        defer { if !handedOver { for each in opened { each.close() } } }
        if try file.size() == 0 {
            // Never a fresh database over another one's log (the page file was deleted).
            if let other = [logDirectory, dwbPath].first(where: fs.exists) {
                throw DatabaseError(.cantOpen, sqlState: SQLState.undefinedFile,
                                    "the page file \(path) is missing or empty, but \(other) of a database exists: restore the page file, or remove the database's other files to start a new one")
            }
            try create(file, path: path, options: options)
        }
        // The double-write file and the log folder must survive a crash once they exist.
        if !fs.exists(dwbPath) || !fs.exists(logDirectory) {
            if !fs.exists(logDirectory) {
                // Only a database that never wrote a round can lack its log folder (a crash
                // between creating the page file and the folder).
                let header = try PageFile.readHeader(file)
                if header.sequence > 1 || header.materializedLSN > 0 {
                    throw DatabaseError(.cantOpen, sqlState: SQLState.undefinedFile,
                                        "the log folder \(logDirectory) of database \(path) is missing (its page file is materialized to LSN \(header.materializedLSN))")
                }
            }
            // A missing double-write file holds nothing needed unless a page is torn, which
            // page checksums then report: it is recreated empty.
            try fs.makeDirectory(logDirectory)
            handedOver = true // to nobody: closed here, opened again by the run below
            file.close()
            try fs.open(dwbPath, create: true).close()
            try fs.syncDirectory(directory)
            return try run(path: path, options: options)
        }
        // A crash between creating a transaction's spill file and unlinking it leaves its name.
        let spillPrefix = PageSpillFile.namePrefix(of: path)
        for name in (try? fs.list(directory)) ?? [] where name.hasPrefix(spillPrefix) {
            try fs.remove(directory + "/" + name)
        }
        let header = try PageFile.readHeader(file)
        if header.coversPageCount, try file.size() / UInt64(header.pageSize) < header.pageCount {
            let pages = try file.size() / UInt64(header.pageSize)
            throw DatabaseError.corrupt("the page file \(path) is truncated: it holds \(pages) pages, its header counts \(header.pageCount)")
        }
        let pageFile = PageFile(file: file, header: header)
        let doubleWriteFile = try fs.open(dwbPath, create: false)
        opened.append(doubleWriteFile)
        let doubleWrite = DoubleWriteBuffer(file: doubleWriteFile, databaseID: header.databaseID, pageSize: pageFile.pageSize)
        let repaired = try doubleWrite.repair(pageFile)

        let cache = VersionCache(pageFile: pageFile, capacityBytes: options.cacheBytes, materializedLSN: header.materializedLSN,
                                 materializedPageCount: header.pageCount)
        var scanner = LogScanner(fileSystem: fs, directory: logDirectory, databaseID: header.databaseID)
        let unfinished = try scanner.unfinishedSegment()
        scanner.ignoring = unfinished
        let materialized = header.materializedLSN
        var lastRecord: (type: UInt8, lsn: LSN, seal: Bool, end: LSN)?

        var resume: LogScanner.Position?
        var resumeLSN = materialized
        var pending: [(PageNumber, [UInt8])] = []
        var lastTransactionID: UInt64 = 0
        let scanned = try scanner.scan(from: materialized, seed: header.logChain) { event in
            switch event {
            case .segment(let position):
                if position.end == resumeLSN { resume = position }
            case .record(let record):
                let mark = record.type == LogRecordType.mark.rawValue ? try LogMark.decode(record.payload) : nil
                lastRecord = (record.type, record.lsn, mark?.seal == true, record.after.end)
                if record.lsn < materialized {
                    if record.after.end == materialized { resume = record.after }
                    if record.after.end > materialized {
                        throw DatabaseError.corrupt("log record at LSN \(record.lsn) straddles the materialized LSN \(materialized)")
                    }
                    return
                }
                switch LogRecordType(rawValue: record.type) {
                case .pageRedo:
                    pending.append((try PageDelta.pageNumber(of: record.payload), Array(record.payload)))
                case .commit:
                    let commit = try CommitRecord.decode(record.payload)
                    guard commit.pageRecordCount == UInt64(pending.count) else {
                        throw DatabaseError.corrupt("commit record at LSN \(record.lsn) counts \(commit.pageRecordCount) page records, the log holds \(pending.count)")
                    }
                    for (page, payload) in pending {
                        cache.addRecoveredRedo(page: page, lsn: record.after.end, payload: payload)
                    }
                    pending.removeAll()
                    lastTransactionID = commit.transactionID
                    resumeLSN = record.after.end
                    resume = record.after
                case .mark:
                    // A transaction cut off by a crash, abandoned by the run that resumed after it.
                    if mark?.abandon == true { pending.removeAll() }
                case nil:
                    throw DatabaseError.corrupt("log record at LSN \(record.lsn) has unknown type \(record.type)")
                }
            }
        }
        let existing = try scanner.segments()
        if let unfinished, let lastRecord, lastRecord.seal, let scanned, lastRecord.end == scanned.end,
           scanned.end == unfinished {
            throw DatabaseError.corrupt("log segment \(logDirectory)/\(LogFormat.segmentName(start: unfinished)) has a damaged header: the segment before it is sealed, so it was complete")
        }
        let position: LogScanner.Position
        if let scanned, resume != nil {
            try checkEnd(of: scanned, lastRecord: lastRecord, header: header, segments: existing, unfinished: unfinished,
                         scanner: scanner, logDirectory: logDirectory)
            // The log continues at the end of the valid records, not at the last commit: bytes
            // after a torn tail may be stale records of this run that a later scan must never
            // take for durable ones. A transaction cut off there is abandoned by a mark.
            position = scanned
        } else if scanned == nil && existing.allSatisfy({ $0 > materialized }) {
            if header.sequence > 1 {
                // A round ran, so a segment held M, and the segment holding M is never released.
                throw DatabaseError(.cantOpen, sqlState: SQLState.undefinedFile,
                                    "the log segment holding the materialized LSN \(materialized) is missing from \(logDirectory)")
            }
            // No segment holds the materialized LSN: a new (or restored) database. Start a
            // fresh segment at the materialized LSN.
            position = LogScanner.Position(end: materialized, chain: 0, segmentStart: materialized, salt: 0, capacity: 0)
        } else {
            let at = scanned.map { " (it ends at LSN \($0.end) in segment \(LogFormat.segmentName(start: $0.segmentStart)))" } ?? ""
            throw DatabaseError.corrupt("the log in \(logDirectory) does not reach the materialized LSN \(materialized)\(at)")
        }
        // Segments starting past the end hold no valid record (`checkEnd`), an unfinished one none.
        var live: [LSN] = []
        var removedAny = false
        for start in existing {
            if start > position.end || (start == position.end && position.capacity == 0) {
                try fs.remove(logDirectory + "/" + LogFormat.segmentName(start: start))
                removedAny = true
            } else {
                live.append(start)
            }
        }
        if let unfinished {
            try fs.remove(logDirectory + "/" + LogFormat.segmentName(start: unfinished))
            removedAny = true
        }
        if removedAny { try fs.syncDirectory(logDirectory) }
        let log = try LogWriter(
            configuration: .init(directory: logDirectory, databaseID: header.databaseID,
                                 segmentCapacity: UInt32(options.segmentCapacity(forFileSystemBytes: fs.totalBytes(ofFileSystemAt: directory))),
                                 retainArchive: options.retainLogArchive),
            fileSystem: fs, position: position, existingSegments: live, lastTransactionEnd: resumeLSN, abandonsTransaction: !pending.isEmpty)
        handedOver = true
        return Result(pageFile: pageFile, doubleWrite: doubleWrite, cache: cache, log: log,
                      lastCommitLSN: resumeLSN, lastTransactionID: lastTransactionID, repairedPages: repaired)
    }

    /// The scan ended at `scanned` (the end of the valid log). Refuses to open when the files
    /// prove that durable log follows: a seal naming a segment that is missing, a later
    /// segment holding records, a durable LSN recorded past the end, or a log mark after the
    /// hole vouching that the bytes at the hole were synced.
    private static func checkEnd(of scanned: LogScanner.Position, lastRecord: (type: UInt8, lsn: LSN, seal: Bool, end: LSN)?, header: FileHeader,
                                 segments: [LSN], unfinished: LSN?, scanner: LogScanner, logDirectory: String) throws {
        let end = scanned.end
        let holder = "\(logDirectory)/\(LogFormat.segmentName(start: scanned.segmentStart))"
        if let lastRecord, lastRecord.seal, lastRecord.end == end {
            let next = "\(logDirectory)/\(LogFormat.segmentName(start: end))"
            if !segments.contains(end) && end != unfinished {
                throw DatabaseError(.cantOpen, sqlState: SQLState.undefinedFile,
                                    "log segment \(next) is missing: the segment before it ends with a seal at LSN \(lastRecord.lsn), so the log continued there")
            }
        }
        for start in segments where start > end {
            // Records at its start, or verified ones further in (its first block may be the damage).
            if try scanner.holdsRecords(start: start) || scanner.examineAfterHole(segment: start, from: start).provesRecords {
                throw DatabaseError.corrupt("log segment \(holder) is damaged at LSN \(end): the valid log stops there, but the later segment \(LogFormat.segmentName(start: start)) holds records (durable log is missing)")
            }
        }
        if header.durableLSN > end {
            throw DatabaseError.corrupt("log segment \(holder) is damaged at LSN \(end): the valid log stops there, but the log was durable up to LSN \(header.durableLSN) when the page file's header was written")
        }
        let after = try scanner.examineAfterHole(segment: scanned.segmentStart, from: end)
        if let mark = after.vouchingMark {
            throw DatabaseError.corrupt("log segment \(holder) is damaged at LSN \(end): the valid log stops there, but a log mark at LSN \(mark.lsn) says the log was durable up to LSN \(mark.syncedEnd)")
        }
    }

    /// Writes a new database: the meta page (page 1), then the header naming it, both durable.
    private static func create(_ file: any StorageFile, path: String, options: StorageOptions) throws {
        var rng = SystemRandomNumberGenerator()
        let pageSize = options.pageSize
        let meta = PageImage(size: pageSize)
        meta.pageNumber = MetaPage.pageNumber
        MetaPage.format(meta)
        meta.sealChecksum()
        try file.write(UnsafeRawBufferPointer(meta.bytes), at: UInt64(pageSize))
        var header = FileHeader(pageSize: UInt32(pageSize), databaseID: rng.next(), sequence: 1, materializedLSN: 0,
                                pageCount: 2, freeListHead: 0, catalogRoot: 0, segmentCapacity: UInt32(options.segmentCapacity))
        header.coversPageCount = true
        try file.write(header.encoded(), at: UInt64(FileHeader.slotOffsets[1]))
        try file.sync()
        try options.fileSystem.syncDirectory(parentDirectory(of: path))
    }
}
