// What the planner asks of expressions and queries: a stream over computed rows, GROUP BY's
// functional dependencies, output column names, and walks that find windows, aggregates,
// subqueries and column references, or qualify columns by their FROM items.

import BorealisStorage

extension Planner {
    static func stream(_ rows: [[Value]]) -> RowStream {
        var position = 0
        return {
            guard position < rows.count else { return nil }
            defer { position += 1 }
            return rows[position]
        }
    }

    // MARK: Expression analysis

    /// The columns that GROUP BY `keys` determine without naming them: every column of a base
    /// table whose whole primary key is among the keys (PostgreSQL's functional dependency:
    /// `SELECT c.id, c.name … GROUP BY c.id`). Grouping by them as well changes no group.
    func functionallyDependentColumns(_ keys: [Expr], _ from: [FromItem], _ scope: Scope) -> [Expr] {
        var tables: [(label: String, name: String)] = []
        func collect(_ item: FromItem) {
            switch item {
            case .table(let name, let alias): if catalog.tables[name] != nil, cteBinding(name) == nil { tables.append((alias ?? name, name)) }
            case .join(let l, let r, _, _, _, _): collect(l); collect(r)
            default: break
            }
        }
        from.forEach(collect)
        guard !tables.isEmpty else { return [] }
        // Each key as (table label, column) when it is a plain column of this query.
        var keyed = Set<String>()
        for key in keys {
            guard case .column(let t, let n) = key, let (depth, index) = try? scope.resolve(table: t, name: n, markingRead: false), depth == 0 else { continue }
            keyed.insert("\(scope.columns[index].table ?? "")\u{0}\(scope.columns[index].name)")
        }
        var extra: [Expr] = []
        for (label, name) in tables {
            guard let table = catalog.tables[name], !table.primaryKey.isEmpty,
                  table.primaryKey.allSatisfy({ keyed.contains("\(label)\u{0}\($0)") }) else { continue }
            for column in table.columns where !keyed.contains("\(label)\u{0}\(column.name)") {
                extra.append(.column(table: label, name: column.name))
            }
        }
        return extra
    }

    static func outputName(_ e: Expr) -> String {
        switch e {
        case .column(_, let name): return name
        case .function(let name, _, _, _): return name
        case .cast(let inner, let type):
            if case .column = inner { return outputName(inner) }
            return (type.type.elementType ?? type.type).internalName
        case .window(let call, _): return outputName(call)
        case .aggregateFilter(let call, _), .orderedAggregate(let call, _): return outputName(call)
        case .caseWhen: return "case"
        case .exists: return "exists"
        case .array, .arraySubquery: return "array"
        case .subscripted(let base, _): return outputName(base) == "?column?" ? "?column?" : outputName(base)
        case .subquery(let q):
            if case .core(let core) = q.body, core.items.count == 1, case .expression(let inner, let alias) = core.items[0] {
                return alias ?? outputName(inner)
            }
            return "?column?"
        default: return "?column?"
        }
    }

    /// Visits e and its sub-expressions, not descending into subqueries.
    static func walk(_ e: Expr, _ visit: (Expr) -> Void) {
        visit(e)
        switch e {
        case .unary(_, let a), .isNull(let a, _), .isBoolean(let a, _, _), .cast(let a, _), .inSubquery(let a, _, _), .quantified(_, let a, _, _):
            walk(a, visit)
        case .binary(_, let a, let b):
            walk(a, visit); walk(b, visit)
        case .between(let a, let b, let c, _):
            walk(a, visit); walk(b, visit); walk(c, visit)
        case .inList(let a, let list, _):
            walk(a, visit); list.forEach { walk($0, visit) }
        case .caseWhen(let base, let whens, let otherwise):
            base.map { walk($0, visit) }
            for (w, t) in whens { walk(w, visit); walk(t, visit) }
            otherwise.map { walk($0, visit) }
        case .function(_, let args, _, _), .array(let args):
            args.forEach { walk($0, visit) }
        case .quantifiedArray(_, let a, let b, _):
            walk(a, visit); walk(b, visit)
        case .subscripted(let base, let subscripts):
            walk(base, visit)
            for s in subscripts { s.lower.map { walk($0, visit) }; s.upper.map { walk($0, visit) } }
        case .like(let a, let p, let esc, _, _):
            walk(a, visit); walk(p, visit); esc.map { walk($0, visit) }
        case .aggregateFilter(let call, let condition):
            walk(call, visit); walk(condition, visit)
        case .orderedAggregate(let call, let order):
            walk(call, visit); order.forEach { walk($0.expr, visit) }
        case .window(let call, let spec):
            // The call itself is not a grouping aggregate; its arguments and spec may hold some.
            var inner = call
            if case .aggregateFilter(let c, let condition) = call { inner = c; walk(condition, visit) }
            if case .function(_, let args, _, _) = inner { args.forEach { walk($0, visit) } }
            spec.partition.forEach { walk($0, visit) }
            spec.order.forEach { walk($0.expr, visit) }
        default: break
        }
    }

