// Swift and Foundation values to and from SQL values, exactly or not at all:
//
//   Swift                 → Value (parameter)          Value → Swift (row.get, decoding)
//   Int, Int8…Int64       .integer                     .integer, integral .numeric; 22003 if it does not fit
//   UInt, UInt8…UInt64    .integer (22003 above        same
//                         Int64.max, never a trap)
//   Double, Float         .double                      .double, .integer, .numeric
//   Bool                  .boolean                     .boolean (and what CAST(… AS boolean) takes)
//   String                .text                        any value but NULL and bytea, as PostgreSQL prints it
//   Data                  .blob (bytea)                .blob
//   Date                  .timestamptz, µs since       .timestamptz, .timestamp (read as UTC), .date
//                         1970 UTC (rounded to the µs) (midnight UTC), text a TIMESTAMPTZ accepts
//   UUID                  .text, lowercase             .text (22P02 if not a UUID), 16-byte .blob
//   Decimal               .numeric (scale = the        .numeric (rounded to its scale, as printed),
//                         digits after the point)      .integer, numeric text (22P02 if not)
//   Optional              .null for nil                nil for NULL
//
// Anything else is a mismatch: DatabaseError 42804 (a Double column read as a Decimal is one:
// that conversion would not be exact). Timestamps are microseconds (Value.swift); a Date is a
// Double of seconds since 2001, so one µs-exact timestamp converts to the nearest Date and back
// to the same microsecond.

import BorealisSQL
import BorealisStorage

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Swift types that convert to a SQL `Value`: what `Value(_:)` and the record encoder take.
///
/// ```swift
/// let parameters: [Value] = [try Value(Date()), try Value(UUID()), try Value(Decimal(string: "9.99")!)]
/// try db.execute("INSERT INTO payment(at, id, amount) VALUES ($1, $2, $3)", parameters)
/// ```
///
/// The getter throws when the value has no exact SQL counterpart (a `UInt64` above
/// `Int64.max`, a NaN `Decimal`, a `Date` beyond ±292,000 years).
public protocol ValueRepresentable {
    var databaseValue: Value { get throws }
}

extension Value {
    /// The SQL value of a Swift value: `try Value(Date())`, `try Value(UInt8(7))`.
    public init<T: ValueRepresentable>(_ value: T) throws {
        self = try value.databaseValue
    }
}

extension Value: ValueRepresentable {
    public var databaseValue: Value { self }
}

extension Optional: ValueRepresentable where Wrapped: ValueRepresentable {
    public var databaseValue: Value {
        get throws { try self?.databaseValue ?? .null }
    }
}

extension String: ValueRepresentable {
    public var databaseValue: Value { .text(self) }
}

extension Bool: ValueRepresentable {
    public var databaseValue: Value { .boolean(self) }
}

extension Double: ValueRepresentable {
    public var databaseValue: Value { .double(self) }
}

extension Float: ValueRepresentable {
    public var databaseValue: Value { .double(Double(self)) }
}

extension Data: ValueRepresentable {
    public var databaseValue: Value { .blob([UInt8](self)) }
}

extension UUID: ValueRepresentable {
    /// Lowercase text with hyphens, as PostgreSQL prints a uuid.
    public var databaseValue: Value { .text(uuidString.lowercased()) }
}

extension Decimal: ValueRepresentable {
    public var databaseValue: Value {
        get throws {
            guard !isNaN else { throw DatabaseError(.range, sqlState: SQLState.invalidTextRepresentation, "NaN is not a NUMERIC value Borealis stores") }
            return .numeric(Numeric(self, scale: max(0, -Int(exponent))))
        }
    }
}

extension Date: ValueRepresentable {
    /// A `timestamptz`: the instant, in microseconds since 1970-01-01 00:00:00 UTC.
    public var databaseValue: Value {
        get throws { .timestamptz(try DateConversion.microseconds(self)) }
    }
}

// Integers: every width converts; only a value beyond bigint's range fails.
extension Int: ValueRepresentable { public var databaseValue: Value { .integer(Int64(self)) } }
extension Int8: ValueRepresentable { public var databaseValue: Value { .integer(Int64(self)) } }
extension Int16: ValueRepresentable { public var databaseValue: Value { .integer(Int64(self)) } }
extension Int32: ValueRepresentable { public var databaseValue: Value { .integer(Int64(self)) } }
extension Int64: ValueRepresentable { public var databaseValue: Value { .integer(self) } }
extension UInt8: ValueRepresentable { public var databaseValue: Value { .integer(Int64(self)) } }
extension UInt16: ValueRepresentable { public var databaseValue: Value { .integer(Int64(self)) } }
extension UInt32: ValueRepresentable { public var databaseValue: Value { .integer(Int64(self)) } }
extension UInt: ValueRepresentable {
    public var databaseValue: Value { get throws { try integerValue(self) } }
}
extension UInt64: ValueRepresentable {
    public var databaseValue: Value { get throws { try integerValue(self) } }
}

