// The expression grammar, by precedence from OR down to primaries (see Parser.swift), with
// function calls, window specifications and CASE.

import BorealisStorage

extension Parser {
    // MARK: Expressions

    mutating func parseExpr() throws -> Expr {
        try descend()
        defer { depth -= 1 }
        return try parseOr()
    }

    mutating func parseOr() throws -> Expr {
        let outer = depth
        defer { depth = outer }
        var left = try parseAnd()
        while acceptKeyword("or") { try descend(); left = .binary(.or, left, try parseAnd()) }
        return left
    }

    mutating func parseAnd() throws -> Expr {
        let outer = depth
        defer { depth = outer }
        var left = try parseNot()
        while acceptKeyword("and") { try descend(); left = .binary(.and, left, try parseNot()) }
        return left
    }

    mutating func parseNot() throws -> Expr {
        if acceptKeyword("not") {
            try descend()
            defer { depth -= 1 }
            return .unary(.not, try parseNot())
        }
        return try parseIs()
    }

    mutating func parseIs() throws -> Expr {
        let outer = depth
        defer { depth = outer }
        var left = try parseComparison()
        while true {
            if acceptKeyword("is") {
                try descend()
                let negated = acceptKeyword("not")
                if acceptKeyword("null") || acceptKeyword("unknown") { left = .isNull(left, negated: negated) }
                else if acceptKeyword("true") { left = .isBoolean(left, value: true, negated: negated) }
                else if acceptKeyword("false") { left = .isBoolean(left, value: false, negated: negated) }
                else if acceptKeyword("distinct") {
                    try expectKeyword("from")
                    left = .binary(negated ? .isNotDistinctFrom : .isDistinctFrom, left, try parseComparison())
                } else { throw error("expected NULL, TRUE, FALSE or DISTINCT FROM after IS") }
            } else if acceptKeyword("isnull") {
                try descend()
                left = .isNull(left, negated: false)
            } else if acceptKeyword("notnull") {
                try descend()
                left = .isNull(left, negated: true)
            } else {
                return left
            }
        }
    }

    mutating func parseComparison() throws -> Expr {
        let outer = depth
        defer { depth = outer }
        var left = try parsePredicate()
        while true {
            let op: BinaryOperator
            switch peek.kind {
            case .op("="), .op("=="): op = .equal
            case .op("<>"), .op("!="): op = .notEqual
            case .op("<"): op = .less
            case .op("<="): op = .lessOrEqual
            case .op(">"): op = .greater
            case .op(">="): op = .greaterOrEqual
            default: return left
            }
            _ = advance()
            try descend()
            if (isKeyword("any") || isKeyword("some") || isKeyword("all")), case .op("(") = peekAt(1).kind {
                let all = isKeyword("all")
                _ = advance()
                try expect("(")
                if !(isKeyword("select") || isKeyword("with") || isKeyword("values")) {
                    // x op ANY (array)
                    let array = try parseExpr()
                    try expect(")")
                    left = .quantifiedArray(op, left, array, all: all)
                    continue
                }
                let query = try parseSelect()
                try expect(")")
                left = .quantified(op, left, query, all: all)
                continue
            }
            let right = try parsePredicate()
            if case .function("row", let l, false, false) = left, case .function("row", let r, false, false) = right {
                left = try Parser.rowComparison(op, l, r)
            } else {
                left = .binary(op, left, right)
            }
        }
    }

