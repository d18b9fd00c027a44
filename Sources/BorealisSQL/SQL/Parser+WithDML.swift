// WITH … UPDATE and WITH … DELETE: the CTEs in front of an UPDATE or DELETE. They are inlined
// when the statement is parsed: a FROM / USING item naming a CTE becomes the derived table
// `(WITH <the CTEs> SELECT * FROM name) AS name`, and every subquery of the statement (in SET,
// WHERE, RETURNING, FROM) gets the CTEs in front of its own WITH (its own CTE of the same name
// wins, as the inner scope does in PostgreSQL). The UPDATE and DELETE executors then see only
// derived tables and subqueries they already plan. A CTE read twice is evaluated twice, which
// changes nothing for a query without volatile functions.
//
// A data-modifying CTE (WITH d AS (DELETE … RETURNING …) UPDATE …) is 0A000 for now.

import BorealisStorage

extension Parser {
    /// UPDATE or DELETE after the WITH clause `with`.
    mutating func parseUpdateOrDelete(with: [CommonTableExpression], recursive: Bool) throws -> Statement {
        let verb = peek.text.uppercased()
        if with.contains(where: { $0.modifying != nil }) {
            throw DatabaseError(.error, sqlState: SQLState.featureNotSupported,
                                "a data-modifying statement in WITH before \(verb) is not supported yet")
        }
        let statement: Statement
        if acceptKeyword("update") { statement = try parseUpdate() } else { try expectKeyword("delete"); statement = try parseDelete() }
        let inliner = CTEInliner(with: with, recursive: recursive)
        switch statement {
        case .update(let table, let alias, let assignments, let from, let filter, let returning):
            return .update(table: table, alias: alias, assignments: assignments.map { ($0.0, inliner.expr($0.1)) },
                           from: from.map(inliner.fromItem), filter: filter.map(inliner.expr), returning: returning.map(inliner.item))
        case .delete(let table, let alias, let using, let filter, let returning):
            return .delete(table: table, alias: alias, using: using.map(inliner.fromItem), filter: filter.map(inliner.expr),
                           returning: returning.map(inliner.item))
        default:
            return statement
        }
    }
}

/// Puts a WITH clause's CTEs where an UPDATE or DELETE reads them (see the top of this file).
struct CTEInliner {
    let with: [CommonTableExpression]
    let recursive: Bool

    private var names: Set<String> { Set(with.map(\.name)) }

    /// `query` with the CTEs in front of its own (those it defines itself keep their meaning).
    func query(_ query: SelectStatement) -> SelectStatement {
        var q = query
        let own = Set(q.with.map(\.name))
        q.with = with.filter { !own.contains($0.name) } + q.with
        q.recursive = q.recursive || recursive
        return q
    }

    func fromItem(_ item: FromItem) -> FromItem {
        switch item {
        case .table(let name, let alias) where names.contains(name):
            let read = SelectStatement(body: .core(SelectCore(items: [.star(table: nil)], from: [.table(name: name, alias: nil)])))
            return .subquery(query(read), alias: alias ?? name, columns: [])
        case .table:
            return item
        case .subquery(let q, let alias, let columns):
            return .subquery(query(q), alias: alias, columns: columns)
        case .join(let a, let b, let kind, let on, let using, let natural):
            return .join(fromItem(a), fromItem(b), kind: kind, on: on.map(expr), using: using, natural: natural)
        case .function(let name, let args, let alias, let columns, let ordinality):
            return .function(name: name, args: args.map(expr), alias: alias, columns: columns, ordinality: ordinality)
        }
    }

    func expr(_ e: Expr) -> Expr {
        e.rewriting { sub in
            switch sub {
            case .subquery(let q): return .subquery(query(q))
            case .exists(let q, let negated): return .exists(query(q), negated: negated)
            case .arraySubquery(let q): return .arraySubquery(query(q))
            case .inSubquery(let a, let q, let negated): return .inSubquery(expr(a), query(q), negated: negated)
            case .quantified(let op, let a, let q, let all): return .quantified(op, expr(a), query(q), all: all)
            default: return nil
            }
        }
    }

    func item(_ item: SelectItem) -> SelectItem {
        guard case .expression(let e, let alias) = item else { return item }
        return .expression(expr(e), alias: alias)
    }
}
