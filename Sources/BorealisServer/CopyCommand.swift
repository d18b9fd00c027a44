// COPY … FROM STDIN and COPY … TO STDOUT: the statement (parsed here, since its data travels
// in the protocol's CopyData messages, not through the engine) and the text and CSV formats.
//
//   COPY table [(column, …)] FROM STDIN [[WITH] (option, …) | legacy options]
//   COPY table [(column, …)] | (query) TO STDOUT [[WITH] (option, …) | legacy options]
//
// Options: FORMAT text|csv, DELIMITER 'c', NULL 's', HEADER [bool], QUOTE 'c', ESCAPE 'c',
// FREEZE and ENCODING (accepted, ignored); the legacy spellings CSV, HEADER, DELIMITER [AS],
// NULL [AS], QUOTE [AS], ESCAPE [AS], FREEZE. FORMAT binary is refused (0A000).
//
// Text format: one row per line, fields split by the delimiter (tab), `\N` is NULL, backslash
// escapes (\b \f \n \r \t \v \\, octal \NNN, hex \xHH), a line `\.` ends the data. CSV: fields
// in double quotes may hold delimiters, quotes (doubled) and newlines; an unquoted empty field
// is NULL.

import Borealis

struct CopyCommand {
    enum Direction { case from, to }
    var direction: Direction
    /// The table as written (quoted names keep their quotes), or nil for `(query)`.
    var table: String?
    var columns: [String] = []
    var query: String?
    var csv = false
    var delimiter: UInt8 = 9
    var null = "\\N"
    var header = false
    var quote: UInt8 = 34
    var escape: UInt8 = 34

    /// The COPY statement `sql` is, nil when it is not a COPY; throws for a COPY it cannot run.
    static func recognize(_ sql: String) throws -> CopyCommand? {
        guard SQLText.words(sql, 1).first == "copy" else { return nil }
        var tokens = Tokens(sql)
        _ = tokens.next() // COPY
        func syntax(_ message: String = "syntax error in COPY") -> WireError {
            WireError(sqlState: SQLState.syntaxError, message: message)
        }
        var table: String?
        var query: String?
        if tokens.peek == "(" {
            guard let inner = tokens.parenthesized() else { throw syntax() }
            query = inner
        } else {
            guard let name = tokens.next(), name.first != "(" else { throw syntax() }
            table = name
            while tokens.peek == "." {
                _ = tokens.next()
                guard let part = tokens.next() else { throw syntax() }
                table = (table ?? "") + "." + part
            }
        }
        var columns: [String] = []
        if table != nil, tokens.peek == "(" {
            _ = tokens.next()
            while let t = tokens.next(), t != ")" {
                if t != "," { columns.append(t) }
            }
        }
        let direction: Direction
        switch tokens.next()?.lowercased() {
        case "from": direction = .from
        case "to": direction = .to
        default: throw syntax()
        }
        if direction == .from && query != nil { throw syntax() }
        let target = tokens.next()?.lowercased()
        guard target == (direction == .from ? "stdin" : "stdout") else {
            throw WireError(sqlState: SQLState.featureNotSupported, message: "COPY \(direction == .from ? "FROM" : "TO") a file or program is not supported over the wire protocol; use STDIN or STDOUT (psql's \\copy)")
        }
        var command = CopyCommand(direction: direction, table: table, columns: columns, query: query)
        if tokens.peek?.lowercased() == "with" { _ = tokens.next() }
        if tokens.peek == "(" {
            _ = tokens.next()
            while let option = tokens.next(), option != ")" {
                if option == "," { continue }
                var value: String?
                if let next = tokens.peek, next != ",", next != ")" { value = tokens.next() }
                try command.apply(option.lowercased(), value)
            }
        } else {
            while let option = tokens.next() {
                let name = option.lowercased()
                switch name {
                case "csv", "header", "freeze", "binary": try command.apply(name == "csv" || name == "binary" ? "format" : name, name == "csv" || name == "binary" ? name : nil)
                case "delimiter", "null", "quote", "escape":
                    if tokens.peek?.lowercased() == "as" { _ = tokens.next() }
                    try command.apply(name, tokens.next())
                default: throw syntax("unrecognized COPY option \"\(option)\"")
                }
            }
        }
        return command
    }

