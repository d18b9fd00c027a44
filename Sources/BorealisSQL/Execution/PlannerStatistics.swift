// What the planner knows about a table's size: estimated from its B+tree when the planner has
// the statement's transactions (BTree.estimatedCount, a few cached page reads), remembered for
// the statement; a fixed guess otherwise.

import BorealisStorage

package final class PlannerStatistics {
    private let permanent: StorageTransaction?
    private let temporary: StorageTransaction?
    private var counts: [String: Double] = [:]
    /// The guess for a table whose size cannot be read.
    static let unknownRows = 1000.0

    init(permanent: StorageTransaction? = nil, temporary: StorageTransaction? = nil) {
        self.permanent = permanent
        self.temporary = temporary
    }

    func rowCount(_ table: TableSchema) -> Double {
        let key = (table.isTemporary ? "t:" : "p:") + String(table.root)
        if let known = counts[key] { return known }
        var rows = Self.unknownRows
        if let txn = table.isTemporary ? temporary : permanent, let estimate = try? BTree(root: table.root).estimatedCount(in: txn) {
            rows = max(1, estimate)
        }
        counts[key] = rows
        return rows
    }
}
