// The one error type of the Borealis engine. Every failure a user, a file or the disk can cause
// surfaces as a `DatabaseError` with a result code (mapped 1:1 to the C ABI's codes later), the
// PostgreSQL SQLSTATE for the same condition, and a message that names what went wrong and where.
// `precondition` is kept for programmer errors inside the engine only.

/// An error raised by Borealis: a result code, a PostgreSQL SQLSTATE and a message.
///
/// ```swift
/// do { try txn.commit() }
/// catch let error as DatabaseError where error.code == .busy { /* retry later */ }
/// ```
public struct DatabaseError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The broad class of failure, mirrored by the C ABI's result codes.
    public enum Code: Int32, Sendable {
        case error = 1
        case `internal` = 2
        /// A transaction was rolled back instead of committed (COMMIT of a failed transaction).
        case abort = 4
        case busy = 5
        case readOnly = 8
        case interrupted = 9
        case ioError = 10
        case corrupt = 11
        case full = 13
        case cantOpen = 14
        case constraint = 19
        case mismatch = 20
        case misuse = 21
        case range = 25
        case serialization = 40
        /// A statement needed more memory than its limit (`statement_memory`, SQLSTATE 53200).
        /// (Last, so that the cases before it keep their places in the enum's layout.)
        case noMemory = 7
    }

    public var code: Code
    /// The PostgreSQL SQLSTATE of the same condition (`40001`, `58030`, `XX001`, …).
    public var sqlState: String
    public var message: String
    /// The SQL statement that failed, when the error came from one.
    public var sql: String?

    public init(_ code: Code, sqlState: String, _ message: String) {
        self.code = code
        self.sqlState = sqlState
        self.message = message
    }

    public var description: String { "\(message) (SQLSTATE \(sqlState))" }

    // MARK: Storage conditions

    static func io(_ operation: String, path: String, errno: Int32) -> DatabaseError {
        if errno == ENOSPC || errno == EDQUOT {
            return DatabaseError(.full, sqlState: SQLState.diskFull, "disk full: \(operation) on \(path) failed: \(errnoText(errno))")
        }
        return DatabaseError(.ioError, sqlState: SQLState.ioError, "I/O error: \(operation) on \(path) failed: \(errnoText(errno))")
    }

    package static func corrupt(_ message: String) -> DatabaseError {
        DatabaseError(.corrupt, sqlState: SQLState.dataCorrupted, "database corrupt: \(message)")
    }

    static func busy(_ message: String) -> DatabaseError {
        DatabaseError(.busy, sqlState: SQLState.lockNotAvailable, message)
    }

    static func serialization(_ message: String) -> DatabaseError {
        DatabaseError(.serialization, sqlState: SQLState.serializationFailure, message)
    }

    package static func misuse(_ message: String) -> DatabaseError {
        DatabaseError(.misuse, sqlState: SQLState.internalError, message)
    }

    package static func internalError(_ message: String) -> DatabaseError {
        DatabaseError(.internal, sqlState: SQLState.internalError, "internal error: \(message)")
    }

    package static func readOnly(_ message: String) -> DatabaseError {
        DatabaseError(.readOnly, sqlState: SQLState.readOnlySQLTransaction, message)
    }

    package static func tooLarge(_ message: String) -> DatabaseError {
        DatabaseError(.range, sqlState: SQLState.programLimitExceeded, message)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

func errnoText(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "errno \(code)" }
    return "\(String(cString: text)) (errno \(code))"
}
