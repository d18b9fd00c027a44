// The C ABI (Include/borealis.h): @_cdecl shims over the Swift API, built as libborealis.so.
// Rules kept here: nothing throws or traps across the boundary; every handle is checked
// against the registry of live handles, so a NULL, closed or finalized handle returns
// BOREALIS_MISUSE; memory handed to C for the caller to free is malloc'ed (borealis_free).

import Borealis
import FoundationEssentials
import Glibc
import Synchronization

// MARK: Result codes

private let OK: Int32 = 0, ERROR: Int32 = 1, BUSY: Int32 = 5, NOMEM: Int32 = 7, MISUSE: Int32 = 21, RANGE: Int32 = 25
private let ROW: Int32 = 100, DONE: Int32 = 101

private func code(of error: Error) -> Int32 {
    guard let error = error as? DatabaseError else { return ERROR }
    switch error.code {
    case .serialization: return BUSY
    case .interrupted: return ERROR
    default: return error.code.rawValue
    }
}

// MARK: Handles

/// Live handles; a pointer not in here is refused with MISUSE.
private let liveHandles = Mutex(Set<UInt>())

private func register(_ object: AnyObject) -> OpaquePointer {
    let pointer = Unmanaged.passRetained(object).toOpaque()
    let key = UInt(bitPattern: pointer)
    liveHandles.withLock { _ = $0.insert(key) }
    return OpaquePointer(pointer)
}

private func lookup<T: AnyObject>(_ handle: OpaquePointer?, as: T.Type) -> T? {
    guard let handle else { return nil }
    let raw = UnsafeMutableRawPointer(handle)
    let key = UInt(bitPattern: raw)
    guard liveHandles.withLock({ $0.contains(key) }) else { return nil }
    return Unmanaged<AnyObject>.fromOpaque(raw).takeUnretainedValue() as? T
}

private func unregister(_ handle: OpaquePointer) {
    let raw = UnsafeMutableRawPointer(handle)
    let key = UInt(bitPattern: raw)
    let removed = liveHandles.withLock { $0.remove(key) != nil }
    if removed { Unmanaged<AnyObject>.fromOpaque(raw).release() }
}

/// A C string owned by a handle until it is replaced.
final class CStringBox {
    private(set) var pointer: UnsafeMutablePointer<CChar>?
    func set(_ text: String?) {
        free(pointer)
        pointer = text.map { strdup($0) }
    }
    deinit { free(pointer) }
}

final class Connection {
    let database: Database?
    var errorCode: Int32 = OK
    let message = CStringBox()
    let sqlState = CStringBox()
    var changes: Int64 = 0
    var lastInsertRowID: Int64 = 0
    var statements: [OpaquePointer] = []

    init(database: Database?) {
        self.database = database
        message.set("not an error")
        sqlState.set("00000")
    }

    func succeed() -> Int32 {
        errorCode = OK
        message.set("not an error")
        sqlState.set("00000")
        return OK
    }

    func fail(_ error: Error) -> Int32 {
        errorCode = code(of: error)
        if let error = error as? DatabaseError {
            message.set(error.message)
            sqlState.set(error.sqlState)
        } else {
            message.set("\(error)")
            sqlState.set("XX000")
        }
        return errorCode
    }

    func fail(_ code: Int32, _ text: String, state: String = "XX000") -> Int32 {
        errorCode = code
        message.set(text)
        sqlState.set(state)
        return code
    }
}

final class Statement {
    let connection: Connection
    let prepared: PreparedStatement
    var row: [Value]?
    var finished = false
    var names: [CStringBox] = []
    /// Text and blob buffers of the current row, valid until the next step/reset/finalize.
    var buffers: [Int: UnsafeMutableRawPointer] = [:]

    init(connection: Connection, prepared: PreparedStatement) {
        self.connection = connection
        self.prepared = prepared
    }

    func releaseBuffers() {
        for (_, pointer) in buffers { free(pointer) }
        buffers = [:]
    }

    deinit { releaseBuffers() }
}

