// Splitting a simple Query's text into statements, and the session commands the server answers
// itself because they concern the session, not the database: SET, RESET, SHOW (of any
// parameter a client may set; only those PostgreSQL reports change ParameterStatus), VACUUM
// (accepted and ignored: the materializer compacts on its own), DISCARD, DEALLOCATE, and the
// spellings END and ABORT of COMMIT and ROLLBACK.
//
// The splitter knows quoted strings ('…' with '' inside, E'…' with backslash escapes), quoted
// identifiers, dollar quotes ($$…$$, $tag$…$tag$), -- and nested /* */ comments; a `;` outside
// them ends a statement. A statement made only of blanks and comments is dropped.

enum SQLText {
    /// The statements of `sql`, each without its `;`.
    static func split(_ sql: String) -> [String] {
        let bytes = Array(sql.utf8)
        var statements: [String] = []
        var start = 0
        var meaningful = false
        var i = 0
        func at(_ k: Int) -> UInt8 { k < bytes.count ? bytes[k] : 0 }
        while i < bytes.count {
            let c = bytes[i]
            switch c {
            case UInt8(ascii: "'"):
                meaningful = true
                let escapes = i > 0 && (bytes[i - 1] == UInt8(ascii: "E") || bytes[i - 1] == UInt8(ascii: "e"))
                i += 1
                while i < bytes.count {
                    if escapes && bytes[i] == UInt8(ascii: "\\") { i += 2; continue }
                    if bytes[i] == UInt8(ascii: "'") {
                        if at(i + 1) == UInt8(ascii: "'") { i += 2; continue }
                        break
                    }
                    i += 1
                }
                i += 1
            case UInt8(ascii: "\""):
                meaningful = true
                i += 1
                while i < bytes.count && bytes[i] != UInt8(ascii: "\"") { i += 1 }
                i += 1
            case UInt8(ascii: "-") where at(i + 1) == UInt8(ascii: "-"):
                while i < bytes.count && bytes[i] != UInt8(ascii: "\n") { i += 1 }
            case UInt8(ascii: "/") where at(i + 1) == UInt8(ascii: "*"):
                var depth = 0
                while i < bytes.count {
                    if bytes[i] == UInt8(ascii: "/") && at(i + 1) == UInt8(ascii: "*") { depth += 1; i += 2; continue }
                    if bytes[i] == UInt8(ascii: "*") && at(i + 1) == UInt8(ascii: "/") {
                        depth -= 1; i += 2
                        if depth == 0 { break }
                        continue
                    }
                    i += 1
                }
            case UInt8(ascii: "$"):
                meaningful = true
                // A dollar quote's tag: $$ or $identifier$ (not $1, a parameter).
                var j = i + 1
                while j < bytes.count, isTagByte(bytes[j]) { j += 1 }
                if j < bytes.count, bytes[j] == UInt8(ascii: "$"), !(j > i + 1 && isDigit(bytes[i + 1])) {
                    let tag = Array(bytes[i...j])
                    var k = j + 1
                    var closed = false
                    while k + tag.count <= bytes.count {
                        if bytes[k] == UInt8(ascii: "$") && Array(bytes[k..<(k + tag.count)]) == tag {
                            k += tag.count
                            closed = true
                            break
                        }
                        k += 1
                    }
                    i = closed ? k : bytes.count
                } else {
                    i += 1
                }
            case UInt8(ascii: ";"):
                if meaningful { statements.append(text(bytes[start..<i])) }
                meaningful = false
                i += 1
                start = i
            default:
                if !(c == 32 || (c >= 9 && c <= 13)) { meaningful = true }
                i += 1
            }
        }
        if meaningful, start < bytes.count { statements.append(text(bytes[start..<bytes.count])) }
        return statements
    }

    private static func isTagByte(_ b: UInt8) -> Bool {
        b == UInt8(ascii: "_") || isDigit(b) || (b | 0x20 >= UInt8(ascii: "a") && b | 0x20 <= UInt8(ascii: "z")) || b >= 0x80
    }

