// DDL that derives one relation from another: CREATE OR REPLACE VIEW (PostgreSQL's rule: the
// old columns keep their names and types, in order; new ones may follow), CREATE TABLE … AS
// query [WITH [NO] DATA], CREATE TABLE (LIKE source INCLUDING …), and COMMENT ON.
//
// Invariants: like all DDL these write the catalog in the statement's transaction; a table
// created AS a query is created, then filled by the INSERT path (so its rows obey everything
// an INSERT obeys), from a catalog read again after the creation.

import BorealisStorage

extension StatementExecutor {
    func executeDDL(_ statement: DDLStatement) throws -> QueryResult {
        switch statement {
        case .replaceView(let name, let columns, let query, let sql, let temporary):
            return try replaceView(name, columns: columns, query: query, sql: sql, temporary: temporary)
        case .createTableAs(let name, let ifNotExists, let columns, let query, let withData, let temporary, let onCommit):
            guard temporary == temporaryTarget else { throw DatabaseError.internalError("CREATE TABLE \(name) routed to the wrong catalog") }
            if own.relationExists(name) {
                if ifNotExists {
                    var result = QueryResult()
                    result.notice = "relation \"\(name)\" already exists, skipping"
                    return result
                }
                throw DatabaseError(.error, sqlState: SQLState.duplicateTable, "relation \"\(name)\" already exists")
            }
            return try createTableAs(name, columns: columns, query: query, withData: withData, onCommit: onCommit)
        case .createPartialIndex(let name, let table, let elements, let unique, let ifNotExists, let predicate):
            return try createIndexStatement(name, table, elements, unique: unique, ifNotExists: ifNotExists, predicate: predicate)
        case .dropCascade(let view, let names, let ifExists):
            return try dropRelations(names, view: view, ifExists: ifExists, cascade: true)
        case .comment(let kind, let name, let text):
            try comment(kind: kind, name: name, text: text)
            return QueryResult()
        }
    }

    // MARK: CREATE INDEX

    /// CREATE [UNIQUE] INDEX [IF NOT EXISTS] name ON table (elements) [WHERE predicate].
    func createIndexStatement(_ name: String, _ table: String, _ elements: [Expr], unique: Bool, ifNotExists: Bool,
                              predicate: Expr?) throws -> QueryResult {
        if own.relationExists(name) {
            if ifNotExists { return QueryResult() }
            throw DatabaseError(.error, sqlState: SQLState.duplicateTable, "relation \"\(name)\" already exists")
        }
        let plain = elements.allSatisfy { if case .column(nil, _) = $0 { return true } else { return false } }
        let names = elements.map { e -> String in if case .column(nil, let n) = e { return n } else { return e.sql } }
        if let predicate {
            if Planner.containsSubquery(predicate) {
                throw DatabaseError(.error, sqlState: SQLState.featureNotSupported, "cannot use subquery in index predicate")
            }
            if Planner.containsAggregate(predicate) {
                throw DatabaseError(.error, sqlState: SQLState.groupingError, "aggregate functions are not allowed in index predicates")
            }
        }
        var index = IndexSchema(name: name, table: table, columns: names, expressions: plain ? nil : elements.map(\.sql), unique: unique, root: 0)
        index.predicate = predicate?.sql
        try createIndex(index, schema: try placed(try catalog.table(table)))
        return QueryResult()
    }

    // MARK: CREATE OR REPLACE VIEW

