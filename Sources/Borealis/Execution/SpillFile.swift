// Records written to a temporary file and read back in order: rows for sorts, aggregations and
// joins larger than the work memory (`ExecutionContext.workMemoryRows`), and index keys for
// CREATE INDEX's sorted runs. The file is unlinked as soon as it is created, so it disappears
// with the process even after a crash.
//
// Format: per record a varint length and the bytes, written and read through 1 MiB buffers.

import Foundation

final class SpillFile {
    private let file: any StorageFile
    private var buffer: [UInt8] = []
    private var writeOffset: UInt64 = 0
    private(set) var count = 0

    init() throws {
        let path = NSTemporaryDirectory() + "borealis-spill-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let fs = PosixFileSystem()
        file = try fs.open(path, create: true)
        try fs.remove(path)
        buffer.reserveCapacity(1 << 20)
    }

    deinit { file.close() }

    func append(_ row: [Value]) throws {
        try RecordCodec.encode(row).withUnsafeBytes { try appendRecord($0) }
    }

    func appendRecord(_ record: UnsafeRawBufferPointer) throws {
        var length = UInt64(record.count)
        while length >= 0x80 {
            buffer.append(UInt8(truncatingIfNeeded: length) | 0x80)
            length >>= 7
        }
        buffer.append(UInt8(length))
        buffer.append(contentsOf: record)
        count += 1
        if buffer.count >= 1 << 20 { try flush() }
    }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        try file.write(buffer, at: writeOffset)
        writeOffset += UInt64(buffer.count)
        buffer.removeAll(keepingCapacity: true)
    }

    /// Reads the rows back in the order they were written; the stream keeps the file open.
    func reader() throws -> RowStream {
        let records = try recordReader()
        var record: [UInt8] = []
        return {
            guard try records.next(into: &record) else { return nil }
            return try RecordCodec.decode(record)
        }
    }

    /// Reads the records back in the order they were written (keeping the file open).
    func recordReader() throws -> RecordReader {
        try flush()
        return RecordReader(owner: self, file: file, end: writeOffset)
    }

    final class RecordReader {
        private let owner: SpillFile
        private let file: any StorageFile
        private let end: UInt64
        private var offset: UInt64 = 0
        private var chunk: [UInt8] = []
        private var position = 0

        fileprivate init(owner: SpillFile, file: any StorageFile, end: UInt64) {
            self.owner = owner
            self.file = file
            self.end = end
        }

        /// Makes at least `needed` unread bytes available; false when the file has fewer left.
        private func refill(_ needed: Int) throws -> Bool {
            if chunk.count - position >= needed { return true }
            chunk.removeSubrange(0..<position)
            position = 0
            let want = Int(min(UInt64(max(needed - chunk.count, 1 << 20)), end - offset))
            if want > 0 {
                chunk.append(contentsOf: try file.readBytes(count: want, at: offset))
                offset += UInt64(want)
            }
            return chunk.count >= needed
        }

        /// Replaces `record`'s contents with the next record; false at the end.
        func next(into record: inout [UInt8]) throws -> Bool {
            guard try refill(1) else { return false }
            var length = 0
            var shift = 0
            while true {
                guard try refill(1), shift < 64 else { throw DatabaseError.corrupt("spill file truncated") }
                let byte = chunk[position]
                position += 1
                length |= Int(byte & 0x7f) << shift
                if byte < 0x80 { break }
                shift += 7
            }
            guard try refill(length) else { throw DatabaseError.corrupt("spill file truncated") }
            record.removeAll(keepingCapacity: true)
            record.append(contentsOf: chunk[position..<(position + length)])
            position += length
            return true
        }
    }
}
