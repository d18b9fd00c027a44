// The grammar of INSERT (with ON CONFLICT), UPDATE and DELETE, and RETURNING lists.

import BorealisStorage

extension Parser {
    mutating func parseInsert() throws -> Statement {
        _ = acceptKeyword("or") // INSERT OR … is SQLite's; reject below
        try expectKeyword("into")
        let table = try qualifiedName("table name")
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
            if peek.kind == .op("(") { target = try parseNameList() }
            try expectKeyword("do")
            if acceptKeyword("nothing") {
                onConflict = OnConflict(columns: target, assignments: nil, filter: nil)
            } else {
                try expectKeyword("update")
                try expectKeyword("set")
                let assignments = try parseAssignments()
                var filter: Expr?
                if acceptKeyword("where") { filter = try parseExpr() }
                onConflict = OnConflict(columns: target, assignments: assignments, filter: filter)
            }
        }
        return .insert(table: table, columns: columns, source: source, onConflict: onConflict, returning: try parseReturning(),
                       overriding: overriding)
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
