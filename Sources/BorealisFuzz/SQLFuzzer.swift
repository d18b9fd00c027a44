// `fuzz-sql` (issue 19): statement text run against a small database with tables, indexes, a
// view, constraints and a sequence. An input whose first byte is 0xF0 or above is read as
// choices for the statement generator (SQLGenerator.swift), so that the planner and executor
// are reached with valid statements; any other input is SQL text as it is.
//
// Every input runs on a fresh connection inside a transaction that is rolled back, each
// statement behind a savepoint (an error rolls back to it and the next statement runs), so the
// database is the same for every input and a crash reproduces from its input alone. What is
// checked besides "no trap, no hang": every error is a `DatabaseError` with a five-character
// SQLSTATE, and after the rollback the base rows are all there.

import Borealis
import BorealisSQL
import BorealisStorage
import Foundation

public final class SQLFuzzer: FuzzDriver {
    private let folder: String
    private let path: String
    /// Keeps the engine open between inputs (connections to one file share one engine).
    private let keeper: Database
    private let options: StorageOptions
    static let baseRows = 40

    public init() throws {
        folder = temporaryPath("borealis-fuzz-sql")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        path = folder + "/fuzz.db"
        var options = StorageOptions()
        options.synchronous = .off
        options.cacheBytes = 8 << 20
        self.options = options
        keeper = try Database(path: path, options: options)
        try keeper.execute(Self.schema)
    }

    deinit {
        try? keeper.close()
        try? FileManager.default.removeItem(atPath: folder)
    }

    static let schema = """
        CREATE TABLE t (id int PRIMARY KEY, a int, b bigint, c text, d numeric(12,3), e double precision,
            f date, g timestamp, h interval, i boolean, j jsonb, k int[], l bytea, m varchar(8), n uuid, o char(3));
        CREATE INDEX t_a ON t (a);
        CREATE INDEX t_lower_c ON t (lower(c));
        CREATE UNIQUE INDEX t_b_m ON t (b, m);
        CREATE TABLE u (id serial PRIMARY KEY, t_id int REFERENCES t (id) ON DELETE CASCADE ON UPDATE CASCADE,
            v text UNIQUE, w int CHECK (w > 0) DEFAULT 1, x smallint NOT NULL DEFAULT 0);
        CREATE INDEX u_t_id ON u (t_id);
        CREATE TABLE p (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, parent bigint REFERENCES p (id),
            name text NOT NULL, tags text[], doc json, total real GENERATED ALWAYS AS (length(name) * 1.5) STORED);
        CREATE VIEW tv AS SELECT a, count(*) AS n, sum(d) AS s FROM t GROUP BY a;
        CREATE SEQUENCE s START 10 INCREMENT 3;
        INSERT INTO t SELECT g, g % 7, g * 1000003, 'row ' || g, g / 3.0, g * 0.25, DATE '2020-01-01' + g,
            TIMESTAMP '2021-06-01 12:00:00' + g * INTERVAL '1 hour', g * INTERVAL '1 day', g % 2 = 0,
            jsonb_build_object('g', g, 'k', ARRAY[g, g + 1]), ARRAY[g, g * 2, NULL], decode(lpad(to_hex(g), 4, '0'), 'hex'),
            'm' || g, md5(g::text)::uuid, 'c' || (g % 10)
            FROM generate_series(1, \(baseRows)) AS g;
        INSERT INTO u (t_id, v, w, x) SELECT g % 20 + 1, 'v' || g, g, g % 5 FROM generate_series(1, 30) AS g;
        INSERT INTO p (parent, name, tags, doc) VALUES (NULL, 'root', ARRAY['a', 'b'], '{"x": [1, 2]}');
        INSERT INTO p (parent, name, tags, doc) SELECT 1, 'child ' || g, ARRAY['c' || g], NULL FROM generate_series(1, 5) AS g;
        ANALYZE;
        """

