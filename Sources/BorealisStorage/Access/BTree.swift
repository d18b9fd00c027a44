// B+trees on the storage engine: byte-string keys in memcmp order, values of any size (large
// ones continue in overflow pages). A tree is named by its root page, which never moves: a root
// split moves the root's cells into a new child, a root collapse pulls its only child up.
//
// Invariants checked by `verify`: keys strictly ascending within and across leaves; every key of
// child i lies in [key i−1, key i) of its parent; all leaves at one depth; every page of the tree
// and its overflow chains reachable exactly once.
//
// Tables use `TableTree` (Int64 keys); indexes use `BTree` directly.

/// A B+tree of byte-string keys (memcmp order) and values of any size.
///
/// ```swift
/// let index = try BTree.create(in: txn)
/// try index.put(Array("key".utf8), Array("value".utf8), in: txn)
/// let value = try index.get(Array("key".utf8), in: txn)
/// ```
public struct BTree: Sendable, Hashable {
    public let root: UInt64

    public init(root: UInt64) { self.root = root }

    /// Creates an empty tree in `txn`.
    public static func create(in txn: StorageTransaction) throws -> BTree {
        let page = try txn.allocatePage()
        Node(try txn.writablePage(page), layout: NodeLayout(pageSize: txn.pageSize)).initialize(.leaf)
        return BTree(root: page)
    }

    /// The longest key a tree accepts with this page size.
    public static func maxKeyLength(pageSize: Int) -> Int { NodeLayout(pageSize: pageSize).maxKeyLength }

    // MARK: Reading

    func node(_ page: PageNumber, _ txn: StorageTransaction) throws -> Node {
        let node = Node(try txn.page(page), layout: NodeLayout(pageSize: txn.pageSize))
        try node.checkHeader(page: page)
        return node
    }

    /// As `node`, reading the pages `next` lists ahead when this one is not cached.
    func node(_ page: PageNumber, _ txn: StorageTransaction, readingAhead next: () -> [PageNumber]) throws -> Node {
        let node = Node(try txn.page(page, readingAhead: next), layout: NodeLayout(pageSize: txn.pageSize))
        try node.checkHeader(page: page)
        return node
    }

    func writableNode(_ page: PageNumber, _ txn: StorageTransaction) throws -> Node {
        let node = Node(try txn.writablePage(page), layout: NodeLayout(pageSize: txn.pageSize))
        try node.checkHeader(page: page)
        return node
    }

    /// The path from the root to the leaf where `key` belongs: (page, child index) per level,
    /// and the leaf with the key's lower-bound index last.
    func descend(_ key: UnsafeRawBufferPointer, _ txn: StorageTransaction) throws -> [(page: PageNumber, index: Int)] {
        try descendMarkingSpine(key, txn).path
    }

    /// `descend`, also telling whether the path ends past the last key of the rightmost leaf
    /// (every interior step took the rightmost child): an append; and the leaf as read.
    private func descendMarkingSpine(_ key: UnsafeRawBufferPointer, _ txn: StorageTransaction) throws -> (path: [(page: PageNumber, index: Int)], append: Bool, leaf: Node) {
        var path: [(page: PageNumber, index: Int)] = []
        path.reserveCapacity(4)
        var page = root
        var rightmost = true
        while true {
            let node = try self.node(page, txn)
            if node.isLeaf {
                let i = node.lowerBound(key).0
                path.append((page: page, index: i))
                return (path, rightmost && i == node.count && i > 0, node)
            }
            let i = node.childIndex(for: key)
            rightmost = rightmost && i == node.count
            path.append((page: page, index: i))
            page = node.child(i)
            guard path.count < 64 else { throw DatabaseError.corrupt("B+tree rooted at \(root) is deeper than 64 levels (a cycle?)") }
        }
    }

    /// The path for inserting `key` past the end of the rightmost leaf when the transaction's
    /// last append went to this tree, no page was allocated or freed since (so the path is
    /// unchanged) and `key` sorts after that leaf's last key; nil otherwise.
    /// Also returns the leaf's private image when the hint holds it (no page lookups then).
    /// The path comes back as remembered (its leaf entry's index is stale: the key goes at
    /// `index`, the end of the leaf; `split` reads only the parents' indexes).
    private func appendPath(_ key: UnsafeRawBufferPointer, _ txn: StorageTransaction) throws -> (path: [(page: PageNumber, index: Int)], index: Int, leaf: Node?)? {
        guard let hint = txn.appendHint, hint.root == root, hint.structure == txn.structureVersion,
              let (leafPage, _) = hint.path.last else { return nil }
        let held = hint.leaf.map { Node($0, layout: NodeLayout(pageSize: txn.pageSize)) }
        let leaf = try held ?? node(leafPage, txn)
        guard leaf.isLeaf, leaf.count > 0, leaf.compareKey(leaf.count - 1, key) < 0 else { return nil }
        return (hint.path, leaf.count, held)
    }

