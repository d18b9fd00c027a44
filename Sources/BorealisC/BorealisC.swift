// The C ABI (Include/borealis.h): @_cdecl shims over the Swift API, built as libborealis.so.
// Rules kept here: nothing throws or traps across the boundary; every handle is checked
// against the registry of live handles, so a NULL, closed or finalized handle returns
// BOREALIS_MISUSE; memory handed to C for the caller to free is malloc'ed (borealis_free).

import Borealis
import FoundationEssentials
import Glibc
import Synchronization

// MARK: Result codes

let OK: Int32 = 0, ERROR: Int32 = 1, BUSY: Int32 = 5, NOMEM: Int32 = 7, MISUSE: Int32 = 21, RANGE: Int32 = 25
let ROW: Int32 = 100, DONE: Int32 = 101

func code(of error: Error) -> Int32 {
    guard let error = error as? DatabaseError else { return ERROR }
    switch error.code {
    case .serialization: return BUSY
    default: return error.code.rawValue
    }
}

// MARK: Handles

/// Live handles; a pointer not in here is refused with MISUSE.
let liveHandles = HandleRegistry()

/// What a handle of the C API points to: a connection or a statement (both final classes),
/// each belonging to a connection, whose progress callback must not call back into it.
protocol HandleObject: AnyObject {
    var owner: Connection { get }
}

func register(_ object: some HandleObject) -> OpaquePointer {
    let pointer = Unmanaged.passRetained(object as AnyObject).toOpaque()
    let key = UInt(bitPattern: pointer)
    liveHandles.withLock { _ = $0.insert(key) }
    return OpaquePointer(pointer)
}

func lookup<T: HandleObject>(_ handle: OpaquePointer?, as: T.Type) -> T? {
    guard let handle else { return nil }
    let raw = UnsafeMutableRawPointer(handle)
    let key = UInt(bitPattern: raw)
    // The strong reference is taken while the handle is known live, under the registry's lock:
    // a close on another thread (borealis_interrupt's use) then only drops its own reference.
    let retained = liveHandles.withLock { handles -> Bool in
        guard handles.contains(key) else { return false }
        retainHandleObject(raw)
        return true
    }
    guard retained else { return nil }
    let object = Unmanaged<AnyObject>.fromOpaque(raw).takeRetainedValue()
    // Exactly T (a statement passed as a connection is refused): both kinds are final classes,
    // so comparing the class is the whole check, without a dynamic cast's walk.
    guard type(of: object) == T.self else { return nil }
    let typed = unsafeDowncast(object, to: T.self)
    // From inside its own progress callback a connection (or its statement) is mid-statement
    // under its lock: any call on it would wait for itself forever. MISUSE instead.
    let callbackThread = typed.owner.callbackThread.load(ordering: .relaxed)
    if callbackThread != 0, callbackThread == UInt(pthread_self()) { return nil }
    return typed
}

func unregister(_ handle: OpaquePointer) {
    let raw = UnsafeMutableRawPointer(handle)
    let key = UInt(bitPattern: raw)
    let removed = liveHandles.withLock { $0.remove(key) }
    if removed { releaseHandleObject(raw) }
}

// The registry's reference to each object is invisible to the optimizer, so a retain or release
// of it written inline may be moved: release builds sank lookup's retain below the lock's
// release store (seen in the disassembly), and a close on another thread could then free the
// object between the unlock and the retain (HostileInputTests.interruptRacingCloseNeverTouches
// AFreedConnection crashed about one run in three of the optimized suite). Out of line and
// unoptimized, these are calls the optimizer keeps where they are written: inside the lock
// for the retain, after the removal for the release.
@inline(never) @_optimize(none)
private func retainHandleObject(_ raw: UnsafeMutableRawPointer) {
    _ = Unmanaged<AnyObject>.fromOpaque(raw).retain()
}

@inline(never) @_optimize(none)
private func releaseHandleObject(_ raw: UnsafeMutableRawPointer) {
    Unmanaged<AnyObject>.fromOpaque(raw).release()
}

/// A C string owned by a handle until it is replaced by a different text: setting the text it
/// already holds keeps the pointer, so a pointer handed out stays valid across calls that do
/// not change it (borealis_errmsg's promise).
final class CStringBox {
    private(set) var pointer: UnsafeMutablePointer<CChar>?
    func set(_ text: String?) {
        if let text, let pointer, String(cString: pointer) == text { return }
        free(pointer)
        pointer = text.map { strdup($0) }
    }
    deinit { free(pointer) }
}

/// A connection handle. Its mutable fields, like a statement's, go without the runtime's dynamic
/// exclusivity checks (`@exclusivity(unchecked)`): the header allows one thread at a time on a
/// connection and its statements, so accesses never overlap, and the checks (a thread-local
/// access set per read or write) were a tenth of `SELECT *` stepped through the C API.
final class Connection: HandleObject {
    let database: Database?
    @exclusivity(unchecked) var errorCode: Int32 = OK
    let message = CStringBox()
    let sqlState = CStringBox()
    @exclusivity(unchecked) var changes: Int64 = 0
    @exclusivity(unchecked) var lastInsertRowID: Int64 = 0
    var statements: [OpaquePointer] = []
    /// The thread running this connection's progress callback, 0 when none does.
    let callbackThread = Atomic<UInt>(0)