    /// Runs one input; traps (which libFuzzer reports with the input) on a broken invariant.
    public func run(_ bytes: [UInt8]) {
        let text: String
        if let first = bytes.first, first >= 0xF0 {
            var generator = SQLGenerator(FuzzInput(Array(bytes.dropFirst())))
            text = generator.script()
        } else {
            text = String(decoding: bytes, as: UTF8.self)
        }
        if Self.printing { FileHandle.standardError.write(Data((text + "\n--\n").utf8)) }
        run(text, stepping: bytes.count % 2 == 0)
    }

    /// BOREALIS_FUZZ_PRINT=1 prints each input's SQL text (what a grammar-mode input generates).
    private static let printing = ProcessInfo.processInfo.environment["BOREALIS_FUZZ_PRINT"] == "1"

    /// Runs `text`'s statements on a fresh connection inside a rolled-back transaction;
    /// `stepping` reads results through a prepared statement's `step` instead of `execute`.
    public func run(_ text: String, stepping: Bool) {
        let db: Database
        do {
            db = try Database(path: path, options: options)
            try db.execute("SET statement_timeout = 2000; BEGIN")
        } catch {
            fatalError("fuzz-sql: the fuzz database did not open: \(error)")
        }
        defer { try? db.close() }
        let statements: [(Statement, String)]
        do {
            statements = try Parser.parseAll(text)
        } catch {
            requireSQLState(error, "fuzz-sql: from \(text.prefix(500))")
            return
        }
        for (statement, sql) in statements where Self.mayRun(statement) {
            do {
                try db.execute("SAVEPOINT fuzz")
            } catch {
                requireSQLState(error, "fuzz-sql: from SAVEPOINT")
                break
            }
            do {
                if stepping {
                    try Self.step(sql, db)
                } else {
                    try db.execute(sql)
                }
            } catch {
                requireSQLState(error, "fuzz-sql: from \(sql.prefix(500))")
                do {
                    try db.execute("ROLLBACK TO SAVEPOINT fuzz")
                } catch {
                    requireSQLState(error, "fuzz-sql: from ROLLBACK TO")
                    break
                }
            }
        }
        do {
            try db.execute("ROLLBACK")
            let count = try db.query("SELECT count(*) FROM t")
            guard count.first?[0] == .integer(Int64(Self.baseRows)) else {
                fatalError("fuzz-sql: after the rollback t holds \(String(describing: count.first?[0])) rows, not \(Self.baseRows)")
            }
        } catch {
            fatalError("fuzz-sql: the rollback or the check after it failed: \(error)")
        }
        // Spill files of the rolled-back transaction and of its statements are gone.
        let leaked = openFiles(containing: folder).filter { $0.contains("-spill-") }
        if !leaked.isEmpty { fatalError("fuzz-sql: spill files left open after the rollback: \(leaked.sorted())") }
    }

    /// Reads a statement's rows one by one (at most 10,000), as a C caller's `borealis_step` does.
    private static func step(_ sql: String, _ db: Database) throws {
        var rest = sql
        while true {
            let (prepared, tail) = try db.prepare(rest)
            guard let statement = prepared else { return }
            var rows = 0
            while rows < 10_000, try statement.step() != nil { rows += 1 }
            statement.reset()
            let trimmed = tail.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty || trimmed == rest.trimmingCharacters(in: .whitespacesAndNewlines) { return }
            rest = tail
        }
    }

    /// Statements that would end the input's transaction, or lift the statement timeout that
    /// keeps an input from running for minutes, are skipped.
    static func mayRun(_ statement: Statement) -> Bool {
        switch statement {
        case .begin, .commit, .rollback, .releaseSavepoint, .rollbackToSavepoint, .vacuum, .prepare, .execute:
            return false
        case .set(let name, _, _), .reset(let name):
            return name != "statement_timeout" && name != "all"
        default:
            return true
        }
    }
}
