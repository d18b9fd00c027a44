// A rough size of a B+tree for the query planner: the fan-out of every level along one path
// from the root to a leaf (through middle children), multiplied. Costs one page read per level.

extension BTree {
    package func estimatedCount(in txn: StorageTransaction) throws -> Double {
        var page = root
        var product = 1.0
        for _ in 0..<64 {
            let node = try self.node(page, txn)
            if node.isLeaf { return product * Double(node.count) }
            product *= Double(node.count + 1)
            page = node.child(node.count / 2)
        }
        return product
    }
}
