// ORDER BY: sorts its input by the sort keys that ride in each row from `keyStart` on (put
// there by ProjectOperator), stably. With a LIMIT that fits in work memory it keeps only the
// best rows in a heap (top-N); otherwise sorted runs past work memory go to temporary files and
// are merged as they are read back (an external sort).

/// Compares rows by the sort keys stored at `keyStart…` (NULLs last ascending, first
/// descending, unless NULLS FIRST/LAST says otherwise).
import BorealisStorage

struct RowOrder {
    let items: [OrderItem]
    let keyStart: Int

    /// Negative when a sorts first, positive when b does, zero for equal keys.
    @inline(__always)
    func compare(_ a: [Value], _ b: [Value]) -> Int {
        for (i, item) in items.enumerated() {
            let x = a[keyStart + i], y = b[keyStart + i]
            if x.isNull || y.isNull {
                if x.isNull && y.isNull { continue }
                return x.isNull == (item.nullsFirst ?? item.descending) ? -1 : 1
            }
            let c = Value.sortCompare(x, y)
            if c != 0 { return item.descending ? -c : c }
        }
        return 0
    }

    /// Sorted stably.
    func sorted(_ rows: [[Value]]) -> [[Value]] {
        rows.enumerated().sorted { a, b in
            let c = compare(a.element, b.element)
            return c != 0 ? c < 0 : a.offset < b.offset
        }.map(\.element)
    }
}

final class SortOperator: PhysicalOperator {
    let input: PhysicalOperator
    let order: RowOrder
    let keySQL: [String]
    /// Rows wanted (OFFSET + LIMIT) when known at open; nil for all.
    let wanted: ((ExecutionContext) throws -> Int?)?

    init(input: PhysicalOperator, order: RowOrder, keySQL: [String], wanted: ((ExecutionContext) throws -> Int?)?) {
        self.input = input
        self.order = order
        self.keySQL = keySQL
        self.wanted = wanted
    }

    var columns: [ScopeColumn] { input.columns }
    var children: [PhysicalOperator] { [input] }
    var label: String { wanted == nil ? "Sort" : "Top-N Sort" }
    var details: [String] { ["Sort Key: " + keySQL.joined(separator: ", ")] }
    var estimatedRows: Double { input.estimatedRows }

    func open(_ ctx: ExecutionContext) throws -> RowStream {
        let next = try input.stream(ctx)
        if let k = try wanted?(ctx), k <= ctx.workMemoryRows {
            return Planner.stream(try Self.topN(next, order, k))
        }
        return try Self.externalSort(next, order, memoryRows: ctx.workMemoryRows, memory: ctx.memory)
    }

    /// The first k rows in sort order, without sorting them all (a bounded heap; stable).
    static func topN(_ next: RowStream, _ order: RowOrder, _ k: Int) throws -> [[Value]] {
        guard k > 0 else { return [] }
        func precedes(_ a: (Int, [Value]), _ b: (Int, [Value])) -> Bool {
            let c = order.compare(a.1, b.1)
            return c != 0 ? c < 0 : a.0 < b.0
        }
        // The best k seen so far; `first` is the worst of them (a max-heap in sort order).
        var heap = BinaryHeap<(Int, [Value])> { a, b in precedes(b, a) }
        heap.reserveCapacity(k + 1)
        var index = 0
        while let row = try next() {
            let entry = (index, row)
            index += 1
            if heap.count < k {
                heap.push(entry)
            } else if let worst = heap.first, precedes(entry, worst) {
                heap.replaceFirst(with: entry)
            }
        }
        return heap.elements.sorted(by: precedes).map(\.1)
    }

    /// Sorts a stream stably; past `memoryRows` rows or the statement's spill bytes, sorted runs
    /// go to temporary files and are merged as they are read back.
    static func externalSort(_ input: RowStream, _ order: RowOrder, memoryRows: Int, memory: StatementMemory) throws -> RowStream {
        let memoryBytes = memory.spillBytes
        var runs: [SpillFile] = []
        var buffer: [[Value]] = []
        var bufferBytes = 0
        // Each spilled row carries its input position last, so the merge stays stable.
        var index: Int64 = 0
        func spill() throws {
            let file = try SpillFile(account: memory)
            for row in order.sorted(buffer) { try file.append(row) }
            runs.append(file)
            memory.spills += 1
            buffer.removeAll(keepingCapacity: true)
            bufferBytes = 0
        }
        while var row = try input() {
            row.append(.integer(index))
            index += 1
            bufferBytes += Value.memoryFootprint(of: row)
            buffer.append(row)
            if buffer.count >= max(1, memoryRows) || bufferBytes >= memoryBytes { try spill() }
        }
        if runs.isEmpty {
            let sorted = Planner.stream(order.sorted(buffer))
            return { try sorted().map { Array($0.dropLast()) } }
        }
        if !buffer.isEmpty { try spill() }
        let readers = try runs.map { try $0.reader() }
        func precedes(_ a: [Value], _ b: [Value]) -> Bool {
            let c = order.compare(a, b)
            if c != 0 { return c < 0 }
            guard let x = a.last, let y = b.last else { return false }
            return Value.sortCompare(x, y) < 0
        }
        // A k-way merge: a heap of each run's next row.
        var heads = BinaryHeap<(row: [Value], run: Int)> { a, b in precedes(a.row, b.row) }
        for run in readers.indices { if let row = try readers[run]() { heads.push((row, run)) } }
        return {
            guard let (row, run) = heads.first else { return nil }
            if let next = try readers[run]() { heads.replaceFirst(with: (next, run)) } else { heads.popFirst() }
            return Array(row.dropLast())
        }
    }
}
