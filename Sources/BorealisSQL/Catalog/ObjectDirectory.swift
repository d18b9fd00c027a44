// The object identifiers (oids) of a catalog's objects, as pg_catalog shows them and the reg*
// types name them (docs/sql.md, "pg_catalog").
//
// Borealis's catalog keys its objects by name and stores no oids, so they are derived: each
// relation (table, view, index, sequence), constraint and column default gets a number from a
// hash of its kind and name in PostgreSQL's range for user objects (16384 up to 2^31), taken
// in name order with the next free number on a collision. The same catalog therefore always
// gives the same oids (a tool may look an oid up in one query and use it in the next), and an
// object keeps its oid for as long as it keeps its name. Built once per catalog, on first use.
//
// Built-in objects have PostgreSQL's fixed oids: namespaces pg_catalog 11 and public 2200,
// the one role 10, access methods heap 2 and btree 403, types their pg_type oids.

import BorealisStorage

package struct ObjectDirectory: Sendable {
    package enum Kind: String, Sendable {
        case table = "r", view = "v", index = "i", sequence = "S"
    }

    package struct Relation: Sendable {
        package var oid: UInt32
        package var name: String
        package var kind: Kind
        package var temporary: Bool
        /// For an index: the table it is on.
        package var table: String?
        /// An index Borealis does not keep as one: the row id of a table whose primary key is a
        /// single integer column. pg_index and pg_class still list it, as PostgreSQL has it.
        package var implicit = false
    }

    static let catalogNamespace: UInt32 = 11
    static let publicNamespace: UInt32 = 2200
    static let informationSchemaNamespace: UInt32 = 13_000
    static let temporaryNamespace: UInt32 = 13_100
    static let ownerRole: UInt32 = 10
    static let databaseOID: UInt32 = 16_383
    static let heapMethod: UInt32 = 2, btreeMethod: UInt32 = 403

    package private(set) var relations: [Relation] = []
    private var relationByName: [String: Int] = [:]
    private var relationByOID: [UInt32: Int] = [:]
    /// Constraints by "table\u{0}name", column defaults by "table\u{0}column".
    private var constraintOIDs: [String: UInt32] = [:]
    private var defaultOIDs: [String: UInt32] = [:]
    private var taken: Set<UInt32> = []

    init(_ catalog: Catalog) {
        var entries: [Relation] = []
        for t in catalog.tables.values {
            entries.append(Relation(oid: 0, name: t.name, kind: .table, temporary: t.isTemporary))
            if t.rowIDColumn != nil, !t.primaryKey.isEmpty,
               !catalog.indexes(on: t.name).contains(where: { $0.constraint && $0.unique && $0.columns == t.primaryKey }) {
                entries.append(Relation(oid: 0, name: "\(t.name)_pkey", kind: .index, temporary: t.isTemporary, table: t.name, implicit: true))
            }
        }
        for v in catalog.views.values { entries.append(Relation(oid: 0, name: v.name, kind: .view, temporary: v.temporary == true)) }
        for i in catalog.indexes.values {
            entries.append(Relation(oid: 0, name: i.name, kind: .index, temporary: catalog.tables[i.table]?.isTemporary == true, table: i.table))
        }
        for s in catalog.sequences.values { entries.append(Relation(oid: 0, name: s.name, kind: .sequence, temporary: false)) }
        entries.sort { ($0.name, $0.kind.rawValue) < ($1.name, $1.kind.rawValue) }
        for var entry in entries {
            // A relation hidden under another of its name (a temporary one over a permanent
            // one) is not listed twice.
            guard relationByName[entry.name] == nil else { continue }
            entry.oid = allocate("\(entry.kind.rawValue):\(entry.name)")
            relationByName[entry.name] = relations.count
            relationByOID[entry.oid] = relations.count
            relations.append(entry)
        }
        for t in catalog.tables.values.sorted(by: { $0.name < $1.name }) {
            for name in Self.constraintNames(t, catalog) { constraintOIDs["\(t.name)\u{0}\(name)"] = allocate("c:\(t.name):\(name)") }
            for c in t.columns where c.defaultSQL != nil || c.generatedSQL != nil || (c.identity && c.generated == nil) {
                defaultOIDs["\(t.name)\u{0}\(c.name)"] = allocate("d:\(t.name):\(c.name)")
            }
        }
    }

    /// The names of a table's constraints: primary key, unique, foreign keys, checks.
    static func constraintNames(_ t: TableSchema, _ catalog: Catalog) -> [String] {
        var names: [String] = []
        if !t.primaryKey.isEmpty { names.append(primaryKeyName(t, catalog)) }
        for index in catalog.indexes(on: t.name) where index.constraint && index.unique && index.columns != t.primaryKey {
            names.append(index.name)
        }
        names += (t.foreignKeys ?? []).map(\.name)
        names += t.checks.map(\.name)
        return names
    }

    /// The name of a table's primary key constraint (and of its index).
    static func primaryKeyName(_ t: TableSchema, _ catalog: Catalog) -> String {
        catalog.indexes(on: t.name).first { $0.constraint && $0.unique && $0.columns == t.primaryKey }?.name ?? "\(t.name)_pkey"
    }

    private mutating func allocate(_ key: String) -> UInt32 {
        // FNV-1a, folded into 16384 ..< 2^31.
        var hash: UInt32 = 2_166_136_261
        for byte in key.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        let span: UInt32 = (1 << 31) - 16_384
        var oid = 16_384 + hash % span
        while taken.contains(oid) { oid = oid + 1 >= (1 << 31) ? 16_384 : oid + 1 }
        taken.insert(oid)
        return oid
    }

    package func relation(named name: String) -> Relation? { relationByName[name].map { relations[$0] } }
    package func relation(oid: UInt32) -> Relation? { relationByOID[oid].map { relations[$0] } }
    func constraintOID(table: String, name: String) -> UInt32? { constraintOIDs["\(table)\u{0}\(name)"] }
    func defaultOID(table: String, column: String) -> UInt32? { defaultOIDs["\(table)\u{0}\(column)"] }

    /// The namespace a relation lives in.
    static func namespace(temporary: Bool) -> UInt32 { temporary ? temporaryNamespace : publicNamespace }

    /// Every namespace: oid, name.
    static let namespaces: [(oid: UInt32, name: String)] = [
        (catalogNamespace, "pg_catalog"), (publicNamespace, "public"), (informationSchemaNamespace, "information_schema"),
        (temporaryNamespace, "pg_temp"),
    ]
}
