// Passes on the input rows for which every condition is true (NULL and false drop the row).

import BorealisStorage

final class FilterOperator: PhysicalOperator {
    let input: PhysicalOperator
    let conditions: [Evaluator]
    let conditionSQL: [String]
    let estimatedRows: Double

    init(input: PhysicalOperator, conditions: [Evaluator], conditionSQL: [String], estimatedRows: Double) {
        self.input = input
        self.conditions = conditions
        self.conditionSQL = conditionSQL
        self.estimatedRows = estimatedRows
    }

    var columns: [ScopeColumn] { input.columns }
    var children: [PhysicalOperator] { [input] }
    var label: String { "Filter" }
    var details: [String] { ["Filter: " + conditionSQL.joined(separator: " AND ")] }

    func open(_ ctx: ExecutionContext) throws -> RowStream {
        let next = try input.stream(ctx)
        let conditions = conditions
        return {
            while let row = try next() {
                if try rowPasses(row, conditions, ctx) { return row }
            }
            return nil
        }
    }
}
