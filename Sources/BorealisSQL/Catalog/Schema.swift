// The catalog's records: tables, indexes and views. They are stored as JSON in the catalog
// B+tree (root slot 0), keyed "table:<name>", "index:<name>", "view:<name>", "sequence:<name>"
// (and each sequence incarnation's value, "seqstate:<incarnation>", Sequences.swift), so DDL is
// transactional like any other write. Expressions (defaults, checks) and view queries are kept
// as SQL text and parsed when the schema is loaded.

import BorealisStorage

package struct ColumnSchema: Codable, Sendable, Equatable {
    package var name: String
    package var type: SQLType
    package var modifiers: [Int] = []
    package var notNull = false
    package var defaultSQL: String?
    package var identity = false       // SERIAL / AUTO_INCREMENT / GENERATED AS IDENTITY
    /// The owned sequence an identity column takes its values from (absent in catalogs written
    /// before sequences, and for temporary tables: their next value is one past the largest).
    package var sequence: String?
    /// GENERATED ALWAYS / BY DEFAULT AS IDENTITY; absent for SERIAL (and AUTO_INCREMENT, which
    /// behave as BY DEFAULT).
    package var generated: IdentityGeneration?
    /// GENERATED ALWAYS AS (expression) STORED: the expression's SQL, over the row's other
    /// columns (StatementExecutor+Generated); absent for other columns.
    package var generatedSQL: String?

    package init(name: String, type: SQLType, modifiers: [Int] = [], notNull: Bool = false, defaultSQL: String? = nil,
                 identity: Bool = false, sequence: String? = nil, generated: IdentityGeneration? = nil) {
        self.name = name
        self.type = type
        self.modifiers = modifiers
        self.notNull = notNull
        self.defaultSQL = defaultSQL
        self.identity = identity
        self.sequence = sequence
        self.generated = generated
    }
}

package enum IdentityGeneration: String, Codable, Sendable {
    case always = "ALWAYS"
    case byDefault = "BY DEFAULT"
}

/// A sequence (docs/sql.md, "Sequences"): its options. Its value is not here but in the
/// state record of its incarnation (docs/storage.md §3, "Non-transactional writes").
package struct SequenceSchema: Codable, Sendable, Equatable {
    package var name: String
    /// A new random id at CREATE, RESTART and TRUNCATE … RESTART IDENTITY: the key of the state.
    package var incarnation: UInt64
    package var type: SQLType
    package var increment: Int64
    package var minValue: Int64
    package var maxValue: Int64
    package var start: Int64
    /// Where a fresh incarnation starts (RESTART WITH); nil: `start`.
    package var restart: Int64?
    package var cache: Int64
    package var cycle: Bool
    /// OWNED BY table.column: dropped with the table (or the column).
    package var ownerTable: String?
    package var ownerColumn: String?

    /// The value a fresh incarnation hands out first.
    package var firstValue: Int64 { restart ?? start }
}

package struct TableSchema: Codable, Sendable {
    package var name: String
    package var columns: [ColumnSchema]
    package var root: UInt64
    /// The column whose value is the row id (a single-column INTEGER/BIGINT primary key).
    package var rowIDColumn: Int?
    package var primaryKey: [String] = []
    package var checks: [NamedCheck] = []
    /// Absent in catalogs written before foreign keys existed.
    package var foreignKeys: [ForeignKey]?
    /// Set on the tables of a connection's temporary catalog (docs/temporary-tables.md), whose
    /// pages live in that connection's private engine; absent for permanent tables.
    package var temporary: Bool?
    /// A temporary table's ON COMMIT action (absent: PRESERVE ROWS).
    package var onCommit: OnCommitAction?

    package var isTemporary: Bool { temporary == true }

    package func columnIndex(_ name: String) -> Int? { columns.firstIndex { $0.name == name } }
}

package struct ForeignKey: Codable, Sendable {
    package var name: String
    package var columns: [String]
    package var parent: String
    package var parentColumns: [String]
    package var onDelete: ReferentialAction
    package var onUpdate: ReferentialAction
}

package struct NamedCheck: Codable, Sendable {
    package var name: String
    package var sql: String
}

package struct IndexSchema: Codable, Sendable {
    package var name: String
    package var table: String
    /// Column names; for an expression index, each element's SQL (for messages).
    package var columns: [String]
    /// SQL of each element when any is an expression; nil for an index on plain columns.
    package var expressions: [String]?
    package var unique: Bool
    package var root: UInt64
    /// Made by PRIMARY KEY or UNIQUE in CREATE TABLE (dropped with the table, not by DROP INDEX).
    package var constraint: Bool = false
    /// A partial index's WHERE predicate as SQL: only the rows it holds for are indexed
    /// (absent for a full index, and in catalogs written before partial indexes).
    package var predicate: String?
}

package struct ViewSchema: Codable, Sendable {
    package var name: String
    package var columns: [String]
    package var sql: String
    /// Set on the views of a connection's temporary catalog; absent for permanent views.
    package var temporary: Bool?
    /// The columns of each relation the query reads, as they were when the view was created
    /// (a `*` is every column then): what DROP and ALTER COLUMN check (StatementExecutor+
    /// Dependencies). Absent in catalogs written before it: derived from the query then.
    package var dependencies: [String: [String]]?
}
