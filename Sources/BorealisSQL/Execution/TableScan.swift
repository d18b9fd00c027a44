// Reading a table in row-id order, for `AccessPath`'s full scans and row-id ranges: a row at a
// time (`next`) or a batch at a time (`nextBatch`, docs/query-engine.md §"Batches").

import BorealisStorage

/// The state of a row-id-ordered scan, in one object rather than variables captured by the
/// stream closure: captured variables are boxed and every access to them pays a dynamic
/// exclusivity check, which showed as a tenth of a scan's time. A scan is stepped by one
/// thread and its accesses never overlap, so the checks are switched off here.
///
/// Rows are read leaf by leaf straight from the node; the cursor only finds the next leaf. When
/// the transaction changes a page meanwhile (a writer scanning a table it writes), the scan
/// finds its place again by the last row id it returned.
final class TableScan {
    @exclusivity(unchecked) private var cursor: BTreeCursor
    @exclusivity(unchecked) private var row: [Value] = []
    @exclusivity(unchecked) private var started = false
    @exclusivity(unchecked) private var leaf: Node?
    @exclusivity(unchecked) private var index = 0
    @exclusivity(unchecked) private var changeCount: UInt64 = 0
    @exclusivity(unchecked) private var lastRowID: Int64 = 0
    /// A batch met the end of the tree or of the range: no further step.
    @exclusivity(unchecked) private var exhausted = false
    private let wanted: [ColumnDecode]?
    private let readColumns: Int
    /// The query reads no column (count(*), EXISTS): rows are not decoded at all.
    private let readsNothing: Bool
    private let from: Int64?
    private let until: Int64?

    init(cursor: BTreeCursor, wanted: [ColumnDecode]?, from: Int64?, until: Int64?) {
        self.cursor = cursor
        self.wanted = wanted
        readColumns = wanted.map(RecordCodec.readColumns) ?? .max
        readsNothing = wanted.map { $0.allSatisfy { $0 == .skip } } ?? false
        if readsNothing, let wanted { row = [Value](repeating: .null, count: wanted.count) }
        self.from = from
        self.until = until
    }

    func next() throws -> (Int64, [Value])? {
        guard try step() else { return nil }
        guard let leaf else { return nil }
        let rowID = try leaf.rowID(index)
        if let until, rowID > until { return nil }
        if readsNothing {
            lastRowID = rowID
            return (rowID, row)
        }
        try leaf.readLeafValue(index) { value in
            if value.overflow == 0 && value.local.count == value.totalLength {
                try RecordCodec.decode(value.local, wanted: wanted, readColumns: readColumns, into: &row)
            } else {
                try cursor.tree.readValue(leaf, index, cursor.txn).withUnsafeBytes { try RecordCodec.decode($0, wanted: wanted, readColumns: readColumns, into: &row) }
            }
        }
        lastRowID = rowID
        return (rowID, row)
    }

    /// Moves `leaf`/`index` to the next entry; false at the end of the tree.
    private func step() throws -> Bool {
        if !started {
            started = true
            let found = try from.map { try cursor.seek(atLeast: TableTree.encode($0)) } ?? (try cursor.first())
            return try found && take()
        }
        if cursor.txn.changeCount != changeCount {
            guard lastRowID < .max, try cursor.seek(atLeast: TableTree.encode(lastRowID + 1)) else { return false }
            return try take()
        }
        index += 1
        if index < leaf!.count { return true }
        return try cursor.nextLeaf() && take()
    }

    private func take() throws -> Bool {
        (leaf, index) = try cursor.currentLeaf()
        changeCount = cursor.txn.changeCount
        return true
    }

    /// Fills `batch` with the next rows, up to its capacity; false when none are left. Rows of
    /// one leaf are decoded in one loop straight into the batch's slots: the leaf, the cursor
    /// and the scan's fields are read once per leaf rather than once per row. Nothing writes
    /// through the transaction while a batch fills, so a change is looked for (by `step`) only
    /// at the start of each batch.
    func nextBatch(into batch: inout RowBatch) throws -> Bool {
        batch.count = 0
        guard !exhausted, try step(), var node = leaf else {
            exhausted = true
            return false
        }
        let width = batch.width, capacity = batch.capacity
        let wanted = wanted, readColumns = readColumns, readsNothing = readsNothing, until = until
        var position = index
        var filled = 0
        var last = lastRowID
        try batch.values.withUnsafeMutableBufferPointer { out in
            try (wanted ?? []).withUnsafeBufferPointer { wantedColumns in
                let mask = wanted == nil ? nil : wantedColumns
                while true {
                    var pastRange = false
                    position = try node.forEachTableEntry(from: position) { i, rowID, value in
                        guard filled < capacity else { return false }
                        if let until, rowID > until {
                            pastRange = true
                            return false
                        }
                        if !readsNothing {
                            let slots = UnsafeMutableBufferPointer(rebasing: out[filled * width ..< (filled + 1) * width])
                            if value.overflow == 0 && value.local.count == value.totalLength {
                                try RecordCodec.decode(value.local, mask: mask, readColumns: readColumns, into: slots)
                            } else {
                                try cursor.tree.readValue(node, i, cursor.txn).withUnsafeBytes {
                                    try RecordCodec.decode($0, mask: mask, readColumns: readColumns, into: slots)
                                }
                            }
                        }
                        last = rowID
                        filled += 1
                        return true
                    }
                    if pastRange {
                        exhausted = true
                        return
                    }
                    if filled == capacity { return }
                    guard try cursor.nextLeaf() else {
                        exhausted = true
                        return
                    }
                    _ = try take()
                    guard let next = leaf else {
                        exhausted = true
                        return
                    }
                    node = next
                    position = index
                }
            }
        }
        lastRowID = last
        // `index` is the last entry handed out, where `step` continues from.
        index = position - 1
        batch.count = filled
        return filled > 0
    }
}
