// `.dump` and `.schema`: the database as SQL that re-creates it. The dump runs in one
// transaction (BEGIN … COMMIT) and is ordered so that it loads:
//
//   1. CREATE TABLE, parents before the tables whose foreign keys reference them (ties by name)
//   2. the rows, INSERT per row, in the same table order; a table that references itself
//      lists each row after the row it references
//   3. CREATE INDEX (after the rows: one build instead of many inserts)
//   4. CREATE VIEW, by name
//
// Sequences: identity and serial columns re-create theirs with their tables; other sequences
// follow the tables (CREATE SEQUENCE, then ALTER SEQUENCE … OWNED BY), and after the rows a
// `SELECT setval(…)` per sequence restores where each stands (tables with GENERATED ALWAYS
// columns are loaded with OVERRIDING SYSTEM VALUE).
//
// `.schema` prints the same statements (1, 3, 4, and the sequences) in the same order, so it
// shows what the dump writes. Each value is written with Value.sqlLiteral,
// which reads back as the same value (NUMERIC exactly, '\x…'::bytea, '…'::date and the
// other temporal types, TRUE/FALSE, doubled quotes). Tables whose foreign keys form a cycle
// through other tables cannot be ordered so; they come last, by name, and the dump of such
// rows may not load.

import Borealis

extension Shell {
    /// The schema in load order: CREATE TABLE statements (with their table names), CREATE
    /// INDEX statements, CREATE VIEW statements; only those of `only` when given.
    private func orderedSchema(_ only: String?) throws -> (tables: [(name: String, sql: String)], indexes: [String], views: [String]) {
        var infos: [String: TableInfo] = [:]
        var viewNames: [String] = []
        for name in try db.tableNames() {
            if let info = try db.tableInfo(name) { infos[name] = info } else { viewNames.append(name) }
        }
        if let only, infos[only] == nil && !viewNames.contains(only) {
            throw ShellError("no such table: \(only)")
        }
        var tables: [(name: String, sql: String)] = []
        var indexes: [String] = []
        for name in Self.loadOrder(infos) where only == nil || only == name {
            let statements = try db.schemaStatements(of: name)
            for statement in statements {
                if statement.hasPrefix("CREATE TABLE") { tables.append((name, statement)) } else { indexes.append(statement) }
            }
        }
        var views: [String] = []
        for name in viewNames where only == nil || only == name { views += try db.schemaStatements(of: name) }
        return (tables, indexes, views)
    }

    func schemaText(_ only: String?) throws -> String {
        let schema = try orderedSchema(only)
        let sequences = try db.sequenceStatements(of: only)
        return (schema.tables.map(\.sql) + sequences.create + schema.indexes + schema.views).map { $0 + "\n" }.joined()
    }

    func dump(_ only: String?) throws {
        let schema = try orderedSchema(only)
        let sequences = try db.sequenceStatements(of: only)
        write("BEGIN;\n")
        for table in schema.tables { write(table.sql + "\n") }
        for statement in sequences.create { write(statement + "\n") }
        for table in schema.tables {
            guard let info = try db.tableInfo(table.name) else { continue }
            let rows = try db.execute("SELECT * FROM \(Database.quoteIdentifier(table.name))").rows
            let overriding = info.columns.contains(where: \.generatedAlways) ? "OVERRIDING SYSTEM VALUE " : ""
            let prefix = "INSERT INTO \(Database.quoteIdentifier(table.name)) \(overriding)VALUES ("
            var text = ""
            for row in Self.parentsFirst(rows, info) {
                text += prefix + row.map(\.sqlLiteral).joined(separator: ", ") + ");\n"
                if text.utf8.count > 1 << 16 { write(text); text = "" }
            }
            write(text)
        }
        for statement in sequences.values { write(statement + "\n") }
        for statement in schema.indexes + schema.views { write(statement + "\n") }
        write("COMMIT;\n")
    }

    /// Table names with every table after the tables its foreign keys reference (a reference
    /// to itself does not count); among tables free to go next, the first by name. Tables
    /// left in a cycle follow, by name.
    static func loadOrder(_ infos: [String: TableInfo]) -> [String] {
        var waiting: [String: Set<String>] = [:]
        for (name, info) in infos {
            waiting[name] = Set(info.foreignKeys.map(\.parent).filter { $0 != name && infos[$0] != nil })
        }
        var order: [String] = []
        while !waiting.isEmpty {
            guard let next = waiting.filter({ $0.value.isEmpty }).keys.min() else {
                order += waiting.keys.sorted()
                break
            }
            order.append(next)
            waiting[next] = nil
            for name in waiting.keys { waiting[name]?.remove(next) }
        }
        return order
    }

    /// The rows of a table in their order, except that a row referencing another row of the
    /// same table (a self-referencing foreign key) comes after that row.
    static func parentsFirst(_ rows: [[Value]], _ info: TableInfo) -> [[Value]] {
        let column = Dictionary(info.columns.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
        let keys = info.foreignKeys.filter { $0.parent == info.name }.compactMap { fk -> (child: [Int], parent: [Int])? in
            let child = fk.columns.compactMap { column[$0] }, parent = fk.parentColumns.compactMap { column[$0] }
            return child.count == fk.columns.count && parent.count == fk.parentColumns.count ? (child, parent) : nil
        }
        guard !keys.isEmpty else { return rows }
        // For each self-reference, which row holds each parent key.
        var holder: [[[Value]: Int]] = []
        for key in keys {
            var map: [[Value]: Int] = [:]
            for (i, row) in rows.enumerated() {
                let parentKey = key.parent.map { row[$0] }
                if map[parentKey] == nil { map[parentKey] = i }
            }
            holder.append(map)
        }
        func references(_ i: Int) -> [Int] {
            keys.indices.compactMap { k in
                let value = keys[k].child.map { rows[i][$0] }
                if value.contains(where: \.isNull) { return nil }
                return holder[k][value].flatMap { $0 == i ? nil : $0 }
            }
        }
        // Depth-first, without recursion (a chain of rows can be long).
        var state = [UInt8](repeating: 0, count: rows.count)   // 0 new, 1 in progress, 2 written
        var ordered: [[Value]] = []
        ordered.reserveCapacity(rows.count)
        for root in rows.indices where state[root] == 0 {
            var stack: [(row: Int, pending: [Int])] = [(root, references(root))]
            state[root] = 1
            while !stack.isEmpty {
                if let next = stack[stack.count - 1].pending.popLast() {
                    if state[next] == 0 {
                        state[next] = 1
                        stack.append((next, references(next)))
                    }
                    continue   // in progress: a cycle of rows, written in its order
                }
                let done = stack.removeLast().row
                state[done] = 2
                ordered.append(rows[done])
            }
        }
        return ordered
    }
}
