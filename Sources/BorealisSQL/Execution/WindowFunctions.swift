// Window functions: row_number, rank, dense_rank, percent_rank, cume_dist, ntile, lag, lead,
// first_value, last_value, nth_value, and every aggregate OVER (PARTITION BY … ORDER BY …
// [ROWS|RANGE frame]). They run after grouping and HAVING, on the rows the select list sees; each
// call adds one value to every row, read back by the compiled call.
//
// One call is evaluated in two steps. `materialize` evaluates every row's PARTITION BY key, ORDER
// BY keys, arguments and FILTER once, groups the rows into partitions by hashing and sorts each
// partition (stably: peers keep their input order), giving `Input.ordered` — the row indices
// partition after partition, each in window order — and each position's peer group. Then each
// partition is evaluated in one pass: ranking functions and lag/lead take O(1) per row,
// first_value/last_value/nth_value O(1) per row given its frame, and aggregates keep one state
// that rows enter and leave as the frame slides (WindowCollector+Frames.swift). So the work after
// sorting is O(n) per partition, except where a frame's result cannot be updated exactly and is
// recomputed from its rows, as PostgreSQL does too: float sums and averages, string_agg and
// DISTINCT over frames whose start moves.

import BorealisStorage

final class WindowCollector {
    struct Call {
        var name: String
        var arguments: [Evaluator]
        var distinct: Bool
        var star: Bool
        var filter: Evaluator?
        var partition: [Evaluator]
        var order: [Evaluator]
        var orderItems: [OrderItem]
        var frame: WindowFrame?
        var key: String
    }
    private(set) var calls: [Call] = []

    func slot(for call: Call) -> Int {
        if let i = calls.firstIndex(where: { $0.key == call.key }) { return i }
        calls.append(call)
        return calls.count - 1
    }

    static let rankingNames: Set<String> = ["row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile",
                                            "lag", "lead", "first_value", "last_value", "nth_value"]

    /// Counts the work of window evaluation for tests: bind a counter around a query with
    /// `WindowCollector.$workCounter.withValue(counter) { … }`.
    @TaskLocal static var workCounter: WindowWorkCounter?

    /// Appends each call's value to every row.
    func apply(to rows: consuming [[Value]], ctx: ExecutionContext) throws -> [[Value]] {
        var values: [[Value]] = []
        for call in calls { values.append(try evaluate(call, rows, ctx)) }
        // Every call has read the rows: now they can grow in place if the caller gave them up
        // (`apply(to: consume rows, …)`); while it keeps its copy, each row is copied once here.
        var extended = consume rows
        for i in extended.indices {
            extended[i].reserveCapacity(extended[i].count + values.count)
            for v in values { extended[i].append(v[i]) }
        }
        return extended
    }

    /// One call's inputs, evaluated once per row.
    struct Input {
        /// Row indices, partition after partition, each partition in window order.
        var ordered: [Int]
        /// The partitions, as ranges of positions in `ordered`.
        var partitions: [Range<Int>]
        /// For each position in `ordered`, the first and the last position of its peer group
        /// (rows equal in ORDER BY; without ORDER BY the whole partition).
        var peerStart: [Int]
        var peerEnd: [Int]
        /// The call's arguments, `width` per row, row after row (in row order).
        var arguments: [Value]
        var width: Int
        /// Each row's FILTER outcome; nil without FILTER.
        var passes: [Bool]?

        func argument(_ row: Int, _ k: Int) -> Value { arguments[row * width + k] }
    }

    /// A call's function, resolved from its name once per call (not per partition or row).
    enum Function {
        case rowNumber, rank, denseRank, percentRank, cumeDist, ntile, lag, lead
        case firstValue, lastValue, nthValue
        /// An aggregate: its empty state, and how frames whose start moves keep it.
        case aggregate(AggregateState, Sliding)

        init(_ call: Call) throws {
            switch call.name {
            case "row_number": self = .rowNumber
            case "rank": self = .rank
            case "dense_rank": self = .denseRank
            case "percent_rank": self = .percentRank
            case "cume_dist": self = .cumeDist
            case "ntile": self = .ntile
            case "lag": self = .lag
            case "lead": self = .lead
            case "first_value": self = .firstValue
            case "last_value": self = .lastValue
            case "nth_value": self = .nthValue
            default:
                guard ExpressionCompiler.aggregateNames.contains(call.name) else {
                    throw DatabaseError(.error, sqlState: SQLState.undefinedFunction, "function \(call.name) is not a window function")
                }
                self = .aggregate(AggregateState(name: call.name, distinct: call.distinct), Sliding(call))
                return
            }
            if call.filter != nil {
                throw DatabaseError(.error, sqlState: SQLState.featureNotSupported, "FILTER is not implemented for non-aggregate window functions")
            }
        }
    }

