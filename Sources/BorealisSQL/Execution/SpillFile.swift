// Records written to a temporary file and read back in order: rows for sorts, aggregations and
// joins larger than the work memory (`ExecutionContext.workMemoryRows`), and index keys for
// CREATE INDEX's sorted runs. The file is unlinked as soon as it is created, so it disappears
// with the process even after a crash.
//
// Format: per record a varint length and the bytes, written and read through 1 MiB buffers.

import FoundationEssentials
import BorealisStorage

final class SpillFile {
    private let file: any StorageFile
    // Written only by the thread that fills the file, never overlapping: no dynamic
    // exclusivity checks per record.
    @exclusivity(unchecked) private var buffer: [UInt8] = []
    @exclusivity(unchecked) private var writeOffset: UInt64 = 0
    @exclusivity(unchecked) private(set) var count = 0
    /// The statement whose temporary-file bytes this file counts (temp_file_limit), if any.
    private let account: StatementMemory?
    private let generation: Int

    init(account: StatementMemory? = nil) throws {
        self.account = account
        generation = account?.generation ?? 0
        let path = temporaryPath("borealis-spill")
        let fs = PosixFileSystem()
        file = try fs.open(path, create: true)
        try fs.remove(path)
        buffer.reserveCapacity(1 << 20)
    }

    deinit {
        file.close()
        account?.releaseTemporary(Int(writeOffset), generation: generation)
    }

    func append(_ row: [Value]) throws {
        try RecordCodec.encode(row).withUnsafeBytes { try appendRecord($0) }
    }

    /// Appends one record: `record`, then `trailer` when given.
    func appendRecord(_ record: UnsafeRawBufferPointer, trailer: UInt8? = nil) throws {
        var length = UInt64(record.count + (trailer == nil ? 0 : 1))
        while length >= 0x80 {
            buffer.append(UInt8(truncatingIfNeeded: length) | 0x80)
            length >>= 7
        }
        buffer.append(UInt8(length))
        buffer.append(contentsOf: record)
        if let trailer { buffer.append(trailer) }
        count += 1
        if buffer.count >= 1 << 20 { try flush() }
    }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        try account?.chargeTemporary(buffer.count)
        try file.write(buffer, at: writeOffset)
        writeOffset += UInt64(buffer.count)
        buffer.removeAll(keepingCapacity: true)
    }

    /// Reads the rows back in the order they were written; the stream keeps the file open.
    func reader() throws -> RowStream {
        let records = try recordReader()
        return {
            guard let record = try records.next() else { return nil }
            return try RecordCodec.decode(record)
        }
    }

    /// Reads the records back in the order they were written (keeping the file open).
    func recordReader() throws -> RecordReader {
        try flush()
        return RecordReader(owner: self, file: file, end: writeOffset)
    }

    /// Hands out the records in place, from a buffer of its own that one read fills at a time.
    final class RecordReader {
        private let owner: SpillFile
        private let file: any StorageFile
        private let end: UInt64
        private var offset: UInt64 = 0
        /// `buffer[position..<filled]` is read and not yet handed out.
        @exclusivity(unchecked) private var buffer: UnsafeMutableRawBufferPointer
        @exclusivity(unchecked) private var position = 0
        @exclusivity(unchecked) private var filled = 0

        fileprivate init(owner: SpillFile, file: any StorageFile, end: UInt64) {
            self.owner = owner
            self.file = file
            self.end = end
            buffer = .allocate(byteCount: Int(min(end, 1 << 20)) + 16, alignment: 16)
        }

        deinit { buffer.deallocate() }

        /// Makes at least `needed` unread bytes available; false when the file has fewer left.
        private func refill(_ needed: Int) throws -> Bool {
            let unread = filled - position
            if unread >= needed { return true }
            if needed > buffer.count {
                let larger = UnsafeMutableRawBufferPointer.allocate(byteCount: max(needed, 2 * buffer.count), alignment: 16)
                larger.baseAddress!.copyMemory(from: buffer.baseAddress! + position, byteCount: unread)
                buffer.deallocate()
                buffer = larger
            } else if unread > 0 && position > 0 {
                buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + position, byteCount: unread)
            }
            position = 0
            filled = unread
            while filled < needed && offset < end {
                let want = Int(min(UInt64(buffer.count - filled), end - offset))
                let n = try file.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<(filled + want)]), at: offset)
                guard n > 0 else { break }
                filled += n
                offset += UInt64(n)
            }
            return filled >= needed
        }

        /// The next record, valid until the next call; nil at the end.
        func next() throws -> UnsafeRawBufferPointer? {
            guard try refill(1) else { return nil }
            var length = 0
            var shift = 0
            while true {
                guard try refill(1), shift < 64 else { throw DatabaseError.corrupt("spill file truncated") }
                let byte = buffer[position]
                position += 1
                length |= Int(byte & 0x7f) << shift
                if byte < 0x80 { break }
                shift += 7
            }
            guard length >= 0, try refill(length) else { throw DatabaseError.corrupt("spill file truncated") }
            let record = UnsafeRawBufferPointer(rebasing: buffer[position..<(position + length)])
            position += length
            return record
        }
    }
}
