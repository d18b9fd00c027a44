// Splitting a simple Query's text into statements, and the commands the server answers itself
// because they concern the connection, not the database: DISCARD, LISTEN, UNLISTEN,
// CHECKPOINT (accepted and ignored) and DEALLOCATE of the protocol's prepared statements.
// SET, SHOW, RESET and VACUUM run in the engine (SessionSettings), which the session asks after
// each statement for the ParameterStatus values that changed.
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
    /// Accepted and ignored; the tag to answer.
    case ignored(tag: String)
    case deallocate(name: String?)

    /// The command `sql` is, or nil for a statement the engine runs.
    static func recognize(_ sql: String) -> SessionCommand? {
        let head = SQLText.words(sql, 3)
        switch head.first {
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
}

extension StringProtocol {
    func trimmingBlanks() -> String {
        let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isBlank($0) }), let last = lastIndex(where: { !isBlank($0) }) else { return "" }
        return String(self[first...last])
    }
}
