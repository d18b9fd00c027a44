// The scalar functions of the dialect (docs/sql.md), one `ScalarFunction` each: its names, how
// many arguments it takes, the type of its result for its arguments' types, the types its `$n`
// arguments take, whether it may be folded into a constant, and how a call compiles to a closure
// over its argument evaluators. `FunctionRegistry` finds them by name; an unknown name or a wrong
// number of arguments is 42883 naming the argument types, as in PostgreSQL. Aggregates and
// window functions are compiled by their collectors (Aggregates.swift, WindowFunctions.swift).

import FoundationEssentials
import Glibc
import BorealisStorage

struct ScalarFunction: Sendable {
    /// The type of a call's result, from its arguments' static types.
    enum Result: Sendable {
        case fixed(SQLType)
        /// The type of argument i (abs, nullif).
        case argument(Int)
        /// An array of argument i's type (array_fill).
        case arrayOf(Int)
        /// The common type of all arguments (coalesce, greatest, least).
        case common
        /// The common type of the arguments after the first (IF(condition, a, b)).
        case commonAfterFirst
        /// As the `%` operator types its operands (mod).
        case arithmetic
        /// round, trunc, ceil, floor, sign: numeric for a numeric (or with a scale argument),
        /// else double precision.
        case rounding
        /// date_trunc: timestamptz for a timestamptz, else timestamp.
        case truncatedTimestamp
        /// timezone(zone, ts), AT TIME ZONE: a timestamp for a timestamptz, else timestamptz.
        case zoneConverted
    }

    /// Whether calls may be evaluated once at planning time (PostgreSQL's provolatile):
    /// stable functions (now()) are fixed within a statement but not across executions of a
    /// cached plan, so only immutable ones are folded.
    enum Volatility: Sendable { case immutable, stable, volatile }

    let names: [String]
    let arity: ClosedRange<Int>
    let result: Result
    /// The type a `$n` argument takes at each position (the last repeats for more arguments);
    /// nil: the common type of the other arguments.
    let parameters: [SQLType?]
    let volatility: Volatility
    let make: @Sendable (_ name: String, _ args: [Evaluator]) throws -> Evaluator
    /// For a function whose behaviour depends on its arguments' static types (to_jsonb embeds
    /// a jsonb argument but quotes a text one): compiled with them instead of `make`.
    var makeTyped: (@Sendable (_ name: String, _ args: [Evaluator], _ types: [SQLType?]) throws -> Evaluator)?

    init(_ names: [String], arity: ClosedRange<Int>, result: Result, parameters: [SQLType?], volatility: Volatility,
         typed: @escaping @Sendable (_ name: String, _ args: [Evaluator], _ types: [SQLType?]) throws -> Evaluator) {
        self.init(names, arity: arity, result: result, parameters: parameters, volatility: volatility) { _, _ in
            throw DatabaseError.internalError("a typed function compiled without its argument types")
        }
        makeTyped = typed
    }

    init(_ names: [String], arity: ClosedRange<Int>, result: Result, parameters: [SQLType?], volatility: Volatility,
         _ make: @escaping @Sendable (_ name: String, _ args: [Evaluator]) throws -> Evaluator) {
        self.names = names
        self.arity = arity
        self.result = result
        self.parameters = parameters
        self.volatility = volatility
        self.make = make
    }

    func resultType(_ arguments: [SQLType?]) -> SQLType? {
        switch result {
        case .fixed(let type): return type
        case .argument(let i): return i < arguments.count ? arguments[i] : nil
        case .arrayOf(let i): return i < arguments.count ? arguments[i]?.arrayType : nil
        case .common: return SQLType.common(arguments)
        case .commonAfterFirst: return SQLType.common(Array(arguments.dropFirst()))
        case .arithmetic: return arguments.count == 2 ? SQLType.arithmetic(.modulo, arguments[0], arguments[1]) : nil
        case .rounding:
            guard let first = arguments.first else { return nil }
            return arguments.count > 1 || first == .numeric ? .numeric : .doublePrecision
        case .truncatedTimestamp:
            return arguments.count > 1 && arguments[1] == .timestamptz ? .timestamptz : .timestamp
        case .zoneConverted:
            return arguments.count > 1 && (arguments[1] == .timestamptz || arguments[1] == .date) ? .timestamp : .timestamptz
        }
    }

