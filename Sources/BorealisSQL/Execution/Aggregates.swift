// Running state of aggregate functions (count, sum, avg, min, max, total, string_agg,
// bool_and, bool_or), with DISTINCT and ORDER BY (an ordered call keeps its inputs and
// aggregates them in order at the end). sum of integers stays an integer and overflow is an
// error; avg is a double precision (PostgreSQL returns numeric: docs/sql.md).

import BorealisStorage
import FoundationEssentials

struct AggregateState {
    /// The aggregate, decided once from its name (not per row).
    private enum Kind {
        case count, sum, total, avg, min, max, stringAgg, groupConcat, boolAnd, boolOr, statistic, jsonAgg, jsonObjectAgg
        case arrayAgg, percentileCont, percentileDisc, mode, other
    }
    /// The ordered-set aggregates (`… WITHIN GROUP (ORDER BY x)`): they keep every input.
    static let orderedSetNames: Set<String> = ["percentile_cont", "percentile_disc", "mode"]
    /// An ordered-set aggregate's inputs (NULLs left out), its fraction, and its sort order.
    private var collected: [Value] = []
    private var fraction: Double?
    private var collectsDescending = false
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
    /// The statement's memory, charged for every input this state keeps (string_agg's pieces,
    /// array_agg's and json_agg's elements, DISTINCT's set, ordered inputs); nil where the
    /// state is made again for each window frame.
    var memory: StatementMemory?
    /// Bytes of string_agg's pieces, or of array_agg's elements: at most Limits.maxValueBytes,
    /// as PostgreSQL's 1 GB.
    private var resultBytes = 0

    /// How one ORDER BY key of an ordered aggregate sorts.
    struct SortKey: Sendable {
        var descending: Bool
        var nullsFirst: Bool
    }
    private let ordering: [SortKey]
    private let sortsByValue: Bool
    /// An ordered call's inputs: argument, extra argument, sort keys.
    private var held: [(Value?, Value?, [Value])] = []

    /// For json_agg and json_object_agg: the static types of the value arguments, which decide
    /// whether a text value is a document to embed (json, jsonb) or a string.
    var argumentTypes: [SQLType?] = []
    private var items: [JSONValue] = []
    /// array_agg's inputs.
    private var arrayItems: [Value] = []
    private var arrayShape: [Int]?
    private var members: [JSONMember] = []

