// Sorting the entries of a new index (CREATE INDEX) so the tree can be loaded bottom-up.
//
// Keys are appended into one flat buffer (no allocation per entry) and sorted in runs of at
// most `runLength` entries; when the table has more rows than that, each sorted run goes to a
// spill file and the runs are merged through a heap. `forEachSorted` hands out every key in
// memcmp order exactly once, with whether it takes part in a uniqueness check.

import BorealisStorage

final class IndexEntrySorter {
    private struct Entry {
        /// The key's first eight bytes as a big-endian word (zero-padded): most comparisons
        /// end here, without touching the buffer.
        var prefix: UInt64
        var start: UInt32
        /// The key's length, and in the top bit whether it is checked for uniqueness.
        var lengthAndCheck: UInt32

        var length: Int { Int(lengthAndCheck & 0x7fff_ffff) }
        var checkUnique: Bool { lengthAndCheck >> 31 == 1 }

        /// The key's bytes in the sorter's buffer.
        @inline(__always)
        func key(in buffer: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
            UnsafeRawBufferPointer(rebasing: buffer[Int(start)..<(Int(start) + length)])
        }
    }

    private let runLength: Int
    /// A run also ends at this many key bytes (long keys would otherwise make a run of
    /// `runLength` entries very large).
    private static let runBytes = 32 << 20
    // Used by one thread, never in overlapping accesses: no dynamic exclusivity checks per key.
    @exclusivity(unchecked) private var bytes: [UInt8] = []
    @exclusivity(unchecked) private var entries: [Entry] = []
    private var runs: [SpillFile] = []

    init(runLength: Int) {
        self.runLength = max(1, runLength)
    }

    /// The first eight bytes of `key` as a big-endian word, zero-padded: comparing two of
    /// these orders keys as memcmp does whenever they differ.
    @inline(__always)
    static func prefix(_ key: UnsafeRawBufferPointer) -> UInt64 {
        if key.count >= 8 { return UInt64(bigEndian: key.loadUnaligned(as: UInt64.self)) }
        var prefix: UInt64 = 0
        for i in 0..<key.count { prefix |= UInt64(key[i]) << (8 * (7 - UInt64(i))) }
        return prefix
    }

    /// Appends the key `build` writes at the end of the given buffer.
    func append(checkUnique: Bool, _ build: (inout [UInt8]) -> Void) throws {
        if entries.isEmpty {
            // Room for a good part of a run at once instead of doubling up from nothing.
            entries.reserveCapacity(min(runLength, 1 << 16))
        }
        let start = bytes.count
        build(&bytes)
        let length = bytes.count - start
        guard bytes.count <= Int(UInt32.max), length < 1 << 31 else { throw DatabaseError.tooLarge("index keys exceed a sort run") }
        let prefix = bytes.withUnsafeBytes { Self.prefix(UnsafeRawBufferPointer(rebasing: $0[start...])) }
        entries.append(Entry(prefix: prefix, start: UInt32(start), lengthAndCheck: UInt32(length) | (checkUnique ? 1 << 31 : 0)))
        if entries.count >= runLength || bytes.count >= Self.runBytes { try spillRun() }
    }

    private func sortRun() {
        bytes.withUnsafeBytes { buffer in
            entries.sort { a, b in
                if a.prefix != b.prefix { return a.prefix < b.prefix }
                return Node.compare(a.key(in: buffer), b.key(in: buffer)) < 0
            }
        }
    }

    private func spillRun() throws {
        sortRun()
        let run = try SpillFile()
        try bytes.withUnsafeBytes { buffer in
            for entry in entries {
                // A run's record is the key and a last byte saying whether it is checked for
                // uniqueness.
                try run.appendRecord(entry.key(in: buffer), trailer: entry.checkUnique ? 1 : 0)
            }
        }
        runs.append(run)
        bytes.removeAll(keepingCapacity: true)
        entries.removeAll(keepingCapacity: true)
    }

    /// Calls `body` with every key in ascending order.
    func forEachSorted(_ body: (UnsafeRawBufferPointer, Bool) throws -> Void) throws {
        if runs.isEmpty {
            sortRun()
            try bytes.withUnsafeBytes { buffer in
                for entry in entries {
                    try body(entry.key(in: buffer), entry.checkUnique)
                }
            }
            return
        }
        if !entries.isEmpty { try spillRun() }
        bytes = []
        entries = []
        // A k-way merge: a heap of the runs ordered by their current keys.
        var heap = BinaryHeap<RunCursor> { a, b in
            if a.prefix != b.prefix { return a.prefix < b.prefix }
            return Node.compare(a.key, b.key) < 0
        }
        for run in runs {
            let cursor = RunCursor(try run.recordReader())
            if try cursor.advance() { heap.push(cursor) }
        }
        while let top = heap.first {
            try body(top.key, top.checkUnique)
            if try top.advance() {
                heap.replaceFirst(with: top)
            } else {
                heap.popFirst()
            }
        }
    }
}

/// The current entry of one spilled run (its record: the key, then a uniqueness flag byte),
/// read in place from the run's reader until the next `advance`.
private final class RunCursor {
    private let reader: SpillFile.RecordReader
    @exclusivity(unchecked) private(set) var key = UnsafeRawBufferPointer(start: nil, count: 0)
    @exclusivity(unchecked) private(set) var prefix: UInt64 = 0
    @exclusivity(unchecked) private(set) var checkUnique = false

    init(_ reader: SpillFile.RecordReader) { self.reader = reader }

    /// Steps to the next entry; false at the end of the run.
    func advance() throws -> Bool {
        guard let record = try reader.next() else { return false }
        guard let flag = record.last else { throw DatabaseError.corrupt("spill file truncated") }
        key = UnsafeRawBufferPointer(rebasing: record.dropLast())
        prefix = IndexEntrySorter.prefix(key)
        checkUnique = flag == 1
        return true
    }
}
