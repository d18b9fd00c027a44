// How the shell prints results. Row-at-a-time modes live here: csv (RFC 4180), json, line,
// list, quote and insert; the aligned modes (table, box, markdown, column) are in
// OutputFormatter+Columnar.swift. Every mode ends each line with a newline; an empty result
// prints nothing except in table mode (the header box) and json (`[]`). Where sqlite3 has the
// same mode, the text is
// what sqlite3 3.40 prints, except that values are PostgreSQL's (t/f, \x bytea) and the
// literals of quote and insert are Borealis SQL that reads back as the same value.

import Borealis

enum OutputMode: String, CaseIterable {
    case table, box, markdown, column, csv, json, line, list, quote, insert
}

struct OutputFormatter {
    var mode: OutputMode = .table
    var headers = true
    var nullValue = ""
    /// Between columns and after rows in list mode (`.separator COL ROW`).
    var columnSeparator = "|"
    var rowSeparator = "\n"
    /// The table that insert mode names (`.mode insert TABLE`).
    var insertTable = "table"

    /// Whether a result printed in pieces — the first with the headers, the others without —
    /// reads as the result printed at once (csv, list, quote, insert).
    var printsInPieces: Bool {
        switch mode {
        case .csv, .list, .quote, .insert: return true
        case .table, .box, .markdown, .column, .json, .line: return false
        }
    }

    func text(_ value: Value) -> String {
        value.isNull ? nullValue : value.description
    }

    func format(columns: [String], rows: [[Value]]) -> String {
        guard !columns.isEmpty else { return "" }
        switch mode {
        case .table, .box, .markdown, .column: return columnar(columns, rows)
        case .csv:
            var lines: [String] = []
            if headers { lines.append(columns.map(csvField).joined(separator: ",")) }
            for row in rows { lines.append(row.map { $0.isNull ? nullValue : csvField($0.description) }.joined(separator: ",")) }
            return lines.map { $0 + "\n" }.joined()
        case .json:
            let objects = rows.map { row in
                "{" + zip(columns, row).map { "\(jsonString($0)):\(jsonValue($1))" }.joined(separator: ",") + "}"
            }
            return "[" + objects.joined(separator: ",\n") + "]\n"
        case .line:
            let width = columns.map(\.count).max() ?? 0
            return rows.map { row in
                zip(columns, row).map { String(repeating: " ", count: width - $0.count) + "\($0) = \(text($1))" }.joined(separator: "\n")
            }.joined(separator: "\n\n") + (rows.isEmpty ? "" : "\n")
        case .list:
            var lines: [String] = []
            if headers { lines.append(columns.joined(separator: columnSeparator)) }
            for row in rows { lines.append(row.map(text).joined(separator: columnSeparator)) }
            return lines.map { $0 + rowSeparator }.joined()
        case .quote:
            var lines: [String] = []
            if headers { lines.append(columns.map { Value.text($0).sqlLiteral }.joined(separator: ",")) }
            for row in rows { lines.append(row.map(quoted).joined(separator: ",")) }
            return lines.map { $0 + "\n" }.joined()
        case .insert:
            let target = Database.quoteIdentifier(insertTable)
                + (headers ? "(" + columns.map(Database.quoteIdentifier).joined(separator: ",") + ")" : "")
            return rows.map { "INSERT INTO \(target) VALUES(" + $0.map(\.sqlLiteral).joined(separator: ",") + ");\n" }.joined()
        }
    }

    /// A value in quote mode: strings and temporal values in single quotes, bytea as X'…',
    /// numbers and booleans bare, NULL as NULL.
    private func quoted(_ value: Value) -> String {
        switch value {
        case .double(let d) where d.isFinite: return value.description
        case .null, .integer, .numeric, .boolean, .text: return value.sqlLiteral
        case .blob(let bytes): return "X'" + bytes.map { String($0 >> 4, radix: 16) + String($0 & 15, radix: 16) }.joined() + "'"
        default: return Value.text(value.description).sqlLiteral
        }
    }

    private func csvField(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
            ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }

    private func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += "\\u00" + String(scalar.value >> 4, radix: 16) + String(scalar.value & 15, radix: 16)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    private func jsonValue(_ v: Value) -> String {
        switch v {
        case .null: return "null"
        case .integer(let i): return String(i)
        case .double(let d): return d.isFinite ? "\(d)" : jsonString(v.description)
        case .numeric(let n): return n.description
        case .boolean(let b): return b ? "true" : "false"
        default: return jsonString(v.description)
        }
    }
}
