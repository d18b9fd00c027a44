// A Borealis Swift client: open, create, insert with parameters and a prepared statement
// inside a transaction, query, handle errors, then records (Codable types as rows) and the
// async calls. Built as the `borealis-example` target:
//   swift run borealis-example [DB]

import Borealis
import Foundation

struct Player: Codable {
    var id: Int64?
    var firstName: String
    var joinedAt: Date
    var tags: [String]                                       // stored as JSON text
}

/// The same calls from async code: each waits on a thread of its own, not on the cooperative pool.
func asyncTour(_ db: Database) async throws {
    try await db.write { db in try db.execute("UPDATE fruit SET name = upper(name) WHERE name = $1", ["plum"]) }
    let names = try await db.makeStatement("SELECT name FROM fruit ORDER BY id").query()
    print("fruit: \(try names.map { try $0.get(0, as: String.self) })")
    try await db.close()
}

let path = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : ":memory:"
do {
    let db = try Database(path: path)
    try db.execute("CREATE TABLE IF NOT EXISTS fruit(id SERIAL PRIMARY KEY, name TEXT NOT NULL, price NUMERIC(6,2))")

    try db.write { db in
        let insert = try db.makeStatement("INSERT INTO fruit(name, price) VALUES ($1, $2)")
        for (name, price) in [("apple", "1.25"), ("pear", "2.5"), ("plum", "0.75")] {
            try insert.execute([try Value(name), try Value(Decimal(string: price)!)])
        }
    }

    do {
        try db.execute("INSERT INTO fruit(id, name) VALUES (1, 'dup')")
    } catch let error as DatabaseError {
        print("duplicate rejected: \(error.sqlState)")
    }

    for row in try db.query("SELECT name, price FROM fruit WHERE price > $1 ORDER BY price", [1.0]) {
        let name: String = try row.get("name")
        let price: Decimal = try row.get("price")
        print("\(name) costs \(row[1]) (\(price))")
    }

    // Records.
    try db.execute("CREATE TABLE IF NOT EXISTS player(id SERIAL PRIMARY KEY, first_name TEXT, joined_at TIMESTAMPTZ, tags TEXT)")
    var player = Player(id: nil, firstName: "ann", joinedAt: Date(), tags: ["captain"])
    player.id = try db.insert(player, into: "player", columnEncodingStrategy: .convertToSnakeCase)
    player.firstName = "anne"
    try db.update(player, in: "player", columnEncodingStrategy: .convertToSnakeCase)
    try db.save(player, into: "player", columnEncodingStrategy: .convertToSnakeCase)
    let players = try db.query(Player.self, "SELECT * FROM player", columnDecodingStrategy: .convertFromSnakeCase)
    print("players: \(players.map(\.firstName))")

    try await asyncTour(db)
} catch {
    print("error: \(error.localizedDescription)")
    exit(1)
}
