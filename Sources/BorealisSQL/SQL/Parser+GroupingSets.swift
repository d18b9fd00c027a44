// GROUP BY ROLLUP (…), CUBE (…) and GROUPING SETS (…), and GROUPING(…) (docs/sql.md).
//
// A query with grouping sets becomes the UNION ALL of one grouped query per set, as the
// standard defines them: each branch groups by its set, shows NULL for the grouping columns
// outside its set (except inside aggregate calls, which still read them), and GROUPING(a, b)
// is the branch's constant bitmask (bit set for an argument not grouped, leftmost highest).
// The statement's ORDER BY, LIMIT and OFFSET apply to the union, so they name output columns.

import BorealisStorage

extension Parser {
    /// One element of a GROUP BY list: its grouping sets (a plain expression is one set of one).
    mutating func parseGroupingElement() throws -> [[Expr]] {
        if (isKeyword("rollup") || isKeyword("cube")), peekAt(1).kind == .op("(") {
            let cube = isKeyword("cube")
            _ = advance()
            try expect("(")
            var parts: [[Expr]] = []
            repeat { parts.append(try parseGroupingList()) } while accept(.op(","))
            try expect(")")
            if cube {
                guard parts.count <= 12 else { throw Limits.tooComplex() }
                // Every subset, largest first (PostgreSQL's order).
                return (0..<(1 << parts.count)).reversed().map { mask in
                    parts.enumerated().filter { mask & (1 << (parts.count - 1 - $0.offset)) != 0 }.flatMap(\.element)
                }
            }
            return (0...parts.count).reversed().map { n in parts.prefix(n).flatMap { $0 } }
        }
        if isKeyword("grouping"), isKeyword("sets", at: 1) {
            _ = advance()
            _ = advance()
            try expect("(")
            var sets: [[Expr]] = []
            repeat {
                if (isKeyword("rollup") || isKeyword("cube") || isKeyword("grouping")), peekAt(1).kind == .op("(") || isKeyword("sets", at: 1) {
                    sets += try parseGroupingElement()
                } else {
                    sets.append(try parseGroupingList())
                }
            } while accept(.op(","))
            try expect(")")
            return sets
        }
        if peek.kind == .op("("), peekAt(1).kind == .op(")") {
            _ = advance()
            _ = advance()
            return [[]]
        }
        return [[try parseExpr()]]
    }

    /// `a` or `(a, b)` or `()`: the columns of one grouping set element.
    private mutating func parseGroupingList() throws -> [Expr] {
        if accept(.op("(")) {
            if accept(.op(")")) { return [] }
            var list: [Expr] = []
            repeat { list.append(try parseExpr()) } while accept(.op(","))
            try expect(")")
            return list
        }
        return [try parseExpr()]
    }

    /// The query for `core` grouped by each of `sets`: one branch per set under UNION ALL.
    static func expandingGroupingSets(_ core: SelectCore, _ sets: [[Expr]]) throws -> SelectBody {
        guard sets.count <= 4096 else { throw Limits.tooComplex() }
        // GROUP BY 2: the select list's second expression.
        func resolved(_ e: Expr) -> Expr {
            if case .literal(.integer(let n)) = e, n >= 1, n <= core.items.count, case .expression(let item, _) = core.items[Int(n - 1)] {
                return item
            }
            return e
        }
        let resolvedSets = sets.map { $0.map(resolved) }
        var all: [String: Expr] = [:]
        for set in resolvedSets { for e in set { all[e.sql] = e } }
        let branches = resolvedSets.map { set -> SelectBody in
            var branch = core
            let grouped = Set(set.map(\.sql))
            branch.groupBy = set
            branch.items = core.items.map { item in
                guard case .expression(let e, let alias) = item else { return item }
                // A column that would be renamed by the NULL keeps its name.
                var name = alias
                if name == nil, all[e.sql] != nil, !grouped.contains(e.sql), case .column(_, let column) = e { name = column }
                return .expression(outsideAggregates(e, grouped: grouped, all: all), alias: name)
            }
            branch.having = core.having.map { outsideAggregates($0, grouped: grouped, all: all) }
            return .core(branch)
        }
        guard let first = branches.first else { return .core(core) }
        return branches.dropFirst().reduce(first) { .setOperation(.union, all: true, $0, $1) }
    }

    /// `e` with GROUPING(…) as the branch's bitmask and each grouping expression not in this
    /// branch's set as NULL, except inside aggregate calls.
    private static func outsideAggregates(_ e: Expr, grouped: Set<String>, all: [String: Expr]) -> Expr {
        e.rewriting { node in
            switch node {
            case .function(let name, let args, _, _) where name == "grouping":
                var mask: Int64 = 0
                for arg in args { mask = mask << 1 | (grouped.contains(arg.sql) ? 0 : 1) }
                return .literal(.integer(mask))
            case .function(let name, _, _, _) where Expr.aggregateNames.contains(name):
                return node
            case .aggregateFilter, .orderedAggregate, .window, .subquery, .exists, .inSubquery, .quantified:
                return node
            default:
                if all[node.sql] != nil && !grouped.contains(node.sql) { return .literal(.null) }
                return nil
            }
        }
    }
}

extension Expr {
    /// The aggregate functions' names (ExpressionCompiler compiles calls of them as aggregates).
    package static let aggregateNames: Set<String> = [
        "count", "sum", "avg", "min", "max", "total", "string_agg", "group_concat", "bool_and", "bool_or", "every",
        "stddev", "stddev_samp", "stddev_pop", "variance", "var_samp", "var_pop", "json_agg", "jsonb_agg",
        "json_object_agg", "jsonb_object_agg", "percentile_cont", "percentile_disc", "mode", "array_agg",
    ]
}
