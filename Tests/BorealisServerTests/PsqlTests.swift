// psql and pgbench (PostgreSQL 15's, from the system) against `BorealisServer` in this
// process: statements and their exact command tags, errors with their SQLSTATEs, several
// statements in one Query, transaction blocks, session commands, and pgbench scripts in the
// simple, extended and prepared protocols (the extended ones with untyped parameters).

import Foundation
import Testing
import Borealis
import BorealisServer

@Suite(.serialized, .enabled(if: ServedDatabase.hasPsql, "psql is not installed (apt-get install postgresql-client)"))
struct PsqlTests {
    @Test func psqlRunsStatementsAndPrintsExactCommandTags() throws {
        let served = try ServedDatabase()
        defer { served.close() }
        let run = try served.psql("""
            \\set QUIET off
            CREATE TABLE t(id SERIAL PRIMARY KEY, name TEXT, d DATE, n NUMERIC(10,2), ok BOOLEAN);
            INSERT INTO t(name, d, n, ok) VALUES ('a', '2024-01-02', 1.5, true), ('b', NULL, -2.25, false);
            \\pset format unaligned
            SELECT * FROM t ORDER BY id;
            UPDATE t SET name = 'c' WHERE id = 2;
            DELETE FROM t WHERE id = 99;
            CREATE INDEX t_name ON t(name);
            DROP INDEX t_name;
            BEGIN;
            COMMIT;
            SET application_name = 'borealis-test';
            SHOW application_name;
            VACUUM;
            """)
        #expect(run.status == 0, "\(run.err)")
        let lines = run.out.split(separator: "\n").map(String.init)
        for expected in ["CREATE TABLE", "INSERT 0 2", "id|name|d|n|ok", "1|a|2024-01-02|1.50|t", "2|b||-2.25|f", "(2 rows)",
                         "UPDATE 1", "DELETE 0", "CREATE INDEX", "DROP INDEX", "BEGIN", "COMMIT", "SET", "borealis-test", "VACUUM"] {
            #expect(lines.contains(expected), "missing \(expected) in:\n\(run.out)")
        }
    }

    /// psql's describe commands read pg_catalog (PgCatalog.swift): each prints what
    /// PostgreSQL's would for the same schema.
    @Test func psqlDescribeCommandsListRelationsIndexesAndSchemas() throws {
        let served = try ServedDatabase()
        defer { served.close() }
        let setup = try served.psql("""
            CREATE TABLE c (id int PRIMARY KEY, name varchar(20) NOT NULL UNIQUE);
            CREATE TABLE o (id serial PRIMARY KEY, cid int REFERENCES c(id));
            CREATE INDEX o_cid ON o (cid);
            CREATE VIEW v AS SELECT id FROM c;
            """)
        #expect(setup.status == 0, "\(setup.err)")
        let run = try served.psql("\\pset format unaligned\n\\d\n\\dt\n\\di\n\\dn\n")
        #expect(run.status == 0, "\(run.err)")
        #expect(run.err.isEmpty, "\(run.err)")
        let lines = run.out.split(separator: "\n").map(String.init)
        for expected in ["public|c|table|tester", "public|o|table|tester", "public|o_id_seq|sequence|tester", "public|v|view|tester",
                         "public|c_pkey|index|tester|c", "public|c_name_key|index|tester|c", "public|o_cid|index|tester|o",
                         "public|tester"] {
            #expect(lines.contains(expected), "missing \(expected) in:\n\(run.out)")
        }
    }

