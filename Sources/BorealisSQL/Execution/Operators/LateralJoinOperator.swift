// A FROM item that depends on the rows before it (a set-returning function whose arguments use
// their columns): for each left row, the right side is opened and stepped with that row as the
// innermost enclosing frame, and each of its rows is joined to it. The frame is pushed only
// around the right side's own calls, so the frames of whatever consumes the joined rows stay
// as they were.

import BorealisStorage

final class LateralJoinOperator: PhysicalOperator {
    let left: PhysicalOperator
    let right: PhysicalOperator

    init(left: PhysicalOperator, right: PhysicalOperator) {
        self.left = left
        self.right = right
    }

    var columns: [ScopeColumn] { left.columns + right.columns }
    var children: [PhysicalOperator] { [left, right] }
    var label: String { "Nested Loop (lateral)" }
    var estimatedRows: Double { left.estimatedRows * right.estimatedRows }

    func open(_ ctx: ExecutionContext) throws -> RowStream {
        let outer = try left.stream(ctx)
        var current: [Value]?
        var inner: RowStream?
        let right = right
        return {
            while true {
                if let row = current, let next = inner {
                    if let match = try ctx.withFrame(row, { try next() }) { return row + match }
                    inner = nil
                }
                guard let row = try outer() else { return nil }
                try ctx.pollInterrupt()
                current = row
                inner = try ctx.withFrame(row) { try right.stream(ctx) }
            }
        }
    }
}
