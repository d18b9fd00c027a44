// The schema for tools such as the shell: table, index and view names, CREATE statements, and
// for `.dump` and `.import` a table's columns with their types, and the foreign keys that say
// which tables must be loaded before it.
// Everything here reads the catalog the connection sees (its open transaction's, if any).

import BorealisSQL
import BorealisStorage

extension Database {
    /// Table and view names, sorted.
    public func tableNames() throws -> [String] {
        try withCatalog { catalog, _ in (Array(catalog.tables.keys) + Array(catalog.views.keys)).sorted() }
    }

    /// Index names (of one table, or all), sorted.
    public func indexNames(of table: String? = nil) throws -> [String] {
        try withCatalog { catalog, _ in catalog.indexes.values.filter { table == nil || $0.table == table }.map(\.name).sorted() }
    }

    /// CREATE statements that rebuild the schema (of one table, or everything): tables, then
    /// indexes, then views.
    public func schemaStatements(of table: String? = nil) throws -> [String] {
        try withCatalog { catalog, _ in
            var statements: [String] = []
            for t in catalog.tables.values.sorted(by: { $0.name < $1.name }) where table == nil || t.name == table {
                statements.append(catalog.createStatement(for: t))
            }
            for index in catalog.indexes.values.sorted(by: { $0.name < $1.name }) where !index.constraint && (table == nil || index.table == table) {
                statements.append(catalog.createStatement(for: index))
            }
            for view in catalog.views.values.sorted(by: { $0.name < $1.name }) where table == nil || view.name == table {
                statements.append(catalog.createStatement(for: view))
            }
            return statements
        }
    }

    /// The statements that re-create the sequences (of one table, or all), for `.schema` and
    /// `.dump`: `create`, after the tables — CREATE SEQUENCE for each sequence not made by an
    /// identity or serial column, then ALTER SEQUENCE … OWNED BY for those a column owns —, and
    /// `values`, after the rows — a `SELECT setval(…)` per sequence, where it stands now.
    public func sequenceStatements(of table: String? = nil) throws -> (create: [String], values: [String]) {
        try withCatalog { catalog, txn in
            var create: [String] = [], owned: [String] = [], values: [String] = []
            for sequence in catalog.sequences.values.sorted(by: { $0.name < $1.name }) where table == nil || sequence.ownerTable == table {
                let name = BorealisSQL.quoteIdentifier(sequence.name)
                if !catalog.isIdentitySequence(sequence) {
                    create.append(catalog.createStatement(for: sequence))
                    if let owner = sequence.ownerTable, let column = sequence.ownerColumn {
                        owned.append("ALTER SEQUENCE \(name) OWNED BY \(BorealisSQL.quoteIdentifier(owner)).\(BorealisSQL.quoteIdentifier(column));")
                    }
                }
                let value = try Sequences.currentValue(sequence, in: txn)
                let literal = "'" + name.replacing("'", with: "''") + "'"
                values.append("SELECT setval(\(literal), \(value.last), \(value.isCalled));")
            }
            return (create + owned, values)
        }
    }

    /// Quotes `name` the way `.schema` and `.dump` do: left bare when it reads back as itself,
    /// in double quotes otherwise (upper case, reserved words, punctuation).
    ///
    /// ```swift
    /// Database.quoteIdentifier("orders")     // orders
    /// Database.quoteIdentifier("Order")      // "Order"
    /// ```
    public static func quoteIdentifier(_ name: String) -> String {
        BorealisSQL.quoteIdentifier(name)
    }

    /// A table's columns and foreign keys; nil for a view or a name that is not a table.
    ///
    /// ```swift
    /// if let info = try db.tableInfo("orders") {
    ///     print(info.columns.map(\.type), info.foreignKeys.map(\.parent))
    /// }
    /// ```
    public func tableInfo(_ name: String) throws -> TableInfo? {
        try withCatalog { catalog, _ in
            guard let table = catalog.tables[name] else { return nil }
            return TableInfo(
                name: table.name,
                columns: table.columns.map {
                    TableInfo.Column(name: $0.name, type: $0.type.name, notNull: $0.notNull, identity: $0.identity,
                                     generatedAlways: $0.generated == .always)
                },
                foreignKeys: (table.foreignKeys ?? []).map {
                    TableInfo.Reference(name: $0.name, columns: $0.columns, parent: $0.parent, parentColumns: $0.parentColumns)
                })
        }
    }
}

/// What `Database.tableInfo(_:)` reports about a table.
public struct TableInfo: Sendable {
    public struct Column: Sendable {
        public var name: String
        /// The canonical type name (`integer`, `text`, `numeric`, `timestamptz`, …).
        public var type: String
        public var notNull: Bool
        /// SERIAL, or GENERATED … AS IDENTITY: the column takes its values from its own
        /// sequence (`sequenceStatements` restores where it stands).
        public var identity: Bool
        /// GENERATED ALWAYS AS IDENTITY: an INSERT giving it a value needs OVERRIDING SYSTEM VALUE.
        public var generatedAlways = false
    }

    /// A foreign key: `columns` of this table reference `parentColumns` of `parent`.
    public struct Reference: Sendable {
        public var name: String
        public var columns: [String]
        public var parent: String
        public var parentColumns: [String]
    }

    public var name: String
    public var columns: [Column]
    public var foreignKeys: [Reference]
}
