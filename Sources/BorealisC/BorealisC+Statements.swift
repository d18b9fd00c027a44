// The C ABI's statements (Include/borealis.h): exec, prepare (described at once, so column
// counts, names and declared types are known before the first step, and errors in the SQL text
// surface there), bind by index or name, step, read columns, reset, finalize. A SELECT's steps
// stream through `PreparedStatement.step` (its snapshot ends at DONE, an error, reset or
// finalize — finalize releases the statement, whose deinit ends it); exec steps each statement
// the same way, so its callback gets rows as they are computed.

import Borealis
#if canImport(Glibc)
import Glibc
#endif

// MARK: exec

public typealias ExecCallback = @convention(c) (UnsafeMutableRawPointer?, Int32, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                                                UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32

@_cdecl("borealis_exec")
public func borealis_exec(_ db: OpaquePointer?, _ sql: UnsafePointer<CChar>?, _ callback: ExecCallback?,
                          _ context: UnsafeMutableRawPointer?, _ errmsg: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    errmsg?.pointee = nil
    guard let connection = lookup(db, as: Connection.self), let database = connection.database, let sql, let text = string(sql) else {
        return MISUSE
    }
    func report(_ code: Int32) -> Int32 {
        if code != OK { errmsg?.pointee = strdup(connection.message.pointer.map { String(cString: $0) } ?? "error") }
        return code
    }
    // Invalid UTF-8 is 22021, as in PostgreSQL, not text with U+FFFD in place of the bytes.
    let bytes = UnsafeRawBufferPointer(start: sql, count: strlen(sql))
    if let invalid = SourceText.firstInvalidUTF8(bytes) { return report(connection.fail(SourceText.invalidUTF8Error(bytes, at: invalid))) }
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
                if stop != 0 { return report(connection.fail(ERROR, "callback requested abort", state: SQLState.queryCanceled)) }
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
    let bytes = UnsafeRawBufferPointer(start: sql, count: length)
    let invalid = SourceText.firstInvalidUTF8(bytes)
    let text = String(decoding: bytes, as: UTF8.self)
    do {
        let (prepared, rest) = try database.prepare(text)
        // The tail points into the caller's buffer: where the statement ends there, counting
        // each invalid byte as itself (the text above holds U+FFFD, 3 bytes, for each).
        let end = SourceText.originalOffset(of: text.utf8.count - rest.utf8.count, in: bytes)
        tail?.pointee = sql + end
        if let invalid, invalid < end { return connection.fail(SourceText.invalidUTF8Error(bytes, at: invalid)) }
        guard let prepared else { return connection.succeed() }
        try prepared.check() // unknown tables and columns are reported here, not at the first step
        let handle = register(Statement(connection: connection, prepared: prepared))
        connection.statements.append(handle)
        stmt.pointee = handle
        return connection.succeed()
    } catch {
        if let invalid { return connection.fail(SourceText.invalidUTF8Error(bytes, at: invalid)) }
        return connection.fail(error)
    }
}

/// Byte offsets between the caller's SQL bytes and the String they were decoded into.
enum SourceText {
    /// The offset of the first byte that is not valid UTF-8, or nil.
    static func firstInvalidUTF8(_ bytes: UnsafeRawBufferPointer) -> Int? {
        // ASCII, by far the commonest text, is passed over a word at a time (the scalar parser
        // cost more than the rest of binding a 100-byte value); the parser starts at the first
        // byte with its high bit set, every byte before it being a whole scalar.
        let count = bytes.count
        var offset = 0
        while offset + 8 <= count, bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 { offset += 8 }
        while offset < count, bytes[offset] < 0x80 { offset += 1 }
        if offset == count { return nil }
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = UnsafeRawBufferPointer(rebasing: bytes[offset...]).makeIterator()
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded): offset += encoded.count
            case .error: return offset
            case .emptyInput: return nil
            }
        }
    }

    /// Where, in `bytes`, the decoded text's UTF-8 offset `decoded` falls: a valid scalar is
    /// the same length in both, an invalid sequence became one U+FFFD (3 bytes).
    static func originalOffset(of decoded: Int, in bytes: UnsafeRawBufferPointer) -> Int {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var (original, done) = (0, 0)
        while done < decoded {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                original += encoded.count
                done += encoded.count
            case .error(let length):
                original += length
                done += 3
            case .emptyInput:
                return original
            }
        }
        return original
    }

    static func invalidUTF8Error(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> DatabaseError {
        let shown = bytes[offset..<min(bytes.count, offset + 2)].map { String($0, radix: 16) }.joined(separator: " 0x")
        return DatabaseError(.error, sqlState: SQLState.characterNotInRepertoire, "invalid byte sequence for encoding \"UTF8\": 0x\(shown) (at byte \(offset))")
    }
}

