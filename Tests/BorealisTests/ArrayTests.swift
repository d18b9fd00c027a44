// Arrays through the APIs and storage (docs/arrays.md): array columns survive closing and
// reopening the database (record tag 13, index keys), a record with a damaged array is reported
// as corruption, parameters bind arrays as text or as values, and the C API returns an array
// column as its text form with its declared type. SQL behaviour is in Tests/SQL/arrays.test.

import Testing
@testable import Borealis
@testable import BorealisC
@testable import BorealisSQL
@testable import BorealisStorage

@Suite struct ArrayTests {
    @Test func arrayColumnsSurviveReopeningTheDatabase() throws {
        let dir = TemporaryDirectory()
        do {
            let db = try Database(path: dir.database)
            try db.execute("CREATE TABLE t (id int PRIMARY KEY, a int[], b text[], c numeric[], d boolean[])")
            try db.execute("CREATE INDEX t_a ON t (a)")
            try db.execute("""
                INSERT INTO t VALUES (1, '{1,2,NULL}', ARRAY['x', 'y z', '', NULL], '{1.50, 2}', '{t,f}'),
                                     (2, ARRAY[[1,2],[3,4]], '{}', NULL, NULL), (3, NULL, NULL, NULL, NULL)
                """)
            try db.execute("ALTER TABLE t ADD COLUMN e date[]")
            try db.execute("UPDATE t SET e = ARRAY['2024-02-29'::date] WHERE id = 3")
            try db.close()
        }
        let db = try Database(path: dir.database)
        let rows = try db.query("SELECT a, b, c, d, e FROM t ORDER BY id").map { $0.values.map(\.description) }
        #expect(rows == [
            ["{1,2,NULL}", "{x,\"y z\",\"\",NULL}", "{1.50,2}", "{t,f}", "NULL"],
            ["{{1,2},{3,4}}", "{}", "NULL", "NULL", "NULL"],
            ["NULL", "NULL", "NULL", "NULL", "{2024-02-29}"],
        ])
        let first = try db.query("SELECT a FROM t WHERE id = 1")[0].values[0]
        #expect(first == .array(ArrayValue([.integer(1), .integer(2), .null])))
        // The index on the array column finds rows by the whole array.
        #expect(try db.query("SELECT id FROM t WHERE a = '{{1,2},{3,4}}'").map(\.values) == [[.integer(2)]])
        #expect(try db.query("SELECT id FROM t WHERE a = '{1,2,3,4}'").isEmpty)
        #expect(try db.query("SELECT a[2][1], a[1:1] FROM t WHERE id = 2")[0].values.map(\.description) == ["3", "{{1,2}}"])
        try db.close()
    }

    @Test func recordsWithArraysRoundTripAndDamageIsCorruption() throws {
        let values: [Value] = [.integer(7), .array(ArrayValue(elements: [.text("a"), .null, .double(1.5), .numeric(Numeric("2.50")!)],
                                                               dimensions: [2, 2])), .array(ArrayValue([])), .text("end")]
        let encoded = RecordCodec.encode(values)
        #expect(try RecordCodec.decode(encoded) == values)
        // A column skipped by a scan steps over the array and reads the columns after it.
        #expect(try RecordCodec.decode(encoded, wanted: [.value, .skip, .skip, .value]) == [.integer(7), .null, .null, .text("end")])
        // Records without arrays keep their bytes: tag 13 is new, nothing else moved.
        #expect(RecordCodec.encode([.integer(1), .text("a")]) == [2, 1, 3, 2, 1, UInt8(ascii: "a")])
        // An array whose elements hold an array (never written) is corrupt, not recursed into.
        let inner = RecordCodec.encode([.integer(1)])
        var nested: [UInt8] = [1, 13, 1, 1]
        let innerArray: [UInt8] = [1, 13, 1, 1, UInt8(inner.count)] + inner
        nested += [UInt8(innerArray.count)] + innerArray
        #expect(throws: DatabaseError.self) { try RecordCodec.decode(nested) }
        // Dimensions that do not match the elements, and more than six, are corrupt.
        #expect(throws: DatabaseError.self) { try RecordCodec.decode([1, 13, 1, 5, UInt8(inner.count)] + inner) }
        #expect(throws: DatabaseError.self) { try RecordCodec.decode([1, 13, 7, 1, 1, 1, 1, 1, 1, 1, UInt8(inner.count)] + inner) }
        #expect(throws: DatabaseError.self) { try RecordCodec.decode([1, 13, 1, 1, 200] + inner) }
    }

    @Test func parametersBindArraysAsTextOrAsValues() throws {
        let db = try Database(path: ":memory:")
        try db.execute("CREATE TABLE t (id int, tags text[], n int[])")
        try db.execute("INSERT INTO t VALUES ($1, $2, $3)", [.integer(1), .text("{red,\"dark blue\"}"), .text("{1,2}")])
        try db.execute("INSERT INTO t VALUES ($1, $2, $3)", [.integer(2), .array(ArrayValue([.text("green")])), .array(ArrayValue([.integer(3)]))])
        #expect(try db.query("SELECT id FROM t WHERE $1 = ANY(tags) ORDER BY id", [.text("dark blue")]).map(\.values) == [[.integer(1)]])
        #expect(try db.query("SELECT id FROM t WHERE n @> $1::int[]", [.text("{2}")]).map(\.values) == [[.integer(1)]])
        #expect(try db.query("SELECT tags[2], n FROM t WHERE id = 1")[0].values.map(\.description) == ["dark blue", "{1,2}"])
        #expect(try db.query("SELECT tags FROM t WHERE id = 2")[0].values == [.array(ArrayValue([.text("green")]))])
        let (prepared, _) = try db.prepare("SELECT tags, n, ARRAY[1.5], ARRAY(SELECT id FROM t) FROM t")
        let statement = try #require(prepared)
        #expect(statement.declaredTypes == ["text[]", "integer[]", "numeric[]", "integer[]"])
        #expect(throws: DatabaseError.self) { try db.execute("INSERT INTO t VALUES (3, NULL, $1)", [.text("{1,")]) }
        try db.close()
    }

    @Test func theCAPIReturnsArraysAsTheirText() throws {
        let dir = TemporaryDirectory()
        var handle: OpaquePointer?
        #expect(borealis_open(dir.database, &handle) == 0)
        defer { _ = borealis_close(handle) }
        #expect(borealis_exec(handle, "CREATE TABLE t (a int[]); INSERT INTO t VALUES ('{1,NULL,3}')", nil, nil, nil) == 0)
        var stmt: OpaquePointer?
        #expect(borealis_prepare(handle, "SELECT a, a[3], ARRAY['x y'] FROM t", -1, &stmt, nil) == 0)
        defer { _ = borealis_finalize(stmt) }
        #expect(borealis_step(stmt) == 100)
        func text(_ i: Int32) -> String? { borealis_column_text(stmt, i).map { String(cString: $0) } }
        #expect(text(0) == "{1,NULL,3}")
        #expect(text(2) == "{\"x y\"}")
        #expect(borealis_column_type(stmt, 0) == 3)
        #expect(borealis_column_type(stmt, 1) == 1)
        #expect(borealis_column_decltype(stmt, 0).map { String(cString: $0) } == "integer[]")
        #expect(borealis_column_decltype(stmt, 1).map { String(cString: $0) } == "integer")
        #expect(borealis_step(stmt) == 101)
    }
}
