// The GRDB-style Swift API through its public surface only (no @testable): literals, records,
// Foundation values, makeStatement, async calls, LocalizedError.

import Foundation
import Synchronization
import Testing
import Borealis

@Suite struct SwiftRecordTests {
    struct Address: Codable, Equatable {
        var city: String
        var zip: String?
    }

    struct Player: Codable, Equatable {
        enum Team: String, Codable { case red, blue }
        var id: Int64?
        var firstName: String
        var lastSeenAt: Date?
        var score: Double
        var isActive: Bool
        var team: Team
        var tags: [String]
        var homeAddress: Address?
    }

    static let playerTable = """
        CREATE TABLE player(id SERIAL PRIMARY KEY, first_name TEXT NOT NULL,
          last_seen_at TIMESTAMPTZ DEFAULT '2000-01-01 00:00:00+00', score DOUBLE PRECISION, is_active BOOLEAN,
          team TEXT, tags TEXT, home_address TEXT)
        """

    // MARK: Literals

    @Test func literalsMakeParameterArrays() throws {
        let parameters: [Value] = [1, "a", nil, 2.5, true]
        #expect(parameters == [.integer(1), .text("a"), .null, .double(2.5), .boolean(true)])
        let db = try Database(path: ":memory:")
        try db.execute("CREATE TABLE t(i BIGINT, s TEXT, n TEXT, d DOUBLE PRECISION, b BOOLEAN)")
        try db.execute("INSERT INTO t VALUES ($1, $2, $3, $4, $5)", parameters)
        let row = try #require(try db.query("SELECT * FROM t WHERE i = $1 AND s = $2", [1, "a"]).first)
        #expect(row.values == parameters)
        // Where the type is Value?, nil is Swift's "absent", not SQL NULL.
        #expect(row["n"] == .null)
        #expect(row["n"] != nil)
        #expect(row["missing"] == nil)
        let absent: Value? = nil
        #expect(absent == nil)
        try db.close()
    }

    // MARK: Records

    @Test func encodableRecordsInsertAndDecodeThroughSnakeCase() throws {
        let db = try Database(path: ":memory:")
        try db.execute(Self.playerTable)
        let seen = Date(timeIntervalSince1970: 1_767_323_045.25)
        var ann = Player(id: nil, firstName: "ann", lastSeenAt: seen, score: 9.5, isActive: true, team: .red,
                         tags: ["captain", "left"], homeAddress: Address(city: "Oslo", zip: nil))
        var bob = Player(id: nil, firstName: "bob", lastSeenAt: nil, score: 0, isActive: false, team: .blue,
                         tags: [], homeAddress: nil)
        // A nil SERIAL key takes the next value; the row id comes back.
        ann.id = try db.insert(ann, into: "player", columnEncodingStrategy: .convertToSnakeCase)
        bob.id = try db.insert(bob, into: "player", columnEncodingStrategy: .convertToSnakeCase)
        #expect(ann.id == 1 && bob.id == 2)
        #expect(db.lastInsertRowID == 2)

        // nil is NULL (not the column default); nested values are JSON text.
        let raw = try db.query("SELECT last_seen_at, tags, home_address FROM player WHERE id = 2")[0]
        #expect(raw.values == [.null, .text("[]"), .null])
        let annRaw = try db.query("SELECT tags, home_address FROM player WHERE id = 1")[0]
        #expect(annRaw.values == [.text(#"["captain","left"]"#), .text(#"{"city":"Oslo"}"#)])

        let players = try db.query(Player.self, "SELECT * FROM player ORDER BY id", columnDecodingStrategy: .convertFromSnakeCase)
        #expect(players == [ann, bob])
        let one = try db.query("SELECT * FROM player WHERE id = $1", [1])[0]
        #expect(try one.decode(Player.self, columnDecodingStrategy: .convertFromSnakeCase) == ann)
        // Without the strategy the snake_case columns match no key.
        #expect(throws: DecodingError.self) { _ = try db.query(Player.self, "SELECT * FROM player") }
        try db.close()
    }

