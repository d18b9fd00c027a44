// Lengths of values (length/char_length, octet_length), in the types layer because the record
// codec computes them while decoding a column it need not materialize (ColumnDecode).

import BorealisStorage

extension Value {
    /// length(), char_length(): characters as code points (PostgreSQL does not count grapheme
    /// clusters); bytes for bytea.
    static func characterLength(_ v: Value) -> Value {
        switch v {
        case .null: return .null
        case .blob(let b): return .integer(Int64(b.count))
        case .text(var s): return .integer(Int64(s.withUTF8 { codePointCount(UnsafeRawBufferPointer($0)) }))
        default:
            var s = v.description
            return .integer(Int64(s.withUTF8 { codePointCount(UnsafeRawBufferPointer($0)) }))
        }
    }

    /// octet_length(): bytes of the UTF-8 text or of the bytea.
    static func octetLength(_ v: Value) -> Value {
        switch v {
        case .null: return .null
        case .blob(let b): return .integer(Int64(b.count))
        case .text(let s): return .integer(Int64(s.utf8.count))
        default: return .integer(Int64(v.description.utf8.count))
        }
    }

    /// Code points in UTF-8 `bytes`: the bytes that do not continue a sequence.
    static func codePointCount(_ raw: UnsafeRawBufferPointer) -> Int {
        // Code points = bytes that are not continuation bytes (10xxxxxx), eight at a time:
        // a byte is a continuation byte when its bit 7 is set and its bit 6 clear.
        var continuation = 0
        var i = 0
        while i + 8 <= raw.count {
            let word = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            if word & 0x8080_8080_8080_8080 != 0 {
                // One bit per continuation byte, summed across the bytes by a multiply (the
                // baseline x86-64 target has no popcount instruction).
                let marks = (word & ~(word << 1) & 0x8080_8080_8080_8080) >> 7
                continuation += Int(truncatingIfNeeded: (marks &* 0x0101_0101_0101_0101) >> 56)
            }
            i += 8
        }
        while i < raw.count {
            if raw[i] & 0xC0 == 0x80 { continuation += 1 }
            i += 1
        }
        return raw.count - continuation
    }
}
