// Rows of a whole query used as a FROM item: a derived table, a view, or a WITH query (whose
// plan caches its rows per statement). Streams the query's rows under the item's column names.

import BorealisStorage

final class SubqueryScanOperator: PhysicalOperator {
    let label: String
    let columns: [ScopeColumn]
    let plan: QueryPlan

    init(label: String, columns: [ScopeColumn], plan: QueryPlan) {
        self.label = label
        self.columns = columns
        self.plan = plan
    }

    var estimatedRows: Double { plan.estimatedRows }
    var explainNode: ExplainNode {
        ExplainNode(label: label, estimatedRows: estimatedRows, children: [plan.explainNode], operatorID: ObjectIdentifier(self))
    }

    func open(_ ctx: ExecutionContext) throws -> RowStream { try plan.open(ctx) }
}

/// The single empty row a query without FROM reads, kept when the conditions (which can only
/// be about constants, parameters and outer rows) hold.
final class OneRowOperator: PhysicalOperator {
    let conditions: [Evaluator]
    let conditionSQL: [String]

    init(conditions: [Evaluator], conditionSQL: [String]) {
        self.conditions = conditions
        self.conditionSQL = conditionSQL
    }

    var columns: [ScopeColumn] { [] }
    var label: String { "Result" }
    var details: [String] { conditionSQL.isEmpty ? [] : ["One-Time Filter: " + conditionSQL.joined(separator: " AND ")] }
    var estimatedRows: Double { 1 }

    func open(_ ctx: ExecutionContext) throws -> RowStream {
        var done = try !rowPasses([], conditions, ctx)
        return {
            if done { return nil }
            done = true
            return []
        }
    }
}

/// Puts a join's columns back in the order the FROM clause wrote them (the join planner may
/// join the items in another order); invisible in EXPLAIN.
final class ColumnOrderOperator: PhysicalOperator {
    let input: PhysicalOperator
    /// Output column i is input column `order[i]`.
    let order: [Int]
    let columns: [ScopeColumn]

    init(input: PhysicalOperator, order: [Int]) {
        self.input = input
        self.order = order
        columns = order.map { input.columns[$0] }
    }

    var children: [PhysicalOperator] { [input] }
    var label: String { input.label }
    var estimatedRows: Double { input.estimatedRows }
    var explainNode: ExplainNode { input.explainNode }

    func open(_ ctx: ExecutionContext) throws -> RowStream {
        let next = try input.stream(ctx)
        let order = order
        return {
            guard let row = try next() else { return nil }
            var out: [Value] = []
            out.reserveCapacity(order.count)
            for i in order { out.append(row[i]) }
            return out
        }
    }
}

/// A whole query's rows as the input of operators above it (ORDER BY and LIMIT over a set
/// operation); invisible in EXPLAIN, which shows the query's own tree.
final class QueryPlanOperator: PhysicalOperator {
    let plan: QueryPlan

    init(plan: QueryPlan) { self.plan = plan }

    var columns: [ScopeColumn] { plan.columns.map { ScopeColumn(table: nil, name: $0) } }
    var label: String { plan.explainNode.label }
    var estimatedRows: Double { plan.estimatedRows }
    var explainNode: ExplainNode { plan.explainNode }

    func open(_ ctx: ExecutionContext) throws -> RowStream { try plan.open(ctx) }
}
