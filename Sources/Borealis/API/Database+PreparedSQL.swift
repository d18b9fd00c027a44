// SQL-level prepared statements: PREPARE name [(types)] AS statement, EXECUTE name
// [(arguments)], DEALLOCATE [PREPARE] name | ALL. Each connection keeps its own, as each
// PostgreSQL session does; they last until DEALLOCATE or the connection closes, and neither
// PREPARE nor DEALLOCATE is undone by a rollback (PostgreSQL's rule too). The statement is
// parsed once, at PREPARE; it is planned when it runs, with the plan cache of an ordinary
// statement. Errors: 42P05 for a name in use, 26000 for an unknown one, 42601 for the wrong
// number of arguments.

import BorealisStorage
import BorealisSQL

/// One PREPARE's statement.
struct PreparedSQL {
    var statement: Statement
    var types: [TypeName]
    var parameterCount: Int
    var text: String
}

extension Database {
    /// Runs PREPARE, EXECUTE or DEALLOCATE (called by `run` with the connection locked).
    func runPreparedStatementCommand(_ statement: Statement, _ parameters: [Value]) throws -> QueryResult {
        switch statement {
        case .prepare(let name, let types, let inner, let text, let parameterCount):
            guard preparedSQL[name] == nil else {
                throw DatabaseError(.error, sqlState: SQLState.duplicatePreparedStatement, "prepared statement \"\(name)\" already exists")
            }
            preparedSQL[name] = PreparedSQL(statement: inner, types: types, parameterCount: parameterCount, text: text)
            return QueryResult()
        case .execute(let name, let arguments):
            guard let prepared = preparedSQL[name] else {
                throw DatabaseError(.error, sqlState: SQLState.invalidSQLStatementName, "prepared statement \"\(name)\" does not exist")
            }
            guard arguments.count == prepared.parameterCount else {
                throw DatabaseError(.error, sqlState: SQLState.syntaxError,
                                    "wrong number of parameters for prepared statement \"\(name)\" (expected \(prepared.parameterCount), got \(arguments.count))")
            }
            let values = arguments.isEmpty ? [] : try run(.values(of: arguments, castTo: prepared.types), parameters).rows.first ?? []
            do {
                return try run(prepared.statement, values)
            } catch var error as DatabaseError {
                error.sql = prepared.text
                throw error
            }
        case .deallocate(let name):
            guard let name else {
                preparedSQL.removeAll()
                return QueryResult()
            }
            guard preparedSQL.removeValue(forKey: name) != nil else {
                throw DatabaseError(.error, sqlState: SQLState.invalidSQLStatementName, "prepared statement \"\(name)\" does not exist")
            }
            return QueryResult()
        default:
            throw DatabaseError.internalError("not a prepared-statement command")
        }
    }

    /// The statement a PREPARE of this connection named `name` holds (for EXECUTE's command tag).
    package func preparedSQLStatement(named name: String) -> Statement? {
        lockedValue { preparedSQL[name]?.statement }
    }
}
