// Regression tests for findings of a hostile run against the functions added in session 11:
// a double too large for a NUMERIC became a NaN that was stored and made its table unreadable,
// and width_bucket of a NaN operand trapped (killing the process).

import Testing
@testable import Borealis
@testable import BorealisSQL

@Suite struct NumericNaNTests {
    @Test func aDoubleTooLargeForANumericIsAnErrorAndTheTableStaysReadable() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute("CREATE TABLE n (id integer PRIMARY KEY, x numeric)")
        try db.execute("INSERT INTO n VALUES (1, 2.5)")
        for sql in ["INSERT INTO n VALUES (2, '1e200'::float8)", "INSERT INTO n VALUES (3, '-1e130'::float8)",
                    "UPDATE n SET x = '1e300'::float8 WHERE id = 1", "SELECT '1e200'::float8::numeric"] {
            #expect(throws: DatabaseError.self, "\(sql)") { try db.execute(sql) }
            do { try db.execute(sql) } catch let error as DatabaseError { #expect(error.sqlState == SQLState.numericValueOutOfRange, "\(sql)") }
        }
        #expect(try db.query("SELECT id, x FROM n").count == 1)
        #expect(try db.checkIntegrity().problems.isEmpty)
        // In range a double still converts (15 significant digits, as before).
        #expect(try db.query("SELECT '1e30'::float8::numeric = 1e30")[0][0] == .boolean(true))
    }

    @Test func widthBucketOfANaNOperandIsAnErrorNotATrap() throws {
        let db = try Database(path: ":memory:")
        for sql in ["SELECT width_bucket('nan'::float8, 0, 10, 5)", "SELECT width_bucket(5, 'nan'::float8, 10, 5)"] {
            do {
                _ = try db.query(sql)
                Issue.record("\(sql) succeeded")
            } catch let error as DatabaseError {
                #expect(error.sqlState == SQLState.invalidArgumentForWidthBucket, "\(sql)")
            }
        }
        #expect(try db.query("SELECT width_bucket('1e308'::float8, '-1e308'::float8, '1e308'::float8, 10)")[0][0] == .integer(11))
        #expect(try db.query("SELECT width_bucket('9e307'::float8, '-1e308'::float8, '1e308'::float8, 10)")[0][0] == .integer(10))
    }
}
