// A hand-written recursive-descent parser for Borealis SQL (docs/sql.md). Errors are
// SQLSTATE 42601 and name the line, the column and the token found.
//
// The grammar is split by statement family into extensions: Parser+Select (queries),
// Parser+DDL, Parser+DML, Parser+Expressions, Parser+Functions, Parser+GroupingSets,
// Parser+Session, Parser+Sequence. This file holds
// the token helpers, names and the statement dispatch.
//
// Expression precedence, lowest first (PostgreSQL's): OR · AND · NOT · IS · comparison ·
// BETWEEN/IN/LIKE · || · + - · * / % · unary + - · :: · primary.

import BorealisStorage

package struct Parser {
    var tokens: [Token]
    var index = 0
    var nextParameter = 1
    /// The number given to each named parameter (`:name`, `@name`) of the statement.
    var parameterNumbers: [String: Int] = [:]
    /// How deep the production being parsed nests: each parenthesis, subquery, function
    /// argument, unary operator and each operator of a chain (`1+1+…`, `a OR b OR …`, UNION
    /// branches, joins) is a level, so the syntax tree is never deeper than this counts.
    var depth = 0
    /// How many `OVER w` / `OVER (w …)` the parser has read: a select list is searched for them
    /// only when its own parsing added some.
    var namedWindowReferences = 0
    let sql: String

    init(_ sql: String) throws {
        self.sql = sql
        tokens = Parser.unwrappingOperatorSyntax(try Lexer.tokenize(sql))
    }

    /// PostgreSQL's `OPERATOR(pg_catalog.~)` names the operator `~` (psql writes its pattern
    /// tests so): the tokens become that operator's own, which then parses at its usual place.
    private static func unwrappingOperatorSyntax(_ tokens: [Token]) -> [Token] {
        guard tokens.contains(where: { if case .identifier("operator") = $0.kind { return true } else { return false } }) else { return tokens }
        var out: [Token] = []
        var i = 0
        while i < tokens.count {
            if case .identifier("operator") = tokens[i].kind, i + 3 < tokens.count, tokens[i + 1].kind == .op("(") {
                var j = i + 2
                if case .identifier = tokens[j].kind, tokens[j + 1].kind == .op(".") { j += 2 }
                if j + 1 < tokens.count, case .op(let op) = tokens[j].kind, op != "(", op != ")", tokens[j + 1].kind == .op(")") {
                    out.append(tokens[j])
                    i = j + 2
                    continue
                }
            }
            out.append(tokens[i])
            i += 1
        }
        return out
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
    mutating func descend() throws {
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
    mutating func parseExplain() throws -> Statement {
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
        if isKeyword("with") {
            // WITH … SELECT, or WITH … INSERT … SELECT (the CTEs belong to the INSERT's query).
            let (with, recursive) = try parseWithClause()
            if acceptKeyword("insert") {
                var statement = try parseInsert()
                guard case .insert(let table, let columns, .select(var source), let onConflict, let returning, let overriding) = statement else {
                    throw DatabaseError(.error, sqlState: SQLState.featureNotSupported, "WITH … INSERT … VALUES is not supported yet; use INSERT … SELECT")
                }
                source.with = with + source.with
                source.recursive = source.recursive || recursive
                statement = .insert(table: table, columns: columns, source: .select(source), onConflict: onConflict, returning: returning,
                                    overriding: overriding)
                return statement
            }
            if isKeyword("update") || isKeyword("delete") { return try parseUpdateOrDelete(with: with, recursive: recursive) }
            try descend()
            defer { depth -= 1 }
            return try selectOrSelectInto(try parseSelect(with: with, recursive: recursive))
        }
        if isKeyword("select") || isKeyword("values") || peek.kind == .op("(") {
            return try selectOrSelectInto(try parseSelect())
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
        if acceptKeyword("alter") { return try parseAlter() }
        if acceptKeyword("create") { return try parseCreate() }
        if acceptKeyword("comment") { return try parseComment() }
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
}
