// What depends on what (PostgreSQL's pg_depend, derived here from the catalog): views on the
// relations and columns their query reads, foreign keys on their parent table and columns.
// DROP TABLE/VIEW and ALTER TABLE … DROP COLUMN refuse (2BP01) while something depends on
// the object, or with CASCADE drop the dependent views and foreign-key constraints (never the
// referencing tables); RENAME TO and RENAME COLUMN rewrite the stored SQL of the views that
// read the old name, so they keep working as PostgreSQL's (bound by object id) do.
//
// Invariants: a view's dependencies are read from its parsed query — the relations its FROM
// clauses name (not its CTEs), and the column names it mentions, `*` meaning every column —
// so a view may be taken to depend on a column another of its relations has, never the
// reverse; every removal goes through Catalog.put/remove in the statement's transaction.

import BorealisStorage

/// The relations and columns a view's query reads.
struct ViewDependencies {
    var relations = Set<String>()
    var columns = Set<String>()
    /// `*` or `t.*` somewhere: every column of the relations.
    var star = false

    init(_ query: SelectStatement) { add(query, ctes: []) }

    func reads(_ relation: String, column: String? = nil) -> Bool {
        relations.contains(relation) && (column.map { star || columns.contains($0) } ?? true)
    }

    private mutating func add(_ query: SelectStatement, ctes outer: Set<String>) {
        var ctes = outer
        for cte in query.with {
            if query.recursive { ctes.insert(cte.name) }
            add(cte.query, ctes: ctes)
            ctes.insert(cte.name)
        }
        add(query.body, ctes: ctes)
        for item in query.orderBy { add(item.expr, ctes: ctes) }
        if let limit = query.limit { add(limit, ctes: ctes) }
        if let offset = query.offset { add(offset, ctes: ctes) }
    }

    private mutating func add(_ body: SelectBody, ctes: Set<String>) {
        switch body {
        case .core(let core):
            for item in core.items {
                switch item {
                case .star: star = true
                case .expression(let e, _): add(e, ctes: ctes)
                }
            }
            for from in core.from { add(from, ctes: ctes) }
            for e in core.distinctOn + core.groupBy { add(e, ctes: ctes) }
            if let filter = core.filter { add(filter, ctes: ctes) }
            if let having = core.having { add(having, ctes: ctes) }
        case .values(let rows):
            for row in rows { for e in row { add(e, ctes: ctes) } }
        case .setOperation(_, _, let a, let b):
            add(a, ctes: ctes)
            add(b, ctes: ctes)
        case .nested(let query):
            add(query, ctes: ctes)
        }
    }

    private mutating func add(_ from: FromItem, ctes: Set<String>) {
        switch from {
        case .table(let name, _):
            if !ctes.contains(name) { relations.insert(name) }
        case .subquery(let query, _, _):
            add(query, ctes: ctes)
        case .join(let a, let b, _, let on, let using, let natural):
            add(a, ctes: ctes)
            add(b, ctes: ctes)
            if let on { add(on, ctes: ctes) }
            columns.formUnion(using)
            // NATURAL joins on the columns the two sides share: any of them.
            if natural { star = true }
        case .function(_, let args, _, _, _):
            for e in args { add(e, ctes: ctes) }
        }
    }

    private mutating func add(_ e: Expr, ctes: Set<String>) {
        var queries: [SelectStatement] = []
        _ = e.rewriting { node in
            switch node {
            case .column(_, let name): columns.insert(name)
            case .subquery(let q), .exists(let q, _): queries.append(q)
            case .inSubquery(_, let q, _), .quantified(_, _, let q, _): queries.append(q)
            default: break
            }
            return nil
        }
        for q in queries { add(q, ctes: ctes) }
    }
}

extension StatementExecutor {
    /// The dependencies of a stored view.
    func dependencies(of view: ViewSchema) throws -> ViewDependencies {
        guard case .select(let query)? = try Parser.parseAll(view.sql).first?.0 else {
            throw DatabaseError.corrupt("view \(view.name) has an unparsable definition")
        }
        return ViewDependencies(query)
    }

