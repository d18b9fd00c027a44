// Joins two inputs with no equality to hash on: the right input is read once per open into
// memory, and every left row is paired with every right row that passes the conditions. LEFT,
// RIGHT and FULL pad unmatched rows with NULLs, as HashJoinOperator does.

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
        let kind = kind
        let conditions = conditions
        let rightNext = try right.stream(ctx)
        var rightRows: [[Value]] = []
        while let row = try rightNext() { rightRows.append(row) }
        let leftNext = try left.stream(ctx)
        var matched = [Bool](repeating: false, count: kind == .right || kind == .full ? rightRows.count : 0)
        let leftWidth = left.columns.count, rightWidth = right.columns.count
        var current: [Value] = []
        var position = rightRows.count
        var currentMatched = true
        var probing = true
        var unmatchedPosition = 0
        return {
            while probing {
                while position < rightRows.count {
                    let j = position
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
                guard let next = try leftNext() else {
                    probing = false
                    break
                }
                current = next
                position = 0
                currentMatched = false
            }
            guard kind == .right || kind == .full else { return nil }
            while unmatchedPosition < rightRows.count {
                let j = unmatchedPosition
                unmatchedPosition += 1
                if !matched[j] { return [Value](repeating: .null, count: leftWidth) + rightRows[j] }
            }
            return nil
        }
    }
}
