// `fuzz-capi` (issue 19): sequences of C ABI calls decoded from an input — open, prepare, bind,
// step, column, reset, finalize, close, exec, replica and error calls — with wild indexes,
// lengths, NULLs, and handles that were closed or finalized before. The rules checked are the
// header's: nothing traps, a dead or NULL handle gives BOREALIS_MISUSE, every error code has a
// message and an SQLSTATE, and a text column's bytes are what `borealis_column_bytes` says.
//
// Databases are `:memory:` ones, opened by the input and all closed at its end, so each input
// starts from nothing and a crash reproduces from the input alone. Lengths handed with a
// pointer never exceed the buffer behind it (a caller lying about a length is outside any
// library's reach); lengths past the value limit come with a small buffer, since the API
// refuses them before reading.

import BorealisC
import BorealisSQL
import Foundation
import Glibc

public final class CAPIFuzzer: FuzzDriver {
    public init() throws {}

    /// BOREALIS_FUZZ_PRINT=1 prints each call's kind as it runs.
    private static let printing = ProcessInfo.processInfo.environment["BOREALIS_FUZZ_PRINT"] == "1"

    private static let statements = [
        "CREATE TABLE t (a int PRIMARY KEY, b text, c double precision, d bytea)",
        "INSERT INTO t VALUES ($1, $2, $3, $4)",
        "INSERT INTO t SELECT g, 'x' || g, g / 3.0, NULL FROM generate_series(1, 50) AS g",
        "SELECT a, b, c, d FROM t WHERE a > $1 ORDER BY a",
        "SELECT * FROM t",
        "SELECT $1::text, $2::int, $3::bytea, $4",
        "SELECT :name, @other, ?3",
        "UPDATE t SET b = $2 WHERE a = $1",
        "DELETE FROM t WHERE a % 2 = 0",
        "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT s", "ROLLBACK TO s",
        "SELECT count(*) FROM generate_series(1, 100000)",
        "SELECT 1; SELECT 2",
        "SELECT repeat('ab', $1)",
        "VALUES (1, 'one'), (2, NULL)",
        "",
        "   ",
        "SELECT 1 +",
    ]

    private static let texts = ["", "a", "héllo", "\u{1F600}", "12", "-9223372036854775808", "\\x00ff", "1e400", "{1,2}"]

    private var databases: [OpaquePointer?] = []
    private var statements: [OpaquePointer?] = []
    /// The connection each live statement was prepared on (closing it finalizes them).
    private var owners: [OpaquePointer?] = []
    /// Handles already closed or finalized, used again on purpose.
    private var dead: [OpaquePointer?] = []

    public func run(_ bytes: [UInt8]) {
        var input = FuzzInput(bytes)
        var calls = 0
        while !input.isExhausted && calls < 200 {
            call(&input)
            calls += 1
        }
        for statement in statements { _ = borealis_finalize(statement) }
        for database in databases {
            let code = borealis_close(database)
            check(code == 0 || database == nil, "close at the end failed: \(code) \(borealis_errmsg(database).map { String(cString: $0) } ?? "")")
        }
        databases = []
        statements = []
        owners = []
        dead = []
        // Every connection is closed: none of their files may stay open. Only where the fuzzer
        // is alone in its process (the tests replaying inputs run other suites beside it, with
        // :memory: databases of their own).
        if FuzzTarget.aloneInProcess {
            let leaked = openFiles(containing: "borealis-memory-")
            check(leaked.isEmpty, "files left open after every connection closed: \(leaked.sorted())")
        }
    }

    private func check(_ condition: Bool, _ what: @autoclosure () -> String) {
        if !condition { fatalError("fuzz-capi: \(what())") }
    }

    private func database(_ input: inout FuzzInput) -> OpaquePointer? {
        switch input.below(8) {
        case 0: return nil
        case 1: return dead.isEmpty ? nil : input.pick(dead)
        case 2: return input.pick(statements + [nil]) // a statement handle where a database belongs
        default: return databases.isEmpty ? nil : input.pick(databases)
        }
    }

    private func statement(_ input: inout FuzzInput) -> OpaquePointer? {
        switch input.below(8) {
        case 0: return nil
        case 1: return dead.isEmpty ? nil : input.pick(dead)
        case 2: return input.pick(databases + [nil])
        default: return statements.isEmpty ? nil : input.pick(statements)
        }
    }

    private func index(_ input: inout FuzzInput) -> Int32 {
        input.chance(2) ? Int32(input.below(6)) : Int32(truncatingIfNeeded: input.edgeInteger())
    }

