// Telling damage from a torn tail (docs/storage.md §6, "Damaged files"). Where the chained scan
// stops, the bytes after it are read without the chain: a record whose successor verifies when
// seeded with the record's own stored checksum (a *pair*, one chance in 2^32 by accident) is a
// record written at exactly that LSN of this segment — stale bytes of a recycled segment carry
// other LSNs and never verify. What such records prove:
//
// - in a later segment: the segment before it was synced before it got a byte, so a hole
//   before it is damage to durable log;
// - in the same segment, a log mark whose synced end lies past the hole: a flush that synced
//   after the hole vouches for it — damage; without one, the hole is the torn tail of the last
//   flush (or stale bytes of an earlier run), and the log ends there.
//
// Every length and offset here comes from the file: all arithmetic is checked against the bytes
// actually read.

extension LogScanner {
    /// What the bytes after a hole hold.
    struct AfterHole {
        /// The first LSN at which a verified pair begins its second record.
        var firstValid: LSN?
        /// A verified log mark (its LSN and synced end) whose synced end lies past the hole.
        var vouchingMark: (lsn: LSN, syncedEnd: LSN)?
        /// The end of the last verified record (the hole's LSN when none).
        var validEnd: LSN

        /// Whether any record there verified (so the bytes are this log's, written at their LSNs).
        var provesRecords: Bool { firstValid != nil || vouchingMark != nil }
    }

    /// Reads segment `start` from LSN `from` (≥ start) to its end and looks for records that
    /// verify without the chain.
    func examineAfterHole(segment start: LSN, from: LSN) throws -> AfterHole {
        var result = AfterHole(firstValid: nil, vouchingMark: nil, validEnd: from)
        let path = directory + "/" + LogFormat.segmentName(start: start)
        guard from >= start, fileSystem.exists(path) else { return result }
        let file = try fileSystem.open(path, create: false)
        defer { file.close() }
        let size = try file.size()
        let (relative, overflow) = (from - start).addingReportingOverflow(UInt64(LogFormat.segmentHeaderSize))
        guard !overflow, relative < size, size - relative <= UInt64(Int32.max) else { return result }
        let bytes = try file.readBytes(count: Int(size - relative), at: relative)
        bytes.withUnsafeBytes { raw in
            let n = raw.count
            /// The record at `y` when its header fits and its type is known: its end.
            func recordEnd(_ y: Int) -> Int? {
                guard y >= 0, n - y >= LogFormat.recordHeaderSize, (1...3).contains(raw[y + 8]) else { return nil }
                let length = Int(raw.littleEndian(at: y, as: UInt32.self))
                guard length <= n - y - LogFormat.recordHeaderSize else { return nil }
                return y + LogFormat.recordHeaderSize + length
            }
            func verifies(_ y: Int, end: Int, seed: UInt32) -> Bool {
                let record = UnsafeRawBufferPointer(rebasing: raw[y..<end])
                return record.littleEndian(at: 4, as: UInt32.self)
                    == LogFormat.recordChecksum(previous: seed, lsn: from + UInt64(y), record: record)
            }
            var y = 0
            while y + LogFormat.recordHeaderSize <= n {
                // Zeros (a preallocated segment's unwritten part) hold no record type: skip them a word at a time.
                if y + 16 <= n, raw.loadUnaligned(fromByteOffset: y + 8, as: UInt64.self) == 0 {
                    y += 8
                    continue
                }
                // A mark that carries its seed verifies alone (the records before it may be in
                // the hole): one whose synced end lies past the hole vouches for it.
                if raw[y + 8] == LogRecordType.mark.rawValue, let end = recordEnd(y), end - y == LogMark.recordSize,
                   let mark = try? LogMark.decode(UnsafeRawBufferPointer(rebasing: raw[(y + LogFormat.recordHeaderSize)..<end])),
                   let seed = mark.seed, verifies(y, end: end, seed: seed) {
                    result.validEnd = max(result.validEnd, from + UInt64(end))
                    if mark.syncedEnd > from, result.vouchingMark == nil { result.vouchingMark = (from + UInt64(y), mark.syncedEnd) }
                }
                guard y + 2 * LogFormat.recordHeaderSize <= n else { y += 1; continue }
                guard let secondStart = recordEnd(y), let secondEnd = recordEnd(secondStart),
                      verifies(secondStart, end: secondEnd, seed: raw.littleEndian(at: y + 4, as: UInt32.self)) else {
                    y += 1
                    continue
                }
                // A pair: walk its chain as far as it verifies.
                if result.firstValid == nil { result.firstValid = from + UInt64(secondStart) }
                var current = secondStart, currentEnd = secondEnd
                while true {
                    result.validEnd = max(result.validEnd, from + UInt64(currentEnd))
                    if raw[current + 8] == LogRecordType.mark.rawValue,
                       let mark = try? LogMark.decode(UnsafeRawBufferPointer(rebasing: raw[(current + LogFormat.recordHeaderSize)..<currentEnd])),
                       mark.syncedEnd > from, result.vouchingMark == nil {
                        result.vouchingMark = (from + UInt64(current), mark.syncedEnd)
                    }
                    let seed = raw.littleEndian(at: current + 4, as: UInt32.self)
                    guard let nextEnd = recordEnd(currentEnd), verifies(currentEnd, end: nextEnd, seed: seed) else { break }
                    current = currentEnd
                    currentEnd = nextEnd
                }
                y = currentEnd
            }
        }
        return result
    }

    /// The first LSN of segment `start` at or after `from` where records verify without the
    /// chain (nil when none: zeros, stale bytes, or fewer than two records).
    func firstVerifiedRecord(start: LSN, from: LSN) throws -> LSN? {
        try examineAfterHole(segment: start, from: from).firstValid
    }

    /// Whether segment `start` (its header valid) begins with a record that verifies against
    /// its salt.
    func holdsRecords(start: LSN) throws -> Bool {
        guard let (header, contents) = try openSegment(start: start, reading: LogFormat.segmentHeaderSize + (160 << 10)) else { return false }
        return contents.bytes.withUnsafeBytes { raw -> Bool in
            let y = LogFormat.segmentHeaderSize
            guard raw.count - y >= LogFormat.recordHeaderSize else { return false }
            let length = Int(raw.littleEndian(at: y, as: UInt32.self))
            guard length <= raw.count - y - LogFormat.recordHeaderSize else { return false }
            let record = UnsafeRawBufferPointer(rebasing: raw[y..<(y + LogFormat.recordHeaderSize + length)])
            return record.littleEndian(at: 4, as: UInt32.self)
                == LogFormat.recordChecksum(previous: LogFormat.chainSeed(salt: header.salt), lsn: start, record: record)
        }
    }
}
