// The full integrity check of docs/backup.md §1 (`Database.checkIntegrity()`, and SQL's
// `borealis_check()`): it reads the database at one snapshot (writers keep committing), checks
// page and log checksums (`Storage/IntegrityCheck+Storage.swift`), walks the catalog, every table, every index and the
// free list (`Access/IntegrityCheck+Report.swift`), then checks every index against its table
// and the catalog's references. Every problem is reported with what it concerns; the check
// goes on after each one.

import BorealisStorage

extension StorageEngine {
    /// The full check of docs/backup.md §1 (see `Database.checkIntegrity()`): every problem
    /// found, at a snapshot of its own (the committed database). Throws only when the check
    /// cannot run at all.
    /// With `watch` (a statement's: SQL's borealis_check()), an interrupt or a statement
    /// timeout stops the check with its error: it is asked between batches of pages and at
    /// every page the trees' walk reads.
    package func checkIntegrity(watch: StatementWatch? = nil) throws -> IntegrityReport {
        var report = IntegrityReport()
        let txn = try beginRead()
        defer { txn.rollback() }
        txn.watch = watch
        report.lsn = txn.snapshot
        checkPageChecksums(into: &report, stop: { watch.map { (try? $0.check()) == nil } ?? false })
        try watch?.checkNow()
        checkLog(through: txn.snapshot, into: &report)
        try watch?.checkNow()

        let pageCount: UInt64
        do {
            pageCount = try txn.pageCounts().pages
        } catch {
            report.add(IntegrityProblem(.pageChecksum, page: MetaPage.pageNumber, object: "meta page", StorageTransaction.text(of: error)))
            return report
        }
        // The trees: the catalog, other root slots in use, then what the catalog names.
        var trees: [IntegrityTree] = []
        for slot in 0..<MetaPage.rootSlotCount {
            guard let root = try? txn.root(slot: slot), root != 0 else { continue }
            trees.append(IntegrityTree(name: slot == Catalog.rootSlot ? "catalog" : "root slot \(slot)", root: root))
        }
        var catalog: Catalog?
        let catalogTreeSound = try trees.first.map { first -> Bool in
            guard first.name == "catalog" else { return true }
            var probe = IntegrityReport()
            return try txn.checkPageSpace(trees: [first], into: &probe).first?.sound ?? false
        } ?? true
        if catalogTreeSound {
            do {
                catalog = try Catalog.load(txn)
            } catch {
                report.add(IntegrityProblem(.catalog, object: "catalog", StorageTransaction.text(of: error)))
            }
        }
        var tables: [TableSchema] = []
        var indexes: [IndexSchema] = []
        if let catalog {
            for table in catalog.tables.values.sorted(by: { $0.name < $1.name }) {
                if table.root < 2 || table.root >= pageCount {
                    report.add(IntegrityProblem(.catalog, page: table.root, object: "table \(table.name)", "its root page \(table.root) is outside 2..<\(pageCount)"))
                    continue
                }
                tables.append(table)
                trees.append(IntegrityTree(name: "table \(table.name)", root: table.root))
            }
            for index in catalog.indexes.values.sorted(by: { $0.name < $1.name }) {
                if index.root < 2 || index.root >= pageCount {
                    report.add(IntegrityProblem(.catalog, page: index.root, object: "index \(index.name)", "its root page \(index.root) is outside 2..<\(pageCount)"))
                    continue
                }
                guard let table = catalog.tables[index.table] else {
                    report.add(IntegrityProblem(.catalog, object: "index \(index.name)", "it indexes table \(index.table), which does not exist"))
                    trees.append(IntegrityTree(name: "index \(index.name)", root: index.root))
                    continue
                }
                if index.expressions == nil, let missing = index.columns.first(where: { table.columnIndex($0) == nil }) {
                    report.add(IntegrityProblem(.catalog, object: "index \(index.name)", "it names column \(missing), which table \(table.name) does not have"))
                }
                indexes.append(index)
                trees.append(IntegrityTree(name: "index \(index.name)", root: index.root))
            }
        }
        let summaries = try txn.checkPageSpace(trees: trees, into: &report)
        var sound: [String: IntegrityTreeSummary] = [:]
        for (tree, summary) in zip(trees, summaries) { sound[tree.name] = summary }
        for table in tables { report.rows += sound["table \(table.name)"]?.entries ?? 0 }
        for index in indexes { report.indexEntries += sound["index \(index.name)"]?.entries ?? 0 }

        // Every index against its table, when both trees are sound.
        try watch?.checkNow() // a page read the walk reported as a problem may have been the interrupt
        guard let catalog else { return report }
        for table in tables where sound["table \(table.name)"]?.sound == true {
            let onTable = indexes.filter { $0.table == table.name && sound["index \($0.name)"]?.sound == true }
            guard !onTable.isEmpty else { continue }
            do {
                try checkIndexes(onTable, of: table, catalog: catalog, txn: txn, into: &report)
            } catch let error as DatabaseError where error.code == .interrupted {
                throw error
            } catch {
                report.add(IntegrityProblem(.indexMismatch, object: "table \(table.name)", "its indexes could not be checked: \(StorageTransaction.text(of: error))"))
            }
        }
        try watch?.checkNow()
        return report
    }

