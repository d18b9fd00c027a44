// Static types (ExpressionTypes.swift, SQLType+Resolution.swift): what a prepared statement
// reports for its columns and its parameters before it runs, compared with PostgreSQL 15.
// The expected types were read from PostgreSQL 15 on the same table: `pg_typeof(expr)` for
// the columns, `pg_prepared_statements.parameter_types` for the parameters.

import Testing
@testable import Borealis
@testable import BorealisSQL

@Suite struct StaticTypeTests {
    static let table = """
        CREATE TABLE t (i integer, b bigint, s smallint, n numeric, f double precision, r real, t text, v varchar(10),
                        d date, ts timestamp, tz timestamptz, iv interval, bo boolean)
        """

    /// (expression, PostgreSQL's `pg_typeof` of it over t).
    static let columnTypes: [(String, String)] = [
        ("i", "integer"),
        ("i + 1", "integer"),
        ("i * s", "integer"),
        ("s + s", "smallint"),
        ("b + i", "bigint"),
        ("i + n", "numeric"),
        ("n * 2", "numeric"),
        ("f + i", "double precision"),
        ("r + r", "real"),
        ("r + 1", "double precision"),
        ("i / 2", "integer"),
        ("i % 3", "integer"),
        ("-i", "integer"),
        ("d + 1", "date"),
        ("d - 1", "date"),
        ("d - d", "integer"),
        ("d + iv", "timestamp without time zone"),
        ("ts + iv", "timestamp without time zone"),
        ("tz - iv", "timestamp with time zone"),
        ("ts - ts", "interval"),
        ("iv * 2", "interval"),
        ("iv + iv", "interval"),
        ("t || 'x'", "text"),
        ("t || i", "text"),
        ("i = 1", "boolean"),
        ("i < b", "boolean"),
        ("t LIKE 'a%'", "boolean"),
        ("i IN (1, 2)", "boolean"),
        ("i BETWEEN 1 AND 2", "boolean"),
        ("i IS NULL", "boolean"),
        ("NOT bo", "boolean"),
        ("bo AND true", "boolean"),
        ("CASE WHEN bo THEN i ELSE b END", "bigint"),
        ("CASE WHEN bo THEN i ELSE n END", "numeric"),
        ("coalesce(i, b)", "bigint"),
        ("coalesce(t, 'x')", "text"),
        ("nullif(i, 0)", "integer"),
        ("greatest(i, n)", "numeric"),
        ("least(f, i)", "double precision"),
        ("count(*)", "bigint"),
        ("sum(i)", "bigint"),
        ("sum(s)", "bigint"),
        ("sum(b)", "numeric"),
        ("sum(n)", "numeric"),
        ("sum(f)", "double precision"),
        ("sum(r)", "real"),
        ("avg(i)", "numeric"),
        ("avg(b)", "numeric"),
        ("avg(n)", "numeric"),
        ("avg(f)", "double precision"),
        ("min(t)", "text"),
        ("max(d)", "date"),
        ("string_agg(t, ',')", "text"),
        ("bool_and(bo)", "boolean"),
        ("length(t)", "integer"),
        ("lower(t)", "text"),
        ("substr(t, 1, 2)", "text"),
        ("abs(i)", "integer"),
        ("abs(n)", "numeric"),
        ("round(n, 2)", "numeric"),
        ("round(f)", "double precision"),
        ("ceil(n)", "numeric"),
        ("ceil(f)", "double precision"),
        ("mod(i, 3)", "integer"),
        ("power(f, 2)", "double precision"),
        ("sqrt(f)", "double precision"),
        ("random()", "double precision"),
        ("now()", "timestamp with time zone"),
        ("current_date", "date"),
        ("date_trunc('day', ts)", "timestamp without time zone"),
        ("make_date(2020, 1, 1)", "date"),
        ("to_char(ts, 'YYYY')", "text"),
        ("strpos(t, 'a')", "integer"),
        ("concat(t, i)", "text"),
        ("lpad(t, 5)", "text"),
        ("i::bigint", "bigint"),
        ("t::int", "integer"),
        ("'1'::numeric", "numeric"),
        ("cast(i as text)", "text"),
        ("row_number() OVER ()", "bigint"),
        ("rank() OVER (ORDER BY i)", "bigint"),
        ("sum(i) OVER ()", "bigint"),
        ("lag(t) OVER (ORDER BY i)", "text"),
        ("percent_rank() OVER (ORDER BY i)", "double precision"),
        ("1.5", "numeric"),
        ("true", "boolean"),
        ("2147483648", "bigint"),
    ]

