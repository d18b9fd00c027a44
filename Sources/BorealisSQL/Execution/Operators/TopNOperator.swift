// ORDER BY … LIMIT k under the projection (`SELECT id, x FROM big ORDER BY x DESC LIMIT 10`):
// keeps the best k input rows in a bounded heap, reading each row's sort keys straight from it
// (a column, or a deterministic expression over the row) and comparing them with the worst row
// kept before anything is built, so a row that does not make the cut costs its key and one
// comparison; the projection then runs on the k rows that remain. The planner puts it here only
// when nothing between the input and the projection needs every row (no grouping, windows,
// DISTINCT or DISTINCT ON) and every key may be evaluated once more than a select-list item
// would be (no volatile functions). Stable: equal keys keep their input order.

import BorealisStorage

final class TopNOperator: PhysicalOperator {
    enum Key {
        /// A column of the input row.
        case column(Int)
        /// An expression over the input row.
        case expression(Evaluator)
    }

    let input: PhysicalOperator
    let keys: [Key]
    /// The ORDER BY items, comparing key rows (keys from position 0).
    let order: RowOrder
    let keySQL: [String]
    /// Rows wanted (OFFSET + LIMIT), evaluated at open.
    let wanted: (ExecutionContext) throws -> Int?

    init(input: PhysicalOperator, keys: [Key], orderBy: [OrderItem], keySQL: [String], wanted: @escaping (ExecutionContext) throws -> Int?) {
        self.input = input
        self.keys = keys
        self.order = RowOrder(items: orderBy, keyStart: 0)
        self.keySQL = keySQL
        self.wanted = wanted
    }

    var columns: [ScopeColumn] { input.columns }
    var children: [PhysicalOperator] { [input] }
    var label: String { "Top-N Sort" }
    var details: [String] { ["Sort Key: " + keySQL.joined(separator: ", ")] }
    var estimatedRows: Double { input.estimatedRows }

    func open(_ ctx: ExecutionContext) throws -> RowStream {
        let keys = keys, order = order
        let width = input.columns.count
        /// The keys of `row`, written into `buffer` (reused: no allocation per row).
        func readKeys(_ row: [Value], into buffer: inout [Value]) throws {
            buffer.removeAll(keepingCapacity: true)
            for key in keys {
                switch key {
                case .column(let i): buffer.append(row[i])
                case .expression(let e): buffer.append(try ctx.withFrame(row) { try e(ctx) })
                }
            }
        }
        let bound = try wanted(ctx)
        if let k = bound, k > 0, k <= ctx.workMemoryRows, let columns = columnKeys, let batches = try input.batches(ctx) {
            return try Self.topN(k, of: batches, width: width, keyColumns: columns, order: order)
        }
        let next = try input.stream(ctx)
        guard let k = bound, k <= ctx.workMemoryRows else {
            // No usable bound (LIMIT ALL, or more rows than fit): sort everything, the keys
            // riding after the row's columns, and drop them after; the first k rows only.
            let keyed: RowStream = {
                guard var row = try next() else { return nil }
                var buffer: [Value] = []
                try readKeys(row, into: &buffer)
                row += buffer
                return row
            }
            let sorted = try SortOperator.externalSort(keyed, RowOrder(items: order.items, keyStart: width), memoryRows: ctx.workMemoryRows, memory: ctx.memory)
            var remaining = bound ?? .max
            return {
                guard remaining > 0, let row = try sorted() else { return nil }
                remaining -= 1
                return Array(row.prefix(width))
            }
        }
        guard k > 0 else { return { nil } }
        var best = BestRows(k, order: order)
        var scratch: [Value] = []
        scratch.reserveCapacity(keys.count)
        while let row = try next() {
            try readKeys(row, into: &scratch)
            best.offer(scratch) { row }
        }
        return Planner.stream(best.sortedRows())
    }

    /// The input columns of the keys, when every key is one.
    private var columnKeys: [Int]? {
        var columns: [Int] = []
        for key in keys {
            guard case .column(let c) = key else { return nil }
            columns.append(c)
        }
        return columns
    }

    /// The best `k` rows of batched input, keys read in place: a row is copied out of its
    /// batch only when it enters the heap.
    private static func topN(_ k: Int, of next: BatchStream, width: Int, keyColumns: [Int], order: RowOrder) throws -> RowStream {
        var best = BestRows(k, order: order)
        var scratch: [Value] = []
        scratch.reserveCapacity(keyColumns.count)
        var batch = RowBatch(width: width)
        // One key: once the heap is full and its worst key is an integer, an integer key that
        // cannot displace it is dropped after one integer comparison (most rows of a large
        // input), without building its key array.
        let single = keyColumns.count == 1 ? keyColumns[0] : nil
        let descending = order.items.first?.descending ?? false
        while try next(&batch) {
            for r in 0..<batch.count {
                if let c = single, let worst = best.worstInteger, case .integer(let x) = batch[r, c],
                   descending ? x <= worst : x >= worst {
                    best.skip()
                    continue
                }
                scratch.removeAll(keepingCapacity: true)
                for c in keyColumns { scratch.append(batch[r, c]) }
                best.offer(scratch) { batch.row(r) }
            }
        }
        return Planner.stream(best.sortedRows())
    }
}

/// The best `k` rows offered so far, by their keys, in a bounded heap whose first entry is the
/// worst kept. Stable: of rows with equal keys the earlier offered wins.
private struct BestRows {
    typealias Entry = (index: Int, keys: [Value], row: [Value])
    let k: Int
    let order: RowOrder
    private var heap: BinaryHeap<Entry>
    private var offered = 0
    /// The worst kept row's keys, copied out when the heap changes: most rows are compared with
    /// them and dropped, and reading them through `heap.first` copied the whole entry per row.
    private var worstKeys: [Value] = []
    /// The worst kept row's single key when the heap is full and that key is an integer: a row
    /// whose integer key does not sort strictly before it cannot enter.
    private(set) var worstInteger: Int64?

    init(_ k: Int, order: RowOrder) {
        self.k = k
        self.order = order
        heap = BinaryHeap { a, b in BestRows.precedes(b, a, order) }
        heap.reserveCapacity(k + 1)
    }

    private static func precedes(_ a: Entry, _ b: Entry, _ order: RowOrder) -> Bool {
        let c = order.compare(a.keys, b.keys)
        return c != 0 ? c < 0 : a.index < b.index
    }

    /// Offers the row with these keys; `row` is called only when it is kept.
    mutating func offer(_ keys: [Value], _ row: () -> [Value]) {
        defer { offered += 1 }
        if heap.count < k {
            heap.push((offered, keys, row()))
        } else if order.compare(keys, worstKeys) < 0 {
            // A later row with keys equal to the worst never displaces it (stability).
            heap.replaceFirst(with: (offered, keys, row()))
        } else {
            return
        }
        if heap.count == k, let worst = heap.first {
            worstKeys = worst.keys
            if worstKeys.count == 1, case .integer(let w) = worstKeys[0] { worstInteger = w } else { worstInteger = nil }
        }
    }

    /// Counts a row that was compared with `worstInteger` and dropped (its place in the input
    /// order still matters for ties that follow).
    mutating func skip() { offered += 1 }

    /// The kept rows, best first.
    func sortedRows() -> [[Value]] {
        let order = order
        return heap.elements.sorted { BestRows.precedes($0, $1, order) }.map(\.row)
    }
}
