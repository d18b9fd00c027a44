// A Borealis Swift client: open, create, insert with parameters and a prepared statement
// inside a transaction, query, handle errors. Built as the `borealis-example` target:
//   swift run borealis-example [DB]

import Borealis

let path = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : ":memory:"
do {
    let db = try Database(path: path)
    try db.execute("CREATE TABLE IF NOT EXISTS fruit(id SERIAL PRIMARY KEY, name TEXT NOT NULL, price NUMERIC(6,2))")

    try db.execute("BEGIN")
    let (insert, _) = try db.prepare("INSERT INTO fruit(name, price) VALUES ($1, $2)")
    for (name, price) in [("apple", 1.25), ("pear", 2.5), ("plum", 0.75)] {
        try insert!.bind([.text(name), .double(price)])
        _ = try insert!.step()
        insert!.reset()
    }
    try db.execute("COMMIT")

    do {
        try db.execute("INSERT INTO fruit(id, name) VALUES (1, 'dup')")
    } catch let error as DatabaseError {
        print("duplicate rejected: \(error.sqlState)")
    }

    let result = try db.execute("SELECT name, price FROM fruit WHERE price > $1 ORDER BY price", [.double(1.0)])
    for row in result.rows {
        print("\(row[0]) costs \(row[1])")
    }
    try db.close()
} catch {
    print("error: \(error)")
    exit(1)
}

#if canImport(Glibc)
import Glibc
#endif