    @Test func columnStrategiesFollowJSONCodersRules() throws {
        struct Keys: Codable, Equatable {
            var userID: Int
            var imageURLValue: String
            var plain: String
        }
        let db = try Database(path: ":memory:")
        try db.execute("CREATE TABLE k(user_id INTEGER PRIMARY KEY, image_url_value TEXT, plain TEXT)")
        try db.insert(Keys(userID: 1, imageURLValue: "u", plain: "p"), into: "k", columnEncodingStrategy: .convertToSnakeCase)
        #expect(try db.query("SELECT user_id, image_url_value, plain FROM k")[0].values == [1, "u", "p"])
        // convertFromSnakeCase makes user_id "userId" (as JSONDecoder does); custom maps it back.
        let custom = DatabaseColumnDecodingStrategy.custom { column in
            ["user_id": "userID", "image_url_value": "imageURLValue"][column] ?? column
        }
        #expect(try db.query(Keys.self, "SELECT * FROM k", columnDecodingStrategy: custom) == [Keys(userID: 1, imageURLValue: "u", plain: "p")])
        #expect(throws: DecodingError.self) { _ = try db.query(Keys.self, "SELECT * FROM k", columnDecodingStrategy: .convertFromSnakeCase) }
        struct Camel: Decodable, Equatable { var userId: Int; var imageUrlValue: String }
        #expect(try db.query(Camel.self, "SELECT * FROM k", columnDecodingStrategy: .convertFromSnakeCase) == [Camel(userId: 1, imageUrlValue: "u")])
        try db.close()
    }

    @Test func updateAndSaveFindTheRowByPrimaryKey() throws {
        let db = try Database(path: ":memory:")
        try db.execute(Self.playerTable)
        var ann = Player(id: nil, firstName: "ann", lastSeenAt: nil, score: 1, isActive: true, team: .red, tags: [], homeAddress: nil)
        ann.id = try db.insert(ann, into: "player", columnEncodingStrategy: .convertToSnakeCase)
        ann.score = 2
        #expect(try db.update(ann, in: "player", columnEncodingStrategy: .convertToSnakeCase))
        #expect(try db.query("SELECT score FROM player")[0].values == [2.0])
        var ghost = ann
        ghost.id = 99
        #expect(try !db.update(ghost, in: "player", columnEncodingStrategy: .convertToSnakeCase))
        // save: inserts a new key, updates an existing one, inserts a nil identity key.
        try db.save(ghost, into: "player", columnEncodingStrategy: .convertToSnakeCase)
        ghost.firstName = "ghost"
        try db.save(ghost, into: "player", columnEncodingStrategy: .convertToSnakeCase)
        var fresh = ann
        fresh.id = nil
        try db.save(fresh, into: "player", columnEncodingStrategy: .convertToSnakeCase)
        let rows = try db.query("SELECT id, first_name FROM player ORDER BY id").map(\.values)
        // The SERIAL key's sequence gives 2 (as in PostgreSQL), whatever ids were given explicitly.
        #expect(rows == [[1, "ann"], [2, "ann"], [99, "ghost"]])
        // No key value, or no primary key at all: 42P10.
        #expect(sqlState { try db.update(fresh, in: "player", columnEncodingStrategy: .convertToSnakeCase) } == "42P10")
        try db.execute("CREATE TABLE log(first_name TEXT)")
        struct Entry: Codable { var firstName: String }
        #expect(sqlState { try db.update(Entry(firstName: "x"), in: "log", columnEncodingStrategy: .convertToSnakeCase) } == "42P10")
        #expect(sqlState { try db.save(Entry(firstName: "x"), into: "log", columnEncodingStrategy: .convertToSnakeCase) } == "42P10")
        #expect(sqlState { try db.insert(Entry(firstName: "x"), into: "nope") } == "42P01")
        try db.close()
    }

    @Test func recordsThatAreNotKeyedOrDoNotFitAreErrors() throws {
        let db = try Database(path: ":memory:")
        try db.execute("CREATE TABLE n(id INTEGER PRIMARY KEY, big BIGINT)")
        struct Big: Encodable { var id: Int; var big: UInt64 }
        try db.insert(Big(id: 1, big: UInt64(Int64.max)), into: "n")
        #expect(sqlState { try db.insert(Big(id: 2, big: .max), into: "n") } == "22003")
        #expect(sqlState { try db.insert([1, 2], into: "n") } == "42804")
        #expect(sqlState { _ = try Value(UInt64.max) } == "22003")
        #expect(try Value(UInt64(7)) == 7)
        #expect(try db.query("SELECT count(*) FROM n")[0].values == [1])
        try db.close()
    }

