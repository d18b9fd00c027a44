// Opening a database: create it when absent, read the header, repair torn pages from the
// double-write file, and scan the log tail from the materialized LSN to rebuild the redo index.
// Only transactions whose commit record is valid are indexed; the log continues right after the
// last one. Segments that start past that point hold nothing valid and are deleted. No page is
// replayed into the page file: open time is bounded by the un-materialized tail.

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
        if try file.size() == 0 {
            try create(file, path: path, options: options)
        }
        // The double-write file and the log folder must survive a crash once they exist.
        if !fs.exists(dwbPath) || !fs.exists(logDirectory) {
            try fs.makeDirectory(logDirectory)
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
        let pageFile = PageFile(file: file, header: header)
        let doubleWrite = DoubleWriteBuffer(file: try fs.open(dwbPath, create: false),
                                            databaseID: header.databaseID, pageSize: pageFile.pageSize)
        let repaired = try doubleWrite.repair(pageFile)

        let cache = VersionCache(pageFile: pageFile, capacityBytes: options.cacheBytes, materializedLSN: header.materializedLSN,
                                 materializedPageCount: header.pageCount)
        let scanner = LogScanner(fileSystem: fs, directory: logDirectory, databaseID: header.databaseID)
        try scanner.discardUnfinishedSegment()
        let materialized = header.materializedLSN

        var resume: LogScanner.Position?
        var resumeLSN = materialized
        var pending: [(PageNumber, [UInt8])] = []
        var lastTransactionID: UInt64 = 0
        let scanned = try scanner.scan(from: materialized) { event in
            switch event {
            case .segment(let position):
                if position.end == resumeLSN { resume = position }
            case .record(let record):
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
                case nil:
                    throw DatabaseError.corrupt("log record at LSN \(record.lsn) has unknown type \(record.type)")
                }
            }
        }
        let existing = try scanner.segments()
        let position: LogScanner.Position
        if let resume {
            position = resume
        } else if scanned == nil && existing.allSatisfy({ $0 > materialized }) {
            // No segment holds the materialized LSN: a new database, or every segment was
            // released. Start a fresh segment at the materialized LSN.
            position = LogScanner.Position(end: materialized, chain: 0, segmentStart: materialized, salt: 0, capacity: 0)
        } else {
            throw DatabaseError.corrupt("the log in \(logDirectory) does not reach the materialized LSN \(materialized)")
        }
        // Segments starting past the end hold no valid commit.
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
        if removedAny { try fs.syncDirectory(logDirectory) }
        let log = try LogWriter(
            configuration: .init(directory: logDirectory, databaseID: header.databaseID,
                                 segmentCapacity: UInt32(options.segmentCapacity), retainArchive: options.retainLogArchive),
            fileSystem: fs, position: position, existingSegments: live)
        return Result(pageFile: pageFile, doubleWrite: doubleWrite, cache: cache, log: log,
                      lastCommitLSN: position.end, lastTransactionID: lastTransactionID, repairedPages: repaired)
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
        let header = FileHeader(pageSize: UInt32(pageSize), databaseID: rng.next(), sequence: 1, materializedLSN: 0,
                                pageCount: 2, freeListHead: 0, catalogRoot: 0, segmentCapacity: UInt32(options.segmentCapacity))
        try file.write(header.encoded(), at: UInt64(FileHeader.slotOffsets[1]))
        try file.sync()
        try options.fileSystem.syncDirectory(parentDirectory(of: path))
    }
}