    private func replaceView(_ name: String, columns: [String], query: SelectStatement, sql: String, temporary: Bool) throws -> QueryResult {
        guard let old = own.views[name] else {
            if own.tables[name] != nil || own.indexes[name] != nil || own.sequences[name] != nil {
                throw DatabaseError(.error, sqlState: SQLState.wrongObjectType, "\"\(name)\" is not a view")
            }
            return try execute(.createView(name: name, ifNotExists: false, columns: columns, query: query, sql: sql, temporary: temporary))
        }
        let planner = Planner(catalog: catalog, parameterTypes: parameterTypes)
        let plan = try planner.plan(query, parent: nil)
        if !columns.isEmpty && columns.count > plan.columns.count {
            throw DatabaseError(.error, sqlState: SQLState.syntaxError, "CREATE VIEW specifies more column names than columns")
        }
        let names = columns.isEmpty ? plan.columns : columns + plan.columns.dropFirst(columns.count)
        // The old view's column types, as its query plans now.
        guard case .select(let oldQuery)? = try Parser.parseAll(old.sql).first?.0 else {
            throw DatabaseError.corrupt("view \(name) has an unparsable definition")
        }
        let oldTypes = try Planner(catalog: catalog).plan(oldQuery, parent: nil).declaredTypes
        if names.count < old.columns.count {
            throw DatabaseError(.error, sqlState: SQLState.invalidTableDefinition, "cannot drop columns from view")
        }
        for (i, oldName) in old.columns.enumerated() {
            if names[i] != oldName {
                throw DatabaseError(.error, sqlState: SQLState.invalidTableDefinition,
                                    "cannot change name of view column \"\(oldName)\" to \"\(names[i])\"")
            }
            let was = i < oldTypes.count ? oldTypes[i] : nil
            let now = i < plan.declaredTypes.count ? plan.declaredTypes[i] : nil
            if was != now {
                throw DatabaseError(.error, sqlState: SQLState.invalidTableDefinition,
                                    "cannot change data type of view column \"\(oldName)\" from \(was?.displayName ?? "text") to \(now?.displayName ?? "text")")
            }
        }
        var view = ViewSchema(name: name, columns: names, sql: sql, temporary: old.temporary)
        view.dependencies = recordedDependencies(of: query)
        try Catalog.put("view", name, view, txn)
        return QueryResult()
    }

    // MARK: CREATE TABLE AS

    private func createTableAs(_ name: String, columns names: [String], query: SelectStatement, withData: Bool,
                               onCommit: OnCommitAction?) throws -> QueryResult {
        let planner = makePlanner()
        let plan = try planner.plan(query, parent: nil)
        if names.count > plan.columns.count {
            throw DatabaseError(.error, sqlState: SQLState.syntaxError, "too many column names were specified")
        }
        let columnNames = names + plan.columns.dropFirst(names.count)
        let definitions = zip(columnNames, plan.declaredTypes).map { name, type in
            // A column of unknown type (a bare NULL) is text, as PostgreSQL makes it.
            ColumnDefinition(name: name, type: TypeName(type: type ?? .text))
        }
        try createTable(name, definitions, [], onCommit: onCommit)
        guard withData else { return QueryResult() }
        let filled = try withReloadedCatalog().insert(name, nil, .select(query), nil, [])
        return QueryResult(changes: filled.changes)
    }

    // MARK: CREATE TABLE (LIKE …)

    /// The columns and constraints of a CREATE TABLE with its LIKE clauses replaced by what
    /// they copy, and the indexes to create after the table (INCLUDING INDEXES).
    func expandingLike(_ name: String, _ definitions: [ColumnDefinition], _ constraints: [TableConstraint]) throws
        -> (columns: [ColumnDefinition], constraints: [TableConstraint], indexes: [IndexSchema]) {
        var columns: [ColumnDefinition] = []
        var kept: [TableConstraint] = []
        var indexes: [IndexSchema] = []
        var copied: [ColumnDefinition] = []
        for constraint in constraints {
            guard case .like(let sourceName, let including) = constraint else {
                kept.append(constraint)
                continue
            }
            if catalog.views[sourceName] != nil {
                throw DatabaseError(.error, sqlState: SQLState.featureNotSupported, "LIKE a view is not supported")
            }
            let source = try catalog.table(sourceName)
            for column in source.columns {
                var d = ColumnDefinition(name: column.name, type: TypeName(type: column.type, modifiers: column.modifiers))
                d.notNull = column.notNull
                if including.contains("defaults") {
                    if let sql = column.defaultSQL {
                        d.defaultValue = try Self.parseExpression(sql)
                    } else if column.identity && column.generated == nil, let sequence = column.sequence {
                        // A SERIAL column's default is its sequence's nextval().
                        d.defaultValue = .function(name: "nextval", args: [.literal(.text(sequence))], distinct: false, star: false)
                    }
                }
                if including.contains("generated"), let sql = column.generatedSQL {
                    d.generatedExpression = try Self.parseExpression(sql)
                }
                if including.contains("identity"), let generated = column.generated {
                    d.generated = generated
                }
                copied.append(d)
            }
            if including.contains("constraints") {
                kept += try source.checks.map { .check(try Self.parseExpression($0.sql), name: $0.name) }
            }
            if including.contains("indexes") {
                if !source.primaryKey.isEmpty { kept.append(.primaryKey(source.primaryKey, name: nil)) }
                for index in catalog.indexes(on: sourceName) where !(index.constraint && index.columns == source.primaryKey) {
                    if index.constraint {
                        kept.append(.unique(index.columns, name: nil))
                        continue
                    }
                    // PostgreSQL's name for a copied index: table_columns_idx (expr for an expression).
                    let label = index.expressions == nil ? index.columns.joined(separator: "_") : "expr"
                    var indexName = "\(name)_\(label)_idx"
                    var n = 0
                    while own.relationExists(indexName) || indexes.contains(where: { $0.name == indexName }) {
                        n += 1
                        indexName = "\(name)_\(label)_idx\(n)"
                    }
                    var copy = IndexSchema(name: indexName, table: name, columns: index.columns, expressions: index.expressions,
                                           unique: index.unique, root: 0)
                    copy.predicate = index.predicate
                    indexes.append(copy)
                }
            }
        }
        // LIKE's columns come where the clause stood; PostgreSQL puts them first when LIKE is
        // first, which is the usual case: copied columns first, then the table's own.
        columns = copied + definitions
        return (columns, kept, indexes)
    }

