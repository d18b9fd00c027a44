// `.import [--csv] [--skip N] FILE TABLE`: loads CSV records into a table in one transaction
// (all or nothing). When TABLE does not exist, the first record names its columns (all TEXT),
// as sqlite3 does; when it exists every record is data (`--skip 1` skips a header). An empty
// field loads as NULL into a column that is not text (integer, date, …) and as '' into a text
// one. A record with the wrong number of fields stops the import with its line number.

import Borealis
import Foundation

extension Shell {
    func importCommand(_ arguments: [String]) throws {
        var skip = 0
        var operands: [String] = []
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            switch argument {
            case "--csv": break
            case "--skip":
                guard let count = rest.popFirst().flatMap(Int.init), count >= 0 else {
                    throw ShellError("usage: .import [--csv] [--skip N] FILE TABLE (N a count of lines)")
                }
                skip = count
            default:
                if argument.hasPrefix("--") { throw ShellError("unknown .import option \(argument)") }
                operands.append(argument)
            }
        }
        guard operands.count == 2 else { throw ShellError("usage: .import [--csv] [--skip N] FILE TABLE") }
        try importCSV(path: operands[0], table: operands[1], skip: skip)
    }

    private func importCSV(path: String, table: String, skip: Int) throws {
        guard access(path, R_OK) == 0 else {
            throw ShellError("cannot open \"\(path)\": \(String(cString: strerror(errno)))")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw ShellError("cannot read \"\(path)\"") }
        // Nothing is loaded changed: bytes that are not UTF-8 (a Latin-1 file) would become
        // U+FFFD, and a quote left open at the end would swallow the rest of the file.
        guard let text = String(validating: data, as: UTF8.self) else {
            throw ShellError("\(path): not UTF-8 text (SQLSTATE 22021): convert it first, e.g. iconv -f latin1 -t utf-8")
        }
        let parsed = CSV.parse(text)
        if let open = parsed.unterminatedQuoteLine {
            throw ShellError("\(path):\(open): unterminated quoted field (the file ends inside it)")
        }
        var records = parsed.records[...]
        records = records.dropFirst(skip)
        var columns: [TableInfo.Column]
        if let info = try db.tableInfo(table) {
            columns = info.columns
        } else if try db.tableNames().contains(table) {
            throw ShellError("cannot import into \(table): it is a view")
        } else {
            guard let header = records.popFirst() else { throw ShellError("\(path) is empty: no header row to name the columns of \(table)") }
            let definitions = header.fields.map { "\(Database.quoteIdentifier($0)) text" }.joined(separator: ", ")
            try db.execute("CREATE TABLE \(Database.quoteIdentifier(table)) (\(definitions))")
            columns = try db.tableInfo(table)?.columns ?? []
        }
        let width = columns.count
        guard width > 0 else { return }
        let textual = columns.map { ["text", "varchar", "char"].contains($0.type) }
        let placeholders = (1...width).map { "$\($0)" }.joined(separator: ", ")
        let (prepared, _) = try db.prepare("INSERT INTO \(Database.quoteIdentifier(table)) VALUES (\(placeholders))")
        guard let insert = prepared else { return }
        try db.execute("BEGIN")
        do {
            for (n, record) in records.enumerated() {
                guard record.fields.count == width else {
                    throw ShellError("\(path):\(record.line): expected \(width) columns but found \(record.fields.count)")
                }
                try insert.bind(zip(record.fields, textual).map { field, text in field.isEmpty && !text ? .null : .text(field) })
                do {
                    _ = try insert.step()
                } catch let failure as DatabaseError {
                    throw ShellError("\(path):\(record.line): \(failure.message) (SQLSTATE \(failure.sqlState))")
                }
                insert.reset()
                if (n + 1) % 100_000 == 0 {
                    FileHandle.standardError.write(Data("imported \(n + 1) of \(records.count) rows\r".utf8))
                }
            }
            try db.execute("COMMIT")
            if records.count >= 100_000 { FileHandle.standardError.write(Data("imported \(records.count) rows\n".utf8)) }
        } catch {
            _ = try? db.execute("ROLLBACK")
            throw error
        }
    }
}

/// RFC 4180 CSV: fields separated by commas, quoted with double quotes ("" inside quotes); a
/// quoted field may span lines. Each record keeps the line it starts on; blank lines are skipped.
enum CSV {
    struct Record {
        var fields: [String]
        var line: Int
    }

    /// The records, and the line of a quoted field still open at the end of the text.
    static func parse(_ text: String) -> (records: [Record], unterminatedQuoteLine: Int?) {
        var records: [Record] = []
        var fields: [String] = []
        var field = ""
        var quoted = false
        var quoteLine = 1
        var line = 1
        var recordLine = 1
        var chars = text[...]
        func endRecord() {
            fields.append(field)
            if !(fields.count == 1 && fields[0].isEmpty) { records.append(Record(fields: fields, line: recordLine)) }
            fields = []
            field = ""
        }
        while let c = chars.popFirst() {
            if c.isNewline { line += 1 }
            if quoted {
                if c == "\"" {
                    if chars.first == "\"" { field.append("\""); chars.removeFirst() } else { quoted = false }
                } else {
                    field.append(c)
                }
                continue
            }
            switch c {
            case "\"": quoted = true; quoteLine = line
            case ",": fields.append(field); field = ""
            case "\n", "\r\n", "\r":
                endRecord()
                recordLine = line
            default: field.append(c)
            }
        }
        if !field.isEmpty || !fields.isEmpty { endRecord() }
        return (records, quoted ? quoteLine : nil)
    }
}
