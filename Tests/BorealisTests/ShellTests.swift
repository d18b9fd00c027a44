// The `borealis` shell, run as a process: scripts on standard input (streamed), script errors
// with file and line, ROLLBACK after a failed transaction's COMMIT, output modes, dot-commands,
// .import, .dump round trips, and the interactive prompt on a pseudo-terminal (Ctrl-C and
// history). Build the shell first (`swift build`); the tests look for it beside the test bundle.

import Foundation
import Synchronization
import Testing
@testable import Borealis
@testable import BorealisSQL
@testable import BorealisStorage

@Suite struct ShellTests {
    static var executable: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("borealis").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return "borealis"
    }

    /// The shell holding `database` open while it waits on its standard input (closing the
    /// returned pipe's writing end lets it exit).
    static func holder(of database: String) throws -> (process: Process, input: Pipe) {
        try #require(FileManager.default.isExecutableFile(atPath: executable), "build the borealis shell first (swift build)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = [database]
        let input = Pipe()
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return (process, input)
    }

    struct Run {
        var out: String
        var err: String
        var status: Int32
    }

    /// Runs the shell with `arguments`, `input` on standard input, in `directory`.
    static func shell(_ arguments: [String], input: String = "", in directory: String? = nil, environment: [String: String]? = nil) throws -> Run {
        try #require(FileManager.default.isExecutableFile(atPath: executable), "build the borealis shell first (swift build)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        if let environment { process.environment = environment }
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let err = Locked<Data>(Data())
        let errReader = Thread { err.withLock { $0 = stderr.fileHandleForReading.readDataToEndOfFile() } }
        errReader.start()
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !errReader.isFinished { usleep(1000) }
        return Run(out: String(decoding: out, as: UTF8.self), err: String(decoding: err.withLock { $0 }, as: UTF8.self),
                   status: process.terminationStatus)
    }

    // MARK: Scripts

    @Test func readOnlyOnAMissingDatabaseCreatesNothing() throws {
        let dir = TemporaryDirectory()
        let run = try Self.shell(["-readonly", dir.path + "/missing.db", "SELECT 1"])
        #expect(run.status == 1)
        #expect(run.err.contains("does not exist"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    @Test func aSecondShellOnAnOwnedDatabaseIsRefusedNamingTheOwner() throws {
        let dir = TemporaryDirectory()
        _ = try Self.shell([dir.database, "CREATE TABLE t(x INTEGER)"])
        let (owner, input) = try Self.holder(of: dir.database)
        defer { if owner.isRunning { owner.terminate() } }
        // Once the first shell has the database, a second is refused after the busy timeout
        // (5 s by default); until then a probe may still get in.
        var refused: Run?
        for _ in 0..<100 where refused == nil {
            let run = try Self.shell([dir.database, "SELECT count(*) FROM t"])
            if run.status != 0 { refused = run } else { usleep(50_000) }
        }
        let run = try #require(refused)
        #expect(run.err.contains("in use by process \(owner.processIdentifier)"))
        try input.fileHandleForWriting.close()
        owner.waitUntilExit()
        #expect(try Self.shell(["-list", "-noheader", dir.database, "SELECT count(*) FROM t"]).out == "0\n")
    }

    @Test func standardInputRunsEachStatementWhenItsSemicolonArrives() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.executable))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = ["-list", "-noheader"]
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        // The first statement's result must arrive while standard input is still open.
        stdin.fileHandleForWriting.write(Data("select 'it''s;' || 1 as a; -- a ; in a comment\n".utf8))
        let first = stdout.fileHandleForReading.availableData
        #expect(String(decoding: first, as: UTF8.self) == "it's;1\n")
        stdin.fileHandleForWriting.write(Data("select /* ; */ 2;\n".utf8))
        try stdin.fileHandleForWriting.close()
        let rest = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(String(decoding: rest, as: UTF8.self) == "2\n")
        #expect(process.terminationStatus == 0)
    }

    @Test func statementsEndOnlyAtSemicolonsOutsideQuotesAndComments() throws {
        let run = try Self.shell(["-list", "-noheader"], input: """
            -- header;
            select 'a;''b' /* x; /* nested; */ y; */ as "c;";
            select 1; select 2 -- ;
            ;
            select $$d;e$$;
            select 3; select $t$f;$$;$t$;
            select E'g\\';h';
            select 4

            """)
        // Each quoted statement reached the engine whole: dollar quotes and E'…' keep their semicolons.
        #expect(run.out == "a;'b\n1\n2\nd;e\n3\nf;$$;\ng';h\n4\n")
        #expect(run.err.isEmpty)
    }

    @Test func scriptErrorsNameTheFileAndTheStatementsLine() throws {
        let dir = TemporaryDirectory()
        try "select 1;\n\n-- comment\nselect\n  nope;\n.mode nosuch\n".write(toFile: dir.path + "/s.sql", atomically: true, encoding: .utf8)
        let read = try Self.shell(["-list", ":memory:", ".read s.sql"], in: dir.path)
        #expect(read.err == """
            s.sql:4: ERROR: column "nope" does not exist (SQLSTATE 42703)
            s.sql:6: ERROR: usage: .mode table|box|markdown|column|csv|json|line|list|quote|insert [TABLE]

            """)
        #expect(read.status == 1)
        let piped = try Self.shell(["-list"], input: "select 1;\nselect 1/0;\n")
        #expect(piped.err == "<stdin>:2: ERROR: division by zero (SQLSTATE 22012)\n")
        let argument = try Self.shell([":memory:", "select 1/0"])
        #expect(argument.err == "Error: division by zero (SQLSTATE 22012)\n")
    }

    @Test func commitOfAFailedTransactionPrintsRollbackAndCountsAsAnError() throws {
        let run = try Self.shell(["-list", "-noheader"], input: "begin;\nselect 1/0;\ncommit;\nselect 3;\n")
        #expect(run.out == "ROLLBACK\n3\n")
        #expect(run.err.contains("<stdin>:3: ERROR: "))
        #expect(run.err.contains("(SQLSTATE 25P02)"))
        #expect(run.status == 1)
        // With bail on, the script stops there.
        let bail = try Self.shell(["-list", "-noheader"], input: "begin;\nselect 1/0;\n.bail on\ncommit;\nselect 3;\n")
        #expect(bail.out == "ROLLBACK\n")
        #expect(bail.status == 1)
        let fine = try Self.shell(["-list", "-noheader"], input: "begin;\nselect 1;\ncommit;\n")
        #expect(fine.out == "1\n" && fine.status == 0)
    }

    // MARK: Output modes

    static let sample = "select 1 as a, 'it''s' as bb, NULL as c, 2.5 as d, '\\x00ff'::bytea as e union all select 22, 'x', 'y', -3, NULL;"

    @Test func boxMarkdownAndColumnModesAlignAsSqlite3Does() throws {
        #expect(try Self.shell(["-box"], input: Self.sample).out == """
            ┌────┬──────┬───┬─────┬────────┐
            │ a  │  bb  │ c │  d  │   e    │
            ├────┼──────┼───┼─────┼────────┤
            │ 1  │ it's │   │ 2.5 │ \\x00ff │
            │ 22 │ x    │ y │ -3  │        │
            └────┴──────┴───┴─────┴────────┘

            """)
        #expect(try Self.shell(["-markdown"], input: Self.sample).out == """
            | a  |  bb  | c |  d  |   e    |
            |----|------|---|-----|--------|
            | 1  | it's |   | 2.5 | \\x00ff |
            | 22 | x    | y | -3  |        |

            """)
        #expect(try Self.shell(["-column"], input: Self.sample).out == """
            a   bb    c  d    e     
            --  ----  -  ---  ------
            1   it's     2.5  \\x00ff
            22  x     y  -3         

            """)
        #expect(try Self.shell(["-column", "-noheader"], input: "select 1 as a, 'it''s' as bb;").out == "1  it's\n")
        #expect(try Self.shell(["-box"], input: "select 1 as a where false;").out == "")
    }

    @Test func quoteAndInsertModesWriteLiteralsThatReadBack() throws {
        #expect(try Self.shell(["-quote"], input: Self.sample).out == """
            'a','bb','c','d','e'
            1,'it''s',NULL,2.5,X'00ff'
            22,'x','y',-3,NULL

            """)
        let insert = try Self.shell([":memory:", ".mode insert t", "select 1 as a, 'it''s' as \"B\", date '2024-02-29' as d",
                                     ".headers off", "select NULL::int as a, '\\x01'::bytea as b, true as c"])
        #expect(insert.out == """
            INSERT INTO t(a,"B",d) VALUES(1,'it''s','2024-02-29'::date);
            INSERT INTO t VALUES(NULL,'\\x01'::bytea,TRUE);

            """)
    }

    // MARK: Dot-commands

    @Test func echoChangesSeparatorAndPrintCommands() throws {
        let run = try Self.shell(["-list"], input: """
            create table t(a int);
            .changes on
            insert into t values (1), (2);
            .changes off
            .echo on
            select count(*) from t;
            .echo off
            .separator ; ~
            select 1 as x, 2 as y;
            .print a  "b c"   'd'

            """)
        #expect(run.out == """
            changes: 2   total_changes: 2
            select count(*) from t;
            count
            2
            .echo off
            x;y~1;2~a b c d

            """)
        #expect(run.status == 0)
    }

    @Test func bailOnStopsAScriptAndShowReportsSettings() throws {
        let run = try Self.shell(["-list", "-noheader"], input: "select 1/0;\n.bail on\nselect 1/0;\nselect 2;\n")
        #expect(run.out == "")
        #expect(run.err.components(separatedBy: "\n").filter { !$0.isEmpty }.count == 2)
        let show = try Self.shell([":memory:", ".mode csv", ".nullvalue -", ".bail on", ".show"])
        let settings = [("bail", "on"), ("changes", "off"), ("echo", "off"), ("headers", "on"), ("mode", "csv"),
                        ("nullvalue", "\"-\""), ("output", "stdout"), ("colseparator", "\"|\""), ("rowseparator", "\"\\n\""),
                        ("timer", "off"), ("replica", "off"), ("filename", ":memory:")]
        #expect(show.out == settings.map { String(repeating: " ", count: 12 - $0.0.count) + "\($0.0): \($0.1)\n" }.joined())
    }

    @Test func onceSendsOneResultToAFileAndOpenSwitchesDatabases() throws {
        let dir = TemporaryDirectory()
        let run = try Self.shell(["-list", "-noheader"], input: """
            .once out.txt
            select 1;
            select 2;
            .open "two words.db"
            create table t(a int);
            insert into t values (7);
            .open
            select count(*) from t;

            """, in: dir.path)
        #expect(try String(contentsOfFile: dir.path + "/out.txt", encoding: .utf8) == "1\n")
        #expect(run.out == "2\n")
        #expect(run.err.contains("<stdin>:8: ERROR: relation \"t\" does not exist"))
        let reopened = try Self.shell(["-list", "-noheader", dir.path + "/two words.db", "select a from t"])
        #expect(reopened.out == "7\n")
    }

    // MARK: .import

    @Test func importTakesColumnsFromTheFirstRowOfANewTable() throws {
        let dir = TemporaryDirectory()
        try "a,\"b c\"\n1,\"x, \"\"y\"\"\nz\"\n3,\n".write(toFile: dir.path + "/my data.csv", atomically: true, encoding: .utf8)
        let run = try Self.shell(["-quote", ":memory:", ".import --csv \"my data.csv\" t", "select * from t"], in: dir.path)
        #expect(run.out == "'a','b c'\n'1','x, \"y\"\nz'\n'3',''\n")
        #expect(run.status == 0)
    }

    @Test func importIntoAnExistingTableSkipsAHeaderAndLoadsEmptyFieldsAsNull() throws {
        let dir = TemporaryDirectory()
        try "id,day,note\n1,2024-01-31,\n2,,hi\n".write(toFile: dir.path + "/in.csv", atomically: true, encoding: .utf8)
        let run = try Self.shell(["-quote", "-noheader", ":memory:", "create table t(id int, day date, note text)",
                                  ".import --skip 1 in.csv t", "select id, day, note, note is null from t"], in: dir.path)
        #expect(run.out == "1,'2024-01-31','',FALSE\n2,NULL,'hi',FALSE\n")
        #expect(run.status == 0)
    }

    @Test func importErrorsNameTheMissingFileAndTheBadLine() throws {
        let dir = TemporaryDirectory()
        try "1,2\n3,4\n5\n".write(toFile: dir.path + "/bad.csv", atomically: true, encoding: .utf8)
        let run = try Self.shell(["-list", "-noheader", ":memory:", "create table t(a int, b int)", ".import missing.csv t",
                                  ".import bad.csv t", "select count(*) from t"], in: dir.path)
        #expect(run.err == """
            Error: cannot open "missing.csv": No such file or directory
            Error: bad.csv:3: expected 2 columns but found 1

            """)
        #expect(run.out == "0\n")
        #expect(run.status == 1)
    }

    // MARK: .dump

    static let schema = """
        CREATE TABLE parent(id SERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE, code varchar(10) DEFAULT 'x',
                            CHECK (length(name) > 0));
        CREATE TABLE "Child"(id bigint GENERATED BY DEFAULT AS IDENTITY, parent_id int REFERENCES parent(id) ON DELETE CASCADE,
                             n SERIAL, a numeric(10,2), b bytea, d date, t time, ts timestamp, tz timestamptz, ok boolean,
                             f double precision, iv interval, s text, PRIMARY KEY (id, parent_id), UNIQUE (a, d));
        CREATE TABLE aaa_node(id int PRIMARY KEY, up int REFERENCES aaa_node(id), owner int REFERENCES parent(id));
        CREATE INDEX child_ab ON "Child"(a, b);
        CREATE UNIQUE INDEX child_s ON "Child"(s);
        CREATE VIEW v AS SELECT p.name, c.a FROM parent p JOIN "Child" c ON c.parent_id = p.id;
        INSERT INTO parent(name) VALUES ('a'), ('b''c'), ('gone');
        DELETE FROM parent WHERE name = 'gone';
        INSERT INTO "Child"(parent_id, a, b, d, t, ts, tz, ok, f, iv, s) VALUES
          (1, 12.50, '\\x00ff27', '2024-02-29', '13:45:01.5', '2024-01-01 00:00:00.123456', '2024-01-01 10:00:00+02', true,
           0.1, '1 day 02:00:00', 'it''s
        two lines'),
          (2, -99999999.99, '\\x', '0001-01-01', '00:00:00', '1970-01-01 00:00:00', '2038-01-19 03:14:08+00', false,
           1.0000000000000002, '-3 mons', ''),
          (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '1e300', NULL, NULL);
        INSERT INTO aaa_node VALUES (1, NULL, 1), (2, NULL, 2), (3, 1, NULL);
        UPDATE aaa_node SET up = 3 WHERE id = 2;
        """

    /// `.dump` of the database at `path`, through the shell.
    static func dump(_ path: String) throws -> String {
        let run = try shell([path, ".dump"])
        #expect(run.err == "" && run.status == 0)
        return run.out
    }

    @Test func dumpLoadsIntoANewDatabaseAndDumpsTheSameText() throws {
        let dir = TemporaryDirectory()
        let original = try Database(path: dir.path + "/a.db")
        try original.execute(Self.schema)
        try original.close()
        let text = try Self.dump(dir.path + "/a.db")
        #expect(text.hasPrefix("BEGIN;\nCREATE TABLE parent ("))
        #expect(text.hasSuffix("COMMIT;\n"))
        // Parents first: parent, then the tables referencing it; a self-referencing table's
        // rows come after the rows they reference (3 before 2).
        let creates = text.components(separatedBy: "\n").filter { $0.hasPrefix("CREATE TABLE") }
        #expect(creates == ["CREATE TABLE parent (", "CREATE TABLE \"Child\" (", "CREATE TABLE aaa_node ("])
        let nodes = text.components(separatedBy: "\n").filter { $0.hasPrefix("INSERT INTO aaa_node") }
        #expect(nodes == ["INSERT INTO aaa_node VALUES (1, NULL, 1);", "INSERT INTO aaa_node VALUES (3, 1, NULL);",
                          "INSERT INTO aaa_node VALUES (2, 3, 2);"])
        let copy = try Database(path: dir.path + "/b.db")
        try copy.execute(text)
        try copy.close()
        #expect(try Self.dump(dir.path + "/b.db") == text)

        // Every value came back exactly, and identity columns continue where their sequences
        // stood (parent's at 3: the deleted row's id is not handed out again).
        let a = try Database(path: dir.path + "/a.db"), b = try Database(path: dir.path + "/b.db")
        for query in ["SELECT * FROM \"Child\" ORDER BY id", "SELECT * FROM parent ORDER BY id", "SELECT * FROM v ORDER BY 1, 2"] {
            #expect(try a.execute(query).rows == b.execute(query).rows)
        }
        for db in [a, b] {
            try db.execute("INSERT INTO parent(name) VALUES ('new')")
            try db.execute("INSERT INTO \"Child\"(parent_id) VALUES (4)")
        }
        #expect(try b.execute("SELECT id FROM parent WHERE name = 'new'").rows == [[.integer(4)]])
        #expect(try b.execute("SELECT id, n FROM \"Child\" WHERE parent_id = 4").rows == [[.integer(4), .integer(4)]])
        #expect(try a.execute("SELECT * FROM \"Child\" ORDER BY id").rows == b.execute("SELECT * FROM \"Child\" ORDER BY id").rows)
        try a.close()
        try b.close()
    }

    @Test func schemaShowsTheStatementsTheDumpWrites() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.path + "/a.db")
        try db.execute(Self.schema)
        try db.close()
        let schema = try Self.shell([dir.path + "/a.db", ".schema"]).out
        let dumped = try Self.dump(dir.path + "/a.db").components(separatedBy: "\n")
            .filter { !$0.hasPrefix("INSERT") && !$0.hasPrefix("two lines") && !$0.hasPrefix("BEGIN") && !$0.hasPrefix("COMMIT")
                && !$0.hasPrefix("SELECT setval") }
        #expect(schema == dumped.joined(separator: "\n"))
        #expect(schema.contains("  id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,\n"))
        #expect(schema.contains("CONSTRAINT \"Child_parent_id_fkey\" FOREIGN KEY (parent_id) REFERENCES parent (id) ON DELETE CASCADE"))
        #expect(schema.contains("CREATE UNIQUE INDEX child_s ON \"Child\" (s);\n"))
        let one = try Self.shell([dir.path + "/a.db", ".dump aaa_node"]).out
        #expect(one.hasPrefix("BEGIN;\nCREATE TABLE aaa_node (") && !one.contains("CREATE TABLE parent"))
    }

    @Test func tableInfoReportsColumnsAndForeignKeys() throws {
        let db = try Database(path: ":memory:")
        try db.execute(Self.schema)
        let info = try #require(try db.tableInfo("aaa_node"))
        #expect(info.columns.map(\.type) == ["integer", "integer", "integer"])
        #expect(info.foreignKeys.map(\.parent) == ["aaa_node", "parent"])
        #expect(try db.tableInfo("v") == nil)
        #expect(try db.tableInfo("Child")?.columns.filter(\.identity).map(\.name) == ["id", "n"])
        #expect(Database.quoteIdentifier("Child") == "\"Child\"" && Database.quoteIdentifier("table") == "\"table\"")
        try db.close()
    }
}
