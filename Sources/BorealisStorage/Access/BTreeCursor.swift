// Ordered iteration over a B+tree in both directions. The cursor keeps the path from the root
// (page, index per level) and re-reads pages from its transaction at each step. When the
// transaction changes pages after the cursor was positioned, the next move re-seeks from the
// current key, so a cursor survives writes to the tree it walks.

/// Walks a B+tree in key order, both ways.
///
/// ```swift
/// var cursor = tree.cursor(in: txn)
/// var more = try cursor.seek(atLeast: Array("m".utf8))
/// while more { print(cursor.key); more = try cursor.next() }
/// ```
public struct BTreeCursor {
    package let tree: BTree
    package let txn: StorageTransaction
    private var stack: [(page: PageNumber, index: Int)] = []
    private var changeCount: UInt64 = 0
    /// The leaf the cursor is on, kept while the transaction changes no page, so that stepping
    /// along a leaf and reading values does not look the page up again each time.
    private var leaf: (page: PageNumber, node: Node)?
    /// Whether the cursor is on an entry.
    private var positioned = false
    /// The entry's key, copied only when the transaction writes: a reader's leaf image never
    /// changes, so its key is read from the kept leaf instead (no copy per row). A cursor that
    /// was positioned before its transaction began writing still has that immutable image.
    private var copiedKey: [UInt8]?

    init(tree: BTree, txn: StorageTransaction) {
        self.tree = tree
        self.txn = txn
    }

    /// Whether the cursor is on an entry.
    public var isValid: Bool { positioned }

    /// The current key (the cursor must be valid).
    public var key: [UInt8] {
        guard positioned else { return [] }
        if let copiedKey { return copiedKey }
        guard let leaf, let (_, index) = stack.last else { return [] }
        return leaf.node.keyArray(index)
    }

    /// The current value.
    public func value() throws -> [UInt8] {
        guard positioned, let (page, index) = stack.last else { throw DatabaseError.misuse("cursor is not on an entry") }
        let node = try leafNode(page)
        guard index < node.count else { throw DatabaseError.misuse("cursor is not on an entry") }
        return try tree.readValue(node, index, txn)
    }

    // MARK: Positioning

    /// Moves to the first key; false when the tree is empty.
    @discardableResult
    public mutating func first() throws -> Bool {
        stack = []
        try descendEdge(from: tree.root, leftmost: true)
        return try settle(forward: true)
    }

    /// Moves to the last key; false when the tree is empty.
    @discardableResult
    public mutating func last() throws -> Bool {
        stack = []
        try descendEdge(from: tree.root, leftmost: false)
        return try settle(forward: false)
    }

    /// Moves to the first key ≥ `key`; false when there is none.
    @discardableResult
    public mutating func seek(atLeast key: [UInt8]) throws -> Bool {
        stack = try key.withUnsafeBytes { try tree.descend($0, txn) }
        return try settle(forward: true)
    }

    /// Moves to the last key ≤ `key`; false when there is none.
    @discardableResult
    public mutating func seek(atMost key: [UInt8]) throws -> Bool {
        guard try seek(atLeast: key) else { return try last() }
        if self.key == key { return true }
        return try previous()
    }

    /// Moves to the next key; false (and invalid) past the last.
    @discardableResult
    public mutating func next() throws -> Bool {
        guard positioned else { return false }
        if txn.changeCount != changeCount {
            let key = self.key
            guard try seek(atLeast: key) else { return false }
            if self.key != key { return true }
        }
        stack[stack.count - 1].index += 1
        return try settle(forward: true)
    }

    /// Moves to the previous key; false (and invalid) before the first.
    @discardableResult
    public mutating func previous() throws -> Bool {
        guard positioned else { return false }
        if txn.changeCount != changeCount {
            let key = self.key
            _ = try seek(atLeast: key)
            if !isValid {
                return try last()
            }
            if self.key != key {
                // Landed on the successor of a deleted key: the predecessor is one step back.
                return try stepBack()
            }
        }
        return try stepBack()
    }

    private mutating func stepBack() throws -> Bool {
        stack[stack.count - 1].index -= 1
        return try settle(forward: false)
    }

    // MARK: Internals

    private mutating func descendEdge(from start: PageNumber, leftmost: Bool) throws {
        var page = start
        while true {
            let node = try tree.node(page, txn)
            if node.isLeaf {
                stack.append((page, leftmost ? 0 : node.count - 1))
                return
            }
            let index = leftmost ? 0 : node.count
            stack.append((page, index))
            page = node.child(index)
            guard stack.count < 64 else { throw DatabaseError.corrupt("B+tree rooted at \(tree.root) is deeper than 64 levels") }
        }
    }

