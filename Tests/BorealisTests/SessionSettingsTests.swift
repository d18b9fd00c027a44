// SET, SHOW, RESET, current_setting() and set_config() on one connection, and VACUUM: the
// expected values are PostgreSQL 15's for the same statements in one psql session.

import Glibc
import Testing
@testable import Borealis
@testable import BorealisSQL

@Suite struct SessionSettingsTests {
    private func show(_ db: Database, _ name: String) throws -> String? {
        let result = try db.execute("SHOW \(name)")
        guard case .text(let value)? = result.rows.first?.first else { return nil }
        return value
    }

    @Test func setInABlockIsUndoneByRollbackAndSetLocalLastsTheBlock() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute("SET application_name = 'a1'")
        try db.execute("BEGIN")
        try db.execute("SET application_name = 'inblock'")
        try db.execute("ROLLBACK")
        #expect(try show(db, "application_name") == "a1")
        try db.execute("BEGIN")
        try db.execute("SET LOCAL application_name = 'loc'")
        #expect(try show(db, "application_name") == "loc")
        try db.execute("COMMIT")
        #expect(try show(db, "application_name") == "a1")
        try db.execute("BEGIN")
        try db.execute("SET application_name = 'kept'")
        try db.execute("COMMIT")
        #expect(try show(db, "application_name") == "kept")
        // A block that failed rolls its SET back at COMMIT too.
        try db.execute("BEGIN")
        try db.execute("SET application_name = 'doomed'")
        #expect(throws: DatabaseError.self) { try db.execute("SELECT 1/0") }
        #expect(throws: DatabaseError.self) { try db.execute("COMMIT") }
        #expect(try show(db, "application_name") == "kept")
        // Outside a block SET LOCAL warns and changes nothing.
        let local = try db.execute("SET LOCAL application_name = 'x'")
        #expect(local.notice == "WARNING: SET LOCAL can only be used in transaction blocks")
        #expect(try show(db, "application_name") == "kept")
        try db.close()
    }

    @Test func valuesNamesAndErrorsAreThoseOfPostgreSQL() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute("SET search_path TO \"$user\", public")
        #expect(try show(db, "search_path") == "\"$user\", public")
        #expect(try db.execute("SELECT set_config('application_name', 'viafn', false)").rows == [[.text("viafn")]])
        #expect(try show(db, "application_name") == "viafn")
        try db.execute("SET myapp.mode = 'fast'")
        #expect(try show(db, "myapp.mode") == "fast")
        #expect(try db.execute("SELECT current_setting('myapp.mode')").rows == [[.text("fast")]])
        #expect(try db.execute("SELECT current_setting('nope.x', true) IS NULL").rows == [[.boolean(true)]])
        try db.execute("SET extra_float_digits = -3")
        #expect(try show(db, "extra_float_digits") == "-3")
        try db.execute("RESET extra_float_digits")
        #expect(try show(db, "extra_float_digits") == "1")
        for (name, value) in [("DateStyle", "ISO, MDY"), ("client_encoding", "UTF8"), ("standard_conforming_strings", "on"),
                              ("integer_datetimes", "on")] {
            #expect(try show(db, name) == value)
        }
        // SHOW names its column as PostgreSQL spells the parameter, whatever the case asked.
        #expect(try db.execute("SHOW timezone").columns == ["TimeZone"])
        try db.execute("SET TIME ZONE 'UTC'")
        #expect(try show(db, "TIME ZONE") == "UTC")
        for (sql, state) in [("SET no_such_param = 1", "42704"), ("SHOW no_such_param", "42704"),
                             ("SET server_version = '1'", "55P02"), ("SET TIME ZONE 'Europe/Paris'", "0A000"),
                             ("SET client_encoding = 'LATIN1'", "0A000"), ("SELECT current_setting('no_such_param')", "42704")] {
            let error = #expect(throws: DatabaseError.self) { try db.execute(sql) }
            #expect(error?.sqlState == state, "\(sql)")
        }
        #expect(try db.execute("SHOW ALL").columns == ["name", "setting", "description"])
        try db.close()
    }

    /// statement_timeout stops a statement that runs longer (57014), in PostgreSQL's units,
    /// and a later statement starts with its own time.
    @Test func statementTimeoutCancelsALongStatement() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute("SET statement_timeout = '50ms'")
        let start = clock()
        do {
            try db.execute("SELECT count(*) FROM generate_series(1, 2000000000)")
            Issue.record("the statement was not stopped")
        } catch let error as DatabaseError {
            #expect(error.sqlState == "57014")
            #expect(error.message.contains("statement timeout"))
        }
        #expect(Double(clock() - start) / Double(CLOCKS_PER_SEC) < 5)
        do {
            try db.execute("SELECT pg_sleep(2)")
            Issue.record("pg_sleep was not stopped")
        } catch let error as DatabaseError {
            #expect(error.sqlState == "57014")
        }
        #expect(try db.execute("SELECT 1").rows == [[.integer(1)]])
        try db.execute("SET statement_timeout = 0")
        #expect(try db.execute("SELECT pg_sleep(0.1)").rows.count == 1)
        #expect(SessionSettings.milliseconds("1.5s") == 1500)
        #expect(SessionSettings.milliseconds("2min") == 120_000)
        #expect(SessionSettings.milliseconds("250") == 250)
        #expect(SessionSettings.milliseconds("x") == nil)
    }

    /// The limits a statement reads are parsed once per change of the settings: every SET,
    /// SET LOCAL, block end and rollback is seen by the next read.
    @Test func statementLimitsFollowEveryChangeOfTheirSettings() throws {
        let session = SessionSettings(serverVersion: "test")
        #expect(session.statementTimeoutMilliseconds == 0)
        #expect(session.temporaryFileLimitBytes == nil)
        try session.set("statement_timeout", "50", local: false)
        #expect(session.statementTimeoutMilliseconds == 50)
        session.blockBegins()
        try session.set("statement_timeout", "10ms", local: true)
        try session.set("statement_memory", "1MB", local: false)
        #expect(session.statementTimeoutMilliseconds == 10)
        #expect(session.statementMemoryBytes == 1 << 20)
        session.blockEnds(committed: true)
        #expect(session.statementTimeoutMilliseconds == 50)   // SET LOCAL lapsed
        #expect(session.statementMemoryBytes == 1 << 20)      // the SET was committed
        session.blockBegins()
        try session.set("temp_file_limit", "2MB", local: false)
        #expect(session.temporaryFileLimitBytes == 2 << 20)
        session.blockEnds(committed: false)
        #expect(session.temporaryFileLimitBytes == nil)       // rolled back
        _ = try session.execute(.reset(name: "all"))
        #expect(session.statementTimeoutMilliseconds == 0 && session.statementMemoryBytes == StatementMemory.defaultLimit)
    }

    @Test func sessionFunctionsAndVacuum() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        let types = try db.execute("SELECT pg_typeof(1), pg_typeof(1.5), pg_typeof('a'::text), pg_typeof(now()), pg_typeof(NULL)")
        #expect(types.rows == [[.text("integer"), .text("numeric"), .text("text"), .text("timestamp with time zone"), .text("unknown")]])
        let version = try db.execute("SELECT version()").rows.first?.first
        guard case .text(let text)? = version else { Issue.record("version() gave \(String(describing: version))"); return }
        #expect(text.hasPrefix("PostgreSQL 15.") && text.contains("Borealis \(borealisVersion)"))
        #expect(try db.execute("SELECT current_schema(), current_schema, current_user = session_user").rows
                == [[.text("public"), .text("public"), .boolean(true)]])
        try db.execute("CREATE TABLE t (a integer) WITH (fillfactor = 90, autovacuum_enabled = false)")
        try db.execute("CREATE TABLE u (a integer) WITHOUT OIDS")
        #expect(throws: DatabaseError.self) { try db.execute("CREATE TABLE v (a integer) WITH (fillfactor = )") }
        try db.execute("INSERT INTO t VALUES (1), (2), (2)")
        try db.execute("VACUUM")
        try db.execute("VACUUM FULL VERBOSE t")
        try db.execute("VACUUM (ANALYZE, VERBOSE) t")
        try db.execute("VACUUM ANALYZE")
        let missing = #expect(throws: DatabaseError.self) { try db.execute("VACUUM nowhere") }
        #expect(missing?.sqlState == "42P01")
        try db.close()
    }
}

