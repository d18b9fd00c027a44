// A set-returning call in the select list of an aggregated query (`SELECT unnest(array_agg(x))
// FROM t`, `SELECT g, generate_series(1, count(*)) FROM t GROUP BY g`): PostgreSQL runs the
// call after the grouping, once per group row (its ProjectSet above the Agg). Borealis gets
// the same by planning the grouped query as a derived table and joining the call LATERAL to
// it:
//
//   SELECT c0 AS g, srf AS unnest FROM (SELECT g AS c0, array_agg(x) AS a0 FROM t GROUP BY g) q,
//          unnest(q.a0) AS srf
//
// Also here, PostgreSQL's 0A000 for a set-returning call inside an aggregate's arguments
// (`sum(generate_series(1, 3))`), which the select-list rewrite would otherwise accept.

import BorealisStorage

extension TableFunctions {
    /// The derived table's alias and column names: names no query can write.
    static let groupedAlias = "\u{1}grouped"

    /// 0A000 when an aggregate call's arguments hold a set-returning call.
    static func refuseSetReturningInAggregates(_ e: Expr) throws {
        var found = false
        Planner.walk(e) { node in
            guard case .function(let name, let args, _, _) = node, ExpressionCompiler.aggregateNames.contains(name) else { return }
            for arg in args {
                Planner.walk(arg) { if case .function(let inner, _, _, _) = $0, isTableFunction(inner) { found = true } }
            }
        }
        if found {
            throw DatabaseError(.error, sqlState: SQLState.featureNotSupported,
                                "aggregate function calls cannot contain set-returning function calls\nHINT:  You might be able to move the set-returning function into a LATERAL FROM item.")
        }
    }

    /// Whether `core` aggregates (GROUP BY, HAVING, or an aggregate call in its select list).
    static func isAggregated(_ core: SelectCore) -> Bool {
        if !core.groupBy.isEmpty || core.having != nil { return true }
        return core.items.contains { item in
            guard case .expression(let e, _) = item else { return false }
            return Planner.containsAggregate(e)
        }
    }

    /// The aggregated `core` with its one select-list set-returning call `name(args)` run over
    /// the grouped rows (see the top of this file). Each other item must hold no such call.
    static func groupedThenSetReturning(_ core: SelectCore, name: String, args: [Expr]) throws -> SelectCore {
        var inner = core
        inner.items = []
        inner.distinct = false
        inner.distinctOn = []
        inner.into = nil
        var outerItems: [SelectItem] = []
        for (i, item) in core.items.enumerated() {
            guard case .expression(let e, let alias) = item else {
                throw DatabaseError(.error, sqlState: SQLState.featureNotSupported,
                                    "* beside a set-returning function over an aggregate is not supported yet")
            }
            if case .column(selectListAlias, _) = e {
                outerItems.append(.expression(e, alias: alias ?? name))
                continue
            }
            var holdsCall = false
            Planner.walk(e) { if case .column(selectListAlias, _) = $0 { holdsCall = true } }
            if holdsCall {
                throw DatabaseError(.error, sqlState: SQLState.featureNotSupported,
                                    "a set-returning function over an aggregate inside a larger expression is not supported yet")
            }
            let column = "\u{1}c\(i)"
            inner.items.append(.expression(e, alias: column))
            outerItems.append(.expression(.column(table: groupedAlias, name: column), alias: alias ?? Planner.outputName(e)))
        }
        var innerArgs: [Expr] = []
        for (j, arg) in args.enumerated() {
            let column = "\u{1}a\(j)"
            inner.items.append(.expression(arg, alias: column))
            innerArgs.append(.column(table: groupedAlias, name: column))
        }
        var outer = SelectCore()
        outer.distinct = core.distinct
        outer.distinctOn = core.distinctOn
        outer.into = core.into
        outer.items = outerItems
        let grouped = FromItem.subquery(SelectStatement(body: .core(inner)), alias: groupedAlias, columns: [])
        let call = FromItem.function(name: name, args: innerArgs, alias: selectListAlias, columns: [name], ordinality: false)
        outer.from = [.join(grouped, call, kind: .cross, on: nil, using: [], natural: false)]
        return outer
    }
}
