// Computes the select list of each input row, followed by the keys that later operators read:
// ORDER BY keys (a select-list value or a hidden expression over the input row) and DISTINCT ON
// keys. A final ColumnOrderOperator drops the keys. Invisible in EXPLAIN, as in PostgreSQL's.
// When every value is a column of the input row (`SELECT a, b … ORDER BY c`), the row is built
// by copying those columns, without evaluators or an execution frame.

import BorealisStorage

final class ProjectOperator: PhysicalOperator {
    enum SortKey {
        case output(Int)
        case hidden(Evaluator)
        /// A hidden key that is a column of the input row.
        case hiddenColumn(Int)
    }

    let input: PhysicalOperator
    let items: [Evaluator]
    /// Per item, the input column it is when it is one (the copying path needs them all).
    let itemColumns: [Int?]
    let sortKeys: [SortKey]
    let distinctOn: [Evaluator]
    let columns: [ScopeColumn]

    init(input: PhysicalOperator, items: [Evaluator], itemColumns: [Int?]? = nil, names: [String], sortKeys: [SortKey], distinctOn: [Evaluator]) {
        self.input = input
        self.items = items
        self.itemColumns = itemColumns ?? items.map { _ in nil }
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
        if distinctOn.isEmpty, let copied = copiedColumns() {
            // SELECT * of one source: the input row is the output row.
            if copied == Array(input.columns.indices) { return next }
            return {
                guard let row = try next() else { return nil }
                var values: [Value] = []
                values.reserveCapacity(width)
                for i in copied { values.append(row[i]) }
                return values
            }
        }
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
                    case .hiddenColumn(let i): values.append(ctx.frames[ctx.frames.count - 1][i])
                    }
                }
                for e in distinctOn { values.append(try e(ctx)) }
                return values
            }
        }
    }

    /// The input column of each output value (items, then sort keys) when all are columns.
    private func copiedColumns() -> [Int]? {
        var copied: [Int] = []
        for column in itemColumns {
            guard let column else { return nil }
            copied.append(column)
        }
        for key in sortKeys {
            switch key {
            case .output(let i): copied.append(copied[i])
            case .hiddenColumn(let i): copied.append(i)
            case .hidden: return nil
            }
        }
        return copied
    }
}
