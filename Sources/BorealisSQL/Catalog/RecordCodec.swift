// The record format of table rows: varint column count, one type byte per column, then the
// values (integers as zigzag varints, doubles as 8 bytes, text and blobs with a varint length).
// And the order-preserving key encoding of index entries: per value a tag byte, then bytes whose
// memcmp order is the value order (NULL sorts last, as PostgreSQL's ascending default).

import FoundationEssentials
import BorealisStorage

/// How a scan decodes one column of a row record.
package enum ColumnDecode: UInt8 {
    /// Not read by the query: stepped over, NULL in the row.
    case skip
    case value
    /// Read only as `length(column)` / `octet_length(column)`: the row holds that length,
    /// counted on the stored bytes, so the text is never built (see `ColumnUsage`).
    case characterLength
    case octetLength
}

package enum RecordCodec {
    private static let nullTag: UInt8 = 0, integerTag: UInt8 = 1, doubleTag: UInt8 = 2, textTag: UInt8 = 3
    private static let blobTag: UInt8 = 4, falseTag: UInt8 = 5, trueTag: UInt8 = 6
    private static let dateTag: UInt8 = 7, timeTag: UInt8 = 8, timestampTag: UInt8 = 9, timestamptzTag: UInt8 = 10, intervalTag: UInt8 = 11
    private static let numericTag: UInt8 = 12
    /// An array: varint dimension count, a varint length per dimension, then a varint byte
    /// count and the elements as a nested record (whose tags may not be arrays).
    private static let arrayTag: UInt8 = 13

    @inline(__always)
    private static func zigzag(_ v: Int64) -> UInt64 { UInt64(bitPattern: (v << 1) ^ (v >> 63)) }
    @inline(__always)
    private static func unzigzag(_ z: UInt64) -> Int64 { Int64(bitPattern: (z >> 1) ^ (0 &- (z & 1))) }

    static func encode(_ values: [Value]) -> [UInt8] {
        // One allocation: room for the tags, a varint per value and the text and blob bytes.
        var capacity = 16 + values.count * 10
        for value in values {
            switch value {
            case .text(let s): capacity += s.utf8.count
            case .blob(let b): capacity += b.count
            default: break
            }
        }
        var writer = ByteWriter(capacity: capacity)
        writer.appendVarint(UInt64(values.count))
        for value in values {
            switch value {
            case .null: writer.bytes.append(nullTag)
            case .integer: writer.bytes.append(integerTag)
            case .double: writer.bytes.append(doubleTag)
            case .text: writer.bytes.append(textTag)
            case .blob: writer.bytes.append(blobTag)
            case .boolean(let b): writer.bytes.append(b ? trueTag : falseTag)
            case .date: writer.bytes.append(dateTag)
            case .time: writer.bytes.append(timeTag)
            case .timestamp: writer.bytes.append(timestampTag)
            case .timestamptz: writer.bytes.append(timestamptzTag)
            case .interval: writer.bytes.append(intervalTag)
            case .numeric: writer.bytes.append(numericTag)
            case .array: writer.bytes.append(arrayTag)
            }
        }
        for value in values {
            switch value {
            case .integer(let v): writer.appendVarint(zigzag(v))
            case .date(let d): writer.appendVarint(zigzag(Int64(d)))
            case .time(let t), .timestamp(let t), .timestamptz(let t): writer.appendVarint(zigzag(t))
            case .numeric(let n):
                // The exact digits as text, with the display scale kept by the trailing zeros.
                let digits = Array(n.description.utf8)
                writer.appendVarint(UInt64(digits.count))
                writer.append(contentsOf: digits)
            case .interval(let i):
                writer.appendVarint(zigzag(Int64(i.months)))
                writer.appendVarint(zigzag(Int64(i.days)))
                writer.appendVarint(zigzag(i.microseconds))
            case .double(let d): writer.append(d.bitPattern)
            case .text(let s):
                writer.appendVarint(UInt64(s.utf8.count))
                writer.bytes.append(contentsOf: s.utf8)
            case .blob(let b):
                writer.appendVarint(UInt64(b.count))
                writer.append(contentsOf: b)
            case .array(let a):
                writer.appendVarint(UInt64(a.dimensions.count))
                for d in a.dimensions { writer.appendVarint(UInt64(d)) }
                let nested = encode(a.elements)
                writer.appendVarint(UInt64(nested.count))
                writer.append(contentsOf: nested)
            default: break
            }
        }
        return writer.bytes
    }

    package static func decode(_ bytes: [UInt8], wanted: [ColumnDecode]? = nil) throws -> [Value] {
        try bytes.withUnsafeBytes { try decode($0, wanted: wanted) }
    }

    /// Decodes a row. With `wanted`, a column marked `.skip` is stepped over (not turned into a
    /// value) and reads as NULL — scans pass the columns their query references, so an unused
    /// text column costs no allocation — and a column marked with a length reads as that
    /// length, computed from the stored bytes (see `ColumnDecode`).
    package static func decode(_ raw: UnsafeRawBufferPointer, wanted: [ColumnDecode]? = nil) throws -> [Value] {
        var values: [Value] = []
        try decode(raw, wanted: wanted, into: &values)
        return values
    }

    /// Decodes into `values`, replacing its contents; a scan passes the same array each row, so
    /// its storage is reused whenever the previous row has been let go.
    package static func decode(_ raw: UnsafeRawBufferPointer, wanted: [ColumnDecode]?, into values: inout [Value]) throws {
        try decode(raw, wanted: wanted, readColumns: wanted.map(readColumns) ?? .max, into: &values)
    }

    /// How many leading columns `wanted` needs parsed: the columns after the last one it reads
    /// (and within it) are not parsed at all. A scan works it out once, not per row.
    static func readColumns(_ wanted: [ColumnDecode]) -> Int {
        (wanted.lastIndex { $0 != .skip } ?? -1) + 1
    }

    /// As `decode(_:wanted:into:)`, parsing only the first `readColumns` columns (`readColumns(wanted)`;
    /// a record with more columns than `wanted` names is parsed whole).
    package static func decode(_ raw: UnsafeRawBufferPointer, wanted: [ColumnDecode]?, readColumns: Int, into values: inout [Value]) throws {
        var reader = RecordReader(raw, context: "row record")
        let count = Int(try reader.readVarint())
        guard count <= reader.remaining else { throw DatabaseError.corrupt("row record claims \(count) columns") }
        // Values are written in place (one uniqueness check per row, not one per column).
        if values.count != count { values = [Value](repeating: .null, count: count) }
        try values.withUnsafeMutableBufferPointer { out in
            try (wanted ?? []).withUnsafeBufferPointer { mask in
                try decodeValues(&reader, count: count, mask: wanted == nil ? nil : mask, readColumns: readColumns, into: out)
            }
        }
    }

    /// Decodes a row of exactly `out.count` columns into `out` (a row's slots in a batch, see
    /// RowBatch.swift); a record of another width is damage. `mask` is the scan's `wanted`
    /// (nil: every column), borrowed once per batch rather than retained per row.
    static func decode(_ raw: UnsafeRawBufferPointer, mask: UnsafeBufferPointer<ColumnDecode>?, readColumns: Int,
                       into out: UnsafeMutableBufferPointer<Value>) throws {
        var reader = RecordReader(raw, context: "row record")
        let count = Int(try reader.readVarint())
        guard count == out.count, count <= reader.remaining else {
            throw DatabaseError.corrupt("row record claims \(count) columns, its table has \(out.count)")
        }
        try decodeValues(&reader, count: count, mask: mask, readColumns: readColumns, into: out)
    }

    /// The body of a record after its column count: the tags, then the values, into `out`
    /// (which holds `count` slots).
    @inline(__always)
    private static func decodeValues(_ reader: inout RecordReader, count: Int, mask: UnsafeBufferPointer<ColumnDecode>?, readColumns: Int,
                                     into out: UnsafeMutableBufferPointer<Value>) throws {
        let tags = try reader.readBytes(count)
        let masked = mask != nil
        let mask = mask ?? UnsafeBufferPointer(start: nil, count: 0)
        let end = !masked || mask.count < count ? count : min(readColumns, count)
        // A slot that already holds NULL (a batch's slot of a column the scan never reads)
        // is not assigned again: assigning first destroys the old value, a call per slot.
        for column in end..<count where !out[column].isNull { out[column] = .null }
        for column in 0..<end {
            let tag = tags[column]
            switch column < mask.count ? mask[column] : .value {
            case .value:
                // Integers, the commonest values, are read here rather than through `value`.
                if tag == integerTag {
                    let z = try reader.readVarint()
                    out[column] = .integer(Int64(bitPattern: (z >> 1) ^ (0 &- (z & 1))))
                } else {
                    out[column] = try value(tag, &reader)
                }
            case .skip:
                if tag == integerTag { _ = try reader.readVarint() } else { try skip(tag, &reader) }
                if !out[column].isNull { out[column] = .null }
            case .characterLength:
                if tag == textTag {
                    let n = Int(try reader.readVarint())
                    out[column] = .integer(Int64(Value.codePointCount(try reader.readBytes(n))))
                } else {
                    out[column] = Value.characterLength(try value(tag, &reader))
                }
            case .octetLength:
                if tag == textTag || tag == blobTag {
                    let n = Int(try reader.readVarint())
                    _ = try reader.readBytes(n)
                    out[column] = .integer(Int64(n))
                } else {
                    out[column] = Value.octetLength(try value(tag, &reader))
                }
            }
        }
    }

    /// Reads one value of type `tag`.
    @inline(__always)
    private static func value(_ tag: UInt8, _ reader: inout RecordReader) throws -> Value {
        switch tag {
        case nullTag: return .null
        case integerTag:
            let z = try reader.readVarint()
            return .integer(Int64(bitPattern: (z >> 1) ^ (0 &- (z & 1))))
        case doubleTag: return .double(Double(bitPattern: try reader.readUInt64()))
        case textTag:
            let n = Int(try reader.readVarint())
            return .text(String(decoding: try reader.readBytes(n), as: UTF8.self))
        case blobTag:
            let n = Int(try reader.readVarint())
            return .blob(Array(try reader.readBytes(n)))
        case falseTag: return .boolean(false)
        case trueTag: return .boolean(true)
        case dateTag:
            guard let d = Int32(exactly: unzigzag(try reader.readVarint())) else { throw DatabaseError.corrupt("row record has a date out of range") }
            return .date(d)
        case numericTag:
            let n = Int(try reader.readVarint())
            let text = String(decoding: try reader.readBytes(n), as: UTF8.self)
            guard let numeric = Numeric(text) else { throw DatabaseError.corrupt("row record has a bad numeric \"\(text)\"") }
            return .numeric(numeric)
        case timeTag: return .time(unzigzag(try reader.readVarint()))
        case timestampTag: return .timestamp(unzigzag(try reader.readVarint()))
        case timestamptzTag: return .timestamptz(unzigzag(try reader.readVarint()))
        case intervalTag:
            let months = unzigzag(try reader.readVarint()), days = unzigzag(try reader.readVarint())
            guard let m = Int32(exactly: months), let d = Int32(exactly: days) else { throw DatabaseError.corrupt("row record has an interval out of range") }
            return .interval(Interval(months: m, days: d, microseconds: unzigzag(try reader.readVarint())))
        case arrayTag: return try array(&reader)
        default: throw DatabaseError.corrupt("row record has unknown type tag \(tag)")
        }
    }

    /// Reads an array value (after its tag): the dimensions, then the nested record of elements,
    /// checked to hold no arrays itself (so a damaged record cannot make decoding recurse).
    private static func array(_ reader: inout RecordReader) throws -> Value {
        let count = try reader.readVarint()
        guard count <= UInt64(ArrayValue.maxDimensions) else { throw DatabaseError.corrupt("row record has an array of \(count) dimensions") }
        var dimensions: [Int] = []
        var total: UInt64 = 1
        for _ in 0..<Int(count) {
            let d = try reader.readVarint()
            guard d > 0, d <= UInt64(Int32.max) else { throw DatabaseError.corrupt("row record has an array dimension of \(d)") }
            total = total.multipliedReportingOverflow(by: d).overflow ? .max : total * d
            dimensions.append(Int(d))
        }
        let n = try reader.readVarint()
        guard n <= UInt64(reader.remaining) else { throw DatabaseError.corrupt("row record has a truncated array") }
        let raw = try reader.readBytes(Int(n))
        var inner = RecordReader(raw, context: "array elements")
        let elementCount = try inner.readVarint()
        guard elementCount <= UInt64(inner.remaining) else { throw DatabaseError.corrupt("array record claims \(elementCount) elements") }
        if try inner.readBytes(Int(elementCount)).contains(arrayTag) { throw DatabaseError.corrupt("array record holds an array") }
        let elements = try decode(raw)
        guard UInt64(elements.count) == (count == 0 ? 0 : total) else { throw DatabaseError.corrupt("row record has an array whose dimensions do not match its elements") }
        return .array(ArrayValue(elements: elements, dimensions: dimensions))
    }

    /// Steps over one value of type `tag` without building it.
    private static func skip(_ tag: UInt8, _ reader: inout RecordReader) throws {
        switch tag {
        case nullTag, falseTag, trueTag: break
        case integerTag, dateTag, timeTag, timestampTag, timestamptzTag: _ = try reader.readVarint()
        case doubleTag: _ = try reader.readUInt64()
        case textTag, blobTag, numericTag: _ = try reader.readBytes(Int(try reader.readVarint()))
        case intervalTag: for _ in 0..<3 { _ = try reader.readVarint() }
        case arrayTag:
            let count = try reader.readVarint()
            guard count <= UInt64(ArrayValue.maxDimensions) else { throw DatabaseError.corrupt("row record has an array of \(count) dimensions") }
            for _ in 0..<Int(count) { _ = try reader.readVarint() }
            let n = try reader.readVarint()
            guard n <= UInt64(reader.remaining) else { throw DatabaseError.corrupt("row record has a truncated array") }
            _ = try reader.readBytes(Int(n))
        default: throw DatabaseError.corrupt("row record has unknown type tag \(tag)")
        }
    }

    // MARK: Index keys

    package static func appendKey(_ value: Value, to out: inout [UInt8]) {
        switch value {
        case .boolean(let b):
            out.append(1)
            out.append(b ? 1 : 0)
        case .integer(let v):
            // Numbers share one ordering: encode as an ordered double, with the exact integer
            // after it so that large integers keep their order and identity.
            out.append(2)
            appendOrderedDouble(Double(v), to: &out)
            withUnsafeBytes(of: (UInt64(bitPattern: v) ^ (1 << 63)).bigEndian) { out.append(contentsOf: $0) }
        case .double(let d):
            out.append(2)
            appendOrderedDouble(d, to: &out)
            let clamped: Int64 = d >= 9.2e18 ? .max : (d <= -9.2e18 ? .min : (d.isNaN ? .max : Int64(d.rounded(.down))))
            withUnsafeBytes(of: (UInt64(bitPattern: clamped) ^ (1 << 63)).bigEndian) { out.append(contentsOf: $0) }
        case .text(let s):
            out.append(3)
            appendEscaped(Array(s.utf8), to: &out)
        case .blob(let b):
            out.append(4)
            appendEscaped(b, to: &out)
        case .numeric(let n):
            // Numbers share one ordering (as a double, then the integer part); the exact digits
            // follow so that values equal as doubles stay distinct keys.
            out.append(2)
            appendOrderedDouble(n.doubleValue, to: &out)
            let whole = n.truncated(to: 0).value.int64Value
            withUnsafeBytes(of: (UInt64(bitPattern: whole) ^ (1 << 63)).bigEndian) { out.append(contentsOf: $0) }
            if !n.isIntegral { appendEscaped(Array(n.normalized.description.utf8), to: &out) }
        case .date, .timestamp, .timestamptz:
            // One ordering for dates and timestamps: microseconds since the epoch.
            out.append(5)
            withUnsafeBytes(of: (UInt64(bitPattern: value.instant!) ^ (1 << 63)).bigEndian) { out.append(contentsOf: $0) }
        case .time(let t):
            out.append(6)
            withUnsafeBytes(of: (UInt64(bitPattern: t) ^ (1 << 63)).bigEndian) { out.append(contentsOf: $0) }
        case .interval(let i):
            out.append(7)
            appendOrderedDouble(i.comparableMicroseconds, to: &out)
            for part in [Int64(i.months), Int64(i.days), i.microseconds] {
                withUnsafeBytes(of: (UInt64(bitPattern: part) ^ (1 << 63)).bigEndian) { out.append(contentsOf: $0) }
            }
        case .array(let a):
            // Element by element (each after a 1 byte), a 0 byte ending them so that a prefix
            // sorts first, then the dimensions (to tell {{1,2},{3,4}} from {1,2,3,4}).
            out.append(8)
            for element in a.elements {
                out.append(1)
                appendKey(element, to: &out)
            }
            out.append(0)
            out.append(UInt8(a.dimensions.count))
            for d in a.dimensions { withUnsafeBytes(of: UInt32(truncatingIfNeeded: d).bigEndian) { out.append(contentsOf: $0) } }
        case .null:
            out.append(9)
        }
    }

    /// Column types whose values `decodeIndexKey` reads back from an index key.
    static let keyDecodableTypes: Set<SQLType> = [.integer, .bigint, .smallint, .text, .varchar, .char]

    /// The first `types.count` elements of an index key, for columns of those declared types:
    /// integers (their exact value follows the ordered double) and text; nil when an element
    /// has another type or the key is malformed (the caller then reads the table row).
    static func decodeIndexKey(_ key: UnsafeRawBufferPointer, types: [SQLType?]) -> [Value]? {
        // The declared types handled below are `keyDecodableTypes`.
        var values: [Value] = []
        values.reserveCapacity(types.count)
        var i = 0
        for type in types {
            guard i < key.count else { return nil }
            let tag = key[i]
            i += 1
            switch (tag, type) {
            case (9, _):
                values.append(.null)
            case (2, .integer), (2, .bigint), (2, .smallint):
                guard i + 16 <= key.count else { return nil }
                let biased = key.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self).bigEndian
                values.append(.integer(Int64(bitPattern: biased ^ (1 << 63))))
                i += 16
            case (3, .text), (3, .varchar), (3, .char):
                var bytes: [UInt8] = []
                while true {
                    guard i + 1 < key.count else { return nil }
                    let b = key[i]
                    if b == 0 {
                        if key[i + 1] == 0 { i += 2; break }
                        guard key[i + 1] == 0xFF else { return nil }
                        bytes.append(0)
                        i += 2
                    } else {
                        bytes.append(b)
                        i += 1
                    }
                }
                values.append(.text(String(decoding: bytes, as: UTF8.self)))
            default:
                return nil
            }
        }
        return values
    }

    private static func appendOrderedDouble(_ d: Double, to out: inout [UInt8]) {
        var bits = (d == 0 ? 0.0 : d).bitPattern
        bits = (bits & (1 << 63)) != 0 ? ~bits : bits | (1 << 63)
        withUnsafeBytes(of: bits.bigEndian) { out.append(contentsOf: $0) }
    }

    private static func appendEscaped(_ bytes: [UInt8], to out: inout [UInt8]) {
        for b in bytes {
            out.append(b)
            if b == 0 { out.append(0xFF) }
        }
        out.append(0)
        out.append(0)
    }

    static func indexKey(_ values: [Value], rowID: Int64?) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(values.count * 10 + 8)
        for v in values { appendKey(v, to: &out) }
        if let rowID { TableTree.appendKey(rowID, to: &out) }
        return out
    }
}
