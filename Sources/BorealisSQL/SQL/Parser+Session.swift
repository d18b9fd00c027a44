// The session statements: SET, SHOW and RESET of configuration parameters, and VACUUM (which
// Borealis accepts as PostgreSQL tools send it: there is nothing to vacuum, and VACUUM ANALYZE
// gathers statistics). Their meaning is in SessionSettings.swift.

import BorealisStorage

extension Parser {
    /// SET, SHOW, RESET or VACUUM, or nil when the statement is none of them.
    mutating func parseSessionStatement() throws -> Statement? {
        if acceptKeyword("set") {
            var local = false
            if acceptKeyword("local") { local = true } else { _ = acceptKeyword("session") }
            if acceptKeyword("time") {
                try expectKeyword("zone")
                if acceptKeyword("local") || acceptKeyword("default") { return .set(name: "timezone", value: nil, local: local) }
                return .set(name: "timezone", value: try settingValue(), local: local)
            }
            // SET TRANSACTION modes: every level runs as snapshot isolation with one writer, so a
            // level is accepted for the block and changes nothing (SessionSettings).
            if isKeyword("transaction"), !(peekAt(1).kind == .op("=")), !isKeyword("to", at: 1) {
                _ = advance()
                if try parseTransactionModes() {
                    throw DatabaseError(.error, sqlState: SQLState.featureNotSupported,
                                        "SET TRANSACTION READ ONLY is not supported: begin the block with BEGIN READ ONLY")
                }
                return .set(name: "transaction_isolation", value: nil, local: true)
            }
            // SET SESSION CHARACTERISTICS AS TRANSACTION modes: the defaults of later blocks.
            if isKeyword("characteristics"), isKeyword("as", at: 1) {
                _ = advance(); _ = advance()
                try expectKeyword("transaction")
                if try parseTransactionModes() {
                    throw DatabaseError(.error, sqlState: SQLState.featureNotSupported,
                                        "read-only session defaults are not supported: begin each block with BEGIN READ ONLY")
                }
                return .set(name: "default_transaction_isolation", value: nil, local: false)
            }
            // SET NAMES 'encoding' and SET SCHEMA 'name': the standard's spellings.
            if isKeyword("names"), peekAt(1).kind != .op("="), !isKeyword("to", at: 1) {
                _ = advance()
                return .set(name: "client_encoding", value: acceptKeyword("default") ? nil : try settingValue(), local: local)
            }
            if isKeyword("schema"), peekAt(1).kind != .op("="), !isKeyword("to", at: 1) {
                _ = advance()
                return .set(name: "search_path", value: try settingValue(), local: local)
            }
            let name = try settingName()
            guard acceptKeyword("to") || accept(.op("=")) else { throw error("expected TO or = after SET \(name)") }
            if acceptKeyword("default") { return .set(name: name, value: nil, local: local) }
            var values = [try settingValue()]
            while accept(.op(",")) { values.append(try settingValue()) }
            return .set(name: name, value: values.joined(separator: ", "), local: local)
        }
        if isKeyword("describe") || (isKeyword("desc") && peekAt(1).kind != .end) {
            _ = advance()
            return try describeTable(try qualifiedName("table name"))
        }
        if acceptKeyword("show") {
            if let mysql = try parseMySQLShow() { return mysql }
            if acceptKeyword("all") { return .show(name: "all") }
            if acceptKeyword("time") {
                try expectKeyword("zone")
                return .show(name: "timezone")
            }
            return .show(name: try settingName())
        }
        if acceptKeyword("reset") {
            if acceptKeyword("all") { return .reset(name: "all") }
            if acceptKeyword("time") {
                try expectKeyword("zone")
                return .reset(name: "timezone")
            }
            return .reset(name: try settingName())
        }
        if acceptKeyword("vacuum") {
            var analyze = false
            if accept(.op("(")) {
                // VACUUM (option [value], …): ANALYZE among them gathers statistics.
                repeat {
                    let option = try anyName("VACUUM option")
                    if option == "analyze" { analyze = true }
                    if case .identifier(let w) = peek.kind, ["true", "false", "on", "off"].contains(w) { _ = advance() }
                    else if case .integer = peek.kind { _ = advance() }
                } while accept(.op(","))
                try expect(")")
            } else {
                for option in ["full", "freeze", "verbose"] { _ = acceptKeyword(option) }
                analyze = acceptKeyword("analyze") || acceptKeyword("analyse")
                _ = acceptKeyword("verbose")
            }
            var names: [String] = []
            if case .identifier = peek.kind {
                repeat { names.append(try qualifiedName("table name")) } while accept(.op(","))
            } else if case .quotedIdentifier = peek.kind {
                repeat { names.append(try qualifiedName("table name")) } while accept(.op(","))
            }
            return .vacuum(analyze: analyze, names: names)
        }
        return try parsePreparedStatementCommand()
    }

    /// MySQL's SHOW TABLES, SHOW [FULL] COLUMNS FROM t, SHOW DATABASES, as queries of
    /// information_schema; nil for PostgreSQL's SHOW of a setting.
    private mutating func parseMySQLShow() throws -> Statement? {
        if isKeyword("full") && (isKeyword("tables", at: 1) || isKeyword("columns", at: 1) || isKeyword("fields", at: 1)) { _ = advance() }
        if acceptKeyword("tables") {
            return try Parser.query("""
                SELECT table_name AS "Tables" FROM information_schema.tables
                WHERE table_schema IN ('public', 'pg_temp') ORDER BY 1
                """)
        }
        if acceptKeyword("databases") || acceptKeyword("schemas") {
            return try Parser.query("SELECT current_database() AS \"Database\"")
        }
        if acceptKeyword("columns") || acceptKeyword("fields") {
            guard acceptKeyword("from") || acceptKeyword("in") else { throw error("expected FROM after SHOW COLUMNS") }
            return try describeTable(try qualifiedName("table name"))
        }
        return nil
    }

