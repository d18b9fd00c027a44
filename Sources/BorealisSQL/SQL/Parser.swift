// A hand-written recursive-descent parser for Borealis SQL (docs/sql.md). Errors are
// SQLSTATE 42601 and name the line, the column and the token found.
//
// At ~1,200 lines it is the whole grammar in one type, whose productions call each other
// across statement kinds (expressions everywhere, SELECT inside DDL and DML). It is due to be
// split by statement family (queries, DDL, DML, expressions) as extensions when issue 17
// grows the grammar.
//
// Expression precedence, lowest first (PostgreSQL's): OR · AND · NOT · IS · comparison ·
// BETWEEN/IN/LIKE · || · + - · * / % · unary + - · :: · primary.

import BorealisStorage

package struct Parser {
    private var tokens: [Token]
    private var index = 0
    private var nextParameter = 1
    /// The number given to each named parameter (`:name`, `@name`) of the statement.
    private var parameterNumbers: [String: Int] = [:]
    /// How deep the production being parsed nests: each parenthesis, subquery, function
    /// argument, unary operator and each operator of a chain (`1+1+…`, `a OR b OR …`, UNION
    /// branches, joins) is a level, so the syntax tree is never deeper than this counts.
    private var depth = 0
    /// How many `OVER w` / `OVER (w …)` the parser has read: a select list is searched for them
    /// only when its own parsing added some.
    private var namedWindowReferences = 0
    let sql: String

    init(_ sql: String) throws {
        self.sql = sql
        tokens = try Lexer.tokenize(sql)
    }

    /// One statement of a SQL string: its syntax tree, its text, how many parameters it takes.
    package struct Parsed {
        package var statement: Statement
        package var text: String
        package var parameterCount: Int
        /// The name of each parameter (`:name`, `@name`), by number − 1; nil for `$n` and `?`.
        package var parameterNames: [String?] = []
    }

    /// Parses the first statement of `sql`; returns nil when `sql` holds no statement, and the
    /// text after the statement (the tail, for the next call).
    package static func parseFirst(_ sql: String) throws -> (Parsed, tail: String)? {
        var parser = try Parser(sql)
        while parser.accept(.op(";")) {}
        if parser.peek.kind == .end { return nil }
        let start = parser.peek.position.offset
        let statement = try parser.parseStatement()
        let bytes = Array(sql.utf8)
        let end = parser.peek.kind == .end ? bytes.count : parser.peek.position.offset
        if parser.peek.kind != .end && !parser.accept(.op(";")) {
            throw parser.error("expected ; or end of input")
        }
        let tailStart = parser.peek.kind == .end ? bytes.count : parser.peek.position.offset
        let text = String(decoding: bytes[start..<end], as: UTF8.self)
        var names = [String?](repeating: nil, count: parser.nextParameter - 1)
        for (name, number) in parser.parameterNumbers { names[number - 1] = name }
        return (Parsed(statement: statement, text: text, parameterCount: parser.nextParameter - 1, parameterNames: names),
                String(decoding: bytes[tailStart...], as: UTF8.self))
    }

    /// Parses every statement of `sql` (separated by semicolons), with each statement's text.
    package static func parseAll(_ sql: String) throws -> [(Statement, String)] {
        var parser = try Parser(sql)
        var statements: [(Statement, String)] = []
        while true {
            while parser.accept(.op(";")) {}
            if parser.peek.kind == .end { break }
            let start = parser.peek.position.offset
            parser.nextParameter = 1
            parser.parameterNumbers = [:]
            let statement = try parser.parseStatement()
            let end = parser.peek.kind == .end ? sql.utf8.count : parser.peek.position.offset
            let text = String(decoding: Array(sql.utf8)[start..<end], as: UTF8.self)
            statements.append((statement, text))
            if parser.peek.kind != .end && !parser.accept(.op(";")) {
                throw parser.error("expected ; or end of input")
            }
        }
        return statements
    }

    // MARK: Nesting

    /// One level deeper: 54001 past Limits.maxNestingDepth, or when the thread's stack runs low.
    private mutating func descend() throws {
        depth += 1
        if depth > Limits.maxNestingDepth { throw Limits.tooComplex() }
        // The tree will be walked on this thread at this depth: keep room for it.
        try StackGuard.check(reserving: depth * StackGuard.bytesPerLevel)
    }

    // MARK: Token helpers

    var peek: Token { tokens[index] }
    func peekAt(_ n: Int) -> Token { tokens[min(index + n, tokens.count - 1)] }

    mutating func advance() -> Token {
        let t = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return t
    }

    mutating func accept(_ kind: TokenKind) -> Bool {
        if peek.kind == kind { _ = advance(); return true }
        return false
    }

    func isKeyword(_ word: String) -> Bool {
        if case .identifier(let w) = peek.kind { return w == word }
        return false
    }

    func isKeyword(_ word: String, at n: Int) -> Bool {
        if case .identifier(let w) = peekAt(n).kind { return w == word }
        return false
    }

    /// EXPLAIN [ANALYZE] [VERBOSE] statement, or EXPLAIN (option [value], …) statement.
    private mutating func parseExplain() throws -> Statement {
        let options: Set<String> = ["analyze", "verbose", "costs", "buffers", "timing", "summary", "format", "settings", "wal"]
        var analyze = false
        if peek.kind == .op("("), options.contains(where: { isKeyword($0, at: 1) }) {
            _ = advance()
            repeat {
                let option = try identifier("EXPLAIN option")
                guard options.contains(option) else {
                    throw DatabaseError(.error, sqlState: SQLState.syntaxError, "unrecognized EXPLAIN option \"\(option)\"")
                }
                var enabled = true
                if option == "format" {
                    let format = try identifier("EXPLAIN format")
                    guard format == "text" else {
                        throw DatabaseError(.error, sqlState: SQLState.featureNotSupported, "EXPLAIN format \"\(format)\" is not supported (only TEXT)")
                    }
                } else if acceptKeyword("false") || acceptKeyword("off") || accept(.integer("0")) {
                    enabled = false
                } else {
                    _ = acceptKeyword("true") || acceptKeyword("on") || accept(.integer("1"))
                }
                if option == "analyze" { analyze = enabled }
            } while accept(.op(","))
            try expect(")")
        } else {
            analyze = acceptKeyword("analyze")
            _ = acceptKeyword("verbose")
        }
        return .explain(try parseStatement(), analyze: analyze)
    }

    mutating func acceptKeyword(_ word: String) -> Bool {
        if isKeyword(word) { _ = advance(); return true }
        return false
    }

    mutating func expectKeyword(_ word: String) throws {
        guard acceptKeyword(word) else { throw error("expected \(word.uppercased())") }
    }

    mutating func expect(_ op: String) throws {
        guard accept(.op(op)) else { throw error("expected \"\(op)\"") }
    }

    func error(_ message: String) -> DatabaseError {
        DatabaseError(.error, sqlState: SQLState.syntaxError, "syntax error at \(peek.position): \(message), found \(peek.describe)")
    }

    /// Words that end an expression or a clause and cannot be bare aliases.
    static let reserved: Set<String> = [
        "select", "from", "where", "group", "having", "order", "limit", "offset", "union", "intersect", "except",
        "join", "inner", "left", "right", "full", "cross", "natural", "on", "using", "as", "and", "or", "not",
        "is", "in", "between", "like", "ilike", "case", "when", "then", "else", "end", "null", "true", "false",
        "values", "set", "returning", "into", "default", "distinct", "all", "with", "asc", "desc", "nulls",
        "window", "for", "fetch", "outer", "by", "create", "table", "insert", "update", "delete", "exists",
        "primary", "references", "check", "unique", "constraint", "collate", "escape", "similar", "over", "filter",
    ]

    /// An identifier (unquoted words that are not reserved, or quoted ones).
    mutating func identifier(_ what: String = "identifier") throws -> String {
        switch peek.kind {
        case .identifier(let w) where !Parser.reserved.contains(w):
            _ = advance()
            return w
        case .quotedIdentifier(let w):
            _ = advance()
            return w
        default:
            throw error("expected \(what)")
        }
    }

    /// A relation's name, perhaps qualified by its schema: `public.t` is `t` (every relation is
    /// in schema public, temporary ones in pg_temp); `information_schema.tables` keeps its
    /// schema (InformationSchema.swift); any other schema is 3F000, as PostgreSQL answers for a
    /// schema that does not exist.
    mutating func qualifiedName(_ what: String = "table name", creating: Bool = false) throws -> String {
        let first = try identifier(what)
        guard peek.kind == .op("."), peekAt(1).kind != .op("*") else { return first }
        switch peekAt(1).kind {
        case .identifier, .quotedIdentifier: break
        default: return first
        }
        _ = advance()
        let second = try identifier(what)
        switch first {
        case "public", "pg_temp": return second
        case "information_schema": return first + "." + second
        case "pg_catalog": return second
        default:
            // As PostgreSQL: creating in a missing schema names the schema, reading the relation.
            if creating { throw DatabaseError(.error, sqlState: SQLState.invalidSchemaName, "schema \"\(first)\" does not exist") }
            throw DatabaseError(.error, sqlState: SQLState.undefinedTable, "relation \"\(first).\(second)\" does not exist")
        }
    }

    /// An optional alias: `AS name`, or a bare name that is not a reserved word. With
    /// `anyWordAfterAs` (column aliases), any word may follow AS (`count(*) AS count`).
    mutating func parseAlias(anyWordAfterAs: Bool = false) throws -> String? {
        if acceptKeyword("as") { return anyWordAfterAs ? try anyName("alias") : try identifier("alias") }
        switch peek.kind {
        case .identifier(let w) where !Parser.reserved.contains(w): return try identifier("alias")
        case .quotedIdentifier: return try identifier("alias")
        default: return nil
        }
    }

    /// A name that may be a keyword (after AS, or for columns in DDL).
    mutating func anyName(_ what: String = "name") throws -> String {
        switch peek.kind {
        case .identifier(let w):
            _ = advance()
            return w
        case .quotedIdentifier(let w):
            _ = advance()
            return w
        default:
            throw error("expected \(what)")
        }
    }

    // MARK: Statements

    mutating func parseStatement() throws -> Statement {
        if isKeyword("select") || isKeyword("with") || isKeyword("values") || peek.kind == .op("(") {
            return .select(try parseSelect())
        }
        if acceptKeyword("explain") { return try parseExplain() }
        if let session = try parseSessionStatement() { return session }
        if acceptKeyword("truncate") {
            _ = acceptKeyword("table")
            var names: [String] = []
            repeat { names.append(try qualifiedName("table name")) } while accept(.op(","))
            var restartIdentity = false
            if acceptKeyword("restart") {
                try expectKeyword("identity")
                restartIdentity = true
            } else if acceptKeyword("continue") {
                try expectKeyword("identity")
            }
            _ = acceptKeyword("cascade") || acceptKeyword("restrict")
            return .truncate(names: names, restartIdentity: restartIdentity)
        }
        if acceptKeyword("analyze") || acceptKeyword("analyse") {
            // ANALYZE [VERBOSE] [table [(column, …)] [, …]]: a column list is checked, and every
            // column analyzed.
            _ = acceptKeyword("verbose")
            var names: [String] = []
            var columns: [[String]] = []
            if case .identifier = peek.kind {
                repeat {
                    names.append(try qualifiedName("table name"))
                    var listed: [String] = []
                    if accept(.op("(")) {
                        repeat { listed.append(try anyName("column name")) } while accept(.op(","))
                        try expect(")")
                    }
                    columns.append(listed)
                } while accept(.op(","))
            }
            return .analyze(names: names, columns: columns)
        }
        if acceptKeyword("alter") {
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
        if acceptKeyword("create") { return try parseCreate() }
        if acceptKeyword("drop") { return try parseDrop() }
        if acceptKeyword("insert") { return try parseInsert() }
        if acceptKeyword("replace") { throw error("REPLACE is not supported; use INSERT … ON CONFLICT") }
        if acceptKeyword("update") { return try parseUpdate() }
        if acceptKeyword("delete") { return try parseDelete() }
        if acceptKeyword("begin") || acceptKeyword("start") {
            _ = acceptKeyword("transaction") || acceptKeyword("work")
            let immediate = acceptKeyword("immediate") || acceptKeyword("write") || acceptKeyword("exclusive")
            _ = acceptKeyword("deferred")
            return .begin(immediate: immediate, readOnly: try parseTransactionModes())
        }
        if acceptKeyword("commit") || acceptKeyword("end") {
            _ = acceptKeyword("transaction") || acceptKeyword("work")
            return .commit
        }
        if acceptKeyword("rollback") || acceptKeyword("abort") {
            _ = acceptKeyword("transaction") || acceptKeyword("work")
            if acceptKeyword("to") {
                _ = acceptKeyword("savepoint")
                return .rollbackToSavepoint(try identifier("savepoint name"))
            }
            return .rollback
        }
        if acceptKeyword("savepoint") { return .savepoint(try identifier("savepoint name")) }
        if acceptKeyword("release") {
            _ = acceptKeyword("savepoint")
            return .releaseSavepoint(try identifier("savepoint name"))
        }
        throw error("expected a statement")
    }

    /// PostgreSQL's transaction modes after BEGIN: `ISOLATION LEVEL …` (every level runs as
    /// snapshot isolation with one writer, which is serializable), `READ ONLY`/`READ WRITE`,
    /// `[NOT] DEFERRABLE`, separated by commas or spaces. Returns whether READ ONLY was asked for.
    mutating func parseTransactionModes() throws -> Bool {
        var readOnly = false
        while true {
            if acceptKeyword("isolation") {
                try expectKeyword("level")
                if acceptKeyword("serializable") {
                } else if acceptKeyword("repeatable") {
                    try expectKeyword("read")
                } else if acceptKeyword("read") {
                    guard acceptKeyword("committed") || acceptKeyword("uncommitted") else { throw error("expected an isolation level") }
                } else {
                    throw error("expected an isolation level")
                }
            } else if acceptKeyword("read") {
                if acceptKeyword("only") { readOnly = true } else if acceptKeyword("write") { readOnly = false } else {
                    throw error("expected ONLY or WRITE after READ")
                }
            } else if acceptKeyword("not") {
                try expectKeyword("deferrable")
            } else if !acceptKeyword("deferrable") {
                return readOnly
            }
            _ = accept(.op(","))
        }
    }

    private mutating func parseCreate() throws -> Statement {
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

    private mutating func parseReference() throws -> ForeignKeyReference {
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

    private mutating func parseNameList() throws -> [String] {
        try expect("(")
        var names: [String] = []
        repeat { names.append(try identifier("column name")) } while accept(.op(","))
        try expect(")")
        return names
    }

    private mutating func parseIfNotExists() throws -> Bool {
        if acceptKeyword("if") {
            try expectKeyword("not")
            try expectKeyword("exists")
            return true
        }
        return false
    }

    private mutating func parseColumnDefinition() throws -> ColumnDefinition {
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
        return type
    }

    private mutating func parseDrop() throws -> Statement {
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

    private mutating func parseInsert() throws -> Statement {
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

    private mutating func parseReturning() throws -> [SelectItem] {
        guard acceptKeyword("returning") else { return [] }
        return try parseSelectItems()
    }

    private mutating func parseUpdate() throws -> Statement {
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

    private mutating func parseAssignments() throws -> [(String, Expr)] {
        var assignments: [(String, Expr)] = []
        repeat {
            var column = try anyName("column name")
            if accept(.op(".")) { column = try anyName("column name") }
            try expect("=")
            if acceptKeyword("default") {
                assignments.append((column, .defaultValue))
            } else {
                assignments.append((column, try parseExpr()))
            }
        } while accept(.op(","))
        return assignments
    }

    private mutating func parseDelete() throws -> Statement {
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

    // MARK: SELECT

    mutating func parseSelect() throws -> SelectStatement {
        try descend()
        defer { depth -= 1 }
        var with: [CommonTableExpression] = []
        var recursive = false
        if acceptKeyword("with") {
            recursive = acceptKeyword("recursive")
            repeat {
                let name = try identifier("CTE name")
                var columns: [String] = []
                if peek.kind == .op("(") { columns = try parseNameList() }
                try expectKeyword("as")
                try expect("(")
                let query = try parseSelect()
                try expect(")")
                with.append(CommonTableExpression(name: name, columns: columns, query: query))
            } while accept(.op(","))
        }
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
                    throw DatabaseError(.error, sqlState: SQLState.featureNotSupported, "FETCH … WITH TIES is not supported yet")
                }
                try expectKeyword("only")
            } else {
                return statement
            }
        }
    }

    /// The items after ORDER: `BY expr [ASC|DESC] [NULLS FIRST|LAST], …`.
    private mutating func parseOrderBy() throws -> [OrderItem] {
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

    private mutating func parseSetExpression() throws -> SelectBody {
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
    private mutating func parseSetTerm() throws -> SelectBody {
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

    private mutating func parseSetPrimary() throws -> SelectBody {
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
        if acceptKeyword("from") {
            repeat { core.from.append(try parseFromItem()) } while accept(.op(","))
        }
        if acceptKeyword("where") { core.filter = try parseExpr() }
        if acceptKeyword("group") {
            try expectKeyword("by")
            repeat { core.groupBy.append(try parseExpr()) } while accept(.op(","))
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
        return .core(core)
    }

    /// `e` with each `OVER w` / `OVER (w …)` replaced by the window it names.
    private static func resolvingWindows(_ e: Expr, _ named: [String: WindowSpec]) throws -> Expr {
        try e.rewriting { sub in
            guard case .window(let call, let spec) = sub, let base = spec.base else { return nil }
            return .window(call, try resolvedWindow(spec, base: named[base], name: base))
        }
    }

    /// A window written over a named one: it takes the named one's partitioning and ordering
    /// and may add an ordering (if the named one has none) and a frame, as PostgreSQL allows.
    private static func resolvedWindow(_ spec: WindowSpec, base: WindowSpec?, name: String) throws -> WindowSpec {
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

    private mutating func parseSelectItems() throws -> [SelectItem] {
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

    private mutating func parseFromItem() throws -> FromItem {
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

    private mutating func parseFromPrimary() throws -> FromItem {
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

    // MARK: Expressions

    mutating func parseExpr() throws -> Expr {
        try descend()
        defer { depth -= 1 }
        return try parseOr()
    }

    private mutating func parseOr() throws -> Expr {
        let outer = depth
        defer { depth = outer }
        var left = try parseAnd()
        while acceptKeyword("or") { try descend(); left = .binary(.or, left, try parseAnd()) }
        return left
    }

    private mutating func parseAnd() throws -> Expr {
        let outer = depth
        defer { depth = outer }
        var left = try parseNot()
        while acceptKeyword("and") { try descend(); left = .binary(.and, left, try parseNot()) }
        return left
    }

    private mutating func parseNot() throws -> Expr {
        if acceptKeyword("not") {
            try descend()
            defer { depth -= 1 }
            return .unary(.not, try parseNot())
        }
        return try parseIs()
    }

    private mutating func parseIs() throws -> Expr {
        let outer = depth
        defer { depth = outer }
        var left = try parseComparison()
        while true {
            if acceptKeyword("is") {
                try descend()
                let negated = acceptKeyword("not")
                if acceptKeyword("null") || acceptKeyword("unknown") { left = .isNull(left, negated: negated) }
                else if acceptKeyword("true") { left = .isBoolean(left, value: true, negated: negated) }
                else if acceptKeyword("false") { left = .isBoolean(left, value: false, negated: negated) }
                else if acceptKeyword("distinct") {
                    try expectKeyword("from")
                    left = .binary(negated ? .isNotDistinctFrom : .isDistinctFrom, left, try parseComparison())
                } else { throw error("expected NULL, TRUE, FALSE or DISTINCT FROM after IS") }
            } else if acceptKeyword("isnull") {
                try descend()
                left = .isNull(left, negated: false)
            } else if acceptKeyword("notnull") {
                try descend()
                left = .isNull(left, negated: true)
            } else {
                return left
            }
        }
    }

    private mutating func parseComparison() throws -> Expr {
        let outer = depth
        defer { depth = outer }
        var left = try parsePredicate()
        while true {
            let op: BinaryOperator
            switch peek.kind {
            case .op("="), .op("=="): op = .equal
            case .op("<>"), .op("!="): op = .notEqual
            case .op("<"): op = .less
            case .op("<="): op = .lessOrEqual
            case .op(">"): op = .greater
            case .op(">="): op = .greaterOrEqual
            default: return left
            }
            _ = advance()
            try descend()
            if (isKeyword("any") || isKeyword("some") || isKeyword("all")), case .op("(") = peekAt(1).kind {
                let all = isKeyword("all")
                _ = advance()
                try expect("(")
                let query = try parseSelect()
                try expect(")")
                left = .quantified(op, left, query, all: all)
                continue
            }
            left = .binary(op, left, try parsePredicate())
        }
    }

    private mutating func parsePredicate() throws -> Expr {
        let left = try parseConcat()
        let negated = isKeyword("not") && (isKeyword("between", at: 1) || isKeyword("in", at: 1) || isKeyword("like", at: 1)
            || isKeyword("ilike", at: 1) || isKeyword("similar", at: 1))
        if negated { _ = advance() }
        if acceptKeyword("between") {
            _ = acceptKeyword("symmetric")
            let low = try parseConcat()
            try expectKeyword("and")
            let high = try parseConcat()
            return .between(left, low: low, high: high, negated: negated)
        }
        if acceptKeyword("in") {
            try expect("(")
            if isKeyword("select") || isKeyword("with") || isKeyword("values") {
                let query = try parseSelect()
                try expect(")")
                return .inSubquery(left, query, negated: negated)
            }
            var list: [Expr] = []
            if peek.kind != .op(")") {
                repeat { list.append(try parseExpr()) } while accept(.op(","))
            }
            try expect(")")
            return .inList(left, list, negated: negated)
        }
        let caseInsensitive = isKeyword("ilike")
        if acceptKeyword("like") || acceptKeyword("ilike") {
            let pattern = try parseConcat()
            var escape: Expr?
            if acceptKeyword("escape") { escape = try parseConcat() }
            return .like(left, pattern: pattern, escape: escape, caseInsensitive: caseInsensitive, negated: negated)
        }
        if acceptKeyword("similar") {
            // As PostgreSQL rewrites it: a regular expression match against similar_to_escape(pattern).
            try expectKeyword("to")
            var args = [try parseConcat()]
            if acceptKeyword("escape") { args.append(try parseConcat()) }
            return .binary(negated ? .regexNotMatch : .regexMatch, left, .function(name: "similar_to_escape", args: args, distinct: false, star: false))
        }
        if negated { throw error("expected BETWEEN, IN, LIKE or SIMILAR TO after NOT") }
        return left
    }

    private mutating func parseConcat() throws -> Expr {
        let outer = depth
        defer { depth = outer }
        var left = try parseAdditive()
        while true {
            let op: BinaryOperator
            switch peek.kind {
            case .op("||"): op = .concat
            case .op("~"): op = .regexMatch
            case .op("~*"): op = .regexMatchInsensitive
            case .op("!~"): op = .regexNotMatch
            case .op("!~*"): op = .regexNotMatchInsensitive
            case .op("->"): op = .jsonGet
            case .op("->>"): op = .jsonGetText
            case .op("#>"): op = .jsonPath
            case .op("#>>"): op = .jsonPathText
            case .op("@>"): op = .jsonContains
            case .op("<@"): op = .jsonContainedBy
            // `?` where an operator belongs is jsonb's key test, not a parameter.
            case .parameter(nil): op = .jsonHasKey
            default: return left
            }
            _ = advance()
            try descend()
            left = .binary(op, left, try parseAdditive())
        }
    }

    private mutating func parseAdditive() throws -> Expr {
        let outer = depth
        defer { depth = outer }
        var left = try parseMultiplicative()
        while true {
            if accept(.op("+")) { try descend(); left = .binary(.add, left, try parseMultiplicative()) }
            else if accept(.op("-")) { try descend(); left = .binary(.subtract, left, try parseMultiplicative()) }
            else { return left }
        }
    }

    private mutating func parseMultiplicative() throws -> Expr {
        let outer = depth
        defer { depth = outer }
        var left = try parseUnary()
        while true {
            if accept(.op("*")) { try descend(); left = .binary(.multiply, left, try parseUnary()) }
            else if accept(.op("/")) { try descend(); left = .binary(.divide, left, try parseUnary()) }
            else if accept(.op("%")) { try descend(); left = .binary(.modulo, left, try parseUnary()) }
            else if acceptKeyword("div") { try descend(); left = .binary(.divide, left, try parseUnary()) }
            else if acceptKeyword("mod") { try descend(); left = .binary(.modulo, left, try parseUnary()) }
            else { return left }
        }
    }

    mutating func parseUnary() throws -> Expr {
        if accept(.op("-")) {
            // Fold negative numeric literals so that -9223372036854775808 is representable.
            if case .integer(let digits) = peek.kind {
                _ = advance()
                return try parsePostfix(try integerLiteral("-" + digits))
            }
            try descend()
            defer { depth -= 1 }
            return .unary(.negate, try parseUnary())
        }
        if accept(.op("+")) {
            try descend()
            defer { depth -= 1 }
            return .unary(.plus, try parseUnary())
        }
        return try parsePostfix(try parsePrimary())
    }

    private func integerLiteral(_ digits: String) throws -> Expr {
        if let v = Int64(digits) { return .literal(.integer(v)) }
        try Numeric.checkRepresentable(digits)
        if let n = Numeric(digits) { return .literal(.numeric(n)) }
        throw error("bad numeric literal")
    }

    private mutating func parsePostfix(_ base: Expr) throws -> Expr {
        let outer = depth
        defer { depth = outer }
        var e = base
        while accept(.op("::")) { try descend(); e = .cast(e, try parseTypeName()) }
        if acceptKeyword("collate") { _ = try anyName("collation") }
        return e
    }

    private mutating func parsePrimary() throws -> Expr {
        let token = peek
        switch token.kind {
        case .integer(let digits):
            _ = advance()
            return try integerLiteral(digits)
        case .decimal(let digits):
            _ = advance()
            // PostgreSQL: a literal with a point or an exponent is NUMERIC.
            try Numeric.checkRepresentable(digits)
            guard let n = Numeric(digits) else { throw error("bad numeric literal") }
            return .literal(.numeric(n))
        case .string(let s):
            _ = advance()
            return .literal(.text(s))
        case .blob(let b):
            _ = advance()
            return .literal(.blob(b))
        case .parameter(let n):
            _ = advance()
            if let n { nextParameter = max(nextParameter, n + 1); return .parameter(n) }
            defer { nextParameter += 1 }
            return .parameter(nextParameter)
        case .namedParameter(let name):
            _ = advance()
            if let number = parameterNumbers[name] { return .parameter(number) }
            parameterNumbers[name] = nextParameter
            defer { nextParameter += 1 }
            return .parameter(nextParameter)
        case .op("("):
            _ = advance()
            if isKeyword("select") || isKeyword("with") || isKeyword("values") {
                let query = try parseSelect()
                try expect(")")
                return .subquery(query)
            }
            let e = try parseExpr()
            try expect(")")
            return e
        case .quotedIdentifier:
            return try parseColumnReference()
        case .identifier(let word):
            switch word {
            case "null": _ = advance(); return .literal(.null)
            case "true": _ = advance(); return .literal(.boolean(true))
            case "false": _ = advance(); return .literal(.boolean(false))
            case "case": _ = advance(); return try parseCase()
            case "cast":
                _ = advance()
                try expect("(")
                let e = try parseExpr()
                try expectKeyword("as")
                let type = try parseTypeName()
                try expect(")")
                return .cast(e, type)
            case "exists":
                _ = advance()
                try expect("(")
                let query = try parseSelect()
                try expect(")")
                return .exists(query, negated: false)
            case "not":
                _ = advance()
                return .unary(.not, try parseNot())
            case _ where ["date", "time", "timestamp", "timestamptz", "interval"].contains(word) && isTypedLiteral():
                let type = try parseTypeName()
                guard case .string(let text) = peek.kind else { throw error("expected a quoted \(type.name) value") }
                _ = advance()
                return .cast(.literal(.text(text)), type)
            case "current_date", "current_timestamp", "current_time", "localtimestamp", "localtime",
                 "current_user", "session_user", "current_role", "current_catalog", "current_schema":
                if case .op("(") = peekAt(1).kind { return try parseFunction() }
                _ = advance()
                return .function(name: word, args: [], distinct: false, star: false)
            default:
                if case .op("(") = peekAt(1).kind { return try parseFunction() }
                if Parser.reserved.contains(word) { throw error("expected an expression") }
                return try parseColumnReference()
            }
        default:
            throw error("expected an expression")
        }
    }

    /// DATE '…', TIMESTAMP [WITH TIME ZONE] '…', INTERVAL '…' and friends.
    private func isTypedLiteral() -> Bool {
        if case .string = peekAt(1).kind { return true }
        return (isKeyword("timestamp") || isKeyword("time")) && (isKeyword("with", at: 1) || isKeyword("without", at: 1))
    }

    private mutating func parseColumnReference() throws -> Expr {
        let first = try anyName("column name")
        if accept(.op(".")) {
            let second = try anyName("column name")
            if accept(.op(".")) { return .column(table: second, name: try anyName("column name")) }
            return .column(table: first, name: second)
        }
        return .column(table: nil, name: first)
    }

    private mutating func parseFunction() throws -> Expr {
        let name = try anyName("function name")
        try expect("(")
        if name == "extract" {
            let field: String
            if case .string(let f) = peek.kind { _ = advance(); field = f.lowercased() } else { field = try anyName("field name") }
            try expectKeyword("from")
            let subject = try parseExpr()
            try expect(")")
            return .function(name: "date_part", args: [.literal(.text(field)), subject], distinct: false, star: false)
        }
        if name == "position" {
            let needle = try parseConcat()
            if acceptKeyword("in") {
                let haystack = try parseExpr()
                try expect(")")
                return .function(name: "strpos", args: [haystack, needle], distinct: false, star: false)
            }
            var args = [needle]
            while accept(.op(",")) { args.append(try parseExpr()) }
            try expect(")")
            return .function(name: name, args: args, distinct: false, star: false)
        }
        if name == "substring" || name == "substr" {
            let subject = try parseExpr()
            if isKeyword("from") || isKeyword("for") {
                var args = [subject]
                if acceptKeyword("from") { args.append(try parseExpr()) } else { args.append(.literal(.integer(1))) }
                if acceptKeyword("for") { args.append(try parseExpr()) }
                try expect(")")
                return .function(name: "substr", args: args, distinct: false, star: false)
            }
            var args = [subject]
            while accept(.op(",")) { args.append(try parseExpr()) }
            try expect(")")
            return .function(name: "substr", args: args, distinct: false, star: false)
        }
        if name == "trim" && (isKeyword("both") || isKeyword("leading") || isKeyword("trailing") || isKeyword("from")) {
            var function = "btrim"
            if acceptKeyword("leading") { function = "ltrim" } else if acceptKeyword("trailing") { function = "rtrim" } else { _ = acceptKeyword("both") }
            var characters: Expr?
            if !isKeyword("from") { characters = try parseExpr() }
            try expectKeyword("from")
            let subject = try parseExpr()
            try expect(")")
            return .function(name: function, args: [subject] + (characters.map { [$0] } ?? []), distinct: false, star: false)
        }
        var call: Expr
        if accept(.op("*")) {
            try expect(")")
            call = .function(name: name, args: [], distinct: false, star: true)
        } else {
            var distinct = false
            if acceptKeyword("distinct") { distinct = true } else { _ = acceptKeyword("all") }
            var args: [Expr] = []
            var named: [(String, Expr)] = []
            if peek.kind != .op(")") {
                repeat {
                    // Named notation: `name => value` (after any positional arguments).
                    if case .op("=>") = peekAt(1).kind {
                        let parameter = try anyName("parameter name")
                        _ = advance()
                        named.append((parameter, try parseExpr()))
                    } else {
                        guard named.isEmpty else { throw error("positional argument cannot follow named argument") }
                        args.append(try parseExpr())
                    }
                } while accept(.op(","))
            }
            if !named.isEmpty { args = try Self.positionalArguments(name, args, named) }
            var order: [OrderItem] = []
            if acceptKeyword("order") { order = try parseOrderBy() }
            try expect(")")
            call = .function(name: name, args: args, distinct: distinct, star: false)
            if !order.isEmpty { call = .orderedAggregate(call, order) }
        }
        if acceptKeyword("filter") {
            try expect("(")
            try expectKeyword("where")
            let condition = try parseExpr()
            try expect(")")
            call = .aggregateFilter(call, condition)
        }
        if acceptKeyword("over") {
            return .window(call, try parseWindowSpec())
        }
        return call
    }

    /// Named arguments in their positions, for the functions that name their parameters
    /// (make_interval; a missing one takes its default, 0).
    private static func positionalArguments(_ function: String, _ positional: [Expr], _ named: [(String, Expr)]) throws -> [Expr] {
        let parameters: [String: [String]] = ["make_interval": ["years", "months", "weeks", "days", "hours", "mins", "secs"]]
        guard let names = parameters[function] else {
            throw DatabaseError(.error, sqlState: SQLState.undefinedFunction,
                                "function \(function) with named arguments (\(named.map(\.0).joined(separator: ", "))) does not exist")
        }
        var args = positional + [Expr](repeating: .literal(.integer(0)), count: max(0, names.count - positional.count))
        var given = Set<String>()
        for (parameter, value) in named {
            guard given.insert(parameter).inserted else {
                throw DatabaseError(.error, sqlState: SQLState.syntaxError, "argument name \"\(parameter)\" used more than once")
            }
            guard let i = names.firstIndex(of: parameter), i >= positional.count else {
                throw DatabaseError(.error, sqlState: SQLState.undefinedFunction,
                                    "function \(function) has no parameter \"\(parameter)\" (or it is also given by position)")
            }
            args[i] = value
        }
        return args
    }

    private mutating func parseWindowSpec() throws -> WindowSpec {
        var spec = WindowSpec()
        if !accept(.op("(")) {
            spec.base = try identifier("window name")   // OVER w
            namedWindowReferences += 1
            return spec
        }
        if case .identifier(let word) = peek.kind, !["partition", "order", "rows", "range", "groups"].contains(word) {
            spec.base = try identifier("window name")
            namedWindowReferences += 1
        } else if case .quotedIdentifier = peek.kind {
            spec.base = try identifier("window name")
            namedWindowReferences += 1
        }
        if acceptKeyword("partition") {
            try expectKeyword("by")
            repeat { spec.partition.append(try parseExpr()) } while accept(.op(","))
        }
        if acceptKeyword("order") { spec.order = try parseOrderBy() }
        if isKeyword("rows") || isKeyword("range") {
            let rows = acceptKeyword("rows")
            if !rows { _ = advance() }
            var frame = WindowFrame(rows: rows, start: .unboundedPreceding, end: .currentRow)
            if acceptKeyword("between") {
                frame.start = try parseFrameBound()
                try expectKeyword("and")
                frame.end = try parseFrameBound()
            } else {
                frame.start = try parseFrameBound()
            }
            spec.frame = frame
        }
        try expect(")")
        return spec
    }

    private mutating func parseFrameBound() throws -> FrameBound {
        if acceptKeyword("unbounded") {
            if acceptKeyword("preceding") { return .unboundedPreceding }
            try expectKeyword("following")
            return .unboundedFollowing
        }
        if acceptKeyword("current") {
            try expectKeyword("row")
            return .currentRow
        }
        guard case .integer(let digits) = peek.kind, let n = Int(digits) else { throw error("expected a frame bound") }
        _ = advance()
        if acceptKeyword("preceding") { return .preceding(n) }
        try expectKeyword("following")
        return .following(n)
    }

    private mutating func parseCase() throws -> Expr {
        var base: Expr?
        if !isKeyword("when") { base = try parseExpr() }
        var whens: [(Expr, Expr)] = []
        while acceptKeyword("when") {
            let condition = try parseExpr()
            try expectKeyword("then")
            whens.append((condition, try parseExpr()))
        }
        guard !whens.isEmpty else { throw error("expected WHEN") }
        var otherwise: Expr?
        if acceptKeyword("else") { otherwise = try parseExpr() }
        try expectKeyword("end")
        return .caseWhen(base: base, whens: whens, otherwise: otherwise)
    }
}