    @Test func resultColumnsAreTypedAsPostgreSQLTypesThem() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute(Self.table)
        var mismatches: [String] = []
        for (expression, expected) in Self.columnTypes {
            let (prepared, _) = try db.prepare("SELECT \(expression) FROM t")
            let statement = try #require(prepared)
            let type = statement.declaredTypes.first.flatMap { $0 }.flatMap { SQLType(rawValue: $0) }
            if type?.displayName != expected { mismatches.append("\(expression): \(type?.displayName ?? "nil"), PostgreSQL \(expected)") }
        }
        #expect(mismatches == [])
        try db.close()
    }

    @Test func typesReachThroughDerivedTablesViewsCTEsAndSetOperations() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute(Self.table)
        try db.execute("CREATE VIEW vt AS SELECT i + 1 AS j, sum(n) AS total FROM t GROUP BY i")
        let cases: [(String, [String?])] = [
            ("SELECT j, total FROM vt", ["integer", "numeric"]),
            ("SELECT x * 2, x + x FROM (SELECT s AS x FROM t) q", ["integer", "smallint"]),
            ("WITH c AS (SELECT d, count(*) AS k FROM t GROUP BY d) SELECT d + 1, k FROM c", ["date", "bigint"]),
            ("SELECT i FROM t UNION SELECT b FROM t", ["bigint"]),
            ("VALUES (1, 'a'), (2.5, 'b')", ["numeric", "text"]),
            ("SELECT i, count(*) FROM t GROUP BY i", ["integer", "bigint"]),
            ("SELECT NULL, (SELECT 1)", [nil, nil]),
        ]
        for (sql, expected) in cases {
            let (prepared, _) = try db.prepare(sql)
            let types = try #require(prepared).declaredTypes
            #expect(types == expected, "\(sql)")
        }
        try db.close()
    }

    @Test func parametersTakeTheTypesTheirContextsGiveThemAsInPostgreSQL() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute(Self.table)
        // (statement, PostgreSQL's parameter_types after PREPARE).
        let cases: [(String, [String])] = [
            ("SELECT * FROM t WHERE i = $1", ["integer"]),
            ("SELECT * FROM t WHERE $1 = b", ["bigint"]),
            ("SELECT $1::date", ["date"]),
            ("SELECT * FROM t WHERE t LIKE $1", ["text"]),
            ("SELECT * FROM t WHERE i BETWEEN $1 AND $2", ["integer", "integer"]),
            ("SELECT * FROM t WHERE i IN ($1, $2)", ["integer", "integer"]),
            ("SELECT * FROM t LIMIT $1 OFFSET $2", ["bigint", "bigint"]),
            ("INSERT INTO t (i, d, t) VALUES ($1, $2, $3)", ["integer", "date", "text"]),
            ("UPDATE t SET n = $1 WHERE i = $2", ["numeric", "integer"]),
            ("DELETE FROM t WHERE ts < $1", ["timestamp"]),
            ("SELECT substr(t, $1, $2) FROM t", ["integer", "integer"]),
            ("SELECT i + $1 FROM t", ["integer"]),
            ("SELECT t || $1 FROM t", ["text"]),
            ("SELECT coalesce(i, $1) FROM t", ["integer"]),
            ("SELECT $1", ["text"]),
            ("SELECT * FROM t WHERE i = (SELECT max(i) FROM t WHERE b > $1)", ["bigint"]),
            ("SELECT * FROM t WHERE bo AND $1", ["boolean"]),
            ("SELECT CASE WHEN $1 THEN i END FROM t", ["boolean"]),
            ("SELECT lpad(t, $1, $2) FROM t", ["integer", "text"]),
            ("INSERT INTO t (i, n) VALUES ($1, $2 * 2) RETURNING i + $3", ["integer", "integer", "integer"]),
            ("SELECT count(*) FROM t GROUP BY i HAVING count(*) > $1", ["bigint"]),
        ]
        for (sql, expected) in cases {
            let (prepared, _) = try db.prepare(sql)
            let statement = try #require(prepared)
            #expect(statement.parameterTypes == expected, "\(sql)")
            // A second description (the plan now cached) reports the same.
            statement.reset()
            #expect(statement.parameterTypes == expected, "\(sql), described again")
        }
        try db.close()
    }

    @Test func unknownFunctionsAndWrongArgumentCountsNameTheArgumentTypes() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute(Self.table)
        for (sql, message) in [("SELECT nosuch(i, t) FROM t", "function nosuch(integer, text) does not exist"),
                               ("SELECT abs(i, i) FROM t", "function abs(integer, integer) does not exist"),
                               ("SELECT concat()", "function concat() does not exist")] {
            let error = #expect(throws: DatabaseError.self) { try db.execute(sql) }
            #expect(error?.sqlState == "42883", "\(sql)")
            #expect(error?.message.contains(message) == true, "\(sql): \(error?.message ?? "")")
        }
        try db.close()
    }

    @Test func theRegistryFoldsOnlyImmutableFunctions() {
        #expect(FunctionRegistry.isVolatile("random"))
        #expect(FunctionRegistry.isVolatile("now"))
        #expect(FunctionRegistry.isVolatile("current_date"))
        #expect(!FunctionRegistry.isVolatile("lower"))
        #expect(!FunctionRegistry.isVolatile("abs"))
        // Every name of the registry compiles with an argument count it accepts.
        for (name, function) in FunctionRegistry.functions {
            let args: [Evaluator] = Array(repeating: { _ in .null }, count: function.arity.lowerBound)
            #expect((try? FunctionRegistry.compile(name, args, argumentTypes: [])) != nil, "\(name)")
        }
    }
}
