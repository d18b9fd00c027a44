// The catalog's records: tables, indexes and views. They are stored as JSON in the catalog
// B+tree (root slot 0), keyed "table:<name>", "index:<name>", "view:<name>", so DDL is
// transactional like any other write. Expressions (defaults, checks) and view queries are kept
// as SQL text and parsed when the schema is loaded.

struct ColumnSchema: Codable, Sendable, Equatable {
    var name: String
    var type: SQLType
    var modifiers: [Int] = []
    var notNull = false
    var defaultSQL: String?
    var identity = false       // SERIAL / AUTO_INCREMENT / GENERATED AS IDENTITY
}

struct TableSchema: Codable, Sendable {
    var name: String
    var columns: [ColumnSchema]
    var root: UInt64
    /// The column whose value is the row id (a single-column INTEGER/BIGINT primary key).
    var rowIDColumn: Int?
    var primaryKey: [String] = []
    var checks: [NamedCheck] = []
    /// Absent in catalogs written before foreign keys existed.
    var foreignKeys: [ForeignKey]?
    /// Set on the tables of a connection's temporary catalog (docs/temporary-tables.md), whose
    /// pages live in that connection's private engine; absent for permanent tables.
    var temporary: Bool?
    /// A temporary table's ON COMMIT action (absent: PRESERVE ROWS).
    var onCommit: OnCommitAction?

    var isTemporary: Bool { temporary == true }

    func columnIndex(_ name: String) -> Int? { columns.firstIndex { $0.name == name } }
}

struct ForeignKey: Codable, Sendable {
    var name: String
    var columns: [String]
    var parent: String
    var parentColumns: [String]
    var onDelete: ReferentialAction
    var onUpdate: ReferentialAction
}

struct NamedCheck: Codable, Sendable {
    var name: String
    var sql: String
}

struct IndexSchema: Codable, Sendable {
    var name: String
    var table: String
    /// Column names; for an expression index, each element's SQL (for messages).
    var columns: [String]
    /// SQL of each element when any is an expression; nil for an index on plain columns.
    var expressions: [String]?
    var unique: Bool
    var root: UInt64
    /// Made by PRIMARY KEY or UNIQUE in CREATE TABLE (dropped with the table, not by DROP INDEX).
    var constraint: Bool = false
}

struct ViewSchema: Codable, Sendable {
    var name: String
    var columns: [String]
    var sql: String
    /// Set on the views of a connection's temporary catalog; absent for permanent views.
    var temporary: Bool?
}
