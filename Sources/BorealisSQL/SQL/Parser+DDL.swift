// The DDL grammar: CREATE and DROP of tables, indexes and views, column definitions,
// constraints, type names and ALTER TABLE.

import BorealisStorage

extension Parser {
    /// After RENAME: `TO new_name` or `[COLUMN] old TO new`.
    private mutating func parseRenameAction(_ newName: String) throws -> AlterAction {
        if acceptKeyword("to") { return .renameTable(to: try identifier(newName)) }
        _ = acceptKeyword("column")
        let old = try anyName("column name")
        try expectKeyword("to")
        return .renameColumn(old, to: try anyName("column name"))
    }

    /// ALTER SEQUENCE, ALTER VIEW or ALTER TABLE, after ALTER.
    mutating func parseAlter() throws -> Statement {
        if acceptKeyword("sequence") { return try parseAlterSequence() }
        if acceptKeyword("view") {
            // ALTER VIEW [IF EXISTS] name RENAME [COLUMN] a TO b | RENAME TO n.
            var ifExists = false
            if acceptKeyword("if") { try expectKeyword("exists"); ifExists = true }
            let name = try qualifiedName("view name")
            guard acceptKeyword("rename") else {
                throw DatabaseError(.error, sqlState: SQLState.featureNotSupported, "ALTER VIEW supports RENAME only")
            }
            let action = try parseRenameAction("new view name")
            return .alterTable(name: name, action: ifExists ? .several([action], ifExists: true) : action)
        }
        try expectKeyword("table")
        var ifExists = false
        if acceptKeyword("if") { try expectKeyword("exists"); ifExists = true }
        let name = try qualifiedName("table name")
        // RENAME stands alone (PostgreSQL's grammar); the other actions may be listed.
        if acceptKeyword("rename") {
            let action = try parseRenameAction("new table name")
            return .alterTable(name: name, action: ifExists ? .several([action], ifExists: true) : action)
        }
        var actions: [AlterAction] = []
        repeat { actions.append(try parseAlterTableAction(name)) } while accept(.op(","))
        if actions.count == 1 && !ifExists { return .alterTable(name: name, action: actions[0]) }
        return .alterTable(name: name, action: .several(actions, ifExists: ifExists))
    }

    /// One action of ALTER TABLE: ADD …, DROP …, ALTER [COLUMN] ….
    private mutating func parseAlterTableAction(_ name: String) throws -> AlterAction {
        if acceptKeyword("add") {
            if let constraint = try parseTableConstraint() { return .addConstraint(constraint) }
            _ = acceptKeyword("column")
            let ifNotExists = try parseIfNotExists()
            return .addColumn(try parseColumnDefinition(), ifNotExists: ifNotExists)
        }
        if acceptKeyword("drop") {
            if acceptKeyword("constraint") {
                var ifExists = false
                if acceptKeyword("if") { try expectKeyword("exists"); ifExists = true }
                let constraint = try identifier("constraint name")
                let cascade = acceptKeyword("cascade")
                if !cascade { _ = acceptKeyword("restrict") }
                return .dropConstraint(constraint, ifExists: ifExists, cascade: cascade)
            }
            _ = acceptKeyword("column")
            var ifExists = false
            if acceptKeyword("if") { try expectKeyword("exists"); ifExists = true }
            let column = try anyName("column name")
            let cascade = acceptKeyword("cascade")
            if !cascade { _ = acceptKeyword("restrict") }
            return .dropColumn(column, ifExists: ifExists, cascade: cascade)
        }
        if acceptKeyword("alter") {
            _ = acceptKeyword("column")
            let column = try anyName("column name")
            if acceptKeyword("add") {
                try expectKeyword("generated")
                let (generation, options) = try parseIdentity()
                return .alterColumn(column, .addIdentity(generation, options))
            }
            if isKeyword("restart") || (isKeyword("set") && !isKeyword("default", at: 1) && !isKeyword("not", at: 1)
                                        && !isKeyword("data", at: 1)) {
                return .alterColumn(column, try parseSetIdentity())
            }
            if acceptKeyword("set") {
                if acceptKeyword("default") { return .alterColumn(column, .setDefault(try parseExpr())) }
                if acceptKeyword("not") { try expectKeyword("null"); return .alterColumn(column, .setNotNull) }
                if acceptKeyword("data") {
                    try expectKeyword("type")
                    return .alterColumn(column, try parseAlterColumnType())
                }
                throw error("expected DEFAULT, NOT NULL or DATA TYPE after SET")
            }
            if acceptKeyword("drop") {
                if acceptKeyword("default") { return .alterColumn(column, .dropDefault) }
                if acceptKeyword("not") { try expectKeyword("null"); return .alterColumn(column, .dropNotNull) }
                if acceptKeyword("identity") {
                    var ifExists = false
                    if acceptKeyword("if") { try expectKeyword("exists"); ifExists = true }
                    return .alterColumn(column, .dropIdentity(ifExists: ifExists))
                }
                throw error("expected DEFAULT, NOT NULL or IDENTITY after DROP")
            }
            if acceptKeyword("type") { return .alterColumn(column, try parseAlterColumnType()) }
            throw error("expected SET, DROP or TYPE after ALTER COLUMN")
        }
        throw error("expected ADD, DROP, ALTER or RENAME after ALTER TABLE")
    }