    private mutating func apply(_ option: String, _ value: String?) throws {
        let text = value.map(Tokens.unquote)
        func character() throws -> UInt8 {
            guard let text, text.utf8.count == 1, let byte = text.utf8.first else {
                throw WireError(sqlState: SQLState.featureNotSupported, message: "COPY \(option) must be a single one-byte character")
            }
            return byte
        }
        switch option {
        case "format":
            switch text?.lowercased() {
            case "text": csv = false
            case "csv":
                csv = true
                if null == "\\N" { null = "" }
                if delimiter == 9 { delimiter = 44 }
            case "binary": throw WireError(sqlState: SQLState.featureNotSupported, message: "COPY in binary format is not supported yet")
            default: throw WireError(sqlState: SQLState.invalidParameterValue, message: "COPY format \"\(text ?? "")\" not recognized")
            }
        case "delimiter": delimiter = try character()
        case "null": null = text ?? ""
        case "header": header = text.map { !["false", "off", "0"].contains($0.lowercased()) } ?? true
        case "quote": quote = try character()
        case "escape": escape = try character()
        case "freeze", "encoding", "force_not_null", "force_null", "force_quote": break
        default: throw WireError(sqlState: SQLState.syntaxError, message: "option \"\(option)\" not recognized")
        }
    }

    // MARK: Text and CSV rows

    /// Splits one text-format line into fields (nil: NULL).
    func textFields(_ line: ArraySlice<UInt8>) -> [String?] {
        var fields: [String?] = []
        var field: [UInt8] = []
        var raw: [UInt8] = [] // the field as written, to compare with the NULL marker
        var i = line.startIndex
        func end() {
            fields.append(raw == Array(null.utf8) ? nil : String(decoding: field, as: UTF8.self))
            field = []
            raw = []
        }
        while i < line.endIndex {
            let c = line[i]
            if c == delimiter {
                end()
                i += 1
                continue
            }
            raw.append(c)
            guard c == UInt8(ascii: "\\"), i + 1 < line.endIndex else {
                field.append(c)
                i += 1
                continue
            }
            let e = line[i + 1]
            raw.append(e)
            i += 2
            switch e {
            case UInt8(ascii: "b"): field.append(8)
            case UInt8(ascii: "f"): field.append(12)
            case UInt8(ascii: "n"): field.append(10)
            case UInt8(ascii: "r"): field.append(13)
            case UInt8(ascii: "t"): field.append(9)
            case UInt8(ascii: "v"): field.append(11)
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                var value = Int(e - 48)
                var digits = 1
                while digits < 3, i < line.endIndex, line[i] >= 48, line[i] <= 55 {
                    value = value * 8 + Int(line[i] - 48)
                    raw.append(line[i])
                    i += 1
                    digits += 1
                }
                field.append(UInt8(truncatingIfNeeded: value))
            case UInt8(ascii: "x"):
                var value = 0
                var digits = 0
                while digits < 2, i < line.endIndex, let d = hexValue(line[i]) {
                    value = value * 16 + d
                    raw.append(line[i])
                    i += 1
                    digits += 1
                }
                if digits == 0 { field.append(e) } else { field.append(UInt8(value)) }
            default: field.append(e)
            }
        }
        end()
        return fields
    }

    private func hexValue(_ b: UInt8) -> Int? {
        switch b {
        case 48...57: return Int(b - 48)
        case 65...70: return Int(b - 55)
        case 97...102: return Int(b - 87)
        default: return nil
        }
    }

    /// One text-format line for `row` (with its newline).
    func textLine(_ row: [Value], into out: inout [UInt8]) {
        for (i, value) in row.enumerated() {
            if i > 0 { out.append(delimiter) }
            if value.isNull { out += Array(null.utf8); continue }
            if csv {
                let text = Array(value.description.utf8)
                let needsQuotes = text.isEmpty || text.contains { $0 == delimiter || $0 == quote || $0 == 10 || $0 == 13 || $0 == escape }
                if needsQuotes {
                    out.append(quote)
                    for b in text {
                        if b == quote || b == escape { out.append(escape) }
                        out.append(b)
                    }
                    out.append(quote)
                } else {
                    out += text
                }
                continue
            }
            for b in value.description.utf8 {
                switch b {
                case UInt8(ascii: "\\"): out += [92, 92]
                case 10: out += [92, UInt8(ascii: "n")]
                case 13: out += [92, UInt8(ascii: "r")]
                case 9: out += [92, UInt8(ascii: "t")]
                case delimiter: out += [92, b]
                default: out.append(b)
                }
            }
        }
        out.append(10)
    }
}