    // MARK: COMMENT ON

    /// The catalog key of a relation's (or a column's) comment.
    static func commentKey(_ relation: String, column: String? = nil) -> String {
        column.map { relation + "\u{1F}" + $0 } ?? relation
    }

    private func comment(kind: String, name: String, text: String?) throws {
        var relation = name
        var column: String?
        switch kind {
        case "column":
            guard let dot = name.firstIndex(of: ".") else { throw DatabaseError.internalError("COMMENT ON COLUMN \(name) without a table") }
            relation = String(name[..<dot])
            column = String(name[name.index(after: dot)...])
            if let table = catalog.tables[relation] {
                guard table.columnIndex(column ?? "") != nil else {
                    throw DatabaseError(.error, sqlState: SQLState.undefinedColumn, "column \"\(column ?? "")\" of relation \"\(relation)\" does not exist")
                }
            } else if let view = catalog.views[relation] {
                guard view.columns.contains(column ?? "") else {
                    throw DatabaseError(.error, sqlState: SQLState.undefinedColumn, "column \"\(column ?? "")\" of relation \"\(relation)\" does not exist")
                }
            } else {
                throw DatabaseError(.error, sqlState: SQLState.undefinedTable, "relation \"\(relation)\" does not exist")
            }
        case "table":
            if catalog.tables[name] == nil {
                if catalog.views[name] != nil || catalog.indexes[name] != nil {
                    throw DatabaseError(.error, sqlState: SQLState.wrongObjectType, "\"\(name)\" is not a table")
                }
                throw DatabaseError(.error, sqlState: SQLState.undefinedTable, "relation \"\(name)\" does not exist")
            }
        case "view":
            if catalog.views[name] == nil {
                if catalog.tables[name] != nil { throw DatabaseError(.error, sqlState: SQLState.wrongObjectType, "\"\(name)\" is not a view") }
                throw DatabaseError(.error, sqlState: SQLState.undefinedTable, "relation \"\(name)\" does not exist")
            }
        default:
            if catalog.indexes[name] == nil {
                if catalog.tables[name] != nil { throw DatabaseError(.error, sqlState: SQLState.wrongObjectType, "\"\(name)\" is not an index") }
                throw DatabaseError(.error, sqlState: SQLState.undefinedTable, "relation \"\(name)\" does not exist")
            }
        }
        let key = Self.commentKey(relation, column: column)
        // An empty comment is no comment (PostgreSQL).
        if let text, !text.isEmpty {
            try Catalog.put("comment", key, text, txn)
        } else {
            try Catalog.remove("comment", key, txn)
        }
    }

    /// Removes the comments of a relation and of its columns (DROP), or moves them to a new
    /// name (RENAME TO).
    func moveComments(of relation: String, to new: String?) throws {
        for (key, text) in own.comments where key == relation || key.hasPrefix(relation + "\u{1F}") {
            try Catalog.remove("comment", key, txn)
            if let new { try Catalog.put("comment", new + key.dropFirst(relation.count), text, txn) }
        }
    }

    /// Moves a column's comment to its new name (RENAME COLUMN), or drops it (DROP COLUMN).
    func moveComment(of relation: String, column: String, to new: String?) throws {
        let key = Self.commentKey(relation, column: column)
        guard let text = own.comments[key] else { return }
        try Catalog.remove("comment", key, txn)
        if let new { try Catalog.put("comment", Self.commentKey(relation, column: new), text, txn) }
    }
}
