// Reads the log: walks records from a segment's start (or from a known LSN and chain checksum),
// verifying each record's chained checksum, and stops at the first invalid one — except at an
// LSN where a segment of that name begins, where it continues in that segment, which must then
// continue the chain (BRLSLOG2 headers: sequence and previous checksum). A segment file whose
// valid header names another start or database is an error naming it (renamed, swapped or
// foreign), never a silent end of the log. Used by recovery, the integrity check and restore.

struct LogScanner {
    struct Position {
        /// LSN just past the last valid record.
        var end: LSN
        /// Checksum of the last valid record (the seed of the next one).
        var chain: UInt32
        /// The segment holding `end` and its salt.
        var segmentStart: LSN
        var salt: UInt64
        var capacity: UInt32
        /// The holding segment's sequence (0 for a BRLSLOG1 segment).
        var sequence: UInt64 = 0

        init(end: LSN, chain: UInt32, segmentStart: LSN, salt: UInt64, capacity: UInt32, sequence: UInt64 = 0) {
            self.end = end
            self.chain = chain
            self.segmentStart = segmentStart
            self.salt = salt
            self.capacity = capacity
            self.sequence = sequence
        }

        init(start header: LogFormat.SegmentHeader) {
            self.init(end: header.startLSN, chain: LogFormat.chainSeed(salt: header.salt), segmentStart: header.startLSN,
                      salt: header.salt, capacity: header.capacity, sequence: header.chain?.sequence ?? 0)
        }
    }

    let fileSystem: any FileSystem
    let directory: String
    let databaseID: UInt64
    /// A segment the scan treats as absent (recovery's unfinished one, deleted after the checks).
    var ignoring: LSN?

    init(fileSystem: any FileSystem, directory: String, databaseID: UInt64) {
        self.fileSystem = fileSystem
        self.directory = directory
        self.databaseID = databaseID
    }

    /// Lists segment start LSNs, ascending.
    func segments() throws -> [LSN] {
        try fileSystem.list(directory).compactMap(LogFormat.parseSegmentName).filter { $0 != ignoring }.sorted()
    }

    /// The newest segment when its header is not valid: a crash interrupted its creation
    /// (records are written to a segment only after its header is durable), so it holds
    /// nothing — unless records verify at the LSNs its name gives, which means the header was
    /// damaged after records were written (an error naming it). A recycled file renamed for a
    /// new segment whose new header did not land still holds its old header (an older start
    /// of this database): unfinished too. An invalid or misplaced header on any other segment
    /// is corruption. The caller deletes the segment once no seal names it.
    func unfinishedSegment() throws -> LSN? {
        let starts = try segments()
        for (i, start) in starts.enumerated() {
            let path = directory + "/" + LogFormat.segmentName(start: start)
            let file = try fileSystem.open(path, create: false)
            let size = try file.size()
            let prefix = size >= UInt64(LogFormat.segmentHeaderSize) ? try file.readBytes(count: LogFormat.segmentHeaderSize, at: 0) : []
            file.close()
            let header = prefix.withUnsafeBytes { LogFormat.SegmentHeader.decode($0) }
            // A BRLSLOG2 segment is preallocated before its header is synced: a shorter one
            // is unfinished (the newest) or truncated.
            let short = header.map { $0.chain != nil && size < UInt64(LogFormat.segmentHeaderSize) + UInt64($0.capacity) } ?? false
            if let header, header.databaseID == databaseID, header.startLSN == start, !short { continue }
            let recycled = header.map { $0.databaseID == databaseID && $0.startLSN <= start } ?? true
            guard i == starts.count - 1, recycled else {
                if header != nil { _ = try openSegment(start: start, reading: LogFormat.segmentHeaderSize) } // throws, naming it
                throw DatabaseError.corrupt("log segment \(path) has an invalid header")
            }
            if let lsn = try firstVerifiedRecord(start: start, from: start) {
                throw DatabaseError.corrupt("log segment \(path) has a damaged header, but holds valid records (at LSN \(lsn))")
            }
            return start
        }
        return nil
    }

    /// The segment's header when it is valid and belongs here (reads only the header).
    func readHeader(start: LSN) throws -> LogFormat.SegmentHeader? {
        try openSegment(start: start, reading: LogFormat.segmentHeaderSize)?.0
    }

    /// One valid record, with the log position just past it.
    struct Record {
        var lsn: LSN
        var type: UInt8
        var payload: UnsafeRawBufferPointer
        var after: Position
    }

    enum Event {
        /// The scan entered a segment: its start is a position to resume appending at.
        case segment(Position)
        case record(Record)
    }

