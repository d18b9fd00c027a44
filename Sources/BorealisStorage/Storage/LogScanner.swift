// Reads the log: walks records from a segment's start, verifying each record's chained checksum,
// and stops at the first invalid one — except at an LSN where a segment of that name begins,
// where it continues in that segment. Used by recovery (and later by restore).

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
    }

    let fileSystem: any FileSystem
    let directory: String
    let databaseID: UInt64

    /// Lists segment start LSNs, ascending.
    func segments() throws -> [LSN] {
        try fileSystem.list(directory).compactMap(LogFormat.parseSegmentName).sorted()
    }

    /// Deletes the newest segment when its header is not valid: a crash interrupted its
    /// creation (records are written to a segment only after its header is durable), so it
    /// holds nothing. An invalid header on any other segment is corruption.
    func discardUnfinishedSegment() throws {
        let starts = try segments()
        for (i, start) in starts.enumerated() where try readHeader(start: start) == nil {
            guard i == starts.count - 1 else {
                throw DatabaseError.corrupt("log segment \(LogFormat.segmentName(start: start)) has an invalid header")
            }
            try fileSystem.remove(directory + "/" + LogFormat.segmentName(start: start))
            try fileSystem.syncDirectory(directory)
        }
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
    func scan(from: LSN, visit: (Event) throws -> Void) throws -> Position? {
        let starts = try segments()
        guard var index = starts.lastIndex(where: { $0 <= from }) else { return nil }
        guard var (header, contents) = try openSegment(start: starts[index]) else { return nil }
        var position = Position(end: header.startLSN, chain: LogFormat.chainSeed(salt: header.salt),
                                segmentStart: header.startLSN, salt: header.salt, capacity: header.capacity)
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
                index += 1
                (header, contents) = next
                position = Position(end: header.startLSN, chain: LogFormat.chainSeed(salt: header.salt),
                                    segmentStart: header.startLSN, salt: header.salt, capacity: header.capacity)
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
        let header = prefix.withUnsafeBytes { LogFormat.SegmentHeader.decode($0) }
        guard let header, header.databaseID == databaseID, header.startLSN == start else {
            file.close()
            return nil
        }
        return (header, SegmentContents(file: file, fileSize: size, prefix: prefix))
    }
}