func statement(_ handle: OpaquePointer?) -> Statement? { lookup(handle, as: Statement.self) }

func bind(_ handle: OpaquePointer?, _ index: Int32, _ value: Value) -> Int32 {
    guard let s = statement(handle) else { return MISUSE }
    if s.hasRow || s.finished { resetState(s) }
    do {
        try s.prepared.bind(Int(index), value)
        return s.connection.succeed()
    } catch {
        return s.connection.fail(error)
    }
}

func resetState(_ s: Statement) {
    s.prepared.reset()
    s.enter(nil)
    s.finished = false
    s.releaseBuffers()
}

func callDestructor(_ destructor: UnsafeRawPointer?, _ pointer: UnsafeRawPointer?) {
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
    defer { callDestructor(destructor, text.map(UnsafeRawPointer.init)) }
    guard let text else { return bind(stmt, index, .null) }
    // The length is checked before a byte is read (INT_MAX would read far past most buffers
    // and build a 2 GiB string), and the bytes must be UTF-8 (22021, as PostgreSQL).
    let length = n < 0 ? strlen(text) : Int(n)
    guard length <= Limits.maxValueBytes else {
        return statement(stmt).map { $0.connection.fail(RANGE, "text of \(length) bytes is longer than the limit of \(Limits.maxValueBytes)", state: SQLState.programLimitExceeded) } ?? MISUSE
    }
    let bytes = UnsafeRawBufferPointer(start: text, count: length)
    if let invalid = SourceText.firstInvalidUTF8(bytes) {
        return statement(stmt).map { $0.connection.fail(SourceText.invalidUTF8Error(bytes, at: invalid)) } ?? MISUSE
    }
    return bind(stmt, index, .text(String(decoding: bytes, as: UTF8.self)))
}

@_cdecl("borealis_bind_blob")
public func borealis_bind_blob(_ stmt: OpaquePointer?, _ index: Int32, _ data: UnsafeRawPointer?, _ n: Int32,
                               _ destructor: UnsafeRawPointer?) -> Int32 {
    guard n >= 0 || data == nil else { return statement(stmt).map { $0.connection.fail(RANGE, "negative blob length", state: SQLState.invalidParameterValue) } ?? MISUSE }
    guard Int(n) <= Limits.maxValueBytes else {
        return statement(stmt).map { $0.connection.fail(RANGE, "blob of \(n) bytes is longer than the limit of \(Limits.maxValueBytes)", state: SQLState.programLimitExceeded) } ?? MISUSE
    }
    let value: Value = data.map { .blob(Array(UnsafeRawBufferPointer(start: $0, count: Int(n)))) } ?? .null
    callDestructor(destructor, data)
    return bind(stmt, index, value)
}

@_cdecl("borealis_bind_parameter_count")
public func borealis_bind_parameter_count(_ stmt: OpaquePointer?) -> Int32 {
    Int32(statement(stmt)?.prepared.parameterCount ?? 0)
}

