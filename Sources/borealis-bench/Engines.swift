// The two engines behind one small interface, so that every workload runs the same SQL on
// both: Borealis through its Swift API, SQLite through its C API (WAL, synchronous=FULL, foreign_keys=ON,
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

/// A prepared statement, driven the way each engine's Swift user drives it: Borealis through
/// `PreparedStatement` (whose `step()` returns the row as `[Value]`, its native form), SQLite
/// through `sqlite3_step` and `sqlite3_column_int64/double/text` on the current row (no
/// conversion of its rows into `Value`). Parameters are bound from `Value`s once per execution.
protocol BenchStatement: AnyObject {
    /// Resets the statement and binds `values` to $1, $2, ….
    func start(_ values: [Value]) throws
    /// Moves to the next row; false at the end.
    func step() throws -> Bool
    /// Columns of the current row, numbered from 0.
    func int64(_ column: Int) -> Int64
    func double(_ column: Int) -> Double
    func text(_ column: Int) -> String
    var columnCount: Int { get }
}

extension BenchStatement {
    /// Runs the statement to its end, reading nothing.
    func execute(_ values: [Value] = []) throws {
        try start(values)
        while try step() {}
    }

    /// The first row's columns as integers, for checks (the statement runs to its end).
    func integers(_ values: [Value] = []) throws -> [Int64] {
        try start(values)
        guard try step() else { throw BenchError(description: "no row") }
        let row = (0..<columnCount).map { int64($0) }
        while try step() {}
        return row
    }

    /// The number of rows.
    func rowCount(_ values: [Value] = []) throws -> Int {
        try start(values)
        var rows = 0
        while try step() { rows += 1 }
        return rows
    }
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
    /// Databases keep the continuous archive, the default; BOREALIS_BENCH_ARCHIVE=0 opens every
    /// Borealis database without it (to measure what it costs: docs/backup.md §4).
    init(_ path: String) throws {
        var options = StorageOptions()
        options.continuousArchive = ProcessInfo.processInfo.environment["BOREALIS_BENCH_ARCHIVE"] != "0"
        db = try Database(path: path, options: options)
    }
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
    var row: [Value] = []
    init(_ statement: PreparedStatement) { self.statement = statement }
    func start(_ values: [Value]) throws {
        statement.reset()
        try statement.bind(values)
    }
    func step() throws -> Bool {
        guard let next = try statement.step() else { return false }
        row = next
        return true
    }
    func int64(_ column: Int) -> Int64 {
        switch row[column] {
        case .integer(let i): return i
        case .double(let d): return Int64(d)
        case .boolean(let b): return b ? 1 : 0
        case .numeric(let n): return Int64(n.description) ?? Int64(n.doubleValue)
        case let other: return Int64(other.description) ?? 0
        }
    }
    func double(_ column: Int) -> Double {
        switch row[column] {
        case .double(let d): return d
        case .integer(let i): return Double(i)
        case .numeric(let n): return n.doubleValue
        case let other: return Double(other.description) ?? 0
        }
    }
    func text(_ column: Int) -> String {
        if case .text(let s) = row[column] { return s }
        return row[column].description
    }
    var columnCount: Int { statement.columnNames.count }
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
        try exec("PRAGMA foreign_keys=ON")  // Borealis always enforces foreign keys
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
    /// Whether the current execution returned a row yet (BUSY is retried only before).
    var sawRow = false
    func start(_ values: [Value]) throws {
        sqlite3_reset(statement)
        sawRow = false
        for (i, v) in values.enumerated() {
            let index = Int32(i + 1)
            switch v {
            case .integer(let n): sqlite3_bind_int64(statement, index, n)
            case .double(let d): sqlite3_bind_double(statement, index, d)
            case .text(let s): sqlite3_bind_text(statement, index, s, -1, unsafeBitCast(-1, to: sqlite3_destructor_type.self))
            default: sqlite3_bind_null(statement, index)
            }
        }
    }
    func step() throws -> Bool {
        var busyRetries = 0
        while true {
            let rc = sqlite3_step(statement)
            if rc == SQLITE_ROW {
                sawRow = true
                return true
            }
            if rc == SQLITE_DONE { return false }
            if rc == SQLITE_BUSY && !sawRow && busyRetries < 10_000 {
                // WAL can report BUSY past the busy handler when readers and a checkpoint
                // collide; an application retries, and so does the benchmark.
                busyRetries += 1
                sqlite3_reset(statement)
                usleep(200)
                continue
            }
            throw BenchError(description: "sqlite step: \(String(cString: sqlite3_errmsg(db)))")
        }
    }
    func int64(_ column: Int) -> Int64 { sqlite3_column_int64(statement, Int32(column)) }
    func double(_ column: Int) -> Double { sqlite3_column_double(statement, Int32(column)) }
    func text(_ column: Int) -> String {
        guard let text = sqlite3_column_text(statement, Int32(column)) else { return "" }
        return String(cString: text)
    }
    var columnCount: Int { Int(sqlite3_column_count(statement)) }
}
