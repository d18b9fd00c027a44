// Compiles expressions once per statement into closures (`Evaluator`), resolving names against
// a `Scope` at compile time: no syntax tree is walked per row.
//
// In a grouped query, expressions after aggregation are compiled with an
// `AggregateCollector`: GROUP BY expressions and aggregate calls become slots of the
// aggregated row; a bare column outside them is error 42803, as in PostgreSQL.

import FoundationEssentials
import BorealisStorage

final class AggregateCollector {
    struct Call {
        var name: String
        var argument: Evaluator?
        /// The input column the argument is, when it is a plain column of the input row (read
        /// directly, without evaluating an expression per row).
        var argumentColumn: Int? = nil
        var extra: Evaluator?      // string_agg's delimiter
        var distinct: Bool
        var filter: Evaluator?     // FILTER (WHERE …)
        var key: String
        /// ORDER BY inside the call: the keys, and how each sorts.
        var order: [Evaluator] = []
        var ordering: [AggregateState.SortKey] = []
        /// The arguments' static types, for the JSON aggregates.
        var argumentTypes: [SQLType?] = []
    }
    let groupKeys: [String]
    /// The static types of the GROUP BY expressions.
    let groupTypes: [SQLType?]
    let inputScope: Scope
    private(set) var calls: [Call] = []

    init(groupKeys: [String], groupTypes: [SQLType?], inputScope: Scope) {
        self.groupKeys = groupKeys
        self.groupTypes = groupTypes
        self.inputScope = inputScope
    }

    func slot(for call: Call) -> Int {
        if let i = calls.firstIndex(where: { $0.key == call.key }) { return i }
        calls.append(call)
        return calls.count - 1
    }
}

struct ExpressionCompiler {
    let scope: Scope
    let planner: Planner
    var aggregation: AggregateCollector?
    /// Set where window functions are allowed (select list, ORDER BY).
    var windows: WindowCollector? = nil
    /// What the expression is part of, for error messages ("WHERE", "JOIN conditions", …).
    var clause = "this context"

    static var aggregateNames: Set<String> { Expr.aggregateNames }

    func compile(_ expr: Expr) throws -> Evaluator {
        try StackGuard.check()
        noteParameterTypes(expr)
        if let aggregation {
            if let i = aggregation.groupKeys.firstIndex(of: expr.sql) {
                return { ctx in ctx.frames[ctx.frames.count - 1][i] }
            }
        }
        var evaluator = try compileNode(expr)
        // -(-32768::smallint) overflows smallint, as in PostgreSQL.
        if case .unary(.negate, let operand) = expr, let narrow = narrowIntegerType(operand) {
            evaluator = ExpressionCompiler.checkingRange(evaluator, narrow)
        }
        // Constant folding: an expression of literals and pure functions is evaluated once now.
        // If that fails (1/0), it is left to fail when, and only if, it is evaluated.
        if case .literal = expr { return evaluator }
        // Not under GROUP BY keys: a constant argument there may be compiled as a read of the
        // group's key (`concat('a') … GROUP BY 'a'`), which has no row to read while folding.
        if ExpressionCompiler.isConstant(expr), aggregation?.groupKeys.isEmpty ?? true {
            let folding = ExecutionContext(parameters: [], txn: nil, catalog: nil)
            folding.frames = [[]]
            if let value = try? evaluator(folding) { return { _ in value } }
            planner.constantsLeftFailing += 1
        }
        return evaluator
    }

    /// `arms` (of a CASE, COALESCE, GREATEST, LEAST, NULLIF) with each string literal converted
    /// to the type the other arms resolve to, as PostgreSQL types its unknown literals: `CASE …
    /// THEN 1 ELSE 'a' END` is 22P02 when compiled, whichever arm would run.
    func coercingStringLiterals(_ arms: [Expr]) throws -> [Expr] {
        func isStringLiteral(_ e: Expr) -> Bool { if case .literal(.text) = e { return true } else { return false } }
        guard arms.contains(where: isStringLiteral) else { return arms }
        let others = arms.filter { !isStringLiteral($0) }.map(staticType)
        guard let target = SQLType.common(others), !target.isText, target.isStorable || target.isRegistered else { return arms }
        return try arms.map { arm in
            guard case .literal(let text) = arm, case .text = text else { return arm }
            return .literal(try text.cast(to: target))
        }
    }

