// Joins two inputs with no equality to hash on: the right input is read once per open into
// memory, and every left row is paired with every right row that passes the conditions. LEFT,
// RIGHT and FULL pad unmatched rows with NULLs, as HashJoinOperator does.

import BorealisStorage

final class NestedLoopJoinOperator: PhysicalOperator {
    let kind: JoinKind
    let left: PhysicalOperator
    let right: PhysicalOperator
    /// Over left + right columns.
    let conditions: [Evaluator]
    let conditionSQL: [String]
    let estimatedRows: Double
    let columns: [ScopeColumn]

    init(kind: JoinKind, left: PhysicalOperator, right: PhysicalOperator, conditions: [Evaluator], conditionSQL: [String],
         estimatedRows: Double) {
        self.kind = kind
        self.left = left
        self.right = right
        self.conditions = conditions
        self.conditionSQL = conditionSQL
        self.estimatedRows = estimatedRows
        columns = left.columns + right.columns
    }

    var children: [PhysicalOperator] { [left, right] }
    var label: String {
        switch kind {
        case .inner, .cross: return "Nested Loop"
        case .left: return "Nested Loop Left Join"
        case .right: return "Nested Loop Right Join"
        case .full: return "Nested Loop Full Join"
        }
    }
    var details: [String] { conditionSQL.isEmpty ? [] : ["Join Filter: " + conditionSQL.joined(separator: " AND ")] }

    func open(_ ctx: ExecutionContext) throws -> RowStream {
        let rightNext = try right.stream(ctx)
        let rightRows = try ctx.memory.materialize(rightNext, for: self)
        return joinStream(kind: kind, left: try left.stream(ctx), rightRows: rightRows, candidates: nil, conditions: conditions,
                          leftWidth: left.columns.count, rightWidth: right.columns.count, ctx: ctx)
    }
}