    /// `\d TABLE` runs psql's nine catalog queries (any failing one blanks the display) and
    /// prints columns, indexes, checks and foreign keys both ways, as PostgreSQL's; `\l` too.
    @Test func psqlDescribesATableAndListsDatabases() throws {
        let served = try ServedDatabase()
        defer { served.close() }
        let setup = try served.psql("""
            CREATE TABLE c (id int PRIMARY KEY, name varchar(20) NOT NULL UNIQUE, amount numeric(10,2) DEFAULT 0 CHECK (amount >= 0));
            CREATE TABLE o (id serial PRIMARY KEY, cid int REFERENCES c(id) ON DELETE CASCADE);
            """)
        #expect(setup.status == 0, "\(setup.err)")
        let run = try served.psql("\\d c\n\\d o\n\\l\n")
        #expect(run.status == 0 && run.err.isEmpty, "\(run.err)")
        let lines = run.out.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        for expected in ["Table \"public.c\"", "name   | character varying(20) |           | not null |",
                         "\"c_pkey\" PRIMARY KEY, btree (id)", "\"c_name_key\" UNIQUE CONSTRAINT, btree (name)",
                         "\"c_amount_check\" CHECK ((amount >= 0))",
                         "TABLE \"o\" CONSTRAINT \"o_cid_fkey\" FOREIGN KEY (cid) REFERENCES c(id) ON DELETE CASCADE",
                         "\"o_cid_fkey\" FOREIGN KEY (cid) REFERENCES c(id) ON DELETE CASCADE", "List of databases"] {
            #expect(lines.contains { $0.contains(expected) }, "missing \(expected) in:\n\(run.out)")
        }
    }

    /// SQL PREPARE over the wire: EXECUTE answers with its statement's tag, and DEALLOCATE
    /// finds the engine's statements as well as the protocol's.
    @Test func sqlPrepareExecuteAndDeallocateOverTheWire() throws {
        let served = try ServedDatabase()
        defer { served.close() }
        let run = try served.psql("""
            \\set QUIET off
            \\pset format unaligned
            CREATE TABLE t (a int);
            PREPARE ins (int) AS INSERT INTO t VALUES ($1);
            EXECUTE ins(5);
            PREPARE q AS SELECT a * 2 AS d FROM t;
            EXECUTE q;
            DEALLOCATE ins;
            DEALLOCATE ALL;
            """)
        #expect(run.status == 0, "\(run.err)")
        let lines = run.out.split(separator: "\n").map(String.init)
        for expected in ["PREPARE", "INSERT 0 1", "d", "10", "DEALLOCATE", "DEALLOCATE ALL"] {
            #expect(lines.contains(expected), "missing \(expected) in:\n\(run.out)")
        }
        let gone = try served.psql("DEALLOCATE q;")
        #expect(gone.err.contains("prepared statement \"q\" does not exist"), "\(gone.err)")
    }

    @Test func anErrorCarriesItsSQLSTATEAndStopsTheScript() throws {
        let served = try ServedDatabase()
        defer { served.close() }
        let run = try served.psql("""
            \\set VERBOSITY verbose
            SELECT 1 AS before;
            SELECT * FROM nowhere;
            SELECT 2 AS never;
            """, extra: ["-A", "-t"])
        #expect(run.status == 3) // psql's status for an error under ON_ERROR_STOP
        #expect(run.out.contains("1"))
        #expect(!run.out.contains("2"))
        #expect(run.err.contains("ERROR:  42P01: relation \"nowhere\" does not exist"), "\(run.err)")

        let states = try served.psql("""
            \\set ON_ERROR_STOP 0
            SELECT 1/0;
            \\echo state=:LAST_ERROR_SQLSTATE
            SELECT 'x'::int;
            \\echo state=:LAST_ERROR_SQLSTATE
            SELECT nope FROM (SELECT 1 AS a) s;
            \\echo state=:LAST_ERROR_SQLSTATE
            SELEC 1;
            \\echo state=:LAST_ERROR_SQLSTATE
            """)
        for state in ["22012", "22P02", "42703", "42601"] {
            #expect(states.out.contains("state=\(state)"), "\(states.out)\(states.err)")
        }
    }

    @Test func severalStatementsInOneQueryRunAsOneTransaction() throws {
        let served = try ServedDatabase()
        defer { served.close() }
        #expect(try served.psql("CREATE TABLE t(x INT)").status == 0)
        // psql -c sends its whole text as one Query message.
        let failed = try served.psql("", extra: ["-c", "INSERT INTO t VALUES (1); INSERT INTO t VALUES (2); SELECT 1/0"])
        #expect(failed.status != 0)
        #expect(failed.err.contains("division by zero"))
        let both = try served.psql("", extra: ["-A", "-t", "-c", "INSERT INTO t VALUES (3); SELECT count(*) FROM t; SELECT sum(x) FROM t"])
        #expect(both.status == 0, "\(both.err)")
        #expect(both.out == "1\n3\n", "\(both.out)")
        #expect(try served.db.query("SELECT count(*) FROM t")[0][0] == .integer(1))
    }