    // MARK: Foundation values

    @Test func foundationValuesRoundTripExactly() throws {
        let db = try Database(path: ":memory:")
        try db.execute("CREATE TABLE f(ts TIMESTAMPTZ, tsl TIMESTAMP, d DATE, n NUMERIC(20,4), u TEXT, b BYTEA, small SMALLINT)")
        // 2026-01-02 03:04:05.123456 UTC, to the microsecond.
        let micros: Int64 = 1_767_323_045_123_456
        let date = Date(timeIntervalSinceReferenceDate: Double(micros - 978_307_200_000_000) / 1e6)
        let decimal = try #require(Decimal(string: "12345678901234.5678"))
        let uuid = try #require(UUID(uuidString: "E621E1F8-C36C-495A-93FC-0C247A3E6E5F"))
        let data = Data([0, 255, 1, 128])
        try db.execute("INSERT INTO f VALUES ($1, $2, $3, $4, $5, $6, $7)",
                       [try Value(date), try Value(date), try Value(date), try Value(decimal), try Value(uuid), try Value(data), try Value(UInt8(200))])
        let row = try db.query("SELECT * FROM f")[0]
        #expect(row["ts"] == .timestamptz(micros))
        #expect(row["tsl"] == .timestamp(micros))
        #expect(row["u"] == .text("e621e1f8-c36c-495a-93fc-0c247a3e6e5f"))
        #expect(try row.get("ts") == date)
        #expect(try row.get("tsl", as: Date.self) == date)
        #expect(try row.get("d", as: Date.self) == Date(timeIntervalSince1970: 1_767_312_000))
        #expect(try row.get("n") == decimal)
        #expect(try row.get("u") == uuid)
        #expect(try row.get("b") == data)
        #expect(try row.get("small", as: UInt8.self) == 200)
        #expect(try db.query("SELECT ts::text, n::text FROM f")[0].values == ["2026-01-02 03:04:05.123456+00", "12345678901234.5678"])
        // Back as a parameter: the same microsecond.
        #expect(try db.query("SELECT ts = $1 FROM f", [try Value(try row.get("ts", as: Date.self))])[0].values == [true])

        struct Values: Codable, Equatable {
            var ts: Date
            var d: Date
            var n: Decimal
            var u: UUID
            var b: Data
            var missing: UUID?
        }
        let decoded = try db.query(Values.self, "SELECT ts, d, n, u, b, NULL AS missing FROM f")[0]
        #expect(decoded == Values(ts: date, d: Date(timeIntervalSince1970: 1_767_312_000), n: decimal, u: uuid, b: data, missing: nil))
        try db.execute("CREATE TABLE g(ts TIMESTAMPTZ, d DATE, n NUMERIC(20,4), u TEXT, b BYTEA, missing TEXT)")
        try db.insert(decoded, into: "g")
        #expect(try db.query(Values.self, "SELECT * FROM g") == [decoded])
        try db.close()
    }

    @Test func foundationMismatchesAreDatabaseErrors() throws {
        let db = try Database(path: ":memory:")
        let row = try db.query("""
            SELECT 1 AS i, 2.5::float8 AS f, 'not-a-uuid' AS t, 'x' AS s, 300 AS big,
                   9223372036854775808::numeric AS huge, NULL AS z, 'abc' AS word
            """)[0]
        #expect(sqlState { _ = try row.get("i", as: Date.self) } == "42804")
        #expect(sqlState { _ = try row.get("f", as: Decimal.self) } == "42804")
        #expect(sqlState { _ = try row.get("t", as: UUID.self) } == "22P02")
        #expect(sqlState { _ = try row.get("s", as: Data.self) } == "42804")
        #expect(sqlState { _ = try row.get("big", as: UInt8.self) } == "22003")
        #expect(sqlState { _ = try row.get("huge", as: Int.self) } == "22003")
        #expect(sqlState { _ = try row.get("z", as: Date.self) } == "42804")
        #expect(sqlState { _ = try row.get("word", as: Decimal.self) } == "22P02")
        #expect(try row.get("z", as: Date?.self) == nil)
        struct WrongType: Decodable { var f: UUID }
        #expect(sqlState { _ = try row.decode(WrongType.self) } == "42804")
        struct NotJSON: Decodable { var word: [Int] }
        #expect(sqlState { _ = try row.decode(NotJSON.self) } == "22P02")
        try db.close()
    }