    /// Compares each index with the keys its table's rows give. For an index on plain columns
    /// one scan of the table computes every row's key and folds it into an order-independent
    /// fingerprint (count, and the sum and xor of a 64-bit hash of each key), which one scan of
    /// the index must reproduce; only when they differ are the keys sorted and merged with the
    /// index to name each missing or extra entry (`exactComparison`). An expression index (its
    /// keys need the SQL evaluator) must have one entry per row, each naming an existing row.
    private func checkIndexes(_ indexes: [IndexSchema], of table: TableSchema, catalog: Catalog, txn: StorageTransaction,
                              into report: inout IntegrityReport) throws {
        let plain = indexes.map { index -> [Int]? in
            guard index.expressions == nil else { return nil }
            let positions = index.columns.compactMap { table.columnIndex($0) }
            return positions.count == index.columns.count ? positions : nil
        }
        var wanted = [ColumnDecode](repeating: .skip, count: table.columns.count)
        for case let positions? in plain { for p in positions { wanted[p] = .value } }
        var expected = [KeyFingerprint](repeating: KeyFingerprint(), count: indexes.count)
        let needRowIDs = plain.contains { $0 == nil }
        var rowIDs = Set<Int64>()
        var rowCount = 0
        var cursor = BTree(root: table.root).cursor(in: txn)
        var more = try cursor.first()
        var row: [Value] = []
        var key: [UInt8] = []
        var undecodable = false
        while more {
            let problem: IntegrityProblem? = try cursor.withEntry { rawKey, value in
                let rowID = try TableTree.decode(rawKey)
                rowCount += 1
                if needRowIDs { rowIDs.insert(rowID) }
                do {
                    row.removeAll(keepingCapacity: true)
                    try RecordCodec.decode(value, wanted: wanted, into: &row)
                } catch {
                    undecodable = true
                    return IntegrityProblem(.indexMismatch, object: "table \(table.name)", "row \(rowID) does not decode: \(StorageTransaction.text(of: error))")
                }
                for (i, positions) in plain.enumerated() {
                    guard let positions else { continue }
                    guard positions.allSatisfy({ $0 < row.count }) else {
                        undecodable = true
                        return IntegrityProblem(.indexMismatch, object: "table \(table.name)", "row \(rowID) has \(row.count) columns, fewer than index \(indexes[i].name) reads")
                    }
                    key.removeAll(keepingCapacity: true)
                    for position in positions { RecordCodec.appendKey(row[position], to: &key) }
                    TableTree.appendKey(rowID, to: &key)
                    key.withUnsafeBytes { expected[i].add($0) }
                }
                return nil
            }
            if let problem { report.add(problem) }
            more = try cursor.next()
        }
        for (i, index) in indexes.enumerated() {
            let object = "index \(index.name)"
            var problems = 0
            func mismatch(_ message: String) {
                problems += 1
                if problems <= 20 { report.add(IntegrityProblem(.indexMismatch, page: index.root, object: object, message)) }
            }
            var entries = BTree(root: index.root).cursor(in: txn)
            var present = try entries.first()
            if let positions = plain[i] {
                var found = KeyFingerprint()
                while present {
                    try entries.withEntry { entry, _ in found.add(entry) }
                    present = try entries.next()
                }
                if found != expected[i] && !undecodable {
                    try exactComparison(index, positions: positions, of: table, txn: txn, mismatch: mismatch)
                }
            } else {
                var count = 0
                while present {
                    count += 1
                    let rowID = Self.rowID(ofIndexKey: entries.key)
                    if !rowIDs.contains(rowID) { mismatch("the index holds an entry for row \(rowID), which table \(table.name) does not have") }
                    present = try entries.next()
                }
                if count != rowCount { mismatch("the index holds \(count) entries, table \(table.name) \(rowCount) rows") }
            }
            if problems > 20 { report.add(IntegrityProblem(.indexMismatch, page: index.root, object: object, "… and \(problems - 20) more mismatches")) }
        }
    }

