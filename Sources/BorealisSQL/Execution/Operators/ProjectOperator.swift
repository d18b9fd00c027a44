// Computes the select list of each input row, followed by the keys that later operators read:
// ORDER BY keys (a select-list value or a hidden expression over the input row) and DISTINCT ON
// keys. A final ColumnOrderOperator drops the keys. Invisible in EXPLAIN, as in PostgreSQL's.

import BorealisStorage

final class ProjectOperator: PhysicalOperator {
    enum SortKey {
        case output(Int)
        case hidden(Evaluator)
    }

    let input: PhysicalOperator
    let items: [Evaluator]
    let sortKeys: [SortKey]
    let distinctOn: [Evaluator]
    let columns: [ScopeColumn]

    init(input: PhysicalOperator, items: [Evaluator], names: [String], sortKeys: [SortKey], distinctOn: [Evaluator]) {
        self.input = input
        self.items = items
        self.sortKeys = sortKeys
        self.distinctOn = distinctOn
        columns = names.map { ScopeColumn(table: nil, name: $0) }
            + [ScopeColumn](repeating: ScopeColumn(table: nil, name: "?key?", hidden: true), count: sortKeys.count + distinctOn.count)
    }

    var children: [PhysicalOperator] { [input] }
    var label: String { input.label }
    var estimatedRows: Double { input.estimatedRows }
    var explainNode: ExplainNode { input.explainNode }

    func open(_ ctx: ExecutionContext) throws -> RowStream {
        let next = try input.stream(ctx)
        let items = items, sortKeys = sortKeys, distinctOn = distinctOn
        let width = columns.count
        return {
            guard let row = try next() else { return nil }
            return try ctx.withFrame(row) {
                var values: [Value] = []
                values.reserveCapacity(width)
                for item in items { values.append(try item(ctx)) }
                for key in sortKeys {
                    switch key {
                    case .output(let i): values.append(values[i])
                    case .hidden(let e): values.append(try e(ctx))
                    }
                }
                for e in distinctOn { values.append(try e(ctx)) }
                return values
            }
        }
    }
}
