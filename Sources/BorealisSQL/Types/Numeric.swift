// NUMERIC: exact decimal values with a display scale, as PostgreSQL keeps them (2.200 stays
// 2.200). Arithmetic follows PostgreSQL's result scales: + and − the larger input scale, × the
// sum of the scales, ÷ at least 16 significant digits (select_div_scale). Values are held in
// Foundation's Decimal: 38 significant digits, where PostgreSQL allows far more (docs/sql.md).

import FoundationEssentials
import BorealisStorage

/// An exact decimal with its display scale (NUMERIC).
///
/// ```swift
/// let price = Numeric("2.200")!          // prints "2.200"
/// try db.execute("INSERT INTO item(price) VALUES ($1)", [.numeric(price)])
/// ```
public struct Numeric: Hashable, Sendable, CustomStringConvertible {
    public var value: Decimal
    /// Digits shown after the decimal point.
    public var scale: Int

    public init(_ value: Decimal, scale: Int) {
        self.value = value
        self.scale = max(0, scale)
    }

    public init?(_ text: String) {
        let t = text.trimmingWhitespace()
        guard !t.isEmpty, t.allSatisfy({ $0.isNumber || "+-.eE".contains($0) }), let d = Decimal(string: t, locale: Locale(identifier: "en_US_POSIX")) else { return nil }
        // Scale: digits after the point, less the exponent.
        let lower = t.lowercased()
        let mantissa = lower.split(separator: "e").first.map(String.init) ?? lower
        let exponent = lower.contains("e") ? Int(lower.split(separator: "e").last ?? "0") ?? 0 : 0
        let fraction = mantissa.split(separator: ".", omittingEmptySubsequences: false).dropFirst().first?.count ?? 0
        self.init(d, scale: fraction - exponent)
    }

    init(_ integer: Int64) { self.init(Decimal(integer), scale: 0) }

    /// The largest scale round() and trunc() give (PostgreSQL's NUMERIC_MAX_RESULT_SCALE).
    static let maxResultScale = 2000

    /// Throws 22003 when numeric text has more significant digits (38) or a larger or smaller
    /// exponent than a NUMERIC holds exactly, rather than letting it round silently.
    static func checkRepresentable(_ text: String) throws {
        let lower = text.trimmingWhitespace().lowercased()
        let parts = lower.split(separator: "e", maxSplits: 1, omittingEmptySubsequences: false)
        var exponent = 0
        if parts.count == 2 {
            guard let e = Int(parts[1]) else {
                if parts[1].allSatisfy({ $0.isNumber || $0 == "-" || $0 == "+" }) && !parts[1].isEmpty { throw outOfRange }
                return   // not a number at all: the caller's parser reports it
            }
            exponent = e
        }
        let mantissa = parts[0]
        let fraction = mantissa.split(separator: ".", omittingEmptySubsequences: false).dropFirst().first?.count ?? 0
        var digits = Substring(mantissa.filter(\.isNumber)).drop { $0 == "0" }
        var trailing = 0
        while digits.last == "0" { digits.removeLast(); trailing += 1 }
        if digits.isEmpty { return }
        let (shift, o1) = exponent.subtractingReportingOverflow(fraction)
        let (power, o2) = shift.addingReportingOverflow(trailing)
        guard !o1, !o2, digits.count <= 38, power >= -128, power <= 127 else { throw outOfRange }
    }

    private static var outOfRange: DatabaseError {
        DatabaseError(.range, sqlState: SQLState.numericValueOutOfRange,
                      "value overflows numeric format (a NUMERIC holds 38 significant digits)")
    }

    /// The value rounded half away from zero to `scale` digits.
    package func rounded(to scale: Int) -> Numeric {
        Numeric(value.rounded(scale: scale, .halfAwayFromZero), scale: scale)
    }

    func truncated(to scale: Int) -> Numeric {
        Numeric(value.rounded(scale: scale, .towardZero), scale: scale)
    }

    public var description: String {
        let exact = rounded(to: scale).value
        var text = exact.description
        if text.contains("e") || text.contains("E") { text = "\(exact)" }
        guard scale > 0 else { return text }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        let fraction = parts.count > 1 ? String(parts[1]) : ""
        return String(parts[0]) + "." + fraction + String(repeating: "0", count: max(0, scale - fraction.count))
    }

