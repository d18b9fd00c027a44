// What the PostgreSQL wire protocol listener (BorealisServer) needs of a connection and a
// statement beyond the public API: another connection to the same database for each session,
// the transaction state ReadyForQuery reports, and the command tag CommandComplete carries.

import BorealisSQL
import BorealisStorage

/// A connection's transaction state: ReadyForQuery's `I`, `T` and `E`.
package enum TransactionStatus: UInt8, Sendable {
    case idle = 0x49     // I
    case inBlock = 0x54  // T
    case failed = 0x45   // E
}

extension Database {
    /// A new connection to this connection's database (sharing its storage engine), opened
    /// with the engine's options: one per wire-protocol session.
    package func openConnection() throws -> Database {
        try Database(path: location, options: engine.options, readOnly: isReadOnly)
    }
}

extension PreparedStatement {
    /// The first word(s) of PostgreSQL's CommandComplete tag for this statement: `SELECT`,
    /// `INSERT`, `CREATE TABLE`, … (the server appends the row count where PostgreSQL does).
    package var commandVerb: String {
        if case .execute = parsed.statement {
            return PreparedStatement.commandVerb(of: parsed.statement, database: database)
        }
        return PreparedStatement.commandVerb(of: parsed.statement, database: nil)
    }

    static func commandVerb(of statement: Statement, database: Database? = nil) -> String {
        switch statement {
        case .select: return "SELECT"
        case .insert: return "INSERT"
        case .update: return "UPDATE"
        case .delete: return "DELETE"
        case .createTable: return "CREATE TABLE"
        case .createIndex: return "CREATE INDEX"
        case .createView: return "CREATE VIEW"
        case .dropTable: return "DROP TABLE"
        case .dropIndex: return "DROP INDEX"
        case .dropView: return "DROP VIEW"
        case .explain: return "EXPLAIN"
        case .truncate: return "TRUNCATE TABLE"
        case .analyze: return "ANALYZE"
        case .alterTable: return "ALTER TABLE"
        case .ddl(.replaceView): return "CREATE VIEW"
        case .ddl(.createTableAs(_, _, _, _, _, _, _)): return "SELECT"
        case .ddl(.comment): return "COMMENT"
        case .ddl(.createPartialIndex): return "CREATE INDEX"
        case .ddl(.dropCascade(let view, _, _)): return view ? "DROP VIEW" : "DROP TABLE"
        case .begin: return "BEGIN"
        case .commit: return "COMMIT"
        case .rollback, .rollbackToSavepoint: return "ROLLBACK"
        case .savepoint: return "SAVEPOINT"
        case .releaseSavepoint: return "RELEASE"
        case .set: return "SET"
        case .show: return "SHOW"
        case .reset: return "RESET"
        case .vacuum: return "VACUUM"
        case .prepare: return "PREPARE"
        case .schema(_, let create, _): return create ? "CREATE SCHEMA" : "DROP SCHEMA"
        case .deallocate(let name): return name == nil ? "DEALLOCATE ALL" : "DEALLOCATE"
        // EXECUTE answers with the tag of the statement it runs, as PostgreSQL's does.
        case .execute(let name, _):
            guard let inner = database?.preparedSQLStatement(named: name) else { return "EXECUTE" }
            return PreparedStatement.commandVerb(of: inner)
        case .sequence(.create): return "CREATE SEQUENCE"
        case .sequence(.alter): return "ALTER SEQUENCE"
        case .sequence(.drop): return "DROP SEQUENCE"
        }
    }
}
