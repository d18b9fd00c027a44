// `infinity` and `-infinity` for DATE, TIMESTAMP and TIMESTAMPTZ, as PostgreSQL 15 has them.
//
// Encoding: sentinels outside the valid range, PostgreSQL's own choice (DATEVAL_NOBEGIN /
// NOEND, DT_NOBEGIN / NOEND), so records written before infinity existed still decode and
// every stored value keeps its meaning:
//
// | type                     | -infinity   | infinity    | finite range                        |
// |--------------------------|-------------|-------------|-------------------------------------|
// | DATE (Int32 days)        | Int32.min   | Int32.max   | DateTime.minDate … maxDate          |
// | TIMESTAMP[TZ] (Int64 µs) | Int64.min   | Int64.max   | DateTime.minTimestamp … Int64.max-1 |
//
// The sentinels order below and above every finite value by plain integer comparison, in
// memory and in index keys, so comparisons, ORDER BY, min/max and indexes need nothing more.
// What does: input and output text, casts between the three types, arithmetic (an infinite
// value ± an interval or a day count stays infinite; subtracting an infinite value is 22008),
// extract/date_part (±Infinity for the fields that grow with time, NULL for the others) and
// isfinite().

import BorealisStorage

extension DateTime {
    package static let dateMinusInfinity = Int32.min
    package static let datePlusInfinity = Int32.max
    package static let timestampMinusInfinity = Int64.min
    package static let timestampPlusInfinity = Int64.max

    package static func isInfinite(date days: Int32) -> Bool { days == dateMinusInfinity || days == datePlusInfinity }
    package static func isInfinite(timestamp micros: Int64) -> Bool { micros == timestampMinusInfinity || micros == timestampPlusInfinity }

    /// `infinity` → true, `-infinity` → false, anything else nil (case and surrounding blanks
    /// ignored; PostgreSQL 15 reads no `+infinity`).
    static func infinityInput(_ text: String) -> Bool? {
        switch text.trimmingWhitespace().lowercased() {
        case "infinity": return true
        case "-infinity": return false
        default: return nil
        }
    }

    /// The timestamp of the same infinity as an infinite date.
    static func infiniteTimestamp(ofDate days: Int32) -> Int64 {
        days == datePlusInfinity ? timestampPlusInfinity : timestampMinusInfinity
    }

    /// The date of the same infinity as an infinite timestamp.
    static func infiniteDate(ofTimestamp micros: Int64) -> Int32 {
        micros == timestampPlusInfinity ? datePlusInfinity : dateMinusInfinity
    }

    /// extract/date_part of an infinite value: ±Infinity for the fields that grow with time
    /// (PostgreSQL's NonFiniteTimestampTzPart), NULL for the others, 22023 for an unknown one.
    static func extractInfinite(_ field: String, positive: Bool, type: String) throws -> Value {
        switch field {
        case "year", "decade", "century", "millennium", "julian", "isoyear", "epoch":
            return .double(positive ? .infinity : -.infinity)
        case "month", "day", "hour", "minute", "second", "milliseconds", "microseconds", "dow", "isodow", "doy",
             "quarter", "week", "timezone", "timezone_hour", "timezone_minute":
            return .null
        default:
            throw DatabaseError(.error, sqlState: SQLState.invalidParameterValue, "unit \"\(field)\" not recognized for type \(type)")
        }
    }

    static func cannotSubtractInfinite(_ what: String) -> DatabaseError {
        DatabaseError(.range, sqlState: SQLState.datetimeFieldOverflow, "cannot subtract infinite \(what)")
    }
}

extension Value {
    /// Whether this is an infinite date or timestamp.
    var isInfiniteDateTime: Bool {
        switch self {
        case .date(let d): return DateTime.isInfinite(date: d)
        case .timestamp(let t), .timestamptz(let t): return DateTime.isInfinite(timestamp: t)
        default: return false
        }
    }

    /// The arithmetic of an infinite date or timestamp (nil when neither operand is one):
    /// ± an interval or a day count keeps the infinity (a date + interval or time is a
    /// timestamp), a difference involving one is 22008, as PostgreSQL 15's.
    static func infiniteTemporalArithmetic(_ op: BinaryOperator, _ a: Value, _ b: Value) throws -> Value? {
        guard a.isInfiniteDateTime || b.isInfiniteDateTime, op == .add || op == .subtract else { return nil }
        switch (op, a, b) {
        case (_, .date(let d), .integer), (.add, .integer, .date(let d)):
            return .date(d)
        case (_, .date(let d), .interval), (.add, .interval, .date(let d)), (.add, .date(let d), .time), (.add, .time, .date(let d)):
            return .timestamp(DateTime.infiniteTimestamp(ofDate: d))
        case (_, .timestamp, .interval), (_, .timestamptz, .interval):
            return a
        case (.add, .interval, .timestamp), (.add, .interval, .timestamptz):
            return b
        case (.subtract, .date, .date):
            throw DateTime.cannotSubtractInfinite("dates")
        case (.subtract, _, _) where a.instant != nil && b.instant != nil:
            throw DateTime.cannotSubtractInfinite("timestamps")
        default:
            return nil
        }
    }
}
