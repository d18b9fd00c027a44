// U&'…' strings and U&"…" identifiers (PostgreSQL's Unicode escapes): the escape character
// (backslash, or the one UESCAPE names) followed by four hex digits, or by `+` and six, stands
// for that code point; two escape characters stand for one. A UTF-16 surrogate pair written as
// two escapes is one character; a lone surrogate, NUL or a value past U+10FFFF is an error.
// Every error is 42601, with PostgreSQL's message.

import BorealisStorage

extension Lexer {
    /// Whether `c` cannot be a UESCAPE character: a hex digit, `+`, a quote or white space.
    static func isForbiddenUnicodeEscape(_ c: Unicode.Scalar) -> Bool {
        c.properties.isWhitespace || c == "+" || c == "'" || c == "\"" || c.isASCII && c.properties.isASCIIHexDigit
    }

    static func decodingUnicodeEscapes(_ raw: String, escape: Unicode.Scalar, at start: SourcePosition) throws -> String {
        func failure(_ message: String) -> DatabaseError {
            DatabaseError(.error, sqlState: SQLState.syntaxError, "\(message) in the literal at \(start)")
        }
        let scalars = Array(raw.unicodeScalars)
        var out = String.UnicodeScalarView()
        var highSurrogate: UInt32?
        var i = 0
        /// `count` hex digits from `from`, or nil when there are fewer.
        func hex(_ from: Int, _ count: Int) -> UInt32? {
            guard from + count <= scalars.count else { return nil }
            var value: UInt32 = 0
            for scalar in scalars[from..<(from + count)] {
                guard scalar.isASCII, let digit = UInt32(String(scalar), radix: 16) else { return nil }
                value = value << 4 | digit
            }
            return value
        }
        while i < scalars.count {
            let c = scalars[i]
            guard c == escape else {
                if highSurrogate != nil { throw failure("invalid Unicode surrogate pair") }
                out.append(c)
                i += 1
                continue
            }
            if i + 1 < scalars.count, scalars[i + 1] == escape {
                if highSurrogate != nil { throw failure("invalid Unicode surrogate pair") }
                out.append(escape)
                i += 2
                continue
            }
            var code: UInt32
            if i + 1 < scalars.count, scalars[i + 1] == "+" {
                guard let value = hex(i + 2, 6) else { throw failure("invalid Unicode escape") }
                code = value
                i += 8
            } else {
                guard let value = hex(i + 1, 4) else { throw failure("invalid Unicode escape") }
                code = value
                i += 5
            }
            if let high = highSurrogate {
                guard (0xDC00...0xDFFF).contains(code) else { throw failure("invalid Unicode surrogate pair") }
                code = 0x10000 + ((high - 0xD800) << 10) + (code - 0xDC00)
                highSurrogate = nil
            } else if (0xD800...0xDBFF).contains(code) {
                highSurrogate = code
                continue
            } else if (0xDC00...0xDFFF).contains(code) {
                throw failure("invalid Unicode surrogate pair")
            }
            guard code != 0, let scalar = Unicode.Scalar(code) else { throw failure("invalid Unicode escape value") }
            out.append(scalar)
        }
        if highSurrogate != nil { throw failure("invalid Unicode surrogate pair") }
        return String(out)
    }
}
