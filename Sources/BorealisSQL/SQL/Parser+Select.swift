// The query grammar: SELECT with its clauses, set operations, named windows, select lists
// and FROM items.

import BorealisStorage

extension Parser {
    // MARK: SELECT

    mutating func parseSelect() throws -> SelectStatement {
        try descend()
        defer { depth -= 1 }
        let (with, recursive) = try parseWithClause()
        return try parseSelect(with: with, recursive: recursive)
    }

    /// `WITH [RECURSIVE] name [(columns)] AS [[NOT] MATERIALIZED] (query | INSERT/UPDATE/DELETE
    /// … RETURNING …), …`, or nothing.
    mutating func parseWithClause() throws -> ([CommonTableExpression], recursive: Bool) {
        guard acceptKeyword("with") else { return ([], false) }
        var with: [CommonTableExpression] = []
        let recursive = acceptKeyword("recursive")
        repeat {
            let name = try identifier("CTE name")
            var columns: [String] = []
            if peek.kind == .op("(") { columns = try parseNameList() }
            try expectKeyword("as")
            if acceptKeyword("not") { try expectKeyword("materialized") } else { _ = acceptKeyword("materialized") }
            try expect("(")
            if isKeyword("insert") || isKeyword("update") || isKeyword("delete") {
                // A data-modifying statement: run once, before the query (DataModifyingCTE.swift).
                let statement = try parseStatement()
                try expect(")")
                with.append(CommonTableExpression(name: name, columns: columns, query: SelectStatement(body: .values([])),
                                                  modifying: statement))
                continue
            }
            let query = try parseSelect()
            try expect(")")
            with.append(CommonTableExpression(name: name, columns: columns, query: query))
        } while accept(.op(","))
        return (with, recursive)
    }

    /// The rest of a SELECT after its WITH clause.
    mutating func parseSelect(with: [CommonTableExpression], recursive: Bool) throws -> SelectStatement {
        var statement = SelectStatement(with: with, recursive: recursive, body: try parseSetExpression())
        if acceptKeyword("order") { statement.orderBy = try parseOrderBy() }
        // LIMIT, OFFSET n [ROW|ROWS] and the standard's FETCH {FIRST|NEXT} [n] {ROW|ROWS} ONLY,
        // in any order, each once.
        var sawLimit = false
        while true {
            if !sawLimit, acceptKeyword("limit") {
                sawLimit = true
                if acceptKeyword("all") { continue }
                let first = try parseExpr()
                if accept(.op(",")) {
                    // MySQL: LIMIT offset, count
                    statement.offset = first
                    statement.limit = try parseExpr()
                } else {
                    statement.limit = first
                }
            } else if statement.offset == nil, acceptKeyword("offset") {
                statement.offset = try parseExpr()
                _ = acceptKeyword("rows") || acceptKeyword("row")
            } else if statement.limit == nil, acceptKeyword("fetch") {
                if !acceptKeyword("first") { try expectKeyword("next") }
                statement.limit = isKeyword("row") || isKeyword("rows") ? .literal(.integer(1)) : try parseUnary()
                if !acceptKeyword("rows") { try expectKeyword("row") }
                if acceptKeyword("with") {
                    try expectKeyword("ties")
                    guard !statement.orderBy.isEmpty else {
                        throw DatabaseError(.error, sqlState: SQLState.syntaxError, "WITH TIES cannot be specified without ORDER BY clause")
                    }
                    statement.withTies = true
                } else {
                    try expectKeyword("only")
                }
            } else {
                return statement
            }
        }
    }

    /// The items after ORDER: `BY expr [ASC|DESC] [NULLS FIRST|LAST], …`.
    mutating func parseOrderBy() throws -> [OrderItem] {
        try expectKeyword("by")
        var items: [OrderItem] = []
        repeat {
            var item = OrderItem(expr: try parseExpr())
            if acceptKeyword("desc") { item.descending = true } else { _ = acceptKeyword("asc") }
            if acceptKeyword("nulls") {
                if acceptKeyword("first") { item.nullsFirst = true } else { try expectKeyword("last"); item.nullsFirst = false }
            }
            items.append(item)
        } while accept(.op(","))
        return items
    }