    private static func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }

    private static func text(_ slice: ArraySlice<UInt8>) -> String {
        String(decoding: slice, as: UTF8.self).trimmingBlanks()
    }

    /// The statement's words up to `count`, lowercased (for recognising session commands).
    static func words(_ sql: String, _ count: Int) -> [String] {
        var words: [String] = []
        var current = ""
        for scalar in sql.unicodeScalars {
            if scalar.properties.isAlphabetic || scalar == "_" || (scalar.value >= 48 && scalar.value <= 57 && !current.isEmpty) {
                current.unicodeScalars.append(scalar)
            } else {
                if !current.isEmpty { words.append(current.lowercased()); current = "" }
                if words.count >= count { break }
                if !(scalar == " " || scalar == "\t" || scalar == "\n" || scalar == "\r") { break }
            }
        }
        if !current.isEmpty && words.count < count { words.append(current.lowercased()) }
        return words
    }
}

/// A command the session answers itself.
enum SessionCommand: Equatable {
    /// SET name = value (value nil: DEFAULT); SET TRANSACTION … and SET LOCAL … are accepted.
    case set(name: String, value: String?)
    case reset(name: String?)
    case show(name: String)
    /// Accepted and ignored; the tag to answer.
    case ignored(tag: String)
    case deallocate(name: String?)

    /// The command `sql` is, or nil for a statement the engine runs.
    static func recognize(_ sql: String) -> SessionCommand? {
        let head = SQLText.words(sql, 3)
        switch head.first {
        case "set":
            return parseSet(sql)
        case "reset":
            let name = head.count > 1 ? head[1] : "all"
            return .reset(name: name == "all" ? nil : name)
        case "show":
            guard head.count > 1 else { return nil }
            return .show(name: head[1] == "transaction" ? "transaction_isolation" : head[1])
        case "vacuum": return .ignored(tag: "VACUUM")
        case "discard": return .ignored(tag: "DISCARD " + (head.count > 1 ? head[1].uppercased() : "ALL"))
        case "listen": return .ignored(tag: "LISTEN")
        case "unlisten": return .ignored(tag: "UNLISTEN")
        case "checkpoint": return .ignored(tag: "CHECKPOINT")
        case "deallocate":
            let rest = head.dropFirst().filter { $0 != "prepare" }
            guard let name = rest.first else { return nil }
            return .deallocate(name: name == "all" ? nil : name)
        default: return nil
        }
    }

    /// SET [SESSION | LOCAL] name { TO | = } value [, …] | DEFAULT; SET TIME ZONE value.
    private static func parseSet(_ sql: String) -> SessionCommand {
        var rest = Substring(sql.trimmingBlanks()).dropFirst(3)
        func dropWord(_ word: String) {
            let trimmed = rest.drop(while: { $0 == " " || $0 == "\t" || $0 == "\n" })
            if trimmed.lowercased().hasPrefix(word + " ") { rest = trimmed.dropFirst(word.count) } else { rest = trimmed }
        }
        dropWord("session")
        dropWord("local")
        rest = rest.drop(while: { $0 == " " || $0 == "\t" || $0 == "\n" })
        if rest.lowercased().hasPrefix("time zone") {
            return .set(name: "timezone", value: unquote(rest.dropFirst(9)))
        }
        let nameEnd = rest.firstIndex(where: { $0 == " " || $0 == "=" || $0 == "\t" || $0 == "\n" }) ?? rest.endIndex
        let name = rest[..<nameEnd].lowercased()
        if name == "transaction" || name == "session" { return .ignored(tag: "SET") }
        var value = rest[nameEnd...].drop(while: { $0 == " " || $0 == "\t" || $0 == "\n" })
        if value.first == "=" {
            value = value.dropFirst()
        } else if value.lowercased().hasPrefix("to") {
            value = value.dropFirst(2)
        }
        let text = unquote(value)
        return .set(name: name, value: text.lowercased() == "default" ? nil : text)
    }

    /// A value list as SHOW prints it: quotes removed, items joined by ", ".
    private static func unquote(_ value: Substring) -> String {
        let items = value.split(separator: ",").map { item -> String in
            var s = item.trimmingBlanks()
            if s.count >= 2, (s.hasPrefix("'") && s.hasSuffix("'")) || (s.hasPrefix("\"") && s.hasSuffix("\"")) {
                s = String(s.dropFirst().dropLast()).replacing("''", with: "'")
            }
            return s
        }
        return items.joined(separator: ", ")
    }
}

extension StringProtocol {
    func trimmingBlanks() -> String {
        let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isBlank($0) }), let last = lastIndex(where: { !isBlank($0) }) else { return "" }
        return String(self[first...last])
    }
}