    var owner: Connection { self }

    init(database: Database?) {
        self.database = database
        message.set("not an error")
        sqlState.set(SQLState.successfulCompletion)
    }

    func succeed() -> Int32 {
        // Already so (the common case, once per bind or step): the boxes keep their texts.
        if errorCode == OK && reportsSuccess { return OK }
        errorCode = OK
        message.set("not an error")
        sqlState.set(SQLState.successfulCompletion)
        reportsSuccess = true
        return OK
    }

    /// Whether `message` and `sqlState` hold the success texts.
    @exclusivity(unchecked) private var reportsSuccess = true

    func fail(_ error: Error) -> Int32 {
        reportsSuccess = false
        errorCode = code(of: error)
        if let error = error as? DatabaseError {
            message.set(error.message)
            sqlState.set(error.sqlState)
        } else {
            message.set("\(error)")
            sqlState.set(SQLState.internalError)
        }
        return errorCode
    }

    func fail(_ code: Int32, _ text: String, state: String = SQLState.internalError) -> Int32 {
        reportsSuccess = false
        errorCode = code
        message.set(text)
        sqlState.set(state)
        return code
    }
}

final class Statement: HandleObject {
    let connection: Connection
    let prepared: PreparedStatement
    /// The block of rows the current row is in (`PreparedStatement.nextRows`) and its index
    /// there: a step moves along the block without an array per row or the statement's lock.
    @exclusivity(unchecked) private(set) var rows = RowBlock(width: 0)
    @exclusivity(unchecked) private(set) var position = 0
    /// Whether a step returned a row that is still current (no DONE, error or reset since).
    @exclusivity(unchecked) private(set) var hasRow = false
    @exclusivity(unchecked) var finished = false
    /// Where a string handed to C comes from: the box behind each is kept for the statement's
    /// life and keeps its pointer while its text is unchanged (a re-plan may rename a column).
    enum HandedOut: Hashable {
        case columnName(Int), declaredType(Int), parameterName(Int)
    }
    private var handedOut: [HandedOut: CStringBox] = [:]
    /// Text and blob buffers of the current row, valid until the next step/reset/finalize.
    @exclusivity(unchecked) var buffers = RowBuffers()

    var owner: Connection { connection }

    init(connection: Connection, prepared: PreparedStatement) {
        self.connection = connection
        self.prepared = prepared
    }

    /// `text` as a C string owned by the statement, in the box of `slot`.
    func keep(_ text: String, as slot: HandedOut) -> UnsafePointer<CChar>? {
        let box = handedOut[slot] ?? CStringBox()
        box.set(text)
        handedOut[slot] = box
        return UnsafePointer(box.pointer)
    }

    func releaseBuffers() { buffers.invalidate() }

    /// Moves to the next row of the current block; false when the block has no more.
    func advance() -> Bool {
        guard hasRow, position + 1 < rows.count else { return false }
        position += 1
        return true
    }

    /// Makes the first row of `block` current (nil: no current row).
    func enter(_ block: RowBlock?) {
        rows = block ?? RowBlock(width: 0)
        position = 0
        hasRow = !rows.isEmpty
    }

    /// The current row's value in `column`; nil without a current row or out of range.
    @inline(__always)
    func value(_ column: Int) -> Value? {
        guard hasRow, column >= 0, column < rows.width else { return nil }
        return rows.value(row: position, column: column)
    }

    /// The current row's column count, nil without a current row.
    var width: Int? { hasRow ? rows.width : nil }

}

func string(_ pointer: UnsafePointer<CChar>?, _ length: Int32 = -1) -> String? {
    guard let pointer else { return nil }
    if length < 0 { return String(cString: pointer) }
    return String(decoding: UnsafeRawBufferPointer(start: pointer, count: Int(length)), as: UTF8.self)
}

// MARK: Library

/// `borealisVersion` as a C string for the life of the process, and as MAJOR * 1000000 +
/// MINOR * 1000 + PATCH; the header's BOREALIS_VERSION and BOREALIS_VERSION_NUMBER must match
/// them (the C ABI check compares).
nonisolated(unsafe) let libraryVersion: UnsafePointer<CChar> = UnsafePointer(strdup(borealisVersion)!)
let libraryVersionNumber: Int32 = borealisVersion.split(separator: ".").prefix(3)
    .reduce(Int32(0)) { $0 * 1000 + (Int32($1) ?? 0) }

@_cdecl("borealis_libversion")
public func borealis_libversion() -> UnsafePointer<CChar>? { libraryVersion }

@_cdecl("borealis_libversion_number")
public func borealis_libversion_number() -> Int32 { libraryVersionNumber }