    /// What a new view's query reads: for each relation, the columns it names that the
    /// relation has (all of them under a `*`).
    func recordedDependencies(of query: SelectStatement) -> [String: [String]] {
        let found = ViewDependencies(query)
        var recorded: [String: [String]] = [:]
        for relation in found.relations {
            let columns = catalog.tables[relation]?.columns.map(\.name) ?? catalog.views[relation]?.columns ?? []
            recorded[relation] = found.star ? columns : columns.filter { found.columns.contains($0) }
        }
        return recorded
    }

    /// Whether `view` reads `relation` (and its column `column`).
    func view(_ view: ViewSchema, reads relation: String, column: String?) throws -> Bool {
        if let recorded = view.dependencies {
            guard let columns = recorded[relation] else { return false }
            return column.map { columns.contains($0) } ?? true
        }
        return try dependencies(of: view).reads(relation, column: column)
    }

    /// The views that read `relation` (and, when given, its column `column`), directly, in name order.
    func viewsDepending(on relation: String, column: String? = nil) throws -> [String] {
        var found: [String] = []
        for view in catalog.views.values.sorted(by: { $0.name < $1.name }) where view.name != relation {
            if try self.view(view, reads: relation, column: column) { found.append(view.name) }
        }
        return found
    }

    /// `views` and every view that reads one of them, each before the views it reads (the
    /// order to drop them in).
    func viewsDependingTransitively(_ views: [String]) throws -> [String] {
        var order: [String] = []
        var seen = Set<String>()
        func visit(_ name: String) throws {
            guard seen.insert(name).inserted else { return }
            for dependent in try viewsDepending(on: name) { try visit(dependent) }
            order.append(name)
        }
        for view in views { try visit(view) }
        return order
    }

    /// 2BP01 as PostgreSQL words it: the object, and the first line of its DETAIL.
    static func dependentObjectsError(_ object: String, _ details: [String]) -> DatabaseError {
        let detail = details.count == 1 ? details[0] : details.joined(separator: "\n")
        return DatabaseError(.error, sqlState: SQLState.dependentObjectsStillExist,
                             "cannot drop \(object) because other objects depend on it\nDETAIL:  \(detail)\nHINT:  Use DROP ... CASCADE to drop the dependent objects too.")
    }

    /// PostgreSQL's notice for what a CASCADE dropped.
    static func cascadeNotice(_ dropped: [String]) -> String? {
        switch dropped.count {
        case 0: return nil
        case 1: return "drop cascades to \(dropped[0])"
        default: return "drop cascades to \(dropped.count) other objects\nDETAIL:  " + dropped.map { "drop cascades to \($0)" }.joined(separator: "\n")
        }
    }

    /// Drops views (each before the views it reads), with their comments.
    func removeViews(_ names: [String]) throws {
        for name in names {
            guard own.views[name] != nil else {
                throw DatabaseError(.error, sqlState: SQLState.featureNotSupported,
                                    "cannot drop view \(name) of another session's kind (a temporary view depends on a permanent relation)")
            }
            try Catalog.remove("view", name, txn)
            try moveComments(of: name, to: nil)
        }
    }

    /// Removes from their tables the foreign keys `keys` (child table, constraint name).
    func removeForeignKeys(_ keys: [(child: String, name: String)]) throws {
        var tables: [String: TableSchema] = [:]
        for key in keys {
            guard var child = tables[key.child] ?? own.tables[key.child] else { continue }
            child.foreignKeys = (child.foreignKeys ?? []).filter { $0.name != key.name }
            if child.foreignKeys?.isEmpty == true { child.foreignKeys = nil }
            tables[key.child] = child
        }
        for (name, table) in tables.sorted(by: { $0.key < $1.key }) { try Catalog.put("table", name, table, txn) }
    }

    // MARK: DROP TABLE / DROP VIEW

