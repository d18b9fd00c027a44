// Window functions: row_number, rank, dense_rank, percent_rank, cume_dist, ntile, lag, lead,
// first_value, last_value, nth_value, and every aggregate OVER (PARTITION BY … ORDER BY …
// [ROWS|RANGE frame]). They run after grouping and HAVING, on the rows the select list sees; each
// call adds one value to every row, read back by the compiled call.

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

    /// Appends each call's value to every row.
    func apply(to rows: [[Value]], ctx: ExecutionContext) throws -> [[Value]] {
        var extended = rows
        for call in calls {
            let values = try evaluate(call, rows, ctx)
            for i in extended.indices { extended[i].append(values[i]) }
        }
        return extended
    }

    private func evaluate(_ call: Call, _ rows: [[Value]], _ ctx: ExecutionContext) throws -> [Value] {
        // Partition, then order each partition (stably).
        var partitions: [[Value]: [Int]] = [:]
        var partitionOrder: [[Value]] = []
        var orderKeys: [[Value]] = []
        var arguments: [[Value]] = []
        var passes: [Bool] = []
        for (i, row) in rows.enumerated() {
            try ctx.withFrame(row) {
                let key = try call.partition.map { try $0(ctx).groupKey }
                if partitions[key] == nil { partitionOrder.append(key) }
                partitions[key, default: []].append(i)
                orderKeys.append(try call.order.map { try $0(ctx) })
                arguments.append(try call.arguments.map { try $0(ctx) })
                passes.append(try call.filter.map { try $0(ctx).truth() == true } ?? true)
            }
        }
        var result = [Value](repeating: .null, count: rows.count)
        for key in partitionOrder {
            var members = partitions[key]!
            if !call.order.isEmpty {
                members = Planner.sort(members.map { ([.integer(Int64($0))], orderKeys[$0]) }, call.orderItems).map {
                    if case .integer(let i) = $0.0[0] { return Int(i) }
                    return 0
                }
            }
            try evaluatePartition(call, members, orderKeys, arguments, passes, &result)
        }
        return result
    }

    private func evaluatePartition(_ call: Call, _ members: [Int], _ orderKeys: [[Value]], _ arguments: [[Value]],
                                   _ passes: [Bool], _ result: inout [Value]) throws {
        let n = members.count
        func peers(_ a: Int, _ b: Int) -> Bool {
            zip(orderKeys[members[a]], orderKeys[members[b]]).allSatisfy { Value.sortCompare($0, $1) == 0 }
        }
        // Peer groups: the first and last position of each row's group of equal ORDER BY keys.
        var groupStart = [Int](repeating: 0, count: n)
        var groupEnd = [Int](repeating: 0, count: n)
        var start = 0
        for p in 0..<n {
            if p > 0 && !peers(p - 1, p) { start = p }
            groupStart[p] = start
        }
        var end = n - 1
        for p in stride(from: n - 1, through: 0, by: -1) {
            if p < n - 1 && !peers(p, p + 1) { end = p }
            groupEnd[p] = end
        }
        func integerArgument(_ p: Int, _ k: Int, default value: Int) throws -> Int {
            guard k < call.arguments.count else { return value }
            let v = arguments[members[p]][k]
            guard case .integer(let i) = try v.cast(to: "bigint") else { return value }
            return Int(i)
        }
        switch call.name {
        case "row_number":
            for p in 0..<n { result[members[p]] = .integer(Int64(p + 1)) }
        case "rank":
            for p in 0..<n { result[members[p]] = .integer(Int64(groupStart[p] + 1)) }
        case "dense_rank":
            var rank = 0
            for p in 0..<n {
                if groupStart[p] == p { rank += 1 }
                result[members[p]] = .integer(Int64(rank))
            }
        case "percent_rank":
            for p in 0..<n { result[members[p]] = .double(n > 1 ? Double(groupStart[p]) / Double(n - 1) : 0) }
        case "cume_dist":
            for p in 0..<n { result[members[p]] = .double(Double(groupEnd[p] + 1) / Double(n)) }
        case "ntile":
            for p in 0..<n {
                let buckets = try integerArgument(p, 0, default: 1)
                guard buckets > 0 else { throw DatabaseError(.error, sqlState: "22014", "argument of ntile must be greater than zero") }
                let size = n / buckets, extra = n % buckets
                // The first `extra` buckets hold one more row.
                let bucket = p < extra * (size + 1) ? p / (size + 1) : extra + (p - extra * (size + 1)) / max(1, size)
                result[members[p]] = .integer(Int64(bucket + 1))
            }
        case "lag", "lead":
            for p in 0..<n {
                let offset = try integerArgument(p, 1, default: 1)
                let target = call.name == "lag" ? p - offset : p + offset
                if target >= 0 && target < n {
                    result[members[p]] = arguments[members[target]].first ?? .null
                } else {
                    result[members[p]] = call.arguments.count > 2 ? arguments[members[p]][2] : .null
                }
            }
        default:
            // Frame-based: first_value, last_value, nth_value and aggregates.
            for p in 0..<n {
                let (from, to) = try frameBounds(call, p, n, groupStart, groupEnd)
                switch call.name {
                case "first_value":
                    result[members[p]] = from <= to ? arguments[members[from]].first ?? .null : .null
                case "last_value":
                    result[members[p]] = from <= to ? arguments[members[to]].first ?? .null : .null
                case "nth_value":
                    let k = try integerArgument(p, 1, default: 1)
                    guard k > 0 else { throw DatabaseError(.error, sqlState: "22016", "argument of nth_value must be greater than zero") }
                    result[members[p]] = from + k - 1 <= to ? arguments[members[from + k - 1]].first ?? .null : .null
                default:
                    guard ExpressionCompiler.aggregateNames.contains(call.name) else {
                        throw DatabaseError(.error, sqlState: "42883", "function \(call.name) is not a window function")
                    }
                    var state = AggregateState(name: call.name, distinct: call.distinct)
                    if from <= to {
                        for q in from...to where passes[members[q]] {
                            let args = arguments[members[q]]
                            try state.add(call.star ? nil : args.first, extra: args.count > 1 ? args[1] : nil)
                        }
                    }
                    result[members[p]] = state.result()
                }
            }
        }
    }

    /// The frame of position p as positions [from, to] within the partition (from > to: empty).
    private func frameBounds(_ call: Call, _ p: Int, _ n: Int, _ groupStart: [Int], _ groupEnd: [Int]) throws -> (Int, Int) {
        guard let frame = call.frame else {
            // Default: with ORDER BY, from the start to the current row's last peer; else all.
            return call.order.isEmpty ? (0, n - 1) : (0, groupEnd[p])
        }
        func position(_ bound: FrameBound, isStart: Bool) throws -> Int {
            switch bound {
            case .unboundedPreceding: return 0
            case .unboundedFollowing: return n - 1
            case .currentRow: return frame.rows ? p : (isStart ? groupStart[p] : groupEnd[p])
            case .preceding(let k):
                guard frame.rows else { throw DatabaseError(.error, sqlState: "0A000", "RANGE with an offset is not supported; use ROWS") }
                return p - k
            case .following(let k):
                guard frame.rows else { throw DatabaseError(.error, sqlState: "0A000", "RANGE with an offset is not supported; use ROWS") }
                return p + k
            }
        }
        let from = max(0, try position(frame.start, isStart: true))
        let to = min(n - 1, try position(frame.end, isStart: false))
        return (from, to)
    }
}
