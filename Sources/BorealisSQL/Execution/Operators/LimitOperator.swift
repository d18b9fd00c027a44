// OFFSET and LIMIT: skips the first rows and stops after the wanted count, evaluated when the
// plan opens (they may be parameters). With FETCH … WITH TIES it goes on while the rows' sort
// keys (the columns `ties` of its sorted input) equal those of the last row counted.

import BorealisStorage

final class LimitOperator: PhysicalOperator {
    let input: PhysicalOperator
    /// (rows to skip, rows to keep or nil for all).
    let bounds: (ExecutionContext) throws -> (Int, Int?)
    let estimatedRows: Double
    let ties: Range<Int>?

    init(input: PhysicalOperator, bounds: @escaping (ExecutionContext) throws -> (Int, Int?), estimatedRows: Double, ties: Range<Int>? = nil) {
        self.input = input
        self.bounds = bounds
        self.estimatedRows = estimatedRows
        self.ties = ties
    }

    var columns: [ScopeColumn] { input.columns }
    var children: [PhysicalOperator] { [input] }
    var label: String { ties == nil ? "Limit" : "Limit (with ties)" }

    func open(_ ctx: ExecutionContext) throws -> RowStream {
        let (skip, keep) = try bounds(ctx)
        if keep == 0 { return { nil } }
        let next = try input.stream(ctx)
        var skipped = 0
        var emitted = 0
        var last: [Value] = []
        var finished = false
        let ties = ties
        return {
            if finished { return nil }
            while skipped < skip {
                guard try next() != nil else { return nil }
                skipped += 1
            }
            if let keep, emitted >= keep {
                // Past the count, a row whose sort keys equal the last counted row's is a tie.
                guard let ties, keep > 0, let row = try next(), row.count >= ties.upperBound else { finished = true; return nil }
                for i in ties where try Value.compare(row[i], last[i - ties.lowerBound]) != 0 {
                    if !(row[i].isNull && last[i - ties.lowerBound].isNull) { finished = true; return nil }
                }
                return row
            }
            guard let row = try next() else { return nil }
            emitted += 1
            if let ties, let keep, emitted == keep, row.count >= ties.upperBound { last = Array(row[ties]) }
            return row
        }
    }
}