    // MARK: Statements

    @Test func makeStatementTakesExactlyOneStatement() throws {
        let db = try Database(path: ":memory:")
        try db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT)")
        #expect(sqlState { _ = try db.makeStatement("") } == "42601")
        #expect(sqlState { _ = try db.makeStatement(" ; -- nothing") } == "42601")
        #expect(sqlState { _ = try db.makeStatement("SELECT 1; SELECT 2") } == "42601")
        #expect(sqlState { _ = try db.makeStatement("SELECT 1; SELEC 2") } == "42601")
        #expect(sqlState { _ = try db.makeStatement("SELEC 1") } == "42601")
        do {
            _ = try db.makeStatement("SELECT 1; SELECT 2")
        } catch let error as DatabaseError {
            #expect(error.sql == "SELECT 1; SELECT 2")
        }
        _ = try db.makeStatement("SELECT 1; -- trailing comment")
        let insert = try db.makeStatement("INSERT INTO t VALUES ($1, $2)")
        for (id, name) in [(1, "ann"), (2, "bob")] { try insert.execute([try Value(id), try Value(name)]) }
        #expect(insert.changes == 1 && insert.lastInsertRowID == 2)
        let select = try db.makeStatement("SELECT name FROM t WHERE id >= $1 ORDER BY id")
        #expect(try select.query([1]).map(\.values) == [["ann"], ["bob"]])
        struct Name: Decodable, Equatable { var name: String }
        #expect(try select.query(Name.self, [2]) == [Name(name: "bob")])
        // The C API's form still hands back the tail.
        let (first, tail) = try db.prepare("SELECT 1; SELECT 2")
        #expect(first?.sql == "SELECT 1" && tail == "SELECT 2")
        try db.close()
    }

    // MARK: async

    @Test func asyncVariantsCoverTheAPI() async throws {
        let db = try Database(path: ":memory:")
        try await db.execute(Self.playerTable)
        var ann = Player(id: nil, firstName: "ann", lastSeenAt: nil, score: 1, isActive: true, team: .red, tags: ["a"], homeAddress: nil)
        ann.id = try await db.insert(ann, into: "player", columnEncodingStrategy: .convertToSnakeCase)
        ann.score = 3
        #expect(try await db.update(ann, in: "player", columnEncodingStrategy: .convertToSnakeCase))
        var bob = ann
        bob.id = 5
        bob.firstName = "bob"
        try await db.save(bob, into: "player", columnEncodingStrategy: .convertToSnakeCase)
        #expect(try await db.query(Player.self, "SELECT * FROM player ORDER BY id", columnDecodingStrategy: .convertFromSnakeCase) == [ann, bob])
        struct Name: Decodable, Equatable { var first_name: String }
        #expect(try await db.query(Name.self, "SELECT first_name FROM player WHERE id = $1", [5]) == [Name(first_name: "bob")])
        try await db.write { db in try db.execute("UPDATE player SET score = score + 1") }
        let total = try await db.read { db in try db.query("SELECT sum(score) FROM player")[0].get(0, as: Double.self) }
        #expect(total == 8)
        let statement = try db.makeStatement("SELECT first_name FROM player WHERE score > $1 ORDER BY id")
        #expect(try await statement.query([3.5]).map(\.values) == [["ann"], ["bob"]])
        #expect(try await statement.query(Name.self, [0]).count == 2)
        try await statement.execute([100.0])
        statement.reset()
        #expect(try await statement.step() == nil)
        try await db.execute("CREATE INDEX player_name ON player(first_name)")
        #expect(try await db.tableNames() == ["player"])
        #expect(try await db.indexNames(of: "player").contains("player_name"))
        #expect(try await db.schemaStatements(of: "player").contains { $0.hasPrefix("CREATE INDEX player_name") })
        #expect(try await db.waitFor(lsn: db.lastCommitLSN, timeout: 1))
        try await db.close()
        #expect(sqlState { try db.execute("SELECT 1") } == "XX000")
    }

    @Test func concurrentAsyncCallsOnOneDatabaseAllLand() async throws {
        let db = try Database(path: ":memory:")
        try await db.execute("CREATE TABLE c(id SERIAL PRIMARY KEY, who INTEGER)")
        let insert = try db.makeStatement("INSERT INTO c(who) VALUES ($1)")
        struct Entry: Codable { var who: Int }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<24 {
                group.addTask {
                    switch i % 3 {
                    case 0: try await db.insert(Entry(who: i), into: "c")
                    case 1: try await insert.execute([try Value(i)])
                    default: try await db.write { db in try db.execute("INSERT INTO c(who) VALUES ($1)", [try Value(i)]) }
                    }
                    _ = try await db.query("SELECT count(*) FROM c")
                }
            }
            try await group.waitForAll()
        }
        #expect(try await db.query("SELECT count(*), count(DISTINCT who), count(DISTINCT id) FROM c")[0].values == [24, 24, 24])
        try await db.close()
    }

    /// Async calls waiting for a connection that another thread holds must not occupy the
    /// cooperative pool: with one thread per core, a few blocked calls would stall every task.
    @Test func asyncCallsWaitOffTheCooperativePool() async throws {
        final class Flag: Sendable { let value = Atomic<Bool>(false) }
        let db = try Database(path: ":memory:")
        try await db.execute("CREATE TABLE t(x INTEGER)")
        let flag = Flag()
        let release = DispatchSemaphore(value: 0)
        let held = DispatchSemaphore(value: 0)
        Thread {
            try? db.write { db in
                try db.execute("INSERT INTO t VALUES (0)")
                flag.value.store(true, ordering: .sequentiallyConsistent)
                held.signal()
                _ = release.wait(timeout: .now() + 120)   // a bound, so a failing run ends (other tests may hold the pool a while)
                flag.value.store(false, ordering: .sequentiallyConsistent)
            }
        }.start()
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { held.wait(); continuation.resume() }
        }
        let waiting = (0..<(4 * ProcessInfo.processInfo.activeProcessorCount + 4)).map { i in
            Task { try await db.write { db in try db.execute("INSERT INTO t VALUES ($1)", [try Value(i + 1)]) } }
        }
        try await Task.sleep(for: .milliseconds(100))
        // Other tasks still run while every call above waits for the lock.
        let probe = await Task.detached { flag.value.load(ordering: .sequentiallyConsistent) }.value
        #expect(probe, "the cooperative pool was blocked until the lock was released")
        release.signal()
        for task in waiting { try await task.value }
        #expect(try await db.query("SELECT count(*) FROM t")[0].values == [.integer(Int64(waiting.count + 1))])
        try await db.close()
    }

    @Test func preparedStatementsAreSendable() async throws {
        let db = try Database(path: ":memory:")
        let statement = try db.makeStatement("SELECT $1::integer * 2")
        let shared: any Sendable = statement
        #expect(shared is PreparedStatement)
        let doubled = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<16 { group.addTask { try await statement.query([try Value(i)])[0].get(0, as: Int.self) } }
            return try await group.reduce(0, +)
        }
        #expect(doubled == 240)
        try await db.close()
    }

    // MARK: Errors

    @Test func databaseErrorsAreLocalizedWithTheirSQLState() throws {
        let db = try Database(path: ":memory:")
        try db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY)")
        try db.execute("INSERT INTO t VALUES (1)")
        do {
            try db.execute("INSERT INTO t VALUES (1)")
            Issue.record("the duplicate was accepted")
        } catch {
            #expect(error.localizedDescription.hasSuffix("(SQLSTATE 23505)"))
            #expect((error as? LocalizedError)?.errorDescription == "\(error)")
            #expect(error.localizedDescription.contains("duplicate key"))
        }
        try db.close()
    }
}
