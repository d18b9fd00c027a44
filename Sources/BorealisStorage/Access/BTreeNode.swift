// The page layout of B+tree nodes, and the only pointer arithmetic of the access layer.
//
// Node header (offsets from the page start; bytes 0..<24 are the storage envelope):
//   24 u8 type (1 leaf, 2 interior) · 25 u8 reserved · 26 u16 cell count ·
//   28 u32 content start (lowest byte used by cells; page size when empty) ·
//   32 u32 fragmented free bytes inside the content area · 36 u32 reserved ·
//   40 u64 rightmost child (interior nodes) · 48 u16 × count slot array (cell offsets, key order)
// Cells grow down from the end of the page; slots grow up after the header. Inserting or
// deleting a cell touches its bytes, its slot and the slots after it — never the whole page —
// so redo stays small (DESIGN.md §6).
//
// Leaf cell:     varint key length k · key[k] · varint value length v · local value bytes ·
//                (u64 first overflow page, when the value does not fit locally)
// Interior cell: u64 child · varint key length k · key[k]
//   child i holds keys < key i (and ≥ key i−1); the rightmost child holds keys ≥ the last key.
// Overflow page: 24 u8 type 5 · 32 u64 next overflow page · 40 u32 bytes used · 48 data

enum NodeType: UInt8 {
    case leaf = 1
    case interior = 2
    case overflow = 5
}

struct NodeLayout {
    static let headerSize = 48
    static let overflowHeaderSize = 48
    let pageSize: Int

    /// Largest cell kept in a page; at least four cells fit in every node.
    var maxCellSize: Int { (pageSize - Self.headerSize) / 4 - 2 }
    /// Longest key a tree accepts (interior cells must hold it too).
    var maxKeyLength: Int { maxCellSize - 32 }
    var overflowCapacity: Int { pageSize - Self.overflowHeaderSize }

    /// How many value bytes a leaf cell keeps in the page.
    @inline(__always)
    func localValueLength(keyLength k: Int, valueLength v: Int) -> Int {
        let inline = varintSize(UInt64(k)) + k + varintSize(UInt64(v)) + v
        if inline <= maxCellSize { return v }
        return max(0, maxCellSize - varintSize(UInt64(k)) - k - varintSize(UInt64(v)) - 8)
    }
}

@inline(__always)
func varintSize(_ value: UInt64) -> Int {
    var v = value
    var n = 1
    while v >= 0x80 { v >>= 7; n += 1 }
    return n
}