@_cdecl("borealis_errstr")
public func borealis_errstr(_ code: Int32) -> UnsafePointer<CChar>? {
    let text: StaticString
    switch code {
    case 0: text = "not an error"
    case 1: text = "SQL error"
    case 2: text = "internal error"
    case 4: text = "transaction rolled back"
    case 5: text = "database is locked"
    case 7: text = "out of memory"
    case 8: text = "attempt to write a readonly database"
    case 9: text = "interrupted"
    case 10: text = "disk I/O error"
    case 11: text = "database disk image is malformed"
    case 13: text = "database or disk is full"
    case 14: text = "unable to open database file"
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

/// `borealis_options` of the header, read field by field: a field counts only when it lies
/// within the `size` the caller set, so programs built against an older, shorter struct keep
/// working (the fields they do not know keep their defaults).
///
///   offset  size  field
///   0       8     size (size_t)
///   8       8     cache_bytes
///   16      4     synchronous
///   20      4     busy_timeout_ms
///   24      4     page_size
///   32      8     archive_retention_seconds
///   40      8     archive_retention_bytes
enum COptions {
    static let smallest = 16
    static let largest = 4096
    /// sizeof(borealis_options) in this version's header.
    static let current = 48

    static func read(_ options: UnsafeRawPointer, into storage: inout StorageOptions) -> String? {
        let size = options.loadUnaligned(as: Int.self)
        guard size >= smallest && size <= largest else {
            return "borealis_options.size must be sizeof(borealis_options) (\(current)), not \(size): set it first (BOREALIS_OPTIONS_INIT)"
        }
        func field<T>(_ offset: Int, _ type: T.Type) -> T? {
            offset + MemoryLayout<T>.size <= size ? options.loadUnaligned(fromByteOffset: offset, as: T.self) : nil
        }
        if let cache = field(8, Int64.self), cache > 0 { storage.cacheBytes = Int(clamping: cache) }
        switch field(16, Int32.self) ?? 0 {
        case 0, 2: storage.synchronous = .full // BOREALIS_SYNCHRONOUS_DEFAULT, _FULL
        case 1: storage.synchronous = .off     // BOREALIS_SYNCHRONOUS_OFF
        case let other: return "borealis_options.synchronous \(other) is not one of BOREALIS_SYNCHRONOUS_DEFAULT, _OFF, _FULL"
        }
        if let busy = field(20, Int32.self), busy > 0 { storage.busyTimeoutMilliseconds = Int(busy) }
        if let page = field(24, Int32.self), page > 0 { storage.pageSize = Int(page) }
        // Retention: 0 keeps the default, a negative value keeps no history.
        if let seconds = field(32, Int64.self), seconds != 0 { storage.archiveRetentionSeconds = seconds < 0 ? 0 : Int(clamping: seconds) }
        if let bytes = field(40, Int64.self), bytes != 0 { storage.archiveRetentionBytes = bytes < 0 ? 0 : Int(clamping: bytes) }
        return nil
    }
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
    if let options, let problem = COptions.read(options, into: &storage) {
        let connection = Connection(database: nil)
        _ = connection.fail(MISUSE, problem, state: SQLState.invalidParameterValue)
        db.pointee = register(connection)
        return MISUSE
    }
    let readOnly = flags & 0x01 != 0
    // No flags at all: read-write, creating (as borealis_open).
    let create = flags & 0x04 != 0 || flags == 0
    storage.createIfMissing = create
    if flags & 0x10 != 0 { storage.continuousArchive = false }
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

// MARK: Interrupts, progress, busy timeout

@_cdecl("borealis_interrupt")
public func borealis_interrupt(_ db: OpaquePointer?) {
    lookup(db, as: Connection.self)?.database?.interrupt()
}

public typealias ProgressCallback = @convention(c) (UnsafeMutableRawPointer?) -> Int32

@_cdecl("borealis_progress_handler")
public func borealis_progress_handler(_ db: OpaquePointer?, _ units: Int32, _ callback: ProgressCallback?,
                                      _ context: UnsafeMutableRawPointer?) -> Int32 {
    guard let connection = lookup(db, as: Connection.self), let database = connection.database else { return MISUSE }
    guard let callback, units >= 1 else {
        database.setProgressHandler(every: 1, nil)
        return OK
    }
    let address = UInt(bitPattern: context)
    database.setProgressHandler(every: Int(units)) { [unowned connection] in
        connection.callbackThread.store(UInt(pthread_self()), ordering: .relaxed)
        defer { connection.callbackThread.store(0, ordering: .relaxed) }
        return callback(UnsafeMutableRawPointer(bitPattern: address)) != 0
    }
    return OK
}

@_cdecl("borealis_busy_timeout")
public func borealis_busy_timeout(_ db: OpaquePointer?, _ milliseconds: Int32) -> Int32 {
    guard let connection = lookup(db, as: Connection.self), let database = connection.database else { return MISUSE }
    database.busyTimeoutMilliseconds = Int(max(0, milliseconds))
    return OK
}
