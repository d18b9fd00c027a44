// The nodes a query plan is built of (docs/query-engine.md §"Operator contract"). A node is
// immutable once planned and shared by every execution of a cached plan: `open` returns the
// per-execution state as a stream of rows, so one node may be open several times at once.

import BorealisStorage

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
    /// The output in batches (RowBatch.swift), for an operator that fills many rows per call;
    /// nil (the default) when it produces rows one at a time.
    func openBatches(_ ctx: ExecutionContext) throws -> BatchStream?
}

extension PhysicalOperator {
    var children: [PhysicalOperator] { [] }
    func openBatches(_ ctx: ExecutionContext) throws -> BatchStream? { nil }
    var details: [String] { [] }
    var explainNode: ExplainNode {
        ExplainNode(label: label, details: details, estimatedRows: estimatedRows, children: children.map(\.explainNode),
                    operatorID: ObjectIdentifier(self))
    }

    /// Opens the operator: what every parent calls. Under EXPLAIN ANALYZE (`ctx.profile`) the
    /// stream also counts the operator's opens, rows and time (its children's included).
    func stream(_ ctx: ExecutionContext) throws -> RowStream {
        guard let profile = ctx.profile else { return try open(ctx) }
        let id = ObjectIdentifier(self)
        let clock = ContinuousClock()
        let start = clock.now
        let next = try open(ctx)
        var elapsed = clock.now - start
        profile.record(id) { $0.loops += 1 }
        profile.record(id) { $0.time += elapsed }
        return {
            let start = clock.now
            let row = try next()
            elapsed = clock.now - start
            profile.record(id) {
                $0.time += elapsed
                if row != nil { $0.rows += 1 }
            }
            return row
        }
    }
}

/// What each operator did during one EXPLAIN ANALYZE run.
final class OperatorProfile {
    struct Counts {
        var loops = 0
        var rows = 0
        var time = Duration.zero
    }
    private(set) var counts: [ObjectIdentifier: Counts] = [:]

    func record(_ id: ObjectIdentifier, _ change: (inout Counts) -> Void) {
        change(&counts[id, default: Counts()])
    }

    /// `node` and its children with the actual figures appended to each operator's line.
    func annotate(_ node: ExplainNode) -> ExplainNode {
        var node = node
        if let id = node.operatorID {
            let c = counts[id] ?? Counts()
            let ms = Double(c.time.components.seconds) * 1000 + Double(c.time.components.attoseconds) / 1e15
            node.actual = c.loops == 0 ? "(never executed)"
                : "(actual time=\(cFormat("%.3f", ms)) ms rows=\(c.loops > 0 ? c.rows / c.loops : 0) loops=\(c.loops))"
        }
        node.children = node.children.map(annotate)
        return node
    }
}

/// One line of EXPLAIN's tree, with the lines below it.
struct ExplainNode {
    var label: String
    var details: [String] = []
    var estimatedRows: Double?
    var children: [ExplainNode] = []
    /// The operator the line describes (EXPLAIN ANALYZE finds its figures by it).
    var operatorID: ObjectIdentifier?
    /// EXPLAIN ANALYZE's figures for the line.
    var actual: String?

    /// PostgreSQL's layout: the root flush left, each child on a line of its own starting `->`,
    /// six columns further right per level; details under their node.
    func lines(level: Int = 0) -> [String] {
        let rows = estimatedRows.map { "  (rows=\(Self.rounded($0)))" } ?? ""
        let head = level == 0 ? "" : String(repeating: " ", count: 6 * level - 4) + "->  "
        let detailIndent = String(repeating: " ", count: level == 0 ? 2 : 6 * level + 2)
        var out = [head + label + rows + (actual.map { " " + $0 } ?? "")]
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