/// A bigint, or 22003 when `value` does not fit one.
func integerValue<T: BinaryInteger>(_ value: T) throws -> Value {
    guard let v = Int64(exactly: value) else {
        throw DatabaseError(.range, sqlState: SQLState.numericValueOutOfRange, "\(T.self) value \(value) is out of range for type bigint")
    }
    return .integer(v)
}

/// Date ⇄ microseconds since the Unix epoch, through the integer offset between Foundation's
/// reference date (2001) and 1970, so that only one rounding happens each way.
enum DateConversion {
    static let referenceOffsetMicroseconds: Int64 = 978_307_200 * 1_000_000

    static func microseconds(_ date: Date) throws -> Int64 {
        let sinceReference = (date.timeIntervalSinceReferenceDate * 1e6).rounded(.toNearestOrEven)
        guard sinceReference.isFinite, sinceReference > -9.2e18, sinceReference < 9.2e18 else {
            throw DatabaseError(.range, sqlState: SQLState.datetimeFieldOverflow, "date \(date.timeIntervalSince1970) s since 1970 is out of range for type timestamp with time zone")
        }
        let (micros, overflow) = Int64(sinceReference).addingReportingOverflow(referenceOffsetMicroseconds)
        if overflow { throw DatabaseError(.range, sqlState: SQLState.datetimeFieldOverflow, "date is out of range for type timestamp with time zone") }
        return micros
    }

    static func date(microseconds: Int64) -> Date {
        // Exact in Int64 except within 2^53 µs of Int64.min, where Double is as close as any.
        let (sinceReference, overflow) = microseconds.subtractingReportingOverflow(referenceOffsetMicroseconds)
        if overflow { return Date(timeIntervalSince1970: Double(microseconds) / 1e6) }
        return Date(timeIntervalSinceReferenceDate: Double(sinceReference) / 1e6)
    }
}

// MARK: Reading values as Foundation types

extension Date: ValueConvertible {
    public static func decode(_ value: Value, column: String) throws -> Date {
        switch value {
        case .timestamptz(let t), .timestamp(let t): return DateConversion.date(microseconds: t)
        case .date(let d):
            let (micros, overflow) = Int64(d).multipliedReportingOverflow(by: DateTime.microsPerDay)
            if overflow { throw DatabaseError(.range, sqlState: SQLState.datetimeFieldOverflow, "column \"\(column)\": date \(value) is out of range for a Date") }
            return DateConversion.date(microseconds: micros)
        case .text(let s): return DateConversion.date(microseconds: try DateTime.parseTimestamp(s, zone: true))
        default: throw mismatch(value, "a date or timestamp", column)
        }
    }
}

extension Decimal: ValueConvertible {
    public static func decode(_ value: Value, column: String) throws -> Decimal {
        switch value {
        case .numeric(let n): return n.rounded(to: n.scale).value
        case .integer(let i): return Decimal(i)
        case .text(let s):
            guard let n = Numeric(s) else {
                throw DatabaseError(.mismatch, sqlState: SQLState.invalidTextRepresentation, "column \"\(column)\": invalid input syntax for type numeric: \"\(s)\"")
            }
            return n.value
        default: throw mismatch(value, "an exact numeric (cast a double precision to numeric first)", column)
        }
    }
}

extension UUID: ValueConvertible {
    public static func decode(_ value: Value, column: String) throws -> UUID {
        switch value {
        case .text(let s):
            guard let uuid = UUID(uuidString: s) else {
                throw DatabaseError(.mismatch, sqlState: SQLState.invalidTextRepresentation, "column \"\(column)\": invalid input syntax for type uuid: \"\(s)\"")
            }
            return uuid
        case .blob(let b) where b.count == 16:
            return UUID(uuid: (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]))
        default: throw mismatch(value, "a uuid", column)
        }
    }
}

extension Float: ValueConvertible {
    public static func decode(_ value: Value, column: String) throws -> Float { Float(try Double.decode(value, column: column)) }
}

/// The narrower and unsigned integers read an integer column through `narrowed`.
extension ValueConvertible where Self: FixedWidthInteger {
    public static func decode(_ value: Value, column: String) throws -> Self { try narrowed(value, column) }
}

extension Int8: ValueConvertible {}
extension Int16: ValueConvertible {}
extension Int32: ValueConvertible {}
extension UInt: ValueConvertible {}
extension UInt8: ValueConvertible {}
extension UInt16: ValueConvertible {}
extension UInt32: ValueConvertible {}
extension UInt64: ValueConvertible {}

/// An integer column value as a narrower (or unsigned) integer type; 22003 when it does not fit.
func narrowed<T: FixedWidthInteger>(_ value: Value, _ column: String) throws -> T {
    let wide = try Int64.decode(value, column: column)
    guard let v = T(exactly: wide) else {
        throw DatabaseError(.range, sqlState: SQLState.numericValueOutOfRange, "column \"\(column)\" holds \(wide), out of range for \(T.self)")
    }
    return v
}
