// Finds where SQL statements end in input that arrives a line at a time, so a script streamed
// on standard input runs each statement as soon as its `;` arrives. A `;` ends a statement only
// outside 'strings' (E'…' with backslash escapes too), "identifiers", `backticks`,
// $tag$dollar quotes$tag$, -- line comments and /* nested block comments */; the state carries
// over from one line to the next.
//
// Each statement comes out with the line it starts on (its first character outside
// whitespace and comments), for messages such as `file.sql:12: ERROR: …`.

struct StatementSplitter {
    struct Statement: Equatable {
        var text: String
        var line: Int
    }

    private enum State: Equatable {
        case normal
        case quote(Unicode.Scalar, backslashEscapes: Bool)
        case dollar(tag: [Unicode.Scalar])
        case lineComment
        case blockComment(depth: Int)
    }

    private var state = State.normal
    private var buffer = String.UnicodeScalarView()
    /// The line of the pending statement's first significant character; nil while the buffer
    /// holds only whitespace and comments.
    private var startLine: Int?

    /// Whether no statement has started (dot-commands are recognised only then).
    var isEmpty: Bool { startLine == nil && state == .normal }

    /// Adds one line (without its newline) and returns the statements it completes.
    mutating func feed(_ line: String, lineNumber: Int) -> [Statement] {
        var complete: [Statement] = []
        let scalars = Array(line.unicodeScalars)
        var i = 0
        func at(_ k: Int) -> Unicode.Scalar? { k < scalars.count ? scalars[k] : nil }
        while i < scalars.count {
            let c = scalars[i]
            buffer.append(c)
            i += 1
            switch state {
            case .lineComment:
                continue
            case .blockComment(let depth):
                if c == "*" && at(i) == "/" {
                    buffer.append("/"); i += 1
                    state = depth == 1 ? .normal : .blockComment(depth: depth - 1)
                } else if c == "/" && at(i) == "*" {
                    buffer.append("*"); i += 1
                    state = .blockComment(depth: depth + 1)
                }
                continue
            case .quote(let q, let escapes):
                if escapes && c == "\\" {
                    if let next = at(i) { buffer.append(next); i += 1 }
                } else if c == q {
                    if at(i) == q { buffer.append(q); i += 1 } else { state = .normal }
                }
                continue
            case .dollar(let tag):
                if c == "$", Array(scalars[i..<min(scalars.count, i + tag.count + 1)]) == tag + ["$"] {
                    for s in tag + ["$"] { buffer.append(s) }
                    i += tag.count + 1
                    state = .normal
                }
                continue
            case .normal:
                break
            }
            switch c {
            case "-" where at(i) == "-":
                state = .lineComment
                continue
            case "/" where at(i) == "*":
                buffer.append("*"); i += 1
                state = .blockComment(depth: 1)
                continue
            case "'":
                let previous = i >= 2 ? scalars[i - 2] : nil
                let beforeThat = i >= 3 ? scalars[i - 3] : nil
                let escapes = (previous == "e" || previous == "E") && !(beforeThat.map(Self.isIdentifierPart) ?? false)
                state = .quote("'", backslashEscapes: escapes)
            case "\"", "`":
                state = .quote(c, backslashEscapes: false)
            case "$" where !(i >= 2 && Self.isIdentifierPart(scalars[i - 2])):
                // $tag$ or $$ opens a dollar quote; $1 is a parameter.
                var j = i
                while let s = at(j), Self.isIdentifierPart(s), s != "$" { j += 1 }
                let tag = Array(scalars[i..<j])
                if at(j) == "$" && !(tag.first.map { $0.properties.numericType != nil } ?? false) {
                    for s in tag + ["$"] { buffer.append(s) }
                    i = j + 1
                    state = .dollar(tag: tag)
                }
            default:
                break
            }
            if startLine == nil && !c.properties.isWhitespace { startLine = lineNumber }
            if c == ";" {
                if let start = startLine { complete.append(Statement(text: String(buffer), line: start)) }
                buffer = String.UnicodeScalarView()
                startLine = nil
            }
        }
        if state == .lineComment { state = .normal }
        if startLine == nil && state == .normal {
            buffer = String.UnicodeScalarView()
        } else {
            buffer.append("\n")
        }
        return complete
    }

    /// The unfinished statement at the end of input (nil when there is none), and a fresh start.
    mutating func finish() -> Statement? {
        defer { self = StatementSplitter() }
        guard let start = startLine else { return nil }
        var text = String(buffer)
        while text.last?.isNewline == true { text.removeLast() }
        return Statement(text: text, line: start)
    }

    private static func isIdentifierPart(_ s: Unicode.Scalar) -> Bool {
        s == "_" || s == "$" || s.properties.isAlphabetic || s.properties.numericType != nil
    }
}
