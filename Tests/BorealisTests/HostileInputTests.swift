// Hostile callers of issue 14's surfaces: what a caller sends must never crash or hang the host
// process, and bad input gets a clear error with a SQLSTATE. Each test holds one break found by
// trying (C column reads, parameter numbers, dates, re-planned column names, progress callbacks
// re-entering the library, symbolic links to a database, hostile CSV).

import BorealisC
import Foundation
import Synchronization
import Testing
@testable import Borealis

@Suite struct HostileInputTests {
    /// Opens `:memory:` through the C API, runs `setup`, prepares `sql` and steps it once.
    func withCStatement(_ sql: String, setup: String = "", _ body: (OpaquePointer?, OpaquePointer?) -> Void) {
        var db: OpaquePointer?
        #expect(borealis_open(":memory:", &db) == 0)
        if !setup.isEmpty { #expect(borealis_exec(db, setup, nil, nil, nil) == 0) }
        var statement: OpaquePointer?
        #expect(borealis_prepare(db, sql, -1, &statement, nil) == 0)
        body(db, statement)
        _ = borealis_finalize(statement)
        _ = borealis_close(db)
    }

    /// `$9223372036854775807` overflowed the parser's parameter counter (a trap), and
    /// `$2000000000` made a statement allocate 32 GB for its bindings (an abort). PostgreSQL's
    /// protocol allows 65535 parameters: a larger number is a syntax error.
    @Test func hugeParameterNumbersAreASyntaxErrorNotACrash() throws {
        let db = try Database(path: ":memory:")
        for sql in ["SELECT $9223372036854775807", "SELECT $99999999999999999999999", "SELECT $2000000000", "SELECT $65536"] {
            #expect(throws: DatabaseError.self, "\(sql)") { _ = try db.makeStatement(sql) }
            do { _ = try db.execute(sql) } catch let error as DatabaseError {
                #expect(error.sqlState == "42601" && error.message.contains("too large"), "\(error)")
            }
        }
        #expect(try db.makeStatement("SELECT $65535").parameterCount == 65535)
        #expect(try db.query("SELECT $1::int + 1", [41])[0][0] == .integer(42))
    }
}
