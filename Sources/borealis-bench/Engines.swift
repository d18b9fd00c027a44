// The two engines behind one small interface, so that every workload runs the same SQL on
// both: Borealis through its Swift API, SQLite through its C API (WAL, synchronous=FULL,
// prepared statements, one connection per thread).

import Borealis
import CSQLite3
import Foundation

protocol BenchConnection: AnyObject, Sendable {
    func exec(_ sql: String) throws
    func prepare(_ sql: String) throws -> BenchStatement
    func close()
    /// A read-only connection for analytical reads: on Borealis a read replica of this
    /// connection's database, on SQLite another connection (WAL readers).
    func openReplica(path: String) throws -> BenchConnection
}

protocol BenchStatement: AnyObject {
    /// Binds, runs to the end, and returns the rows.
    func run(_ values: [Value]) throws -> [[Value]]
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
}

enum EngineKind: String {
    case borealis, sqlite

    func connect(_ path: String) throws -> BenchConnection {
        switch self {
        case .borealis: return try BorealisConnection(path)
        case .sqlite: return try SQLiteConnection(path)
        }
    }
}

final class BorealisConnection: BenchConnection, @unchecked Sendable {
    let db: Database
    init(_ path: String) throws { db = try Database(path: path) }
    func exec(_ sql: String) throws { try db.execute(sql) }
    func prepare(_ sql: String) throws -> BenchStatement {
        guard let statement = try db.prepare(sql).statement else { throw BenchError(description: "empty SQL") }
        return BorealisStatement(statement)
    }
    func close() { try? db.close() }
    func openReplica(path: String) throws -> BenchConnection { BorealisConnection(replica: try db.openReplica()) }
    init(replica: Database) { db = replica }
}

final class BorealisStatement: BenchStatement {
    let statement: PreparedStatement
    init(_ statement: PreparedStatement) { self.statement = statement }
    func run(_ values: [Value]) throws -> [[Value]] {
        statement.reset()
        try statement.bind(values)
        var rows: [[Value]] = []
        while let row = try statement.step() { rows.append(row) }
        return rows
    }
}

final class SQLiteConnection: BenchConnection, @unchecked Sendable {
    var db: OpaquePointer?
    init(_ path: String) throws {
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK else {
            throw BenchError(description: "sqlite open failed")
        }
        sqlite3_busy_timeout(db, 30_000)
        try exec("PRAGMA journal_mode=WAL")
        try exec("PRAGMA synchronous=FULL")
    }
    func exec(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        if sqlite3_exec(db, sql, nil, nil, &message) != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? "error"
            sqlite3_free(message)
            throw BenchError(description: "sqlite: \(text): \(sql)")
        }
    }
    func prepare(_ sql: String) throws -> BenchStatement {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw BenchError(description: "sqlite prepare: \(String(cString: sqlite3_errmsg(db))): \(sql)")
        }
        return SQLiteStatement(statement, db)
    }
    func close() { sqlite3_close_v2(db) }
    func openReplica(path: String) throws -> BenchConnection { try SQLiteConnection(path) }
}

final class SQLiteStatement: BenchStatement {
    let statement: OpaquePointer
    let db: OpaquePointer?
    init(_ statement: OpaquePointer, _ db: OpaquePointer?) {
        self.statement = statement
        self.db = db
    }
    deinit { sqlite3_finalize(statement) }
    func run(_ values: [Value]) throws -> [[Value]] {
        sqlite3_reset(statement)
        for (i, v) in values.enumerated() {
            let index = Int32(i + 1)
            switch v {
            case .integer(let n): sqlite3_bind_int64(statement, index, n)
            case .double(let d): sqlite3_bind_double(statement, index, d)
            case .text(let s): sqlite3_bind_text(statement, index, s, -1, unsafeBitCast(-1, to: sqlite3_destructor_type.self))
            default: sqlite3_bind_null(statement, index)
            }
        }
        var rows: [[Value]] = []
        var busyRetries = 0
        while true {
            let rc = sqlite3_step(statement)
            if rc == SQLITE_DONE { return rows }
            if rc == SQLITE_BUSY && rows.isEmpty && busyRetries < 10_000 {
                // WAL can report BUSY past the busy handler when readers and a checkpoint
                // collide; an application retries, and so does the benchmark.
                busyRetries += 1
                sqlite3_reset(statement)
                usleep(200)
                continue
            }
            guard rc == SQLITE_ROW else { throw BenchError(description: "sqlite step: \(String(cString: sqlite3_errmsg(db)))") }
            var row: [Value] = []
            for c in 0..<sqlite3_column_count(statement) {
                switch sqlite3_column_type(statement, c) {
                case SQLITE_INTEGER: row.append(.integer(sqlite3_column_int64(statement, c)))
                case SQLITE_FLOAT: row.append(.double(sqlite3_column_double(statement, c)))
                case SQLITE_NULL: row.append(.null)
                default: row.append(.text(String(cString: sqlite3_column_text(statement, c))))
                }
            }
            rows.append(row)
        }
    }
}
