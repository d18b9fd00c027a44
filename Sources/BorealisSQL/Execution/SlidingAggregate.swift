// Aggregate states that rows can leave as well as enter, for window frames whose start moves
// (WindowCollector+Frames.swift). Each gives exactly what AggregateState gives over the rows
// added and not removed (same result types, scales and errors), or says it cannot (nil) and the
// frame is recomputed.
//
// - SlidingSum (count, sum, avg, total): integers are summed exactly in a 128-bit sum (a wrapping
//   Int64 plus a count of wraps), numerics exactly in Decimal with a count per display scale, so
//   the frame's scale is the largest still present. A frame holding a double answers nil: float
//   addition is not invertible.
// - SlidingExtreme (min, max): a monotonic deque of positions; the front is the earliest extreme
//   value of the frame, as a scan in order would keep.
// - SlidingTruth (bool_and, bool_or, every): counts of true and false.

import FoundationEssentials
import BorealisStorage

protocol SlidingAggregate {
    /// Adds the value of the row at `position` (nil: count(*), a row without a value).
    mutating func add(_ value: Value?, at position: Int) throws
    /// Removes a row added earlier; rows leave in the order they entered.
    mutating func remove(_ value: Value?, at position: Int)
    /// The aggregate of the rows added and not removed, or nil when it must be recomputed.
    func result() throws -> Value?
}

struct SlidingSum: SlidingAggregate {
    private enum Kind { case count, sum, avg, total }
    private let kind: Kind
    private let name: String
    /// Rows counted (non-NULL values, or rows for count(*)).
    private var count: Int64 = 0
    /// The sum of the integers: wrapped + wraps × 2^64.
    private var wrapped: Int64 = 0
    private var wraps: Int64 = 0
    private var numericSum: Decimal = 0
    private var numerics = 0
    /// How many numerics of each display scale are in the frame.
    private var scales: [Int: Int] = [:]
    private var doubles = 0

    init(name: String) {
        self.name = name
        switch name {
        case "count": kind = .count
        case "avg": kind = .avg
        case "total": kind = .total
        default: kind = .sum
        }
    }

    mutating func add(_ value: Value?, at position: Int) throws {
        guard let value else { count += 1; return }
        if value.isNull { return }
        if kind != .count {
            switch value {
            case .integer(let v):
                let (r, o) = wrapped.addingReportingOverflow(v)
                wrapped = r
                if o { wraps += v > 0 ? 1 : -1 }
            case .double: doubles += 1
            case .numeric(let n):
                numericSum += n.value
                numerics += 1
                scales[n.scale, default: 0] += 1
            default:
                throw DatabaseError(.mismatch, sqlState: SQLState.undefinedFunction, "function \(name)(\(value.typeName)) does not exist")
            }
        }
        count += 1
    }

    mutating func remove(_ value: Value?, at position: Int) {
        guard let value else { count -= 1; return }
        if value.isNull { return }
        if kind != .count {
            switch value {
            case .integer(let v):
                let (r, o) = wrapped.subtractingReportingOverflow(v)
                wrapped = r
                if o { wraps -= v > 0 ? 1 : -1 }
            case .double: doubles -= 1
            case .numeric(let n):
                numericSum -= n.value
                numerics -= 1
                if scales[n.scale] == 1 { scales[n.scale] = nil } else { scales[n.scale, default: 0] -= 1 }
            default: break
            }
        }
        count -= 1
    }

    /// The integers' sum as a Decimal (exact: it has at most 39 digits).
    private var integerDecimal: Decimal {
        wraps == 0 ? Decimal(wrapped) : Decimal(wrapped) + Decimal(wraps) * (Decimal(UInt64.max) + 1)
    }

    func result() throws -> Value? {
        if kind == .count { return .integer(count) }
        if doubles > 0 { return Optional<Value>.none }
        let scale = scales.keys.max() ?? 0
        switch kind {
        case .sum:
            if count == 0 { return .null }
            if numerics > 0 { return .numeric(Numeric(numericSum + integerDecimal, scale: scale)) }
            guard wraps == 0 else { throw Value.overflow() }
            return .integer(wrapped)
        case .total:
            return .double(Double(wrapped) + Double(wraps) * 18446744073709551616.0 + numericSum.doubleValue)
        case .avg:
            if count == 0 { return .null }
            let total = Numeric(numericSum + integerDecimal, scale: scale)
            return (try? Numeric.divide(total, Numeric(count))).map(Value.numeric) ?? .null
        case .count:
            return .integer(count)
        }
    }
}

struct SlidingExtreme: SlidingAggregate {
    private let keepsMinimum: Bool
    /// Candidates in order of position, their values monotonic (non-decreasing for min); the
    /// live ones are [head, count).
    private var positions: [Int] = []
    private var values: [Value] = []
    private var head = 0

    init(keepsMinimum: Bool) { self.keepsMinimum = keepsMinimum }

    mutating func add(_ value: Value?, at position: Int) throws {
        guard let value, !value.isNull else { return }
        // A later value displaces the candidates it beats strictly; equal earlier ones stay ahead.
        while positions.count > head, let c = try Value.compare(values[values.count - 1], value),
              keepsMinimum ? c > 0 : c < 0 {
            positions.removeLast()
            values.removeLast()
        }
        if head == positions.count && head > 0 {
            positions.removeAll(keepingCapacity: true)
            values.removeAll(keepingCapacity: true)
            head = 0
        }
        positions.append(position)
        values.append(value)
    }

    mutating func remove(_ value: Value?, at position: Int) {
        if head < positions.count && positions[head] == position {
            values[head] = .null
            head += 1
        }
    }

    func result() throws -> Value? { head < values.count ? values[head] : .null }
}

struct SlidingTruth: SlidingAggregate {
    private let any: Bool
    private var trues = 0
    private var falses = 0

    init(any: Bool) { self.any = any }

    mutating func add(_ value: Value?, at position: Int) throws {
        guard let value, let t = try value.truth() else { return }
        if t { trues += 1 } else { falses += 1 }
    }

    mutating func remove(_ value: Value?, at position: Int) {
        guard let value, let t = try? value.truth() else { return }
        if t { trues -= 1 } else { falses -= 1 }
    }

    func result() throws -> Value? {
        if trues + falses == 0 { return .null }
        return .boolean(any ? trues > 0 : falses == 0)
    }
}
