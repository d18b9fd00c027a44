// Prints expressions back as SQL: for defaults and checks kept in the catalog, for matching
// GROUP BY expressions structurally, and for error messages and EXPLAIN.

import BorealisStorage

extension Expr {
    var sql: String {
        switch self {
        case .literal(let v):
            switch v {
            case .null: return "NULL"
            case .text(let s): return "'" + s.replacing("'", with: "''") + "'"
            case .boolean(let b): return b ? "TRUE" : "FALSE"
            case .double(let d): return d.isFinite ? "\(d)" : "'\(Value.format(d))'::double precision"
            case .blob(let b): return "'\\x" + b.map { String($0, radix: 16).leftPadded(2) }.joined() + "'::bytea"
            case .integer(let i): return String(i)
            case .numeric(let n): return n.description
            case .date, .time, .timestamp, .timestamptz, .interval, .array:
                return "'\(v.description.replacing("'", with: "''"))'::\(v.sqlType.name)"
            }
        // Quoted where the name needs it ("Ä", "order"), so that stored SQL reads back the same.
        case .column(let table, let name): return table.map { "\(quoteIdentifier($0)).\(quoteIdentifier(name))" } ?? quoteIdentifier(name)
        case .parameter(let n): return "$\(n)"
        case .unary(let op, let e):
            switch op {
            case .negate: return "(- \(e.sql))"
            case .plus: return "(+ \(e.sql))"
            case .not: return "(NOT \(e.sql))"
            }
        case .binary(let op, let a, let b): return "(\(a.sql) \(op.rawValue) \(b.sql))"
        case .isNull(let e, let negated): return "(\(e.sql) IS \(negated ? "NOT " : "")NULL)"
        case .isBoolean(let e, let value, let negated): return "(\(e.sql) IS \(negated ? "NOT " : "")\(value ? "TRUE" : "FALSE"))"
        case .between(let e, let low, let high, let negated):
            return "(\(e.sql) \(negated ? "NOT " : "")BETWEEN \(low.sql) AND \(high.sql))"
        case .inList(let e, let list, let negated):
            return "(\(e.sql) \(negated ? "NOT " : "")IN (\(list.map(\.sql).joined(separator: ", "))))"
        case .inSubquery(let e, _, let negated): return "(\(e.sql) \(negated ? "NOT " : "")IN (subquery))"
        case .exists(_, let negated): return "(\(negated ? "NOT " : "")EXISTS (subquery))"
        case .subquery: return "(subquery)"
        case .caseWhen(let base, let whens, let otherwise):
            var s = "CASE"
            if let base { s += " " + base.sql }
            for (w, t) in whens { s += " WHEN \(w.sql) THEN \(t.sql)" }
            if let otherwise { s += " ELSE \(otherwise.sql)" }
            return s + " END"
        case .cast(let e, let type): return "CAST(\(e.sql) AS \(type.name))"
        case .function(let name, let args, let distinct, let star):
            if star { return "\(name)(*)" }
            return "\(name)(\(distinct ? "DISTINCT " : "")\(args.map(\.sql).joined(separator: ", ")))"
        case .aggregateFilter(let call, let condition): return "\(call.sql) FILTER (WHERE \(condition.sql))"
        case .orderedAggregate(let call, let order):
            let sql = call.sql
            let keys = order.map { $0.expr.sql + ($0.descending ? " DESC" : "") + ($0.nullsFirst.map { $0 ? " NULLS FIRST" : " NULLS LAST" } ?? "") }
            return String(sql.dropLast()) + " ORDER BY " + keys.joined(separator: ", ") + ")"
        case .window(let call, let spec):
            var parts: [String] = []
            if !spec.partition.isEmpty { parts.append("PARTITION BY " + spec.partition.map(\.sql).joined(separator: ", ")) }
            if !spec.order.isEmpty {
                parts.append("ORDER BY " + spec.order.map { "\($0.expr.sql)\($0.descending ? " DESC" : "")\($0.nullsFirst.map { $0 ? " NULLS FIRST" : " NULLS LAST" } ?? "")" }.joined(separator: ", "))
            }
            if let frame = spec.frame { parts.append("\(frame.rows ? "ROWS" : "RANGE") \(frame.start) \(frame.end)") }
            return "\(call.sql) OVER (\(parts.joined(separator: " ")))"
        case .defaultValue: return "DEFAULT"
        case .quantified(let op, let e, _, let all):
            return "(\(e.sql) \(op.rawValue) \(all ? "ALL" : "ANY") (subquery))"
        case .quantifiedArray(let op, let e, let array, let all):
            return "(\(e.sql) \(op.rawValue) \(all ? "ALL" : "ANY") (\(array.sql)))"
        case .array(let items): return "ARRAY[\(items.map(\.sql).joined(separator: ", "))]"
        case .arraySubquery: return "ARRAY(subquery)"
        case .subscripted(let base, let subscripts):
            return "(\(base.sql))" + subscripts.map { s in
                "[" + (s.lower.map(\.sql) ?? "") + (s.isSlice ? ":" : "") + (s.upper.map(\.sql) ?? "") + "]"
            }.joined()
        case .like(let e, let pattern, let escape, let ci, let negated):
            return "(\(e.sql) \(negated ? "NOT " : "")\(ci ? "ILIKE" : "LIKE") \(pattern.sql)\(escape.map { " ESCAPE \($0.sql)" } ?? ""))"
        }
    }
}