    /// smallint or integer, when PostgreSQL would type `e` so: a cast to it, a column declared
    /// so, or + - * / % over such operands (the wider of the two; an integer literal that fits
    /// takes the other side's width, as PostgreSQL's int4 literals do next to a smallint or
    /// integer). Its arithmetic then overflows at that width (22003 "integer out of range")
    /// instead of carrying on in 64 bits. nil: bigint, another type, or not known.
    func narrowIntegerType(_ e: Expr) -> (name: String, bounds: ClosedRange<Int64>)? {
        let smallint = (name: "smallint", bounds: Int64(Int16.min)...Int64(Int16.max))
        let integer = (name: "integer", bounds: Int64(Int32.min)...Int64(Int32.max))
        func named(_ type: SQLType?) -> (name: String, bounds: ClosedRange<Int64>)? {
            switch type {
            case .smallint?: return smallint
            case .integer?: return integer
            default: return nil
            }
        }
        switch e {
        case .cast(_, let type): return type.serial ? nil : named(type.type)
        case .column(let table, let name):
            return named((aggregation?.inputScope ?? scope).staticType(table: table, name: name))
        case .unary(.negate, let inner), .unary(.plus, let inner): return narrowIntegerType(inner)
        case .binary(let op, let l, let r) where [.add, .subtract, .multiply, .divide, .modulo].contains(op):
            func isInt4Literal(_ x: Expr) -> Bool {
                if case .literal(.integer(let v)) = x { return integer.bounds.contains(v) }
                return false
            }
            let left = narrowIntegerType(l), right = narrowIntegerType(r)
            switch (left, right) {
            case (let a?, let b?): return a.name == "integer" || b.name == "integer" ? integer : smallint
            case (_?, nil) where isInt4Literal(r), (nil, _?) where isInt4Literal(l): return integer
            default: return nil
            }
        default: return nil
        }
    }

    /// `evaluator` with its integer results checked against a narrower type's range.
    static func checkingRange(_ evaluator: @escaping Evaluator, _ type: (name: String, bounds: ClosedRange<Int64>)) -> Evaluator {
        { ctx in
            let v = try evaluator(ctx)
            if case .integer(let i) = v, !type.bounds.contains(i) { throw Value.overflow(type.name) }
            return v
        }
    }

    /// Whether `e` gives the same result for the same row every time (no volatile functions).
    static func isDeterministic(_ e: Expr) -> Bool {
        var deterministic = true
        Planner.walk(e) { node in
            if case .function(let name, _, _, _) = node, FunctionRegistry.isVolatile(name) { deterministic = false }
        }
        return deterministic
    }

    /// Whether `e` depends on nothing but literals: no columns, parameters, subqueries,
    /// aggregates, windows or volatile functions.
    static func isConstant(_ e: Expr) -> Bool {
        var constant = true
        Planner.walk(e) { node in
            switch node {
            case .column, .parameter, .subquery, .exists, .inSubquery, .quantified, .window, .aggregateFilter, .defaultValue,
                 .arraySubquery:
                constant = false
            case .function(let name, _, _, _):
                if FunctionRegistry.isVolatile(name) || aggregateNames.contains(name) { constant = false }
            default: break
            }
        }
        return constant
    }

