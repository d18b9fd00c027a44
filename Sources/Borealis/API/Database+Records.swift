// Records: `Encodable` values written as rows and rows read as `Decodable` values, the way GRDB
// users expect. `insert` builds `INSERT INTO "table"("a", "b") VALUES ($1, $2)` from the
// record's coding keys; `update` and `save` find the row by the table's primary key. Names are
// quoted, so a key matches the column of exactly that name (an unquoted `CREATE TABLE Player`
// column `firstName` is stored as `firstname`; use snake_case columns and the snake_case
// strategies, or quote the names in the DDL).
//
// Each call looks the table up in the catalog and runs its statement while holding the
// connection's statement block (as `write` does), so another thread's transaction cannot change
// the table in between.

import BorealisSQL
import BorealisStorage

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension Database {
    /// Inserts `record` as a row of `table` and returns its row id (the value of an INTEGER,
    /// BIGINT or SERIAL primary key).
    ///
    /// A nil property is NULL, except for an identity column (SERIAL, BIGSERIAL,
    /// GENERATED … AS IDENTITY), which then takes its next value as `DEFAULT` would.
    ///
    /// ```swift
    /// struct Player: Codable { var id: Int64?; var name: String; var joinedAt: Date }
    /// try db.execute("CREATE TABLE player(id SERIAL PRIMARY KEY, name TEXT, joined_at TIMESTAMPTZ)")
    /// let id = try db.insert(Player(id: nil, name: "ann", joinedAt: Date()), into: "player",
    ///                        columnEncodingStrategy: .convertToSnakeCase)
    /// ```
    @discardableResult
    public func insert<T: Encodable>(_ record: T, into table: String,
                                     columnEncodingStrategy: DatabaseColumnEncodingStrategy = .useDefaultKeys) throws -> Int64 {
        try insert(columns: try RecordEncoder.encode(record, strategy: columnEncodingStrategy), into: table)
    }

    /// Updates the row of `table` whose primary key equals the record's; true when there was
    /// one. Every encoded column is written. Throws (42P10) when the table has no primary key
    /// or the record has no value for a key column.
    ///
    /// ```swift
    /// player.name = "anne"
    /// if try !db.update(player, in: "player", columnEncodingStrategy: .convertToSnakeCase) { … }
    /// ```
    @discardableResult
    public func update<T: Encodable>(_ record: T, in table: String,
                                     columnEncodingStrategy: DatabaseColumnEncodingStrategy = .useDefaultKeys) throws -> Bool {
        try update(columns: try RecordEncoder.encode(record, strategy: columnEncodingStrategy), in: table)
    }

    /// Inserts `record`, or updates the row with its primary key when there is one, in one
    /// statement (`INSERT … ON CONFLICT (key) DO UPDATE`). A nil identity key inserts a new row.
    ///
    /// ```swift
    /// try db.save(Player(id: 7, name: "gus", joinedAt: Date()), into: "player",
    ///             columnEncodingStrategy: .convertToSnakeCase)
    /// ```
    public func save<T: Encodable>(_ record: T, into table: String,
                                   columnEncodingStrategy: DatabaseColumnEncodingStrategy = .useDefaultKeys) throws {
        try save(columns: try RecordEncoder.encode(record, strategy: columnEncodingStrategy), into: table)
    }

    /// The rows of a query decoded into `type`, columns matched to coding keys after
    /// `columnDecodingStrategy`.
    ///
    /// ```swift
    /// let players = try db.query(Player.self, "SELECT * FROM player ORDER BY id",
    ///                            columnDecodingStrategy: .convertFromSnakeCase)
    /// ```
    public func query<T: Decodable>(_ type: T.Type, _ sql: String, _ parameters: [Value] = [],
                                    columnDecodingStrategy: DatabaseColumnDecodingStrategy) throws -> [T] {
        try execute(sql, parameters).decoded(as: type, columnDecodingStrategy: columnDecodingStrategy)
    }

    // MARK: Encoded records (the async variants encode on the caller, then run these)

    func insert(columns: [(column: String, value: Value)], into table: String) throws -> Int64 {
        try block.withLock {
            let schema = try tableSchema(table)
            let (sql, parameters) = Self.insertStatement(table: table, schema: schema, columns: columns)
            return try execute(sql, parameters).lastInsertRowID
        }
    }

    func update(columns: [(column: String, value: Value)], in table: String) throws -> Bool {
        try block.withLock {
            let schema = try tableSchema(table)
            let key = try Self.keyColumns(of: schema, in: columns, table: table)
            var parameters: [Value] = []
            func parameter(_ value: Value) -> String {
                parameters.append(value)
                return "$\(parameters.count)"
            }
            let assignments = columns.filter { !key.contains($0.column) }.map { "\(quoted($0.column)) = \(parameter($0.value))" }
            let condition = columns.filter { key.contains($0.column) }.map { "\(quoted($0.column)) = \(parameter($0.value))" }
                .joined(separator: " AND ")
            if assignments.isEmpty {
                return try !execute("SELECT 1 FROM \(quoted(table)) WHERE \(condition)", parameters).rows.isEmpty
            }
            let sql = "UPDATE \(quoted(table)) SET \(assignments.joined(separator: ", ")) WHERE \(condition)"
            return try execute(sql, parameters).changes > 0
        }
    }

    func save(columns: [(column: String, value: Value)], into table: String) throws {
        try block.withLock {
            let schema = try tableSchema(table)
            guard !schema.primaryKey.isEmpty else { throw Self.noPrimaryKey(table) }
            let (insert, parameters) = Self.insertStatement(table: table, schema: schema, columns: columns)
            let others = columns.map(\.column).filter { !schema.primaryKey.contains($0) }
            let action = others.isEmpty
                ? "DO NOTHING"
                : "DO UPDATE SET " + others.map { "\(quoted($0)) = excluded.\(quoted($0))" }.joined(separator: ", ")
            let target = schema.primaryKey.map(quoted).joined(separator: ", ")
            try execute("\(insert) ON CONFLICT (\(target)) \(action)", parameters)
        }
    }

    // MARK: Statements

    private func tableSchema(_ table: String) throws -> TableSchema {
        try withCatalog { catalog, _ in try catalog.table(table) }
    }

    /// `INSERT INTO "table"("a", …) VALUES ($1, …)`, with DEFAULT for nil identity columns.
    private static func insertStatement(table: String, schema: TableSchema,
                                        columns: [(column: String, value: Value)]) -> (String, [Value]) {
        var parameters: [Value] = []
        var values: [String] = []
        for (column, value) in columns {
            if value.isNull, let index = schema.columnIndex(column), schema.columns[index].identity {
                values.append("DEFAULT")
            } else {
                parameters.append(value)
                values.append("$\(parameters.count)")
            }
        }
        if columns.isEmpty { return ("INSERT INTO \(quoted(table)) DEFAULT VALUES", []) }
        let names = columns.map { quoted($0.column) }.joined(separator: ", ")
        return ("INSERT INTO \(quoted(table))(\(names)) VALUES (\(values.joined(separator: ", ")))", parameters)
    }

    /// The primary key's column names; every one must have a non-NULL value in the record.
    private static func keyColumns(of schema: TableSchema, in columns: [(column: String, value: Value)], table: String) throws -> [String] {
        guard !schema.primaryKey.isEmpty else { throw noPrimaryKey(table) }
        for name in schema.primaryKey {
            guard let value = columns.first(where: { $0.column == name })?.value, !value.isNull else {
                throw DatabaseError(.misuse, sqlState: SQLState.invalidColumnReference, "the record has no value for primary key column \"\(name)\" of table \"\(table)\"")
            }
        }
        return schema.primaryKey
    }

    private static func noPrimaryKey(_ table: String) -> DatabaseError {
        DatabaseError(.misuse, sqlState: SQLState.invalidColumnReference, "table \"\(table)\" has no primary key to find the record's row by")
    }
}

/// A double-quoted SQL identifier: the name exactly, whatever its case or characters.
func quoted(_ name: String) -> String {
    "\"" + name.replacing("\"", with: "\"\"") + "\""
}