    /// `replaying`: the state an ordered one feeds its sorted inputs to (which keeps no order).
    init(name: String, distinct: Bool, ordering: [SortKey] = [], argumentTypes: [SQLType?] = [], replaying: Bool = false) {
        self.name = name
        self.distinct = distinct
        self.argumentTypes = argumentTypes
        // Only the concatenating aggregates' results depend on their inputs' order.
        let concatenates = ["string_agg", "group_concat", "array_agg", "json_agg", "jsonb_agg", "json_object_agg", "jsonb_object_agg"].contains(name)
        // With DISTINCT and no ORDER BY, PostgreSQL's concatenation comes out in the values'
        // order (it sorts to find the distinct ones): sorted by the value here too.
        sortsByValue = concatenates && distinct && ordering.isEmpty && !replaying
        self.ordering = !concatenates || replaying ? [] : sortsByValue ? [SortKey(descending: false, nullsFirst: false)] : ordering
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
        case "stddev", "stddev_samp", "stddev_pop", "variance", "var_samp", "var_pop": kind = .statistic
        case "json_agg", "jsonb_agg": kind = .jsonAgg
        case "json_object_agg", "jsonb_object_agg": kind = .jsonObjectAgg
        case "percentile_cont": kind = .percentileCont
        case "percentile_disc": kind = .percentileDisc
        case "mode": kind = .mode
        case "array_agg": kind = .arrayAgg
        default: kind = .other
        }
        if AggregateState.orderedSetNames.contains(name) { collectsDescending = ordering.first?.descending ?? false }
        if distinct { seen = [] }
    }

    mutating func add(_ value: Value?, extra: Value?, order: [Value] = []) throws {
        if kind == .percentileCont || kind == .percentileDisc || kind == .mode {
            if kind != .mode, fraction == nil, let extra, !extra.isNull {
                guard case .double(let f) = try extra.cast(to: .doublePrecision), f >= 0, f <= 1 else {
                    throw DatabaseError(.range, sqlState: SQLState.numericValueOutOfRange,
                                        "percentile value \(extra.description) is not between 0 and 1")
                }
                fraction = f
            }
            guard let value, !value.isNull else { return }
            if kind == .percentileCont {
                guard case .double = try value.cast(to: .doublePrecision) else { return }
            }
            try memory?.charge(value.memoryFootprint)
            collected.append(value)
            return
        }
        if !ordering.isEmpty {
            if value?.isNull == true && kind != .jsonAgg && kind != .arrayAgg { return }
            if let memory {
                try memory.charge((value?.memoryFootprint ?? 0) + (extra?.memoryFootprint ?? 0) + Value.memoryFootprint(of: order))
            }
            held.append((value, extra, sortsByValue ? [value ?? .null] : order))
            return
        }
        // json_agg keeps NULL inputs (as JSON null); json_object_agg a NULL value.
        if kind == .jsonAgg || kind == .jsonObjectAgg, let value {
            try addJSON(value, extra: extra)
            return
        }
        // array_agg keeps NULL inputs as NULL elements.
        if kind == .arrayAgg, let value {
            if distinct {
                guard seen!.insert(value.groupKey).inserted else { return }
            }
            let bytes = value.memoryFootprint
            try memory?.charge(distinct ? 2 * bytes : bytes)
            resultBytes += bytes
            if resultBytes > Limits.maxValueBytes {
                throw DatabaseError(.range, sqlState: SQLState.programLimitExceeded, "array size exceeds the maximum allowed (\(Limits.maxValueBytes))")
            }
            count += 1
            // (Each input array holds at most maxElements, so the product cannot overflow.)
            try ArrayValue.checkSize((arrayItems.count + 1) * max(1, (arrayShape ?? []).reduce(1, *)))
            let nullArray = DatabaseError(.error, sqlState: SQLState.nullValueNotAllowed, "cannot accumulate null arrays")
            if value.isNull, arrayShape != nil { throw nullArray }
            if case .array(let a) = value {
                if arrayItems.contains(where: \.isNull) { throw nullArray }
                // Arrays accumulate as the rows of one more dimension: all of one shape.
                if a.isEmpty { throw DatabaseError(.error, sqlState: SQLState.arraySubscriptError, "cannot accumulate empty arrays") }
                if let shape = arrayShape, shape != a.dimensions {
                    throw DatabaseError(.error, sqlState: SQLState.arraySubscriptError, "cannot accumulate arrays of different dimensionality")
                }
                if a.dimensions.count >= ArrayValue.maxDimensions { throw ArrayValue.tooManyDimensions(a.dimensions.count + 1) }
                arrayShape = a.dimensions
            }
            arrayItems.append(value)
            return
        }
        guard let value else {
            count += 1 // count(*)
            return
        }
        if value.isNull { return }
        if distinct {
            guard seen!.insert(value.groupKey).inserted else { return }
            try memory?.charge(value.memoryFootprint)
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
            let piece = value.description
            let bytes = piece.utf8.count + (pieces.isEmpty ? 0 : separator.utf8.count)
            if resultBytes > Limits.maxValueBytes - bytes {
                throw DatabaseError(.range, sqlState: SQLState.programLimitExceeded,
                                    "out of memory: cannot enlarge string buffer containing \(resultBytes) bytes by \(bytes) more bytes")
            }
            try memory?.charge(MemoryLayout<String>.stride + piece.utf8.count)
            resultBytes += bytes
            pieces.append(piece)
            if let extra, case .text = extra { separator = extra.description } else if kind == .groupConcat { separator = "," }
        case .boolAnd, .boolOr:
            guard let t = try value.truth() else { return }
            flag = kind == .boolOr ? ((flag ?? false) || t) : ((flag ?? true) && t)
        case .statistic:
            switch value {
            case .double(let d):
                // Welford's running mean and sum of squared deviations.
                sawDouble = true
                let delta = d - doubleSum
                doubleSum += delta / Double(count)
                squares += delta * (d - doubleSum)
            case .integer, .numeric:
                guard case .numeric(let n) = try value.cast(to: .numeric) else { return }
                numericSum = Numeric.add(numericSum ?? Numeric(0), n)
                numericSquares = Numeric.add(numericSquares ?? Numeric(0), Numeric.multiply(n, n))
            default:
                throw DatabaseError(.mismatch, sqlState: SQLState.undefinedFunction, "function \(name)(\(value.typeName)) does not exist")
            }
        case .jsonAgg, .jsonObjectAgg, .arrayAgg, .other: break   // taken above
        case .percentileCont, .percentileDisc, .mode: break   // collected above
        }
    }

    private mutating func addJSON(_ value: Value, extra: Value?) throws {
        if distinct {
            guard seen!.insert(value.groupKey).inserted else { return }
        }
        // The JSON tree of an input takes about twice its value's bytes.
        try memory?.charge(2 * (value.memoryFootprint + (extra?.memoryFootprint ?? 0)) * (distinct ? 2 : 1))
        count += 1
        if kind == .jsonAgg {
            items.append(try JSONConversion.json(from: value, type: argumentTypes.first ?? nil))
            return
        }
        guard let key = try Functions.text(value) else {
            throw DatabaseError(.error, sqlState: SQLState.invalidParameterValue, "field name must not be null")
        }
        members.append(JSONMember(key: key, value: try JSONConversion.json(from: extra ?? .null, type: argumentTypes.count > 1 ? argumentTypes[1] : nil)))
    }

    /// The aggregated document: jsonb normalized, json as PostgreSQL's json_agg and
    /// json_object_agg space it.
    private func jsonResult() -> Value {
        guard count > 0 else { return .null }
        let jsonb = name.hasPrefix("jsonb")
        if kind == .jsonAgg {
            let document = JSONValue.array(items)
            return .text(jsonb ? document.normalized.jsonbText : JSONConversion.spacedArrayText(document))
        }
        let document = JSONValue.object(members)
        return .text(jsonb ? document.normalized.jsonbText : JSONConversion.spacedObjectText(document, padded: true))
    }

    private var squares: Double = 0
    private var numericSquares: Numeric?

    /// variance/var_samp/var_pop and stddev/stddev_samp/stddev_pop: of floats a double
    /// precision; of integers and numerics a numeric computed exactly, at the scale PostgreSQL's
    /// division gives the variance (the standard deviation keeps that scale).
    private func statistic() -> Value {
        let population = name.hasSuffix("_pop")
        let root = name.hasPrefix("stddev")
        guard count >= (population ? 1 : 2) else { return .null }
        if sawDouble {
            let variance = squares / Double(population ? count : count - 1)
            return .double(root ? variance.squareRoot() : variance)
        }
        let n = Numeric(count)
        let sum = numericSum ?? Numeric(0), squaresSum = numericSquares ?? Numeric(0)
        let numerator = Numeric.add(Numeric.multiply(n, squaresSum), Numeric.multiply(sum, sum), subtract: true)
        // No spread (or a rounding below zero): exactly 0, as PostgreSQL answers.
        if numerator.value <= 0 { return .numeric(Numeric(0)) }
        let denominator = Numeric.multiply(n, population ? n : Numeric(count - 1))
        guard let variance = try? Numeric.divide(numerator, denominator) else { return .null }
        guard root else { return .numeric(variance) }
        // Newton's iteration in Decimal from the double's square root, to the variance's scale.
        // Foundation's Decimal rounds its sums so that later steps can drift away again: the
        // step whose square is nearest the variance is kept.
        var x = Decimal(variance.value.doubleValue.squareRoot())
        if x > 0 {
            var best = x, bestError = abs(x * x - variance.value)
            for _ in 0..<3 {
                x = (x + variance.value / x) / 2
                let error = abs(x * x - variance.value)
                if error < bestError { best = x; bestError = error }
            }
            x = best
        }
        return .numeric(Numeric(x, scale: variance.scale).rounded(to: variance.scale))
    }

    private var separator = ""

    func result() -> Value {
        if !ordering.isEmpty {
            // The held inputs in ORDER BY order (stable: ties keep their arrival order).
            let ordering = ordering
            let sorted = held.enumerated().sorted { a, b in
                for (k, key) in ordering.enumerated() {
                    let x = a.element.2[k], y = b.element.2[k]
                    if x.isNull != y.isNull { return x.isNull == key.nullsFirst }
                    if x.isNull { continue }
                    guard let c = (try? Value.compare(x, y)) ?? nil, c != 0 else { continue }
                    return key.descending ? c > 0 : c < 0
                }
                return a.offset < b.offset
            }
            var replay = AggregateState(name: name, distinct: distinct, argumentTypes: argumentTypes, replaying: true)
            // string_agg's add cannot fail: each input is appended as text.
            for (_, input) in sorted { try? replay.add(input.0, extra: input.1) }
            return replay.result()
        }
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
        case .statistic: return statistic()
        case .jsonAgg, .jsonObjectAgg: return jsonResult()
        case .percentileCont, .percentileDisc, .mode: return orderedSetResult()
        case .arrayAgg: return count == 0 ? .null : (try? ArrayValue.accumulated(arrayItems)) ?? .null   // inputs checked by add
        case .other: return .null
        }
    }

    /// percentile_cont (interpolated between the two nearest inputs), percentile_disc (the
    /// first input at or past the fraction) and mode (the most frequent input, the first in
    /// sort order among equals), over the inputs in their ORDER BY order.
    private func orderedSetResult() -> Value {
        guard !collected.isEmpty, kind == .mode || fraction != nil else { return .null }
        let descending = collectsDescending
        let sorted = collected.sorted { a, b in
            guard let c = (try? Value.compare(a, b)) ?? nil else { return false }
            return descending ? c > 0 : c < 0
        }
        switch kind {
        case .percentileCont:
            let values = sorted.compactMap { v -> Double? in if case .double(let d)? = try? v.cast(to: .doublePrecision) { return d } else { return nil } }
            guard let fraction, !values.isEmpty else { return .null }
            let position = fraction * Double(values.count - 1)
            let low = Int(position.rounded(.down)), high = Int(position.rounded(.up))
            guard low >= 0, high < values.count else { return .null }
            return .double(values[low] + (position - Double(low)) * (values[high] - values[low]))
        case .percentileDisc:
            guard let fraction else { return .null }
            let index = max(0, Int((fraction * Double(sorted.count)).rounded(.up)) - 1)
            return sorted[min(index, sorted.count - 1)]
        default:
            var best: Value = .null, bestCount = 0
            var i = 0
            while i < sorted.count {
                var j = i + 1
                while j < sorted.count, (try? Value.compare(sorted[i], sorted[j])) == 0 { j += 1 }
                if j - i > bestCount { best = sorted[i]; bestCount = j - i }
                i = j
            }
            return best
        }
    }
}
