// psycopg 3 (PyPI: `pip install "psycopg[binary]"`) against the server: executemany in its
// pipeline, text and binary cursors (every value type round trips), the named statement it
// prepares from the 5th execution on, an error's SQLSTATE as an exception class, COPY through
// `cursor.copy`. Skipped, saying so, when python3 or the module is missing.

import Foundation
import Testing
import Borealis
import BorealisServer

extension ServedDatabase {
    static let hasPsycopg: Bool = {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import psycopg"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }()
}

@Suite(.enabled(if: ServedDatabase.hasPsycopg, "python3 with psycopg 3 is not installed (pip install \"psycopg[binary]\")"))
struct PsycopgTests {
    static let script = #"""
import sys, datetime, decimal
import psycopg
conn = psycopg.connect(host="127.0.0.1", port=int(sys.argv[1]), user="py", dbname="test")
with conn.cursor() as cur:
    cur.execute("CREATE TABLE p(id INT PRIMARY KEY, name TEXT, amount NUMERIC(10,2), ok BOOLEAN, born DATE, at TIMESTAMP, score FLOAT8, raw BYTEA)")
    rows = [(i, f"n{i}", decimal.Decimal("1.25") * i, i % 2 == 0, datetime.date(2020, 1, i), datetime.datetime(2021, 2, 3, 4, 5, i), i / 4, bytes([i, 0, 255])) for i in range(1, 8)]
    cur.executemany("INSERT INTO p VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", rows)
conn.commit()
for binary in (False, True):
    with conn.cursor(binary=binary) as cur:
        for _ in range(6):  # from the 5th execution psycopg prepares a named statement
            cur.execute("SELECT id, name, amount, ok, born, at, score, raw FROM p WHERE id >= %s ORDER BY id", (1,))
            got = cur.fetchall()
        assert got == rows, (binary, got[:2], rows[:2])
with conn.cursor() as cur:
    try:
        cur.execute("SELECT * FROM missing")
    except psycopg.errors.UndefinedTable as e:
        print("sqlstate", e.sqlstate)
    conn.rollback()
    with cur.copy("COPY p (id, name) FROM STDIN") as copy:
        copy.write_row((100, "copied"))
    conn.commit()
    cur.execute("SELECT count(*) FROM p")
    print("count", cur.fetchone()[0])
print("ok")
"""#

    @Test func psycopgRoundTripsEveryTypeInTextAndBinary() throws {
        let served = try ServedDatabase()
        defer { served.close() }
        let path = try served.file("roundtrip.py", Self.script)
        let run = try served.program("/usr/bin/env", ["python3", path, String(served.port)])
        #expect(run.status == 0, "\(run.out)\(run.err)")
        #expect(run.out == "sqlstate 42P01\ncount 8\nok\n", "\(run.out)\(run.err)")
    }
}
