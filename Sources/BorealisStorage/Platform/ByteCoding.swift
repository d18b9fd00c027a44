// Little-endian fixed-width integers and LEB128 varints, for log records and file headers.
// `ByteWriter` appends to a growable array; `ByteReader` walks a buffer and throws `corrupt`
// instead of reading past its end.

package struct ByteWriter {
    package var bytes: [UInt8]

    package init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    @inline(__always)
    package mutating func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    @inline(__always)
    package mutating func appendVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func append(contentsOf raw: UnsafeRawBufferPointer) { bytes.append(contentsOf: raw) }
    package mutating func append(contentsOf array: [UInt8]) { bytes.append(contentsOf: array) }
}

package struct ByteReader {
    let buffer: UnsafeRawBufferPointer
    var offset: Int
    let context: String

    package init(_ buffer: UnsafeRawBufferPointer, offset: Int = 0, context: String) {
        self.buffer = buffer
        self.offset = offset
        self.context = context
    }

    package var remaining: Int { buffer.count - offset }

    @inline(__always)
    package mutating func read<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let size = MemoryLayout<T>.size
        guard offset + size <= buffer.count else { throw DatabaseError.corrupt("\(context): truncated at byte \(offset)") }
        let value = T(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += size
        return value
    }

    @inline(__always)
    package mutating func readVarint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < buffer.count, shift < 64 else { throw DatabaseError.corrupt("\(context): bad varint at byte \(offset)") }
            let byte = buffer[offset]
            offset += 1
            result |= UInt64(byte & 0x7f) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
    }

    package mutating func readBytes(_ count: Int) throws -> UnsafeRawBufferPointer {
        guard count >= 0, offset + count <= buffer.count else { throw DatabaseError.corrupt("\(context): truncated at byte \(offset)") }
        let slice = UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset + count)])
        offset += count
        return slice
    }
}

extension UnsafeRawBufferPointer {
    @inline(__always)
    func littleEndian<T: FixedWidthInteger>(at offset: Int, as: T.Type) -> T {
        T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}

extension UnsafeMutableRawBufferPointer {
    @inline(__always)
    func storeLittleEndian<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
    }
}