    /// ALTER COLUMN's identity options, one or more without commas (PostgreSQL's
    /// alter_identity_column_option_list): SET GENERATED { ALWAYS | BY DEFAULT }, SET option
    /// (a sequence option), RESTART [[WITH] n].
    private mutating func parseSetIdentity() throws -> ColumnAlteration {
        var generation: IdentityGeneration?
        var options: [SequenceOption] = []
        while true {
            var parsed: [SequenceOption]
            if isKeyword("restart") {
                parsed = try parseSequenceOptions(alter: true, identity: false, single: true)
            } else if acceptKeyword("set") {
                if acceptKeyword("generated") {
                    if generation != nil { throw DatabaseError(.error, sqlState: SQLState.syntaxError, "conflicting or redundant options") }
                    generation = try parseGeneration()
                    continue
                }
                parsed = try parseSequenceOptions(alter: false, identity: false, single: true)
                if parsed.isEmpty { throw error("expected GENERATED or a sequence option after SET") }
            } else {
                break
            }
            for option in parsed {
                if options.contains(where: { $0.kind == option.kind }) {
                    throw DatabaseError(.error, sqlState: SQLState.syntaxError, "conflicting or redundant options")
                }
                options.append(option)
            }
        }
        return .setIdentity(generation, options)
    }

    private mutating func parseAlterColumnType() throws -> ColumnAlteration {
        let type = try parseTypeName()
        if type.serial { throw DatabaseError(.error, sqlState: SQLState.undefinedObject, "type \"\(type.name)\" does not exist") }
        let using = acceptKeyword("using") ? try parseExpr() : nil
        return .type(type, using: using)
    }