    /// A comparison of two row constructors, as PostgreSQL defines it: `=` when every pair is
    /// equal, `<>` when any differs, and the ordering operators by the first pair that is not
    /// equal (`(a, b) < (c, d)` is `a < c OR (a = c AND b < d)`), with NULL where a pair that
    /// decides is NULL.
    static func rowComparison(_ op: BinaryOperator, _ left: [Expr], _ right: [Expr]) throws -> Expr {
        guard left.count == right.count, !left.isEmpty else {
            throw DatabaseError(.error, sqlState: SQLState.syntaxError, "unequal number of entries in row expressions")
        }
        let pairs = Array(zip(left, right))
        switch op {
        case .equal, .notEqual:
            let tests = pairs.map { Expr.binary(op, $0.0, $0.1) }
            return tests.dropFirst().reduce(tests[0]) { .binary(op == .equal ? .and : .or, $0, $1) }
        default:
            // The last pair decides with the operator itself; each earlier one with its strict form.
            let strict: BinaryOperator = op == .less || op == .lessOrEqual ? .less : .greater
            var result = Expr.binary(op, pairs[pairs.count - 1].0, pairs[pairs.count - 1].1)
            for (l, r) in pairs.dropLast().reversed() {
                result = .binary(.or, .binary(strict, l, r), .binary(.and, .binary(.equal, l, r), result))
            }
            return result
        }
    }

    mutating func parsePredicate() throws -> Expr {
        let left = try parseConcat()
        let negated = isKeyword("not") && (isKeyword("between", at: 1) || isKeyword("in", at: 1) || isKeyword("like", at: 1)
            || isKeyword("ilike", at: 1) || isKeyword("similar", at: 1))
        if negated { _ = advance() }
        if acceptKeyword("between") {
            let symmetric = acceptKeyword("symmetric")
            if !symmetric { _ = acceptKeyword("asymmetric") }
            let low = try parseConcat()
            try expectKeyword("and")
            let high = try parseConcat()
            // SYMMETRIC orders the bounds: as PostgreSQL rewrites it, either order holds (it
            // was read as plain BETWEEN, so `BETWEEN SYMMETRIC 3000 AND 2990` matched nothing).
            if symmetric {
                let forward = Expr.between(left, low: low, high: high, negated: negated)
                let backward = Expr.between(left, low: high, high: low, negated: negated)
                return .binary(negated ? .and : .or, forward, backward)
            }
            return .between(left, low: low, high: high, negated: negated)
        }
        if acceptKeyword("in") {
            try expect("(")
            if isKeyword("select") || isKeyword("with") || isKeyword("values") {
                let query = try parseSelect()
                try expect(")")
                return .inSubquery(left, query, negated: negated)
            }
            var list: [Expr] = []
            if peek.kind != .op(")") {
                repeat { list.append(try parseExpr()) } while accept(.op(","))
            }
            try expect(")")
            // (a, b) IN ((1, 2), (3, 4)): one row comparison per element.
            if case .function("row", let fields, false, false) = left {
                var alternatives: [Expr] = []
                for element in list {
                    guard case .function("row", let values, false, false) = element else {
                        throw DatabaseError(.error, sqlState: SQLState.datatypeMismatch, "operator does not exist: record = \(element.sql)")
                    }
                    alternatives.append(try Parser.rowComparison(.equal, fields, values))
                }
                guard let first = alternatives.first else { throw error("expected a row") }
                let any = alternatives.dropFirst().reduce(first) { .binary(.or, $0, $1) }
                return negated ? .unary(.not, any) : any
            }
            return .inList(left, list, negated: negated)
        }
        let caseInsensitive = isKeyword("ilike")
        if acceptKeyword("like") || acceptKeyword("ilike") {
            if isKeyword("any") || isKeyword("some") || isKeyword("all"), case .op("(") = peekAt(1).kind {
                // x [NOT] LIKE ANY/ALL (array)
                let all = isKeyword("all")
                _ = advance()
                try expect("(")
                let array = try parseExpr()
                try expect(")")
                let op: BinaryOperator = caseInsensitive ? (negated ? .notIlike : .ilike) : (negated ? .notLike : .like)
                return .quantifiedArray(op, left, array, all: all)
            }
            let pattern = try parseConcat()
            var escape: Expr?
            if acceptKeyword("escape") { escape = try parseConcat() }
            return .like(left, pattern: pattern, escape: escape, caseInsensitive: caseInsensitive, negated: negated)
        }
        if acceptKeyword("similar") {
            // As PostgreSQL rewrites it: a regular expression match against similar_to_escape(pattern).
            try expectKeyword("to")
            var args = [try parseConcat()]
            if acceptKeyword("escape") { args.append(try parseConcat()) }
            return .binary(negated ? .regexNotMatch : .regexMatch, left, .function(name: "similar_to_escape", args: args, distinct: false, star: false))
        }
        if negated { throw error("expected BETWEEN, IN, LIKE or SIMILAR TO after NOT") }
        return left
    }

