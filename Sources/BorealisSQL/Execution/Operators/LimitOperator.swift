// OFFSET and LIMIT: skips the first rows and stops after the wanted count, evaluated when the
// plan opens (they may be parameters).

import BorealisStorage

final class LimitOperator: PhysicalOperator {
    let input: PhysicalOperator
    /// (rows to skip, rows to keep or nil for all).
    let bounds: (ExecutionContext) throws -> (Int, Int?)
    let estimatedRows: Double

    init(input: PhysicalOperator, bounds: @escaping (ExecutionContext) throws -> (Int, Int?), estimatedRows: Double) {
        self.input = input
        self.bounds = bounds
        self.estimatedRows = estimatedRows
    }

    var columns: [ScopeColumn] { input.columns }
    var children: [PhysicalOperator] { [input] }
    var label: String { "Limit" }

    func open(_ ctx: ExecutionContext) throws -> RowStream {
        let (skip, keep) = try bounds(ctx)
        if keep == 0 { return { nil } }
        let next = try input.stream(ctx)
        var skipped = 0
        var emitted = 0
        return {
            while skipped < skip {
                guard try next() != nil else { return nil }
                skipped += 1
            }
            if let keep, emitted >= keep { return nil }
            guard let row = try next() else { return nil }
            emitted += 1
            return row
        }
    }
}