    /// The nearest double, as strtod rounds the decimal text (Decimal's own conversion is off
    /// by an ulp for about a third of values: 123.456).
    public var doubleValue: Double { Double(description) ?? value.doubleValue }

    package var isIntegral: Bool { rounded(to: 0).value == value }

    /// The position of the first non-zero base-10000 digit (PostgreSQL's "weight"), and that digit.
    private var weightAndFirstDigit: (Int, Int) {
        let magnitude = value < 0 ? -value : value
        guard magnitude != 0 else { return (0, 0) }
        var digits = magnitude.description
        if digits.contains("e") || digits.contains("E") { digits = "\(magnitude)" }
        let parts = digits.split(separator: ".", omittingEmptySubsequences: false)
        let integer = String(parts[0]).drop { $0 == "0" }
        if !integer.isEmpty {
            let weight = (integer.count - 1) / 4
            let leading = integer.count - weight * 4
            return (weight, Int(integer.prefix(leading)) ?? 0)
        }
        let fraction = parts.count > 1 ? String(parts[1]) : ""
        let zeros = fraction.prefix { $0 == "0" }.count
        let weight = -(zeros / 4) - 1
        let start = (-weight - 1) * 4
        let group = String(fraction.dropFirst(start).prefix(4))
        return (weight, Int(group + String(repeating: "0", count: 4 - group.count)) ?? 0)
    }

    static func overflow() -> DatabaseError {
        DatabaseError(.range, sqlState: SQLState.numericValueOutOfRange, "value overflows numeric format")
    }

    static func add(_ a: Numeric, _ b: Numeric, subtract: Bool = false) -> Numeric {
        Numeric(subtract ? a.value - b.value : a.value + b.value, scale: max(a.scale, b.scale))
    }

    static func multiply(_ a: Numeric, _ b: Numeric) -> Numeric {
        Numeric(a.value * b.value, scale: min(1000, a.scale + b.scale))
    }

    static func divide(_ a: Numeric, _ b: Numeric) throws -> Numeric {
        if b.value == 0 { throw Value.divisionByZero }
        let (w1, d1) = a.weightAndFirstDigit, (w2, d2) = b.weightAndFirstDigit
        var qweight = w1 - w2
        if d1 <= d2 { qweight -= 1 }
        let scale = min(1000, max(16 - qweight * 4, a.scale, b.scale, 0))
        return Numeric(a.value / b.value, scale: scale).rounded(to: scale)
    }

    static func modulo(_ a: Numeric, _ b: Numeric) throws -> Numeric {
        if b.value == 0 { throw Value.divisionByZero }
        let quotient = Numeric(a.value / b.value, scale: 0).truncated(to: 0)
        return Numeric(a.value - quotient.value * b.value, scale: max(a.scale, b.scale))
    }

    static func compare(_ a: Numeric, _ b: Numeric) -> Int {
        a.value < b.value ? -1 : (a.value > b.value ? 1 : 0)
    }

    /// Checks NUMERIC(precision, scale) and rounds to its scale.
    /// The value, or 22003 when an operation overflowed what a NUMERIC holds (Foundation's
    /// Decimal answers NaN, which must never be stored: its row would no longer decode).
    func finite() throws -> Numeric {
        guard !value.isNaN else { throw Numeric.overflow() }
        return self
    }

    func fitted(precision: Int?, scale: Int?) throws -> Numeric {
        guard !value.isNaN else { throw Numeric.overflow() }
        guard let scale else { return self }
        let result = rounded(to: scale)
        if let precision {
            let limit = pow(Decimal(10), precision - scale)
            if (result.value < 0 ? -result.value : result.value) >= limit {
                throw DatabaseError(.range, sqlState: SQLState.numericValueOutOfRange, "numeric field overflow: a field with precision \(precision), scale \(scale) must round to an absolute value less than 10^\(precision - scale)")
            }
        }
        return result
    }

    /// Canonical form for hashing and grouping (equal values, equal keys).
    var normalized: Numeric {
        Numeric(Decimal(string: value.description) ?? value, scale: 0)
    }
}
