// Rewrites an expression's subexpressions, top down (not those inside its subqueries, which
// have scopes of their own): any that `replace` gives a replacement for, or its column
// references alone (`mappingColumns`).

import BorealisStorage

extension Expr {
    func mappingColumns(_ transform: (String?, String) throws -> Expr) rethrows -> Expr {
        try rewriting { e in
            if case .column(let t, let n) = e { return try transform(t, n) }
            return nil
        }
    }

    /// The expression with each outermost subexpression that `replace` answers replaced.
    func rewriting(_ replace: (Expr) throws -> Expr?) rethrows -> Expr {
        if let replacement = try replace(self) { return replacement }
        func m(_ e: Expr) throws -> Expr { try e.rewriting(replace) }
        switch self {
        case .column: return self
        case .literal, .parameter, .exists, .subquery, .defaultValue, .arraySubquery: return self
        case .array(let items): return .array(try items.map(m))
        case .quantifiedArray(let op, let a, let b, let all): return .quantifiedArray(op, try m(a), try m(b), all: all)
        case .subscripted(let base, let subscripts):
            return .subscripted(try m(base), try subscripts.map { ArraySubscript(lower: try $0.lower.map(m), upper: try $0.upper.map(m), isSlice: $0.isSlice) })
        case .unary(let op, let a): return .unary(op, try m(a))
        case .binary(let op, let a, let b): return .binary(op, try m(a), try m(b))
        case .isNull(let a, let n): return .isNull(try m(a), negated: n)
        case .isBoolean(let a, let v, let n): return .isBoolean(try m(a), value: v, negated: n)
        case .between(let a, let b, let c, let n): return .between(try m(a), low: try m(b), high: try m(c), negated: n)
        case .inList(let a, let list, let n): return .inList(try m(a), try list.map(m), negated: n)
        case .inSubquery(let a, let s, let n): return .inSubquery(try m(a), s, negated: n)
        case .quantified(let op, let a, let s, let all): return .quantified(op, try m(a), s, all: all)
        case .caseWhen(let base, let whens, let otherwise):
            return .caseWhen(base: try base.map(m), whens: try whens.map { (try m($0.0), try m($0.1)) }, otherwise: try otherwise.map(m))
        case .cast(let a, let type): return .cast(try m(a), type)
        case .function(let name, let args, let distinct, let star):
            return .function(name: name, args: try args.map(m), distinct: distinct, star: star)
        case .like(let a, let p, let esc, let ci, let n):
            return .like(try m(a), pattern: try m(p), escape: try esc.map(m), caseInsensitive: ci, negated: n)
        case .aggregateFilter(let call, let condition): return .aggregateFilter(try m(call), try m(condition))
        case .orderedAggregate(let call, let order):
            return .orderedAggregate(try m(call), try order.map { item in
                var item = item
                item.expr = try m(item.expr)
                return item
            })
        case .window(let call, var spec):
            spec.partition = try spec.partition.map(m)
            spec.order = try spec.order.map { item in
                var item = item
                item.expr = try m(item.expr)
                return item
            }
            return .window(try m(call), spec)
        }
    }
}
