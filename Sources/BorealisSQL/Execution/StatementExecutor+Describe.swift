// Describing a statement without running it: the columns it returns (a SELECT's, or the
// RETURNING list of INSERT/UPDATE/DELETE) with their declared types, and the errors its text
// causes against the current schema (an unknown table or column) — what a prepare reports, so
// a C caller knows from `borealis_column_count` whether rows come back before its first step.
// A prepared statement's plan cache keeps what describing compiled, so its first run does not
// plan again.

import BorealisStorage

package struct StatementDescription: Sendable {
    package var columns: [String] = []
    /// The static type of each column where known (ExpressionTypes.swift).
    package var declaredTypes: [String?] = []
    /// The types the statement's `$n` parameters take from where they appear, by number
    /// (nil where no context gives one; PostgreSQL then takes text).
    package var parameterTypes: [Int: String] = [:]

    package init(columns: [String] = [], declaredTypes: [String?] = []) {
        self.columns = columns
        self.declaredTypes = declaredTypes
    }
}

extension StatementExecutor {
    package func describe(_ statement: Statement) throws -> StatementDescription {
        var description = try describeColumns(statement)
        description.parameterTypes = parameterTypes.types.mapValues(\.name)
        return description
    }

    private func describeColumns(_ statement: Statement) throws -> StatementDescription {
        switch statement {
        case .select(let query) where query.hasDataModifyingCTE:
            let plan = try makePlanner().plan(try describingDataModifyingCTEs(query), parent: nil)
            return StatementDescription(columns: plan.columns, declaredTypes: plan.declaredTypes.map { $0?.name })
        case .select(let query):
            let plan = try selectPlan(query)
            for (n, type) in plan.parameterTypes { parameterTypes.note(n, type) }
            return StatementDescription(columns: plan.columns, declaredTypes: plan.declaredTypes.map { $0?.name })
        case .insert(let table, let columns, let source, _, let returning, _):
            let schema = try schemaForWriting(table)
            for name in columns ?? [] where schema.columnIndex(name) == nil {
                throw DatabaseError(.error, sqlState: SQLState.undefinedColumn, "column \"\(name)\" of relation \"\(table)\" does not exist")
            }
            try typeParameters(inserting: source, into: schema, columns: columns)
            return try describeReturning(returning, schema, alias: nil)
        case .update(let table, let alias, let assignments, let from, let filter, let returning):
            let schema = try schemaForWriting(table)
            for (name, _) in assignments where schema.columnIndex(name) == nil {
                throw DatabaseError(.error, sqlState: SQLState.undefinedColumn, "column \"\(name)\" of relation \"\(table)\" does not exist")
            }
            if from.isEmpty {
                let compiler = rowCompiler(schema, alias: alias)
                for (name, e) in assignments {
                    if case .parameter(let n) = e, let i = schema.columnIndex(name) { parameterTypes.note(n, schema.columns[i].type) }
                    if case .defaultValue = e { continue }
                    _ = try compiler.compile(e)
                }
                if let filter { _ = try compiler.compile(filter) }
            }
            return try describeReturning(returning, schema, alias: alias)
        case .delete(let table, let alias, let using, let filter, let returning):
            let schema = try schemaForWriting(table)
            if using.isEmpty, let filter { _ = try rowCompiler(schema, alias: alias).compile(filter) }
            return try describeReturning(returning, schema, alias: alias)
        default:
            return StatementDescription()
        }
    }

    /// A compiler over one row of `schema`, for the WHERE and SET expressions of a description.
    private func rowCompiler(_ schema: TableSchema, alias: String?) -> ExpressionCompiler {
        Self.rowCompiler(schema.columns, label: alias ?? schema.name, catalog: catalog, clause: "WHERE", parameterTypes: parameterTypes).1
    }

    /// The types of an INSERT's parameters: a VALUES item that is a parameter takes its target
    /// column's type; parameters inside expressions and in a SELECT source take their contexts'.
    private func typeParameters(inserting source: InsertSource, into schema: TableSchema, columns: [String]?) throws {
        let targets = columns?.compactMap(schema.columnIndex) ?? Array(schema.columns.indices)
        switch source {
        case .values(let rows):
            let compiler = ExpressionCompiler(scope: Scope(columns: [], parent: nil), planner: makePlanner(), aggregation: nil, clause: "VALUES")
            for row in rows {
                for (position, item) in row.enumerated() {
                    guard let item else { continue }
                    if case .parameter(let n) = item, position < targets.count { parameterTypes.note(n, schema.columns[targets[position]].type) }
                    _ = try compiler.compile(item)
                }
            }
        case .select(let query):
            _ = try makePlanner().plan(query.hasDataModifyingCTE ? try describingDataModifyingCTEs(query) : query, parent: nil)
        case .defaultValues:
            break
        }
    }

    private func describeReturning(_ items: [SelectItem], _ schema: TableSchema, alias: String?) throws -> StatementDescription {
        guard let plan = try returningPlan(items, schema, alias: alias) else { return StatementDescription() }
        let compiler = rowCompiler(schema, alias: alias)
        var types: [String?] = []
        for item in items {
            switch item {
            case .star:
                types += schema.columns.map { Optional($0.type.name) }
            case .expression(let e, _):
                types.append(compiler.staticType(e)?.name)
            }
        }
        return StatementDescription(columns: plan.columns, declaredTypes: types)
    }
}
