// JSON documents for the json and jsonb types. A value of either type travels as text: json
// as it was written (validated), jsonb in PostgreSQL's normalized form (object keys unique,
// the last one kept, ordered shorter first then bytewise; numbers as NUMERIC prints them; one
// space after each `:` and `,`). Operators and functions parse the text into a `JSONValue`,
// work on the tree and print it again: jsonb in its normalized form, json compactly (what
// PostgreSQL returns for a json sub-document is the text as written, which is the compact text
// for documents written compactly). Nesting past `Limits.maxNestingDepth` is 54001, never a
// stack overflow; malformed text is 22P02.

import BorealisStorage

package indirect enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// The number's text, normalized as NUMERIC prints it when it fits one.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([JSONMember])

    package static func parse(_ text: String, type: String = "json") throws -> JSONValue {
        var parser = JSONParser(bytes: Array(text.utf8), type: type, source: text)
        let value = try parser.document()
        return value
    }

    /// The jsonb form: keys unique (the last wins) and sorted shorter first, then bytewise.
    var normalized: JSONValue {
        switch self {
        case .array(let items): return .array(items.map(\.normalized))
        case .object(let members):
            var latest: [String: Int] = [:]
            for (i, m) in members.enumerated() { latest[m.key] = i }
            let kept = members.enumerated().filter { latest[$0.element.key] == $0.offset }.map {
                JSONMember(key: $0.element.key, value: $0.element.value.normalized)
            }
            return .object(kept.sorted { JSONValue.keyOrder($0.key, $1.key) })
        default: return self
        }
    }

    static func keyOrder(_ a: String, _ b: String) -> Bool {
        let x = a.utf8.count, y = b.utf8.count
        return x != y ? x < y : a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    /// jsonb's text: `{"a": 1, "b": [1, 2]}`.
    var jsonbText: String {
        var out = ""
        write(to: &out, spaced: true)
        return out
    }

    /// json's compact text: `{"a":1,"b":[1,2]}`.
    var compactText: String {
        var out = ""
        write(to: &out, spaced: false)
        return out
    }

    func text(jsonb: Bool) -> String { jsonb ? jsonbText : compactText }

    private func write(to out: inout String, spaced: Bool) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n): out += n
        case .string(let s): JSONValue.writeString(s, to: &out)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += spaced ? ", " : "," }
                item.write(to: &out, spaced: spaced)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (i, member) in members.enumerated() {
                if i > 0 { out += spaced ? ", " : "," }
                JSONValue.writeString(member.key, to: &out)
                out += spaced ? ": " : ":"
                member.value.write(to: &out, spaced: spaced)
            }
            out += "}"
        }
    }

    static func writeString(_ s: String, to out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{8}": out += "\\b"
            case "\u{c}": out += "\\f"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }

    /// jsonb_typeof.
    var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .number: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    /// The element `->` reaches: an object's member by key, or an array's element by index
    /// (negative from the end).
    func member(_ key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.last(where: { $0.key == key })?.value
    }

    func element(_ index: Int64) -> JSONValue? {
        guard case .array(let items) = self else { return nil }
        let i = index < 0 ? Int64(items.count) + index : index
        guard i >= 0, i < Int64(items.count) else { return nil }
        return items[Int(i)]
    }

    /// The text `->>` gives: a string's contents, JSON text for anything else, nil for null.
    func unquoted(jsonb: Bool) -> String? {
        switch self {
        case .null: return nil
        case .string(let s): return s
        default: return text(jsonb: jsonb)
        }
    }

    /// jsonb's `@>`: every member and element of `other` is found in this document (an array
    /// contains a scalar it holds, as PostgreSQL allows at the top level).
    func contains(_ other: JSONValue, topLevel: Bool = true) -> Bool {
        switch (self, other) {
        case (.object(let mine), .object(let theirs)):
            return theirs.allSatisfy { t in mine.contains { $0.key == t.key && $0.value.contains(t.value, topLevel: false) } }
        case (.array(let mine), .array(let theirs)):
            return theirs.allSatisfy { t in
                if case .array = t { return mine.contains { m in if case .array = m { return m.contains(t, topLevel: false) } else { return false } } }
                if case .object = t { return mine.contains { m in if case .object = m { return m.contains(t, topLevel: false) } else { return false } } }
                return mine.contains { $0.sameValue(t) }
            }
        case (.array(let mine), _) where topLevel:
            if case .array = other { return false }
            if case .object = other { return false }
            return mine.contains { $0.sameValue(other) }
        default:
            return sameValue(other)
        }
    }

    /// jsonb equality: numbers equal by value (`1.0` is `1`), objects by their members
    /// whatever their order, arrays element by element.
    func sameValue(_ other: JSONValue) -> Bool {
        switch (self, other) {
        case (.number(let a), .number(let b)):
            if a == b { return true }
            if let x = Numeric(a), let y = Numeric(b) { return x.value == y.value }
            return Double(a) == Double(b)
        case (.array(let a), .array(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.sameValue($1) }
        case (.object(let a), .object(let b)):
            guard a.count == b.count else { return false }
            return a.allSatisfy { m in b.contains { $0.key == m.key && $0.value.sameValue(m.value) } }
        default:
            return self == other
        }
    }
}

package struct JSONMember: Equatable, Sendable {
    var key: String
    var value: JSONValue
}

