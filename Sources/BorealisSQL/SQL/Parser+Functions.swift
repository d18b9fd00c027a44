// The grammar of function calls: the special forms (EXTRACT, SUBSTRING … FROM, TRIM, POSITION,
// OVERLAY … PLACING),
// named arguments, aggregate DISTINCT / ORDER BY / WITHIN GROUP / FILTER, and window
// specifications after OVER.

import BorealisStorage

extension Parser {
    mutating func parseFunction() throws -> Expr {
        let name = try anyName("function name")
        try expect("(")
        if name == "extract" {
            let field: String
            if case .string(let f) = peek.kind { _ = advance(); field = f.lowercased() } else { field = try anyName("field name") }
            try expectKeyword("from")
            let subject = try parseExpr()
            try expect(")")
            return .function(name: "date_part", args: [.literal(.text(field)), subject], distinct: false, star: false)
        }
        if name == "position" {
            let needle = try parseConcat()
            if acceptKeyword("in") {
                let haystack = try parseExpr()
                try expect(")")
                return .function(name: "strpos", args: [haystack, needle], distinct: false, star: false)
            }
            var args = [needle]
            while accept(.op(",")) { args.append(try parseExpr()) }
            try expect(")")
            return .function(name: name, args: args, distinct: false, star: false)
        }
        if name == "substring" || name == "substr" {
            let subject = try parseExpr()
            if isKeyword("from") || isKeyword("for") {
                var args = [subject]
                if acceptKeyword("from") { args.append(try parseExpr()) } else { args.append(.literal(.integer(1))) }
                if acceptKeyword("for") { args.append(try parseExpr()) }
                try expect(")")
                return .function(name: "substr", args: args, distinct: false, star: false)
            }
            var args = [subject]
            while accept(.op(",")) { args.append(try parseExpr()) }
            try expect(")")
            return .function(name: "substr", args: args, distinct: false, star: false)
        }
        if name == "overlay" {
            let subject = try parseExpr()
            var args = [subject]
            if acceptKeyword("placing") {
                args.append(try parseExpr())
                try expectKeyword("from")
                args.append(try parseExpr())
                if acceptKeyword("for") { args.append(try parseExpr()) }
            } else {
                while accept(.op(",")) { args.append(try parseExpr()) }
            }
            try expect(")")
            return .function(name: name, args: args, distinct: false, star: false)
        }
        if name == "trim" && (isKeyword("both") || isKeyword("leading") || isKeyword("trailing") || isKeyword("from")) {
            var function = "btrim"
            if acceptKeyword("leading") { function = "ltrim" } else if acceptKeyword("trailing") { function = "rtrim" } else { _ = acceptKeyword("both") }
            var characters: Expr?
            if !isKeyword("from") { characters = try parseExpr() }
            try expectKeyword("from")
            let subject = try parseExpr()
            try expect(")")
            return .function(name: function, args: [subject] + (characters.map { [$0] } ?? []), distinct: false, star: false)
        }
        var call: Expr
        if accept(.op("*")) {
            try expect(")")
            call = .function(name: name, args: [], distinct: false, star: true)
        } else {
            var distinct = false
            if acceptKeyword("distinct") { distinct = true } else { _ = acceptKeyword("all") }
            var args: [Expr] = []
            var named: [(String, Expr)] = []
            if peek.kind != .op(")") {
                repeat {
                    // Named notation: `name => value` (after any positional arguments).
                    if case .op("=>") = peekAt(1).kind {
                        let parameter = try anyName("parameter name")
                        _ = advance()
                        named.append((parameter, try parseExpr()))
                    } else {
                        guard named.isEmpty else { throw error("positional argument cannot follow named argument") }
                        args.append(try parseExpr())
                    }
                } while accept(.op(","))
            }
            if !named.isEmpty { args = try Self.positionalArguments(name, args, named) }
            var order: [OrderItem] = []
            if acceptKeyword("order") { order = try parseOrderBy() }
            try expect(")")
            call = .function(name: name, args: args, distinct: distinct, star: false)
            if !order.isEmpty { call = .orderedAggregate(call, order) }
            // An ordered-set aggregate: percentile_cont(0.5) WITHIN GROUP (ORDER BY x) aggregates
            // x, sorted; its own arguments (the fraction) follow as the call's extra argument.
            if order.isEmpty, isKeyword("within"), isKeyword("group", at: 1) {
                _ = advance()
                _ = advance()
                try expect("(")
                try expectKeyword("order")
                let items = try parseOrderBy()
                try expect(")")
                guard items.count == 1, !distinct else {
                    throw DatabaseError(.error, sqlState: SQLState.undefinedFunction,
                                        "function \(name) with \(items.count) ordering columns does not exist")
                }
                call = .orderedAggregate(.function(name: name, args: [items[0].expr] + args, distinct: false, star: false), items)
            }
        }
        if acceptKeyword("filter") {
            try expect("(")
            try expectKeyword("where")
            let condition = try parseExpr()
            try expect(")")
            call = .aggregateFilter(call, condition)
        }
        if acceptKeyword("over") {
            return .window(call, try parseWindowSpec())
        }
        return call
    }

