// Swift literals as SQL values, so parameter arrays read like the SQL they fill:
// `[1, "apple", nil, 2.5, true]` is a `[Value]` of .integer, .text, .null, .double, .boolean.
// Only literals convert implicitly; a variable of another type goes through `Value(_:)`
// (Value+Foundation.swift), which never loses information silently.

import BorealisSQL
import BorealisStorage

extension Value: ExpressibleByIntegerLiteral {
    /// An integer literal is a `bigint`: `.integer`.
    public init(integerLiteral value: Int64) { self = .integer(value) }
}

extension Value: ExpressibleByFloatLiteral {
    /// A floating-point literal is a `double precision`: `.double` (use `Value(Decimal(…))`
    /// for an exact NUMERIC).
    public init(floatLiteral value: Double) { self = .double(value) }
}

extension Value: ExpressibleByStringLiteral {
    /// A string literal is `.text`.
    public init(stringLiteral value: String) { self = .text(value) }
}

extension Value: ExpressibleByBooleanLiteral {
    /// `true` and `false` are `.boolean`.
    public init(booleanLiteral value: Bool) { self = .boolean(value) }
}

extension Value: ExpressibleByNilLiteral {
    /// `nil` in a `[Value]` is SQL NULL. Where the type is `Value?`, `nil` stays Swift's
    /// `Optional.none` (a missing value), never `.null`.
    public init(nilLiteral: ()) { self = .null }
}