    mutating func parseCreate() throws -> Statement {
        var orReplace = false
        if acceptKeyword("or") { try expectKeyword("replace"); orReplace = true }
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
            if acceptKeyword("where") {
                return .ddl(.createPartialIndex(name: name, table: table, elements: elements, unique: unique, ifNotExists: ifNotExists,
                                                predicate: try parseExpr()))
            }
            return .createIndex(name: name, table: table, elements: elements, unique: unique, ifNotExists: ifNotExists)
        }
        guard !unique else { throw error("expected INDEX after UNIQUE") }
        let scoped = acceptKeyword("local") || acceptKeyword("global")
        let temporary = acceptKeyword("temporary") || acceptKeyword("temp")
        if scoped && !temporary { throw error("expected TEMPORARY after LOCAL or GLOBAL") }
        if acceptKeyword("sequence") { return try parseCreateSequence(temporary: temporary) }
        if orReplace && !isKeyword("view") {
            throw DatabaseError(.error, sqlState: SQLState.featureNotSupported, "CREATE OR REPLACE is supported for views only")
        }
        if acceptKeyword("view") {
            let ifNotExists = orReplace ? false : try parseIfNotExists()
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
            if orReplace { return .ddl(.replaceView(name: name, columns: columns, query: query, sql: text, temporary: temporary)) }
            return .createView(name: name, ifNotExists: ifNotExists, columns: columns, query: query, sql: text, temporary: temporary)
        }
        try expectKeyword("table")
        let ifNotExists = try parseIfNotExists()
        let name = try qualifiedName("table name", creating: true)
        if let createAs = try parseCreateTableAs(name, ifNotExists: ifNotExists, temporary: temporary) { return createAs }
        try expect("(")
        var columns: [ColumnDefinition] = []
        var constraints: [TableConstraint] = []
        repeat {
            if acceptKeyword("like") {
                constraints.append(try parseLikeClause())
            } else if let constraint = try parseTableConstraint() {
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

    /// CREATE TABLE name [(column, …)] AS query [WITH [NO] DATA], after the name; nil (and
    /// nothing read) when the table is defined by its columns.
    private mutating func parseCreateTableAs(_ name: String, ifNotExists: Bool, temporary: Bool) throws -> Statement? {
        let saved = self
        var columns: [String] = []
        if accept(.op("(")) {
            // A list of bare names followed by AS, or else a column definition list.
            var names: [String] = []
            while case .identifier = peek.kind, !isKeyword("like") {
                names.append(try anyName("column name"))
                if !accept(.op(",")) { break }
            }
            guard accept(.op(")")), isKeyword("as") else {
                self = saved
                return nil
            }
            columns = names
        }
        guard acceptKeyword("as") else {
            self = saved
            return nil
        }
        let query = try parseSelect()
        var withData = true
        if acceptKeyword("with") {
            withData = !acceptKeyword("no")
            try expectKeyword("data")
        }
        return .ddl(.createTableAs(name: name, ifNotExists: ifNotExists, columns: columns, query: query, withData: withData,
                                   temporary: temporary, onCommit: nil))
    }

    /// The target of SELECT … INTO, after INTO: [TEMP | TEMPORARY | UNLOGGED] [TABLE] name.
    mutating func parseSelectInto() throws -> (name: String, temporary: Bool) {
        let temporary = acceptKeyword("temporary") || acceptKeyword("temp")
        if !temporary { _ = acceptKeyword("unlogged") }
        _ = acceptKeyword("table")
        return (try qualifiedName("table name", creating: true), temporary)
    }

    /// A SELECT as a statement: SELECT … INTO name is CREATE TABLE name AS the query (the INTO
    /// belongs to its first SELECT, as in PostgreSQL).
    func selectOrSelectInto(_ query: SelectStatement) throws -> Statement {
        func takeInto(_ body: inout SelectBody) -> (name: String, temporary: Bool)? {
            switch body {
            case .core(var core):
                guard let into = core.into else { return nil }
                core.into = nil
                body = .core(core)
                return into
            case .setOperation(let op, let all, var left, let right):
                guard let into = takeInto(&left) else { return nil }
                body = .setOperation(op, all: all, left, right)
                return into
            case .nested(var inner):
                guard let into = takeInto(&inner.body) else { return nil }
                body = .nested(inner)
                return into
            case .values:
                return nil
            }
        }
        var query = query
        guard let into = takeInto(&query.body) else { return .select(query) }
        return .ddl(.createTableAs(name: into.name, ifNotExists: false, columns: [], query: query, withData: true,
                                   temporary: into.temporary, onCommit: nil))
    }

    /// LIKE source [{INCLUDING | EXCLUDING} option …], after LIKE.
    private mutating func parseLikeClause() throws -> TableConstraint {
        let source = try qualifiedName("table name")
        var included = Set<String>()
        let options = ["comments", "compression", "constraints", "defaults", "generated", "identity", "indexes", "statistics", "storage"]
        while isKeyword("including") || isKeyword("excluding") {
            let including = acceptKeyword("including")
            if !including { _ = acceptKeyword("excluding") }
            let option = try anyName("LIKE option")
            guard option == "all" || options.contains(option) else { throw error("unrecognized LIKE option \"\(option)\"") }
            for o in option == "all" ? options : [option] {
                if including { included.insert(o) } else { included.remove(o) }
            }
        }
        return .like(source, including: included)
    }

    /// COMMENT ON {TABLE | VIEW | INDEX | COLUMN} name IS 'text' | NULL, after COMMENT.
    mutating func parseComment() throws -> Statement {
        try expectKeyword("on")
        let kind = try anyName("object kind")
        guard ["table", "view", "index", "column"].contains(kind) else {
            throw DatabaseError(.error, sqlState: SQLState.featureNotSupported, "COMMENT ON \(kind.uppercased()) is not supported")
        }
        let name: String
        if kind == "column" {
            var parts = [try identifier("table name")]
            while accept(.op(".")) { parts.append(try identifier("column name")) }
            if parts.count == 3 && (parts[0] == "public" || parts[0] == "pg_catalog") { parts.removeFirst() }
            guard parts.count == 2 else { throw error("column name must be qualified as table.column") }
            name = parts[0] + "." + parts[1]
        } else {
            name = try qualifiedName("name")
        }
        try expectKeyword("is")
        var text: String?
        if !acceptKeyword("null") {
            guard case .string(let s) = peek.kind else { throw error("expected a string or NULL after IS") }
            _ = advance()
            text = s
        }
        return .ddl(.comment(kind: kind, name: name, text: text))
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
        var pendingName: String?
        var named = false
        while true {
            // A name applies to the constraint right after it.
            if named { pendingName = nil }
            named = pendingName != nil
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
                if let pendingName { column.constraintNames["check"] = pendingName }
            } else if acceptKeyword("references") {
                column.references = try parseReference()
                if let pendingName { column.constraintNames["references"] = pendingName }
            } else if isKeyword("generated") && isKeyword("always", at: 1) && isKeyword("as", at: 2) && peekAt(3).kind == .op("(") {
                // GENERATED ALWAYS AS (expression) STORED (PostgreSQL 15 has no VIRTUAL).
                _ = advance(); _ = advance(); _ = advance(); _ = advance()
                column.generatedExpression = try parseExpr()
                try expect(")")
                try expectKeyword("stored")
            } else if acceptKeyword("generated") {
                (column.generated, column.identityOptions) = try parseIdentity()
            } else if acceptKeyword("auto_increment") || acceptKeyword("autoincrement") {
                column.autoIncrement = true
            } else if acceptKeyword("constraint") {
                pendingName = try identifier("constraint name")
                continue
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
        // pg_catalog.int4, public.t (tools qualify the built-in types).
        if words[0] == "pg_catalog" || words[0] == "public", accept(.op(".")) { words = [try anyName("type name")] }
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
            // char(n)/varchar(n) as PostgreSQL's typmod input checks them: char(n) pads every
            // value to n, so an unchecked n (2^31 - 1) asked for gigabytes per value.
            if type.type == .char || type.type == .varchar, let length = type.modifiers.first {
                let spelled = type.type == .char ? "char" : "varchar"
                guard length >= 1 else {
                    throw DatabaseError(.error, sqlState: SQLState.invalidParameterValue, "length for type \(spelled) must be at least 1")
                }
                guard length <= 10_485_760 else {
                    throw DatabaseError(.error, sqlState: SQLState.invalidParameterValue, "length for type \(spelled) cannot exceed 10485760")
                }
            }
        } else if words[0] == "char" || words[0] == "character" {
            type.modifiers = [1]    // a bare CHAR is char(1); BPCHAR has no length
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
        case "table" where cascade: return .ddl(.dropCascade(view: false, names: names, ifExists: ifExists))
        case "view" where cascade: return .ddl(.dropCascade(view: true, names: names, ifExists: ifExists))
        case "table": return .dropTable(names: names, ifExists: ifExists)
        case "index": return .dropIndex(names: names, ifExists: ifExists)
        case "view": return .dropView(names: names, ifExists: ifExists)
        default: throw error("expected TABLE, INDEX, VIEW or SEQUENCE after DROP")
        }
    }
}
