// What an index reads, worked out from its stored SQL (the catalog keeps expressions as text
// and knows nothing of the parser).

import BorealisStorage

extension IndexSchema {
    /// The table columns the index reads.
    func referencedColumns() throws -> [String] {
        guard let expressions else { return columns }
        return try expressions.flatMap { Planner.columnReferences(try StatementExecutor.parseExpression($0)).map(\.1) }
    }
}