    /// DROP TABLE or DROP VIEW (`view`) of `names`, refusing while other objects depend on them
    /// (RESTRICT), or dropping the dependent views and foreign keys first (CASCADE).
    func dropRelations(_ names: [String], view: Bool, ifExists: Bool, cascade: Bool) throws -> QueryResult {
        var result = QueryResult()
        var notices: [String] = []
        var present: [String] = []
        for name in names {
            if view {
                guard catalog.views[name] != nil else {
                    if catalog.tables[name] != nil { throw DatabaseError(.error, sqlState: SQLState.wrongObjectType, "\"\(name)\" is not a view") }
                    if ifExists { notices.append("view \"\(name)\" does not exist, skipping"); continue }
                    throw DatabaseError(.error, sqlState: SQLState.undefinedTable, "view \"\(name)\" does not exist")
                }
            } else {
                guard catalog.tables[name] != nil else {
                    if catalog.sequences[name] != nil || catalog.views[name] != nil {
                        throw DatabaseError(.error, sqlState: SQLState.wrongObjectType, "\"\(name)\" is not a table")
                    }
                    if ifExists { notices.append("table \"\(name)\" does not exist, skipping"); continue }
                    throw DatabaseError(.error, sqlState: SQLState.undefinedTable, "table \"\(name)\" does not exist")
                }
            }
            present.append(name)
        }
        let dropping = Set(present)
        var dependentViews: [String] = []
        var dependentKeys: [(child: String, name: String)] = []
        for name in present {
            let kind = view ? "view" : "table"
            let views = try viewsDepending(on: name).filter { !dropping.contains($0) }
            let keys = view ? [] : (catalog.referencing[name] ?? []).filter { !dropping.contains($0.child) }
            if !cascade && (!views.isEmpty || !keys.isEmpty) {
                throw Self.dependentObjectsError("\(kind) \(name)", views.map { "view \($0) depends on \(kind) \(name)" }
                    + keys.map { "constraint \($0.fk.name) on table \($0.child) depends on table \(name)" })
            }
            dependentViews += views
            dependentKeys += keys.map { ($0.child, $0.fk.name) }
        }
        let cascaded = try viewsDependingTransitively(dependentViews).filter { !dropping.contains($0) }
        try removeViews(cascaded)
        try removeForeignKeys(dependentKeys)
        for name in present {
            if view {
                try removeViews([name])
                continue
            }
            guard let table = catalog.tables[name] else { continue }
            for index in catalog.indexes(on: name) {
                try BTree(root: index.root).drop(in: txn)
                try Catalog.remove("index", index.name, txn)
                try moveComments(of: index.name, to: nil)
            }
            try BTree(root: table.root).drop(in: txn)
            try Catalog.remove("table", name, txn)
            try moveComments(of: name, to: nil)
            if !temporaryTarget { try dropOwnedSequences(of: name) }
        }
        notices += Self.cascadeNotice(cascaded.map { "view \($0)" } + dependentKeys.map { "constraint \($0.name) on table \($0.child)" }).map { [$0] } ?? []
        if !notices.isEmpty { result.notice = notices.joined(separator: "\n") }
        return result
    }

    // MARK: DROP COLUMN

    /// What depends on column `column` of `table` beyond the table itself: refused without
    /// CASCADE, dropped with it. The table's own foreign keys using the column go with it.
    func dropColumnDependents(_ table: inout TableSchema, _ column: String, cascade: Bool) throws -> String? {
        let name = table.name
        let views = try viewsDepending(on: name, column: column)
        let keys = (catalog.referencing[name] ?? []).filter { $0.child != name && $0.fk.parentColumns.contains(column) }
        if !cascade && (!views.isEmpty || !keys.isEmpty) {
            throw Self.dependentObjectsError("column \(column) of table \(name)",
                                             views.map { "view \($0) depends on column \(column) of table \(name)" }
                                             + keys.map { "constraint \($0.fk.name) on table \($0.child) depends on column \(column) of table \(name)" })
        }
        let cascaded = try viewsDependingTransitively(views)
        try removeViews(cascaded)
        try removeForeignKeys(keys.map { ($0.child, $0.fk.name) })
        // Its own keys, and self-references, that use the column.
        table.foreignKeys = (table.foreignKeys ?? []).filter { !$0.columns.contains(column) && !($0.parent == name && $0.parentColumns.contains(column)) }
        if table.foreignKeys?.isEmpty == true { table.foreignKeys = nil }
        try moveComment(of: name, column: column, to: nil)
        return Self.cascadeNotice(cascaded.map { "view \($0)" } + keys.map { "constraint \($0.fk.name) on table \($0.child)" })
    }