    /// Makes the leaf index point at an entry, moving across leaves in `forward` direction when
    /// it has run off its leaf; positions the cursor (or leaves it invalid).
    /// The node of a leaf page: the kept one when it is still current.
    private func leafNode(_ page: PageNumber) throws -> Node {
        if let leaf, leaf.page == page, changeCount == txn.changeCount { return leaf.node }
        return try tree.node(page, txn)
    }

    /// Calls `body` with the current value's bytes, without copying them when the value is
    /// stored whole in the leaf.
    public func withValue<T>(_ body: (UnsafeRawBufferPointer) throws -> T) throws -> T {
        guard positioned, let (page, index) = stack.last else { throw DatabaseError.misuse("cursor is not on an entry") }
        let node = try leafNode(page)
        guard index < node.count else { throw DatabaseError.misuse("cursor is not on an entry") }
        return try node.withLeafValue(index) { value in
            if value.overflow == 0 && value.local.count == value.totalLength { return try body(value.local) }
            return try tree.readValue(node, index, txn).withUnsafeBytes(body)
        }
    }

    /// Calls `body` with the current key's and value's bytes (the value gathered from overflow
    /// pages only when it does not fit in the leaf). Mutating so that a cursor kept in an object
    /// is used in place, not copied (a copy retains every field, per row).
    package mutating func withEntry<T>(_ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> T) throws -> T {
        guard positioned, let (page, index) = stack.last else { throw DatabaseError.misuse("cursor is not on an entry") }
        let node = try leafNode(page)
        guard index < node.count else { throw DatabaseError.misuse("cursor is not on an entry") }
        return try node.withEntry(index) { key, value in
            if value.overflow == 0 && value.local.count == value.totalLength { return try body(key, value.local) }
            return try tree.readValue(node, index, txn).withUnsafeBytes { try body(key, $0) }
        }
    }

    /// The leaf the cursor is on and the entry's index in it (the cursor must be valid). A scan
    /// reads the entries after it straight from the node, then calls `nextLeaf`; the node stays
    /// valid while `txn.changeCount` does not move.
    package mutating func currentLeaf() throws -> (node: Node, index: Int) {
        guard positioned, let (page, index) = stack.last else { throw DatabaseError.misuse("cursor is not on an entry") }
        return (try leafNode(page), index)
    }

    /// Moves to the first entry of the next leaf; false (and invalid) past the last leaf.
    package mutating func nextLeaf() throws -> Bool {
        guard positioned, let (page, _) = stack.last else { return false }
        stack[stack.count - 1].index = try leafNode(page).count
        return try settle(forward: true)
    }

    private mutating func settle(forward: Bool) throws -> Bool {
        while true {
            guard let (page, index) = stack.last else {
                positioned = false
                copiedKey = nil
                return false
            }
            let leaf = try leafNode(page)
            if index >= 0 && index < leaf.count {
                positioned = true
                if txn.isWriter {
                    // Reuses the key's storage when nobody else holds the previous key.
                    if copiedKey == nil { copiedKey = [] }
                    copiedKey!.removeAll(keepingCapacity: true)
                    leaf.withKey(index) { copiedKey!.append(contentsOf: $0) }
                } else {
                    copiedKey = nil
                }
                changeCount = txn.changeCount
                self.leaf = (page, leaf)
                return true
            }
            // Climb to the first ancestor with a sibling in this direction.
            stack.removeLast()
            var moved = false
            var climbed = 0
            while let (parentPage, parentIndex) = stack.last {
                climbed += 1
                let parent = try tree.node(parentPage, txn)
                let nextIndex = forward ? parentIndex + 1 : parentIndex - 1
                if nextIndex >= 0 && nextIndex <= parent.count {
                    stack[stack.count - 1].index = nextIndex
                    if forward && climbed == 1 {
                        // The next leaf of a forward scan: its right siblings, read ahead when
                        // it is not cached (consecutive in a file loaded in key order).
                        let child = parent.child(nextIndex)
                        let node = try tree.node(child, txn) {
                            let end = min(parent.count, nextIndex + VersionCache.readAheadPages - 1)
                            return nextIndex < end ? ((nextIndex + 1)...end).map { parent.child($0) } : []
                        }
                        guard node.isLeaf else { throw DatabaseError.corrupt("page \(child) is not a leaf, but its sibling \(page) is") }
                        stack.append((child, 0))
                    } else {
                        try descendEdge(from: parent.child(nextIndex), leftmost: forward)
                    }
                    moved = true
                    break
                }
                stack.removeLast()
            }
            if !moved {
                positioned = false
                copiedKey = nil
                return false
            }
        }
    }
}