    /// Checks the connection's error state is consistent after a call that returned `code`.
    private func checkError(_ db: OpaquePointer?, _ code: Int32) {
        guard code != 0, code != 100, code != 101, let db, databases.contains(db) else { return }
        let message = borealis_errmsg(db).map { String(cString: $0) } ?? ""
        let state = borealis_sqlstate(db).map { String(cString: $0) } ?? ""
        check(!message.isEmpty, "code \(code) without a message")
        check(state.utf8.count == 5, "code \(code) with SQLSTATE '\(state)' (\(message))")
    }

    private func call(_ input: inout FuzzInput) {
        let op = input.below(22)
        if Self.printing { print("call \(op) dbs=\(databases.count) stmts=\(statements.count)") }
        switch op {
        case 0 where databases.count < 3:
            var db: OpaquePointer?
            let code = borealis_open(":memory:", &db)
            check(code == 0 && db != nil, "open of :memory: failed: \(code)")
            databases.append(db)
            if input.chance(2) {
                check(borealis_exec(db, Self.statements[0] + "; " + Self.statements[2], nil, nil, nil) == 0, "schema failed")
            }
        case 1:
            let db = database(&input)
            let code = borealis_close(db)
            if let index = databases.firstIndex(where: { $0 == db }) {
                check(code == 0, "close of a live connection failed: \(code)")
                databases.remove(at: index)
                // Its statements died with it.
                dead.append(db)
                for i in statements.indices.reversed() where owners[i] == db {
                    dead.append(statements.remove(at: i))
                    owners.remove(at: i)
                }
            } else if db != nil {
                check(code == 21, "close of a dead handle gave \(code), not MISUSE")
            }
        case 2 where statements.count < 6:
            let db = database(&input)
            let text = input.chance(4) ? String(decoding: input.take(upTo: 64), as: UTF8.self) : input.pick(Self.statements)
            var statement: OpaquePointer?
            var tail: UnsafePointer<CChar>?
            let code = text.withCString { sql -> Int32 in
                let length = Int32(strlen(sql))
                let nbyte: Int32 = input.pick([-1, length, max(0, length - 1), 0, length / 2])
                let result = borealis_prepare(db, sql, nbyte, &statement, &tail)
                if let tail { check(tail >= sql && tail <= sql + Int(length), "the tail points outside the text") }
                return result
            }
            if code == 0, let statement {
                statements.append(statement)
                owners.append(db)
            }
            if code != 0 { check(statement == nil, "a failed prepare left a statement") }
            if databases.contains(where: { $0 == db }) { checkError(db, code) } else { check(code == 21, "prepare on a dead handle gave \(code)") }
        case 3:
            let stmt = statement(&input)
            let index = index(&input)
            switch input.below(6) {
            case 0: _ = borealis_bind_null(stmt, index)
            case 1: _ = borealis_bind_int64(stmt, index, input.edgeInteger())
            case 2: _ = borealis_bind_double(stmt, index, input.pick([0, -0.0, .nan, .infinity, 1e308, .leastNonzeroMagnitude, 2.5]))
            case 3:
                let text = input.pick(Self.texts)
                _ = text.withCString { pointer -> Int32 in
                    let length = Int32(strlen(pointer))
                    let n: Int32 = input.pick([-1, length, max(0, length - 1), 0, Int32.max, Int32(1 << 30) + 1])
                    return borealis_bind_text(stmt, index, pointer, n, nil)
                }
            case 4:
                let blob = input.take(upTo: 16)
                _ = blob.withUnsafeBytes { buffer -> Int32 in
                    // Lengths past the buffer are past the value limit too: refused before a read.
                    let n: Int32 = input.pick([Int32(buffer.count), 0, -1, Int32.max, Int32(1 << 30) + 1])
                    return borealis_bind_blob(stmt, index, input.chance(4) ? nil : buffer.baseAddress, n, nil)
                }
            default:
                // Invalid UTF-8 must be refused (22021), never stored with replacements.
                let bad: [CChar] = [0x61, -0x3f, -0x80 + 0x28, 0x00].map { CChar(truncatingIfNeeded: $0) }
                let code = bad.withUnsafeBufferPointer { borealis_bind_text(stmt, index, $0.baseAddress, -1, nil) }
                if statements.contains(where: { $0 == stmt }), stmt != nil { check(code != 0, "invalid UTF-8 was bound") }
            }
        case 4, 5, 6:
            let stmt = statement(&input)
            var steps = 0
            repeat {
                let code = borealis_step(stmt)
                steps += 1
                if code != 100 { break }
                readColumns(stmt, &input)
            } while steps < 64 && input.chance(2) == false
        case 7:
            readColumns(statement(&input), &input)
        case 8: _ = borealis_reset(statement(&input))
        case 9:
            let stmt = statement(&input)
            let code = borealis_finalize(stmt)
            if let index = statements.firstIndex(where: { $0 == stmt }), stmt != nil {
                statements.remove(at: index)
                owners.remove(at: index)
                dead.append(stmt)
                _ = code
            } else if stmt != nil, !databases.contains(where: { $0 == stmt }) {
                check(code == 21, "finalize of a dead handle gave \(code)")
            }
        case 10: _ = borealis_clear_bindings(statement(&input))
        case 11:
            let stmt = statement(&input)
            _ = borealis_bind_parameter_count(stmt)
            _ = input.pick([":name", "@other", "?3", "$1", "", "x"]).withCString { borealis_bind_parameter_index(stmt, $0) }
            _ = borealis_bind_parameter_index(stmt, nil)
            if let name = borealis_bind_parameter_name(stmt, index(&input)) { _ = strlen(name) }
        case 12:
            let db = database(&input)
            let text = input.chance(3) ? String(decoding: input.take(upTo: 64), as: UTF8.self) : input.pick(Self.statements)
            var message: UnsafeMutablePointer<CChar>?
            let code = borealis_exec(db, text, nil, nil, &message)
            if code != 0, databases.contains(where: { $0 == db }), db != nil, code != 21 { check(message != nil, "exec failed (\(code)) without a message") }
            borealis_free(message)
        case 13:
            let db = database(&input)
            _ = borealis_errcode(db)
            if let text = borealis_errmsg(db) { _ = strlen(text) }
            if let text = borealis_sqlstate(db) { _ = strlen(text) }
            _ = borealis_changes(db)
            _ = borealis_last_insert_rowid(db)
            _ = borealis_last_commit_lsn(db)
            if let text = borealis_errstr(Int32(truncatingIfNeeded: input.edgeInteger())) { _ = strlen(text) }
        case 14 where databases.count < 3:
            var replica: OpaquePointer?
            let code = borealis_replica_open(database(&input), &replica)
            if code == 0, let replica { databases.append(replica) }
        case 15:
            let db = database(&input)
            var bytes: Int64 = 0
            var seconds: Double = 0
            _ = borealis_replica_lag(db, &bytes, &seconds)
            _ = borealis_replica_lag(db, nil, nil)
            _ = borealis_replica_wait(db, input.edgeInteger(), Int32(input.below(3)))
        case 16: _ = borealis_replica_promote(database(&input))
        case 17: borealis_interrupt(database(&input))
        case 18: _ = borealis_busy_timeout(database(&input), Int32(truncatingIfNeeded: input.edgeInteger()))
        case 19:
            var report: UnsafeMutablePointer<CChar>?
            let db = database(&input)
            if input.chance(4) {
                _ = borealis_check(db, nil)
            } else {
                _ = borealis_check(db, &report)
                borealis_free(report)
            }
        case 20:
            let callback: ProgressCallback = { _ in 0 }
            _ = borealis_progress_handler(database(&input), Int32(truncatingIfNeeded: input.edgeInteger()), input.chance(2) ? callback : nil, nil)
        default:
            var db: OpaquePointer?
            _ = borealis_open(nil, &db)
            _ = borealis_open(":memory:", nil)
            if let db { _ = borealis_close(db) }
        }
    }

