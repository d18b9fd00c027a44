// Rows of a streamed SELECT laid end to end in one array: what a cursor computes ahead of its
// steps and what a prepared statement hands out one row at a time (SelectCursor.swift).
//
// Why flat: an array per row cost a streamed `SELECT *` two allocations a row — the row itself
// and, because the scan decodes each row into the array it handed out last time, a copy of
// that array (every value retained) before the next row could be written. Appending a row's
// values here instead leaves the scan's array free to be decoded into again, and a block of
// 64 rows is one allocation. The C API reads values from the block in place (`value(row:column:)`).
//
// Invariant: `values.count == count * width`; every row appended has `width` values.

import BorealisSQL

package struct RowBlock {
    /// Values per row: the result's column count.
    package let width: Int
    /// The rows, row after row.
    package private(set) var values: [Value] = []
    /// Rows held (counted apart from `values`, since a row of no columns has no values).
    package private(set) var count = 0

    package init(width: Int) {
        self.width = width
    }

    @inlinable
    package var isEmpty: Bool { count == 0 }

    /// Room for `rows` more rows without growing.
    mutating func reserve(rows: Int) {
        values.reserveCapacity(values.count + rows * width)
    }

    /// Appends `row`; a row of another width is an internal error (a plan's rows all have its
    /// columns), reported rather than misaligning every row after it.
    mutating func append(_ row: [Value]) throws {
        guard row.count == width else {
            throw DatabaseError.internalError("a row of \(row.count) values in a result of \(width) columns")
        }
        values.append(contentsOf: row)
        count += 1
    }

    /// The value in `column` of row `row` (both in range). Inlinable: the C API reads every
    /// column through it, from another module.
    @inlinable
    package func value(row: Int, column: Int) -> Value {
        values[row * width + column]
    }

    /// Row `row` as an array of its own.
    package func row(_ row: Int) -> [Value] {
        let start = row * width
        return Array(values[start..<start + width])
    }

    /// Removes the rows from `row` on and returns them as a block of their own.
    mutating func split(at row: Int) -> RowBlock {
        var tail = RowBlock(width: width)
        guard row < count else { return tail }
        tail.values = Array(values[(row * width)...])
        tail.count = count - row
        values.removeLast(values.count - row * width)
        count = row
        return tail
    }
}
