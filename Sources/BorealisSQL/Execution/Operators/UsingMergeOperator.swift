// The merged columns of an outer join's USING (or NATURAL) list, put in front of each joined
// row: the left side's value in a LEFT join, the right side's in a RIGHT join, the first not
// NULL of the two in a FULL join. Invisible in EXPLAIN.

import BorealisStorage

final class UsingMergeOperator: PhysicalOperator {
    let input: PhysicalOperator
    let kind: JoinKind
    /// For each merged column: its position on the left side and on the right side of the row.
    let pairs: [(left: Int, right: Int)]

    init(input: PhysicalOperator, kind: JoinKind, pairs: [(Int, Int)]) {
        self.input = input
        self.kind = kind
        self.pairs = pairs.map { (left: $0.0, right: $0.1) }
    }

    var columns: [ScopeColumn] { pairs.map { input.columns[$0.left] } + input.columns }
    var children: [PhysicalOperator] { [input] }
    var label: String { input.label }
    var estimatedRows: Double { input.estimatedRows }
    var explainNode: ExplainNode { input.explainNode }

    func open(_ ctx: ExecutionContext) throws -> RowStream {
        let next = try input.stream(ctx)
        let pairs = pairs, kind = kind
        return {
            guard let row = try next() else { return nil }
            var out: [Value] = []
            out.reserveCapacity(pairs.count + row.count)
            for (l, r) in pairs {
                switch kind {
                case .right: out.append(row[r])
                case .full: out.append(row[l].isNull ? row[r] : row[l])
                default: out.append(row[l])
                }
            }
            out.append(contentsOf: row)
            return out
        }
    }
}