    @Test func transactionBlocksCommitRollBackAndFail() throws {
        let served = try ServedDatabase()
        defer { served.close() }
        let run = try served.psql("""
            \\set ON_ERROR_STOP 0
            CREATE TABLE t(x INT PRIMARY KEY);
            BEGIN;
            INSERT INTO t VALUES (1);
            ROLLBACK;
            START TRANSACTION;
            INSERT INTO t VALUES (2);
            END;
            BEGIN;
            INSERT INTO t VALUES (3);
            INSERT INTO t VALUES (2);
            \\echo state=:LAST_ERROR_SQLSTATE
            SELECT 1;
            \\echo state=:LAST_ERROR_SQLSTATE
            ROLLBACK;
            SELECT 'rows', count(*) FROM t;
            """, extra: ["-A", "-t"])
        #expect(run.out.contains("state=23505"), "\(run.out)\(run.err)")
        #expect(run.out.contains("state=25P02"))
        #expect(run.out.contains("rows|1"))
        #expect(try served.db.query("SELECT x FROM t")[0][0] == .integer(2))
    }

    @Test func psqlLeavingAnOpenTransactionHasItRolledBack() throws {
        let served = try ServedDatabase()
        defer { served.close() }
        #expect(try served.psql("CREATE TABLE t(x INT)").status == 0)
        let run = try served.psql("BEGIN; INSERT INTO t VALUES (1);")
        #expect(run.status == 0, "\(run.err)")
        try waitForNoSessions(served)
        #expect(try served.db.query("SELECT count(*) FROM t")[0][0] == .integer(0))
        try served.db.execute("INSERT INTO t VALUES (2)") // no lock left behind
    }

