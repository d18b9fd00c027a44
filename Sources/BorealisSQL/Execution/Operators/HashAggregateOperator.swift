// GROUP BY and aggregates: hash aggregation of the input (one group without GROUP BY), each
// output row the group's key values followed by its aggregates' results, in the order groups
// first appear. Past work memory, rows of groups not yet in memory go to one of 16 temporary
// partitions (by group hash), aggregated one at a time.

import BorealisStorage

final class HashAggregateOperator: PhysicalOperator {
    let input: PhysicalOperator
    let groups: [Evaluator]
    /// Per group key, the input column it is when it is one.
    let groupColumns: [Int?]
    let groupSQL: [String]
    let calls: [AggregateCollector.Call]
    let estimatedRows: Double

    init(input: PhysicalOperator, groups: [Evaluator], groupColumns: [Int?]? = nil, groupSQL: [String], calls: [AggregateCollector.Call],
         estimatedRows: Double) {
        self.input = input
        self.groups = groups
        self.groupColumns = groupColumns ?? groups.map { _ in nil }
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
        let source: Source
        if let batches = try input.batches(ctx) {
            source = .batches(batches, width: input.columns.count)
        } else {
            source = .rows(try input.stream(ctx))
        }
        return Planner.stream(try Self.aggregate(source, ctx: ctx, groups: groups, groupColumns: groupColumns, calls: calls,
                                                 hasGroupBy: !groupSQL.isEmpty))
    }

    /// Where the rows to aggregate come from: a row stream, or batches of rows (RowBatch.swift)
    /// from an input that fills them itself.
    enum Source {
        case rows(RowStream)
        case batches(BatchStream, width: Int)

        /// Calls `body` with each row, as a reused array for batches (nothing allocated per row
        /// once its capacity is reached).
        func forEachRow(_ body: ([Value]) throws -> Void) throws {
            switch self {
            case .rows(let next):
                while let row = try next() { try body(row) }
            case .batches(let next, let width):
                var batch = RowBatch(width: width)
                var row: [Value] = []
                while try next(&batch) {
                    for r in 0..<batch.count {
                        batch.copyRow(r, into: &row)
                        try body(row)
                    }
                }
            }
        }

        /// Calls `body` with each row's values in place: inside a batch's buffer, or the
        /// array of a row read on its own (nothing copied).
        func forEachRowBuffer(_ body: (UnsafeBufferPointer<Value>) throws -> Void) throws {
            switch self {
            case .rows(let next):
                while let row = try next() { try row.withUnsafeBufferPointer { try body($0) } }
            case .batches(let next, let width):
                var batch = RowBatch(width: width)
                while try next(&batch) {
                    try batch.values.withUnsafeBufferPointer { values in
                        for r in 0..<batch.count { try body(UnsafeBufferPointer(rebasing: values[r * width..<(r + 1) * width])) }
                    }
                }
            }
        }
    }

