// Reads a row record front to back: what `ByteReader` (BorealisStorage) does, for the record
// codec's per-value loop only. ByteReader's methods are called across the module boundary and
// were not inlined even when marked `@inlinable` (release build, session 13: every varint of
// every value was a call, a tenth of `SELECT id, x FROM big ORDER BY x DESC LIMIT 10`); this
// copy lives in the module that decodes, where the optimizer inlines it.

import BorealisStorage

struct RecordReader {
    private let buffer: UnsafeRawBufferPointer
    private var offset = 0
    private let context: StaticString

    init(_ buffer: UnsafeRawBufferPointer, context: StaticString) {
        self.buffer = buffer
        self.context = context
    }

    var remaining: Int { buffer.count - offset }

    @inline(__always)
    mutating func readVarint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < buffer.count, shift < 64 else { throw damage("bad varint") }
            let byte = buffer[offset]
            offset += 1
            result |= UInt64(byte & 0x7f) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
    }

    @inline(__always)
    mutating func readBytes(_ count: Int) throws -> UnsafeRawBufferPointer {
        guard count >= 0, count <= buffer.count - offset else { throw damage("truncated") }
        let slice = UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset + count)])
        offset += count
        return slice
    }

    @inline(__always)
    mutating func readUInt64() throws -> UInt64 {
        guard 8 <= buffer.count - offset else { throw damage("truncated") }
        let value = UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        offset += 8
        return value
    }

    @inline(never)
    private func damage(_ what: String) -> DatabaseError {
        DatabaseError.corrupt("\(context): \(what) at byte \(offset)")
    }
}
