// The catalog as one transaction sees it: loaded from the catalog B+tree (root slot 0) and
// cached by the database while its version (a counter bumped by every DDL) is unchanged.

import FoundationEssentials
import Synchronization
import BorealisStorage

package final class Catalog: @unchecked Sendable {
    package static let rootSlot = 0
    private static let versionKey = Array("version".utf8)

    package private(set) var tables: [String: TableSchema] = [:]
    package private(set) var indexes: [String: IndexSchema] = [:]
    package private(set) var views: [String: ViewSchema] = [:]
    package internal(set) var sequences: [String: SequenceSchema] = [:]
    /// COMMENT ON texts, by relation name, or relation and column joined by U+001F
    /// (StatementExecutor.commentKey); absent from catalogs written before comments.
    package internal(set) var comments: [String: String] = [:]
    /// What ANALYZE found, by table (docs/query-engine.md, "Statistics").
    package private(set) var statistics: [String: TableStatistics] = [:]
    /// For each table, the foreign keys that reference it and their tables, by child table name:
    /// what an UPDATE or DELETE of a parent row must check or cascade to.
    private(set) var referencing: [String: [(child: String, fk: ForeignKey)]] = [:]
    package let version: UInt64
    /// The oids of the catalog's objects (ObjectDirectory.swift), made on first use.
    private let directoryCache = Mutex<ObjectDirectory?>(nil)

    /// The oids of this catalog's objects, as pg_catalog and the reg* types show them.
    package var directory: ObjectDirectory {
        if let made = directoryCache.withLock({ $0 }) { return made }
        let made = ObjectDirectory(self)
        directoryCache.withLock { $0 = made }
        return made
    }

    package init(version: UInt64) { self.version = version }

    /// A catalog of the given entries (the merged catalog of docs/temporary-tables.md).
    init(version: UInt64, tables: [String: TableSchema], indexes: [String: IndexSchema], views: [String: ViewSchema],
         referencing: [String: [(child: String, fk: ForeignKey)]], statistics: [String: TableStatistics] = [:]) {
        self.version = version
        self.statistics = statistics
        self.tables = tables
        self.indexes = indexes
        self.views = views
        self.referencing = referencing
    }

    static func tree(_ txn: StorageTransaction) throws -> BTree? {
        let root = try txn.root(slot: rootSlot)
        return root == 0 ? nil : BTree(root: root)
    }

    package static func version(_ txn: StorageTransaction) throws -> UInt64 {
        guard let tree = try tree(txn), let raw = try tree.get(versionKey, in: txn), raw.count == 8 else { return 0 }
        return raw.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
    }

    package static func load(_ txn: StorageTransaction) throws -> Catalog {
        let catalog = Catalog(version: try version(txn))
        guard let tree = try tree(txn) else { return catalog }
        let decoder = JSONDecoder()
        var cursor = tree.cursor(in: txn)
        var more = try cursor.first()
        while more {
            let key = String(decoding: cursor.key, as: UTF8.self)
            let value = Data(try cursor.value())
            do {
                if key.hasPrefix("table:") {
                    let t = try decoder.decode(TableSchema.self, from: value)
                    catalog.tables[t.name] = t
                } else if key.hasPrefix("index:") {
                    let i = try decoder.decode(IndexSchema.self, from: value)
                    catalog.indexes[i.name] = i
                } else if key.hasPrefix("view:") {
                    let v = try decoder.decode(ViewSchema.self, from: value)
                    catalog.views[v.name] = v
                } else if key.hasPrefix("sequence:") {
                    let q = try decoder.decode(SequenceSchema.self, from: value)
                    catalog.sequences[q.name] = q
                } else if key.hasPrefix("comment:") {
                    catalog.comments[String(key.dropFirst("comment:".count))] = try decoder.decode(String.self, from: value)
                } else if key.hasPrefix("stats:") {
                    catalog.statistics[String(key.dropFirst("stats:".count))] = try decoder.decode(TableStatistics.self, from: value)
                }
            } catch {
                throw DatabaseError.corrupt("catalog entry \(key) does not decode: \(error)")
            }
            more = try cursor.next()
        }
        for child in catalog.tables.values.sorted(by: { $0.name < $1.name }) {
            for fk in child.foreignKeys ?? [] { catalog.referencing[fk.parent, default: []].append((child.name, fk)) }
        }
        return catalog
    }

    // MARK: Changes (in a write transaction)

    private static func writableTree(_ txn: StorageTransaction) throws -> BTree {
        if let tree = try tree(txn) { return tree }
        let tree = try BTree.create(in: txn)
        try txn.setRoot(slot: rootSlot, to: tree.root)
        return tree
    }

    /// The highest catalog version handed out in this process. A DDL that rolls back leaves the
    /// stored version where it was; taking the next version above this mark as well keeps a
    /// plan or table writer cached under the rolled-back version from matching another schema.
    private static let versionHighWater = Atomic<UInt64>(0)

    private static func bumpVersion(_ txn: StorageTransaction, _ tree: BTree) throws {
        let stored = try version(txn)
        var next = stored + 1
        while true {
            let mark = versionHighWater.load(ordering: .relaxed)
            next = max(stored, mark) + 1
            if versionHighWater.compareExchange(expected: mark, desired: next, ordering: .relaxed).exchanged { break }
        }
        try tree.put(versionKey, withUnsafeBytes(of: next.littleEndian) { Array($0) }, in: txn)
    }

    static func put<T: Encodable>(_ kind: String, _ name: String, _ value: T, _ txn: StorageTransaction) throws {
        let tree = try writableTree(txn)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        try tree.put(Array("\(kind):\(name)".utf8), Array(try encoder.encode(value)), in: txn)
        // A table's statistics describe the table as ANALYZE saw it: any change to its record
        // (ALTER TABLE, TRUNCATE) drops them.
        if kind == "table" { _ = try tree.delete(Array("stats:\(name)".utf8), in: txn) }
        try bumpVersion(txn, tree)
    }

    static func remove(_ kind: String, _ name: String, _ txn: StorageTransaction) throws {
        let tree = try writableTree(txn)
        try tree.delete(Array("\(kind):\(name)".utf8), in: txn)
        if kind == "table" { _ = try tree.delete(Array("stats:\(name)".utf8), in: txn) }
        try bumpVersion(txn, tree)
    }

    // MARK: Lookup

    package func table(_ name: String) throws -> TableSchema {
        guard let table = tables[name] else {
            throw DatabaseError(.error, sqlState: SQLState.undefinedTable, "relation \"\(name)\" does not exist")
        }
        return table
    }

    func indexes(on table: String) -> [IndexSchema] {
        indexes.values.filter { $0.table == table }.sorted { $0.name < $1.name }
    }

    /// Whether another table's foreign key references `table`.
    func referencing(_ table: String) -> Bool { !(referencing[table] ?? []).isEmpty }

    func relationExists(_ name: String) -> Bool {
        tables[name] != nil || views[name] != nil || indexes[name] != nil || sequences[name] != nil
    }
}