    mutating func parseConcat() throws -> Expr {
        let outer = depth
        defer { depth = outer }
        var left = try parseAdditive()
        while true {
            let op: BinaryOperator
            switch peek.kind {
            case .op("||"): op = .concat
            case .op("~"): op = .regexMatch
            case .op("~*"): op = .regexMatchInsensitive
            case .op("!~"): op = .regexNotMatch
            case .op("!~*"): op = .regexNotMatchInsensitive
            case .op("->"): op = .jsonGet
            case .op("->>"): op = .jsonGetText
            case .op("#>"): op = .jsonPath
            case .op("#>>"): op = .jsonPathText
            case .op("@>"): op = .jsonContains
            case .op("<@"): op = .jsonContainedBy
            case .op("&&"): op = .overlaps
            case .op("?|"): op = .jsonHasAnyKey
            case .op("?&"): op = .jsonHasAllKeys
            // `?` where an operator belongs is jsonb's key test, not a parameter.
            case .parameter(nil): op = .jsonHasKey
            default: return left
            }
            _ = advance()
            try descend()
            left = .binary(op, left, try parseAdditive())
        }
    }

    mutating func parseAdditive() throws -> Expr {
        let outer = depth
        defer { depth = outer }
        var left = try parseMultiplicative()
        while true {
            if accept(.op("+")) { try descend(); left = .binary(.add, left, try parseMultiplicative()) }
            else if accept(.op("-")) { try descend(); left = .binary(.subtract, left, try parseMultiplicative()) }
            else { return left }
        }
    }

    mutating func parseMultiplicative() throws -> Expr {
        let outer = depth
        defer { depth = outer }
        var left = try parseUnary()
        while true {
            if accept(.op("*")) { try descend(); left = .binary(.multiply, left, try parseUnary()) }
            else if accept(.op("/")) { try descend(); left = .binary(.divide, left, try parseUnary()) }
            else if accept(.op("%")) { try descend(); left = .binary(.modulo, left, try parseUnary()) }
            else if acceptKeyword("div") { try descend(); left = .binary(.divide, left, try parseUnary()) }
            else if acceptKeyword("mod") { try descend(); left = .binary(.modulo, left, try parseUnary()) }
            else { return left }
        }
    }

    mutating func parseUnary() throws -> Expr {
        if accept(.op("-")) {
            // Fold negative numeric literals so that -9223372036854775808 is representable.
            if case .integer(let digits) = peek.kind {
                _ = advance()
                return try parsePostfix(try integerLiteral("-" + digits))
            }
            try descend()
            defer { depth -= 1 }
            return .unary(.negate, try parseUnary())
        }
        if accept(.op("+")) {
            try descend()
            defer { depth -= 1 }
            return .unary(.plus, try parseUnary())
        }
        return try parsePostfix(try parsePrimary())
    }

    func integerLiteral(_ digits: String) throws -> Expr {
        if let v = Int64(digits) { return .literal(.integer(v)) }
        try Numeric.checkRepresentable(digits)
        if let n = Numeric(digits) { return .literal(.numeric(n)) }
        throw error("bad numeric literal")
    }