    mutating func parseSetExpression() throws -> SelectBody {
        let outer = depth
        defer { depth = outer }
        var left = try parseSetTerm()
        while true {
            let op: SetOperator
            if acceptKeyword("union") { op = .union }
            else if acceptKeyword("except") { op = .except }
            else { break }
            try descend()
            let all = acceptKeyword("all")
            if !all { _ = acceptKeyword("distinct") }
            left = .setOperation(op, all: all, left, try parseSetTerm())
        }
        return left
    }

    // INTERSECT binds tighter than UNION and EXCEPT.
    mutating func parseSetTerm() throws -> SelectBody {
        let outer = depth
        defer { depth = outer }
        var left = try parseSetPrimary()
        while acceptKeyword("intersect") {
            try descend()
            let all = acceptKeyword("all")
            if !all { _ = acceptKeyword("distinct") }
            left = .setOperation(.intersect, all: all, left, try parseSetPrimary())
        }
        return left
    }

    mutating func parseSetPrimary() throws -> SelectBody {
        if accept(.op("(")) {
            let inner = try parseSelect()
            try expect(")")
            return .nested(inner)
        }
        if acceptKeyword("values") {
            var rows: [[Expr]] = []
            repeat {
                try expect("(")
                var row: [Expr] = []
                repeat { row.append(try parseExpr()) } while accept(.op(","))
                try expect(")")
                rows.append(row)
            } while accept(.op(","))
            return .values(rows)
        }
        try expectKeyword("select")
        var core = SelectCore()
        var groupingSets: [[Expr]]?
        if acceptKeyword("distinct") {
            if acceptKeyword("on") {
                try expect("(")
                repeat { core.distinctOn.append(try parseExpr()) } while accept(.op(","))
                try expect(")")
            } else {
                core.distinct = true
            }
        } else {
            _ = acceptKeyword("all")
        }
        let windowReferencesBefore = namedWindowReferences
        core.items = try parseSelectItems()
        if acceptKeyword("into") { core.into = try parseSelectInto() }
        if acceptKeyword("from") {
            repeat { core.from.append(try parseFromItem()) } while accept(.op(","))
        }
        if acceptKeyword("where") { core.filter = try parseExpr() }
        if acceptKeyword("group") {
            try expectKeyword("by")
            var sets: [[Expr]] = [[]]
            var plain = true
            repeat {
                let element = try parseGroupingElement()
                if element.count != 1 { plain = false }
                // The sets of a list are the cross product of its elements' sets.
                sets = sets.flatMap { prefix in element.map { prefix + $0 } }
                if sets.count > 4096 { throw Limits.tooComplex() }
            } while accept(.op(","))
            if plain, let only = sets.first { core.groupBy = only } else { groupingSets = sets }
        }
        if acceptKeyword("having") { core.having = try parseExpr() }
        if acceptKeyword("window") {
            var named: [String: WindowSpec] = [:]
            repeat {
                let name = try identifier("window name")
                try expectKeyword("as")
                var spec = try parseWindowSpec()
                if let base = spec.base { spec = try Self.resolvedWindow(spec, base: named[base], name: base) }
                guard named.updateValue(spec, forKey: name) == nil else {
                    throw DatabaseError(.error, sqlState: SQLState.windowingError, "window \"\(name)\" is already defined")
                }
            } while accept(.op(","))
            core.items = try core.items.map { item in
                guard case .expression(let e, let alias) = item else { return item }
                return .expression(try Self.resolvingWindows(e, named), alias: alias)
            }
        } else if namedWindowReferences > windowReferencesBefore {
            core.items = try core.items.map { item in
                guard case .expression(let e, let alias) = item else { return item }
                return .expression(try Self.resolvingWindows(e, [:]), alias: alias)
            }
        }
        if let groupingSets { return try Self.expandingGroupingSets(core, groupingSets) }
        if !core.groupBy.isEmpty, core.items.contains(where: { if case .expression(let e, _) = $0 { return e.sql.contains("grouping(") } else { return false } }) {
            return try Self.expandingGroupingSets(core, [core.groupBy])
        }
        return .core(core)
    }

    /// `e` with each `OVER w` / `OVER (w …)` replaced by the window it names.
    static func resolvingWindows(_ e: Expr, _ named: [String: WindowSpec]) throws -> Expr {
        try e.rewriting { sub in
            guard case .window(let call, let spec) = sub, let base = spec.base else { return nil }
            return .window(call, try resolvedWindow(spec, base: named[base], name: base))
        }
    }