    private func evaluate(_ call: Call, _ rows: [[Value]], _ ctx: ExecutionContext) throws -> [Value] {
        let function = try Function(call)
        let shape = try FrameShape(call)
        let input = try materialize(call, rows, ctx)
        var result = [Value](repeating: .null, count: rows.count)
        var visits = 0
        for range in input.partitions {
            switch function {
            case .firstValue, .lastValue, .nthValue:
                try value(function, input, range, shape, &result)
            case .aggregate(let empty, let sliding):
                try aggregate(call, empty, sliding, input, range, shape, &result, &visits)
            default:
                try rank(function, input, range, &result)
            }
        }
        if let counter = WindowCollector.workCounter { counter.frameRowVisits += visits }
        return result
    }

    /// Evaluates the call's keys, arguments and FILTER on every row, partitions and sorts.
    private func materialize(_ call: Call, _ rows: [[Value]], _ ctx: ExecutionContext) throws -> Input {
        let n = rows.count
        let width = call.arguments.count
        let keyCount = call.order.count
        var arguments: [Value] = []
        arguments.reserveCapacity(n * width)
        var orderKeys: [Value] = []
        orderKeys.reserveCapacity(n * keyCount)
        var passes: [Bool]? = call.filter == nil ? nil : []
        passes?.reserveCapacity(n)
        var partitionOf = [Int](repeating: 0, count: call.partition.isEmpty ? 0 : n)
        var partitionCount = call.partition.isEmpty ? min(n, 1) : 0
        var single: [Value: Int] = [:]
        var multiple: [[Value]: Int] = [:]
        for r in 0..<n {
            try ctx.withFrame(rows[r]) {
                switch call.partition.count {
                case 0: break
                case 1:
                    let key = try call.partition[0](ctx).groupKey
                    if let id = single[key] { partitionOf[r] = id } else {
                        single[key] = partitionCount
                        partitionOf[r] = partitionCount
                        partitionCount += 1
                    }
                default:
                    let key = try call.partition.map { try $0(ctx).groupKey }
                    if let id = multiple[key] { partitionOf[r] = id } else {
                        multiple[key] = partitionCount
                        partitionOf[r] = partitionCount
                        partitionCount += 1
                    }
                }
                for e in call.order { orderKeys.append(try e(ctx)) }
                for e in call.arguments { arguments.append(try e(ctx)) }
                if let filter = call.filter { passes!.append(try filter(ctx).truth() == true) }
            }
        }

        // Rows to positions, partition by partition, in row order within each (a counting sort).
        var ordered: [Int]
        var partitions: [Range<Int>] = []
        if call.partition.isEmpty {
            ordered = Array(0..<n)
            if n > 0 { partitions = [0..<n] }
        } else {
            var next = [Int](repeating: 0, count: partitionCount + 1)
            for r in 0..<n { next[partitionOf[r] + 1] += 1 }
            for i in 0..<partitionCount { next[i + 1] += next[i] }
            partitions.reserveCapacity(partitionCount)
            for i in 0..<partitionCount { partitions.append(next[i]..<next[i + 1]) }
            ordered = [Int](repeating: 0, count: n)
            for r in 0..<n {
                ordered[next[partitionOf[r]]] = r
                next[partitionOf[r]] += 1
            }
        }

        // Each partition in window order; ties broken by row index, so the sort is stable.
        if keyCount > 0 {
            let items = call.orderItems
            func precedes(_ a: Int, _ b: Int) -> Bool {
                for i in 0..<keyCount {
                    let x = orderKeys[a * keyCount + i], y = orderKeys[b * keyCount + i]
                    if x.isNull || y.isNull {
                        if x.isNull && y.isNull { continue }
                        return x.isNull == (items[i].nullsFirst ?? items[i].descending)
                    }
                    let c = WindowCollector.compareKeys(x, y)
                    if c != 0 { return items[i].descending ? c > 0 : c < 0 }
                }
                return a < b
            }
            for range in partitions { ordered[range].sort(by: precedes) }
        }

        // Peer groups.
        var peerStart = [Int](repeating: 0, count: n)
        var peerEnd = [Int](repeating: 0, count: n)
        func peers(_ a: Int, _ b: Int) -> Bool {
            for i in 0..<keyCount where WindowCollector.compareKeys(orderKeys[a * keyCount + i], orderKeys[b * keyCount + i]) != 0 {
                return false
            }
            return true
        }
        for range in partitions {
            var start = range.lowerBound
            for pos in range {
                if pos > range.lowerBound && !peers(ordered[pos - 1], ordered[pos]) { start = pos }
                peerStart[pos] = start
            }
            var end = range.upperBound - 1
            for pos in range.reversed() {
                if pos + 1 < range.upperBound && peerStart[pos + 1] == pos + 1 { end = pos }
                peerEnd[pos] = end
            }
        }
        return Input(ordered: ordered, partitions: partitions, peerStart: peerStart, peerEnd: peerEnd,
                     arguments: arguments, width: width, passes: passes)
    }

    /// Value.sortCompare, with integers (the usual ORDER BY key) compared directly.
    @inline(__always)
    static func compareKeys(_ x: Value, _ y: Value) -> Int {
        if case .integer(let a) = x, case .integer(let b) = y { return a < b ? -1 : (a == b ? 0 : 1) }
        return Value.sortCompare(x, y)
    }