/// A recursive-descent reader of RFC 8259 JSON, bounded in depth.
private struct JSONParser {
    let bytes: [UInt8]
    let type: String
    let source: String
    var index = 0
    var depth = 0

    init(bytes: [UInt8], type: String, source: String) {
        self.bytes = bytes
        self.type = type
        self.source = source
    }

    func failure(_ detail: String) -> DatabaseError {
        let shown = source.count > 60 ? String(source.prefix(60)) + "…" : source
        return DatabaseError(.mismatch, sqlState: SQLState.invalidTextRepresentation,
                             "invalid input syntax for type \(type): \"\(shown)\" (\(detail))")
    }

    mutating func skipSpace() {
        while index < bytes.count, [32, 9, 10, 13].contains(bytes[index]) { index += 1 }
    }

    mutating func document() throws -> JSONValue {
        let value = try parseValue()
        skipSpace()
        guard index == bytes.count else { throw failure("text after the end of the document") }
        return value
    }

    mutating func parseValue() throws -> JSONValue {
        skipSpace()
        guard index < bytes.count else { throw failure("the input ends unexpectedly") }
        switch bytes[index] {
        case UInt8(ascii: "{"):
            depth += 1
            defer { depth -= 1 }
            if depth > Limits.maxNestingDepth { throw Limits.tooComplex() }
            index += 1
            var members: [JSONMember] = []
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
            while true {
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw failure("expected a string as an object key") }
                let key = try parseString()
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw failure("expected \":\"") }
                index += 1
                members.append(JSONMember(key: key, value: try parseValue()))
                skipSpace()
                guard index < bytes.count else { throw failure("the input ends unexpectedly") }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
                throw failure("expected \",\" or \"}\"")
            }
        case UInt8(ascii: "["):
            depth += 1
            defer { depth -= 1 }
            if depth > Limits.maxNestingDepth { throw Limits.tooComplex() }
            index += 1
            var items: [JSONValue] = []
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
            while true {
                items.append(try parseValue())
                skipSpace()
                guard index < bytes.count else { throw failure("the input ends unexpectedly") }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
                throw failure("expected \",\" or \"]\"")
            }
        case UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default:
            return .number(try parseNumber())
        }
    }

    mutating func literal(_ word: String) throws {
        let w = Array(word.utf8)
        guard bytes.count - index >= w.count, Array(bytes[index..<(index + w.count)]) == w else { throw failure("unexpected token") }
        index += w.count
    }

    mutating func parseNumber() throws -> String {
        let start = index
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        func digits() -> Int {
            let from = index
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 { index += 1 }
            return index - from
        }
        let whole = digits()
        guard whole > 0 else { throw failure("unexpected token") }
        if whole > 1, bytes[index - whole] == 48 { throw failure("a number may not start with 0") }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { throw failure("expected digits after the decimal point") }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { throw failure("expected digits in the exponent") }
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        // As NUMERIC prints it (1e2 → 100, -0 → 0), when it holds the number exactly.
        if (try? Numeric.checkRepresentable(text)) != nil, let n = Numeric(text) { return n.description }
        return text
    }

    mutating func parseString() throws -> String {
        index += 1   // the opening quote
        var out: [UInt8] = []
        while true {
            guard index < bytes.count else { throw failure("unterminated string") }
            let c = bytes[index]
            index += 1
            switch c {
            case UInt8(ascii: "\""):
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard index < bytes.count else { throw failure("unterminated string") }
                let e = bytes[index]
                index += 1
                switch e {
                case UInt8(ascii: "\""): out.append(34)
                case UInt8(ascii: "\\"): out.append(92)
                case UInt8(ascii: "/"): out.append(47)
                case UInt8(ascii: "b"): out.append(8)
                case UInt8(ascii: "f"): out.append(12)
                case UInt8(ascii: "n"): out.append(10)
                case UInt8(ascii: "r"): out.append(13)
                case UInt8(ascii: "t"): out.append(9)
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800...0xDBFF).contains(code) {
                        // A surrogate pair: the low half must follow.
                        guard bytes.count - index >= 6, bytes[index] == 92, bytes[index + 1] == UInt8(ascii: "u") else {
                            throw failure("a Unicode high surrogate must be followed by a low surrogate")
                        }
                        index += 2
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw failure("a Unicode high surrogate must be followed by a low surrogate") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard code != 0 else {
                        throw DatabaseError(.mismatch, sqlState: SQLState.untranslatableCharacter, "unsupported Unicode escape sequence: \\u0000 cannot be converted to text")
                    }
                    guard let scalar = Unicode.Scalar(code) else { throw failure("invalid Unicode escape") }
                    out.append(contentsOf: Array(String(Character(scalar)).utf8))
                default:
                    throw failure("invalid escape sequence")
                }
            default:
                guard c >= 0x20 else { throw failure("control characters must be escaped") }
                out.append(c)
            }
        }
    }

    mutating func hex4() throws -> UInt32 {
        guard bytes.count - index >= 4 else { throw failure("\"\\u\" must be followed by four hexadecimal digits") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[index]
            let d: UInt32
            switch c {
            case 48...57: d = UInt32(c - 48)
            case 65...70: d = UInt32(c - 55)
            case 97...102: d = UInt32(c - 87)
            default: throw failure("\"\\u\" must be followed by four hexadecimal digits")
            }
            v = v * 16 + d
            index += 1
        }
        return v
    }
}