    /// Hash aggregation over a stream. Past `ctx.workMemoryRows` groups, rows of groups not yet
    /// in memory go to one of 16 temporary partitions (by group hash), aggregated one at a time.
    static func aggregate(_ input: Source, ctx: ExecutionContext, groups: [Evaluator], groupColumns: [Int?]? = nil,
                          calls: [AggregateCollector.Call], hasGroupBy: Bool) throws -> [[Value]] {
        let fresh = calls.map { call in
            var state = AggregateState(name: call.name, distinct: call.distinct, ordering: call.ordering, argumentTypes: call.argumentTypes)
            state.memory = ctx.memory
            return state
        }
        let plain = calls.allSatisfy { $0.filter == nil && $0.extra == nil && $0.order.isEmpty && ($0.argument == nil || $0.argumentColumn != nil) }
        let argumentColumns = calls.map(\.argumentColumn)
        if !hasGroupBy {
            // One group: no hashing per row.
            var states = fresh
            if plain {
                // Every argument is a column of the input row (or count(*)): read it directly.
                try input.forEachRowBuffer { row in
                    for i in states.indices {
                        if let c = argumentColumns[i] { try states[i].add(row[c], extra: nil) } else { try states[i].add(nil, extra: nil) }
                    }
                }
                return [states.map { $0.result() }]
            }
            let filters = calls.map(\.filter), arguments = calls.map(\.argument), extras = calls.map(\.extra), orders = calls.map(\.order)
            try input.forEachRow { row in
                try ctx.withFrame(row) {
                    for i in states.indices {
                        if let filter = filters[i], try filter(ctx).truth() != true { continue }
                        try states[i].add(try arguments[i].map { try $0(ctx) }, extra: try extras[i].map { try $0(ctx) },
                                          order: try orders[i].map { try $0(ctx) })
                    }
                }
            }
            return [states.map { $0.result() }]
        }
        var output: [[Value]] = []
        var pending: [(Source, level: Int)] = [(input, 0)]
        var partitions: [SpillFile] = []
        var sawRow = false
        // When every key and argument is a column of the input row, rows are read directly,
        // without evaluators or an execution frame.
        let keyColumns = groupColumns.flatMap { columns in columns.allSatisfy { $0 != nil } ? columns.compactMap { $0 } : nil }
        let copying = keyColumns != nil && plain
        while let (next, level) = pending.popLast() {
            let spills = hasGroupBy && level < 4
            var table = GroupTable(fresh: fresh, limit: spills ? max(1, ctx.workMemoryRows) : .max,
                                   byteLimit: spills ? ctx.memory.spillBytes : .max, memory: ctx.memory, level: level)
            if copying, let keyColumns {
                var hashKey: [Value] = []
                hashKey.reserveCapacity(keyColumns.count)
                // One integer key (`GROUP BY g` of an integer column): its groups are found by
                // the integer itself, without building and hashing a key array per row.
                let integerKey = keyColumns.count == 1 ? keyColumns[0] : nil
                var integerSlots = IntegerSlots()
                let callCount = calls.count
                try next.forEachRowBuffer { row in
                    sawRow = true
                    let s: Int
                    if let c = integerKey, case .integer(let key) = row[c], let found = integerSlots[key] {
                        s = found
                    } else {
                        hashKey.removeAll(keepingCapacity: true)
                        for c in keyColumns { hashKey.append(row[c].groupKey) }
                        guard let made = try table.slot(hashKey, key: { keyColumns.map { row[$0] } }, row: { Array(row) }) else { return }
                        if let c = integerKey, case .integer(let key) = row[c] { integerSlots.insert(key, slot: made) }
                        s = made
                    }
                    let first = s * callCount
                    for i in 0..<callCount {
                        if let c = argumentColumns[i] { try table.states[first + i].add(row[c], extra: nil) } else { try table.states[first + i].add(nil, extra: nil) }
                    }
                }
            } else {
                try next.forEachRow { row in
                    sawRow = true
                    try ctx.withFrame(row) {
                        let key = try groups.map { try $0(ctx) }
                        guard let s = try table.slot(key.map(\.groupKey), key: { key }, row: { row }) else { return }
                        let first = s * calls.count
                        for (i, call) in calls.enumerated() {
                            if let filter = call.filter, try filter(ctx).truth() != true { continue }
                            let value = try call.argument.map { try $0(ctx) }
                            let extra = try call.extra.map { try $0(ctx) }
                            try table.states[first + i].add(value, extra: extra, order: try call.order.map { try $0(ctx) })
                        }
                    }
                }
            }
            // The output stays in memory until the statement's rows are read: charged.
            for (g, key) in table.keys.enumerated() {
                let row = key + table.states[g * calls.count ..< (g + 1) * calls.count].map { $0.result() }
                try ctx.memory.charge(Value.memoryFootprint(of: row))
                output.append(row)
            }
            let spilling = !table.partitions.isEmpty
            partitions = table.partitions
            if spilling {
                // Each partition holds whole groups; aggregate them with a fresh table.
                for partition in partitions where partition.count > 0 { pending.append((.rows(try partition.reader()), level + 1)) }
                partitions = []
            }
        }
        if !sawRow && !hasGroupBy {
            return [fresh.map { $0.result() }]
        }
        return output
    }

