// What the planner knows about a table: its size estimated from its B+tree when the planner has
// the statement's transactions (BTree.estimatedCount, a few cached page reads), remembered for
// the statement, a fixed guess otherwise; and the shares ANALYZE found (docs/query-engine.md,
// "Statistics"). The sizes it read are what a cached plan later compares with the live ones.

import BorealisStorage

package final class PlannerStatistics {
    private let permanent: StorageTransaction?
    private let temporary: StorageTransaction?
    private let analyzed: [String: TableStatistics]
    /// Per table, the columns that are the single column of a unique index.
    private let uniqueColumns: [String: Set<String>]
    private var counts: [String: (table: TableSchema, rows: Double)] = [:]
    /// The guess for a table whose size cannot be read.
    static let unknownRows = 1000.0

    init(permanent: StorageTransaction? = nil, temporary: StorageTransaction? = nil, analyzed: [String: TableStatistics] = [:],
         indexes: [IndexSchema] = []) {
        self.permanent = permanent
        self.temporary = temporary
        self.analyzed = analyzed
        var unique: [String: Set<String>] = [:]
        for index in indexes where index.unique && index.expressions == nil && index.predicate == nil && index.columns.count == 1 {
            unique[index.table, default: []].insert(index.columns[0])
        }
        uniqueColumns = unique
    }

    /// Whether a column of `table` holds each value at most once (a unique single-column index).
    func isUnique(_ table: TableSchema, column ordinal: Int) -> Bool {
        ordinal < table.columns.count && uniqueColumns[table.name]?.contains(table.columns[ordinal].name) == true
    }

    private static func key(_ table: TableSchema) -> String { (table.isTemporary ? "t:" : "p:") + String(table.root) }

    func rowCount(_ table: TableSchema) -> Double {
        let key = Self.key(table)
        if let known = counts[key] { return known.rows }
        let rows = liveRowCount(table)
        counts[key] = (table, rows)
        return rows
    }

    private func liveRowCount(_ table: TableSchema) -> Double {
        if let txn = table.isTemporary ? temporary : permanent, let estimate = try? BTree(root: table.root).estimatedCount(in: txn) {
            return max(1, estimate)
        }
        return Self.unknownRows
    }

    /// What ANALYZE found about one column of a permanent table, if it ran.
    func column(_ table: TableSchema, _ ordinal: Int) -> ColumnStatistics? {
        guard !table.isTemporary, ordinal < table.columns.count else { return nil }
        return analyzed[table.name]?.columns[table.columns[ordinal].name]
    }

    /// The tables whose sizes the plan was made with, and those sizes.
    var observedCounts: [(table: TableSchema, rows: Double)] { Array(counts.values) }

    /// Whether a plan made with `observed` sizes should be made again: a table's size read now
    /// differs from it by more than a factor of 2 and by more than 100 rows.
    func sizesChanged(since observed: [(table: TableSchema, rows: Double)]) -> Bool {
        observed.contains { table, rows in
            let now = liveRowCount(table)
            return abs(now - rows) > 100 && (now > 2 * rows || rows > 2 * now)
        }
    }
}
