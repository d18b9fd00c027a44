// The grammar of INSERT (with ON CONFLICT), UPDATE and DELETE, and RETURNING lists.

import BorealisStorage

extension Parser {
    mutating func parseInsert() throws -> Statement {
        _ = acceptKeyword("or") // INSERT OR … is SQLite's; reject below
        try expectKeyword("into")
        let table = try qualifiedName("table name")
        // INSERT INTO t AS x: ON CONFLICT and RETURNING may name the target x.
        var alias: String?
        if acceptKeyword("as") { alias = try identifier("alias") }
        var columns: [String]?
        if peek.kind == .op("(") && !(isKeyword("select", at: 1) || isKeyword("with", at: 1) || isKeyword("values", at: 1)) {
            columns = try parseNameList()
        }
        let overriding = try parseOverriding()
        let source: InsertSource
        if acceptKeyword("default") {
            try expectKeyword("values")
            source = .defaultValues
        } else if acceptKeyword("values") {
            var rows: [[Expr?]] = []
            repeat {
                try expect("(")
                var row: [Expr?] = []
                repeat {
                    if acceptKeyword("default") { row.append(nil) } else { row.append(try parseExpr()) }
                } while accept(.op(","))
                try expect(")")
                rows.append(row)
            } while accept(.op(","))
            source = .values(rows)
        } else {
            source = .select(try parseSelect())
        }
        var onConflict: OnConflict?
        if acceptKeyword("on") {
            try expectKeyword("conflict")
            var target: [String] = []
            var constraint: String?
            if peek.kind == .op("(") {
                target = try parseNameList()
            } else if acceptKeyword("on") {
                try expectKeyword("constraint")
                constraint = try identifier("constraint name")
            }
            // ON CONFLICT (columns) WHERE predicate: a partial unique index may be the arbiter.
            let indexPredicate = !target.isEmpty && acceptKeyword("where") ? try parseExpr() : nil
            try expectKeyword("do")
            if acceptKeyword("nothing") {
                onConflict = OnConflict(columns: target, assignments: nil, filter: nil, constraint: constraint, indexPredicate: indexPredicate)
            } else {
                try expectKeyword("update")
                try expectKeyword("set")
                var assignments = try parseAssignments()
                var filter: Expr?
                if acceptKeyword("where") { filter = try parseExpr() }
                if let alias {
                    assignments = assignments.map { ($0.0, Parser.renamingTable($0.1, from: alias, to: table)) }
                    filter = filter.map { Parser.renamingTable($0, from: alias, to: table) }
                }
                onConflict = OnConflict(columns: target, assignments: assignments, filter: filter, constraint: constraint,
                                        indexPredicate: indexPredicate)
            }
        }
        var returning = try parseReturning()
        if let alias {
            returning = returning.map { item in
                switch item {
                case .expression(let e, let name): return .expression(Parser.renamingTable(e, from: alias, to: table), alias: name)
                case .star(alias?): return .star(table: table)
                default: return item
                }
            }
        }
        return .insert(table: table, columns: columns, source: source, onConflict: onConflict, returning: returning,
                       overriding: overriding)
    }

    /// `e` with its references to `alias.column` made `table.column`.
    static func renamingTable(_ e: Expr, from alias: String, to table: String) -> Expr {
        e.mappingColumns { t, n in .column(table: t == alias ? table : t, name: n) }
    }

    mutating func parseReturning() throws -> [SelectItem] {
        guard acceptKeyword("returning") else { return [] }
        return try parseSelectItems()
    }

    mutating func parseUpdate() throws -> Statement {
        let table = try qualifiedName("table name")
        let alias = try parseAlias()
        try expectKeyword("set")
        let assignments = try parseAssignments()
        var from: [FromItem] = []
        if acceptKeyword("from") {
            repeat { from.append(try parseFromItem()) } while accept(.op(","))
        }
        var filter: Expr?
        if acceptKeyword("where") { filter = try parseExpr() }
        return .update(table: table, alias: alias, assignments: assignments, from: from, filter: filter, returning: try parseReturning())
    }

    mutating func parseAssignments() throws -> [(String, Expr)] {
        var assignments: [(String, Expr)] = []
        repeat {
            // SET (a, b) = (1, DEFAULT) | ROW(…): one assignment per column.
            if accept(.op("(")) {
                var columns: [String] = []
                repeat { columns.append(try anyName("column name")) } while accept(.op(","))
                try expect(")")
                try expect("=")
                _ = acceptKeyword("row")
                guard accept(.op("(")) else { throw error("expected a parenthesized list of values") }
                if isKeyword("select") || isKeyword("with") {
                    throw DatabaseError(.error, sqlState: SQLState.featureNotSupported, "SET (…) = (SELECT …) is not supported yet")
                }
                var values: [Expr] = []
                repeat { values.append(acceptKeyword("default") ? .defaultValue : try parseExpr()) } while accept(.op(","))
                try expect(")")
                guard values.count == columns.count else {
                    throw DatabaseError(.error, sqlState: SQLState.syntaxError,
                                        "number of columns does not match number of values")
                }
                assignments += zip(columns, values).map { ($0, $1) }
                continue
            }
            var column = try anyName("column name")
            if accept(.op(".")) { column = try anyName("column name") }
            var subscripts: [Expr] = []
            while accept(.op("[")) {
                // SET a[i] = v: the column becomes the array with that element replaced.
                subscripts.append(try parseExpr())
                try expect("]")
            }
            try expect("=")
            if !subscripts.isEmpty {
                let value = try parseExpr()
                assignments.append((column, .function(name: ArrayValue.assignFunction, args: [.column(table: nil, name: column), value] + subscripts,
                                                      distinct: false, star: false)))
            } else if acceptKeyword("default") {
                assignments.append((column, .defaultValue))
            } else {
                assignments.append((column, try parseExpr()))
            }
        } while accept(.op(","))
        return assignments
    }

    mutating func parseDelete() throws -> Statement {
        try expectKeyword("from")
        let table = try qualifiedName("table name")
        let alias = try parseAlias()
        var using: [FromItem] = []
        if acceptKeyword("using") {
            repeat { using.append(try parseFromItem()) } while accept(.op(","))
        }
        var filter: Expr?
        if acceptKeyword("where") { filter = try parseExpr() }
        return .delete(table: table, alias: alias, using: using, filter: filter, returning: try parseReturning())
    }
}