    @Test(.enabled(if: ServedDatabase.hasPgbench, "pgbench is not installed"))
    func pgbenchRunsScriptsInEveryProtocolMode() throws {
        let served = try ServedDatabase()
        defer { served.close() }
        #expect(try served.psql("""
            CREATE TABLE accounts(aid INT PRIMARY KEY, balance INT NOT NULL, filler TEXT);
            INSERT INTO accounts VALUES \((1...100).map { "(\($0), 0, '')" }.joined(separator: ", "));
            CREATE TABLE history(aid INT, delta INT, mtime TIMESTAMP);
            """).status == 0)
        let script = try served.file("bench.sql", """
            \\set aid random(1, 100)
            \\set delta random(-5000, 5000)
            BEGIN;
            UPDATE accounts SET balance = balance + :delta WHERE aid = :aid;
            SELECT balance FROM accounts WHERE aid = :aid;
            INSERT INTO history (aid, delta, mtime) VALUES (:aid, :delta, CURRENT_TIMESTAMP);
            END;
            """)
        for mode in ["simple", "extended", "prepared"] {
            let run = try served.pgbench(["-n", "-M", mode, "-c", "4", "-j", "2", "-t", "25", "-f", script])
            #expect(run.status == 0, "\(mode): \(run.out)\(run.err)")
            #expect(run.out.contains("number of transactions actually processed: 100/100"), "\(mode): \(run.out)\(run.err)")
        }
        #expect(try served.db.query("SELECT count(*) FROM history")[0][0] == .integer(300))
        let sums = try served.db.query("SELECT (SELECT sum(balance) FROM accounts) = (SELECT sum(delta) FROM history)")
        #expect(sums[0][0] == .boolean(true))
    }
}

extension PsqlTests {
    @Test func psqlCopiesInAndOutInTextAndCSV() throws {
        let served = try ServedDatabase()
        defer { served.close() }
        let run = try served.psql("""
            CREATE TABLE c(id INT, name TEXT, note TEXT);
            \\copy c from stdin
            1	one	\\N
            2	tw\\to	x\\\\y
            \\.
            \\copy c from stdin with (format csv, header)
            id,name,note
            3,"th,ree",
            4,"fo""ur","two
            lines"
            \\.
            \\copy c to stdout
            \\copy (SELECT id, name FROM c WHERE id > 2 ORDER BY id) to stdout with csv header
            """)
        #expect(run.status == 0, "\(run.err)")
        #expect(run.out == """
            1\tone\t\\N
            2\ttw\\to\tx\\\\y
            3\tth,ree\t\\N
            4\tfo"ur\ttwo\\nlines
            id,name
            3,"th,ree"
            4,"fo""ur"

            """, "\(run.out)")
        #expect(try served.db.query("SELECT name FROM c WHERE id = 2")[0][0] == .text("tw\to"))
        // A bad row fails the whole COPY: nothing of it stays.
        let bad = try served.psql("\\copy c from stdin\n5\tfive\tx\n6\tsix\n\\.\n")
        #expect(bad.status != 0)
        #expect(bad.err.contains("missing data for column 3"), "\(bad.err)")
        #expect(try served.db.query("SELECT count(*) FROM c")[0][0] == .integer(4))
    }

    @Test func copyWritesGivenValuesIntoGeneratedAlwaysIdentityColumns() throws {
        let served = try ServedDatabase()
        defer { served.close() }
        // As in PostgreSQL: COPY is INSERT … OVERRIDING SYSTEM VALUE, and leaves the sequence.
        let run = try served.psql("""
            CREATE TABLE ci(id INT GENERATED ALWAYS AS IDENTITY, name TEXT);
            \\copy ci from stdin
            10	ten
            \\.
            INSERT INTO ci(name) VALUES ('one');
            SELECT id, name FROM ci ORDER BY id;
            """, extra: ["-A", "-t"])
        #expect(run.status == 0, "\(run.err)")
        #expect(run.out.contains("1|one\n10|ten"), "\(run.out)")
    }

    @Test(.enabled(if: ServedDatabase.hasPgbench, "pgbench is not installed"))
    func pgbenchLoadsWithCopyAndRunsItsBuiltinTpcbLikeScript() throws {
        let served = try ServedDatabase()
        defer { served.close() }
        // The tables as `pgbench -i` makes them, with their primary keys (the engine has no
        // WITH (fillfactor) or ALTER TABLE … ADD PRIMARY KEY yet, so -I dt and p are skipped).
        #expect(try served.psql("""
            CREATE TABLE pgbench_branches(bid INT NOT NULL PRIMARY KEY, bbalance INT, filler CHAR(88));
            CREATE TABLE pgbench_tellers(tid INT NOT NULL PRIMARY KEY, bid INT, tbalance INT, filler CHAR(84));
            CREATE TABLE pgbench_accounts(aid INT NOT NULL PRIMARY KEY, bid INT, abalance INT, filler CHAR(84));
            CREATE TABLE pgbench_history(tid INT, bid INT, aid INT, delta INT, mtime TIMESTAMP, filler CHAR(22));
            """).status == 0)
        let load = try served.pgbench(["-i", "-I", "g", "-s", "1"])
        #expect(load.status == 0, "\(load.out)\(load.err)")
        #expect(try served.db.query("SELECT count(*) FROM pgbench_accounts")[0][0] == .integer(100_000))
        for mode in ["simple", "extended", "prepared"] {
            let run = try served.pgbench(["-n", "-M", mode, "-c", "4", "-j", "2", "-t", "20"])
            #expect(run.status == 0, "\(mode): \(run.out)\(run.err)")
            #expect(run.out.contains("number of transactions actually processed: 80/80"), "\(mode): \(run.out)\(run.err)")
        }
        let check = try served.db.query("""
            SELECT (SELECT sum(abalance) FROM pgbench_accounts), (SELECT sum(tbalance) FROM pgbench_tellers),
                   (SELECT sum(bbalance) FROM pgbench_branches), (SELECT sum(delta) FROM pgbench_history),
                   (SELECT count(*) FROM pgbench_history)
            """)[0]
        #expect(check.values[4] == .integer(240))
        #expect(check.values[0] == check.values[3] && check.values[1] == check.values[3] && check.values[2] == check.values[3])
    }
}

/// Waits (up to 10 s) until the server has no session left.
func waitForNoSessions(_ served: ServedDatabase) throws {
    for _ in 0..<1000 where served.server.connectionCount > 0 { usleep(10_000) }
    #expect(served.server.connectionCount == 0)
}