    mutating func parsePostfix(_ base: Expr) throws -> Expr {
        let outer = depth
        defer { depth = outer }
        var e = base
        var subscripts: [ArraySubscript] = []
        while accept(.op("[")) { subscripts.append(try parseSubscript()) }
        if !subscripts.isEmpty { e = .subscripted(e, subscripts) }
        while accept(.op("::")) { try descend(); e = .cast(e, try parseTypeName()) }
        if acceptKeyword("collate") {
            _ = try anyName("collation")
            if accept(.op(".")) { _ = try anyName("collation") }   // pg_catalog."default"
        }
        // e AT TIME ZONE zone: PostgreSQL's timezone(zone, e), binding tighter than * and /.
        while isKeyword("at"), isKeyword("time", at: 1), isKeyword("zone", at: 2) {
            _ = advance(); _ = advance(); _ = advance()
            try descend()
            e = .function(name: "timezone", args: [try parseUnary(), e], distinct: false, star: false)
        }
        return e
    }

    mutating func parsePrimary() throws -> Expr {
        let token = peek
        switch token.kind {
        case .integer(let digits):
            _ = advance()
            if Int64(digits) == nil, castsToFloat() { return .literal(.text(digits)) }
            return try integerLiteral(digits)
        case .decimal(let digits):
            _ = advance()
            // PostgreSQL: a literal with a point or an exponent is NUMERIC. One past what a
            // NUMERIC holds here (38 digits) is still a float's when cast to one (1e308::float8).
            if castsToFloat(), (try? Numeric.checkRepresentable(digits)) == nil { return .literal(.text(digits)) }
            try Numeric.checkRepresentable(digits)
            guard let n = Numeric(digits) else { throw error("bad numeric literal") }
            return .literal(.numeric(n))
        case .string(let s):
            _ = advance()
            return .literal(.text(s))
        case .blob(let b):
            _ = advance()
            return .literal(.blob(b))
        case .parameter(let n):
            _ = advance()
            if let n { nextParameter = max(nextParameter, n + 1); return .parameter(n) }
            defer { nextParameter += 1 }
            return .parameter(nextParameter)
        case .namedParameter(let name):
            _ = advance()
            if let number = parameterNumbers[name] { return .parameter(number) }
            parameterNumbers[name] = nextParameter
            defer { nextParameter += 1 }
            return .parameter(nextParameter)
        case .op("("):
            _ = advance()
            if isKeyword("select") || isKeyword("with") || isKeyword("values") {
                let query = try parseSelect()
                try expect(")")
                return .subquery(query)
            }
            let e = try parseExpr()
            // (a, b, …): a row constructor, as ROW(a, b, …).
            if accept(.op(",")) {
                var fields = [e]
                repeat { fields.append(try parseExpr()) } while accept(.op(","))
                try expect(")")
                return .function(name: "row", args: fields, distinct: false, star: false)
            }
            try expect(")")
            return e
        case .quotedIdentifier:
            return try parseColumnReference()
        case .identifier(let word):
            switch word {
            case "null": _ = advance(); return .literal(.null)
            case "true": _ = advance(); return .literal(.boolean(true))
            case "false": _ = advance(); return .literal(.boolean(false))
            case "case": _ = advance(); return try parseCase()
            case "cast":
                _ = advance()
                try expect("(")
                let e = try parseExpr()
                try expectKeyword("as")
                let type = try parseTypeName()
                try expect(")")
                return .cast(e, type)
            case "array" where peekAt(1).kind == .op("["):
                _ = advance()
                return try parseArrayConstructor()
            case "array" where peekAt(1).kind == .op("(") && (isKeyword("select", at: 2) || isKeyword("with", at: 2) || isKeyword("values", at: 2)):
                _ = advance()
                try expect("(")
                let query = try parseSelect()
                try expect(")")
                return .arraySubquery(query)
            case "exists":
                _ = advance()
                try expect("(")
                let query = try parseSelect()
                try expect(")")
                return .exists(query, negated: false)
            case "not":
                _ = advance()
                return .unary(.not, try parseNot())
            case _ where isTypedLiteral() && (["date", "time", "timestamp", "timestamptz", "interval", "double", "character"].contains(word)
                                              || SQLType(spelling: word) != nil):
                let type = try parseTypeName()
                guard case .string(let text) = peek.kind else { throw error("expected a quoted \(type.name) value") }
                _ = advance()
                return .cast(.literal(.text(text)), type)
            case "current_date", "current_timestamp", "current_time", "localtimestamp", "localtime",
                 "current_user", "session_user", "current_role", "current_catalog", "current_schema":
                if case .op("(") = peekAt(1).kind { return try parseFunction() }
                _ = advance()
                return .function(name: word, args: [], distinct: false, star: false)
            default:
                if case .op("(") = peekAt(1).kind { return try parseFunction() }
                // pg_catalog.f(…) is the built-in f.
                if word == "pg_catalog", peekAt(1).kind == .op("."), case .identifier = peekAt(2).kind, peekAt(3).kind == .op("(") {
                    _ = advance()
                    _ = advance()
                    return try parsePrimary()
                }
                if Parser.reserved.contains(word) { throw error("expected an expression") }
                return try parseColumnReference()
            }
        default:
            throw error("expected an expression")
        }
    }

