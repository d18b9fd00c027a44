import Testing
@testable import Borealis
@testable import BorealisSQL
@testable import BorealisStorage

@Suite struct BTreeTests {
    /// A leaf cell whose key or value length is a damaged varint (bit 63 set, or near Int.max)
    /// read as a negative or huge Int and trapped in `localValueLength` (found in review); now
    /// every reader of the cell stays inside the page and a scan reports the damage.
    @Test func aCellWithAHugeOrNegativeLengthVarintNeverTraps() throws {
        let layout = NodeLayout(pageSize: 4096)
        let tenBytes: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]     // bit 63 set
        let nearMax: [UInt8] = [0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]          // 2^63 - 2
        let key: [UInt8] = [0x80, 0, 0, 0, 0, 0, 0, 1]
        for (keyLength, valueLength) in [([UInt8(8)], tenBytes), ([UInt8(8)], nearMax), (tenBytes, [UInt8(3)]), (nearMax, [UInt8(3)])] {
            let node = Node(PageImage(size: 4096), layout: layout)
            node.initialize(.leaf)
            #expect(node.insert(keyLength + key + valueLength + [1, 2, 3], at: 0))
            _ = node.valueShape(0)
            _ = node.cellSize(atOffset: node.slot(0))
            key.withUnsafeBytes { _ = node.lowerBound($0) }
            node.withEntry(0) { key, value in
                #expect(key.count <= 4096 && value.local.count <= 4096)
            }
            var rows = 0
            do {
                _ = try node.forEachTableEntry(from: 0) { _, _, value in
                    #expect(value.local.count <= 4096)
                    rows += 1
                    return true
                }
            } catch let error as DatabaseError {
                #expect(error.sqlState == SQLState.dataCorrupted)
            }
            #expect(rows <= 1)
        }
    }

    /// Random inserts, overwrites (same and other sizes, overflowing values) and deletes against
    /// a dictionary model, with commits, rollbacks, reopen and full verification along the way.
    @Test(arguments: [UInt64(1), 2, 3])
    func treeMatchesModelUnderRandomOperations(seed: UInt64) throws {
        let dir = TemporaryDirectory("btree\(seed)")
        var rng = SplitMix64(seed: seed)
        var engine = try StorageEngine(path: dir.database, options: smallOptions())
        var model: [Int64: [UInt8]] = [:]
        var index: [[UInt8]: [UInt8]] = [:]
        let setup = try engine.beginWrite()
        let table = try TableTree.create(in: setup)
        let secondary = try BTree.create(in: setup)
        try setup.setRoot(slot: 1, to: table.root)
        try setup.setRoot(slot: 2, to: secondary.root)
        try setup.commit()

        for round in 0..<30 {
            let txn = try engine.beginWrite()
            var roundModel = model
            var roundIndex = index
            for _ in 0..<(40 + Int(rng.next() % 80)) {
                let key = Int64(rng.next() % 600) - 100
                switch rng.next() % 10 {
                case 0...5:
                    let size: Int
                    switch rng.next() % 10 {
                    case 0: size = 2000 + Int(rng.next() % 12000)   // overflows
                    case 1: size = 0
                    default: size = Int(rng.next() % 200)
                    }
                    let value = (0..<size).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                    try table.put(key, value, in: txn)
                    roundModel[key] = value
                    let indexKey = Array("k\(rng.next() % 500)".utf8) + [UInt8](repeating: 7, count: Int(rng.next() % 40))
                    try secondary.put(indexKey, [UInt8(key & 0xff)], in: txn)
                    roundIndex[indexKey] = [UInt8(key & 0xff)]
                default:
                    let removed = try table.delete(key, in: txn)
                    #expect(removed == (roundModel.removeValue(forKey: key) != nil))
                    if let victim = roundIndex.keys.randomElement(using: &rng) {
                        #expect(try secondary.delete(victim, in: txn))
                        roundIndex[victim] = nil
                    }
                }
            }
            if round % 7 == 3 {
                txn.rollback()
            } else {
                try txn.commit()
                model = roundModel
                index = roundIndex
            }
            if round % 10 == 9 {
                try engine.close()
                engine = try StorageEngine(path: dir.database, options: smallOptions())
            }
            let reader = try engine.beginRead()
            let reports = try reader.checkIntegrity(trees: [table.tree, secondary])
            #expect(reports[0].entries == model.count)
            #expect(reports[1].entries == index.count)
            for (key, value) in model { #expect(try table.get(key, in: reader) == value) }
            // Forward and backward iteration agree with the sorted model.
            var cursor = table.tree.cursor(in: reader)
            var forward: [Int64] = []
            var more = try cursor.first()
            while more {
                forward.append(try TableTree.decode(cursor.key))
                more = try cursor.next()
            }
            #expect(forward == model.keys.sorted())
            var backward: [Int64] = []
            more = try cursor.last()
            while more {
                backward.append(try TableTree.decode(cursor.key))
                more = try cursor.previous()
            }
            #expect(backward == model.keys.sorted().reversed())
            var indexCursor = secondary.cursor(in: reader)
            var indexKeys: [[UInt8]] = []
            more = try indexCursor.first()
            while more {
                indexKeys.append(indexCursor.key)
                more = try indexCursor.next()
            }
            #expect(indexKeys == index.keys.sorted { $0.lexicographicallyPrecedes($1) })
            reader.rollback()
        }
        try engine.close()
    }

    /// Bottom-up loads of several sizes (one leaf, many leaves, three and more levels with long
    /// keys) pass the integrity check, iterate in order, and take ordinary writes afterwards.
    @Test(arguments: [0, 1, 7, 3_000, 40_000])
    func bulkLoadedTreesAreValidAndWritable(count: Int) throws {
        let dir = TemporaryDirectory("bulk\(count)")
        let engine = try StorageEngine(path: dir.database, options: smallOptions())
        var rng = SplitMix64(seed: UInt64(count))
        // Distinct keys of 4–200 bytes: a sortable prefix and a random-length tail.
        let keys = (0..<count).map { i -> [UInt8] in
            var key = Array(String(format: "%08d", i).utf8)
            key += [UInt8](repeating: UInt8(i % 251), count: Int(rng.next() % 192))
            return key
        }
        let txn = try engine.beginWrite()
        let tree = try BTree.create(in: txn)
        try txn.setRoot(slot: 1, to: tree.root)
        var builder = try BTreeBuilder(tree, in: txn)
        for key in keys { try key.withUnsafeBytes { try builder.append($0) } }
        // Keys out of order are refused, not stored.
        if let last = keys.last {
            #expect(throws: DatabaseError.self) { try last.withUnsafeBytes { try builder.append($0) } }
        }
        try builder.finish()
        let report = try txn.checkIntegrity(trees: [tree])[0]
        #expect(report.entries == count)
        if count >= 40_000 { #expect(try tree.verify(in: txn).depth >= 3) }
        var cursor = tree.cursor(in: txn)
        var seen: [[UInt8]] = []
        var more = try cursor.first()
        while more {
            seen.append(cursor.key)
            more = try cursor.next()
        }
        #expect(seen == keys)
        for _ in 0..<min(count, 200) {
            let key = keys[Int(rng.next() % UInt64(count))]
            #expect(try tree.get(key, in: txn) == [])
        }
        // Ordinary inserts and deletes on the loaded tree (full leaves split, merges happen).
        var model = Set(keys)
        for i in 0..<2_000 {
            if i % 3 == 0, let victim = model.randomElement(using: &rng) {
                #expect(try tree.delete(victim, in: txn))
                model.remove(victim)
            } else {
                let key = Array("\(rng.next() % 100_000_000)".utf8)
                try tree.put(key, [1], in: txn)
                model.insert(key)
            }
        }
        try txn.commit()
        let reader = try engine.beginRead()
        #expect(try reader.checkIntegrity(trees: [tree])[0].entries == model.count)
        reader.rollback()
        try engine.close()
    }

    /// A table scan reads leaves straight from their nodes; when its own transaction writes the
    /// table between steps (splits, merges, overflow values) it finds its place again and
    /// returns every row that existed before it exactly once, in order.
    @Test func tableScanKeepsItsPlaceWhileItsTransactionWrites() throws {
        let dir = TemporaryDirectory()
        let engine = try StorageEngine(path: dir.database, options: smallOptions())
        let txn = try engine.beginWrite()
        let table = try TableTree.create(in: txn)
        for i in stride(from: 0, to: 6_000, by: 2) { try table.put(Int64(i), RecordCodec.encode([.integer(Int64(i)), .text("row \(i)")]), in: txn) }
        let schema = TableSchema(name: "t", columns: [ColumnSchema(name: "id", type: .bigint), ColumnSchema(name: "v", type: .text)],
                                 root: table.root, rowIDColumn: 0)
        let ctx = ExecutionContext(parameters: [], txn: txn, catalog: nil)
        let next = try AccessPath(kind: .fullScan, description: "full scan").openKeyed(table: schema, ctx: ctx)
        var seen: [Int64] = []
        var rng = SplitMix64(seed: 9)
        while let (rowID, row) = try next() {
            #expect(row[0] == .integer(rowID))
            seen.append(rowID)
            // Odd keys near and far (behind and ahead of the scan), some with overflowing
            // values; deletes of rows already seen.
            guard rowID % 2 == 0 else { continue }
            let near = rowID + 1 + 2 * Int64(rng.next() % 4)
            try table.put(near | 1, RecordCodec.encode([.integer(near | 1), .text(String(repeating: "x", count: Int(rng.next() % 3000)))]), in: txn)
            if rowID > 100, rng.next() % 3 == 0 { _ = try table.delete(rowID - 100, in: txn) }
        }
        let evens = seen.filter { $0 % 2 == 0 }
        #expect(evens == Array(stride(from: Int64(0), to: 6_000, by: 2)))
        #expect(seen == seen.sorted() && Set(seen).count == seen.count)
        _ = try txn.checkIntegrity(trees: [table.tree])
        txn.rollback()
        try engine.close()
    }

    /// Ascending inserts take the remembered rightmost path; splits, deletes that merge, a
    /// second tree in between and a savepoint restore must all send the next append back
    /// through a full descent. Checked against a model and the integrity check.
    @Test func appendsAfterSplitsMergesAndSavepointsStayCorrect() throws {
        let dir = TemporaryDirectory()
        let engine = try StorageEngine(path: dir.database, options: smallOptions())
        let txn = try engine.beginWrite()
        let a = try TableTree.create(in: txn), b = try TableTree.create(in: txn)
        var modelA: [Int64: [UInt8]] = [:], modelB: Set<Int64> = []
        var rng = SplitMix64(seed: 21)
        var next: Int64 = 0
        var saved: (StorageTransaction.Savepoint, [Int64: [UInt8]], Int64)?
        for step in 0..<6_000 {
            next += 1 + Int64(rng.next() % 3)
            let value = [UInt8](repeating: UInt8(step & 0xff), count: Int(rng.next() % 300))
            #expect(try a.insert(next, value, in: txn))
            modelA[next] = value
            if step % 7 == 0 {
                try b.put(next, [1], in: txn)
                modelB.insert(next)
            }
            if step % 50 == 0 {
                // Delete a run at the end (merges the rightmost leaves) and below it.
                for key in modelA.keys.sorted().suffix(40) where rng.next() % 2 == 0 {
                    #expect(try a.delete(key, in: txn))
                    modelA[key] = nil
                }
            }
            if step == 2_000 { saved = (try txn.savepoint(), modelA, next) }
            if step == 3_000, let (point, model, key) = saved {
                try txn.rollback(to: point)
                modelA = model
                next = key
                modelB = modelB.filter { $0 <= key }
            }
        }
        let reports = try txn.checkIntegrity(trees: [a.tree, b.tree])
        #expect(reports[0].entries == modelA.count)
        #expect(reports[1].entries == modelB.count)
        for (key, value) in modelA { #expect(try a.get(key, in: txn) == value) }
        try txn.commit()
        try engine.close()
    }

    @Test func deletingEverythingMergesBackToOneLeafAndReusesPages() throws {
        let dir = TemporaryDirectory()
        let engine = try StorageEngine(path: dir.database, options: smallOptions())
        let txn = try engine.beginWrite()
        let table = try TableTree.create(in: txn)
        for i in 0..<5000 { try table.put(Int64(i), [UInt8](repeating: UInt8(i & 0xff), count: 60), in: txn) }
        let grown = try txn.pageCounts().pages
        #expect(try table.tree.verify(in: txn).depth >= 2)
        for i in 0..<5000 { #expect(try table.delete(Int64(i), in: txn)) }
        let report = try table.tree.verify(in: txn)
        #expect(report.entries == 0)
        #expect(report.pages.count == 1)
        #expect(try txn.pageCounts().free == grown - 3)
        // Pages are reused from the free list before the file grows.
        for i in 0..<5000 { try table.put(Int64(i), [UInt8](repeating: 1, count: 60), in: txn) }
        #expect(try txn.pageCounts().pages == grown)
        _ = try txn.checkIntegrity(trees: [table.tree])
        try txn.commit()
        try engine.close()
    }

    /// Deleting a run of keys in the middle of a tree empties leaves that sit beside full ones:
    /// a leaf too full to merge with its sibling is left alone (the check happens before any
    /// cell is copied), and each leaf emptied merges away, in ascending and descending runs.
    @Test(arguments: [false, true])
    func deletingARunBesideFullLeavesMergesTheEmptiedLeaves(descending: Bool) throws {
        let dir = TemporaryDirectory()
        let engine = try StorageEngine(path: dir.database, options: smallOptions())
        let txn = try engine.beginWrite()
        let table = try TableTree.create(in: txn)
        for i in 0..<5000 { try table.put(Int64(i), [UInt8](repeating: UInt8(i & 0xff), count: 60), in: txn) }
        let before = try table.tree.verify(in: txn)
        let run = Array(1000..<3000)
        for i in descending ? run.reversed() : run {
            #expect(try table.delete(Int64(i), in: txn))
            let deleted = descending ? 3000 - i : i - 999
            if i % 250 == 0 { #expect(try table.tree.verify(in: txn).entries == 5000 - deleted) }
        }
        let after = try table.tree.verify(in: txn)
        #expect(after.entries == 3000)
        // 2,000 of 5,000 rows gone: at least a third of the pages are freed.
        #expect(after.pages.count * 3 <= before.pages.count * 2 + 3, "pages before \(before.pages.count), after \(after.pages.count)")
        for i in 0..<5000 { #expect(try table.get(Int64(i), in: txn) == ((1000..<3000).contains(i) ? nil : [UInt8](repeating: UInt8(i & 0xff), count: 60))) }
        _ = try txn.checkIntegrity(trees: [table.tree])
        try txn.commit()
        try engine.close()
    }

    @Test func cursorSeeksAndSurvivesWritesToItsTree() throws {
        let dir = TemporaryDirectory()
        let engine = try StorageEngine(path: dir.database, options: smallOptions())
        let txn = try engine.beginWrite()
        let table = try TableTree.create(in: txn)
        for i in stride(from: 0, to: 1000, by: 2) { try table.put(Int64(i), [1], in: txn) }
        var cursor = table.tree.cursor(in: txn)
        #expect(try cursor.seek(atLeast: TableTree.encode(501)))
        #expect(try TableTree.decode(cursor.key) == 502)
        #expect(try cursor.seek(atMost: TableTree.encode(501)))
        #expect(try TableTree.decode(cursor.key) == 500)
        // Delete the rows as we walk them.
        var seen = 0
        var more = try cursor.first()
        while more {
            try table.delete(try TableTree.decode(cursor.key), in: txn)
            seen += 1
            more = try cursor.next()
        }
        #expect(seen == 500)
        #expect(try table.tree.verify(in: txn).entries == 0)
        try txn.commit()
        try engine.close()
    }

    @Test func oversizedKeyIsRejected() throws {
        let dir = TemporaryDirectory()
        let engine = try StorageEngine(path: dir.database, options: smallOptions())
        let txn = try engine.beginWrite()
        let tree = try BTree.create(in: txn)
        let limit = BTree.maxKeyLength(pageSize: 4096)
        try tree.put([UInt8](repeating: 1, count: limit), [], in: txn)
        #expect(throws: DatabaseError.self) { try tree.put([UInt8](repeating: 2, count: limit + 1), [], in: txn) }
        txn.rollback()
        try engine.close()
    }
}
