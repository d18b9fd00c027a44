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
        let path = directory + "/" + LogFormat.segmentName(start: start)
        let file = try fileSystem.open(path, create: false)
        defer { file.close() }
        guard try file.size() >= UInt64(LogFormat.segmentHeaderSize) else { return nil }
        let bytes = try file.readBytes(count: LogFormat.segmentHeaderSize, at: 0)
        let header = bytes.withUnsafeBytes { LogFormat.SegmentHeader.decode($0) }
        guard let header, header.databaseID == databaseID, header.startLSN == start else { return nil }
        return header
    }

    func readSegment(start: LSN) throws -> (LogFormat.SegmentHeader, [UInt8])? {
        let path = directory + "/" + LogFormat.segmentName(start: start)
        let file = try fileSystem.open(path, create: false)
        defer { file.close() }
        let size = try file.size()
        guard size >= UInt64(LogFormat.segmentHeaderSize) else { return nil }
        let bytes = try file.readBytes(count: Int(size), at: 0)
        let header = bytes.withUnsafeBytes { LogFormat.SegmentHeader.decode($0) }
        guard let header, header.databaseID == databaseID, header.startLSN == start else { return nil }
        return (header, bytes)
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
        guard let (firstHeader, firstBytes) = try readSegment(start: starts[index]) else { return nil }
        var header = firstHeader
        var bytes = firstBytes
        var position = Position(end: header.startLSN, chain: LogFormat.chainSeed(salt: header.salt),
                                segmentStart: header.startLSN, salt: header.salt, capacity: header.capacity)
        try visit(.segment(position))
        while true {
            let valid: Bool = try bytes.withUnsafeBytes { raw in
                let lsn = position.end
                let offset = LogFormat.segmentHeaderSize + Int(lsn - header.startLSN)
                let limit = min(raw.count, LogFormat.segmentHeaderSize + Int(header.capacity))
                guard offset + LogFormat.recordHeaderSize <= limit else { return false }
                let length = Int(raw.littleEndian(at: offset, as: UInt32.self))
                guard length <= limit - offset - LogFormat.recordHeaderSize else { return false }
                let record = UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + LogFormat.recordHeaderSize + length)])
                let stored = record.littleEndian(at: 4, as: UInt32.self)
                guard stored == LogFormat.recordChecksum(previous: position.chain, lsn: lsn, record: record) else { return false }
                position.end = lsn + UInt64(LogFormat.recordHeaderSize + length)
                position.chain = stored
                try visit(.record(Record(lsn: lsn, type: record[8],
                                         payload: UnsafeRawBufferPointer(rebasing: record[LogFormat.recordHeaderSize...]),
                                         after: position)))
                return true
            }
            // A segment that starts here takes precedence over whatever follows in this one.
            if index + 1 < starts.count && starts[index + 1] == position.end {
                guard let (nextHeader, nextBytes) = try readSegment(start: position.end) else { break }
                index += 1
                header = nextHeader
                bytes = nextBytes
                position = Position(end: header.startLSN, chain: LogFormat.chainSeed(salt: header.salt),
                                    segmentStart: header.startLSN, salt: header.salt, capacity: header.capacity)
                try visit(.segment(position))
                continue
            }
            if !valid { break }
        }
        return position
    }
}
