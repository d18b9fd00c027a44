// Bottom-up loading of an empty B+tree from keys in ascending order (CREATE INDEX).
//
// Leaves are filled left to right until the next cell does not fit; each new leaf's first key
// becomes the separator handed to the level above, which fills the same way. No descent, no
// split, no cell moved twice: a load of n keys writes each leaf and interior page once. The
// tree's root keeps its page number: `finish` copies the top node into it.
//
// Invariants: keys strictly ascending (checked against the last key of the current leaf, so a
// caller's ordering bug is an error, not a corrupt tree); every interior cell (child, key) has
// all keys of `child` below `key` and the following child's keys at or above it.

package struct BTreeBuilder {
    let tree: BTree
    private let txn: StorageTransaction
    private let layout: NodeLayout
    /// The node being filled at each height: leaf at 0, its parent at 1, …
    private var open: [Node] = []
    private var cell: [UInt8] = []

    /// A builder for `tree`, which must be empty (as `BTree.create` left it).
    package init(_ tree: BTree, in txn: StorageTransaction) throws {
        self.tree = tree
        self.txn = txn
        layout = NodeLayout(pageSize: txn.pageSize)
        let root = try tree.node(tree.root, txn)
        guard root.isLeaf && root.count == 0 else { throw DatabaseError.internalError("bulk load into a non-empty B+tree") }
    }

    /// Appends `key` with an empty value; keys must arrive in strictly ascending order.
    package mutating func append(_ key: UnsafeRawBufferPointer) throws {
        guard key.count <= layout.maxKeyLength else {
            throw DatabaseError.tooLarge("key of \(key.count) bytes exceeds the maximum of \(layout.maxKeyLength) for \(txn.pageSize)-byte pages")
        }
        cell.removeAll(keepingCapacity: true)
        appendVarint(UInt64(key.count), to: &cell)
        cell.append(contentsOf: key)
        cell.append(0)
        if open.isEmpty { open.append(try newNode(.leaf)) }
        let leaf = open[0]
        if leaf.count > 0 {
            guard leaf.compareKey(leaf.count - 1, key) < 0 else {
                throw DatabaseError.internalError("bulk load keys out of order")
            }
        }
        if leaf.insert(cell, at: leaf.count) { return }
        let next = try newNode(.leaf)
        guard next.insert(cell, at: 0) else { throw DatabaseError.internalError("a cell larger than an empty leaf") }
        open[0] = next
        try addChild(next.image.pageNumber, separator: key, height: 1, leftSibling: leaf.image.pageNumber)
    }

    /// Hands `child` (whose keys start at `separator`) to the node being filled at `height`;
    /// `leftSibling` is the child before it, the first child of a node opened here.
    private mutating func addChild(_ child: PageNumber, separator: UnsafeRawBufferPointer, height: Int, leftSibling: PageNumber) throws {
        if open.count == height {
            let node = try newNode(.interior)
            node.setRightmost(leftSibling)
            open.append(node)
        }
        let node = open[height]
        let entry = BTree.interiorCell(child: node.rightmost, separator: separator)
        if node.insert(entry, at: node.count) {
            node.setRightmost(child)
            return
        }
        // The node is full: it ends with its current rightmost; a new one starts at `child`.
        let next = try newNode(.interior)
        next.setRightmost(child)
        open[height] = next
        try addChild(next.image.pageNumber, separator: separator, height: height + 1, leftSibling: node.image.pageNumber)
    }

    /// Completes the tree: the highest open node becomes the root's content.
    package mutating func finish() throws {
        guard let top = open.last else { return }
        let root = try txn.writablePage(tree.root)
        UnsafeMutableRawBufferPointer(rebasing: root.bytes[24...]).copyMemory(from: UnsafeRawBufferPointer(rebasing: top.image.bytes[24...]))
        try txn.freePage(top.image.pageNumber)
        open.removeAll()
    }

    private func newNode(_ type: NodeType) throws -> Node {
        let page = try txn.allocatePage()
        let node = Node(try txn.writablePage(page), layout: layout)
        node.initialize(type)
        return node
    }

    private func appendVarint(_ value: UInt64, to out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }
}