    /// Named arguments in their positions, for the functions that name their parameters
    /// (make_interval; a missing one takes its default, 0).
    static func positionalArguments(_ function: String, _ positional: [Expr], _ named: [(String, Expr)]) throws -> [Expr] {
        let parameters: [String: [String]] = ["make_interval": ["years", "months", "weeks", "days", "hours", "mins", "secs"]]
        guard let names = parameters[function] else {
            throw DatabaseError(.error, sqlState: SQLState.undefinedFunction,
                                "function \(function) with named arguments (\(named.map(\.0).joined(separator: ", "))) does not exist")
        }
        var args = positional + [Expr](repeating: .literal(.integer(0)), count: max(0, names.count - positional.count))
        var given = Set<String>()
        for (parameter, value) in named {
            guard given.insert(parameter).inserted else {
                throw DatabaseError(.error, sqlState: SQLState.syntaxError, "argument name \"\(parameter)\" used more than once")
            }
            guard let i = names.firstIndex(of: parameter), i >= positional.count else {
                throw DatabaseError(.error, sqlState: SQLState.undefinedFunction,
                                    "function \(function) has no parameter \"\(parameter)\" (or it is also given by position)")
            }
            args[i] = value
        }
        return args
    }

    mutating func parseWindowSpec() throws -> WindowSpec {
        var spec = WindowSpec()
        if !accept(.op("(")) {
            spec.base = try identifier("window name")   // OVER w
            namedWindowReferences += 1
            return spec
        }
        if case .identifier(let word) = peek.kind, !["partition", "order", "rows", "range", "groups"].contains(word) {
            spec.base = try identifier("window name")
            namedWindowReferences += 1
        } else if case .quotedIdentifier = peek.kind {
            spec.base = try identifier("window name")
            namedWindowReferences += 1
        }
        if acceptKeyword("partition") {
            try expectKeyword("by")
            repeat { spec.partition.append(try parseExpr()) } while accept(.op(","))
        }
        if acceptKeyword("order") { spec.order = try parseOrderBy() }
        if isKeyword("rows") || isKeyword("range") {
            let rows = acceptKeyword("rows")
            if !rows { _ = advance() }
            var frame = WindowFrame(rows: rows, start: .unboundedPreceding, end: .currentRow)
            if acceptKeyword("between") {
                frame.start = try parseFrameBound()
                try expectKeyword("and")
                frame.end = try parseFrameBound()
            } else {
                frame.start = try parseFrameBound()
            }
            spec.frame = frame
        }
        try expect(")")
        return spec
    }

    mutating func parseFrameBound() throws -> FrameBound {
        if acceptKeyword("unbounded") {
            if acceptKeyword("preceding") { return .unboundedPreceding }
            try expectKeyword("following")
            return .unboundedFollowing
        }
        if acceptKeyword("current") {
            try expectKeyword("row")
            return .currentRow
        }
        guard case .integer(let digits) = peek.kind, let n = Int(digits) else { throw error("expected a frame bound") }
        _ = advance()
        if acceptKeyword("preceding") { return .preceding(n) }
        try expectKeyword("following")
        return .following(n)
    }
}
