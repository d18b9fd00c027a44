// A FROM item that depends on the rows before it (a set-returning function whose arguments use
// their columns): for each left row, the right side is opened and stepped with that row as the
// innermost enclosing frame, and each of its rows is joined to it. The frame is pushed only
// around the right side's own calls, so the frames of whatever consumes the joined rows stay
// as they were. A LEFT JOIN LATERAL keeps each left row (with NULLs) that no right row meets
// its ON conditions for.

import BorealisStorage

final class LateralJoinOperator: PhysicalOperator {
    let left: PhysicalOperator
    let right: PhysicalOperator
    let preservingLeft: Bool
    /// The ON conditions, over the joined row.
    let conditions: [Evaluator]

    init(left: PhysicalOperator, right: PhysicalOperator, preservingLeft: Bool = false, conditions: [Evaluator] = []) {
        self.left = left
        self.right = right
        self.preservingLeft = preservingLeft
        self.conditions = conditions
    }

    var columns: [ScopeColumn] { left.columns + right.columns }
    var children: [PhysicalOperator] { [left, right] }
    var label: String { preservingLeft ? "Nested Loop Left Join (lateral)" : "Nested Loop (lateral)" }
    var estimatedRows: Double { left.estimatedRows * right.estimatedRows }

    func open(_ ctx: ExecutionContext) throws -> RowStream {
        let outer = try left.stream(ctx)
        var current: [Value]?
        var inner: RowStream?
        var matched = false
        let right = right, conditions = conditions, preservingLeft = preservingLeft
        let nulls = [Value](repeating: .null, count: right.columns.count)
        return {
            while true {
                if let row = current, let next = inner {
                    while let match = try ctx.withFrame(row, { try next() }) {
                        let joined = row + match
                        if try ctx.withFrame(joined, { try conditions.allSatisfy { try $0(ctx).truth() == true } }) {
                            matched = true
                            return joined
                        }
                    }
                    inner = nil
                    if preservingLeft && !matched { return row + nulls }
                }
                guard let row = try outer() else { return nil }
                try ctx.pollInterrupt()
                current = row
                matched = false
                inner = try ctx.withFrame(row) { try right.stream(ctx) }
            }
        }
    }
}