    /// The slow path of `checkIndexes` once the fingerprints differ: every expected key in one
    /// byte arena, sorted by memcmp through spans, merged with the index in order.
    private func exactComparison(_ index: IndexSchema, positions: [Int], of table: TableSchema, txn: StorageTransaction,
                                 mismatch: (String) -> Void) throws {
        var arena: [UInt8] = []
        var spans: [(start: Int, count: Int)] = []
        var row: [Value] = []
        var cursor = BTree(root: table.root).cursor(in: txn)
        var more = try cursor.first()
        while more {
            try cursor.withEntry { rawKey, value in
                let rowID = try TableTree.decode(rawKey)
                row.removeAll(keepingCapacity: true)
                try RecordCodec.decode(value, wanted: nil, into: &row)
                let start = arena.count
                for position in positions { RecordCodec.appendKey(row[position], to: &arena) }
                TableTree.appendKey(rowID, to: &arena)
                spans.append((start, arena.count - start))
            }
            more = try cursor.next()
        }
        var entries = BTree(root: index.root).cursor(in: txn)
        var present = try entries.first()
        try arena.withUnsafeBytes { arena in
            func key(_ span: (start: Int, count: Int)) -> UnsafeRawBufferPointer {
                UnsafeRawBufferPointer(rebasing: arena[span.start..<(span.start + span.count)])
            }
            spans.sort { compareKeys(key($0), key($1)) < 0 }
            var k = 0
            while present || k < spans.count {
                let order: Int = !present ? 1 : k == spans.count ? -1 : try entries.withEntry { entry, _ in compareKeys(entry, key(spans[k])) }
                if order == 0 {
                    k += 1
                    present = try entries.next()
                } else if order < 0 {
                    mismatch("the index holds an entry for row \(Self.rowID(ofIndexKey: entries.key)) that the table's row does not give (a stale or extra entry)")
                    present = try entries.next()
                } else {
                    mismatch("the index lacks the entry of row \(Self.rowID(ofIndexKey: Array(key(spans[k])))) of table \(table.name)")
                    k += 1
                }
            }
        }
    }

    /// The row id every index key ends with (TableTree's 8-byte encoding).
    private static func rowID(ofIndexKey key: [UInt8]) -> Int64 {
        guard key.count >= 8 else { return 0 }
        return (try? TableTree.decode(Array(key.suffix(8)))) ?? 0
    }
}

/// An order-independent summary of a set of keys: equal sets give equal fingerprints, and a
/// set differing by any entry gives another one except with probability about 2^-64.
struct KeyFingerprint: Equatable {
    var count = 0
    var sum: UInt64 = 0
    var xor: UInt64 = 0

    mutating func add(_ key: UnsafeRawBufferPointer) {
        let hash = UInt64(CRC32C.checksum(key, seed: 0x9E37_79B9)) << 32 | UInt64(CRC32C.checksum(key, seed: 0x85EB_CA6B))
        count += 1
        sum &+= hash &* 0x9E37_79B9_7F4A_7C15
        xor ^= hash
    }
}
