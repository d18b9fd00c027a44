// The SQL lexer: turns text into tokens with their line and column. Accepts PostgreSQL's
// spellings and common MySQL ones: "double-quoted" and `backtick` identifiers, 'strings' with ''
// escapes, E'…' strings with backslash escapes, $$…$$ and $tag$…$tag$ dollar quotes, -- and /* */
// comments, $1, ?, :name and @name parameters, numbers with fractions and exponents, and the
// operators of the dialect (docs/sql.md).

import BorealisStorage

struct SourcePosition: Sendable, CustomStringConvertible {
    var line: Int
    var column: Int
    var offset: Int
    var description: String { "line \(line), column \(column)" }
}

enum TokenKind: Equatable, Sendable {
    case identifier(String)        // unquoted, lowercased (keywords too)
    case quotedIdentifier(String)  // "…" or `…`, case kept
    case string(String)
    case blob([UInt8])             // X'hex'
    case integer(String)
    case decimal(String)
    case parameter(Int?)           // $n, or ? (numbered by the parser)
    case namedParameter(String)    // :name or @name, prefix included (numbered by the parser)
    case op(String)                // punctuation and operators
    case end
}

struct Token: Sendable {
    var kind: TokenKind
    var position: SourcePosition
    var text: String

    var describe: String {
        switch kind {
        case .end: return "end of input"
        case .string(let s): return "'\(s)'"
        default: return "\"\(text)\""
        }
    }
}

struct Lexer {
    private let bytes: [UInt8]
    private var index = 0
    private var line = 1
    private var lineStart = 0

    init(_ sql: String) {
        bytes = Array(sql.utf8)
    }

    static func tokenize(_ sql: String) throws -> [Token] {
        var lexer = Lexer(sql)
        var tokens: [Token] = []
        while true {
            let token = try lexer.next()
            tokens.append(token)
            if token.kind == .end { return tokens }
        }
    }

    private var position: SourcePosition { SourcePosition(line: line, column: index - lineStart + 1, offset: index) }

    private func peek(_ ahead: Int = 0) -> UInt8 {
        index + ahead < bytes.count ? bytes[index + ahead] : 0
    }

    private mutating func advance() {
        if bytes[index] == UInt8(ascii: "\n") {
            line += 1
            lineStart = index + 1
        }
        index += 1
    }

    private func text(_ from: Int) -> String { String(decoding: bytes[from..<index], as: UTF8.self) }

    private func error(_ message: String, at start: SourcePosition) -> DatabaseError {
        DatabaseError(.error, sqlState: SQLState.syntaxError, "syntax error at \(start): \(message)")
    }