    // MARK: RENAME

    /// After ALTER TABLE old RENAME TO new: the views reading `old` read `new`, the foreign
    /// keys referencing it name it, and its comments follow.
    func followTableRename(_ old: String, to new: String) throws {
        for name in try viewsDepending(on: old) {
            guard var view = own.views[name] else { continue }
            view.sql = try Self.renamingRelation(in: view.sql, old, to: new)
            if let columns = view.dependencies?.removeValue(forKey: old) { view.dependencies?[new] = columns }
            try Catalog.put("view", name, view, txn)
        }
        for (child, _) in catalog.referencing[old] ?? [] where child != old {
            guard var table = own.tables[child] else { continue }
            table.foreignKeys = table.foreignKeys?.map { fk in
                var fk = fk
                if fk.parent == old { fk.parent = new }
                return fk
            }
            try Catalog.put("table", child, table, txn)
        }
        try moveComments(of: old, to: new)
    }

    /// After ALTER TABLE table RENAME COLUMN old TO new: the views reading the column name
    /// the new one (their own column names stay, as in PostgreSQL), and so do the foreign keys.
    func followColumnRename(_ table: inout TableSchema, _ old: String, to new: String) throws {
        let name = table.name
        try followColumnRenameInViews(of: name, old, to: new)
        table.foreignKeys = table.foreignKeys?.map { fk in
            var fk = fk
            fk.columns = fk.columns.map { $0 == old ? new : $0 }
            if fk.parent == name { fk.parentColumns = fk.parentColumns.map { $0 == old ? new : $0 } }
            return fk
        }
        for (child, fk) in catalog.referencing[name] ?? [] where child != name && fk.parentColumns.contains(old) {
            guard var childTable = own.tables[child] else { continue }
            childTable.foreignKeys = childTable.foreignKeys?.map { key in
                var key = key
                if key.name == fk.name { key.parentColumns = key.parentColumns.map { $0 == old ? new : $0 } }
                return key
            }
            try Catalog.put("table", child, childTable, txn)
        }
        try moveComment(of: name, column: old, to: new)
    }

    /// The views reading column `old` of relation `name` read it as `new`.
    func followColumnRenameInViews(of name: String, _ old: String, to new: String) throws {
        for viewName in try viewsDepending(on: name, column: old) {
            guard var view = own.views[viewName] else { continue }
            if let columns = view.dependencies?[name] { view.dependencies?[name] = columns.map { $0 == old ? new : $0 } }
            let dependencies = try dependencies(of: view)
            guard dependencies.columns.contains(old) else {
                // Read through `*` alone: the query reads the column whatever its name.
                try Catalog.put("view", viewName, view, txn)
                continue
            }
            // The rewrite renames the word: refused where another relation of the view has a
            // column of that name, as it cannot tell the two apart.
            for other in dependencies.relations where other != name {
                let columns = catalog.tables[other]?.columns.map(\.name) ?? catalog.views[other]?.columns ?? []
                if columns.contains(old) {
                    throw DatabaseError(.error, sqlState: SQLState.featureNotSupported,
                                        "cannot rename column \(old) of table \(name): view \(viewName) also reads a column \(old) of \(other)")
                }
            }
            if view.columns.isEmpty {
                // The view's column names are its own (a reference renamed keeps its name).
                guard case .select(let query)? = try Parser.parseAll(view.sql).first?.0 else { continue }
                view.columns = try Planner(catalog: catalog).plan(query, parent: nil).columns
            }
            view.sql = try Self.renamingColumn(in: view.sql, old, to: new)
            try Catalog.put("view", viewName, view, txn)
        }
    }

    // MARK: ALTER VIEW … RENAME

