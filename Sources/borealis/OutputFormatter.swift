// How the shell prints results: table (boxed, aligned), csv, json, line and list modes.

import Borealis

enum OutputMode: String, CaseIterable {
    case table, csv, json, line, list
}

struct OutputFormatter {
    var mode: OutputMode = .table
    var headers = true
    var nullValue = ""

    func text(_ value: Value) -> String {
        value.isNull ? nullValue : value.description
    }

    func format(columns: [String], rows: [[Value]]) -> String {
        guard !columns.isEmpty else { return "" }
        switch mode {
        case .table: return table(columns, rows)
        case .csv:
            var lines: [String] = []
            if headers { lines.append(columns.map(csvField).joined(separator: ",")) }
            for row in rows { lines.append(row.map { $0.isNull ? nullValue : csvField($0.description) }.joined(separator: ",")) }
            return lines.joined(separator: "\n") + "\n"
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
            if headers { lines.append(columns.joined(separator: "|")) }
            for row in rows { lines.append(row.map(text).joined(separator: "|")) }
            return lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n")
        }
    }

    private func table(_ columns: [String], _ rows: [[Value]]) -> String {
        let cells = rows.map { $0.map(text) }
        var widths = columns.map(\.count)
        for row in cells { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        let numeric = (0..<columns.count).map { i in
            !rows.isEmpty && rows.allSatisfy { row in
                switch row[i] {
                case .integer, .double, .numeric, .null: return true
                default: return false
                }
            }
        }
        func line(_ left: String, _ middle: String, _ right: String) -> String {
            left + widths.map { String(repeating: "─", count: $0 + 2) }.joined(separator: middle) + right
        }
        func render(_ values: [String], alignRight: [Bool]) -> String {
            "│" + values.enumerated().map { i, v in
                let pad = String(repeating: " ", count: widths[i] - v.count)
                return " " + (alignRight[i] ? pad + v : v + pad) + " "
            }.joined(separator: "│") + "│"
        }
        var out = [line("┌", "┬", "┐")]
        if headers {
            out.append(render(columns, alignRight: columns.map { _ in false }))
            out.append(line("├", "┼", "┤"))
        }
        for row in cells { out.append(render(row, alignRight: numeric)) }
        out.append(line("└", "┴", "┘"))
        return out.joined(separator: "\n") + "\n"
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
                if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
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

import Foundation