    private func compileNode(_ expr: Expr) throws -> Evaluator {
        switch expr {
        case .literal(let v):
            return { _ in v }
        case .parameter(let n):
            return { ctx in
                guard n <= ctx.parameters.count else {
                    throw DatabaseError(.range, sqlState: SQLState.protocolViolation, "there is no parameter $\(n)")
                }
                return ctx.parameters[n - 1]
            }
        case .column(let table, let name):
            if aggregation != nil {
                // Not a GROUP BY expression: only outer references are allowed here.
                if let (depth, _) = try aggregation!.inputScope.resolve(table: table, name: name), depth == 0 {
                    throw DatabaseError(.error, sqlState: SQLState.groupingError, "column \"\(table.map { "\($0)." } ?? "")\(name)\" must appear in the GROUP BY clause or be used in an aggregate function")
                }
            }
            guard let (depth, index) = try scope.resolve(table: table, name: name) else {
                if let table, !scopeHasTable(table) {
                    throw DatabaseError(.error, sqlState: SQLState.undefinedTable, "missing FROM-clause entry for table \"\(table)\"")
                }
                throw DatabaseError(.error, sqlState: SQLState.undefinedColumn, "column \"\(table.map { "\($0)." } ?? "")\(name)\" does not exist")
            }
            // A char(n) column of a base table reads blank-padded (ExpressionCompiler+Character.swift).
            if let n = scope.column(depth: depth, index: index)?.padding {
                return { ctx in
                    guard case .text(let s) = ctx.frames[ctx.frames.count - 1 - depth][index] else { return ctx.frames[ctx.frames.count - 1 - depth][index] }
                    return .text(ExpressionCompiler.paddedCharacter(s, n))
                }
            }
            if depth == 0 { return { ctx in ctx.frames[ctx.frames.count - 1][index] } }
            return { ctx in ctx.frames[ctx.frames.count - 1 - depth][index] }
        case .unary(let op, let e):
            let a = try compile(e)
            switch op {
            case .negate:
                return { ctx in
                    switch try a(ctx) {
                    case .null: return .null
                    case .integer(let v):
                        if v == .min { throw Value.overflow() }
                        return .integer(-v)
                    case .double(let d): return .double(-d)
                    case .numeric(let n): return .numeric(Numeric(-n.value, scale: n.scale))
                    case .interval(let i): return .interval(try DateTime.negate(i))
                    case let other: throw DatabaseError(.mismatch, sqlState: SQLState.undefinedFunction, "operator does not exist: - \(other.typeName)")
                    }
                }
            case .plus:
                return { ctx in
                    let v = try a(ctx)
                    switch v {
                    case .null, .integer, .double, .numeric, .interval: return v
                    default: throw DatabaseError(.mismatch, sqlState: SQLState.undefinedFunction, "operator does not exist: + \(v.typeName)")
                    }
                }
            case .not:
                return { ctx in
                    guard let t = try a(ctx).truth() else { return .null }
                    return .boolean(!t)
                }
            }
        case .binary(let op, let l, let r):
            if op.isRegexMatch {
                // Only text matches a pattern (PostgreSQL has no `integer ~ integer`).
                let left = staticType(l), right = staticType(r)
                if left.map({ !$0.isText }) ?? false || right.map({ !$0.isText }) ?? false {
                    throw DatabaseError(.error, sqlState: SQLState.undefinedFunction,
                                        "operator does not exist: \(left?.displayName ?? "unknown") \(op.rawValue) \(right?.displayName ?? "unknown")")
                }
            }
            if let array = try compileArrayOperator(op, l, r) { return array }
            if let json = try compileJSON(op, l, r) { return json }
            var (left, right) = comparedAsUUID(op, l, r)
            (left, right) = comparedAsCharacter(op, left, right)
            if op == .concat { (left, right) = (characterArguments("", [left])[0], characterArguments("", [right])[0]) }
            let failing = planner.constantsLeftFailing
            let a = try compile(left), b = try compile(right)
            if planner.constantsLeftFailing == failing, let folded = foldedByLiteralOperand(op, left, a, right, b) { return folded }
            let evaluator = try compileBinary(op, a, b)
            if let narrow = narrowIntegerType(expr) { return ExpressionCompiler.checkingRange(evaluator, narrow) }
            return evaluator
        case .isNull(let e, let negated):
            let a = try compile(e)
            return { ctx in .boolean(try a(ctx).isNull != negated) }
        case .isBoolean(let e, let value, let negated):
            let a = try compile(e)
            return { ctx in
                let t = try a(ctx).truth()
                return .boolean((t == value) != negated)
            }
        case .between(let e, let low, let high, let negated):
            let a = try compile(e), lo = try compile(low), hi = try compile(high)
            return { ctx in
                let v = try a(ctx)
                let c1 = try Value.compare(v, try lo(ctx)).map { $0 >= 0 }
                let c2 = try Value.compare(v, try hi(ctx)).map { $0 <= 0 }
                guard let r = threeValuedAnd(c1, c2) else { return .null }
                return .boolean(r != negated)
            }
        case .inList(let e, let list, let negated):
            let a = try compile(isCharacter(e) ? characterOperand(e, .char) : e)
            let items = try list.map { try compile(comparedAsCharacter(.equal, e, comparedAsUUID(.equal, e, $0).1).1) }
            return { ctx in
                let v = try a(ctx)
                if v.isNull { return .null }
                var sawNull = false
                for item in items {
                    switch try Value.compare(v, try item(ctx)) {
                    case 0?: return .boolean(!negated)
                    case nil: sawNull = true
                    default: break
                    }
                }
                return sawNull ? .null : .boolean(negated)
            }
        case .inSubquery(.function("row", let fields, false, false), let query, let negated):
            // (a, b) IN (SELECT x, y …): a row is in the result when every pair is equal; NULL
            // when no row differs for certain but some pair is NULL.
            let parts = try fields.map { try compile($0) }
            let values = try compileSubqueryValues(query, requireOneColumn: false, columns: fields.count)
            return { ctx in
                let rows = try values(ctx)
                if rows.isEmpty { return .boolean(negated) }
                let tuple = try parts.map { try $0(ctx) }
                var sawNull = false
                for row in rows {
                    var unknown = false, different = false
                    for (v, w) in zip(tuple, row) {
                        switch try Value.compare(v, w) {
                        case 0?: continue
                        case nil: unknown = true
                        default: different = true
                        }
                        if different { break }
                    }
                    if different { continue }
                    if unknown { sawNull = true } else { return .boolean(!negated) }
                }
                return sawNull ? .null : .boolean(negated)
            }
        case .inSubquery(let e, let query, let negated):
            let a = try compile(e)
            let values = try compileSubqueryValues(query, requireOneColumn: true)
            return { ctx in
                let v = try a(ctx)
                let rows = try values(ctx)
                if rows.isEmpty { return .boolean(negated) }
                if v.isNull { return .null }
                var sawNull = false
                for row in rows {
                    switch try Value.compare(v, row[0]) {
                    case 0?: return .boolean(!negated)
                    case nil: sawNull = true
                    default: break
                    }
                }
                return sawNull ? .null : .boolean(negated)
            }
        case .defaultValue:
            throw DatabaseError(.error, sqlState: SQLState.syntaxError, "DEFAULT is not allowed in this context")
        case .aggregateFilter(let call, let condition):
            var order: [OrderItem] = []
            var target = call
            if case .orderedAggregate(let inner, let items) = call { target = inner; order = items }
            guard case .function(let name, let args, let distinct, let star) = target, ExpressionCompiler.aggregateNames.contains(name) else {
                throw DatabaseError(.error, sqlState: SQLState.wrongObjectType, "FILTER specified, but \(call.sql) is not an aggregate function")
            }
            return try compileAggregate(name, args, distinct: distinct, star: star, key: expr.sql, filter: condition, order: order)
        case .orderedAggregate(let call, let order):
            guard case .function(let name, let args, let distinct, let star) = call, ExpressionCompiler.aggregateNames.contains(name) else {
                throw DatabaseError(.error, sqlState: SQLState.wrongObjectType,
                                    "ORDER BY specified, but \(call.sql) is not an aggregate function")
            }
            return try compileAggregate(name, args, distinct: distinct, star: star, key: expr.sql, order: order)
        case .window(let call, let spec):
            guard let windows else {
                throw DatabaseError(.error, sqlState: SQLState.windowingError, "window functions are not allowed in \(clause)")
            }
            var inner = self
            inner.windows = nil
            inner.clause = "window function calls"
            var target = call
            var filter: Evaluator?
            if case .aggregateFilter(let c, let condition) = call {
                target = c
                filter = try inner.compile(condition)
            }
            if case .orderedAggregate = target {
                throw DatabaseError(.error, sqlState: SQLState.featureNotSupported, "aggregate ORDER BY is not implemented for window functions")
            }
            guard case .function(let name, let args, let distinct, let star) = target else {
                throw DatabaseError(.error, sqlState: SQLState.syntaxError, "OVER must follow a function call")
            }
            guard WindowCollector.rankingNames.contains(name) || ExpressionCompiler.aggregateNames.contains(name) else {
                throw DatabaseError(.error, sqlState: SQLState.wrongObjectType, "function \(name) is not a window function")
            }
            // Arguments of aggregates inside OVER are per-row values, not grouping aggregates.
            let arguments = try args.map { try inner.compile($0) }
            let slot = windows.slot(for: .init(name: name, arguments: arguments, distinct: distinct, star: star, filter: filter,
                                               partition: try spec.partition.map { try inner.compile($0) },
                                               order: try spec.order.map { try inner.compile($0.expr) },
                                               orderItems: spec.order, frame: spec.frame, key: expr.sql))
            return { [windows] ctx in
                let row = ctx.frames[ctx.frames.count - 1]
                return row[row.count - windows.calls.count + slot]
            }
        case .quantified(let op, let e, let query, let all):
            let a = try compile(e)
            let values = try compileSubqueryValues(query, requireOneColumn: true)
            let test = try compileBinary(op, { ctx in ctx.frames[ctx.frames.count - 1][0] }, { ctx in ctx.frames[ctx.frames.count - 1][1] })
            return { ctx in
                let v = try a(ctx)
                var sawNull = false
                for row in try values(ctx) {
                    let outcome = try ctx.withFrame([v, row[0]]) { try test(ctx).truth() }
                    switch outcome {
                    case nil: sawNull = true
                    case true?: if !all { return .boolean(true) }
                    case false?: if all { return .boolean(false) }
                    }
                }
                return sawNull ? .null : .boolean(all)
            }
        case .exists(let query, let negated):
            let values = try compileSubqueryValues(query, requireOneColumn: false)
            return { ctx in .boolean(try values(ctx).isEmpty == negated) }
        case .subquery(let query):
            let values = try compileSubqueryValues(query, requireOneColumn: true)
            return { ctx in
                let rows = try values(ctx)
                if rows.count > 1 {
                    throw DatabaseError(.error, sqlState: SQLState.cardinalityViolation, "more than one row returned by a subquery used as an expression")
                }
                return rows.first?[0] ?? .null
            }
        case .caseWhen(let base, let whens, let otherwise):
            let results = try coercingStringLiterals(whens.map(\.1) + (otherwise.map { [$0] } ?? []))
            let b = try base.map { try compile($0) }
            let arms = try zip(whens, results).map { (try compile($0.0.0), try compile($0.1)) }
            let other = try otherwise.map { _ in try compile(results[results.count - 1]) }
            return { ctx in
                let subject = try b?(ctx)
                for (condition, result) in arms {
                    if let subject {
                        if try Value.compare(subject, try condition(ctx)) == 0 { return try result(ctx) }
                    } else if try condition(ctx).truth() == true {
                        return try result(ctx)
                    }
                }
                return try other?(ctx) ?? .null
            }
        case .cast(let e, let type):
            let a = try compile(e)
            let target = type.type
            if type.serial { throw DatabaseError(.error, sqlState: SQLState.undefinedObject, "type \"\(type.name)\" does not exist") }
            if target == .numeric, !type.modifiers.isEmpty {
                let precision = type.modifiers[0], scale = type.modifiers.count > 1 ? type.modifiers[1] : 0
                return { ctx in
                    guard case .numeric(let n) = try a(ctx).cast(to: .numeric) else { return .null }
                    return .numeric(try n.fitted(precision: precision, scale: scale))
                }
            }
            if let character = compileCharacterCast(e, a, to: type) { return character }
            if (target == .varchar || target == .char), let length = type.modifiers.first {
                return { ctx in
                    guard case .text(let s) = try a(ctx).cast(to: .text) else { return .null }
                    return .text(String(s.prefix(length)))
                }
            }
            if target.isRegistered {
                let catalog = planner.catalog
                return { ctx in
                    let v = try a(ctx)
                    if case .text(let name) = v { return .integer(try RegisteredTypes.oid(of: name, as: target, catalog: catalog)) }
                    return try v.cast(to: target)
                }
            }
            if target.isText, let source = staticType(e), source.isRegistered {
                let catalog = planner.catalog
                return { ctx in
                    guard case .integer(let oid) = try a(ctx) else { return .null }
                    return .text(RegisteredTypes.name(of: oid, as: source, catalog: catalog))
                }
            }
            return { ctx in try a(ctx).cast(to: target) }
        case .function(let name, var args, let distinct, let star):
            if ["coalesce", "greatest", "least", "nullif"].contains(name) { args = try coercingStringLiterals(args) }
            if ExpressionCompiler.aggregateNames.contains(name) {
                return try compileAggregate(name, args, distinct: distinct, star: star, key: expr.sql)
            }
            if star { throw DatabaseError(.error, sqlState: SQLState.syntaxError, "\(name)(*) is not an aggregate") }
            if name == "pg_typeof", args.count == 1 {
                // The argument's static type, as PostgreSQL names it ("unknown" for a NULL).
                _ = try compile(args[0])
                let type = Value.text(staticType(args[0])?.displayName ?? "unknown")
                return { _ in type }
            }
            let args = characterArguments(name, args)
            if let length = try compileLengthOfColumn(name, args) { return length }
            if TableFunctions.isTableFunction(name) {
                throw DatabaseError(.error, sqlState: SQLState.featureNotSupported, "set-returning functions are not allowed in \(clause)")
            }
            return try FunctionRegistry.compile(name, try args.map { try compile($0) }, argumentTypes: args.map(staticType))
        case .array, .arraySubquery, .subscripted, .quantifiedArray:
            return try compileArrayNode(expr)
        case .like(let e, let pattern, let escape, let ci, let negated):
            let failing = planner.constantsLeftFailing
            let a = try compile(e), p = try compile(pattern)
            let esc = try escape.map { try compile($0) }
            if planner.constantsLeftFailing == failing, let folded = foldedByLiteralOperand(.like, e, a, pattern, p) { return folded }
            return { ctx in
                let v = try a(ctx), pat = try p(ctx)
                guard case .text(let s) = v.isNull ? Value.null : try v.cast(to: .text),
                      case .text(let ps) = pat.isNull ? Value.null : try pat.cast(to: .text) else { return .null }
                var escapeChar: Character? = "\\"
                if let esc {
                    guard case .text(let e) = try esc(ctx) else { return .null }
                    guard e.count <= 1 else { throw DatabaseError(.error, sqlState: SQLState.invalidEscapeSequence, "invalid escape string") }
                    escapeChar = e.first
                }
                let matched = Functions.like(ci ? s.lowercased() : s, ci ? ps.lowercased() : ps, escape: escapeChar)
                return .boolean(matched != negated)
            }
        }
    }