/// Incremental CSV parsing: records may span lines (a quoted field holding a newline).
struct CSVReader {
    let command: CopyCommand
    private var fields: [String?] = []
    private var field: [UInt8] = []
    private var quoted = false
    private var inQuotes = false
    private var afterQuote = false

    init(_ command: CopyCommand) { self.command = command }

    /// Feeds `bytes`; calls `record` for each complete record.
    mutating func feed(_ bytes: ArraySlice<UInt8>, _ record: ([String?]) throws -> Void) rethrows {
        for b in bytes {
            if inQuotes {
                if b == command.escape && command.escape != command.quote && !afterQuote {
                    afterQuote = true // the escape: the next byte is literal
                    continue
                }
                if afterQuote && command.escape != command.quote {
                    field.append(b)
                    afterQuote = false
                    continue
                }
                if b == command.quote {
                    inQuotes = false
                    afterQuote = true
                    continue
                }
                field.append(b)
                continue
            }
            if afterQuote && b == command.quote && command.escape == command.quote {
                // A doubled quote inside a quoted field.
                field.append(b)
                inQuotes = true
                afterQuote = false
                continue
            }
            afterQuote = false
            switch b {
            case command.quote:
                inQuotes = true
                quoted = true
            case command.delimiter:
                endField()
            case 10:
                endField()
                let done = fields
                fields = []
                try record(done)
            case 13:
                continue
            default:
                field.append(b)
            }
        }
    }

    private mutating func endField() {
        let text = String(decoding: field, as: UTF8.self)
        fields.append(!quoted && text == command.null ? nil : text)
        field = []
        quoted = false
    }

    /// The last record when the data did not end with a newline.
    mutating func finish(_ record: ([String?]) throws -> Void) rethrows {
        if !field.isEmpty || !fields.isEmpty || quoted {
            endField()
            let done = fields
            fields = []
            try record(done)
        }
    }
}

/// Tokens of a COPY statement: words, quoted identifiers, 'strings', and punctuation.
struct Tokens {
    private let bytes: [UInt8]
    private var position = 0

    init(_ sql: String) { bytes = Array(sql.utf8) }

    var peek: String? {
        var copy = self
        return copy.next()
    }

    mutating func next() -> String? {
        while position < bytes.count, bytes[position] == 32 || (bytes[position] >= 9 && bytes[position] <= 13) { position += 1 }
        guard position < bytes.count else { return nil }
        let start = position
        let c = bytes[position]
        if c == UInt8(ascii: "'") || c == UInt8(ascii: "\"") {
            position += 1
            while position < bytes.count {
                if bytes[position] == c {
                    if position + 1 < bytes.count, bytes[position + 1] == c { position += 2; continue }
                    break
                }
                position += 1
            }
            position = min(position + 1, bytes.count)
        } else if c == UInt8(ascii: "(") || c == UInt8(ascii: ")") || c == UInt8(ascii: ",") || c == UInt8(ascii: ".") || c == UInt8(ascii: "=") || c == UInt8(ascii: ";") {
            position += 1
        } else {
            while position < bytes.count {
                let b = bytes[position]
                if b == 32 || (b >= 9 && b <= 13) || b == UInt8(ascii: "(") || b == UInt8(ascii: ")") || b == UInt8(ascii: ",") || b == UInt8(ascii: ".") || b == UInt8(ascii: "=") || b == UInt8(ascii: ";") { break }
                position += 1
            }
        }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    /// The text inside the parentheses that open at the next token (nesting and quotes kept).
    mutating func parenthesized() -> String? {
        guard next() == "(" else { return nil }
        let start = position
        var depth = 1
        while let token = next() {
            if token == "(" { depth += 1 }
            if token == ")" {
                depth -= 1
                if depth == 0 { return String(decoding: bytes[start..<(position - 1)], as: UTF8.self) }
            }
        }
        return nil
    }

    /// A 'string' or "identifier" without its quotes.
    static func unquote(_ token: String) -> String {
        guard token.count >= 2, let first = token.first, first == "'" || first == "\"", token.last == first else { return token }
        return String(token.dropFirst().dropLast()).replacing(String(repeating: first, count: 2), with: String(first))
    }
}
