// GROUP BY and aggregates: hash aggregation of the input (one group without GROUP BY), each
// output row the group's key values followed by its aggregates' results, in the order groups
// first appear. Past work memory, rows of groups not yet in memory go to one of 16 temporary
// partitions (by group hash), aggregated one at a time.

import BorealisStorage

final class HashAggregateOperator: PhysicalOperator {
    let input: PhysicalOperator
    let groups: [Evaluator]
    let groupSQL: [String]
    let calls: [AggregateCollector.Call]
    let estimatedRows: Double

    init(input: PhysicalOperator, groups: [Evaluator], groupSQL: [String], calls: [AggregateCollector.Call], estimatedRows: Double) {
        self.input = input
        self.groups = groups
        self.groupSQL = groupSQL
        self.calls = calls
        self.estimatedRows = estimatedRows
    }

    var columns: [ScopeColumn] {
        [ScopeColumn](repeating: ScopeColumn(table: nil, name: "?column?"), count: groups.count + calls.count)
    }
    var children: [PhysicalOperator] { [input] }
    var label: String { groupSQL.isEmpty ? "Aggregate" : "Hash Aggregate" }
    var details: [String] { groupSQL.isEmpty ? [] : ["Group Key: " + groupSQL.joined(separator: ", ")] }

    func open(_ ctx: ExecutionContext) throws -> RowStream {
        Planner.stream(try Self.aggregate(try input.stream(ctx), ctx: ctx, groups: groups, calls: calls, hasGroupBy: !groupSQL.isEmpty))
    }

    /// Hash aggregation over a stream. Past `ctx.workMemoryRows` groups, rows of groups not yet
    /// in memory go to one of 16 temporary partitions (by group hash), aggregated one at a time.
    static func aggregate(_ input: @escaping RowStream, ctx: ExecutionContext, groups: [Evaluator], calls: [AggregateCollector.Call], hasGroupBy: Bool) throws -> [[Value]] {
        let fresh = calls.map { AggregateState(name: $0.name, distinct: $0.distinct) }
        if !hasGroupBy {
            // One group: no hashing per row.
            var states = fresh
            if calls.allSatisfy({ $0.filter == nil && $0.extra == nil && ($0.argument == nil || $0.argumentColumn != nil) }) {
                // Every argument is a column of the input row (or count(*)): read it directly.
                let columns = calls.map(\.argumentColumn)
                while let row = try input() {
                    for i in states.indices {
                        if let c = columns[i] { try states[i].add(row[c], extra: nil) } else { try states[i].add(nil, extra: nil) }
                    }
                }
                return [states.map { $0.result() }]
            }
            let filters = calls.map(\.filter), arguments = calls.map(\.argument), extras = calls.map(\.extra)
            while let row = try input() {
                try ctx.withFrame(row) {
                    for i in states.indices {
                        if let filter = filters[i], try filter(ctx).truth() != true { continue }
                        try states[i].add(try arguments[i].map { try $0(ctx) }, extra: try extras[i].map { try $0(ctx) })
                    }
                }
            }
            return [states.map { $0.result() }]
        }
        var output: [[Value]] = []
        var pending: [(RowStream, level: Int)] = [(input, 0)]
        var partitions: [SpillFile] = []
        var sawRow = false
        while let (next, level) = pending.popLast() {
            var order: [[Value]] = []
            var states: [[Value]: (key: [Value], states: [AggregateState])] = [:]
            var spilling = false
            while let row = try next() {
                sawRow = true
                try ctx.withFrame(row) {
                    let key = try groups.map { try $0(ctx) }
                    let hashKey = key.map(\.groupKey)
                    if states[hashKey] == nil {
                        // Each level partitions by another hash; past four levels, memory it is.
                        if states.count >= max(1, ctx.workMemoryRows) && hasGroupBy && level < 4 {
                            if !spilling {
                                spilling = true
                                partitions = try (0..<16).map { _ in try SpillFile() }
                            }
                            var hasher = Hasher()
                            hasher.combine(level)
                            hasher.combine(hashKey)
                            try partitions[abs(hasher.finalize() % 16)].append(row)
                            return
                        }
                        states[hashKey] = (key, fresh)
                        order.append(hashKey)
                    }
                    for (i, call) in calls.enumerated() {
                        if let filter = call.filter, try filter(ctx).truth() != true { continue }
                        let value = try call.argument.map { try $0(ctx) }
                        let extra = try call.extra.map { try $0(ctx) }
                        try states[hashKey]!.states[i].add(value, extra: extra)
                    }
                }
            }
            for hashKey in order {
                let group = states[hashKey]!
                output.append(group.key + group.states.map { $0.result() })
            }
            if spilling {
                // Each partition holds whole groups; aggregate them with a fresh table.
                for partition in partitions where partition.count > 0 { pending.append((try partition.reader(), level + 1)) }
                partitions = []
            }
        }
        if !sawRow && !hasGroupBy {
            return [fresh.map { $0.result() }]
        }
        return output
    }
}
