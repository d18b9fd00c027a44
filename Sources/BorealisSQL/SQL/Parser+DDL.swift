// The DDL grammar: CREATE and DROP of tables, indexes and views, column definitions,
// constraints, type names and ALTER TABLE.

import BorealisStorage

extension Parser {
    /// ALTER SEQUENCE or ALTER TABLE, after ALTER.
    mutating func parseAlter() throws -> Statement {
        if acceptKeyword("sequence") { return try parseAlterSequence() }
        try expectKeyword("table")
        _ = acceptKeyword("if") ? (try? expectKeyword("exists")) != nil : false
        let name = try qualifiedName("table name")
        if acceptKeyword("add") {
            if let constraint = try parseTableConstraint() { return .alterTable(name: name, action: .addConstraint(constraint)) }
            _ = acceptKeyword("column")
            let ifNotExists = try parseIfNotExists()
            return .alterTable(name: name, action: .addColumn(try parseColumnDefinition(), ifNotExists: ifNotExists))
        }
        if acceptKeyword("drop") {
            _ = acceptKeyword("column")
            var ifExists = false
            if acceptKeyword("if") { try expectKeyword("exists"); ifExists = true }
            let column = try anyName("column name")
            _ = acceptKeyword("cascade") || acceptKeyword("restrict")
            return .alterTable(name: name, action: .dropColumn(column, ifExists: ifExists))
        }
        if acceptKeyword("rename") {
            if acceptKeyword("to") { return .alterTable(name: name, action: .renameTable(to: try identifier("new table name"))) }
            _ = acceptKeyword("column")
            let old = try anyName("column name")
            try expectKeyword("to")
            return .alterTable(name: name, action: .renameColumn(old, to: try anyName("column name")))
        }
        throw error("expected ADD, DROP or RENAME after ALTER TABLE")
    }

    mutating func parseCreate() throws -> Statement {
        let unique = acceptKeyword("unique")
        if acceptKeyword("index") {
            let ifNotExists = try parseIfNotExists()
            let name = try identifier("index name")
            try expectKeyword("on")
            let table = try qualifiedName("table name")
            try expect("(")
            var elements: [Expr] = []
            repeat {
                elements.append(try parseExpr())
                _ = acceptKeyword("asc") || acceptKeyword("desc")
            } while accept(.op(","))
            try expect(")")
            return .createIndex(name: name, table: table, elements: elements, unique: unique, ifNotExists: ifNotExists)
        }
        guard !unique else { throw error("expected INDEX after UNIQUE") }
        let scoped = acceptKeyword("local") || acceptKeyword("global")
        let temporary = acceptKeyword("temporary") || acceptKeyword("temp")
        if scoped && !temporary { throw error("expected TEMPORARY after LOCAL or GLOBAL") }
        if acceptKeyword("sequence") { return try parseCreateSequence(temporary: temporary) }
        if acceptKeyword("view") {
            let ifNotExists = try parseIfNotExists()
            let name = try qualifiedName("view name", creating: true)
            var columns: [String] = []
            if accept(.op("(")) {
                repeat { columns.append(try identifier("column name")) } while accept(.op(","))
                try expect(")")
            }
            try expectKeyword("as")
            let start = peek.position.offset
            let query = try parseSelect()
            let end = peek.kind == .end ? sql.utf8.count : peek.position.offset
            let text = String(decoding: Array(sql.utf8)[start..<end], as: UTF8.self)
            return .createView(name: name, ifNotExists: ifNotExists, columns: columns, query: query, sql: text, temporary: temporary)
        }
        try expectKeyword("table")
        let ifNotExists = try parseIfNotExists()
        let name = try qualifiedName("table name", creating: true)
        try expect("(")
        var columns: [ColumnDefinition] = []
        var constraints: [TableConstraint] = []
        repeat {
            if let constraint = try parseTableConstraint() {
                constraints.append(constraint)
            } else {
                columns.append(try parseColumnDefinition())
            }
        } while accept(.op(","))
        try expect(")")
        try skipStorageParameters()
        var onCommit: OnCommitAction?
        if acceptKeyword("on") {
            try expectKeyword("commit")
            if acceptKeyword("drop") {
                onCommit = .drop
            } else {
                onCommit = acceptKeyword("delete") ? .deleteRows : .preserveRows
                if onCommit == .preserveRows { try expectKeyword("preserve") }
                try expectKeyword("rows")
            }
        }
        return .createTable(name: name, ifNotExists: ifNotExists, columns: columns, constraints: constraints,
                            temporary: temporary, onCommit: onCommit)
    }

    mutating func parseReference() throws -> ForeignKeyReference {
        var reference = ForeignKeyReference(table: try qualifiedName("table name"), columns: [])
        if peek.kind == .op("(") { reference.columns = try parseNameList() }
        while acceptKeyword("on") {
            let isDelete = acceptKeyword("delete")
            if !isDelete { try expectKeyword("update") }
            let action: ReferentialAction
            if acceptKeyword("cascade") { action = .cascade }
            else if acceptKeyword("restrict") { action = .restrict }
            else if acceptKeyword("no") { try expectKeyword("action"); action = .noAction }
            else {
                try expectKeyword("set")
                if acceptKeyword("null") { action = .setNull } else { try expectKeyword("default"); action = .setDefault }
            }
            if isDelete { reference.onDelete = action } else { reference.onUpdate = action }
        }
        return reference
    }

    mutating func parseNameList() throws -> [String] {
        try expect("(")
        var names: [String] = []
        repeat { names.append(try identifier("column name")) } while accept(.op(","))
        try expect(")")
        return names
    }