    private func readColumns(_ stmt: OpaquePointer?, _ input: inout FuzzInput) {
        let count = borealis_column_count(stmt)
        for _ in 0..<min(4, Int(max(0, count)) + 1) {
            let column = input.chance(3) ? Int32(truncatingIfNeeded: input.edgeInteger()) : Int32(input.below(Int(max(1, count))))
            switch input.below(6) {
            case 0: if let name = borealis_column_name(stmt, column) { _ = strlen(name) }
            case 1: if let name = borealis_column_decltype(stmt, column) { _ = strlen(name) }
            case 2: _ = borealis_column_int64(stmt, column); _ = borealis_column_double(stmt, column)
            case 3:
                let text = borealis_column_text(stmt, column)
                let bytes = borealis_column_bytes(stmt, column)
                if let text {
                    let length = strlen(UnsafeRawPointer(text).assumingMemoryBound(to: CChar.self))
                    check(Int(bytes) >= length, "column_bytes \(bytes) is less than the text's length \(length)")
                    check(UnsafeRawPointer(text).load(fromByteOffset: Int(bytes), as: UInt8.self) == 0, "a text column is not NUL-terminated at column_bytes")
                }
            case 4:
                let blob = borealis_column_blob(stmt, column)
                let bytes = borealis_column_bytes(stmt, column)
                check(bytes >= 0, "negative column_bytes")
                if let blob, bytes > 0 { _ = UnsafeRawBufferPointer(start: blob, count: Int(bytes)).reduce(0, &+) }
            default: _ = borealis_column_type(stmt, column)
            }
        }
    }
}
