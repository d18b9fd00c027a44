// The text forms of binary strings (bytea): hex, base64 and PostgreSQL's escape format, as
// encode() writes them and decode() and bytea input read them.

import BorealisStorage

/// The text forms of binary strings that encode() writes and decode() and bytea input read.
enum BinaryText {
    private static let base64Alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Base64 with a line break after every 76 characters, as PostgreSQL's encode writes it.
    static func base64(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var line = 0
        var i = 0
        while i < bytes.count {
            let b0 = bytes[i], b1 = i + 1 < bytes.count ? bytes[i + 1] : 0, b2 = i + 2 < bytes.count ? bytes[i + 2] : 0
            if line == 76 { out.append(UInt8(ascii: "\n")); line = 0 }
            out.append(base64Alphabet[Int(b0 >> 2)])
            out.append(base64Alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
            out.append(i + 1 < bytes.count ? base64Alphabet[Int((b1 & 0x0f) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            out.append(i + 2 < bytes.count ? base64Alphabet[Int(b2 & 0x3f)] : UInt8(ascii: "="))
            line += 4
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func fromBase64(_ text: String) throws -> [UInt8] {
        var out: [UInt8] = []
        var accumulator: UInt32 = 0, bits = 0, padding = 0
        for c in text.utf8 {
            if c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r") { continue }
            if c == UInt8(ascii: "=") { padding += 1; continue }
            guard padding == 0, let value = base64Alphabet.firstIndex(of: c) else {
                throw DatabaseError(.error, sqlState: SQLState.invalidParameterValue,
                                    padding > 0 ? "unexpected \"=\" while decoding base64 sequence" : "invalid symbol \"\(String(decoding: [c], as: UTF8.self))\" found while decoding base64 sequence")
            }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        // Whole groups of four only, as PostgreSQL requires.
        let symbols = text.utf8.filter { !(($0 == 32) || $0 == 9 || $0 == 10 || $0 == 13) }.count
        guard symbols % 4 == 0 else {
            throw DatabaseError(.error, sqlState: SQLState.invalidParameterValue, "invalid base64 end sequence")
        }
        return out
    }

    static func fromHex(_ text: String) throws -> [UInt8] {
        var out: [UInt8] = []
        var high: UInt8?
        for c in text.utf8 {
            if high == nil, c == 32 || c == 9 || c == 10 || c == 13 { continue }
            guard let v = hexValue(c) else {
                throw DatabaseError(.error, sqlState: SQLState.invalidParameterValue, "invalid hexadecimal digit: \"\(String(decoding: [c], as: UTF8.self))\"")
            }
            if let h = high { out.append(h << 4 | v); high = nil } else { high = v }
        }
        if high != nil { throw DatabaseError(.error, sqlState: SQLState.invalidParameterValue, "invalid hexadecimal data: odd number of digits") }
        return out
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// The escape format: NUL and bytes from 0x80 as `\ooo`, a backslash doubled.
    static func escaped(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        for b in bytes {
            if b == 0 || b >= 0x80 {
                out.append(UInt8(ascii: "\\"))
                for shift in [6, 3, 0] { out.append(UInt8(ascii: "0") + (b >> UInt8(shift)) & 7) }
            } else if b == UInt8(ascii: "\\") {
                out += [b, b]
            } else {
                out.append(b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// bytea's escape input: `\\` is a backslash, `\ooo` an octal byte, anything else after a
    /// backslash is 22P02.
    static func fromEscaped(_ text: String) throws -> [UInt8] {
        let input = Array(text.utf8)
        var out: [UInt8] = []
        var i = 0
        while i < input.count {
            guard input[i] == UInt8(ascii: "\\") else { out.append(input[i]); i += 1; continue }
            if i + 1 < input.count, input[i + 1] == UInt8(ascii: "\\") { out.append(input[i]); i += 2; continue }
            guard i + 3 < input.count, input[i + 1] >= UInt8(ascii: "0"), input[i + 1] <= UInt8(ascii: "3"),
                  input[(i + 2)...(i + 3)].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "7") }) else {
                throw DatabaseError(.mismatch, sqlState: SQLState.invalidTextRepresentation, "invalid input syntax for type bytea")
            }
            let digits = Array(input[(i + 1)...(i + 3)])
            out.append((digits[0] - 48) << 6 | (digits[1] - 48) << 3 | (digits[2] - 48))
            i += 4
        }
        return out
    }

    static func utf8Bytes(_ scalar: Unicode.Scalar) -> String {
        Array(String(scalar).utf8).map { "0x" + String($0, radix: 16).leftPadded(2) }.joined(separator: " ")
    }

    /// The scale without trailing fractional zeros (min_scale).
    static func significantScale(_ n: Numeric) -> Int {
        var scale = n.scale
        while scale > 0, n.rounded(to: scale - 1).value == n.value { scale -= 1 }
        return scale
    }
}