    public func get(_ key: [UInt8], in txn: StorageTransaction) throws -> [UInt8]? {
        try withValue(key, in: txn) { Array($0) }
    }

    /// Calls `body` with the value of `key` (nil when absent), read in place from the leaf when
    /// it is stored whole there.
    func withValue<T>(_ key: [UInt8], in txn: StorageTransaction, _ body: (UnsafeRawBufferPointer) throws -> T) throws -> T? {
        try key.withUnsafeBytes { key in
            var page = root
            var depth = 0
            while true {
                let node = try self.node(page, txn)
                if node.isLeaf {
                    let (i, found) = node.lowerBound(key)
                    guard found else { return nil }
                    return try node.withLeafValue(i) { value in
                        if value.overflow == 0 && value.local.count == value.totalLength { return try body(value.local) }
                        return try readValue(node, i, txn).withUnsafeBytes(body)
                    }
                }
                page = node.child(node.childIndex(for: key))
                depth += 1
                guard depth < 64 else { throw DatabaseError.corrupt("B+tree rooted at \(root) is deeper than 64 levels (a cycle?)") }
            }
        }
    }

    package func readValue(_ node: Node, _ i: Int, _ txn: StorageTransaction) throws -> [UInt8] {
        let value = node.withLeafValue(i) { (totalLength: $0.totalLength, overflow: $0.overflow, local: [UInt8]($0.local)) }
        var result = value.local
        guard value.totalLength > result.count else { return result }
        result.reserveCapacity(value.totalLength)
        var next = value.overflow
        var hops = 0
        while result.count < value.totalLength {
            guard next != 0, hops <= value.totalLength else { throw DatabaseError.corrupt("overflow chain of a value in page \(node.image.pageNumber) ends early") }
            let page = try txn.page(next)
            let raw = UnsafeRawBufferPointer(page.bytes)
            guard page.bytes[24] == NodeType.overflow.rawValue else { throw DatabaseError.corrupt("page \(next) is not an overflow page") }
            let used = Int(raw.littleEndian(at: 40, as: UInt32.self))
            guard used <= page.size - NodeLayout.overflowHeaderSize, used <= value.totalLength - result.count else {
                throw DatabaseError.corrupt("overflow page \(next) has a bad length \(used)")
            }
            result.append(contentsOf: raw[NodeLayout.overflowHeaderSize..<(NodeLayout.overflowHeaderSize + used)])
            next = raw.littleEndian(at: 32, as: UInt64.self)
            hops += 1
        }
        return result
    }

    // MARK: Writing

    /// Inserts or replaces the value of `key`.
    public func put(_ key: [UInt8], _ value: [UInt8], in txn: StorageTransaction) throws {
        try key.withUnsafeBytes { _ = try put(rawKey: $0, value, replacing: true, in: txn) }
    }

    /// Inserts `key` unless it is present (one descent for check and insert); false when it was.
    public func insert(_ key: [UInt8], _ value: [UInt8], in txn: StorageTransaction) throws -> Bool {
        try key.withUnsafeBytes { try put(rawKey: $0, value, replacing: false, in: txn) }
    }