    mutating func parseIfNotExists() throws -> Bool {
        if acceptKeyword("if") {
            try expectKeyword("not")
            try expectKeyword("exists")
            return true
        }
        return false
    }

    mutating func parseColumnDefinition() throws -> ColumnDefinition {
        let name = try anyName("column name")
        var column = ColumnDefinition(name: name, type: try parseTypeName())
        while true {
            if acceptKeyword("not") {
                try expectKeyword("null")
                column.notNull = true
            } else if acceptKeyword("null") {
                continue
            } else if acceptKeyword("primary") {
                try expectKeyword("key")
                column.primaryKey = true
                _ = acceptKeyword("asc") || acceptKeyword("desc")
                if acceptKeyword("autoincrement") { column.autoIncrement = true }
            } else if acceptKeyword("unique") {
                column.unique = true
            } else if acceptKeyword("default") {
                column.defaultValue = try parseUnary()
            } else if acceptKeyword("check") {
                try expect("(")
                column.check = try parseExpr()
                try expect(")")
            } else if acceptKeyword("references") {
                column.references = try parseReference()
            } else if acceptKeyword("generated") {
                (column.generated, column.identityOptions) = try parseIdentity()
            } else if acceptKeyword("auto_increment") || acceptKeyword("autoincrement") {
                column.autoIncrement = true
            } else if acceptKeyword("constraint") {
                _ = try identifier("constraint name")
            } else {
                break
            }
        }
        return column
    }

    /// A table constraint (`[CONSTRAINT name] PRIMARY KEY (…) | UNIQUE (…) | CHECK (…) |
    /// FOREIGN KEY (…) REFERENCES …`), or nil when the next words are a column definition.
    mutating func parseTableConstraint() throws -> TableConstraint? {
        guard isKeyword("constraint") || isKeyword("primary") || isKeyword("unique") || isKeyword("check") || isKeyword("foreign") else {
            return nil
        }
        var constraintName: String?
        if acceptKeyword("constraint") { constraintName = try identifier("constraint name") }
        if acceptKeyword("primary") {
            try expectKeyword("key")
            return .primaryKey(try parseNameList(), name: constraintName)
        }
        if acceptKeyword("unique") { return .unique(try parseNameList(), name: constraintName) }
        if acceptKeyword("check") {
            try expect("(")
            let e = try parseExpr()
            try expect(")")
            return .check(e, name: constraintName)
        }
        try expectKeyword("foreign")
        try expectKeyword("key")
        let columns = try parseNameList()
        try expectKeyword("references")
        return .foreignKey(columns, try parseReference(), name: constraintName)
    }

    mutating func parseTypeName() throws -> TypeName {
        var words = [try anyName("type name")]
        // Multi-word types.
        if words[0] == "double" && acceptKeyword("precision") { words = ["double precision"] }
        if words[0] == "character" && acceptKeyword("varying") { words = ["varchar"] }
        if words[0] == "timestamp" || words[0] == "time" {
            if acceptKeyword("with") { try expectKeyword("time"); try expectKeyword("zone"); words = [words[0] == "timestamp" ? "timestamptz" : "timetz"] }
            else if acceptKeyword("without") { try expectKeyword("time"); try expectKeyword("zone") }
        }
        if words[0] == "unsigned" || words[0] == "signed" { _ = acceptKeyword("integer") || acceptKeyword("int") }
        var type: TypeName
        switch words[0] {
        case "serial", "serial4": type = TypeName(type: .integer, serial: true)
        case "bigserial", "serial8": type = TypeName(type: .bigint, serial: true)
        case "smallserial", "serial2": type = TypeName(type: .smallint, serial: true)
        default:
            guard let known = SQLType(spelling: words[0]) else {
                throw DatabaseError(.error, sqlState: SQLState.undefinedObject, "type \"\(words[0])\" does not exist")
            }
            type = TypeName(type: known)
        }
        if accept(.op("(")) {
            repeat {
                guard case .integer(let n) = peek.kind, let value = Int(n) else { throw error("expected a type modifier") }
                _ = advance()
                type.modifiers.append(value)
            } while accept(.op(","))
            try expect(")")
        }
        // int[], int[3][3], int ARRAY, int ARRAY[3]: an array of the type (bounds are not kept,
        // as PostgreSQL keeps none).
        var isArray = false
        while accept(.op("[")) {
            if case .integer = peek.kind { _ = advance() }
            try expect("]")
            isArray = true
        }
        if acceptKeyword("array") {
            isArray = true
            if accept(.op("[")) {
                if case .integer = peek.kind { _ = advance() }
                try expect("]")
            }
        }
        if isArray {
            guard !type.serial, let array = type.type.arrayType else {
                throw DatabaseError(.error, sqlState: SQLState.undefinedObject, "type \"\(type.name)[]\" does not exist")
            }
            type = TypeName(type: array)
        }
        return type
    }

    mutating func parseDrop() throws -> Statement {
        let kind = try anyName("TABLE, INDEX or VIEW")
        var ifExists = false
        if acceptKeyword("if") {
            try expectKeyword("exists")
            ifExists = true
        }
        var names: [String] = []
        repeat { names.append(try qualifiedName("name")) } while accept(.op(","))
        let cascade = acceptKeyword("cascade")
        if !cascade { _ = acceptKeyword("restrict") }
        switch kind {
        case "sequence": return .sequence(.drop(names: names, ifExists: ifExists, cascade: cascade))
        case "table": return .dropTable(names: names, ifExists: ifExists)
        case "index": return .dropIndex(names: names, ifExists: ifExists)
        case "view": return .dropView(names: names, ifExists: ifExists)
        default: throw error("expected TABLE, INDEX, VIEW or SEQUENCE after DROP")
        }
    }
}