@_cdecl("borealis_bind_parameter_index")
public func borealis_bind_parameter_index(_ stmt: OpaquePointer?, _ name: UnsafePointer<CChar>?) -> Int32 {
    guard let s = statement(stmt), let name = string(name) else { return 0 }
    return Int32(s.prepared.parameterIndex(name) ?? 0)
}

@_cdecl("borealis_bind_parameter_name")
public func borealis_bind_parameter_name(_ stmt: OpaquePointer?, _ index: Int32) -> UnsafePointer<CChar>? {
    guard let s = statement(stmt), let name = s.prepared.parameterName(Int(index)) else { return nil }
    return s.keep(name, as: .parameterName(Int(index)))
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
    if s.finished { return s.connection.fail(MISUSE, "borealis_step after the statement finished: call borealis_reset first", state: SQLState.internalError) }
    if s.advance() { return ROW }
    do {
        if let rows = try s.prepared.nextRows() {
            s.enter(rows)
            return ROW
        }
        s.enter(nil)
        s.finished = true
        s.connection.changes = Int64(s.prepared.changes)
        if s.prepared.lastInsertRowID != 0 { s.connection.lastInsertRowID = s.prepared.lastInsertRowID }
        _ = s.connection.succeed()
        return DONE
    } catch {
        s.enter(nil)
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

func column(_ handle: OpaquePointer?, _ index: Int32) -> (Statement, Value)? {
    guard let s = statement(handle) else { return nil }
    guard let value = s.value(Int(index)) else {
        _ = s.connection.fail(RANGE, "column index \(index) is out of range", state: SQLState.invalidParameterValue)
        return nil
    }
    return (s, value)
}

@_cdecl("borealis_column_count")
public func borealis_column_count(_ stmt: OpaquePointer?) -> Int32 {
    guard let s = statement(stmt) else { return 0 }
    return Int32(s.width ?? s.prepared.columnNames.count)
}

@_cdecl("borealis_column_name")
public func borealis_column_name(_ stmt: OpaquePointer?, _ index: Int32) -> UnsafePointer<CChar>? {
    guard let s = statement(stmt) else { return nil }
    let names = s.prepared.columnNames
    guard index >= 0, Int(index) < names.count else { return nil }
    return s.keep(names[Int(index)], as: .columnName(Int(index)))
}

@_cdecl("borealis_column_decltype")
public func borealis_column_decltype(_ stmt: OpaquePointer?, _ index: Int32) -> UnsafePointer<CChar>? {
    guard let s = statement(stmt) else { return nil }
    let types = s.prepared.declaredTypes
    guard index >= 0, Int(index) < types.count, let type = types[Int(index)] else { return nil }
    return s.keep(type, as: .declaredType(Int(index)))
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
        if let exact = Int64(text) { return exact }
        // Saturate as sqlite3 does: 'nan', 'inf' and 1e30 must not trap the host converting.
        guard let d = Double(text), !d.isNaN else { return 0 }
        if d >= 9_223_372_036_854_775_807.0 { return .max }
        if d <= -9_223_372_036_854_775_808.0 { return .min }
        return Int64(d.rounded(.towardZero))
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
func columnBytes(_ stmt: OpaquePointer?, _ index: Int32) -> (UnsafeMutableRawPointer, Int)? {
    guard let (s, value) = column(stmt, index) else { return nil }
    if value.isNull { return nil }
    let column = Int(index)
    if let known = s.buffers.current(column) { return known }
    switch value {
    case .blob(let bytes): return bytes.withUnsafeBytes { s.buffers.fill(column, with: $0) }
    case .text(var text): return text.withUTF8 { s.buffers.fill(column, with: UnsafeRawBufferPointer($0)) }
    default:
        var text = value.description
        return text.withUTF8 { s.buffers.fill(column, with: UnsafeRawBufferPointer($0)) }
    }
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
    case .blob(let b): return Int32(clamping: b.count)
    case .text(let t): return Int32(clamping: t.utf8.count)
    default: return Int32(clamping: value.description.utf8.count)
    }
}