    /// The groups of one pass, in the order they first appear, found by their hashed keys; past
    /// `limit` groups or `byteLimit` bytes of keys, rows of new groups go to 16 partitions by a
    /// hash that differs per level. The hashed keys of a table that cannot spill are charged to
    /// the statement as they come (the output rows are charged when made).
    private struct GroupTable {
        let fresh: [AggregateState]
        let limit: Int
        let byteLimit: Int
        let memory: StatementMemory
        /// Bytes of the groups' keys (each kept twice: hashed, and for the output row).
        var bytes = 0
        let level: Int
        var slots: [[Value]: Int] = [:]
        /// Each group's key values, in the order groups first appear.
        var keys: [[Value]] = []
        /// The groups' aggregate states, `fresh.count` per group, group after group (one flat
        /// array: a state is reached with one index, not through the group's own array).
        var states: [AggregateState] = []
        var partitions: [SpillFile] = []

        init(fresh: [AggregateState], limit: Int, byteLimit: Int, memory: StatementMemory, level: Int) {
            self.fresh = fresh
            self.limit = limit
            self.byteLimit = byteLimit
            self.memory = memory
            self.level = level
        }

        /// The slot of the group with this hashed key (made with `key()` when new), or nil when
        /// the row went to a partition.
        mutating func slot(_ hashKey: [Value], key: () -> [Value], row: () -> [Value]) throws -> Int? {
            if let found = slots[hashKey] { return found }
            if keys.count >= limit || bytes >= byteLimit {
                if partitions.isEmpty {
                    partitions = try (0..<16).map { _ in try SpillFile(account: memory) }
                    memory.spills += 1
                }
                var hasher = Hasher()
                hasher.combine(level)
                hasher.combine(hashKey)
                try partitions[abs(hasher.finalize() % 16)].append(row())
                return nil
            }
            let keyBytes = Value.memoryFootprint(of: hashKey)
            if byteLimit == .max { try memory.charge(keyBytes) }
            bytes += 2 * keyBytes
            slots[hashKey] = keys.count
            keys.append(key())
            states.append(contentsOf: fresh)
            return keys.count - 1
        }
    }

    /// The slots of groups keyed by one integer: open addressing with linear probing over a
    /// power-of-two table, hashed by one multiplication, at most half full. It only speeds up
    /// finding a group `GroupTable` already made (a miss goes to the table, which decides on
    /// new groups and spilling); a group is entered here once it has its slot.
    struct IntegerSlots {
        private var keys: [Int64] = []
        /// Slot + 1 per entry; 0 is an empty entry.
        private var slots: [Int] = []
        private var count = 0
        private var shift: UInt64 = 64

        /// Where `key`'s probe starts: Fibonacci hashing, the high bits of one product.
        private func start(_ key: Int64) -> Int {
            Int(truncatingIfNeeded: (UInt64(bitPattern: key) &* 0x9E37_79B9_7F4A_7C15) >> shift)
        }

        subscript(key: Int64) -> Int? {
            guard count > 0 else { return nil }
            let mask = keys.count - 1
            var i = start(key)
            while true {
                let slot = slots[i]
                if slot == 0 { return nil }
                if keys[i] == key { return slot - 1 }
                i = (i + 1) & mask
            }
        }

        mutating func insert(_ key: Int64, slot: Int) {
            if (count + 1) * 2 > keys.count { grow() }
            let mask = keys.count - 1
            var i = start(key)
            while slots[i] != 0 {
                if keys[i] == key { return }
                i = (i + 1) & mask
            }
            keys[i] = key
            slots[i] = slot + 1
            count += 1
        }

        private mutating func grow() {
            let size = max(16, keys.count * 2)
            let oldKeys = keys, oldSlots = slots
            keys = [Int64](repeating: 0, count: size)
            slots = [Int](repeating: 0, count: size)
            shift = UInt64(64 - size.trailingZeroBitCount)
            count = 0
            for i in oldKeys.indices where oldSlots[i] != 0 { insert(oldKeys[i], slot: oldSlots[i] - 1) }
        }
    }
}