    /// ALTER VIEW (or ALTER TABLE) view RENAME TO new | RENAME [COLUMN] old TO new: the views
    /// reading it follow, as they follow a table.
    func renameView(_ name: String, _ action: AlterAction) throws {
        guard var view = own.views[name] else {
            throw DatabaseError(.error, sqlState: SQLState.undefinedTable, "relation \"\(name)\" does not exist")
        }
        switch action {
        case .renameTable(let new):
            guard !own.relationExists(new) else {
                throw DatabaseError(.error, sqlState: SQLState.duplicateTable, "relation \"\(new)\" already exists")
            }
            try Catalog.remove("view", name, txn)
            try followTableRename(name, to: new)
            view.name = new
            try Catalog.put("view", new, view, txn)
        case .renameColumn(let old, let new):
            guard let i = view.columns.firstIndex(of: old) else {
                throw DatabaseError(.error, sqlState: SQLState.undefinedColumn, "column \"\(old)\" does not exist")
            }
            guard !view.columns.contains(new) else {
                throw DatabaseError(.error, sqlState: SQLState.duplicateColumn, "column \"\(new)\" of relation \"\(name)\" already exists")
            }
            view.columns[i] = new
            try Catalog.put("view", name, view, txn)
            try followColumnRenameInViews(of: name, old, to: new)
            try moveComment(of: name, column: old, to: new)
        default:
            throw DatabaseError(.error, sqlState: SQLState.wrongObjectType, "\"\(name)\" is not a table")
        }
    }

    /// `sql` with the table references to `old` (in FROM lists and as qualifiers `old.x`)
    /// naming `new`. Works on the words: a table reference is a name after FROM, JOIN or a
    /// comma of a FROM list (not followed by "("), a qualifier a name followed by ".".
    static func renamingRelation(in sql: String, _ old: String, to new: String) throws -> String {
        let tokens = try Lexer.tokenize(sql)
        var replace: [Int] = []
        // Whether each open parenthesis level is in a FROM list.
        var inFrom = [false]
        let ends: Set<String> = ["where", "group", "having", "order", "limit", "offset", "on", "using", "union", "intersect",
                                 "except", "window", "fetch", "for", "select"]
        for (i, token) in tokens.enumerated() {
            let next = i + 1 < tokens.count ? tokens[i + 1].kind : .end
            let previous = i > 0 ? tokens[i - 1].kind : .end
            switch token.kind {
            case .op("("): inFrom.append(false)
            case .op(")"): if inFrom.count > 1 { inFrom.removeLast() }
            case .identifier(let w) where w == "from" || w == "join":
                inFrom[inFrom.count - 1] = true
            case .identifier(let w) where ends.contains(w):
                inFrom[inFrom.count - 1] = false
            case .identifier(let w), .quotedIdentifier(let w):
                guard w == old, next != .op("(") else { break }
                let afterFrom: Bool
                switch previous {
                case .identifier(let p): afterFrom = p == "from" || p == "join"
                case .op(","): afterFrom = inFrom[inFrom.count - 1]
                case .op("."):
                    // public.t or pg_temp.t: the schema names the table that follows.
                    let schema = i > 1 ? tokens[i - 2].kind : .end
                    afterFrom = next != .op(".") && (schema == .identifier("public") || schema == .identifier("pg_temp"))
                default: afterFrom = false
                }
                if afterFrom || next == .op(".") { replace.append(i) }
            default: break
            }
        }
        return splice(sql, tokens, replace, quoteIdentifier(new))
    }

    /// `sql` with every name `old` that is not an alias being defined (after AS) naming `new`.
    static func renamingColumn(in sql: String, _ old: String, to new: String) throws -> String {
        let tokens = try Lexer.tokenize(sql)
        var replace: [Int] = []
        for (i, token) in tokens.enumerated() {
            switch token.kind {
            case .identifier(let w), .quotedIdentifier(let w):
                let previous = i > 0 ? tokens[i - 1].kind : .end
                let next = i + 1 < tokens.count ? tokens[i + 1].kind : .end
                if w == old && previous != .identifier("as") && next != .op("(") { replace.append(i) }
            default: break
            }
        }
        return splice(sql, tokens, replace, quoteIdentifier(new))
    }

    private static func splice(_ sql: String, _ tokens: [Token], _ positions: [Int], _ text: String) -> String {
        var bytes = Array(sql.utf8)
        for i in positions.reversed() {
            let start = tokens[i].position.offset
            let end = start + tokens[i].text.utf8.count
            guard start >= 0, end <= bytes.count else { continue }
            bytes.replaceSubrange(start..<end, with: Array(text.utf8))
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