    private func scopeHasTable(_ name: String) -> Bool {
        var s: Scope? = scope
        while let current = s {
            if current.hasTable(name) { return true }
            s = current.parent
        }
        return false
    }

    /// A uuid compared with text (a literal, a parameter): the text is read as a uuid first, so
    /// that any spelling PostgreSQL accepts matches, and a malformed one is 22P02.
    private func comparedAsUUID(_ op: BinaryOperator, _ l: Expr, _ r: Expr) -> (Expr, Expr) {
        guard [.equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual, .isDistinctFrom, .isNotDistinctFrom].contains(op) else { return (l, r) }
        let left = staticType(l), right = staticType(r)
        let uuid = TypeName(type: .uuid)
        if left == .uuid, right != .uuid, right?.isText ?? true { return (l, .cast(r, uuid)) }
        if right == .uuid, left != .uuid, left?.isText ?? true { return (.cast(l, uuid), r) }
        return (l, r)
    }

    func compileBinary(_ op: BinaryOperator, _ a: @escaping Evaluator, _ b: @escaping Evaluator) throws -> Evaluator {
        switch op {
        case .and:
            return { ctx in
                let x = try a(ctx).truth()
                if x == false { return .boolean(false) }
                let y = try b(ctx).truth()
                guard let r = threeValuedAnd(x, y) else { return .null }
                return .boolean(r)
            }
        case .or:
            return { ctx in
                let x = try a(ctx).truth()
                if x == true { return .boolean(true) }
                let y = try b(ctx).truth()
                if y == true { return .boolean(true) }
                if x == nil || y == nil { return .null }
                return .boolean(false)
            }
        case .add, .subtract, .multiply, .divide, .modulo:
            return { ctx in try Value.arithmetic(op, try a(ctx), try b(ctx)) }
        case .concat:
            return { ctx in
                let x = try a(ctx), y = try b(ctx)
                if x.isNull || y.isNull { return .null }
                let left = x.description, right = y.description
                // `s || s` doubling in a recursive CTE reached gigabytes: bounded as PostgreSQL bounds it.
                if left.utf8.count + right.utf8.count > Limits.maxValueBytes { throw Limits.valueTooLarge() }
                return .text(left + right)
            }
        case .jsonGet, .jsonGetText, .jsonPath, .jsonPathText, .jsonContains, .jsonContainedBy, .jsonHasKey, .overlaps,
             .jsonHasAnyKey, .jsonHasAllKeys:
            throw DatabaseError.internalError("a JSON or array operator reached compileBinary")
        case .like, .notLike, .ilike, .notIlike:
            // LIKE with the default escape `\`, as `x LIKE ANY (array)` compares each pattern.
            let ci = op == .ilike || op == .notIlike, negated = op == .notLike || op == .notIlike
            return { ctx in
                guard let s = try Functions.text(try a(ctx)), let p = try Functions.text(try b(ctx)) else { return .null }
                return .boolean(Functions.like(ci ? s.lowercased() : s, ci ? p.lowercased() : p, escape: "\\") != negated)
            }
        case .regexMatch, .regexMatchInsensitive, .regexNotMatch, .regexNotMatchInsensitive:
            let options = try RegularExpression.Options(flags: op == .regexMatchInsensitive || op == .regexNotMatchInsensitive ? "i" : "",
                                                        function: op.rawValue)
            let negated = op == .regexNotMatch || op == .regexNotMatchInsensitive
            let cache = RegularExpressionCache()
            return { ctx in
                guard let s = try Functions.text(try a(ctx)), let pattern = try Functions.text(try b(ctx)) else { return .null }
                return .boolean(try cache.expression(pattern, options).contains(s) != negated)
            }
        case .equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual:
            return { ctx in
                guard let c = try Value.compare(try a(ctx), try b(ctx)) else { return .null }
                switch op {
                case .equal: return .boolean(c == 0)
                case .notEqual: return .boolean(c != 0)
                case .less: return .boolean(c < 0)
                case .lessOrEqual: return .boolean(c <= 0)
                case .greater: return .boolean(c > 0)
                default: return .boolean(c >= 0)
                }
            }
        case .isDistinctFrom, .isNotDistinctFrom:
            return { ctx in
                let x = try a(ctx), y = try b(ctx)
                let same: Bool
                if x.isNull || y.isNull { same = x.isNull && y.isNull } else { same = try Value.compare(x, y) == 0 }
                return .boolean(same == (op == .isNotDistinctFrom))
            }
        }
    }
}

final class SubqueryBox {}

@inline(__always)
func threeValuedAnd(_ x: Bool?, _ y: Bool?) -> Bool? {
    if x == false || y == false { return false }
    if x == nil || y == nil { return nil }
    return true
}
