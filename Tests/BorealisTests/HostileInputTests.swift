// Hostile callers of issue 14's surfaces: what a caller sends must never crash or hang the host
// process, and bad input gets a clear error with a SQLSTATE. Each test holds one break found by
// trying (C column reads, parameter numbers, dates, re-planned column names, progress callbacks
// re-entering the library, symbolic links to a database, hostile CSV).

import BorealisC
import Foundation
import Synchronization
import Testing
@testable import Borealis
@testable import BorealisSQL
@testable import BorealisStorage

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

    /// borealis_column_int64 of text or NUMERIC that is NaN, infinite or beyond bigint trapped
    /// converting a Double ("SELECT 'nan'" crashed the host). It saturates, as sqlite3 does.
    @Test func cColumnInt64OfNaNInfinityOrHugeNumbersSaturatesInsteadOfTrapping() {
        withCStatement("SELECT 'nan', 'inf', '-Infinity', 1e30::numeric, '-1e30', 'abc', 12.7::numeric, '-12.7'") { _, s in
            #expect(borealis_step(s) == 100)
            #expect(borealis_column_int64(s, 0) == 0)
            #expect(borealis_column_int64(s, 1) == Int64.max)
            #expect(borealis_column_int64(s, 2) == Int64.min)
            #expect(borealis_column_int64(s, 3) == Int64.max)
            #expect(borealis_column_int64(s, 4) == Int64.min)
            #expect(borealis_column_int64(s, 5) == 0)
            #expect(borealis_column_int64(s, 6) == 12)
            #expect(borealis_column_int64(s, 7) == -12)
        }
    }

    /// `$9223372036854775807` overflowed the parser's parameter counter (a trap), and
    /// `$2000000000` made a statement allocate 32 GB for its bindings (an abort). PostgreSQL's
    /// protocol allows 65535 parameters: a larger number is 42P02 "there is no parameter $n",
    /// as PostgreSQL says it.
    @Test func hugeParameterNumbersAreAnErrorNotACrash() throws {
        let db = try Database(path: ":memory:")
        for sql in ["SELECT $9223372036854775807", "SELECT $99999999999999999999999", "SELECT $2000000000", "SELECT $65536"] {
            #expect(throws: DatabaseError.self, "\(sql)") { _ = try db.makeStatement(sql) }
            do { _ = try db.execute(sql) } catch let error as DatabaseError {
                #expect(error.sqlState == SQLState.undefinedParameter && error.message.contains("there is no parameter $"), "\(error)")
            }
        }
        #expect(try db.makeStatement("SELECT $65535").parameterCount == 65535)
        #expect(try db.query("SELECT $1::int + 1", [41])[0][0] == .integer(42))
    }

    /// A date near PostgreSQL's last (5874897 AD) read as a `Date` overflowed microseconds.
    @Test func aDateBeyondDatesRangeReadsAsAnErrorNotACrash() throws {
        let db = try Database(path: ":memory:")
        let row = try db.query("SELECT '5874897-12-31'::date, '2024-02-29'::date")[0]
        #expect { _ = try row.get(0, as: Date.self) } throws: { ($0 as? DatabaseError)?.sqlState == "22008" }
        #expect(try row.get(1, as: Date.self) == Date(timeIntervalSince1970: 1_709_164_800))
    }

    /// Date and timestamp literals past the representable range trapped: the timestamp
    /// '294277-01-01' overflowed µs since 1970, the date '99999999-01-01' Int32 days, and an
    /// offset '+99999999999999' its µs. They are errors now (PostgreSQL: 22008, 22009).
    @Test func dateAndTimestampLiteralsBeyondRangeAreErrorsNotCrashes() throws {
        let db = try Database(path: ":memory:")
        try db.execute("CREATE TABLE t(d date, ts timestamptz)")
        for (sql, state) in [("SELECT '294277-01-01 00:00:00+00'::timestamptz", "22008"),
                             ("INSERT INTO t(ts) VALUES ('294276-12-31 00:00:00+00')", "22008"),
                             ("SELECT '99999999-01-01'::date", "22008"),
                             ("SELECT '9223372036854775807-01-01'::date", "22008"),
                             ("SELECT '2020-01-01 00:00:00+99999999999999'::timestamptz", "22009")] {
            #expect(throws: DatabaseError.self, "\(sql)") { _ = try db.execute(sql) }
            do { _ = try db.execute(sql) } catch let error as DatabaseError { #expect(error.sqlState == state, "\(sql): \(error)") }
        }
        #expect(try db.query("SELECT '2020-01-01 10:00:00+05:30'::timestamptz::text")[0][0] == .text("2020-01-01 04:30:00+00"))
        #expect(try db.query("SELECT '5874897-12-31'::date::text")[0][0] == .text("5874897-12-31"))
    }

    /// borealis_column_name kept the names of the first plan when a re-plan (a temporary table
    /// now shadowing the table) returned the same number of columns under other names.
    @Test func cColumnNamesFollowAReplanWithTheSameColumnCount() {
        withCStatement("SELECT * FROM t", setup: "CREATE TABLE t(a int, b text); INSERT INTO t VALUES (1, 'x')") { db, s in
            #expect(String(cString: borealis_column_name(s, 0)!) == "a")
            #expect(borealis_exec(db, "CREATE TEMP TABLE t(zz int, yy text); INSERT INTO t VALUES (2, 'y')", nil, nil, nil) == 0)
            #expect(borealis_step(s) == 100)
            #expect(borealis_column_int64(s, 0) == 2)
            #expect(String(cString: borealis_column_name(s, 0)!) == "zz")
            #expect(String(cString: borealis_column_name(s, 1)!) == "yy")
        }
    }

    /// A C progress callback that called back into its own connection (to remove itself, to
    /// run a query, to close) waited forever for the statement it was called from. Those
    /// calls now return BOREALIS_MISUSE at once; other connections still work from there.
    @Test func cProgressCallbackCallingItsOwnConnectionIsRefusedNotDeadlocked() throws {
        struct Context { var db: OpaquePointer?; var other: OpaquePointer?; var results: [Int32] = [] }
        var db: OpaquePointer?, other: OpaquePointer?
        #expect(borealis_open(":memory:", &db) == 0)
        #expect(borealis_open(":memory:", &other) == 0)
        #expect(borealis_exec(db, "CREATE TABLE t(x int); INSERT INTO t WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < 3000) SELECT x FROM g", nil, nil, nil) == 0)
        let context = UnsafeMutablePointer<Context>.allocate(capacity: 1)
        context.initialize(to: Context(db: db, other: other))
        defer { context.deinitialize(count: 1); context.deallocate() }
        let callback: @convention(c) (UnsafeMutableRawPointer?) -> Int32 = { raw in
            let c = raw!.assumingMemoryBound(to: Context.self)
            guard c.pointee.results.isEmpty else { return 0 }
            c.pointee.results = [borealis_exec(c.pointee.db, "SELECT 1", nil, nil, nil),
                                 borealis_progress_handler(c.pointee.db, 0, nil, nil),
                                 borealis_busy_timeout(c.pointee.db, 10),
                                 borealis_close(c.pointee.db),
                                 borealis_exec(c.pointee.other, "SELECT 1", nil, nil, nil)]
            return 0
        }
        #expect(borealis_progress_handler(db, 10, callback, context) == 0)
        let done = Atomic<Int32>(-1)
        let address = UInt(bitPattern: db)
        let runner = Thread { done.store(borealis_exec(OpaquePointer(bitPattern: address), "SELECT count(*) FROM t a, t b WHERE a.x < 20", nil, nil, nil), ordering: .relaxed) }
        runner.start()
        for _ in 0..<100 where done.load(ordering: .relaxed) == -1 { usleep(50_000) }
        let result = done.load(ordering: .relaxed)
        try #require(result != -1, "the statement never finished: the callback deadlocked on its own connection")
        #expect(result == 0)
        #expect(context.pointee.results == [21, 21, 21, 21, 0])
        #expect(borealis_progress_handler(db, 0, nil, nil) == 0)
        #expect(borealis_close(db) == 0)
        #expect(borealis_close(other) == 0)
    }

    /// The same from Swift: a progress handler that touches its `Database` waited forever on
    /// the connection's lock, which the running statement holds on the handler's own thread.
    /// Now settings and reads run as they are, and statements fail with MISUSE.
    @Test func swiftProgressHandlerTouchingItsDatabaseDoesNotHang() throws {
        let db = try Database(path: ":memory:")
        try db.execute("CREATE TABLE t(x int); INSERT INTO t WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < 3000) SELECT x FROM g")
        let nested = Locked<[String]>([])
        db.setProgressHandler(every: 1) {
            do {
                _ = try db.execute("SELECT 1")
                nested.withLock { $0.append("ran") }
            } catch let error as DatabaseError {
                nested.withLock { $0.append(error.code == .misuse ? "misuse" : "\(error)") }
            } catch {}
            _ = db.busyTimeoutMilliseconds
            db.setProgressHandler(every: 1, nil) // removes itself
            return false
        }
        let done = Atomic<Bool>(false)
        let runner = Thread { _ = try? db.execute("SELECT count(*) FROM t a, t b WHERE a.x < 20"); done.store(true, ordering: .relaxed) }
        runner.start()
        for _ in 0..<200 where !done.load(ordering: .relaxed) { usleep(50_000) }
        let finished = done.load(ordering: .relaxed)
        #expect(finished, "the statement never finished")
        #expect(nested.withLock { $0 } == ["misuse"])
    }

    /// A database opened again in the same process through a symbolic link to its file got a
    /// second engine: it waited the whole busy timeout, then failed with BUSY blaming "another
    /// open in this process", and its log folder would have been `link-log`, not `db-log`.
    @Test func aSymbolicLinkToAnOpenDatabaseSharesItsEngine() throws {
        let dir = TemporaryDirectory()
        let owner = try Database(path: dir.database)
        try owner.execute("CREATE TABLE t(x int); INSERT INTO t VALUES (1)")
        #expect(symlink(dir.database, dir.path + "/link") == 0)
        var options = StorageOptions()
        options.busyTimeoutMilliseconds = 0
        let started = ContinuousClock.now
        let linked = try Database(path: dir.path + "/link", options: options)
        #expect(ContinuousClock.now - started < .seconds(1))
        try linked.execute("INSERT INTO t VALUES (2)")
        #expect(try owner.query("SELECT count(*) FROM t")[0][0] == .integer(2))
        try linked.close()
        try owner.close()
        let reopened = try Database(path: dir.path + "/link", options: options)
        #expect(try reopened.query("SELECT count(*) FROM t")[0][0] == .integer(2))
        try reopened.close()
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/link-log"))
    }

    /// `.import` loaded a file whose last quoted field never closed (the rest of the file became
    /// one value) and replaced bytes that are not UTF-8 by U+FFFD, both silently.
    @Test func importRefusesAnUnterminatedQuoteAndTextThatIsNotUTF8() throws {
        let dir = TemporaryDirectory()
        try Data("a,b\n1,\"ok\"\n2,\"never closed\n3,x\n".utf8).write(to: URL(fileURLWithPath: dir.path + "/open.csv"))
        try Data([0x61, 0x0a, 0x63, 0x61, 0x66, 0xe9, 0x0a]).write(to: URL(fileURLWithPath: dir.path + "/latin1.csv")) // "a\ncaf\xe9\n"
        let run = try ShellTests.shell(["-list", "-noheader", ":memory:", ".import open.csv t", ".import latin1.csv u",
                                        "select count(*) from t", ".tables"], in: dir.path)
        #expect(run.err.contains("open.csv:3: unterminated quoted field"), "\(run.err)")
        #expect(run.err.contains("latin1.csv: not UTF-8"), "\(run.err)")
        #expect(run.status == 1)
        #expect(!run.out.contains("u"), "nothing of latin1.csv may be loaded: \(run.out)")
    }

    /// borealis_interrupt is the call made from another thread, so it may race the owner's
    /// borealis_close: the handle's object must stay alive for the interrupting thread, or be
    /// refused as dead — never freed under it. (Races seldom lose; ASan or many runs show it.)
    @Test func interruptRacingCloseNeverTouchesAFreedConnection() throws {
        for _ in 0..<200 {
            var db: OpaquePointer?
            #expect(borealis_open(":memory:", &db) == 0)
            let handle = UInt(bitPattern: db)
            let stop = Atomic<Bool>(false)
            let hammer = Thread {
                while !stop.load(ordering: .relaxed) { borealis_interrupt(OpaquePointer(bitPattern: handle)) }
            }
            hammer.start()
            usleep(200)
            #expect(borealis_close(db) == 0)
            stop.store(true, ordering: .relaxed)
            while !hammer.isFinished { usleep(100) }
        }
    }
}
