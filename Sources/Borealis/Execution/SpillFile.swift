// Rows written to a temporary file and read back in order, for sorts and aggregations larger
// than the work memory (`ExecutionContext.workMemoryRows`). The file is unlinked as soon as it
// is created, so it disappears with the process even after a crash.

import Foundation

final class SpillFile {
    private let file: any StorageFile
    private var buffer: [UInt8] = []
    private var writeOffset: UInt64 = 0
    private(set) var count = 0

    init() throws {
        file = try Self.temporaryFile()
        buffer.reserveCapacity(1 << 20)
    }

    /// A new temporary file, already unlinked (it disappears with its last descriptor).
    static func temporaryFile() throws -> any StorageFile {
        let path = NSTemporaryDirectory() + "borealis-spill-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let fs = PosixFileSystem()
        let file = try fs.open(path, create: true)
        try fs.remove(path)
        return file
    }

    deinit { file.close() }

    func append(_ row: [Value]) throws {
        let record = RecordCodec.encode(row)
        var header = ByteWriter(capacity: 5)
        header.appendVarint(UInt64(record.count))
        buffer.append(contentsOf: header.bytes)
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
        try flush()
        let end = writeOffset
        var offset: UInt64 = 0
        var chunk: [UInt8] = []
        var position = 0
        // The reader keeps the spill file (and so its descriptor) alive.
        let owner = self
        func refill(_ needed: Int) throws -> Bool {
            if chunk.count - position >= needed { return true }
            let keep = Array(chunk[position...])
            let want = max(needed - keep.count, 1 << 20)
            let more = try owner.file.readBytes(count: Int(min(UInt64(want), end - offset)), at: offset)
            offset += UInt64(more.count)
            chunk = keep + more
            position = 0
            return chunk.count >= needed
        }
        return {
            guard try refill(1) else { return nil }
            var length = 0
            var shift = 0
            while true {
                guard try refill(1) else { throw DatabaseError.corrupt("spill file truncated") }
                let byte = chunk[position]
                position += 1
                length |= Int(byte & 0x7f) << shift
                if byte < 0x80 { break }
                shift += 7
            }
            guard try refill(length) else { throw DatabaseError.corrupt("spill file truncated") }
            let row = try RecordCodec.decode(Array(chunk[position..<(position + length)]))
            position += length
            return row
        }
    }
}
