// Mathematical functions beyond arithmetic and rounding: pi, degrees/radians, the
// trigonometric and hyperbolic functions (and their *d degree forms), cbrt, div, gcd, lcm,
// factorial, width_bucket, and MySQL's IFNULL and IF. Float results that overflow from finite
// arguments are 22003, and arguments outside a function's domain 22003 "input is out of
// range", as in PostgreSQL.

import BorealisStorage
import Glibc

extension FunctionRegistry {
    static let math: [ScalarFunction] = [
        ScalarFunction(["pi"], arity: 0...0, result: .fixed(.doublePrecision), parameters: [], volatility: .immutable) { _, _ in
            { _ in .double(Double.pi) }
        },
        ScalarFunction(["degrees", "radians", "cbrt", "sin", "cos", "tan", "cot", "asin", "acos", "atan", "sinh", "cosh", "tanh",
                        "asinh", "acosh", "atanh", "sind", "cosd", "tand", "cotd", "asind", "acosd", "atand"],
                       arity: 1...1, result: .fixed(.doublePrecision), parameters: [.doublePrecision], volatility: .immutable) { name, args in
            let f = unary(name)
            return { ctx in
                let v = try args[0](ctx)
                if v.isNull { return .null }
                guard let x = v.doubleValue else {
                    throw DatabaseError(.mismatch, sqlState: SQLState.undefinedFunction, "function \(name)(\(v.typeName)) does not exist")
                }
                // Only the scaling functions overflow to an error; the trigonometric and
                // hyperbolic ones answer ±Infinity at their poles, as PostgreSQL's do.
                if ["degrees", "radians", "cbrt"].contains(name) { return try Functions.finite(try f(x), from: x) }
                return .double(try f(x))
            }
        },
        ScalarFunction(["atan2", "atan2d"], arity: 2...2, result: .fixed(.doublePrecision), parameters: [.doublePrecision],
                       volatility: .immutable) { name, args in
            { ctx in
                let a = try args[0](ctx), b = try args[1](ctx)
                guard let y = a.doubleValue, let x = b.doubleValue else { return .null }
                let r = Glibc.atan2(y, x)
                return .double(name == "atan2d" ? r * 180 / Double.pi : r)
            }
        },
        ScalarFunction(["div"], arity: 2...2, result: .fixed(.numeric), parameters: [.numeric], volatility: .immutable) { _, args in
            { ctx in
                let a = try args[0](ctx), b = try args[1](ctx)
                if a.isNull || b.isNull { return .null }
                let quotient = try Value.arithmetic(.divide, try a.cast(to: .numeric), try b.cast(to: .numeric))
                guard case .numeric(let n) = quotient else { return quotient }
                return .numeric(n.truncated(to: 0))
            }
        },
        ScalarFunction(["gcd", "lcm"], arity: 2...2, result: .common, parameters: [nil], volatility: .immutable) { name, args in
            { ctx in
                let a = try args[0](ctx), b = try args[1](ctx)
                if a.isNull || b.isNull { return .null }
                guard case .integer(let x) = a, case .integer(let y) = b else {
                    throw DatabaseError(.mismatch, sqlState: SQLState.undefinedFunction, "function \(name)(\(a.typeName), \(b.typeName)) does not exist")
                }
                var (p, q) = (x.magnitude, y.magnitude)
                while q != 0 { (p, q) = (q, p % q) }
                if name == "gcd" {
                    guard let g = Int64(exactly: p) else { throw Value.overflow() }
                    return .integer(g)
                }
                if x == 0 || y == 0 { return .integer(0) }
                let (l, overflow) = (x.magnitude / p).multipliedReportingOverflow(by: y.magnitude)
                guard !overflow, let result = Int64(exactly: l) else { throw Value.overflow() }
                return .integer(result)
            }
        },
        ScalarFunction(["factorial"], arity: 1...1, result: .fixed(.numeric), parameters: [.bigint], volatility: .immutable) { _, args in
            { ctx in
                guard case .integer(let n) = try args[0](ctx).cast(to: .bigint) else { return .null }
                if n < 0 { throw DatabaseError(.error, sqlState: SQLState.invalidParameterValue, "factorial of a negative number is undefined") }
                // 33! is the last factorial a NUMERIC of 38 digits holds.
                guard n <= 33 else { throw Numeric.overflow() }
                var result = Numeric(1, scale: 0)
                if n > 1 {
                    for i in 2...n {
                        guard case .numeric(let r) = try Value.arithmetic(.multiply, .numeric(result), .numeric(Numeric(Int64(i)))) else { break }
                        result = r
                    }
                }
                return .numeric(result)
            }
        },
        ScalarFunction(["width_bucket"], arity: 4...4, result: .fixed(.integer), parameters: [.doublePrecision, .doublePrecision, .doublePrecision, .integer],
                       volatility: .immutable) { _, args in
            { ctx in
                var values: [Value] = []
                for a in args { values.append(try a(ctx)) }
                if values.contains(where: \.isNull) { return .null }
                guard let x = values[0].doubleValue, let low = values[1].doubleValue, let high = values[2].doubleValue,
                      case .integer(let count) = try values[3].cast(to: .integer) else { return .null }
                guard !x.isNaN, !low.isNaN, !high.isNaN else {
                    throw DatabaseError(.error, sqlState: SQLState.invalidArgumentForWidthBucket, "operand, lower bound, and upper bound cannot be NaN")
                }
                guard count > 0 else {
                    throw DatabaseError(.error, sqlState: SQLState.invalidArgumentForWidthBucket, "count must be greater than zero")
                }
                guard low != high, low.isFinite, high.isFinite else {
                    throw DatabaseError(.error, sqlState: SQLState.invalidArgumentForWidthBucket,
                                        low == high ? "lower bound cannot equal upper bound" : "lower and upper bounds must be finite")
                }
                let ascending = low < high
                if ascending ? x < low : x > low { return .integer(0) }
                if ascending ? x >= high : x <= high {
                    guard count < Int64(Int32.max) else { throw Value.overflow() }
                    return .integer(count + 1)
                }
                let fraction = ascending ? (x - low) / (high - low) : (low - x) / (low - high)
                // Clamped before converting: an infinite fraction (a huge range) must not trap.
                let bucket = (fraction * Double(count)).rounded(.down)
                guard bucket.isFinite else { return .integer(count) }
                return .integer(min(count, Int64(max(0, min(bucket, Double(count)))) + 1))
            }
        },
        // MySQL's spellings: IFNULL(a, b) is coalesce(a, b), IF(c, a, b) is CASE WHEN c THEN a ELSE b END.
        ScalarFunction(["ifnull"], arity: 2...2, result: .common, parameters: [nil], volatility: .immutable) { _, args in
            { ctx in
                let v = try args[0](ctx)
                return v.isNull ? try args[1](ctx) : v
            }
        },
        ScalarFunction(["if"], arity: 3...3, result: .commonAfterFirst, parameters: [.boolean, nil], volatility: .immutable) { _, args in
            { ctx in try args[0](ctx).truth() == true ? try args[1](ctx) : try args[2](ctx) }
        },
    ]

