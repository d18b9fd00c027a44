// Prepared statements the GRDB way: `makeStatement` takes exactly one statement and throws
// otherwise. `prepare(_:)` (Database.swift) keeps the SQLite/C shape — the first statement and
// the text after it, nil for none — which the C API's borealis_prepare uses.

import BorealisSQL
import BorealisStorage

extension Database {
    /// Parses `sql`, which must hold exactly one statement, into a reusable statement.
    /// Throws a syntax error (42601) for SQL with no statement or with more than one.
    ///
    /// ```swift
    /// let insert = try db.makeStatement("INSERT INTO player(name) VALUES ($1)")
    /// for name in ["ann", "bob"] { try insert.execute([.text(name)]) }
    /// ```
    public func makeStatement(_ sql: String) throws -> PreparedStatement {
        func failure(_ message: String) -> DatabaseError {
            var error = DatabaseError(.misuse, sqlState: SQLState.syntaxError, message)
            error.sql = sql
            return error
        }
        do {
            guard let (parsed, tail) = try Parser.parseFirst(sql) else {
                throw failure("makeStatement needs one SQL statement; the text holds none")
            }
            if try Parser.parseFirst(tail) != nil {
                throw failure("makeStatement takes one SQL statement; the text holds more (run a script with execute)")
            }
            let statement = PreparedStatement(database: self, parsed: parsed)
            try statement.describe() // an unknown table or column fails here, not at the first run
            return statement
        } catch var error as DatabaseError {
            if error.sql == nil { error.sql = sql }
            throw error
        }
    }
}