    /// MySQL's DESCRIBE t: a row per column with its type, nullability, key, default and
    /// identity; 42P01 for a table that does not exist.
    private func describeTable(_ name: String) throws -> Statement {
        let literal = "'" + name.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "''") + "'"
        return try Parser.query("""
            SELECT c.column_name AS "Field", c.data_type AS "Type", c.is_nullable AS "Null",
              coalesce((SELECT CASE min(tc.constraint_type) WHEN 'PRIMARY KEY' THEN 'PRI' WHEN 'UNIQUE' THEN 'UNI' END
                        FROM information_schema.key_column_usage k JOIN information_schema.table_constraints tc
                          ON tc.constraint_name = k.constraint_name AND tc.table_name = k.table_name
                        WHERE k.table_name = c.table_name AND k.column_name = c.column_name
                          AND tc.constraint_type IN ('PRIMARY KEY', 'UNIQUE')), '') AS "Key",
              c.column_default AS "Default", CASE WHEN c.is_identity = 'YES' THEN 'auto_increment' ELSE '' END AS "Extra"
            FROM information_schema.columns c, (SELECT \(literal)::regclass) AS relation(oid)
            WHERE c.table_name = \(literal)
            ORDER BY c.ordinal_position
            """)
    }

    /// A query written in SQL, for the statements that are one (SHOW TABLES, DESCRIBE).
    private static func query(_ sql: String) throws -> Statement {
        var parser = try Parser(sql)
        return .select(try parser.parseSelect())
    }

    /// PREPARE name [(type, …)] AS statement, EXECUTE name [(argument, …)], DEALLOCATE
    /// [PREPARE] name | ALL: a connection's SQL-level prepared statements (Database+PreparedSQL).
    private mutating func parsePreparedStatementCommand() throws -> Statement? {
        if acceptKeyword("prepare") {
            if isKeyword("transaction") { throw DatabaseError(.error, sqlState: SQLState.featureNotSupported, "PREPARE TRANSACTION is not supported") }
            let name = try identifier("prepared statement name")
            var types: [TypeName] = []
            if accept(.op("(")) {
                repeat { types.append(try parseTypeName()) } while accept(.op(","))
                try expect(")")
            }
            try expectKeyword("as")
            // The statement's $n are its own parameters, not the PREPARE's.
            let outer = nextParameter
            nextParameter = 1
            let start = peek.position.offset
            let statement = try parseStatement()
            let end = peek.kind == .end ? Array(sql.utf8).count : peek.position.offset
            let count = nextParameter - 1
            nextParameter = outer
            switch statement {
            case .select, .insert, .update, .delete: break
            default: throw error("PREPARE takes SELECT, INSERT, UPDATE, DELETE or VALUES")
            }
            let text = String(decoding: Array(sql.utf8)[start..<max(start, end)], as: UTF8.self)
            return .prepare(name: name, types: types, statement: statement, text: text, parameterCount: max(count, types.count))
        }
        if acceptKeyword("execute") {
            let name = try identifier("prepared statement name")
            var arguments: [Expr] = []
            if accept(.op("(")) {
                repeat { arguments.append(try parseExpr()) } while accept(.op(","))
                try expect(")")
            }
            return .execute(name: name, arguments: arguments)
        }
        if acceptKeyword("deallocate") {
            _ = acceptKeyword("prepare")
            if acceptKeyword("all") { return .deallocate(name: nil) }
            return .deallocate(name: try identifier("prepared statement name"))
        }
        return nil
    }

    /// `WITH (fillfactor = 90, …)` or `WITHOUT OIDS` after a table's columns, as pgbench and
    /// pg_dump write them: storage parameters of PostgreSQL's heap, which Borealis has no use
    /// for. Their syntax is checked; their values are ignored.
    mutating func skipStorageParameters() throws {
        if acceptKeyword("without") {
            try expectKeyword("oids")
            return
        }
        guard isKeyword("with"), case .op("(") = peekAt(1).kind else { return }
        _ = advance()
        _ = advance()
        repeat {
            _ = try settingName()
            if accept(.op("=")) { _ = try settingValue() }
        } while accept(.op(","))
        try expect(")")
    }

    /// A configuration parameter's name: a word, or two joined by a dot (`myapp.mode`, a
    /// custom parameter), lowercased as PostgreSQL matches them.
    private mutating func settingName() throws -> String {
        var name = try anyName("configuration parameter").lowercased()
        if accept(.op(".")) { name += "." + (try anyName("configuration parameter")).lowercased() }
        return name
    }

    /// One item of a SET value: a word, a string, or a number (signed).
    private mutating func settingValue() throws -> String {
        var sign = ""
        if accept(.op("-")) { sign = "-" } else { _ = accept(.op("+")) }
        switch peek.kind {
        case .identifier(let w):
            _ = advance()
            return sign + w
        case .quotedIdentifier(let w):
            _ = advance()
            return "\"" + w + "\""
        case .string(let w), .integer(let w), .decimal(let w):
            _ = advance()
            return sign + w
        default:
            throw error("expected a value for SET")
        }
    }
}
