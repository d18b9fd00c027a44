// Window functions (WindowFunctions.swift): reads all its input, then appends each window
// call's value to every row, for the select list to read.

import BorealisStorage

final class WindowOperator: PhysicalOperator {
    let input: PhysicalOperator
    let windows: WindowCollector

    init(input: PhysicalOperator, windows: WindowCollector) {
        self.input = input
        self.windows = windows
    }

    var columns: [ScopeColumn] { input.columns }
    var children: [PhysicalOperator] { [input] }
    var label: String { "WindowAgg" }
    var estimatedRows: Double { input.estimatedRows }

    func open(_ ctx: ExecutionContext) throws -> RowStream {
        let rows: [[Value]]
        if let batches = try input.batches(ctx) {
            rows = try ctx.memory.materialize(batches, width: input.columns.count, extra: windows.calls.count, for: self)
        } else {
            rows = try ctx.memory.materialize(try input.stream(ctx), for: self)
        }
        // Handed over, not copied: the collector grows each row by its window values in place.
        return Planner.stream(try windows.apply(to: consume rows, ctx: ctx))
    }
}