private func string(_ pointer: UnsafePointer<CChar>?, _ length: Int32 = -1) -> String? {
    guard let pointer else { return nil }
    if length < 0 { return String(cString: pointer) }
    return String(decoding: UnsafeRawBufferPointer(start: pointer, count: Int(length)), as: UTF8.self)
}

// MARK: Library

@_cdecl("borealis_libversion")
public func borealis_libversion() -> UnsafePointer<CChar>? {
    UnsafeRawPointer(StaticString("0.1.0").utf8Start).assumingMemoryBound(to: CChar.self)
}

@_cdecl("borealis_errstr")
public func borealis_errstr(_ code: Int32) -> UnsafePointer<CChar>? {
    let text: StaticString
    switch code {
    case 0: text = "not an error"
    case 1: text = "SQL error"
    case 2: text = "internal error"
    case 5: text = "database is locked"
    case 7: text = "out of memory"
    case 8: text = "attempt to write a readonly database"
    case 10: text = "disk I/O error"
    case 11: text = "database disk image is malformed"
    case 13: text = "database or disk is full"
    case 19: text = "constraint failed"
    case 20: text = "datatype mismatch"
    case 21: text = "bad parameter or other API misuse"
    case 25: text = "column index out of range"
    case 100: text = "another row available"
    case 101: text = "no more rows available"
    default: text = "unknown error"
    }
    return UnsafeRawPointer(text.utf8Start).assumingMemoryBound(to: CChar.self)
}

@_cdecl("borealis_free")
public func borealis_free(_ pointer: UnsafeMutableRawPointer?) {
    free(pointer)
}

// MARK: Connections

/// Mirrors `borealis_options` in the header.
public struct CBorealisOptions {
    var cacheBytes: Int64
    var synchronous: Int32
    var busyTimeoutMilliseconds: Int32
    var pageSize: Int32
}

@_cdecl("borealis_open")
public func borealis_open(_ filename: UnsafePointer<CChar>?, _ db: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    borealis_open_v2(filename, db, 0x02 | 0x04, nil)
}

@_cdecl("borealis_open_v2")
public func borealis_open_v2(_ filename: UnsafePointer<CChar>?, _ db: UnsafeMutablePointer<OpaquePointer?>?,
                             _ flags: Int32, _ options: UnsafeRawPointer?) -> Int32 {
    guard let db else { return MISUSE }
    db.pointee = nil
    guard let path = string(filename) else { return MISUSE }
    var storage = StorageOptions()
    if let options {
        let o = options.loadUnaligned(as: CBorealisOptions.self)
        if o.cacheBytes > 0 { storage.cacheBytes = Int(o.cacheBytes) }
        if o.synchronous == 2 { storage.synchronous = .off }
        if o.busyTimeoutMilliseconds > 0 { storage.busyTimeoutMilliseconds = Int(o.busyTimeoutMilliseconds) }
        if o.pageSize > 0 { storage.pageSize = Int(o.pageSize) }
    }
    let readOnly = flags & 0x01 != 0
    let create = flags & 0x04 != 0 || flags == 0
    if path != ":memory:" && !create && !FileManager.default.fileExists(atPath: path) {
        let connection = Connection(database: nil)
        _ = connection.fail(ERROR, "unable to open database file \(path): it does not exist (and BOREALIS_OPEN_CREATE was not given)", state: "58P01")
        db.pointee = register(connection)
        return ERROR
    }
    do {
        let database = try Database(path: path, options: storage, readOnly: readOnly)
        db.pointee = register(Connection(database: database))
        return OK
    } catch {
        let connection = Connection(database: nil)
        let result = connection.fail(error)
        db.pointee = register(connection)
        return result
    }
}

@_cdecl("borealis_close")
public func borealis_close(_ db: OpaquePointer?) -> Int32 {
    guard let db else { return OK }
    guard let connection = lookup(db, as: Connection.self) else { return MISUSE }
    for statement in connection.statements { unregister(statement) }
    connection.statements = []
    var result = OK
    do { try connection.database?.close() } catch { result = connection.fail(error) }
    unregister(db)
    return result
}

