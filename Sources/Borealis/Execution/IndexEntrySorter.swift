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
    private var runs: [RunFile] = []

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
        let run = try RunFile()
        try bytes.withUnsafeBytes { buffer in
            for entry in entries {
                try run.append(UnsafeRawBufferPointer(rebasing: buffer[Int(entry.start)..<Int(entry.start + entry.length)]), entry.checkUnique)
            }
        }
        try run.finish()
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
        for run in runs { try run.startReading() }
        var heap = BinaryHeap<RunFile> { a, b in
            a.key.withUnsafeBytes { x in b.key.withUnsafeBytes { y in Node.compare(x, y) < 0 } }
        }
        for run in runs where try run.advance() { heap.push(run) }
        while let top = heap.first {
            try top.key.withUnsafeBytes { try body($0, top.checkUnique) }
            if try top.advance() {
                heap.replaceFirst(with: top)
            } else {
                heap.popFirst()
            }
        }
    }
}

/// One sorted run on a temporary file: per entry a varint of (key length << 1 | unique flag)
/// and the key bytes, written and read back through a 1 MiB buffer. Reading keeps the current
/// entry in `key` (one buffer reused, no allocation per entry).
private final class RunFile {
    private let file: any StorageFile
    private var buffer: [UInt8] = []
    private var fileOffset: UInt64 = 0
    private var end: UInt64 = 0
    private var position = 0
    private(set) var key: [UInt8] = []
    private(set) var checkUnique = false

    init() throws {
        file = try SpillFile.temporaryFile()
        buffer.reserveCapacity(1 << 20)
    }

    deinit { file.close() }

    func append(_ key: UnsafeRawBufferPointer, _ checkUnique: Bool) throws {
        var header = UInt64(key.count) << 1 | (checkUnique ? 1 : 0)
        while header >= 0x80 {
            buffer.append(UInt8(truncatingIfNeeded: header) | 0x80)
            header >>= 7
        }
        buffer.append(UInt8(header))
        buffer.append(contentsOf: key)
        if buffer.count >= 1 << 20 { try flush() }
    }

    func finish() throws {
        try flush()
        end = fileOffset
        buffer = []
    }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try file.write($0, at: fileOffset) }
        fileOffset += UInt64(buffer.count)
        buffer.removeAll(keepingCapacity: true)
    }

    func startReading() throws {
        fileOffset = 0
        position = 0
        buffer = []
    }

    /// Makes at least `count` unread bytes available; false at the end of the run.
    private func fill(_ count: Int) throws -> Bool {
        if buffer.count - position >= count { return true }
        buffer.removeSubrange(0..<position)
        position = 0
        let want = Int(min(UInt64(max(count - buffer.count, 1 << 20)), end - fileOffset))
        guard want > 0 else { return buffer.count >= count }
        let more = try file.readBytes(count: want, at: fileOffset)
        guard more.count == want else { throw DatabaseError(.ioError, sqlState: "58030", "I/O error: a temporary index sort run was cut short") }
        fileOffset += UInt64(want)
        buffer.append(contentsOf: more)
        return buffer.count >= count
    }

    /// Reads the next entry into `key` and `checkUnique`; false at the end of the run.
    func advance() throws -> Bool {
        guard try fill(1) else { return false }
        var header: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard try fill(1), shift < 64 else { throw DatabaseError.internalError("a temporary index sort run holds a malformed entry") }
            let byte = buffer[position]
            position += 1
            header |= UInt64(byte & 0x7f) << shift
            if byte < 0x80 { break }
            shift += 7
        }
        let length = Int(header >> 1)
        guard try fill(length) else { throw DatabaseError.internalError("a temporary index sort run ends inside an entry") }
        key.removeAll(keepingCapacity: true)
        key.append(contentsOf: buffer[position..<(position + length)])
        position += length
        checkUnique = header & 1 == 1
        return true
    }
}
