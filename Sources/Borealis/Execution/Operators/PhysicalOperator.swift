// The nodes a query plan is built of (docs/query-engine.md §"Operator contract"). A node is
// immutable once planned and shared by every execution of a cached plan: `open` returns the
// per-execution state as a stream of rows, so one node may be open several times at once.

protocol PhysicalOperator: AnyObject {
    /// What each output row holds, in order (hidden columns included).
    var columns: [ScopeColumn] { get }
    /// The inputs, for EXPLAIN.
    var children: [PhysicalOperator] { get }
    /// The EXPLAIN line: operator, access path, keys.
    var label: String { get }
    /// EXPLAIN lines under the label (filters, join conditions).
    var details: [String] { get }
    /// The planner's estimate of how many rows one open produces.
    var estimatedRows: Double { get }
    /// The node as EXPLAIN shows it (a node wrapping a whole query plan adds that plan's tree).
    var explainNode: ExplainNode { get }
    func open(_ ctx: ExecutionContext) throws -> RowStream
}

extension PhysicalOperator {
    var children: [PhysicalOperator] { [] }
    var details: [String] { [] }
    var explainNode: ExplainNode {
        ExplainNode(label: label, details: details, estimatedRows: estimatedRows, children: children.map(\.explainNode))
    }
}

/// One line of EXPLAIN's tree, with the lines below it.
struct ExplainNode {
    var label: String
    var details: [String] = []
    var estimatedRows: Double?
    var children: [ExplainNode] = []

    /// PostgreSQL's layout: the root flush left, each child on a line of its own starting `->`,
    /// six columns further right per level; details under their node.
    func lines(level: Int = 0) -> [String] {
        let rows = estimatedRows.map { "  (rows=\(Self.rounded($0)))" } ?? ""
        let head = level == 0 ? "" : String(repeating: " ", count: 6 * level - 4) + "->  "
        let detailIndent = String(repeating: " ", count: level == 0 ? 2 : 6 * level + 2)
        var out = [head + label + rows]
        out += details.map { detailIndent + $0 }
        for child in children { out += child.lines(level: level + 1) }
        return out
    }

    private static func rounded(_ estimate: Double) -> String {
        guard estimate.isFinite else { return "?" }
        return estimate >= 9.2e18 ? "9223372036854775807" : String(Int64(max(1, estimate.rounded())))
    }
}

/// Keeps the rows that pass every condition (compiled against the input's columns).
@inline(__always)
func rowPasses(_ row: [Value], _ conditions: [Evaluator], _ ctx: ExecutionContext) throws -> Bool {
    if conditions.isEmpty { return true }
    return try ctx.withFrame(row) {
        for condition in conditions where try condition(ctx).truth() != true { return false }
        return true
    }
}