    /// The one-argument float functions, with PostgreSQL's domain errors.
    private static func unary(_ name: String) -> @Sendable (Double) throws -> Double {
        let degree = Double.pi / 180
        @Sendable func domain(_ x: Double, _ range: ClosedRange<Double>) throws -> Double {
            guard x.isNaN || range.contains(x) else {
                throw DatabaseError(.range, sqlState: SQLState.numericValueOutOfRange, "input is out of range")
            }
            return x
        }
        @Sendable func finiteInput(_ x: Double) throws -> Double {
            guard !x.isInfinite else { throw DatabaseError(.range, sqlState: SQLState.numericValueOutOfRange, "input is out of range") }
            return x
        }
        switch name {
        case "degrees": return { $0 / degree }
        case "radians": return { $0 * degree }
        case "cbrt": return { Glibc.cbrt($0) }
        case "sin": return { Glibc.sin(try finiteInput($0)) }
        case "cos": return { Glibc.cos(try finiteInput($0)) }
        case "tan": return { Glibc.tan(try finiteInput($0)) }
        case "cot": return { 1 / Glibc.tan(try finiteInput($0)) }
        case "asin": return { Glibc.asin(try domain($0, -1...1)) }
        case "acos": return { Glibc.acos(try domain($0, -1...1)) }
        case "atan": return { Glibc.atan($0) }
        case "sinh": return { Glibc.sinh($0) }
        case "cosh": return { Glibc.cosh($0) }
        case "tanh": return { Glibc.tanh($0) }
        case "asinh": return { Glibc.asinh($0) }
        case "acosh": return { Glibc.acosh(try domain($0, 1...Double.infinity)) }
        case "atanh": return { Glibc.atanh(try domain($0, -1...1)) }
        case "sind": return { exactDegrees(Glibc.sin(try finiteInput($0) * degree)) }
        case "cosd": return { exactDegrees(Glibc.cos(try finiteInput($0) * degree)) }
        // tand and cotd from the exact sine and cosine, so that tand(90) is Infinity.
        case "tand": return { x in
            let a = try finiteInput(x)
            return exactDegrees(exactDegrees(Glibc.sin(a * degree)) / exactDegrees(Glibc.cos(a * degree)))
        }
        case "cotd": return { x in
            let a = try finiteInput(x)
            return exactDegrees(exactDegrees(Glibc.cos(a * degree)) / exactDegrees(Glibc.sin(a * degree)))
        }
        // The inverse *d functions are exact where the angle is (asind(0.5) = 30, as PostgreSQL).
        case "asind": return { x in try exactAngle(x, [0: 0, 0.5: 30, -0.5: -30, 1: 90, -1: -90]) ?? Glibc.asin(try domain(x, -1...1)) / degree }
        case "acosd": return { x in try exactAngle(x, [0: 90, 0.5: 60, -0.5: 120, 1: 0, -1: 180]) ?? Glibc.acos(try domain(x, -1...1)) / degree }
        default: return { x in try exactAngle(x, [0: 0, 1: 45, -1: -45]) ?? Glibc.atan(x) / degree }   // atand
        }
    }

    private static func exactAngle(_ x: Double, _ table: [Double: Double]) throws -> Double? { table[x] }

    /// The *d functions give exact results at the angles where the true value is exact
    /// (sind(30) = 0.5, not 0.49999999999999994).
    private static func exactDegrees(_ r: Double) -> Double {
        for exact in [0, 0.5, -0.5, 1, -1] where abs(r - exact) < 1e-15 { return exact }
        return r
    }
}
