// Static types: the type an expression's values will have, known before any row is read
// (PostgreSQL's rules, SQLType+Resolution.swift), and the types that `$n` parameters take
// from the contexts they appear in. A prepared statement reports both (`declaredTypes`,
// `parameterTypes`), so a client knows what a column holds and what a parameter should be
// (the wire protocol's RowDescription and ParameterDescription); the overflow checks of
// smallint and integer arithmetic use the same types.

import BorealisStorage

/// The types `$n` parameters take from the contexts they appear in while a statement is
/// planned: the first context that gives a parameter a type decides it, as in PostgreSQL
/// (`WHERE id = $1` gives `$1` the type of `id`; `$1::date` a date; an INSERT's VALUES the
/// type of the target column). A parameter no context types is text.
package final class ParameterTypes {
    private(set) var types: [Int: SQLType] = [:]

    package init() {}

    func note(_ parameter: Int, _ type: SQLType?) {
        guard let type, types[parameter] == nil else { return }
        types[parameter] = type
    }

    /// The types of parameters 1...count, text where nothing gave one a type.
    package func resolved(count: Int) -> [SQLType] {
        (0..<max(0, count)).map { types[$0 + 1] ?? .text }
    }
}

extension Scope {
    /// The declared type of a column visible here, without recording a read or a correlation.
    func staticType(table: String?, name: String) -> SQLType? {
        var scope: Scope? = self
        while let current = scope {
            if let column = current.columns.first(where: { $0.name == name && (table == nil || $0.table == table) }) {
                return column.type
            }
            scope = current.parent
        }
        return nil
    }
}

extension ExpressionCompiler {
    /// The type the values of `e` have, or nil when it cannot be told before running
    /// (NULL, an untyped parameter, a function of unknown result type).
    func staticType(_ e: Expr) -> SQLType? {
        if let aggregation, let i = aggregation.groupKeys.firstIndex(of: e.sql), i < aggregation.groupTypes.count {
            return aggregation.groupTypes[i]
        }
        switch e {
        case .literal(let value):
            if case .integer(let n) = value { return Int32(exactly: n) != nil ? .integer : .bigint }
            return value.isNull ? nil : value.sqlType
        case .column(let table, let name):
            return (aggregation?.inputScope ?? scope).staticType(table: table, name: name)
        case .parameter(let n):
            return planner.parameterTypes.types[n]
        case .unary(.not, _):
            return .boolean
        case .unary(_, let operand):
            return staticType(operand)
        case .binary(let op, let l, let r):
            switch op {
            case .subtract where staticType(l) == .jsonb:
                return .jsonb
            case .add, .subtract, .multiply, .divide, .modulo:
                let left = staticType(l), right = staticType(r)
                guard let type = SQLType.arithmetic(op, left, right) else { return nil }
                // Integer arithmetic is checked at the width `narrowIntegerType` finds; past
                // it, in 64 bits (two integer literals add as bigint, unlike PostgreSQL's int4).
                if type.isInteger, left?.isInteger ?? true, right?.isInteger ?? true {
                    return narrowIntegerType(e).map { $0.name == "smallint" ? .smallint : .integer } ?? .bigint
                }
                return type
            case .concat:
                let left = staticType(l), right = staticType(r)
                // Each side typed once: a chain of `||` must not be typed twice per level.
                if left?.isArray == true || right?.isArray == true { return concatArrayType(left, right, l, r) }
                if left == .jsonb || right == .jsonb { return .jsonb }
                return left == .bytea && right == .bytea ? .bytea : .text
            case .jsonGet, .jsonPath:
                return staticType(l) == .json ? .json : .jsonb
            case .jsonGetText, .jsonPathText:
                return .text
            default:
                return .boolean
            }
        case .isNull, .isBoolean, .between, .inList, .inSubquery, .exists, .like, .quantified:
            return .boolean
        case .subquery:
            return nil
        case .caseWhen(_, let whens, let otherwise):
            return SQLType.common(whens.map { staticType($0.1) } + [otherwise.flatMap(staticType)])
        case .cast(_, let type):
            return type.type
        case .function(let name, let args, _, let star):
            return functionType(name, args, star: star)
        case .aggregateFilter(let call, _), .orderedAggregate(let call, _):
            return staticType(call)
        case .window(let call, _):
            if case .function(let name, let args, _, let star) = call { return windowFunctionType(name, args, star: star) }
            return staticType(call)
        case .defaultValue:
            return nil
        case .array, .arraySubquery, .subscripted, .quantifiedArray:
            return arrayStaticType(e)
        }
    }

    private func argumentType(_ args: [Expr], _ i: Int) -> SQLType? {
        guard i < args.count else { return nil }
        if let aggregation {
            // Arguments of aggregates are typed against the input rows.
            return ExpressionCompiler(scope: aggregation.inputScope, planner: planner, aggregation: nil).staticType(args[i])
        }
        return staticType(args[i])
    }