    /// An integer argument of the current row as PostgreSQL's `integer` parameter: nil when NULL,
    /// an error outside the 32-bit range (PostgreSQL cannot take a bigint there).
    private func int32Argument(_ input: Input, _ row: Int, _ k: Int) throws -> Int? {
        let v = input.argument(row, k)
        if v.isNull { return nil }
        guard case .integer(let i) = try v.cast(to: .bigint) else { return nil }
        guard i >= Int64(Int32.min) && i <= Int64(Int32.max) else {
            throw DatabaseError(.range, sqlState: SQLState.numericValueOutOfRange, "integer out of range")
        }
        return Int(i)
    }

    /// row_number, rank, dense_rank, percent_rank, cume_dist, ntile, lag and lead over one partition.
    private func rank(_ function: Function, _ input: Input, _ range: Range<Int>, _ result: inout [Value]) throws {
        let base = range.lowerBound, n = range.count
        let ordered = input.ordered
        switch function {
        case .rowNumber:
            for pos in range { result[ordered[pos]] = .integer(Int64(pos - base + 1)) }
        case .rank:
            for pos in range { result[ordered[pos]] = .integer(Int64(input.peerStart[pos] - base + 1)) }
        case .denseRank:
            var rank: Int64 = 0
            for pos in range {
                if input.peerStart[pos] == pos { rank += 1 }
                result[ordered[pos]] = .integer(rank)
            }
        case .percentRank:
            for pos in range {
                result[ordered[pos]] = .double(n > 1 ? Double(input.peerStart[pos] - base) / Double(n - 1) : 0)
            }
        case .cumeDist:
            for pos in range { result[ordered[pos]] = .double(Double(input.peerEnd[pos] - base + 1) / Double(n)) }
        case .ntile:
            // PostgreSQL's rule: the bucket count is read at the partition's first row (or the
            // first row where it is not NULL); the first n % buckets buckets hold one row more.
            var bucket = 0, inBucket = 0, boundary = 0, remainder = 0
            for pos in range {
                let row = ordered[pos]
                if bucket == 0 {
                    guard input.width > 0, let buckets = try int32Argument(input, row, 0) else {
                        result[row] = .null
                        continue
                    }
                    guard buckets > 0 else {
                        throw DatabaseError(.error, sqlState: SQLState.invalidArgumentForNtileFunction, "argument of ntile must be greater than zero")
                    }
                    bucket = 1
                    boundary = n / buckets
                    if boundary <= 0 { boundary = 1 } else {
                        remainder = n % buckets
                        if remainder != 0 { boundary += 1 }
                    }
                }
                inBucket += 1
                if inBucket > boundary {
                    if remainder != 0 && bucket == remainder {
                        remainder = 0
                        boundary -= 1
                    }
                    bucket += 1
                    inBucket = 1
                }
                result[row] = .integer(Int64(bucket))
            }
        case .lag, .lead:
            let backwards = if case .lag = function { true } else { false }
            for pos in range {
                let row = ordered[pos]
                var offset = 1
                if input.width > 1 {
                    // A NULL offset gives NULL; offsets are 32-bit, so pos ± offset cannot overflow.
                    guard let k = try int32Argument(input, row, 1) else {
                        result[row] = .null
                        continue
                    }
                    offset = k
                }
                let target = backwards ? pos - offset : pos + offset
                if target >= base && target < range.upperBound {
                    result[row] = input.width > 0 ? input.argument(ordered[target], 0) : .null
                } else {
                    result[row] = input.width > 2 ? input.argument(row, 2) : .null
                }
            }
        case .firstValue, .lastValue, .nthValue, .aggregate:
            preconditionFailure("not a ranking function")
        }
    }

    /// first_value, last_value and nth_value: one row of each row's frame.
    private func value(_ function: Function, _ input: Input, _ range: Range<Int>, _ shape: FrameShape,
                       _ result: inout [Value]) throws {
        let ordered = input.ordered
        for pos in range {
            let row = ordered[pos]
            let (from, to) = shape.frame(of: pos, in: range, input)
            var target: Int
            switch function {
            case .firstValue: target = from
            case .lastValue: target = to
            default:
                guard input.width > 1, let k = try int32Argument(input, row, 1) else {
                    result[row] = .null
                    continue
                }
                guard k > 0 else {
                    throw DatabaseError(.error, sqlState: SQLState.invalidArgumentForNthValueFunction, "argument of nth_value must be greater than zero")
                }
                target = from + k - 1
            }
            result[row] = from <= to && target <= to && input.width > 0 ? input.argument(ordered[target], 0) : .null
        }
    }
}

/// The work of window evaluation, for tests that check it grows linearly: every time a row
/// enters or leaves an aggregate's frame state, or is read again to recompute a frame.
/// Bound to one task through `WindowCollector.workCounter`, so it is never shared between threads.
final class WindowWorkCounter: @unchecked Sendable {
    var frameRowVisits = 0
}
