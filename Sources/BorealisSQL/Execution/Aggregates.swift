// Running state of aggregate functions (count, sum, avg, min, max, total, string_agg,
// bool_and, bool_or), with DISTINCT. sum of integers stays an integer and overflow is an
// error; avg is a double precision (PostgreSQL returns numeric: docs/sql.md).

import BorealisStorage

struct AggregateState {
    /// The aggregate, decided once from its name (not per row).
    private enum Kind { case count, sum, total, avg, min, max, stringAgg, groupConcat, boolAnd, boolOr, other }
    private let kind: Kind
    let name: String
    let distinct: Bool
    var count: Int64 = 0
    var integerSum: Int64 = 0
    var doubleSum: Double = 0
    var sawDouble = false
    var numericSum: Numeric?
    var best: Value = .null
    var pieces: [String] = []
    var flag: Bool?
    var seen: Set<Value>?

    init(name: String, distinct: Bool) {
        self.name = name
        self.distinct = distinct
        switch name {
        case "count": kind = .count
        case "sum": kind = .sum
        case "total": kind = .total
        case "avg": kind = .avg
        case "min": kind = .min
        case "max": kind = .max
        case "string_agg": kind = .stringAgg
        case "group_concat": kind = .groupConcat
        case "bool_and", "every": kind = .boolAnd
        case "bool_or": kind = .boolOr
        default: kind = .other
        }
        if distinct { seen = [] }
    }

    mutating func add(_ value: Value?, extra: Value?) throws {
        guard let value else {
            count += 1 // count(*)
            return
        }
        if value.isNull { return }
        if distinct {
            guard seen!.insert(value.groupKey).inserted else { return }
        }
        count += 1
        switch kind {
        case .count: break
        case .sum, .avg, .total:
            switch value {
            case .integer(let v):
                if sawDouble { doubleSum += Double(v) } else {
                    let (r, o) = integerSum.addingReportingOverflow(v)
                    if o {
                        // Past bigint the sum carries on exactly as a NUMERIC (PostgreSQL's
                        // sum(bigint) and avg(bigint) are numeric), not as a rounded double.
                        numericSum = Numeric.add(Numeric.add(numericSum ?? Numeric(0), Numeric(integerSum)), Numeric(v))
                        integerSum = 0
                    } else {
                        integerSum = r
                    }
                }
            case .double(let d):
                if !sawDouble { sawDouble = true; doubleSum = Double(integerSum) + (numericSum?.doubleValue ?? 0) }
                doubleSum += d
            case .numeric(let n):
                if sawDouble { doubleSum += n.doubleValue } else { numericSum = Numeric.add(numericSum ?? Numeric(0), n) }
            default:
                throw DatabaseError(.mismatch, sqlState: SQLState.undefinedFunction, "function \(name)(\(value.typeName)) does not exist")
            }
        case .min, .max:
            if best.isNull { best = value } else if let c = try Value.compare(value, best), (kind == .min ? c < 0 : c > 0) { best = value }
        case .stringAgg, .groupConcat:
            pieces.append(value.description)
            if let extra, case .text = extra { separator = extra.description } else if kind == .groupConcat { separator = "," }
        case .boolAnd, .boolOr:
            guard let t = try value.truth() else { return }
            flag = kind == .boolOr ? ((flag ?? false) || t) : ((flag ?? true) && t)
        case .other: break
        }
    }

    private var separator = ""

    func result() -> Value {
        switch kind {
        case .count: return .integer(count)
        case .sum:
            if count == 0 { return .null }
            if sawDouble { return .double(doubleSum) }
            if let numericSum { return .numeric(Numeric.add(numericSum, Numeric(integerSum))) }
            return .integer(integerSum)
        case .total: return .double(sawDouble ? doubleSum : Double(integerSum) + (numericSum?.doubleValue ?? 0))
        case .avg:
            if count == 0 { return .null }
            if sawDouble { return .double(doubleSum / Double(count)) }
            // Integers and numerics average to a numeric, as in PostgreSQL.
            let total = Numeric.add(numericSum ?? Numeric(0), Numeric(integerSum))
            return (try? Numeric.divide(total, Numeric(count))).map(Value.numeric) ?? .null
        case .min, .max: return best
        case .stringAgg, .groupConcat: return count == 0 ? .null : .text(pieces.joined(separator: separator))
        case .boolAnd, .boolOr: return flag.map(Value.boolean) ?? .null
        case .other: return .null
        }
    }
}
