// The parts of expression compilation that reach outside the row: aggregate calls (their
// arguments compiled over the input rows, their results read from the group's frame), a length
// function over a column the scan may hand over as its length, and subqueries' values.

import BorealisStorage

extension ExpressionCompiler {
    func compileAggregate(_ name: String, _ args: [Expr], distinct: Bool, star: Bool, key: String, filter: Expr? = nil,
                          order: [OrderItem] = []) throws -> Evaluator {
        guard let aggregation else {
            throw DatabaseError(.error, sqlState: SQLState.groupingError, "aggregate functions are not allowed in \(clause)")
        }
        // The argument is evaluated on input rows, before aggregation.
        var inner = ExpressionCompiler(scope: aggregation.inputScope, planner: planner, aggregation: nil)
        inner.clause = "aggregate function calls"
        if !star && args.isEmpty && name != "count" {
            throw DatabaseError(.error, sqlState: SQLState.undefinedFunction, "function \(name)() does not exist")
        }
        // string_agg of char values takes them as text, without their trailing blanks.
        let compiled = name == "string_agg" || name == "group_concat" ? inner.characterArguments(name, args) : args
        let argument = try compiled.first.map { try inner.compile($0) }
        let extra = args.count > 1 ? try inner.compile(args[1]) : nil
        let orderedSet = AggregateState.orderedSetNames.contains(name)
        if orderedSet, order.count != 1 || args.count != (name == "mode" ? 1 : 2) {
            throw DatabaseError(.error, sqlState: SQLState.undefinedFunction,
                                "WITHIN GROUP is required for ordered-set aggregate \(name), with \(name == "mode" ? "no" : "one") direct argument")
        }
        let pairs = ["string_agg", "group_concat", "json_object_agg", "jsonb_object_agg", "percentile_cont", "percentile_disc"].contains(name)
        if args.count > (pairs ? 2 : 1) || (name.hasSuffix("object_agg") && args.count != 2) {
            throw DatabaseError(.error, sqlState: SQLState.undefinedFunction, "function \(name) takes \(pairs ? 2 : 1) argument(s)")
        }
        let filterEvaluator = try filter.map { try inner.compile($0) }
        var argumentColumn: Int?
        if !star, case .column(let table, let column)? = args.first, let (depth, index) = try aggregation.inputScope.resolve(table: table, name: column), depth == 0,
           aggregation.inputScope.columns[index].padding == nil {   // a char(n) column reads padded
            argumentColumn = index
        }
        if distinct, !order.isEmpty, !order.allSatisfy({ item in args.contains { $0.sql == item.expr.sql } }) {
            throw DatabaseError(.error, sqlState: SQLState.invalidColumnReference,
                                "in an aggregate with DISTINCT, ORDER BY expressions must appear in argument list")
        }
        var call = AggregateCollector.Call(name: name, argument: star ? nil : argument, argumentColumn: argumentColumn, extra: extra,
                                           distinct: distinct, filter: filterEvaluator, key: key)
        call.order = try order.map { try inner.compile($0.expr) }
        call.ordering = order.map { AggregateState.SortKey(descending: $0.descending, nullsFirst: $0.nullsFirst ?? $0.descending) }
        if name.hasPrefix("json") { call.argumentTypes = args.map(inner.staticType) }
        let slot = aggregation.slot(for: call)
        let offset = aggregation.groupKeys.count + slot
        return { ctx in ctx.frames[ctx.frames.count - 1][offset] }
    }

    /// `length(c)`, `char_length(c)` or `octet_length(c)` of a text column of a base table in
    /// this query's FROM: the scan may hand the column over as that length (`ColumnUsage`),
    /// which the call then returns as it is; otherwise it computes it from the value.
    func compileLengthOfColumn(_ name: String, _ args: [Expr]) throws -> Evaluator? {
        let kind: ColumnDecode
        switch name {
        case "length", "char_length", "character_length": kind = .characterLength
        case "octet_length": kind = .octetLength
        default: return nil
        }
        guard aggregation == nil, args.count == 1, case .column(let table, let columnName) = args[0],
              let (depth, index) = try scope.resolve(table: table, name: columnName, markingRead: false), depth == 0 else { return nil }
        let column = scope.columns[index]
        guard let usage = column.usage, column.type?.isText == true, column.padding == nil else { return nil }
        let ordinal = column.ordinal
        usage.markLengthRead(ordinal, kind)
        let general = try FunctionRegistry.compile(name, [{ ctx in ctx.frames[ctx.frames.count - 1][index] }], argumentTypes: [column.type])
        return { ctx in
            if case .integer = ctx.frames[ctx.frames.count - 1][index], usage.decodesLength(ordinal, kind) {
                return ctx.frames[ctx.frames.count - 1][index]
            }
            return try general(ctx)
        }
    }

    /// A subquery compiled once; its rows are cached per statement when it is uncorrelated.
    func compileSubqueryValues(_ query: SelectStatement, requireOneColumn: Bool, columns: Int? = nil) throws -> (ExecutionContext) throws -> [[Value]] {
        // Subqueries see the current query's columns as their outer scope.
        let childParent = aggregation.map { agg in Scope(columns: [], parent: agg.inputScope.parent) } ?? scope
        let plan = try planner.plan(query, parent: childParent)
        planner.noteSubplan(plan)
        if requireOneColumn && plan.columns.count != 1 {
            throw DatabaseError(.error, sqlState: SQLState.syntaxError, "subquery must return only one column")
        }
        if let columns, plan.columns.count != columns {
            throw DatabaseError(.error, sqlState: SQLState.syntaxError,
                                "subquery has too \(plan.columns.count > columns ? "many" : "few") columns")
        }
        let correlated = childParent.referencedFromInside
        let box = SubqueryBox()
        return { ctx in
            if !correlated, let cached = ctx.subqueryCache[ObjectIdentifier(box)] as? [[Value]] { return cached }
            let rows = try plan.run(ctx)
            if !correlated { ctx.subqueryCache[ObjectIdentifier(box)] = rows }
            return rows
        }
    }
}