    /// Walks every valid record from the start of the segment holding `from` (the greatest start
    /// ≤ `from`) to the end of the valid log. Records before `from` are reported too (the caller
    /// needs their checksums to continue the chain). Returns the position past the last valid
    /// record, or nil when no valid segment holds `from`.
    @discardableResult
    /// With `seed` (the chained checksum at `from`, a record boundary), the scan starts at
    /// `from` itself and never reads the records before it.
    func scan(from: LSN, seed: UInt32? = nil, visit: (Event) throws -> Void) throws -> Position? {
        let starts = try segments()
        guard var index = starts.lastIndex(where: { $0 <= from }) else { return nil }
        guard var (header, contents) = try openSegment(start: starts[index]) else { return nil }
        var position = Position(start: header)
        if let seed, from > header.startLSN {
            guard from - header.startLSN <= UInt64(header.capacity) else { return nil }
            position.end = from
            position.chain = seed
        }
        try visit(.segment(position))
        enum Step { case record, end, needBytes(Int) }
        while true {
            let step: Step = try contents.bytes.withUnsafeBytes { window in
                // `window` holds the file's bytes from `contents.base` on; offsets are the file's.
                let lsn = position.end
                let offset = LogFormat.segmentHeaderSize + Int(lsn - header.startLSN)
                let loaded = contents.base + window.count
                let limit = min(contents.fileSize, LogFormat.segmentHeaderSize + Int(header.capacity))
                guard offset + LogFormat.recordHeaderSize <= limit else { return .end }
                if offset < contents.base || offset + LogFormat.recordHeaderSize > loaded { return .needBytes(offset + LogFormat.recordHeaderSize) }
                let length = Int(window.littleEndian(at: offset - contents.base, as: UInt32.self))
                guard length <= limit - offset - LogFormat.recordHeaderSize else { return .end }
                if offset + LogFormat.recordHeaderSize + length > loaded { return .needBytes(offset + LogFormat.recordHeaderSize + length) }
                let start = offset - contents.base
                let record = UnsafeRawBufferPointer(rebasing: window[start..<(start + LogFormat.recordHeaderSize + length)])
                let stored = record.littleEndian(at: 4, as: UInt32.self)
                guard stored == LogFormat.recordChecksum(previous: position.chain, lsn: lsn, record: record) else { return .end }
                position.end = lsn + UInt64(LogFormat.recordHeaderSize + length)
                position.chain = stored
                try visit(.record(Record(lsn: lsn, type: record[8],
                                         payload: UnsafeRawBufferPointer(rebasing: record[LogFormat.recordHeaderSize...]),
                                         after: position)))
                return .record
            }
            if case .needBytes(let end) = step {
                try contents.load(from: LogFormat.segmentHeaderSize + Int(position.end - header.startLSN), through: end)
                continue
            }
            // A segment that starts here takes precedence over whatever follows in this one.
            if index + 1 < starts.count && starts[index + 1] == position.end {
                guard let next = try openSegment(start: position.end) else { break }
                if let chain = next.0.chain {
                    let name = "\(directory)/\(LogFormat.segmentName(start: position.end))"
                    guard chain.previousChecksum == position.chain else {
                        throw DatabaseError.corrupt("log segment \(name) does not continue the segment before it (previous checksum \(hexChecksum(chain.previousChecksum)), the log's is \(hexChecksum(position.chain)) at LSN \(position.end)): swapped, stale or from another copy")
                    }
                    guard header.chain == nil || chain.sequence == position.sequence &+ 1 else {
                        throw DatabaseError.corrupt("log segment \(name) has sequence number \(chain.sequence), the segment before it \(position.sequence)")
                    }
                }
                index += 1
                (header, contents) = next
                position = Position(start: header)
                try visit(.segment(position))
                continue
            }
            if case .end = step { break }
        }
        return position
    }

    /// A window onto a segment file, moved forward as the scan needs (segments are preallocated,
    /// so most of a recent one is zeros never read; and records already visited are let go, so
    /// memory stays at a megabyte or one record, whatever the segment holds).
    final class SegmentContents {
        private let file: any StorageFile
        let fileSize: Int
        /// The file offset of `bytes[0]`.
        private(set) var base = 0
        private(set) var bytes: [UInt8]
        static let chunk = 1 << 20

        init(file: any StorageFile, fileSize: Int, prefix: [UInt8]) {
            self.file = file
            self.fileSize = fileSize
            self.bytes = prefix
        }

        deinit { file.close() }

        /// Makes the window start at `start` and reach at least `end` (or the end of the file).
        func load(from start: Int, through end: Int) throws {
            let target = min(fileSize, max(end, start + Self.chunk))
            guard target > base + bytes.count || start < base else { throw DatabaseError.corrupt("log segment ends before byte \(end)") }
            bytes = []  // the old window goes before the new one is read
            bytes = try file.readBytes(count: target - start, at: UInt64(start))
            base = start
            guard base + bytes.count >= min(end, fileSize) else {
                throw DatabaseError(.ioError, sqlState: SQLState.ioError, "log segment shrank while it was read")
            }
        }
    }

    /// Opens a segment with its header validated, having read its first `reading` bytes (a
    /// megabyte unless told).
    func openSegment(start: LSN, reading: Int = SegmentContents.chunk) throws -> (LogFormat.SegmentHeader, SegmentContents)? {
        let path = directory + "/" + LogFormat.segmentName(start: start)
        let file = try fileSystem.open(path, create: false)
        let size = Int(try file.size())
        guard size >= LogFormat.segmentHeaderSize else {
            file.close()
            return nil
        }
        let prefix = try file.readBytes(count: min(size, reading), at: 0)
        guard let header = prefix.withUnsafeBytes({ LogFormat.SegmentHeader.decode($0) }) else {
            file.close()
            return nil
        }
        guard header.databaseID == databaseID, header.startLSN == start else {
            file.close()
            throw DatabaseError.corrupt(header.databaseID != databaseID
                ? "log segment \(path) belongs to another database (id \(String(header.databaseID, radix: 16)))"
                : "log segment \(path) holds the segment starting at LSN \(header.startLSN), not the one its name gives (renamed or swapped)")
        }
        if header.chain != nil, size < LogFormat.segmentHeaderSize + Int(header.capacity) {
            file.close()
            throw DatabaseError.corrupt("log segment \(path) is truncated: \(size) bytes, its header gives it \(LogFormat.segmentHeaderSize + Int(header.capacity))")
        }
        return (header, SegmentContents(file: file, fileSize: size, prefix: prefix))
    }
}