    /// Whether the next tokens cast what precedes them to a floating-point type.
    func castsToFloat() -> Bool {
        guard peek.kind == .op("::"), case .identifier(let word) = peekAt(1).kind else { return false }
        return ["float8", "float4", "float", "real", "double"].contains(word)
    }

    /// DATE '…', TIMESTAMP [WITH TIME ZONE] '…', INTERVAL '…' and friends.
    func isTypedLiteral() -> Bool {
        if case .string = peekAt(1).kind { return true }
        if (isKeyword("double") && isKeyword("precision", at: 1)) || (isKeyword("character") && isKeyword("varying", at: 1)) {
            if case .string = peekAt(2).kind { return true }
        }
        return (isKeyword("timestamp") || isKeyword("time")) && (isKeyword("with", at: 1) || isKeyword("without", at: 1))
    }

    mutating func parseColumnReference() throws -> Expr {
        let first = try anyName("column name")
        if accept(.op(".")) {
            let second = try anyName("column name")
            if accept(.op(".")) { return .column(table: second, name: try anyName("column name")) }
            return .column(table: first, name: second)
        }
        return .column(table: nil, name: first)
    }

    mutating func parseCase() throws -> Expr {
        var base: Expr?
        if !isKeyword("when") { base = try parseExpr() }
        var whens: [(Expr, Expr)] = []
        while acceptKeyword("when") {
            let condition = try parseExpr()
            try expectKeyword("then")
            whens.append((condition, try parseExpr()))
        }
        guard !whens.isEmpty else { throw error("expected WHEN") }
        var otherwise: Expr?
        if acceptKeyword("else") { otherwise = try parseExpr() }
        try expectKeyword("end")
        return .caseWhen(base: base, whens: whens, otherwise: otherwise)
    }

    /// `[a, b, …]` after ARRAY (the `[` is next); an item that is itself `[…]` is a sub-array.
    mutating func parseArrayConstructor() throws -> Expr {
        try descend()
        defer { depth -= 1 }
        try expect("[")
        var items: [Expr] = []
        if !accept(.op("]")) {
            repeat {
                if peek.kind == .op("[") { items.append(try parseArrayConstructor()) } else { items.append(try parseExpr()) }
            } while accept(.op(","))
            try expect("]")
        }
        return .array(items)
    }

    /// One subscript after its `[`: `i]`, `i:j]`, `i:]`, `:j]` or `:]`.
    mutating func parseSubscript() throws -> ArraySubscript {
        try descend()
        defer { depth -= 1 }
        var item = ArraySubscript(lower: nil, upper: nil, isSlice: false)
        if peek.kind != .op(":") { item.upper = try parseExpr() }
        if accept(.op(":")) {
            item.isSlice = true
            item.lower = item.upper
            item.upper = peek.kind == .op("]") ? nil : try parseExpr()
        } else if case .namedParameter(let name) = peek.kind, name.hasPrefix(":") {
            // `a[1:n]`: the lexer read `:n` as a named parameter.
            _ = advance()
            item.isSlice = true
            item.lower = item.upper
            item.upper = .column(table: nil, name: String(name.dropFirst()).lowercased())
        }
        try expect("]")
        return item
    }
}
