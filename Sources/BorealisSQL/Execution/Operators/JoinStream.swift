// The loop both in-memory joins share: each left row against the right rows that may match it
// (all of them, or a hash table's candidates), kept when the join conditions hold; LEFT and
// FULL pad a left row that matched nothing with NULLs, RIGHT and FULL emit the right rows that
// matched nothing at the end, padded on the left.

/// Joins a stream of left rows to `rightRows` held in memory. `candidates` gives the positions
/// of the right rows a left row may match (nil: every right row).
import BorealisStorage

func joinStream(kind: JoinKind, left: @escaping RowStream, rightRows: [[Value]], candidates: (([Value]) throws -> [Int])?,
                conditions: [Evaluator], leftWidth: Int, rightWidth: Int, ctx: ExecutionContext) -> RowStream {
    var matched = [Bool](repeating: false, count: kind == .right || kind == .full ? rightRows.count : 0)
    var current: [Value] = []
    var positions: [Int] = []
    var position = 0
    var count = 0
    var currentMatched = true
    var probing = true
    var unmatchedPosition = 0
    return {
        while probing {
            while position < count {
                try ctx.pollInterrupt()
                let j = candidates == nil ? position : positions[position]
                position += 1
                let combined = current + rightRows[j]
                if try rowPasses(combined, conditions, ctx) {
                    currentMatched = true
                    if !matched.isEmpty { matched[j] = true }
                    return combined
                }
            }
            if !currentMatched && (kind == .left || kind == .full) {
                currentMatched = true
                return current + [Value](repeating: .null, count: rightWidth)
            }
            guard let next = try left() else {
                probing = false
                break
            }
            current = next
            position = 0
            currentMatched = false
            if let candidates {
                positions = try candidates(next)
                count = positions.count
            } else {
                count = rightRows.count
            }
        }
        guard !matched.isEmpty else { return nil }
        while unmatchedPosition < rightRows.count {
            let j = unmatchedPosition
            unmatchedPosition += 1
            if !matched[j] { return [Value](repeating: .null, count: leftWidth) + rightRows[j] }
        }
        return nil
    }
}
