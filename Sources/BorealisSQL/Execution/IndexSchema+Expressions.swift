// What an index reads, worked out from its stored SQL (the catalog keeps expressions as text
// and knows nothing of the parser).

import BorealisStorage

extension IndexSchema {
    /// The table columns the index reads.
    func referencedColumns() throws -> [String] {
        let inPredicate = try predicate.map { Planner.columnReferences(try StatementExecutor.parseExpression($0)).map(\.1) } ?? []
        guard let expressions else { return columns + inPredicate }
        return try expressions.flatMap { Planner.columnReferences(try StatementExecutor.parseExpression($0)).map(\.1) } + inPredicate
    }

    /// The conjuncts of a partial index's predicate, as SQL written without qualifiers: a
    /// query may use the index only when its WHERE has each of them (AccessPath.choose).
    func predicateConjuncts() throws -> [String] {
        guard let predicate else { return [] }
        func split(_ e: Expr) -> [Expr] {
            if case .binary(.and, let a, let b) = e { return split(a) + split(b) }
            return [e]
        }
        return split(try StatementExecutor.parseExpression(predicate)).map(\.sql)
    }
}
