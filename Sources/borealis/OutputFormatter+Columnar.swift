// The aligned output modes, each column as wide as its widest value (in characters):
//
//   table      ┌────┬──────┐   Borealis' default: box lines, numbers right-aligned, printed
//              │ id │ name │   even for an empty result (the header alone); .headers off drops
//              ├────┼──────┤   the header.
//              │  1 │ pear │
//              └────┴──────┘
//   box        as table, but as sqlite3 draws it: headers centred, every value left-aligned,
//              the header always shown.
//   markdown   | id | name |   headers centred and always shown
//              |----|------|
//              | 1  | pear |
//   column     id  name       two spaces between columns, every column padded (the last too);
//              --  ----       .headers off drops the two header lines
//              1   pear
//
// box, markdown and column print nothing for an empty result, as sqlite3 does.

import Borealis

extension OutputFormatter {
    func columnar(_ columns: [String], _ rows: [[Value]]) -> String {
        if mode != .table && rows.isEmpty { return "" }
        let cells = rows.map { $0.map(text) }
        var widths = columns.map(\.count)
        for row in cells { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        func pad(_ value: String, _ i: Int, right: Bool = false, centre: Bool = false) -> String {
            let room = widths[i] - value.count
            if centre { return String(repeating: " ", count: room / 2) + value + String(repeating: " ", count: room - room / 2) }
            let spaces = String(repeating: " ", count: room)
            return right ? spaces + value : value + spaces
        }
        func rule(_ left: String, _ middle: String, _ right: String, _ dash: String = "─") -> String {
            left + widths.map { String(repeating: dash, count: $0 + 2) }.joined(separator: middle) + right
        }
        func boxed(_ values: [String], _ bar: String, right: [Bool] = [], centre: Bool = false) -> String {
            bar + values.enumerated().map { i, v in " " + pad(v, i, right: right.isEmpty ? false : right[i], centre: centre) + " " }
                .joined(separator: bar) + bar
        }
        var out: [String] = []
        switch mode {
        case .table:
            let numeric = (0..<columns.count).map { i in
                !rows.isEmpty && rows.allSatisfy { row in
                    switch row[i] {
                    case .integer, .double, .numeric, .null: return true
                    default: return false
                    }
                }
            }
            out.append(rule("┌", "┬", "┐"))
            if headers {
                out.append(boxed(columns, "│"))
                out.append(rule("├", "┼", "┤"))
            }
            for row in cells { out.append(boxed(row, "│", right: numeric)) }
            out.append(rule("└", "┴", "┘"))
        case .box:
            out.append(rule("┌", "┬", "┐"))
            out.append(boxed(columns, "│", centre: true))
            out.append(rule("├", "┼", "┤"))
            for row in cells { out.append(boxed(row, "│")) }
            out.append(rule("└", "┴", "┘"))
        case .markdown:
            out.append(boxed(columns, "|", centre: true))
            out.append(rule("|", "|", "|", "-"))
            for row in cells { out.append(boxed(row, "|")) }
        default:
            if headers {
                out.append(columns.enumerated().map { pad($1, $0) }.joined(separator: "  "))
                out.append(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "))
            }
            for row in cells { out.append(row.enumerated().map { pad($1, $0) }.joined(separator: "  ")) }
        }
        return out.map { $0 + "\n" }.joined()
    }
}