@_cdecl("borealis_errcode")
public func borealis_errcode(_ db: OpaquePointer?) -> Int32 {
    guard let connection = lookup(db, as: Connection.self) else { return MISUSE }
    return connection.errorCode
}

@_cdecl("borealis_errmsg")
public func borealis_errmsg(_ db: OpaquePointer?) -> UnsafePointer<CChar>? {
    guard let connection = lookup(db, as: Connection.self) else { return borealis_errstr(MISUSE) }
    return UnsafePointer(connection.message.pointer)
}

@_cdecl("borealis_sqlstate")
public func borealis_sqlstate(_ db: OpaquePointer?) -> UnsafePointer<CChar>? {
    guard let connection = lookup(db, as: Connection.self) else { return UnsafeRawPointer(StaticString("XX000").utf8Start).assumingMemoryBound(to: CChar.self) }
    return UnsafePointer(connection.sqlState.pointer)
}

@_cdecl("borealis_changes")
public func borealis_changes(_ db: OpaquePointer?) -> Int64 {
    lookup(db, as: Connection.self)?.changes ?? 0
}

@_cdecl("borealis_last_insert_rowid")
public func borealis_last_insert_rowid(_ db: OpaquePointer?) -> Int64 {
    lookup(db, as: Connection.self)?.lastInsertRowID ?? 0
}

// MARK: Replicas (docs/replicas.md)

@_cdecl("borealis_replica_open")
public func borealis_replica_open(_ primary: OpaquePointer?, _ replica: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guard let replica else { return MISUSE }
    replica.pointee = nil
    guard let connection = lookup(primary, as: Connection.self) else { return MISUSE }
    guard let database = connection.database else { return connection.fail(MISUSE, "the connection failed to open", state: "08003") }
    do {
        let opened = try database.openReplica()
        replica.pointee = register(Connection(database: opened))
        return connection.succeed()
    } catch {
        return connection.fail(error)
    }
}

@_cdecl("borealis_last_commit_lsn")
public func borealis_last_commit_lsn(_ db: OpaquePointer?) -> Int64 {
    guard let database = lookup(db, as: Connection.self)?.database else { return 0 }
    return Int64(bitPattern: database.lastCommitLSN)
}

@_cdecl("borealis_replica_wait")
public func borealis_replica_wait(_ db: OpaquePointer?, _ lsn: Int64, _ timeoutMilliseconds: Int32) -> Int32 {
    guard let connection = lookup(db, as: Connection.self) else { return MISUSE }
    guard let database = connection.database, lsn >= 0 else { return connection.fail(MISUSE, "bad connection or negative LSN", state: "22023") }
    do {
        let reached = try database.waitFor(lsn: UInt64(lsn), timeout: Double(max(0, timeoutMilliseconds)) / 1000)
        return reached ? connection.succeed() : connection.fail(BUSY, "the replica did not reach LSN \(lsn) within \(timeoutMilliseconds) ms", state: "57014")
    } catch {
        return connection.fail(error)
    }
}

@_cdecl("borealis_replica_lag")
public func borealis_replica_lag(_ db: OpaquePointer?, _ lagBytes: UnsafeMutablePointer<Int64>?, _ lagSeconds: UnsafeMutablePointer<Double>?) -> Int32 {
    guard let connection = lookup(db, as: Connection.self) else { return MISUSE }
    guard let database = connection.database, let lag = database.replicaLag else {
        return connection.fail(MISUSE, "not a replica connection", state: "55000")
    }
    if let error = database.replicaDetachedError { return connection.fail(error) }
    lagBytes?.pointee = Int64(clamping: lag.bytes)
    lagSeconds?.pointee = lag.seconds
    return connection.succeed()
}

@_cdecl("borealis_replica_promote")
public func borealis_replica_promote(_ db: OpaquePointer?) -> Int32 {
    guard let connection = lookup(db, as: Connection.self) else { return MISUSE }
    guard let database = connection.database else { return connection.fail(MISUSE, "the connection failed to open", state: "08003") }
    do {
        try database.promote()
        return connection.succeed()
    } catch {
        return connection.fail(error)
    }
}

