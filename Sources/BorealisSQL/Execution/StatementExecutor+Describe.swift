// Describing a statement without running it: the columns it returns (a SELECT's, or the
// RETURNING list of INSERT/UPDATE/DELETE) with their declared types, and the errors its text
// causes against the current schema (an unknown table or column) — what a prepare reports, so
// a C caller knows from `borealis_column_count` whether rows come back before its first step.
// A prepared statement's plan cache keeps what describing compiled, so its first run does not
// plan again.

import BorealisStorage

package struct StatementDescription: Sendable {
    package var columns: [String] = []
    package var declaredTypes: [String?] = []

    package init(columns: [String] = [], declaredTypes: [String?] = []) {
        self.columns = columns
        self.declaredTypes = declaredTypes
    }
}

extension StatementExecutor {
    package func describe(_ statement: Statement) throws -> StatementDescription {
        switch statement {
        case .select(let query):
            let plan = try selectPlan(query)
            return StatementDescription(columns: plan.columns, declaredTypes: plan.declaredTypes.map { $0?.name })
        case .insert(let table, let columns, _, _, let returning):
            let schema = try schemaForWriting(table)
            for name in columns ?? [] where schema.columnIndex(name) == nil {
                throw DatabaseError(.error, sqlState: SQLState.undefinedColumn, "column \"\(name)\" of relation \"\(table)\" does not exist")
            }
            return try describeReturning(returning, schema, alias: nil)
        case .update(let table, let alias, let assignments, _, _, let returning):
            let schema = try schemaForWriting(table)
            for (name, _) in assignments where schema.columnIndex(name) == nil {
                throw DatabaseError(.error, sqlState: SQLState.undefinedColumn, "column \"\(name)\" of relation \"\(table)\" does not exist")
            }
            return try describeReturning(returning, schema, alias: alias)
        case .delete(let table, let alias, _, _, let returning):
            return try describeReturning(returning, try schemaForWriting(table), alias: alias)
        default:
            return StatementDescription()
        }
    }

    private func describeReturning(_ items: [SelectItem], _ schema: TableSchema, alias: String?) throws -> StatementDescription {
        guard let plan = try returningPlan(items, schema, alias: alias) else { return StatementDescription() }
        var types: [String?] = []
        for item in items {
            switch item {
            case .star:
                types += schema.columns.map { Optional($0.type.name) }
            case .expression(.column(_, let name), _):
                types.append(schema.columnIndex(name).map { schema.columns[$0].type.name })
            case .expression(.cast(_, let type), _):
                types.append(type.name)
            case .expression:
                types.append(nil)
            }
        }
        return StatementDescription(columns: plan.columns, declaredTypes: types)
    }
}
