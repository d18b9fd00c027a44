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
        let file = try SpillFile()
        for entry in entries {
            try file.append([.blob(Array(bytes[Int(entry.start)..<Int(entry.start + entry.length)])), .boolean(entry.checkUnique)])
        }
        runs.append(file)
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
        try merge(body)
    }

    /// A k-way merge of the spilled runs: a binary heap of each run's next entry.
    private func merge(_ body: (UnsafeRawBufferPointer, Bool) throws -> Void) throws {
        typealias Head = (key: [UInt8], checkUnique: Bool, run: Int)
        let readers = try runs.map { try $0.reader() }
        func next(_ run: Int) throws -> Head? {
            guard let row = try readers[run]() else { return nil }
            guard row.count == 2, case .blob(let key) = row[0], case .boolean(let unique) = row[1] else {
                throw DatabaseError.corrupt("index sort run holds a malformed entry")
            }
            return (key, unique, run)
        }
        var heap = BinaryHeap<Head> { a, b in
            a.key.withUnsafeBytes { x in b.key.withUnsafeBytes { y in Node.compare(x, y) < 0 } }
        }
        for run in readers.indices { if let head = try next(run) { heap.push(head) } }
        while let top = heap.first {
            try top.key.withUnsafeBytes { try body($0, top.checkUnique) }
            if let following = try next(top.run) {
                heap.replaceFirst(with: following)
            } else {
                heap.popFirst()
            }
        }
    }
}