/// A view of one node page. Reading is safe on any image; mutation only on a writer's copy.
///
/// No pointer into the page escapes a `Node` by construction: keys and values are reached only
/// inside `withKey`/`withLeafValue`/`withEntry` closures, during which the page image — and so
/// its pool buffer — is kept alive (`withExtendedLifetime`), or copied out (`keyArray`,
/// `compareKey`). A pointer returned from a call instead would outlive the image as soon as
/// the optimizer released the node after its last use, and the pool would hand the buffer to
/// another page under pressure (use after recycle).
package struct Node {
    let image: PageImage
    let layout: NodeLayout

    init(_ image: PageImage, layout: NodeLayout) {
        self.image = image
        self.layout = layout
    }

    private var raw: UnsafeMutableRawBufferPointer { image.bytes }
    private var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(image.bytes) }

    var type: UInt8 { raw[24] }
    var isLeaf: Bool { raw[24] == NodeType.leaf.rawValue }
    package var count: Int { Int(bytes.littleEndian(at: 26, as: UInt16.self)) }
    var contentStart: Int { Int(bytes.littleEndian(at: 28, as: UInt32.self)) }
    var fragmented: Int { Int(bytes.littleEndian(at: 32, as: UInt32.self)) }
    var rightmost: PageNumber { bytes.littleEndian(at: 40, as: UInt64.self) }

    private func setCount(_ value: Int) { raw.storeLittleEndian(UInt16(value), at: 26) }
    private func setContentStart(_ value: Int) { raw.storeLittleEndian(UInt32(value), at: 28) }
    private func setFragmented(_ value: Int) { raw.storeLittleEndian(UInt32(value), at: 32) }
    func setRightmost(_ value: PageNumber) { raw.storeLittleEndian(value, at: 40) }

    @inline(__always) func slot(_ i: Int) -> Int { Int(bytes.littleEndian(at: NodeLayout.headerSize + 2 * i, as: UInt16.self)) }
    @inline(__always) private func setSlot(_ i: Int, _ offset: Int) { raw.storeLittleEndian(UInt16(offset), at: NodeLayout.headerSize + 2 * i) }

    var slotsEnd: Int { NodeLayout.headerSize + 2 * count }
    var freeSpace: Int { contentStart - slotsEnd + fragmented }
    var usedBytes: Int { layout.pageSize - NodeLayout.headerSize - freeSpace }

    /// Validates the header fields against the page size (a damaged page must not make us read
    /// outside it).
    func checkHeader(page: PageNumber) throws {
        let size = layout.pageSize
        guard type == NodeType.leaf.rawValue || type == NodeType.interior.rawValue else {
            throw DatabaseError.corrupt("page \(page): not a B+tree node (type \(type))")
        }
        guard slotsEnd <= contentStart, contentStart <= size, fragmented <= size else {
            throw DatabaseError.corrupt("page \(page): node header out of bounds (count \(count), content start \(contentStart))")
        }
    }

    func initialize(_ type: NodeType) {
        UnsafeMutableRawBufferPointer(rebasing: raw[24..<NodeLayout.headerSize]).initializeMemory(as: UInt8.self, repeating: 0)
        raw[24] = type.rawValue
        setContentStart(layout.pageSize)
    }

    // MARK: Cells

    @inline(__always)
    private func readVarint(at offset: inout Int) -> Int {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while offset < bytes.count {
            let byte = bytes[offset]
            offset += 1
            result |= UInt64(byte & 0x7f) << shift
            if byte < 0x80 || shift > 56 { break }
            shift += 7
        }
        // A damaged cell can spell any 64-bit number: lengths past `maximumVarint` are held
        // there, so no caller's arithmetic (offsets, `localValueLength`) can go negative or
        // overflow, and the lengths still point past the page, which the callers detect.
        return Int(min(result, Self.maximumVarint))
    }

    /// The largest length a cell's varint reads as (1 TiB: past any page, value or overflow chain).
    static let maximumVarint: UInt64 = 1 << 40

    /// Calls `body` with the key of cell i; the bytes are valid only inside `body`.
    @inline(__always)
    package func withKey<T>(_ i: Int, _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        try withExtendedLifetime(image) { try body(key(i)) }
    }

    /// The key of cell i, copied.
    package func keyArray(_ i: Int) -> [UInt8] { withKey(i) { Array($0) } }

    /// `Node.compare(key of cell i, other)`.
    @inline(__always)
    package func compareKey(_ i: Int, _ other: UnsafeRawBufferPointer) -> Int {
        withKey(i) { Node.compare($0, other) }
    }

    /// Calls `body` with the value of leaf cell i (its local bytes valid only inside `body`).
    @inline(__always)
    package func withLeafValue<T>(_ i: Int, _ body: (LeafValue) throws -> T) rethrows -> T {
        try withExtendedLifetime(image) { try body(leafValue(i)) }
    }

    /// The row id a table leaf's cell i is keyed by (scans in other modules: not generic, so
    /// no unspecialized closure per row).
    package func rowID(_ i: Int) throws -> Int64 {
        try withKey(i) { try TableTree.decode($0) }
    }

    /// Calls `body` with the position, row id and value of each cell of a table leaf from
    /// `start` on, until it returns false; returns the position it stopped at (`count` when it
    /// went through them all). For batched scans in other modules: one call per leaf, the
    /// cells walked inside this module, where reading a key and a value inlines (per row,
    /// `rowID` and `readLeafValue` as calls across the module boundary cost more than the
    /// walk itself).
    package func forEachTableEntry(from start: Int, _ body: (Int, Int64, LeafValue) throws -> Bool) throws -> Int {
        try withExtendedLifetime(image) {
            let bytes = bytes, size = bytes.count
            var i = max(0, start)
            let entries = count
            while i < entries {
                // Each cell parsed once: key length, the 8-byte key, value length, local bytes
                // (as `key(i)`, `TableTree.decode` and `leafValue(i)` would, in one pass).
                var offset = slot(i)
                let keyLength = readVarint(at: &offset)
                guard keyLength == 8, offset >= 0, offset <= size - 8 else {
                    throw DatabaseError.corrupt("table key of \(keyLength) bytes (expected 8)")
                }
                let rowID = Int64(bitPattern: UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) ^ (1 << 63))
                offset += 8
                let total = readVarint(at: &offset)
                let local = layout.localValueLength(keyLength: 8, valueLength: total)
                let end = min(size, offset + local)
                let localBytes = UnsafeRawBufferPointer(rebasing: bytes[min(offset, end)..<end])
                let overflow: PageNumber = local < total && end + 8 <= size ? bytes.littleEndian(at: end, as: UInt64.self) : 0
                guard try body(i, rowID, LeafValue(totalLength: total, local: localBytes, overflow: overflow)) else { return i }
                i += 1
            }
            return i
        }
    }

    /// `withLeafValue` for a body that returns nothing: not generic, for per-row loops in
    /// other modules (a generic call across a module boundary is not specialized).
    package func readLeafValue(_ i: Int, _ body: (LeafValue) throws -> Void) throws {
        try withExtendedLifetime(image) { try body(leafValue(i)) }
    }

    /// The lengths of leaf cell i's value (whole, kept in the page) and its first overflow page.
    package func valueShape(_ i: Int) -> (totalLength: Int, localLength: Int, overflow: PageNumber) {
        withLeafValue(i) { ($0.totalLength, $0.local.count, $0.overflow) }
    }

    /// Calls `body` with the key and value of leaf cell i, valid only inside `body`.
    @inline(__always)
    package func withEntry<T>(_ i: Int, _ body: (UnsafeRawBufferPointer, LeafValue) throws -> T) rethrows -> T {
        try withExtendedLifetime(image) { try body(key(i), leafValue(i)) }
    }

    /// The key of cell i: a pointer into the page, used only inside this type's methods (the
    /// caller of a method keeps `self`, and so the image, alive for the call).
    @inline(__always)
    private func key(_ i: Int) -> UnsafeRawBufferPointer {
        var offset = slot(i)
        if !isLeaf { offset += 8 }
        let length = readVarint(at: &offset)
        let end = min(bytes.count, offset + max(0, length))
        return UnsafeRawBufferPointer(rebasing: bytes[min(offset, end)..<end])
    }

    /// Child i of an interior node (i == count: the rightmost child).
    @inline(__always)
    func child(_ i: Int) -> PageNumber {
        i == count ? rightmost : bytes.littleEndian(at: slot(i), as: UInt64.self)
    }

    func setChild(_ i: Int, _ page: PageNumber) {
        if i == count { setRightmost(page) } else { raw.storeLittleEndian(page, at: slot(i)) }
    }

    package struct LeafValue {
        package var totalLength: Int
        package var local: UnsafeRawBufferPointer
        package var overflow: PageNumber
    }

    private func leafValue(_ i: Int) -> LeafValue {
        var offset = slot(i)
        let keyLength = readVarint(at: &offset)
        offset += keyLength
        let total = readVarint(at: &offset)
        let local = layout.localValueLength(keyLength: keyLength, valueLength: total)
        let end = min(bytes.count, offset + local)
        let localBytes = UnsafeRawBufferPointer(rebasing: bytes[min(offset, end)..<end])
        let overflow: PageNumber = local < total && end + 8 <= bytes.count ? bytes.littleEndian(at: end, as: UInt64.self) : 0
        return LeafValue(totalLength: total, local: localBytes, overflow: overflow)
    }

    /// Size of the cell at `offset`.
    func cellSize(atOffset start: Int) -> Int {
        var offset = start
        if isLeaf {
            let keyLength = readVarint(at: &offset)
            offset += keyLength
            let total = readVarint(at: &offset)
            let local = layout.localValueLength(keyLength: keyLength, valueLength: total)
            offset += local + (local < total ? 8 : 0)
        } else {
            offset += 8
            let keyLength = readVarint(at: &offset)
            offset += keyLength
        }
        return offset - start
    }

    func cell(_ i: Int) -> [UInt8] {
        let start = slot(i)
        return Array(bytes[start..<(start + cellSize(atOffset: start))])
    }

    // MARK: Search

    @inline(__always)
    package static func compare(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        let n = min(a.count, b.count)
        if n >= 8 {
            // Most keys differ in their first eight bytes: compare them as one big-endian word
            // before paying for a memcmp call.
            let x = UInt64(bigEndian: a.baseAddress!.loadUnaligned(as: UInt64.self))
            let y = UInt64(bigEndian: b.baseAddress!.loadUnaligned(as: UInt64.self))
            if x != y { return x < y ? -1 : 1 }
            if n == 8 { return a.count - b.count }
        }
        if n > 0 {
            let c = memcmp(a.baseAddress!, b.baseAddress!, n)
            if c != 0 { return Int(c) }
        }
        return a.count - b.count
    }

    /// First cell index whose key is ≥ `key`, and whether it is equal.
    func lowerBound(_ key: UnsafeRawBufferPointer) -> (Int, Bool) {
        var low = 0
        var high = count
        while low < high {
            let mid = (low + high) / 2
            if Node.compare(self.key(mid), key) < 0 { low = mid + 1 } else { high = mid }
        }
        let found = low < count && Node.compare(self.key(low), key) == 0
        return (low, found)
    }

    /// The child index to follow for `key` in an interior node: the first separator > key.
    func childIndex(for key: UnsafeRawBufferPointer) -> Int {
        var low = 0
        var high = count
        while low < high {
            let mid = (low + high) / 2
            if Node.compare(self.key(mid), key) <= 0 { low = mid + 1 } else { high = mid }
        }
        return low
    }

    // MARK: Mutation

    /// Inserts `cell` at index i; false when the page has no room (the caller splits).
    func insert(_ cell: [UInt8], at i: Int) -> Bool {
        cell.withUnsafeBytes { cell in insertCell(size: cell.count, at: i) { $0.copyMemory(from: cell) } }
    }

    /// Inserts a cell of `size` bytes at position i that `fill` writes straight into the page;
    /// false (nothing changed, `fill` not called) when it does not fit.
    func insertCell(size: Int, at i: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) -> Bool {
        guard freeSpace >= size + 2 else { return false }
        if contentStart - slotsEnd < size + 2 { defragment() }
        let offset = contentStart - size
        fill(UnsafeMutableRawBufferPointer(rebasing: raw[offset..<(offset + size)]))
        let n = count
        if i < n {
            let from = NodeLayout.headerSize + 2 * i
            (raw.baseAddress! + from + 2).copyMemory(from: raw.baseAddress! + from, byteCount: 2 * (n - i))
        }
        setSlot(i, offset)
        setCount(n + 1)
        setContentStart(offset)
        return true
    }

    /// Replaces cell i with a cell no larger than it, in place (the rest of the old cell becomes
    /// fragmented free space). Returns false when `cell` is larger.
    func replaceInPlace(_ i: Int, with cell: [UInt8]) -> Bool {
        let offset = slot(i)
        let oldSize = cellSize(atOffset: offset)
        guard cell.count <= oldSize else { return false }
        cell.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: raw[offset..<(offset + cell.count)]).copyMemory(from: $0) }
        if cell.count < oldSize { setFragmented(fragmented + oldSize - cell.count) }
        return true
    }

    /// Removes cell i (its bytes become free space).
    func remove(at i: Int) {
        let n = count
        let offset = slot(i)
        let size = cellSize(atOffset: offset)
        if i + 1 < n {
            let from = NodeLayout.headerSize + 2 * (i + 1)
            (raw.baseAddress! + from - 2).copyMemory(from: raw.baseAddress! + from, byteCount: 2 * (n - i - 1))
        }
        setCount(n - 1)
        if offset == contentStart {
            setContentStart(offset + size)
        } else {
            setFragmented(fragmented + size)
        }
        if n - 1 == 0 {
            setContentStart(layout.pageSize)
            setFragmented(0)
        }
    }

    /// Rewrites the node with `cells` packed at the end of the page.
    /// Free space keeps whatever bytes it held (they are never read), which keeps redo small.
    func rebuild(_ type: NodeType, cells: [[UInt8]], rightmost: PageNumber) {
        UnsafeMutableRawBufferPointer(rebasing: raw[24..<NodeLayout.headerSize]).initializeMemory(as: UInt8.self, repeating: 0)
        raw[24] = type.rawValue
        var offset = layout.pageSize
        for (i, cell) in cells.enumerated() {
            offset -= cell.count
            cell.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: raw[offset..<(offset + cell.count)]).copyMemory(from: $0) }
            setSlot(i, offset)
        }
        setCount(cells.count)
        setContentStart(offset)
        setFragmented(0)
        setRightmost(rightmost)
    }

    private func defragment() {
        let cells = (0..<count).map { cell($0) }
        rebuild(NodeType(rawValue: type)!, cells: cells, rightmost: rightmost)
    }

    /// Bytes that `cells` need in one node (cells plus slots).
    static func spaceNeeded(_ cells: [[UInt8]]) -> Int {
        cells.reduce(0) { $0 + $1.count + 2 }
    }
}

#if canImport(Glibc)
import Glibc
#endif
