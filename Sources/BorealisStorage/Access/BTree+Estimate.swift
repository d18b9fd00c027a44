// A rough size of a B+tree for the query planner and pg_relation_size: the fan-out of every
// level along one path from the root to a leaf (through middle children), multiplied. Costs one
// page read per level.

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

    /// Pages the tree takes, estimated the same way: every level's nodes (overflow pages of
    /// large values not counted).
    package func estimatedPages(in txn: StorageTransaction) throws -> Double {
        var page = root
        var nodes = 1.0, total = 0.0
        for _ in 0..<64 {
            total += nodes
            let node = try self.node(page, txn)
            if node.isLeaf { return total }
            nodes *= Double(node.count + 1)
            page = node.child(node.count / 2)
        }
        return total
    }
}