    mutating func next() throws -> Token {
        // Whitespace and comments (`/* */` ones nest).
        skipWhitespaceAndLineComments()
        while peek() == UInt8(ascii: "/") && peek(1) == UInt8(ascii: "*") {
            let start = position
            advance(); advance()
            var depth = 1
            while depth > 0 {
                guard index < bytes.count else { throw error("unterminated /* comment", at: start) }
                if peek() == UInt8(ascii: "*") && peek(1) == UInt8(ascii: "/") { depth -= 1; advance(); advance() }
                else if peek() == UInt8(ascii: "/") && peek(1) == UInt8(ascii: "*") { depth += 1; advance(); advance() }
                else { advance() }
            }
            skipWhitespaceAndLineComments()
        }
        let start = position
        let from = index
        guard index < bytes.count else { return Token(kind: .end, position: start, text: "") }
        let c = peek()
        if (c == UInt8(ascii: "x") || c == UInt8(ascii: "X")) && peek(1) == UInt8(ascii: "'") {
            advance(); advance()
            var digits: [UInt8] = []
            while true {
                guard index < bytes.count else { throw error("unterminated hexadecimal string", at: start) }
                if peek() == UInt8(ascii: "'") { advance(); break }
                digits.append(peek())
                advance()
            }
            guard let value = Self.hexBytes(digits) else {
                throw error("invalid hexadecimal string", at: start)
            }
            return Token(kind: .blob(value), position: start, text: text(from))
        }
        if (c == UInt8(ascii: "e") || c == UInt8(ascii: "E")) && peek(1) == UInt8(ascii: "'") {
            advance()
            return Token(kind: .string(try escapeString(start)), position: start, text: text(from))
        }
        if (c == UInt8(ascii: "u") || c == UInt8(ascii: "U")) && peek(1) == UInt8(ascii: "&")
            && (peek(2) == UInt8(ascii: "'") || peek(2) == UInt8(ascii: "\"")) {
            // U&'…' and U&"…" [UESCAPE 'c']: Unicode escapes (Lexer+Unicode.swift).
            advance(); advance()
            let isString = peek() == UInt8(ascii: "'")
            let raw = isString ? try quotedString(start) : try quotedIdentifier(start)
            let decoded = try Self.decodingUnicodeEscapes(raw, escape: try unicodeEscapeClause(), at: start)
            if !isString && decoded.isEmpty { throw error("zero-length delimited identifier", at: start) }
            return Token(kind: isString ? .string(decoded) : .quotedIdentifier(decoded), position: start, text: text(from))
        }
        if (c == UInt8(ascii: "n") || c == UInt8(ascii: "N")) && peek(1) == UInt8(ascii: "'") {
            advance()  // N'…': a national character string is an ordinary string here.
            return Token(kind: .string(try quotedString(start)), position: start, text: text(from))
        }
        if isIdentifierStart(c) {
            while index < bytes.count && isIdentifierPart(peek()) { advance() }
            let word = text(from)
            return Token(kind: .identifier(word.lowercased()), position: start, text: word)
        }
        if isDigit(c) || (c == UInt8(ascii: ".") && isDigit(peek(1))) {
            var isDecimal = false
            while isDigit(peek()) { advance() }
            if peek() == UInt8(ascii: ".") && !(peek(1) == UInt8(ascii: ".")) {
                isDecimal = true
                advance()
                while isDigit(peek()) { advance() }
            }
            if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
                let sign = peek(1) == UInt8(ascii: "+") || peek(1) == UInt8(ascii: "-")
                if isDigit(peek(sign ? 2 : 1)) {
                    isDecimal = true
                    advance()
                    if sign { advance() }
                    while isDigit(peek()) { advance() }
                }
            }
            if isIdentifierStart(peek()) { throw error("trailing junk after numeric literal", at: start) }
            let literal = text(from)
            return Token(kind: isDecimal ? .decimal(literal) : .integer(literal), position: start, text: literal)
        }
        switch c {
        case UInt8(ascii: "'"):
            return Token(kind: .string(try quotedString(start)), position: start, text: text(from))
        case UInt8(ascii: "$") where peek(1) == UInt8(ascii: "$") || (isIdentifierStart(peek(1)) && dollarTagEnd() != nil):
            return Token(kind: .string(try dollarQuotedString(start)), position: start, text: text(from))
        case UInt8(ascii: "\""), UInt8(ascii: "`"):
            return Token(kind: .quotedIdentifier(try quotedIdentifier(start)), position: start, text: text(from))
        case UInt8(ascii: "$") where isDigit(peek(1)):
            advance()
            while isDigit(peek()) { advance() }
            // Bounded as PostgreSQL's wire protocol bounds them: a statement allocates a slot per
            // number, so $2000000000 must not allocate 32 GB nor $9223372036854775807 overflow.
            // Past the limit: PostgreSQL's 42P02 "there is no parameter $n".
            let digits = String(decoding: bytes[(from + 1)..<index], as: UTF8.self)
            let number = Int(digits) ?? Int.max
            guard number >= 1, number <= 65_535 else {
                throw DatabaseError(.range, sqlState: SQLState.undefinedParameter,
                                    "there is no parameter $\(digits) at \(start) (parameters are numbered $1 to $65535)")
            }
            return Token(kind: .parameter(number), position: start, text: text(from))
        case UInt8(ascii: "?") where (peek(1) == UInt8(ascii: "|") && peek(2) != UInt8(ascii: "|")) || peek(1) == UInt8(ascii: "&"):
            // jsonb's ?| and ?& (not a parameter followed by || ).
            let op = peek(1) == UInt8(ascii: "|") ? "?|" : "?&"
            advance(); advance()
            return Token(kind: .op(op), position: start, text: op)
        case UInt8(ascii: "?"):
            advance()
            return Token(kind: .parameter(nil), position: start, text: "?")
        case UInt8(ascii: ":") where peek(1) != UInt8(ascii: ":") && isIdentifierStart(peek(1)),
             UInt8(ascii: "@") where isIdentifierStart(peek(1)):
            // :name and @name (SQLite's spellings): numbered by the parser, one number per name.
            advance()
            while index < bytes.count && isIdentifierPart(peek()) && peek() != 36 { advance() }
            return Token(kind: .namedParameter(text(from)), position: start, text: text(from))
        default:
            break
        }
        // Operators: longest match first.
        let three = [UInt8](bytes[index..<min(bytes.count, index + 3)])
        for candidate in ["<=>", "->>", "!~*", "#>>"] where three == Array(candidate.utf8) {
            advance(); advance(); advance()
            return Token(kind: .op(candidate), position: start, text: candidate)
        }
        let two = [UInt8](bytes[index..<min(bytes.count, index + 2)])
        for candidate in ["<=", ">=", "<>", "!=", "||", "::", "==", "->", "<<", ">>", "~*", "!~", "@>", "<@", "&&", "=>", "#>"] where two == Array(candidate.utf8) {
            advance(); advance()
            return Token(kind: .op(candidate), position: start, text: candidate)
        }
        let single = "(),;.+-*/%<>=[]:~&|^!"
        if single.utf8.contains(c) {
            advance()
            let s = String(UnicodeScalar(c))
            return Token(kind: .op(s), position: start, text: s)
        }
        throw error("unexpected character \(String(decoding: [c], as: UTF8.self).debugDescription)", at: start)
    }

    private func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }

    /// '…' with '' for a quote; the opening quote is at the current byte.
    private mutating func quotedString(_ start: SourcePosition) throws -> String {
        advance()
        var value: [UInt8] = []
        while true {
            guard index < bytes.count else { throw error("unterminated quoted string", at: start) }
            if peek() == UInt8(ascii: "'") {
                if peek(1) == UInt8(ascii: "'") { value.append(39); advance(); advance(); continue }
                advance()
                return String(decoding: value, as: UTF8.self)
            }
            value.append(peek())
            advance()
        }
    }

    /// "…" or `…` (the opening quote at the current byte): the identifier, a doubled quote
    /// standing for one.
    private mutating func quotedIdentifier(_ start: SourcePosition) throws -> String {
        let quote = peek()
        advance()
        var value: [UInt8] = []
        while true {
            guard index < bytes.count else { throw error("unterminated quoted identifier", at: start) }
            if peek() == quote {
                if peek(1) == quote { value.append(quote); advance(); advance(); continue }
                advance()
                break
            }
            value.append(peek())
            advance()
        }
        guard !value.isEmpty else { throw error("zero-length delimited identifier", at: start) }
        return String(decoding: value, as: UTF8.self)
    }

    /// After a U& literal: `UESCAPE 'c'` when it follows (the escape character it names),
    /// else a backslash, the default (the lexer is left where it was). The clause is matched
    /// byte by byte, never by lexing the next token: a following U& literal looking ahead in
    /// turn made the lexer recurse once per literal (50,000 of them overflowed the stack).
    private mutating func unicodeEscapeClause() throws -> Unicode.Scalar {
        var probe = self
        probe.skipWhitespaceAndLineComments()
        let word = Array("uescape".utf8)
        for (k, letter) in word.enumerated() where probe.peek(k) | 0x20 != letter { return "\\" }
        guard !isIdentifierPart(probe.peek(word.count)) else { return "\\" }
        for _ in word { probe.advance() }
        probe.skipWhitespaceAndLineComments()
        let clause = probe.position
        guard probe.peek() == UInt8(ascii: "'") else {
            throw DatabaseError(.error, sqlState: SQLState.syntaxError, "syntax error at \(clause): UESCAPE must be followed by a simple string literal")
        }
        let from = probe.index
        let text = try probe.quotedString(clause)
        // PostgreSQL: one single-byte character that is not a hex digit, +, a quote or white space.
        guard text.utf8.count == 1, let escape = text.unicodeScalars.first, !Self.isForbiddenUnicodeEscape(escape) else {
            throw DatabaseError(.error, sqlState: SQLState.syntaxError, "invalid Unicode escape character at or near \"\(probe.text(from))\"")
        }
        self = probe
        return escape
    }

    /// Spaces, tabs, newlines and `--` comments (what may stand between a U& literal and its
    /// UESCAPE clause).
    private mutating func skipWhitespaceAndLineComments() {
        while index < bytes.count {
            let c = peek()
            if c == 32 || c == 9 || c == 10 || c == 13 || c == 12 {
                advance()
            } else if c == UInt8(ascii: "-") && peek(1) == UInt8(ascii: "-") {
                while index < bytes.count && peek() != 10 { advance() }
            } else {
                return
            }
        }
    }

    /// The end of a `$tag$` opening at the current byte (the index just past its second `$`), or
    /// nil when what follows `$` is not a tag (then `$` is an error or a parameter).
    private func dollarTagEnd() -> Int? {
        var i = index + 1
        while i < bytes.count, bytes[i] != UInt8(ascii: "$") {
            guard isIdentifierPart(bytes[i]) else { return nil }
            i += 1
        }
        return i < bytes.count ? i + 1 : nil
    }

    /// `$$…$$` or `$tag$…$tag$`: everything up to the same tag, taken as it is.
    private mutating func dollarQuotedString(_ start: SourcePosition) throws -> String {
        guard let tagEnd = dollarTagEnd() else { throw error("unterminated dollar-quoted string", at: start) }
        let tag = Array(bytes[index..<tagEnd])
        while index < tagEnd { advance() }
        let contentStart = index
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "$"), bytes.count - index >= tag.count, bytes[index..<(index + tag.count)].elementsEqual(tag) {
                let content = String(decoding: bytes[contentStart..<index], as: UTF8.self)
                for _ in 0..<tag.count { advance() }
                return content
            }
            advance()
        }
        throw error("unterminated dollar-quoted string", at: start)
    }

    /// E'…': backslash escapes as PostgreSQL reads them (\b \f \n \r \t, \ooo octal,
    /// \xhh hexadecimal, \uXXXX and \UXXXXXXXX code points, \c for any other c) and '' or \'
    /// for a quote. The bytes must form UTF-8 without NUL (22021, as PostgreSQL).
    private mutating func escapeString(_ start: SourcePosition) throws -> String {
        advance()
        var value: [UInt8] = []
        func digits(_ count: Int, _ radix: UInt32, _ from: Int) -> (UInt32, Int) {
            var v: UInt32 = 0, n = 0
            while n < count, from + n < bytes.count, let d = hexDigit(bytes[from + n]), d < radix {
                v = v * radix + d
                n += 1
            }
            return (v, n)
        }
        while true {
            guard index < bytes.count else { throw error("unterminated quoted string", at: start) }
            let c = peek()
            if c == UInt8(ascii: "'") {
                if peek(1) == UInt8(ascii: "'") { value.append(39); advance(); advance(); continue }
                advance()
                break
            }
            guard c == UInt8(ascii: "\\"), index + 1 < bytes.count else { value.append(c); advance(); continue }
            let escapePosition = position
            advance()
            let e = peek()
            switch e {
            case UInt8(ascii: "b"): value.append(8); advance()
            case UInt8(ascii: "f"): value.append(12); advance()
            case UInt8(ascii: "n"): value.append(10); advance()
            case UInt8(ascii: "r"): value.append(13); advance()
            case UInt8(ascii: "t"): value.append(9); advance()
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                let (v, n) = digits(3, 8, index)
                value.append(UInt8(truncatingIfNeeded: v))
                for _ in 0..<n { advance() }
            case UInt8(ascii: "x") where hexDigit(peek(1)) != nil:
                advance()
                let (v, n) = digits(2, 16, index)
                value.append(UInt8(truncatingIfNeeded: v))
                for _ in 0..<n { advance() }
            case UInt8(ascii: "u"), UInt8(ascii: "U"):
                let width = e == UInt8(ascii: "u") ? 4 : 8
                let (v, n) = digits(width, 16, index + 1)
                guard n == width else {
                    throw DatabaseError(.error, sqlState: SQLState.invalidEscapeSequence,
                                        "invalid Unicode escape at \(escapePosition): Unicode escapes must be \\uXXXX or \\UXXXXXXXX")
                }
                for _ in 0...n { advance() }
                var code = v
                // A UTF-16 surrogate pair written as two escapes is one character.
                if (0xD800...0xDBFF).contains(code), peek() == UInt8(ascii: "\\"), peek(1) == UInt8(ascii: "u") || peek(1) == UInt8(ascii: "U") {
                    let lowWidth = peek(1) == UInt8(ascii: "u") ? 4 : 8
                    let (low, m) = digits(lowWidth, 16, index + 2)
                    if m == lowWidth, (0xDC00...0xDFFF).contains(low) {
                        for _ in 0..<(2 + m) { advance() }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                }
                guard code != 0, let scalar = Unicode.Scalar(code) else {
                    throw DatabaseError(.error, sqlState: SQLState.syntaxError, "invalid Unicode escape value at \(escapePosition)")
                }
                value.append(contentsOf: Array(String(Character(scalar)).utf8))
            default:
                value.append(e)
                advance()
            }
        }
        var iterator = value.makeIterator()
        var decoder = UTF8()
        decoding: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar) where scalar.value == 0:
                throw DatabaseError(.error, sqlState: SQLState.characterNotInRepertoire, "invalid byte sequence for encoding \"UTF8\": 0x00")
            case .scalarValue: continue
            case .emptyInput: break decoding
            case .error:
                throw DatabaseError(.error, sqlState: SQLState.characterNotInRepertoire, "invalid byte sequence for encoding \"UTF8\" in the string at \(start)")
            }
        }
        return String(decoding: value, as: UTF8.self)
    }

    private func hexDigit(_ c: UInt8) -> UInt32? {
        switch c {
        case 48...57: return UInt32(c - 48)
        case 65...70: return UInt32(c - 55)
        case 97...102: return UInt32(c - 87)
        default: return nil
        }
    }

    /// Bytes from pairs of hex digits (X'…' literals, bytea's \x input); nil for an odd count
    /// or a character that is not a hex digit.
    static func hexBytes(_ digits: [UInt8]) -> [UInt8]? {
        guard digits.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: return c - 48
            case 65...70: return c - 55
            case 97...102: return c - 87
            default: return nil
            }
        }
        var out: [UInt8] = []
        var i = 0
        while i < digits.count {
            guard let hi = nibble(digits[i]), let lo = nibble(digits[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }
    private func isIdentifierStart(_ c: UInt8) -> Bool {
        (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 || c >= 0x80
    }
    private func isIdentifierPart(_ c: UInt8) -> Bool { isIdentifierStart(c) || isDigit(c) || c == 36 }
}
