// Joins each left row to the rows of a base table found through the table's row id or an index
// keyed by an expression over the left row: the table's access path is compiled with the left
// input's columns as its outer scope and opened inside a frame holding the left row (so its
// bounds read the left row at depth 1, exactly as a correlated subquery's do). Inner and LEFT
// joins; a LEFT join pads a left row that finds nothing with NULLs.

import BorealisStorage

final class IndexNestedLoopJoinOperator: PhysicalOperator {
    let kind: JoinKind
    let left: PhysicalOperator
    let table: TableSchema
    let alias: String
    let rightColumns: [ScopeColumn]
    /// The table's path, its bounds over the left row.
    let path: AccessPath
    let keySQL: [String]
    /// Over left + right columns: the join's and the table's own conjuncts.
    let conditions: [Evaluator]
    let conditionSQL: [String]
    let usage: ColumnUsage?
    let estimatedRows: Double
    let columns: [ScopeColumn]

    init(kind: JoinKind, left: PhysicalOperator, table: TableSchema, alias: String, rightColumns: [ScopeColumn], path: AccessPath,
         keySQL: [String], conditions: [Evaluator], conditionSQL: [String], usage: ColumnUsage?, estimatedRows: Double) {
        self.kind = kind
        self.left = left
        self.table = table
        self.alias = alias
        self.rightColumns = rightColumns
        self.path = path
        self.keySQL = keySQL
        self.conditions = conditions
        self.conditionSQL = conditionSQL
        self.usage = usage
        self.estimatedRows = estimatedRows
        columns = left.columns + rightColumns
    }

    var children: [PhysicalOperator] { [left] }
    var label: String { kind == .left ? "Index Nested Loop Left Join" : "Index Nested Loop" }
    var details: [String] {
        let on = "on \(table.name)" + (alias == table.name ? "" : " \(alias)")
        let probe: String
        switch path.kind {
        case .indexEquals(let index, _), .indexRange(let index, _, _): probe = "Probe: index \(index.name) \(on)"
        default: probe = "Probe: row id \(on)"
        }
        return [probe, "Index Cond: " + keySQL.joined(separator: " AND ")]
            + (conditionSQL.isEmpty ? [] : ["Join Filter: " + conditionSQL.joined(separator: " AND ")])
    }

    func open(_ ctx: ExecutionContext) throws -> RowStream {
        let kind = kind
        let conditions = conditions
        let path = path
        let table = table
        let wanted = usage?.decoding
        let rightWidth = rightColumns.count
        let leftNext = try left.stream(ctx)
        var current: [Value] = []
        var inner: RowStream = { nil }
        var currentMatched = true
        return {
            while true {
                while let row = try inner() {
                    let combined = current + row
                    if try rowPasses(combined, conditions, ctx) {
                        currentMatched = true
                        return combined
                    }
                }
                if !currentMatched && kind == .left {
                    currentMatched = true
                    inner = { nil }
                    return current + [Value](repeating: .null, count: rightWidth)
                }
                guard let next = try leftNext() else { return nil }
                current = next
                currentMatched = false
                inner = try ctx.withFrame(next) { try path.open(table: table, ctx: ctx, wanted: wanted) }
            }
        }
    }
}