/// ALTER TABLE … ADD PRIMARY KEY / UNIQUE / CHECK against existing rows, with PostgreSQL 15's
/// errors and constraint names for the same statements.
@Suite struct AddConstraintTests {
    @Test func addedConstraintsCheckTheRowsAlreadyThereAndHoldAfterwards() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute("CREATE TABLE t (a int, b int)")
        try db.execute("INSERT INTO t VALUES (1, 1), (2, NULL), (2, 3)")
        try db.execute("ALTER TABLE t ADD CHECK (a > 0)")
        let cases: [(String, String, String)] = [
            ("ALTER TABLE t ADD CHECK (a > 1)", "23514", "check constraint \"t_a_check1\" of relation \"t\" is violated by some row"),
            ("ALTER TABLE t ADD PRIMARY KEY (b)", "23502", "column \"b\" of relation \"t\" contains null values"),
            ("ALTER TABLE t ADD PRIMARY KEY (a)", "23505", ""),
            ("ALTER TABLE t ADD UNIQUE (a)", "23505", ""),
            ("ALTER TABLE t ADD PRIMARY KEY (nope)", "42703", "column \"nope\" named in key does not exist"),
        ]
        for (sql, state, message) in cases {
            let error = #expect(throws: DatabaseError.self) { try db.execute(sql) }
            #expect(error?.sqlState == state, "\(sql)")
            if !message.isEmpty { #expect(error?.message == message, "\(sql)") }
        }
        try db.execute("ALTER TABLE t ADD CHECK (a > 0 AND b > 0)")
        // The checks' names, as the rows that break them report them.
        for (sql, check) in [("INSERT INTO t VALUES (-1, 5)", "t_a_check"), ("INSERT INTO t VALUES (5, -1)", "t_check")] {
            let error = #expect(throws: DatabaseError.self) { try db.execute(sql) }
            #expect(error?.message.contains("\"\(check)\"") == true, "\(error?.message ?? "")")
        }
        // Once the rows allow it, the keys are added and enforced.
        try db.execute("DELETE FROM t WHERE b IS NULL")
        try db.execute("ALTER TABLE t ADD CONSTRAINT t_pk PRIMARY KEY (a)")
        try db.execute("ALTER TABLE t ADD UNIQUE (b)")
        for (sql, state) in [("INSERT INTO t VALUES (1, 9)", "23505"), ("INSERT INTO t VALUES (NULL, 8)", "23502"),
                             ("INSERT INTO t VALUES (7, 3)", "23505"), ("INSERT INTO t VALUES (-1, 5)", "23514"),
                             ("ALTER TABLE t ADD PRIMARY KEY (b)", "42P16")] {
            let error = #expect(throws: DatabaseError.self) { try db.execute(sql) }
            #expect(error?.sqlState == state, "\(sql)")
        }
        try db.execute("INSERT INTO t VALUES (5, 5)")
        #expect(try db.execute("SELECT a, b FROM t ORDER BY a").rows == [[.integer(1), .integer(1)], [.integer(2), .integer(3)], [.integer(5), .integer(5)]])
        // The constraints survive a reopen.
        try db.close()
        let again = try Database(path: dir.database)
        let duplicate = #expect(throws: DatabaseError.self) { try again.execute("INSERT INTO t VALUES (5, 6)") }
        #expect(duplicate?.sqlState == "23505")
        try again.close()
    }
    @Test func addedForeignKeysCheckTheRowsAlreadyThere() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        // pgbench -i's order: tables, rows, then keys.
        try db.execute("CREATE TABLE branches (bid int NOT NULL, bbalance int) WITH (fillfactor = 100)")
        try db.execute("CREATE TABLE tellers (tid int NOT NULL, bid int, tbalance int) WITH (fillfactor = 100)")
        try db.execute("INSERT INTO branches VALUES (1, 0), (2, 0)")
        try db.execute("INSERT INTO tellers VALUES (1, 1, 0), (2, 2, 0), (3, 3, 0)")
        try db.execute("VACUUM ANALYZE branches")
        try db.execute("ALTER TABLE branches ADD PRIMARY KEY (bid)")
        try db.execute("ALTER TABLE tellers ADD PRIMARY KEY (tid)")
        let orphan = #expect(throws: DatabaseError.self) {
            try db.execute("ALTER TABLE tellers ADD CONSTRAINT tellers_bid_fkey FOREIGN KEY (bid) REFERENCES branches")
        }
        #expect(orphan?.sqlState == "23503")
        #expect(orphan?.message.hasPrefix("insert or update on table \"tellers\" violates foreign key constraint \"tellers_bid_fkey\"") == true)
        try db.execute("DELETE FROM tellers WHERE bid = 3")
        try db.execute("ALTER TABLE tellers ADD FOREIGN KEY (bid) REFERENCES branches")
        let insert = #expect(throws: DatabaseError.self) { try db.execute("INSERT INTO tellers VALUES (9, 7, 0)") }
        #expect(insert?.sqlState == "23503")
        let delete = #expect(throws: DatabaseError.self) { try db.execute("DELETE FROM branches WHERE bid = 1") }
        #expect(delete?.sqlState == "23503")
        let noKey = #expect(throws: DatabaseError.self) { try db.execute("ALTER TABLE branches ADD FOREIGN KEY (bbalance) REFERENCES tellers (tbalance)") }
        #expect(noKey?.sqlState == "42830")
        try db.close()
    }
}