    static func containsWindow(_ e: Expr) -> Bool {
        var found = false
        walk(e) { if case .window = $0 { found = true } }
        return found
    }

    static func containsAggregate(_ e: Expr) -> Bool {
        var found = false
        walk(e) { if case .function(let name, _, _, _) = $0, ExpressionCompiler.aggregateNames.contains(name) { found = true } }
        return found
    }

    static func containsSubquery(_ e: Expr) -> Bool {
        var found = false
        walk(e) {
            switch $0 {
            case .subquery, .exists, .inSubquery, .quantified, .arraySubquery: found = true
            default: break
            }
        }
        return found
    }

    static func columnReferences(_ e: Expr) -> [(String?, String)] {
        var refs: [(String?, String)] = []
        walk(e) { if case .column(let t, let n) = $0 { refs.append((t, n)) } }
        return refs
    }

    /// Rewrites bare column references that resolve in `scope` to their qualified form.
    static func qualify(_ e: Expr, scope: Scope, columns: [ScopeColumn]) throws -> Expr {
        func q(_ e: Expr) throws -> Expr { try qualify(e, scope: scope, columns: columns) }
        switch e {
        case .column(let t, let n):
            if let (depth, index) = try scope.resolve(table: t, name: n), depth == 0 {
                return .column(table: columns[index].table, name: columns[index].name)
            }
            return e
        case .unary(let op, let a): return .unary(op, try q(a))
        case .binary(let op, let a, let b): return .binary(op, try q(a), try q(b))
        case .isNull(let a, let n): return .isNull(try q(a), negated: n)
        case .isBoolean(let a, let v, let n): return .isBoolean(try q(a), value: v, negated: n)
        case .between(let a, let b, let c, let n): return .between(try q(a), low: try q(b), high: try q(c), negated: n)
        case .inList(let a, let list, let n): return .inList(try q(a), try list.map(q), negated: n)
        case .inSubquery(let a, let s, let n): return .inSubquery(try q(a), s, negated: n)
        case .quantified(let op, let a, let s, let all): return .quantified(op, try q(a), s, all: all)
        case .quantifiedArray(let op, let a, let b, let all): return .quantifiedArray(op, try q(a), try q(b), all: all)
        case .array(let items): return .array(try items.map(q))
        case .subscripted(let base, let subscripts):
            return .subscripted(try q(base), try subscripts.map { ArraySubscript(lower: try $0.lower.map(q), upper: try $0.upper.map(q), isSlice: $0.isSlice) })
        case .caseWhen(let base, let whens, let otherwise):
            return .caseWhen(base: try base.map(q), whens: try whens.map { (try q($0.0), try q($0.1)) }, otherwise: try otherwise.map(q))
        case .cast(let a, let type): return .cast(try q(a), type)
        case .function(let name, let args, let distinct, let star):
            // Aggregate arguments are compiled against the input, so leave them as written.
            if ExpressionCompiler.aggregateNames.contains(name) { return e }
            return .function(name: name, args: try args.map(q), distinct: distinct, star: star)
        case .like(let a, let p, let esc, let ci, let n):
            return .like(try q(a), pattern: try q(p), escape: try esc.map(q), caseInsensitive: ci, negated: n)
        case .window(let call, var spec):
            spec.partition = try spec.partition.map(q)
            spec.order = try spec.order.map { item in
                var item = item
                item.expr = try q(item.expr)
                return item
            }
            var qualifiedCall = call
            if case .function(let name, let args, let distinct, let star) = call {
                qualifiedCall = .function(name: name, args: try args.map(q), distinct: distinct, star: star)
            }
            return .window(qualifiedCall, spec)
        default: return e
        }
    }
}