    func parameterType(position: Int, arguments: [SQLType?]) -> SQLType? {
        if !parameters.isEmpty, let declared = parameters[min(position, parameters.count - 1)] { return declared }
        var others = arguments
        if position < others.count { others.remove(at: position) }
        return SQLType.common(others)
    }
}

package enum FunctionRegistry {
    /// Each scalar function's names with the number of arguments it takes (the fuzzer's
    /// statement generator calls them all).
    package static var signatures: [(name: String, arity: ClosedRange<Int>)] {
        functions.map { ($0.key, $0.value.arity) }.sorted { $0.name < $1.name }
    }

    /// Every scalar function, by each of its names.
    static let functions: [String: ScalarFunction] = {
        var byName: [String: ScalarFunction] = [:]
        for function in all {
            for name in function.names { byName[name] = function }
        }
        return byName
    }()

    /// A call compiled over its argument evaluators; `argumentTypes` name the call in errors
    /// (worked out only for one: typing the arguments walks them again).
    static func compile(_ name: String, _ args: [Evaluator], argumentTypes: @autoclosure () -> [SQLType?]) throws -> Evaluator {
        if args.count > Limits.maxFunctionArguments && !["coalesce", "greatest", "least"].contains(name) {
            throw DatabaseError(.error, sqlState: SQLState.tooManyArguments,
                                "cannot pass more than \(Limits.maxFunctionArguments) arguments to a function")
        }
        guard let function = functions[name], function.arity.contains(args.count) else {
            let types = argumentTypes().map { $0?.displayName ?? "unknown" }.joined(separator: ", ")
            throw DatabaseError(.error, sqlState: SQLState.undefinedFunction, "function \(name)(\(types)) does not exist")
        }
        if let typed = function.makeTyped { return try typed(name, args, argumentTypes()) }
        return try function.make(name, args)
    }

    /// The static type of a call of `name` with arguments of these types (nil: not known).
    static func resultType(_ name: String, _ arguments: [SQLType?]) -> SQLType? {
        functions[name]?.resultType(arguments)
    }

    /// The type a `$n` argument at `position` of a call of `name` takes.
    static func parameterType(_ name: String, position: Int, argumentTypes: [SQLType?]) -> SQLType? {
        functions[name]?.parameterType(position: position, arguments: argumentTypes)
    }

    /// Whether a call of `name` may give different results for the same arguments within a
    /// cached plan (random(), now()): never folded into a constant.
    static func isVolatile(_ name: String) -> Bool {
        guard let function = functions[name] else { return false }
        return function.volatility != .immutable
    }

    private static let all: [ScalarFunction] = scalar + session + sequences + text + math + dateTime + json + catalogFunctions + bytesFunctions
        + arrays

    private static let scalar: [ScalarFunction] = [
        ScalarFunction(["abs"], arity: 1...1, result: .argument(0), parameters: [nil], volatility: .immutable) { name, args in
            let a = args[0]
            return { ctx in
                switch try a(ctx) {
                case .integer(let v):
                    if v == .min { throw Value.overflow() }
                    return .integer(abs(v))
                case .double(let d): return .double(abs(d))
                case .numeric(let n): return .numeric(Numeric(n.value < 0 ? -n.value : n.value, scale: n.scale))
                case .null: return .null
                case let v: throw DatabaseError(.mismatch, sqlState: SQLState.undefinedFunction, "function abs(\(v.typeName)) does not exist")
                }
            }
        },
        ScalarFunction(["coalesce"], arity: 1...Int.max, result: .common, parameters: [nil], volatility: .immutable) { name, args in
            return { ctx in
                for a in args {
                    let v = try a(ctx)
                    if !v.isNull { return v }
                }
                return .null
            }
        },
        ScalarFunction(["nullif"], arity: 2...2, result: .argument(0), parameters: [nil], volatility: .immutable) { name, args in
            let a = args[0], b = args[1]
            return { ctx in
                let x = try a(ctx)
                return try Value.compare(x, try b(ctx)) == 0 ? .null : x
            }
        },
        ScalarFunction(["greatest", "least"], arity: 1...Int.max, result: .common, parameters: [nil], volatility: .immutable) { name, args in
            let wantGreater = name == "greatest"
            return { ctx in
                var best = Value.null
                for a in args {
                    let v = try a(ctx)
                    if v.isNull { continue }
                    if best.isNull { best = v; continue }
                    if let c = try Value.compare(v, best), (wantGreater ? c > 0 : c < 0) { best = v }
                }
                return best
            }
        },
        ScalarFunction(["length", "char_length", "character_length"], arity: 1...1, result: .fixed(.integer), parameters: [.text], volatility: .immutable) { name, args in
            let a = args[0]
            return { ctx in Value.characterLength(try a(ctx)) }
        },
        ScalarFunction(["octet_length"], arity: 1...1, result: .fixed(.integer), parameters: [.text], volatility: .immutable) { name, args in
            let a = args[0]
            return { ctx in Value.octetLength(try a(ctx)) }
        },
        ScalarFunction(["lower", "upper"], arity: 1...1, result: .fixed(.text), parameters: [.text], volatility: .immutable) { name, args in
            let a = args[0]
            let up = name == "upper"
            return { ctx in
                guard let s = try Functions.text(try a(ctx)) else { return .null }
                return .text(up ? s.uppercased() : s.lowercased())
            }
        },
        ScalarFunction(["substr", "substring"], arity: 2...3, result: .fixed(.text), parameters: [.text, .integer], volatility: .immutable) { name, args in
            return { ctx in
                guard let s = try Functions.text(try args[0](ctx)) else { return .null }
                guard case .integer(let start) = try args[1](ctx).cast(to: .bigint) else { return .null }
                // Characters are code points, as PostgreSQL counts them, read in place (an array
                // of Characters took 16 bytes each: gigabytes for a long text).
                let scalars = s.unicodeScalars
                let count = scalars.count
                // Wide arithmetic: start and length may be anywhere in bigint's range.
                var from = start == .min ? Int.min : Int(start) - 1
                var to = count
                if args.count == 3 {
                    guard case .integer(let length) = try args[2](ctx).cast(to: .bigint) else { return .null }
                    if length < 0 { throw DatabaseError(.error, sqlState: SQLState.substringError, "negative substring length not allowed") }
                    let (end, overflow) = from.addingReportingOverflow(Int(length))
                    to = overflow ? count : min(count, end)
                }
                from = min(max(0, from), count)
                guard from < to else { return .text("") }
                let lower = scalars.index(scalars.startIndex, offsetBy: from)
                return .text(String(scalars[lower..<scalars.index(lower, offsetBy: to - from)]))
            }
        },
        ScalarFunction(["trim", "btrim", "ltrim", "rtrim"], arity: 1...2, result: .fixed(.text), parameters: [.text], volatility: .immutable) { name, args in
            return { ctx in
                guard let s = try Functions.text(try args[0](ctx)) else { return .null }
                let set: Set<Character>
                if args.count == 2 {
                    guard let chars = try Functions.text(try args[1](ctx)) else { return .null }
                    set = Set(chars)
                } else {
                    set = [" "]
                }
                var chars = Substring(s)
                if name != "rtrim" { chars = chars.drop { set.contains($0) } }
                if name != "ltrim" { while let last = chars.last, set.contains(last) { chars = chars.dropLast() } }
                return .text(String(chars))
            }
        },
        ScalarFunction(["replace"], arity: 3...3, result: .fixed(.text), parameters: [.text], volatility: .immutable) { name, args in
            return { ctx in
                guard let s = try Functions.text(try args[0](ctx)), let from = try Functions.text(try args[1](ctx)), let to = try Functions.text(try args[2](ctx)) else { return .null }
                return .text(from.isEmpty ? s : s.replacing(from, with: to))
            }
        },
        ScalarFunction(["concat"], arity: 1...Int.max, result: .fixed(.text), parameters: [.text], volatility: .immutable) { name, args in
            return { ctx in .text(try args.map { try Functions.text(try $0(ctx)) ?? "" }.joined()) }
        },
        ScalarFunction(["round", "trunc"], arity: 1...2, result: .rounding, parameters: [.numeric, .integer], volatility: .immutable) { name, args in
            let truncate = name == "trunc"
            return { ctx in
                let v = try args[0](ctx)
                var digits: Int64 = 0
                if args.count == 2 {
                    guard case .integer(let d) = try args[1](ctx).cast(to: .bigint) else { return .null }
                    digits = d
                }
                switch v {
                case .null: return .null
                case .numeric(let n):
                    // PostgreSQL clamps the scale to ±2000 (NUMERIC_MAX_RESULT_SCALE); past the
                    // 38 digits a NUMERIC holds, rounding changes nothing but the display scale.
                    let scale = Int(max(-Int64(Numeric.maxResultScale), min(Int64(Numeric.maxResultScale), digits)))
                    if scale < -38 { return .numeric(Numeric(0, scale: 0)) }
                    if scale >= 0 { return .numeric(truncate ? n.truncated(to: scale) : n.rounded(to: scale)) }
                    let factor = pow(Decimal(10), -scale)
                    let shifted = Numeric(n.value / factor, scale: 0)
                    return .numeric(Numeric((truncate ? shifted.truncated(to: 0) : shifted.rounded(to: 0)).value * factor, scale: 0))
                case .integer where digits >= 0: return v
                case .integer where digits < -18: return .integer(0)
                case .integer(let i):
                    let scale = pow(10.0, Double(-digits))
                    let d = Double(i) / scale
                    return .integer(Int64((truncate ? d.rounded(.towardZero) : d.rounded(.toNearestOrAwayFromZero)) * scale))
                case .double(let d) where digits > 330 || !d.isFinite: return v   // nothing to round
                case .double where digits < -330: return .double(0)
                case .double(let d):
                    let scale = pow(10.0, Double(digits))
                    let scaled = d * scale
                    return .double((truncate ? scaled.rounded(.towardZero) : scaled.rounded(.toNearestOrAwayFromZero)) / scale)
                default: throw DatabaseError(.mismatch, sqlState: SQLState.undefinedFunction, "function \(name)(\(v.typeName)) does not exist")
                }
            }
        },
        ScalarFunction(["ceil", "ceiling", "floor"], arity: 1...1, result: .rounding, parameters: [.numeric], volatility: .immutable) { name, args in
            let up = name != "floor"
            return { ctx in
                switch try args[0](ctx) {
                case .null: return .null
                case .integer(let i): return .integer(i)
                case .double(let d): return .double(up ? d.rounded(.up) : d.rounded(.down))
                case .numeric(let n):
                    return .numeric(Numeric(n.value.rounded(scale: 0, up ? .up : .down), scale: 0))
                case let v: throw DatabaseError(.mismatch, sqlState: SQLState.undefinedFunction, "function \(name)(\(v.typeName)) does not exist")
                }
            }
        },
        ScalarFunction(["sign"], arity: 1...1, result: .rounding, parameters: [.numeric], volatility: .immutable) { name, args in
            return { ctx in
                switch try args[0](ctx) {
                case .null: return .null
                case .integer(let i): return .integer(i.signum())
                case .double(let d): return .double(d > 0 ? 1 : (d < 0 ? -1 : 0))
                case .numeric(let n): return .numeric(Numeric(n.value > 0 ? 1 : (n.value < 0 ? -1 : 0), scale: 0))
                case let v: throw DatabaseError(.mismatch, sqlState: SQLState.undefinedFunction, "function sign(\(v.typeName)) does not exist")
                }
            }
        },
        ScalarFunction(["mod"], arity: 2...2, result: .arithmetic, parameters: [nil], volatility: .immutable) { name, args in
            return { ctx in try Value.arithmetic(.modulo, try args[0](ctx), try args[1](ctx)) }
        },
        ScalarFunction(["power", "pow"], arity: 2...2, result: .fixed(.doublePrecision), parameters: [.doublePrecision], volatility: .immutable, Functions.floatingPoint),
        ScalarFunction(["log"], arity: 1...2, result: .fixed(.doublePrecision), parameters: [.doublePrecision], volatility: .immutable, Functions.floatingPoint),
        ScalarFunction(["sqrt", "exp", "ln", "log10"], arity: 1...1, result: .fixed(.doublePrecision), parameters: [.doublePrecision], volatility: .immutable, Functions.floatingPoint),
        ScalarFunction(["random"], arity: 0...0, result: .fixed(.doublePrecision), parameters: [], volatility: .volatile) { name, args in
            return { _ in .double(Double.random(in: 0..<1)) }
        },
        ScalarFunction(["repeat"], arity: 2...2, result: .fixed(.text), parameters: [.text, .integer], volatility: .immutable) { name, args in
            return { ctx in
                guard let s = try Functions.text(try args[0](ctx)), case .integer(let n) = try args[1](ctx).cast(to: .bigint) else { return .null }
                let count = max(0, Int(n))
                let (bytes, overflow) = s.utf8.count.multipliedReportingOverflow(by: count)
                if overflow || bytes > Limits.maxValueBytes { throw Limits.valueTooLarge() }
                return .text(String(repeating: s, count: count))
            }
        },
        ScalarFunction(["reverse"], arity: 1...1, result: .fixed(.text), parameters: [.text], volatility: .immutable) { name, args in
            return { ctx in
                guard let s = try Functions.text(try args[0](ctx)) else { return .null }
                return .text(String(s.reversed()))
            }
        },
        ScalarFunction(["strpos", "position"], arity: 2...2, result: .fixed(.integer), parameters: [.text], volatility: .immutable) { name, args in
            return { ctx in
                guard let s = try Functions.text(try args[0](ctx)), let sub = try Functions.text(try args[1](ctx)) else { return .null }
                guard let range = s.firstRange(of: sub) else { return .integer(0) }
                return .integer(Int64(s.distance(from: s.startIndex, to: range.lowerBound) + 1))
            }
        },
        ScalarFunction(["left", "right"], arity: 2...2, result: .fixed(.text), parameters: [.text, .integer], volatility: .immutable) { name, args in
            return { ctx in
                guard let s = try Functions.text(try args[0](ctx)), case .integer(let n) = try args[1](ctx).cast(to: .bigint) else { return .null }
                let chars = Array(s)
                let count = n >= 0 ? min(chars.count, Int(n)) : max(0, chars.count - Int(min(n.magnitude, UInt64(chars.count))))
                return .text(String(name == "left" ? chars.prefix(count) : chars.suffix(count)))
            }
        },
        ScalarFunction(["now", "current_timestamp", "transaction_timestamp"], arity: 0...0, result: .fixed(.timestamptz), parameters: [], volatility: .stable) { name, args in
            return { ctx in .timestamptz(ctx.transactionTime) }
        },
        ScalarFunction(["statement_timestamp"], arity: 0...0, result: .fixed(.timestamptz), parameters: [], volatility: .stable) { name, args in
            return { ctx in .timestamptz(ctx.statementTime) }
        },
        ScalarFunction(["clock_timestamp"], arity: 0...0, result: .fixed(.timestamptz), parameters: [], volatility: .volatile) { name, args in
            return { _ in .timestamptz(wallClockMicroseconds()) }
        },
        ScalarFunction(["localtimestamp"], arity: 0...0, result: .fixed(.timestamp), parameters: [], volatility: .stable) { name, args in
            return { ctx in .timestamp(ctx.transactionTime) }
        },
        ScalarFunction(["current_date"], arity: 0...0, result: .fixed(.date), parameters: [], volatility: .stable) { name, args in
            return { ctx in .date(Int32(DateTime.floorDiv(ctx.transactionTime, DateTime.microsPerDay))) }
        },
        ScalarFunction(["current_time", "localtime"], arity: 0...0, result: .fixed(.time), parameters: [], volatility: .stable) { name, args in
            return { ctx in .time(ctx.transactionTime - DateTime.floorDiv(ctx.transactionTime, DateTime.microsPerDay) * DateTime.microsPerDay) }
        },
        ScalarFunction(["date_part"], arity: 2...2, result: .fixed(.doublePrecision), parameters: [.text, .timestamp], volatility: .immutable) { name, args in
            return { ctx in
                guard let field = try Functions.text(try args[0](ctx)) else { return .null }
                var v = try args[1](ctx)
                if case .text(let s) = v { v = try Value.text(s).cast(to: .timestamp) }
                return try DateTime.extract(field.lowercased(), from: v)
            }
        },
        ScalarFunction(["date_trunc"], arity: 2...2, result: .truncatedTimestamp, parameters: [.text, .timestamp], volatility: .immutable) { name, args in
            return { ctx in
                guard let field = try Functions.text(try args[0](ctx)) else { return .null }
                switch try args[1](ctx) {
                case .null: return .null
                case .timestamp(let t): return .timestamp(try DateTime.truncate(field.lowercased(), t))
                case .timestamptz(let t): return .timestamptz(try DateTime.truncate(field.lowercased(), t))
                case .date(let d): return .timestamp(try DateTime.truncate(field.lowercased(), try DateTime.timestamp(ofDate: Int64(d))))
                case .text(let s): return .timestamp(try DateTime.truncate(field.lowercased(), try DateTime.parseTimestamp(s, zone: false)))
                case let v: throw DatabaseError(.mismatch, sqlState: SQLState.undefinedFunction, "function date_trunc(text, \(v.typeName)) does not exist")
                }
            }
        },
        ScalarFunction(["make_date"], arity: 3...3, result: .fixed(.date), parameters: [.integer], volatility: .immutable) { name, args in
            return { ctx in
                let parts = try args.map { try $0(ctx).cast(to: .bigint) }
                guard case .integer(let y) = parts[0], case .integer(let m) = parts[1], case .integer(let d) = parts[2] else { return .null }
                // PostgreSQL: a negative year is BC (-1 is 1 BC, astronomical year 0); there is no year 0.
                guard y != 0, (1...12).contains(m), d >= 1, d <= DateTime.daysInMonth(year: Int(y < 0 ? y + 1 : y), month: Int(m)) else {
                    throw DatabaseError(.range, sqlState: SQLState.datetimeFieldOverflow, "date field value out of range: \(y)-\(m)-\(d)")
                }
                let outOfRange = DatabaseError(.range, sqlState: SQLState.datetimeFieldOverflow, "date out of range: \(y)-\(m)-\(d)")
                guard y > -10_000_000, y < 10_000_000 else { throw outOfRange }
                let days = DateTime.days(year: Int(y < 0 ? y + 1 : y), month: Int(m), day: Int(d))
                guard let date = try? DateTime.checkedDate(days) else { throw outOfRange }
                return .date(date)
            }
        },
        ScalarFunction(["to_char"], arity: 2...2, result: .fixed(.text), parameters: [.timestamp, .text], volatility: .immutable) { name, args in
            return { ctx in
                let v = try args[0](ctx)
                // A date past the last timestamp is an error, as in PostgreSQL (not a clamped instant).
                if case .date(let d) = v { _ = try DateTime.timestamp(ofDate: Int64(d)) }
                if v.isInfiniteDateTime { return .null }
                guard let format = try Functions.text(try args[1](ctx)), let micros = v.instant else {
                    if v.isNull { return .null }
                    throw DatabaseError(.mismatch, sqlState: SQLState.undefinedFunction, "function to_char(\(v.typeName), text) does not exist")
                }
                return .text(Functions.formatTimestamp(micros, format))
            }
        },
        ScalarFunction(["md5"], arity: 1...1, result: .fixed(.text), parameters: [.text], volatility: .immutable) { name, args in
            return { ctx in
                switch try args[0](ctx) {
                case .null: return .null
                case .blob(let b): return .text(MD5.hex(b))
                case let v: return .text(MD5.hex(Array(try Functions.text(v)!.utf8)))
                }
            }
        },
        ScalarFunction(["split_part"], arity: 3...3, result: .fixed(.text), parameters: [.text, .text, .integer], volatility: .immutable) { name, args in
            return { ctx in
                guard let s = try Functions.text(try args[0](ctx)), let delimiter = try Functions.text(try args[1](ctx)),
                      case .integer(let n) = try args[2](ctx).cast(to: .bigint) else { return .null }
                if n == 0 { throw DatabaseError(.error, sqlState: SQLState.invalidParameterValue, "field position must not be zero") }
                let parts = delimiter.isEmpty ? [s] : s.components(separatedBy: delimiter)
                let index = n > 0 ? Int(n) - 1 : parts.count + Int(n)
                return .text(index >= 0 && index < parts.count ? parts[index] : "")
            }
        },
        ScalarFunction(["lpad", "rpad"], arity: 2...3, result: .fixed(.text), parameters: [.text, .integer, .text], volatility: .immutable) { name, args in
            return { ctx in
                guard let s = try Functions.text(try args[0](ctx)), case .integer(let length) = try args[1](ctx).cast(to: .bigint) else { return .null }
                var fill = " "
                if args.count == 3 {
                    guard let f = try Functions.text(try args[2](ctx)) else { return .null }
                    fill = f
                }
                let chars = Array(s)
                let target = max(0, Int(length))
                // Every character is at least a byte: the size is checked before the text is built.
                if target > Limits.maxValueBytes { throw Limits.valueTooLarge() }
                if chars.count >= target { return .text(String(chars.prefix(target))) }
                if fill.isEmpty { return .text(s) }
                let padding = String(String(repeating: fill, count: (target - chars.count) / fill.count + 1).prefix(target - chars.count))
                return .text(name == "lpad" ? padding + s : s + padding)
            }
        },
        ScalarFunction(["concat_ws"], arity: 1...Int.max, result: .fixed(.text), parameters: [.text], volatility: .immutable) { name, args in
            return { ctx in
                guard let separator = try Functions.text(try args[0](ctx)) else { return .null }
                return .text(try args.dropFirst().compactMap { try Functions.text(try $0(ctx)) }.joined(separator: separator))
            }
        },
        ScalarFunction(["initcap"], arity: 1...1, result: .fixed(.text), parameters: [.text], volatility: .immutable) { name, args in
            return { ctx in
                guard let s = try Functions.text(try args[0](ctx)) else { return .null }
                var result = ""
                var startOfWord = true
                for c in s {
                    result += startOfWord ? c.uppercased() : c.lowercased()
                    startOfWord = !(c.isLetter || c.isNumber)
                }
                return .text(result)
            }
        },
        ScalarFunction(["ascii"], arity: 1...1, result: .fixed(.integer), parameters: [.text], volatility: .immutable) { name, args in
            return { ctx in
                guard let s = try Functions.text(try args[0](ctx)) else { return .null }
                return .integer(Int64(s.unicodeScalars.first?.value ?? 0))
            }
        },
        ScalarFunction(["chr"], arity: 1...1, result: .fixed(.text), parameters: [.integer], volatility: .immutable) { name, args in
            return { ctx in
                guard case .integer(let code) = try args[0](ctx).cast(to: .bigint) else { return .null }
                guard code > 0, let scalar = Unicode.Scalar(UInt32(clamping: code)) else {
                    throw DatabaseError(.range, sqlState: SQLState.programLimitExceeded, "requested character too large for encoding: \(code)")
                }
                return .text(String(Character(scalar)))
            }
        },
    ]
}
