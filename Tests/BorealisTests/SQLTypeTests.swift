// SQLType (Sources/BorealisSQL/Types/SQLType.swift): every spelling the parser accepts names one
// type, catalogs written when types were strings still load, and type errors keep their SQLSTATEs.

import Foundation
import Testing
@testable import Borealis
@testable import BorealisSQL
@testable import BorealisStorage

@Suite struct SQLTypeTests {
    @Test func spellingsNameTheirTypes() {
        let expected: [String: SQLType] = [
            "int": .integer, "int4": .integer, "integer": .integer, "tinyint": .integer,
            "int8": .bigint, "bigint": .bigint, "signed": .bigint, "unsigned": .bigint,
            "int2": .smallint, "smallint": .smallint,
            "float": .doublePrecision, "float8": .doublePrecision, "double precision": .doublePrecision,
            "float4": .real, "real": .real, "decimal": .numeric, "numeric": .numeric,
            "bpchar": .char, "character": .char, "character varying": .varchar, "nvarchar": .varchar,
            "string": .text, "longtext": .text, "bool": .boolean, "blob": .bytea,
            "datetime": .timestamp, "timestamptz": .timestamptz, "timetz": .timetz, "jsonb": .jsonb,
        ]
        for (spelling, type) in expected { #expect(SQLType(spelling: spelling) == type, "\(spelling)") }
        #expect(SQLType(spelling: "serial") == nil)
        #expect(SQLType(spelling: "nosuchtype") == nil)
        // Every type is reachable by its own canonical name.
        for type in SQLType.allCases { #expect(SQLType(spelling: type.name) == type) }
    }

    @Test func catalogsWrittenWithTypeNamesStillLoad() throws {
        let json = #"{"name":"price","type":"double precision","modifiers":[],"notNull":false,"identity":false}"#
        let column = try JSONDecoder().decode(ColumnSchema.self, from: Data(json.utf8))
        #expect(column.type == .doublePrecision)
        let encoded = String(decoding: try JSONEncoder().encode(column), as: UTF8.self)
        #expect(encoded.contains(#""type":"double precision""#))
        let unknown = #"{"name":"x","type":"no such type","modifiers":[],"notNull":false,"identity":false}"#
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(ColumnSchema.self, from: Data(unknown.utf8)) }
    }

    @Test func declaredTypesKeepTheirCanonicalNames() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute("CREATE TABLE t (a character varying(5), b double precision, c serial, d datetime, e timestamp with time zone)")
        let (prepared, _) = try db.prepare("SELECT a, b, c, d, e, a::int8, 1 FROM t")
        let statement = try #require(prepared)
        #expect(statement.declaredTypes == ["varchar", "double precision", "integer", "timestamp", "timestamptz", "bigint", "integer"])
        #expect(try db.tableInfo("t")?.columns.map(\.type) == ["varchar", "double precision", "integer", "timestamp", "timestamptz"])
        try db.close()
    }

    @Test func typeErrorsKeepTheirSQLStates() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        let cases: [(String, String)] = [
            ("CREATE TABLE bad (a nosuchtype)", SQLState.undefinedObject),
            ("SELECT 1::nosuchtype", SQLState.undefinedObject),
            ("SELECT CAST(1 AS serial)", SQLState.undefinedObject),
            ("CREATE TABLE bad (a time with time zone)", SQLState.featureNotSupported),
            ("SELECT '{bad'::json", SQLState.invalidTextRepresentation),
            ("SELECT 1::jsonb", SQLState.cannotCoerce),
        ]
        for (sql, state) in cases {
            #expect { try db.execute(sql) } throws: { error in
                (error as? DatabaseError)?.sqlState == state
            }
        }
        try db.execute("CREATE TABLE t (v varchar(3), n integer)")
        #expect { try db.execute("INSERT INTO t (n) VALUES (true)") } throws: { error in
            (error as? DatabaseError)?.message == #"column "n" is of type integer but expression is of type boolean"#
        }
        #expect { try db.execute("INSERT INTO t (v) VALUES ('abcd')") } throws: { error in
            (error as? DatabaseError)?.message == "value too long for type character varying(3)"
        }
        #expect(try db.execute("SELECT CAST('42' AS unsigned), '7'::int2 + 1").rows == [[.integer(42), .integer(8)]])
        try db.close()
    }

    @Test func resultColumnsAreNamedAsPostgreSQLNamesThem() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute("CREATE TABLE nt(a int, b text)")
        // Expected names from PostgreSQL 15 for the same statement.
        let sql = """
            SELECT 1, 1+1, a, a+1, b::int, CAST(a AS text), 2::bigint, 'x'::varchar, count(*), sum(a), max(a) m, upper(b),
                   coalesce(a,1), CASE WHEN a>0 THEN 1 END, EXISTS(SELECT 1), (SELECT 1), -a, NOT true, a IS NULL,
                   a BETWEEN 1 AND 2, a IN (1), b LIKE 'x', 1.5::numeric(3,1), now() IS NULL, '2020-01-01'::date,
                   interval '1 day', true, null, row_number() OVER (), nt.a, nt.*,
                   1::int2, 1::int4, 1::float8, 1::real, 'x'::char(2), false, 'x'::bytea, 'x'::text,
                   '2020-01-01'::timestamptz, count(*) FILTER (WHERE a > 0)
            FROM nt GROUP BY a, b
            """
        let expected = ["?column?", "?column?", "a", "?column?", "b", "a", "int8", "varchar", "count", "sum", "m", "upper",
                        "coalesce", "case", "exists", "?column?", "?column?", "?column?", "?column?",
                        "?column?", "?column?", "?column?", "numeric", "?column?", "date",
                        "interval", "?column?", "?column?", "row_number", "a", "a", "b",
                        "int2", "int4", "float8", "float4", "bpchar", "?column?", "bytea", "text",
                        "timestamptz", "count"]
        let (prepared, _) = try db.prepare(sql)
        #expect(try #require(prepared).columnNames == expected)
        try db.close()
    }
}
