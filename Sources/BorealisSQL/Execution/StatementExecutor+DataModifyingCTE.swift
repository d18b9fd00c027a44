// Data-modifying statements in WITH (docs/sql.md): `WITH d AS (DELETE FROM t … RETURNING *)
// SELECT … FROM d` and `WITH … INSERT INTO archive SELECT * FROM d`. Each such CTE of the
// statement's own WITH clause runs once, in order, before the query is planned, whether or not
// the query reads it; its RETURNING rows become the CTE's rows. Where Borealis departs from
// PostgreSQL: the query and later CTEs see the tables as the earlier CTEs left them
// (PostgreSQL runs them all on one snapshot, so the main query does not see their changes).

import BorealisStorage

extension StatementExecutor {
    /// `query` with each data-modifying CTE run and replaced by the rows it returned.
    func runningDataModifyingCTEs(_ query: SelectStatement) throws -> SelectStatement {
        // Each CTE's statement runs without the plan cache: the cache holds one write plan,
        // the top statement's (two CTEs writing one table must not share a compiled WHERE).
        var executor = self
        executor.planCache = nil
        return try replacingDataModifyingCTEs(query) { statement in
            let result = try executor.execute(statement)
            return (result.columns, result.rows)
        }
    }

    /// `query` with each data-modifying CTE replaced by an empty relation of its RETURNING
    /// columns (describing a statement runs nothing).
    func describingDataModifyingCTEs(_ query: SelectStatement) throws -> SelectStatement {
        try replacingDataModifyingCTEs(query) { statement in (try describe(statement).columns, []) }
    }

    private func replacingDataModifyingCTEs(_ query: SelectStatement,
                                            _ rowsOf: (Statement) throws -> (columns: [String], rows: [[Value]])) throws -> SelectStatement {
        var query = query
        for i in query.with.indices {
            guard let statement = query.with[i].modifying else { continue }
            if case .insert(_, _, .select(let source), _, _, _) = statement, source.hasDataModifyingCTE {
                throw DatabaseError(.error, sqlState: SQLState.featureNotSupported,
                                    "WITH clause containing a data-modifying statement must be at the top level")
            }
            let (columns, rows) = try rowsOf(statement)
            guard !columns.isEmpty else {
                throw DatabaseError(.error, sqlState: SQLState.featureNotSupported,
                                    "WITH query \"\(query.with[i].name)\" does not have a RETURNING clause")
            }
            let names = query.with[i].columns.isEmpty ? columns : query.with[i].columns
            guard names.count <= columns.count else {
                throw DatabaseError(.error, sqlState: SQLState.invalidColumnReference,
                                    "WITH query \"\(query.with[i].name)\" has \(columns.count) columns available but \(names.count) columns specified")
            }
            let body: SelectBody
            if rows.isEmpty {
                body = .core(SelectCore(items: columns.map { .expression(.literal(.null), alias: $0) }, filter: .literal(.boolean(false))))
            } else {
                body = .values(rows.map { $0.map(Expr.literal) })
            }
            query.with[i] = CommonTableExpression(name: query.with[i].name, columns: names + columns.dropFirst(names.count),
                                                  query: SelectStatement(body: body))
        }
        return query
    }
}