    /// The result type of a call of `name`, aggregate or scalar.
    private func functionType(_ name: String, _ args: [Expr], star: Bool) -> SQLType? {
        if ExpressionCompiler.aggregateNames.contains(name) {
            return Self.aggregateType(name, star ? nil : argumentType(args, 0))
        }
        if name == "pg_typeof" { return .text }
        return FunctionRegistry.resultType(name, args.indices.map { staticType(args[$0]) })
    }

    private func windowFunctionType(_ name: String, _ args: [Expr], star: Bool) -> SQLType? {
        switch name {
        case "row_number", "rank", "dense_rank", "ntile": return .bigint
        case "percent_rank", "cume_dist": return .doublePrecision
        case "lag", "lead", "first_value", "last_value", "nth_value": return args.first.flatMap(staticType)
        default: return Self.aggregateType(name, star ? nil : args.first.flatMap(staticType))
        }
    }

    /// PostgreSQL's result types of the aggregates: count is bigint, sum of a smallint or
    /// integer bigint and of a bigint numeric, avg of any integer or numeric numeric.
    static func aggregateType(_ name: String, _ argument: SQLType?) -> SQLType? {
        switch name {
        case "count": return .bigint
        case "sum":
            switch argument {
            case .smallint?, .integer?: return .bigint
            case .bigint?, .numeric?: return .numeric
            default: return argument
            }
        case "avg":
            switch argument {
            case .smallint?, .integer?, .bigint?, .numeric?: return .numeric
            case .real?, .doublePrecision?: return .doublePrecision
            default: return argument
            }
        case "min", "max", "percentile_disc", "mode": return argument
        case "total", "percentile_cont": return .doublePrecision
        case "string_agg", "group_concat": return argument == .bytea ? .bytea : .text
        case "bool_and", "bool_or", "every": return .boolean
        case "json_agg", "json_object_agg": return .json
        case "jsonb_agg", "jsonb_object_agg": return .jsonb
        case "array_agg": return argument.flatMap { $0.isArray ? $0 : $0.arrayType }
        case "stddev", "stddev_samp", "stddev_pop", "variance", "var_samp", "var_pop":
            return argument == .real || argument == .doublePrecision ? .doublePrecision : .numeric
        default: return nil
        }
    }

    /// Gives the parameters directly under `e` the types its other operands give them.
    func noteParameterTypes(_ e: Expr) {
        let types = planner.parameterTypes
        func other(_ parameter: Expr, _ others: [Expr]) {
            guard case .parameter(let n) = parameter else { return }
            types.note(n, SQLType.common(others.map(staticType)))
        }
        switch e {
        case .binary(let op, let l, let r):
            if op.isRegexMatch {
                if case .parameter(let n) = l { types.note(n, .text) }
                if case .parameter(let n) = r { types.note(n, .text) }
            } else if op == .concat {
                if case .parameter(let n) = l { types.note(n, staticType(r) == .bytea ? .bytea : .text) }
                if case .parameter(let n) = r { types.note(n, staticType(l) == .bytea ? .bytea : .text) }
            } else if op == .and || op == .or {
                if case .parameter(let n) = l { types.note(n, .boolean) }
                if case .parameter(let n) = r { types.note(n, .boolean) }
            } else {
                other(l, [r])
                other(r, [l])
            }
        case .unary(.not, .parameter(let n)):
            types.note(n, .boolean)
        case .between(let x, let low, let high, _):
            other(x, [low, high])
            other(low, [x, high])
            other(high, [x, low])
        case .inList(let x, let list, _):
            other(x, list)
            for item in list { other(item, [x]) }
        case .cast(.parameter(let n), let type):
            types.note(n, type.type)
        case .like(let x, let pattern, let escape, _, _):
            for part in [x, pattern] + (escape.map { [$0] } ?? []) {
                if case .parameter(let n) = part { types.note(n, .text) }
            }
        case .caseWhen(let base, let whens, let otherwise):
            if let base {
                other(base, whens.map(\.0))
                for (value, _) in whens { other(value, [base]) }
            } else {
                for (condition, _) in whens { if case .parameter(let n) = condition { types.note(n, .boolean) } }
            }
            let results = whens.map(\.1) + (otherwise.map { [$0] } ?? [])
            for result in results { other(result, results) }
        case .function(let name, let args, _, _):
            guard args.contains(where: { if case .parameter = $0 { return true } else { return false } }) else { return }
            let argumentTypes = args.map(staticType)
            for (i, arg) in args.enumerated() {
                guard case .parameter(let n) = arg else { continue }
                types.note(n, FunctionRegistry.parameterType(name, position: i, argumentTypes: argumentTypes))
            }
        default:
            break
        }
    }
}
