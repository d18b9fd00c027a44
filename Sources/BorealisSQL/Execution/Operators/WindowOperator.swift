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
        let next = try input.stream(ctx)
        let rows = try ctx.memory.materialize(next, for: self)
        // Handed over, not copied: the collector grows each row by its window values in place.
        return Planner.stream(try windows.apply(to: consume rows, ctx: ctx))
    }
}