    @discardableResult
    func put(rawKey key: UnsafeRawBufferPointer, _ value: [UInt8], replacing: Bool, in txn: StorageTransaction) throws -> Bool {
        let layout = NodeLayout(pageSize: txn.pageSize)
        guard key.count <= layout.maxKeyLength else {
            throw DatabaseError.tooLarge("key of \(key.count) bytes exceeds the maximum of \(layout.maxKeyLength) for \(txn.pageSize)-byte pages")
        }
        try txn.ensureWriter()
        // Ascending keys (row ids from a sequence, a sorted load) skip the descent.
        var path: [(page: PageNumber, index: Int)]
        let index: Int
        let appending: Bool
        var heldLeaf: Node?
        if let append = try appendPath(key, txn) {
            path = append.path
            index = append.index
            heldLeaf = append.leaf
            appending = true
        } else {
            let (found, append, _) = try descendMarkingSpine(key, txn)
            path = found
            index = found[found.count - 1].index
            appending = append
            txn.appendHint = append ? (root, found, txn.structureVersion, nil) : nil
        }
        // Past the last key of the tree, the key is new.
        let leafPage = path[path.count - 1].page
        if !replacing && !appending {
            let peek = try node(leafPage, txn)
            if index < peek.count && peek.compareKey(index, key) == 0 { return false }
        }
        let leaf: Node
        if let heldLeaf {
            txn.noteChange()
            leaf = heldLeaf
        } else {
            leaf = try writableNode(leafPage, txn)
            if appending { txn.appendHint?.leaf = leaf.image }
        }
        let exists = !appending && index < leaf.count && leaf.compareKey(index, key) == 0
        if exists {
            // Same-size values are overwritten in place (the smallest redo).
            let old = leaf.withLeafValue(index) { value in
                (totalLength: value.totalLength, overflow: value.overflow,
                 start: value.local.baseAddress.map { $0 - UnsafeRawPointer(leaf.image.bytes.baseAddress!) } ?? 0)
            }
            if old.overflow == 0 && old.totalLength == value.count && layout.localValueLength(keyLength: key.count, valueLength: value.count) == value.count {
                let start = old.start
                value.withUnsafeBytes { leaf.image.bytes.baseAddress!.advanced(by: start).copyMemory(from: $0.baseAddress!, byteCount: value.count) }
                return true
            }
            try freeOverflow(old.overflow, txn)
            let cell = try makeLeafCell(key, value, layout, txn)
            if leaf.replaceInPlace(index, with: cell) { return true }
            leaf.remove(at: index)
            if leaf.insert(cell, at: index) { return true }
            try split(&path, inserting: cell, at: index, txn)
            return true
        }
        if !key.isEmpty && layout.localValueLength(keyLength: key.count, valueLength: value.count) == value.count {
            // The whole value fits in the leaf: the cell is written straight into the page.
            let size = varintSize(UInt64(key.count)) + key.count + varintSize(UInt64(value.count)) + value.count
            let written = leaf.insertCell(size: size, at: index) { out in
                var offset = Self.writeVarint(key.count, to: out, at: 0)
                (out.baseAddress! + offset).copyMemory(from: key.baseAddress!, byteCount: key.count)
                offset = Self.writeVarint(value.count, to: out, at: offset + key.count)
                if !value.isEmpty {
                    value.withUnsafeBytes { (out.baseAddress! + offset).copyMemory(from: $0.baseAddress!, byteCount: value.count) }
                }
            }
            if written { return true }
        }
        let cell = try makeLeafCell(key, value, layout, txn)
        if leaf.insert(cell, at: index) { return true }
        try split(&path, inserting: cell, at: index, txn)
        return true
    }

    /// Writes `value` as a varint (as `ByteWriter.appendVarint`) at `offset`; returns the offset
    /// past it.
    private static func writeVarint(_ value: Int, to out: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        var v = UInt64(value), position = offset
        while v >= 0x80 {
            out[position] = UInt8(truncatingIfNeeded: v) | 0x80
            v >>= 7
            position += 1
        }
        out[position] = UInt8(v)
        return position + 1
    }

    /// Removes `key`; false when it was absent.
    @discardableResult
    public func delete(_ key: [UInt8], in txn: StorageTransaction) throws -> Bool {
        try txn.ensureWriter()
        let (path, _, peek) = try key.withUnsafeBytes { try descendMarkingSpine($0, txn) }
        let (leafPage, index) = path[path.count - 1]
        let found = key.withUnsafeBytes { index < peek.count && peek.compareKey(index, $0) == 0 }
        guard found else { return false }
        let leaf = try writableNode(leafPage, txn)
        try freeOverflow(leaf.withLeafValue(index) { $0.overflow }, txn)
        leaf.remove(at: index)
        try rebalance(path, txn, leaf: leaf)
        return true
    }

    private func makeLeafCell(_ key: UnsafeRawBufferPointer, _ value: [UInt8], _ layout: NodeLayout, _ txn: StorageTransaction) throws -> [UInt8] {
        let local = layout.localValueLength(keyLength: key.count, valueLength: value.count)
        var writer = ByteWriter(capacity: key.count + local + 16)
        writer.appendVarint(UInt64(key.count))
        writer.append(contentsOf: key)
        writer.appendVarint(UInt64(value.count))
        writer.bytes.append(contentsOf: value[0..<local])
        if local < value.count {
            writer.append(try writeOverflow(value[local...], layout, txn))
        }
        return writer.bytes
    }

