// The deterministic workload of the crash and fault harnesses. Transaction `id` of a run with
// seed S is a pure function of (S, id), so the process that verifies can replay exactly what the
// process that wrote did, without talking to it beyond "transaction id committed".
//
// Four trees: three tables (root slots 1–3) and one index (slot 4). One transaction in 25 is
// large (150–400 writes), to spill pages and stream its commit. Every committed transaction
// also writes its id under the marker key of table 1, which tells the verifier which in-flight
// transaction, if any, reached the disk.

import Borealis

public enum StressWorkload {
    public static let treeCount = 4
    public static let firstRootSlot = 1
    public static let markerKey = TableTree.encode(-1)

    public enum Operation: Sendable {
        case put(tree: Int, key: [UInt8], value: [UInt8])
        case delete(tree: Int, key: [UInt8])
    }

    public struct Transaction: Sendable {
        public var id: UInt64
        public var operations: [Operation]
        public var rollsBack: Bool
    }

    public static func transaction(seed: UInt64, id: UInt64) -> Transaction {
        var rng = SplitMix64(seed: seed ^ (id &* 0x9E37_79B9_7F4A_7C15))
        let rollsBack = rng.next() % 10 == 0
        // One in 25 is large: past the harnesses' transaction memory, so it spills pages and
        // streams its commit.
        let large = rng.next() % 25 == 0
        var operations: [Operation] = []
        for _ in 0..<(large ? 150 + Int(rng.next() % 250) : 1 + Int(rng.next() % 12)) {
            let tree = Int(rng.next() % UInt64(treeCount))
            let key: [UInt8] = tree < 3
                ? TableTree.encode(Int64(rng.next() % 400))
                : Array("key-\(rng.next() % 300)".utf8) + [UInt8](repeating: 0x2d, count: Int(rng.next() % 30))
            if rng.next() % 10 < 3 {
                operations.append(.delete(tree: tree, key: key))
            } else {
                let size: Int
                switch large ? 2 : rng.next() % 10 {
                case 0: size = 1000 + Int(rng.next() % 9000) // overflow pages
                case 1, 2: size = 120 + Int(rng.next() % 880)
                default: size = Int(rng.next() % 120)
                }
                var value = [UInt8](repeating: 0, count: size)
                var word = rng.next()
                for i in 0..<size {
                    if i % 8 == 0 { word = rng.next() }
                    value[i] = UInt8(truncatingIfNeeded: word >> ((i % 8) * 8))
                }
                operations.append(.put(tree: tree, key: key, value: value))
            }
        }
        if !rollsBack {
            operations.append(.put(tree: 0, key: markerKey, value: withUnsafeBytes(of: id.littleEndian) { Array($0) }))
        }
        return Transaction(id: id, operations: operations, rollsBack: rollsBack)
    }

    /// The trees, creating them on first use.
    public static func trees(_ engine: StorageEngine) throws -> [BTree] {
        let reader = try engine.beginRead()
        let roots = try (0..<treeCount).map { try reader.root(slot: firstRootSlot + $0) }
        reader.rollback()
        if roots.allSatisfy({ $0 != 0 }) { return roots.map(BTree.init(root:)) }
        let txn = try engine.beginWrite()
        var trees: [BTree] = []
        for i in 0..<treeCount {
            let tree = try BTree.create(in: txn)
            try txn.setRoot(slot: firstRootSlot + i, to: tree.root)
            trees.append(tree)
        }
        try txn.commit()
        return trees
    }

    /// Runs one transaction; returns true when it committed.
    public static func run(_ transaction: Transaction, on engine: StorageEngine, trees: [BTree]) throws -> Bool {
        let txn = try engine.beginWrite()
        for operation in transaction.operations {
            switch operation {
            case .put(let tree, let key, let value): try trees[tree].put(key, value, in: txn)
            case .delete(let tree, let key): try trees[tree].delete(key, in: txn)
            }
        }
        if transaction.rollsBack {
            txn.rollback()
            return false
        }
        try txn.commit()
        return true
    }
}

/// What the trees must hold: the effect of every committed transaction, in order.
public struct StressModel: Sendable {
    public var trees = [[[UInt8]: [UInt8]]](repeating: [:], count: StressWorkload.treeCount)

    public init() {}

    public mutating func apply(_ transaction: StressWorkload.Transaction) {
        guard !transaction.rollsBack else { return }
        for operation in transaction.operations {
            switch operation {
            case .put(let tree, let key, let value): trees[tree][key] = value
            case .delete(let tree, let key): trees[tree][key] = nil
            }
        }
    }

    public static func marker(_ model: StressModel) -> UInt64 {
        guard let raw = model.trees[0][StressWorkload.markerKey] else { return 0 }
        return raw.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
    }
}
