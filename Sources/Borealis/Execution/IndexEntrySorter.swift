// Sorting the entries of a new index (CREATE INDEX) so the tree can be loaded bottom-up.
//
// Keys are appended into one flat buffer (no allocation per entry) and sorted in runs of at
// most `runLength` entries; when the table has more rows than that, each sorted run goes to a
// spill file and the runs are merged through a heap. `forEachSorted` hands out every key in
// memcmp order exactly once, with whether it takes part in a uniqueness check.

final class IndexEntrySorter {
    private struct Entry {
        /// The key's first eight bytes as a big-endian word (zero-padded): most comparisons
        /// end here, without touching the buffer.
        var prefix: UInt64
        var start: UInt32
        var length: UInt32
        var checkUnique: Bool
    }

    private let runLength: Int
    /// A run also ends at this many key bytes (long keys would otherwise make a run of
    /// `runLength` entries very large).
    private static let runBytes = 32 << 20
    private var bytes: [UInt8] = []
    private var entries: [Entry] = []
    private var runs: [SpillFile] = []

    init(runLength: Int) {
        self.runLength = max(1, runLength)
    }

    /// Appends the key `build` writes at the end of the given buffer.
    func append(checkUnique: Bool, _ build: (inout [UInt8]) -> Void) throws {
        if entries.isEmpty {
            // Room for a good part of a run at once instead of doubling up from nothing.
            entries.reserveCapacity(min(runLength, 1 << 16))
        }
        let start = bytes.count
        build(&bytes)
        guard bytes.count <= Int(UInt32.max) else { throw DatabaseError.tooLarge("index keys exceed a sort run") }
        var prefix: UInt64 = 0
        if bytes.count - start >= 8 {
            prefix = bytes.withUnsafeBytes { UInt64(bigEndian: $0.loadUnaligned(fromByteOffset: start, as: UInt64.self)) }
        } else {
            for i in start..<bytes.count { prefix |= UInt64(bytes[i]) << (8 * (7 - UInt64(i - start))) }
        }
        entries.append(Entry(prefix: prefix, start: UInt32(start), length: UInt32(bytes.count - start), checkUnique: checkUnique))
        if entries.count >= runLength || bytes.count >= Self.runBytes { try spillRun() }
    }

    private func sortRun() {
        bytes.withUnsafeBytes { buffer in
            entries.sort { a, b in
                if a.prefix != b.prefix { return a.prefix < b.prefix }
                return Node.compare(UnsafeRawBufferPointer(rebasing: buffer[Int(a.start)..<Int(a.start + a.length)]),
                                    UnsafeRawBufferPointer(rebasing: buffer[Int(b.start)..<Int(b.start + b.length)])) < 0
            }
        }
    }

    private func spillRun() throws {
        sortRun()
        let run = try SpillFile()
        var record: [UInt8] = []
        try bytes.withUnsafeBytes { buffer in
            for entry in entries {
                // A run's record is the key and a last byte saying whether it is checked for
                // uniqueness.
                record.removeAll(keepingCapacity: true)
                record.append(contentsOf: buffer[Int(entry.start)..<Int(entry.start + entry.length)])
                record.append(entry.checkUnique ? 1 : 0)
                try record.withUnsafeBytes { try run.appendRecord($0) }
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
                    try body(UnsafeRawBufferPointer(rebasing: buffer[Int(entry.start)..<Int(entry.start + entry.length)]), entry.checkUnique)
                }
            }
            return
        }
        if !entries.isEmpty { try spillRun() }
        bytes = []
        entries = []
        // A k-way merge: a heap of the runs ordered by their current keys.
        var heap = BinaryHeap<RunCursor> { a, b in a.withKey { x in b.withKey { y in Node.compare(x, y) < 0 } } }
        for run in runs {
            let cursor = RunCursor(try run.recordReader())
            if try cursor.advance() { heap.push(cursor) }
        }
        while let top = heap.first {
            try top.withKey { try body($0, top.checkUnique) }
            if try top.advance() {
                heap.replaceFirst(with: top)
            } else {
                heap.popFirst()
            }
        }
    }
}

/// The current entry of one spilled run (its record: the key, then a uniqueness flag byte).
private final class RunCursor {
    private let reader: SpillFile.RecordReader
    private var record: [UInt8] = []

    init(_ reader: SpillFile.RecordReader) { self.reader = reader }

    var checkUnique: Bool { record.last == 1 }

    func withKey<T>(_ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        try record.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0.dropLast())) }
    }

    /// Steps to the next entry; false at the end of the run.
    func advance() throws -> Bool {
        guard try reader.next(into: &record) else { return false }
        guard !record.isEmpty else { throw DatabaseError.corrupt("spill file truncated") }
        return true
    }
}