    /// Writes `rest` into a fresh chain of overflow pages and returns its first page.
    private func writeOverflow(_ rest: ArraySlice<UInt8>, _ layout: NodeLayout, _ txn: StorageTransaction) throws -> PageNumber {
        let capacity = layout.overflowCapacity
        var chunks: [ArraySlice<UInt8>] = []
        var start = rest.startIndex
        while start < rest.endIndex {
            let end = min(rest.endIndex, start + capacity)
            chunks.append(rest[start..<end])
            start = end
        }
        var next: PageNumber = 0
        for chunk in chunks.reversed() {
            let page = try txn.allocatePage()
            let image = try txn.writablePage(page)
            image.bytes[24] = NodeType.overflow.rawValue
            image.bytes.storeLittleEndian(next, at: 32)
            image.bytes.storeLittleEndian(UInt32(chunk.count), at: 40)
            chunk.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: image.bytes[NodeLayout.overflowHeaderSize...]).copyMemory(from: $0) }
            next = page
        }
        return next
    }

    private func freeOverflow(_ first: PageNumber, _ txn: StorageTransaction) throws {
        var next = first
        var hops = 0
        while next != 0 {
            let page = try txn.page(next)
            guard page.bytes[24] == NodeType.overflow.rawValue else { throw DatabaseError.corrupt("page \(next) is not an overflow page") }
            let following = UnsafeRawBufferPointer(page.bytes).littleEndian(at: 32, as: UInt64.self)
            try txn.freePage(next)
            next = following
            hops += 1
            guard hops < 1 << 24 else { throw DatabaseError.corrupt("overflow chain from page \(first) does not end") }
        }
    }

    // MARK: Split

    /// Splits the node at the end of `path` so that `cell` fits at `index`, and carries the new
    /// separator upward (splitting parents as needed).
    private func split(_ path: inout [(page: PageNumber, index: Int)], inserting cell: [UInt8], at index: Int, _ txn: StorageTransaction) throws {
        let layout = NodeLayout(pageSize: txn.pageSize)
        var level = path.count - 1
        var pendingCell = cell
        var pendingIndex = index
        while true {
            var page = path[level].page
            if page == root {
                // The root keeps its page number: move its content into a new child first.
                let child = try txn.allocatePage()
                let rootNode = try writableNode(root, txn)
                let childImage = try txn.writablePage(child)
                UnsafeMutableRawBufferPointer(rebasing: childImage.bytes[24...]).copyMemory(from: UnsafeRawBufferPointer(rebasing: rootNode.image.bytes[24...]))
                rootNode.rebuild(.interior, cells: [], rightmost: child)
                path.insert((root, 0), at: level)
                level += 1
                path[level].page = child
                page = child
            }
            let node = try writableNode(page, txn)
            let type = NodeType(rawValue: node.type)!
            let newPage = try txn.allocatePage()
            let right = Node(try txn.writablePage(newPage), layout: layout)
            let separator: [UInt8]
            if type == .leaf && pendingIndex == node.count && node.count > 0 {
                // Appending past the end (sequential keys): the full node stays as it is and
                // the new cell starts the right node.
                right.rebuild(.leaf, cells: [pendingCell], rightmost: 0)
                separator = right.keyArray(0)
            } else if type == .leaf {
                var cells = (0..<node.count).map { node.cell($0) }
                cells.insert(pendingCell, at: pendingIndex)
                let cut = max(1, min(cells.count - 1, splitPoint(cells, layout)))
                node.rebuild(.leaf, cells: Array(cells[..<cut]), rightmost: 0)
                right.rebuild(.leaf, cells: Array(cells[cut...]), rightmost: 0)
                separator = right.keyArray(0)
            } else {
                var cells = (0..<node.count).map { node.cell($0) }
                cells.insert(pendingCell, at: pendingIndex)
                // The middle cell moves up: its child becomes the left node's rightmost.
                let middle = max(1, min(cells.count - 2, splitPoint(cells, layout)))
                let middleChild = cells[middle].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                let oldRightmost = node.rightmost
                right.rebuild(.interior, cells: Array(cells[(middle + 1)...]), rightmost: oldRightmost)
                let middleNode = Node(PageImage(size: layout.pageSize), layout: layout)
                middleNode.rebuild(.interior, cells: [cells[middle]], rightmost: 0)
                separator = middleNode.keyArray(0)
                node.rebuild(.interior, cells: Array(cells[..<middle]), rightmost: UInt64(littleEndian: middleChild))
            }
            // Parent: (left, separator) at the child's position; that position's successor → right.
            level -= 1
            let parent = try writableNode(path[level].page, txn)
            let position = path[level].index
            parent.setChild(position, newPage)
            let interiorCell = separator.withUnsafeBytes { BTree.interiorCell(child: page, separator: $0) }
            if parent.insert(interiorCell, at: position) { return }
            // The child pointer was already redirected; undo that in the cell list by letting the
            // parent's own split insert the cell at the same position.
            pendingCell = interiorCell
            pendingIndex = position
            path.removeLast(path.count - level - 1)
        }
    }

    /// An interior cell: `child` holds the keys below `separator`.
    static func interiorCell(child: PageNumber, separator: UnsafeRawBufferPointer) -> [UInt8] {
        var cell = ByteWriter(capacity: separator.count + 16)
        cell.append(child)
        cell.appendVarint(UInt64(separator.count))
        cell.append(contentsOf: separator)
        return cell.bytes
    }

    /// The index splitting `cells` into two halves of about equal bytes.
    private func splitPoint(_ cells: [[UInt8]], _ layout: NodeLayout) -> Int {
        let total = Node.spaceNeeded(cells)
        var running = 0
        for (i, cell) in cells.enumerated() {
            running += cell.count + 2
            if running >= total / 2 { return i + 1 }
        }
        return cells.count / 2
    }

    // MARK: Merge

    /// After a removal: merges underfull nodes with a sibling when both fit in one page, and
    /// collapses a root left with a single child. `leaf` is the path's last node as the removal
    /// left it (not read again).
    private func rebalance(_ path: [(page: PageNumber, index: Int)], _ txn: StorageTransaction, leaf: Node) throws {
        let layout = NodeLayout(pageSize: txn.pageSize)
        let capacity = layout.pageSize - NodeLayout.headerSize
        var level = path.count - 1
        while level > 0 {
            let page = path[level].page
            let node = level == path.count - 1 ? leaf : try self.node(page, txn)
            guard node.usedBytes < capacity / 4 else { return }
            let parentPage = path[level - 1].page
            let parent = try self.node(parentPage, txn)
            let position = path[level - 1].index
            guard parent.count > 0 else { return }
            // Merge the pair (left, right) = (position−1, position) or (position, position+1).
            let leftIndex = position > 0 ? position - 1 : position
            let leftPage = parent.child(leftIndex)
            let rightPage = parent.child(leftIndex + 1)
            let left = try self.node(leftPage, txn)
            let right = try self.node(rightPage, txn)
            guard left.type == right.type else { throw DatabaseError.corrupt("siblings \(leftPage) and \(rightPage) differ in type") }
            // Their cells and slots alone must fit (an interior pair also pulls the separator
            // down): checked before any cell is copied, since a node left underfull beside a
            // full sibling is checked again at each removal from it.
            guard left.usedBytes + right.usedBytes <= capacity else { return }
            var cells = (0..<left.count).map { left.cell($0) }
            if !left.isLeaf {
                var pulled = ByteWriter()
                pulled.append(left.rightmost)
                let separator = parent.keyArray(leftIndex)
                pulled.appendVarint(UInt64(separator.count))
                pulled.append(contentsOf: separator)
                cells.append(pulled.bytes)
            }
            cells.append(contentsOf: (0..<right.count).map { right.cell($0) })
            guard Node.spaceNeeded(cells) <= capacity else { return }
            let writableLeft = try writableNode(leftPage, txn)
            writableLeft.rebuild(NodeType(rawValue: left.type)!, cells: cells, rightmost: right.rightmost)
            let writableParent = try writableNode(parentPage, txn)
            writableParent.remove(at: leftIndex)
            writableParent.setChild(leftIndex, leftPage)
            try txn.freePage(rightPage)
            level -= 1
        }
        // The root: an interior root with no separator left hands its only child's content up.
        let rootNode = try node(root, txn)
        if !rootNode.isLeaf && rootNode.count == 0 {
            let only = rootNode.rightmost
            let child = try node(only, txn)
            let writableRoot = try txn.writablePage(root)
            UnsafeMutableRawBufferPointer(rebasing: writableRoot.bytes[24...]).copyMemory(from: UnsafeRawBufferPointer(rebasing: child.image.bytes[24...]))
            try txn.freePage(only)
        }
    }

    // MARK: Whole tree

    /// Frees every page of the tree, the root included.
    public func drop(in txn: StorageTransaction) throws {
        try txn.ensureWriter()
        var stack = [root]
        while let page = stack.popLast() {
            let node = try self.node(page, txn)
            if node.isLeaf {
                for i in 0..<node.count { try freeOverflow(node.valueShape(i).overflow, txn) }
            } else {
                for i in 0...node.count { stack.append(node.child(i)) }
            }
            try txn.freePage(page)
        }
    }

    /// A cursor over the tree, positioned before the first key.
    public func cursor(in txn: StorageTransaction) -> BTreeCursor {
        BTreeCursor(tree: self, txn: txn)
    }
}