/// now() is the transaction's time, statement_timestamp() the statement's, clock_timestamp()
/// the clock's at each call, as in PostgreSQL.
@Suite struct TransactionTimeTests {
    private func micros(_ db: Database, _ sql: String) throws -> [Int64] {
        try db.execute(sql).rows.first?.map { value -> Int64 in
            if case .timestamptz(let t) = value { return t }
            Issue.record("not a timestamptz: \(value)")
            return 0
        } ?? []
    }

    @Test func nowStaysFixedForTheBlockWhileTheStatementAndClockTimesMove() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute("BEGIN")
        let first = try micros(db, "SELECT now(), statement_timestamp()")
        usleep(20_000)
        let second = try micros(db, "SELECT now(), current_timestamp, transaction_timestamp(), statement_timestamp()")
        #expect(second[0] == first[0])
        #expect(second[1] == first[0] && second[2] == first[0])
        #expect(second[3] >= first[1] + 20_000)
        try db.execute("COMMIT")
        // Outside a block each statement is its own transaction.
        let outside = try micros(db, "SELECT now()")
        #expect(outside[0] >= second[3])
        // clock_timestamp() reads the clock at each call, even within one statement.
        let clock = try micros(db, "SELECT min(c), max(c) FROM (SELECT clock_timestamp() AS c FROM generate_series(1, 200000)) s")
        #expect(clock[1] > clock[0])
        // A rolled-back block ends its time too.
        try db.execute("BEGIN")
        let rolled = try micros(db, "SELECT now()")
        try db.execute("ROLLBACK")
        usleep(5_000)
        #expect(try micros(db, "SELECT now()")[0] > rolled[0])
    }
}