// MARK: exec

public typealias ExecCallback = @convention(c) (UnsafeMutableRawPointer?, Int32, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                                                UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32

@_cdecl("borealis_exec")
public func borealis_exec(_ db: OpaquePointer?, _ sql: UnsafePointer<CChar>?, _ callback: ExecCallback?,
                          _ context: UnsafeMutableRawPointer?, _ errmsg: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    errmsg?.pointee = nil
    guard let connection = lookup(db, as: Connection.self), let database = connection.database, let text = string(sql) else {
        return MISUSE
    }
    func report(_ code: Int32) -> Int32 {
        if code != OK { errmsg?.pointee = strdup(connection.message.pointer.map { String(cString: $0) } ?? "error") }
        return code
    }
    var remaining = text
    while true {
        let prepared: PreparedStatement?
        do {
            (prepared, remaining) = try database.prepare(remaining)
        } catch {
            return report(connection.fail(error))
        }
        guard let statement = prepared else { return report(connection.succeed()) }
        var names: [UnsafeMutablePointer<CChar>?] = []
        defer { names.forEach { free($0) } }
        do {
            while let row = try statement.step() {
                guard let callback else { continue }
                if names.isEmpty { names = statement.columnNames.map { strdup($0) } }
                var values: [UnsafeMutablePointer<CChar>?] = row.map { $0.isNull ? nil : strdup($0.description) }
                defer { values.forEach { free($0) } }
                let stop = values.withUnsafeMutableBufferPointer { v in
                    names.withUnsafeMutableBufferPointer { n in
                        callback(context, Int32(row.count), v.baseAddress, n.baseAddress)
                    }
                }
                if stop != 0 { return report(connection.fail(ERROR, "callback requested abort", state: "57014")) }
            }
            connection.changes = Int64(statement.changes)
            if statement.lastInsertRowID != 0 { connection.lastInsertRowID = statement.lastInsertRowID }
        } catch {
            return report(connection.fail(error))
        }
    }
}

// MARK: Statements

@_cdecl("borealis_prepare")
public func borealis_prepare(_ db: OpaquePointer?, _ sql: UnsafePointer<CChar>?, _ nbyte: Int32,
                             _ stmt: UnsafeMutablePointer<OpaquePointer?>?, _ tail: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> Int32 {
    stmt?.pointee = nil
    tail?.pointee = nil
    guard let connection = lookup(db, as: Connection.self), let database = connection.database, let sql, let stmt else { return MISUSE }
    let length = nbyte < 0 ? strlen(sql) : Int(nbyte)
    let text = String(decoding: UnsafeRawBufferPointer(start: sql, count: length), as: UTF8.self)
    do {
        let (prepared, rest) = try database.prepare(text)
        // The tail points into the caller's buffer: its length in bytes says where.
        tail?.pointee = sql + (length - rest.utf8.count)
        guard let prepared else { return connection.succeed() }
        let handle = register(Statement(connection: connection, prepared: prepared))
        connection.statements.append(handle)
        stmt.pointee = handle
        return connection.succeed()
    } catch {
        return connection.fail(error)
    }
}

private func statement(_ handle: OpaquePointer?) -> Statement? { lookup(handle, as: Statement.self) }

private func bind(_ handle: OpaquePointer?, _ index: Int32, _ value: Value) -> Int32 {
    guard let s = statement(handle) else { return MISUSE }
    if s.row != nil || s.finished { resetState(s) }
    do {
        try s.prepared.bind(Int(index), value)
        return s.connection.succeed()
    } catch {
        return s.connection.fail(error)
    }
}

private func resetState(_ s: Statement) {
    s.prepared.reset()
    s.row = nil
    s.finished = false
    s.releaseBuffers()
}

private func callDestructor(_ destructor: UnsafeRawPointer?, _ pointer: UnsafeRawPointer?) {
    guard let destructor, Int(bitPattern: destructor) != -1 else { return }
    typealias Destructor = @convention(c) (UnsafeMutableRawPointer?) -> Void
    unsafeBitCast(destructor, to: Destructor.self)(UnsafeMutableRawPointer(mutating: pointer))
}

@_cdecl("borealis_bind_null")
public func borealis_bind_null(_ stmt: OpaquePointer?, _ index: Int32) -> Int32 { bind(stmt, index, .null) }

@_cdecl("borealis_bind_int64")
public func borealis_bind_int64(_ stmt: OpaquePointer?, _ index: Int32, _ value: Int64) -> Int32 { bind(stmt, index, .integer(value)) }

@_cdecl("borealis_bind_double")
public func borealis_bind_double(_ stmt: OpaquePointer?, _ index: Int32, _ value: Double) -> Int32 { bind(stmt, index, .double(value)) }

@_cdecl("borealis_bind_text")
public func borealis_bind_text(_ stmt: OpaquePointer?, _ index: Int32, _ text: UnsafePointer<CChar>?, _ n: Int32,
                               _ destructor: UnsafeRawPointer?) -> Int32 {
    let value: Value = text.map { .text(string($0, n) ?? "") } ?? .null
    callDestructor(destructor, text.map(UnsafeRawPointer.init))
    return bind(stmt, index, value)
}

@_cdecl("borealis_bind_blob")
public func borealis_bind_blob(_ stmt: OpaquePointer?, _ index: Int32, _ data: UnsafeRawPointer?, _ n: Int32,
                               _ destructor: UnsafeRawPointer?) -> Int32 {
    guard n >= 0 || data == nil else { return statement(stmt).map { $0.connection.fail(RANGE, "negative blob length", state: "22023") } ?? MISUSE }
    let value: Value = data.map { .blob(Array(UnsafeRawBufferPointer(start: $0, count: Int(n)))) } ?? .null
    callDestructor(destructor, data)
    return bind(stmt, index, value)
}

@_cdecl("borealis_bind_parameter_count")
public func borealis_bind_parameter_count(_ stmt: OpaquePointer?) -> Int32 {
    Int32(statement(stmt)?.prepared.parameterCount ?? 0)
}

@_cdecl("borealis_clear_bindings")
public func borealis_clear_bindings(_ stmt: OpaquePointer?) -> Int32 {
    guard let s = statement(stmt) else { return MISUSE }
    s.prepared.clearBindings()
    return OK
}

@_cdecl("borealis_step")
public func borealis_step(_ stmt: OpaquePointer?) -> Int32 {
    guard let s = statement(stmt) else { return MISUSE }
    s.releaseBuffers()
    if s.finished { return s.connection.fail(MISUSE, "borealis_step after the statement finished: call borealis_reset first", state: "XX000") }
    do {
        if let row = try s.prepared.step() {
            s.row = row
            return ROW
        }
        s.row = nil
        s.finished = true
        s.connection.changes = Int64(s.prepared.changes)
        if s.prepared.lastInsertRowID != 0 { s.connection.lastInsertRowID = s.prepared.lastInsertRowID }
        _ = s.connection.succeed()
        return DONE
    } catch {
        s.row = nil
        s.finished = true
        return s.connection.fail(error)
    }
}

@_cdecl("borealis_reset")
public func borealis_reset(_ stmt: OpaquePointer?) -> Int32 {
    guard let s = statement(stmt) else { return MISUSE }
    resetState(s)
    return OK
}

@_cdecl("borealis_finalize")
public func borealis_finalize(_ stmt: OpaquePointer?) -> Int32 {
    guard let stmt else { return OK }
    guard let s = statement(stmt) else { return MISUSE }
    s.connection.statements.removeAll { $0 == stmt }
    unregister(stmt)
    return OK
}

// MARK: Columns

private func column(_ handle: OpaquePointer?, _ index: Int32) -> (Statement, Value)? {
    guard let s = statement(handle) else { return nil }
    guard let row = s.row, index >= 0, Int(index) < row.count else {
        _ = s.connection.fail(RANGE, "column index \(index) is out of range", state: "22023")
        return nil
    }
    return (s, row[Int(index)])
}

@_cdecl("borealis_column_count")
public func borealis_column_count(_ stmt: OpaquePointer?) -> Int32 {
    guard let s = statement(stmt) else { return 0 }
    return Int32(s.row?.count ?? s.prepared.columnNames.count)
}

@_cdecl("borealis_column_name")
public func borealis_column_name(_ stmt: OpaquePointer?, _ index: Int32) -> UnsafePointer<CChar>? {
    guard let s = statement(stmt) else { return nil }
    let names = s.prepared.columnNames
    guard index >= 0, Int(index) < names.count else { return nil }
    if s.names.count != names.count {
        s.names = names.map { name in
            let box = CStringBox()
            box.set(name)
            return box
        }
    }
    return UnsafePointer(s.names[Int(index)].pointer)
}

@_cdecl("borealis_column_type")
public func borealis_column_type(_ stmt: OpaquePointer?, _ index: Int32) -> Int32 {
    guard let (_, value) = column(stmt, index) else { return 5 }
    switch value {
    case .null: return 5
    case .integer, .boolean: return 1
    case .double: return 2
    case .blob: return 4
    default: return 3
    }
}

@_cdecl("borealis_column_int64")
public func borealis_column_int64(_ stmt: OpaquePointer?, _ index: Int32) -> Int64 {
    guard let (_, value) = column(stmt, index) else { return 0 }
    switch value {
    case .integer(let i): return i
    case .boolean(let b): return b ? 1 : 0
    case .double(let d): return d.isFinite ? Int64(max(-9.2e18, min(9.2e18, d.rounded(.towardZero)))) : 0
    case .null: return 0
    default:
        let text = value.description.trimmingWhitespace()
        return Int64(text) ?? Int64(Double(text).map { $0.rounded(.towardZero) } ?? 0)
    }
}

@_cdecl("borealis_column_double")
public func borealis_column_double(_ stmt: OpaquePointer?, _ index: Int32) -> Double {
    guard let (_, value) = column(stmt, index) else { return 0 }
    switch value {
    case .integer(let i): return Double(i)
    case .double(let d): return d
    case .boolean(let b): return b ? 1 : 0
    case .null: return 0
    default: return Double(value.description.trimmingWhitespace()) ?? 0
    }
}

/// The column's bytes (text as UTF-8, a blob as is), NUL-terminated, owned by the statement.
private func columnBytes(_ stmt: OpaquePointer?, _ index: Int32) -> (UnsafeMutableRawPointer, Int)? {
    guard let (s, value) = column(stmt, index) else { return nil }
    if value.isNull { return nil }
    let bytes: [UInt8]
    if case .blob(let b) = value { bytes = b } else { bytes = Array(value.description.utf8) }
    if let existing = s.buffers[Int(index)] { return (existing, bytes.count) }
    guard let buffer = malloc(bytes.count + 1) else { return nil }
    bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress ?? UnsafeRawPointer(buffer), byteCount: bytes.count) }
    buffer.storeBytes(of: 0, toByteOffset: bytes.count, as: UInt8.self)
    s.buffers[Int(index)] = buffer
    return (buffer, bytes.count)
}

@_cdecl("borealis_column_text")
public func borealis_column_text(_ stmt: OpaquePointer?, _ index: Int32) -> UnsafePointer<UInt8>? {
    columnBytes(stmt, index).map { UnsafePointer($0.0.assumingMemoryBound(to: UInt8.self)) }
}

@_cdecl("borealis_column_blob")
public func borealis_column_blob(_ stmt: OpaquePointer?, _ index: Int32) -> UnsafeRawPointer? {
    columnBytes(stmt, index).map { UnsafeRawPointer($0.0) }
}

@_cdecl("borealis_column_bytes")
public func borealis_column_bytes(_ stmt: OpaquePointer?, _ index: Int32) -> Int32 {
    guard let (_, value) = column(stmt, index) else { return 0 }
    switch value {
    case .null: return 0
    case .blob(let b): return Int32(b.count)
    default: return Int32(value.description.utf8.count)
    }
}
