// Rows passed a batch at a time (docs/query-engine.md §"Batches"). A producer that can fill
// many rows in one call — a table scan decoding every row of a leaf page in one go — offers
// `openBatches`; a consumer that can work through a batch in a tight loop — aggregation with
// column arguments, Top-N with column keys — asks for it and falls back to the row stream when
// the input offers none. Between the two, nothing is built per row: no `[Value]` array, no
// closure call, no execution frame.
//
// Layout: a flat row buffer, row after row (`values[row * width + column]`), chosen over one
// array per column because a record's values are decoded in the order they are stored, and a
// consumer that keeps a whole row (Top-N admitting one) copies one contiguous slice.
//
// Invariants:
// - `values.count == capacity * width`; slots of rows at or past `count` hold stale values
//   (overwritten by the next fill, never read);
// - a filled batch has `count ≥ 1`: a stream returns false instead of an empty batch;
// - the consumer owns the batch between calls; the producer overwrites it on the next call.

import BorealisStorage

struct RowBatch {
    /// Rows per batch: a few leaves' worth, small enough to stay in the cache.
    static let defaultCapacity = 1_024

    let width: Int
    let capacity: Int
    /// Rows filled.
    var count = 0
    var values: [Value]

    init(width: Int, capacity: Int = RowBatch.defaultCapacity) {
        self.width = width
        self.capacity = max(1, capacity)
        values = [Value](repeating: .null, count: max(1, width) * self.capacity)
    }

    @inline(__always)
    subscript(row: Int, column: Int) -> Value { values[row &* width &+ column] }

    /// Overwrites `target` with row `row`'s values, in place once `target` has the batch's
    /// width and no other reference (a consumer evaluating expressions over each row reuses
    /// one array this way instead of building one per row).
    func copyRow(_ row: Int, into target: inout [Value]) {
        if target.count != width { target = [Value](repeating: .null, count: width) }
        let start = row * width
        values.withUnsafeBufferPointer { values in
            target.withUnsafeMutableBufferPointer { slots in
                for c in 0..<width { slots[c] = values[start + c] }
            }
        }
    }

    /// Row `row` as an array (for a consumer that keeps it), with room for `extra` more values
    /// when the consumer will append them (a window its calls' values).
    func row(_ row: Int, reserving extra: Int = 0) -> [Value] {
        let start = row * width
        guard extra > 0 else { return Array(values[start..<start + width]) }
        var copy: [Value] = []
        copy.reserveCapacity(width + extra)
        copy.append(contentsOf: values[start..<start + width])
        return copy
    }
}

/// Fills the batch with the next rows (replacing what it held); false when there are none.
typealias BatchStream = (inout RowBatch) throws -> Bool

extension PhysicalOperator {
    /// The operator's output in batches when it produces them itself, nil otherwise (then the
    /// caller reads `stream`). Under EXPLAIN ANALYZE the stream counts opens, rows and time as
    /// `stream` does.
    func batches(_ ctx: ExecutionContext) throws -> BatchStream? {
        guard let profile = ctx.profile else { return try openBatches(ctx) }
        let id = ObjectIdentifier(self)
        let clock = ContinuousClock()
        let start = clock.now
        guard let next = try openBatches(ctx) else { return nil }
        var elapsed = clock.now - start
        profile.record(id) { $0.loops += 1 }
        profile.record(id) { $0.time += elapsed }
        return { batch in
            let start = clock.now
            let more = try next(&batch)
            elapsed = clock.now - start
            profile.record(id) {
                $0.time += elapsed
                if more { $0.rows += batch.count }
            }
            return more
        }
    }
}