    /// A window written over a named one: it takes the named one's partitioning and ordering
    /// and may add an ordering (if the named one has none) and a frame, as PostgreSQL allows.
    static func resolvedWindow(_ spec: WindowSpec, base: WindowSpec?, name: String) throws -> WindowSpec {
        guard let base else { throw DatabaseError(.error, sqlState: SQLState.undefinedObject, "window \"\(name)\" does not exist") }
        if !spec.partition.isEmpty {
            throw DatabaseError(.error, sqlState: SQLState.windowingError, "cannot override PARTITION BY clause of window \"\(name)\"")
        }
        if !spec.order.isEmpty && !base.order.isEmpty {
            throw DatabaseError(.error, sqlState: SQLState.windowingError, "cannot override ORDER BY clause of window \"\(name)\"")
        }
        if base.frame != nil {
            throw DatabaseError(.error, sqlState: SQLState.windowingError, "cannot copy window \"\(name)\" because it has a frame clause")
        }
        var resolved = base
        if !spec.order.isEmpty { resolved.order = spec.order }
        resolved.frame = spec.frame
        return resolved
    }

    mutating func parseSelectItems() throws -> [SelectItem] {
        var items: [SelectItem] = []
        repeat {
            if accept(.op("*")) {
                items.append(.star(table: nil))
                continue
            }
            // table.*
            if case .op(".") = peekAt(1).kind, case .op("*") = peekAt(2).kind {
                let table = try anyName("table name")
                _ = advance(); _ = advance()
                items.append(.star(table: table))
                continue
            }
            let e = try parseExpr()
            items.append(.expression(e, alias: try parseAlias(anyWordAfterAs: true)))
        } while accept(.op(","))
        return items
    }

    mutating func parseFromItem() throws -> FromItem {
        let outer = depth
        defer { depth = outer }
        var left = try parseFromPrimary()
        while true {
            var kind: JoinKind
            var natural = false
            if acceptKeyword("natural") { natural = true }
            if acceptKeyword("cross") {
                try expectKeyword("join")
                kind = .cross
            } else if acceptKeyword("join") {
                kind = .inner
            } else if acceptKeyword("inner") {
                try expectKeyword("join")
                kind = .inner
            } else if acceptKeyword("left") {
                _ = acceptKeyword("outer")
                try expectKeyword("join")
                kind = .left
            } else if acceptKeyword("right") {
                _ = acceptKeyword("outer")
                try expectKeyword("join")
                kind = .right
            } else if acceptKeyword("full") {
                _ = acceptKeyword("outer")
                try expectKeyword("join")
                kind = .full
            } else {
                if natural { throw error("expected JOIN after NATURAL") }
                break
            }
            try descend()
            let right = try parseFromPrimary()
            var on: Expr?
            var using: [String] = []
            if kind != .cross && !natural {
                if acceptKeyword("on") { on = try parseExpr() }
                else if acceptKeyword("using") { using = try parseNameList() }
                else { throw error("expected ON or USING after JOIN") }
            }
            left = .join(left, right, kind: kind, on: on, using: using, natural: natural)
        }
        return left
    }

    mutating func parseFromPrimary() throws -> FromItem {
        // LATERAL: a function in FROM may use the items before it anyway (as in PostgreSQL);
        // a LATERAL subquery is planned like any other.
        _ = acceptKeyword("lateral")
        if accept(.op("(")) {
            if isKeyword("select") || isKeyword("with") || isKeyword("values") {
                let query = try parseSelect()
                try expect(")")
                _ = acceptKeyword("as")
                let alias = (try? identifier("alias")) ?? "subquery"
                var columns: [String] = []
                if peek.kind == .op("(") { columns = try parseNameList() }
                return .subquery(query, alias: alias, columns: columns)
            }
            try descend()
            defer { depth -= 1 }
            let inner = try parseFromItem()
            try expect(")")
            return inner
        }
        let name = try qualifiedName("table name")
        if peek.kind == .op("(") {
            _ = advance()
            var args: [Expr] = []
            if peek.kind != .op(")") {
                repeat { args.append(try parseExpr()) } while accept(.op(","))
            }
            try expect(")")
            var ordinality = false
            if acceptKeyword("with") {
                try expectKeyword("ordinality")
                ordinality = true
            }
            let alias = try parseAlias()
            var columns: [String] = []
            if alias != nil, peek.kind == .op("(") { columns = try parseNameList() }
            return .function(name: name, args: args, alias: alias, columns: columns, ordinality: ordinality)
        }
        return .table(name: name, alias: try parseAlias())
    }
}
