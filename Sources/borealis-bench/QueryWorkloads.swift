// The query workloads of issue 15 — joins, grouping, top-N, a window, a cascading delete and a
// streamed SELECT * — with the same data, SQL and checks as the C benchmark
// (examples/c/bench.c). Each times its own loop, after connecting and preparing, and stops after
// `cap` seconds when an engine is too slow for the full count (at least one operation), so
// every engine gets a rate. Answers are checked against values computed from the data's
// formulas, so a fast wrong answer fails the run.
//
// The data: big(id, g, x, s): g = id mod groups, x = id·7919 mod 1000003 (all distinct);
// regions(id, name) 100; customers(id, region, name), region = id mod 100; orders(id, cid,
// amount), cid = id·7919 mod customers (10 orders each), amount = id mod 1000 + 1;
// parents(id, name); children(id, pid → parents ON DELETE CASCADE, v), 10 per parent.

import Borealis
import Foundation

struct QuerySizes: Sendable {
    var rows: Int
    var groups: Int
    var regions: Int
    var customers: Int
    var orders: Int
    var parents: Int
    var joins: Int
    var groupBys: Int
    var orderLimits: Int
    var windows: Int
    var joinAggregates: Int
    var deletes: Int
    /// Seconds of operations per measurement at most (past the first operation).
    var cap: Double

    static let full = QuerySizes(rows: 1_000_000, groups: 1000, regions: 100, customers: 100_000, orders: 1_000_000,
                                 parents: 100_000, joins: 2000, groupBys: 20, orderLimits: 20, windows: 5,
                                 joinAggregates: 10, deletes: 1000, cap: 3)
    static let quick = QuerySizes(rows: 20_000, groups: 100, regions: 100, customers: 2000, orders: 20_000,
                                  parents: 2000, joins: 50, groupBys: 3, orderLimits: 3, windows: 1,
                                  joinAggregates: 2, deletes: 200, cap: 0.2)
}

private func bigX(_ id: Int) -> Int { id * 7919 % 1_000_003 }
private func orderCid(_ id: Int, _ customers: Int) -> Int { id * 7919 % customers }
private func orderAmount(_ id: Int) -> Int { id % 1000 + 1 }

private func loadBig(_ engine: EngineKind, _ path: String, _ q: QuerySizes) throws {
    let c = try engine.connect(path)
    defer { c.close() }
    try c.exec("CREATE TABLE big(id INTEGER PRIMARY KEY, g INTEGER, x INTEGER, s TEXT)")
    try c.exec("BEGIN")
    let insert = try c.prepare("INSERT INTO big VALUES ($1, $2, $3, $4)")
    for i in 0..<q.rows {
        let s = "name-" + String(repeating: "0", count: max(0, 7 - String(i).count)) + "\(i)-of-the-big-table"
        try insert.execute([.integer(Int64(i)), .integer(Int64(i % q.groups)), .integer(Int64(bigX(i))), .text(s)])
    }
    try c.exec("COMMIT")
    if engine == .sqlite { try c.exec("ANALYZE") }  // as in the C benchmark: SQLite plans joins from statistics
}

private func loadShop(_ engine: EngineKind, _ path: String, _ q: QuerySizes) throws {
    let c = try engine.connect(path)
    defer { c.close() }
    try c.exec("CREATE TABLE regions(id INTEGER PRIMARY KEY, name TEXT)")
    try c.exec("CREATE TABLE customers(id INTEGER PRIMARY KEY, region INTEGER, name TEXT)")
    try c.exec("CREATE TABLE orders(id INTEGER PRIMARY KEY, cid INTEGER, amount INTEGER)")
    try c.exec("BEGIN")
    let region = try c.prepare("INSERT INTO regions VALUES ($1, $2)")
    for i in 0..<q.regions { try region.execute([.integer(Int64(i)), .text("region-\(i)")]) }
    let customer = try c.prepare("INSERT INTO customers VALUES ($1, $2, $3)")
    for i in 0..<q.customers { try customer.execute([.integer(Int64(i)), .integer(Int64(i % q.regions)), .text("customer-\(i)")]) }
    let order = try c.prepare("INSERT INTO orders VALUES ($1, $2, $3)")
    for i in 0..<q.orders {
        try order.execute([.integer(Int64(i)), .integer(Int64(orderCid(i, q.customers))), .integer(Int64(orderAmount(i)))])
    }
    try c.exec("COMMIT")
    try c.exec("CREATE INDEX customers_region ON customers(region)")
    try c.exec("CREATE INDEX orders_cid ON orders(cid)")
    if engine == .sqlite { try c.exec("ANALYZE") }  // as in the C benchmark: SQLite plans joins from statistics
}

private func loadFamilies(_ engine: EngineKind, _ path: String, _ q: QuerySizes) throws {
    let c = try engine.connect(path)
    defer { c.close() }
    try c.exec("CREATE TABLE parents(id INTEGER PRIMARY KEY, name TEXT)")
    try c.exec("CREATE TABLE children(id INTEGER PRIMARY KEY, pid INTEGER NOT NULL REFERENCES parents(id) ON DELETE CASCADE, v TEXT)")
    try c.exec("CREATE INDEX children_pid ON children(pid)")
    try c.exec("BEGIN")
    let parent = try c.prepare("INSERT INTO parents VALUES ($1, $2)")
    for i in 0..<q.parents { try parent.execute([.integer(Int64(i)), .text("parent-\(i)")]) }
    let child = try c.prepare("INSERT INTO children VALUES ($1, $2, $3)")
    for i in 0..<q.parents * 10 { try child.execute([.integer(Int64(i)), .integer(Int64(i % q.parents)), .text("child-\(i)")]) }
    try c.exec("COMMIT")
    if engine == .sqlite { try c.exec("ANALYZE") }  // as in the C benchmark: SQLite plans joins from statistics
}

/// Runs `body(i)` for i = 0, 1, … until `count` are done or `cap` seconds have passed (at
/// least once), timing only that.
private func timedLoop(_ count: Int, _ q: QuerySizes, _ body: (Int) throws -> Void) rethrows -> Measurement {
    let start = monotonicSeconds()
    var i = 0
    while i < count && (i == 0 || monotonicSeconds() - start < q.cap) {
        try body(i)
        i += 1
    }
    return Measurement(ops: i, seconds: monotonicSeconds() - start)
}

/// Per region: the sum of its orders' amounts.
private func regionSums(_ q: QuerySizes) -> [Int64] {
    var sums = [Int64](repeating: 0, count: q.regions)
    for i in 0..<q.orders { sums[orderCid(i, q.customers) % q.regions] += Int64(orderAmount(i)) }
    return sums
}

private func joinOrders(_ engine: EngineKind, _ path: String, _ q: QuerySizes, sql: String, byName: Bool) throws -> Measurement {
    let c = try engine.connect(path)
    defer { c.close() }
    let query = try c.prepare(sql)
    let sums = regionSums(q)
    let perRegion = Int64(q.orders / q.regions)
    return try timedLoop(q.joins, q) { i in
        let region = i % q.regions
        let row = try query.integers([byName ? .text("region-\(region)") : .integer(Int64(region))])
        try check(row[0] == perRegion && row[1] == sums[region], "region \(region) gave \(row), expected [\(perRegion), \(sums[region])]")
    }
}

let queryWorkloads: [Workload] = [
    Workload(name: "join_orders", setup: { engine, path, sizes in try loadShop(engine, path, sizes.query) }, measure: { engine, path, sizes in
        try joinOrders(engine, path, sizes.query,
                       sql: "SELECT count(*), sum(o.amount) FROM customers c JOIN orders o ON o.cid = c.id WHERE c.region = $1", byName: false)
    }),
    Workload(name: "join_orders_3", setup: { engine, path, sizes in try loadShop(engine, path, sizes.query) }, measure: { engine, path, sizes in
        try joinOrders(engine, path, sizes.query,
                       sql: "SELECT count(*), sum(o.amount) FROM regions r JOIN customers c ON c.region = r.id JOIN orders o ON o.cid = c.id WHERE r.name = $1",
                       byName: true)
    }),
    Workload(name: "group_by", setup: { engine, path, sizes in try loadBig(engine, path, sizes.query) }, measure: { engine, path, sizes in
        let q = sizes.query
        let c = try engine.connect(path)
        defer { c.close() }
        let query = try c.prepare("SELECT g, count(*), sum(x), avg(x) FROM big GROUP BY g")
        var sums = [Int64](repeating: 0, count: q.groups)
        for id in 0..<q.rows { sums[id % q.groups] += Int64(bigX(id)) }
        return try timedLoop(q.groupBys, q) { _ in
            try query.start([])
            var groups = 0
            while try query.step() {
                let g = Int(query.int64(0)), count = query.int64(1), sum = query.int64(2), avg = query.double(3)
                try check(g >= 0 && g < q.groups && count == Int64(q.rows / q.groups) && sum == sums[g]
                          && abs(avg * Double(count) - Double(sum)) <= 1e-3 * Double(count),
                          "group \(g) gave count \(count) sum \(sum) avg \(avg)")
                groups += 1
            }
            try check(groups == q.groups, "\(groups) groups")
        }
    }),
    Workload(name: "order_limit", setup: { engine, path, sizes in try loadBig(engine, path, sizes.query) }, measure: { engine, path, sizes in
        let q = sizes.query
        let c = try engine.connect(path)
        defer { c.close() }
        let query = try c.prepare("SELECT id, x FROM big ORDER BY x DESC LIMIT 10")
        let top = Array((0..<q.rows).sorted { bigX($0) > bigX($1) }.prefix(10))
        return try timedLoop(q.orderLimits, q) { _ in
            try query.start([])
            var rows = 0
            while try query.step() {
                try check(rows < 10 && query.int64(0) == Int64(top[rows]) && query.int64(1) == Int64(bigX(top[rows])),
                          "row \(rows) is (\(query.int64(0)), \(query.int64(1)))")
                rows += 1
            }
            try check(rows == 10, "\(rows) rows")
        }
    }),
    Workload(name: "window_running_sum", setup: { engine, path, sizes in try loadBig(engine, path, sizes.query) }, measure: { engine, path, sizes in
        let q = sizes.query
        let c = try engine.connect(path)
        defer { c.close() }
        let query = try c.prepare("SELECT id, sum(x) OVER (PARTITION BY g ORDER BY id) FROM big")
        var running = [Int64](repeating: 0, count: q.groups), expected: Int64 = 0
        for id in 0..<q.rows {
            running[id % q.groups] += Int64(bigX(id))
            expected += running[id % q.groups]
        }
        return try timedLoop(q.windows, q) { _ in
            try query.start([])
            var rows = 0, total: Int64 = 0, ids: Int64 = 0
            while try query.step() {
                ids += query.int64(0)
                total += query.int64(1)
                rows += 1
            }
            try check(rows == q.rows && total == expected && ids == Int64(q.rows) * Int64(q.rows - 1) / 2,
                      "\(rows) rows, total of running sums \(total), expected \(expected)")
        }
    }),
    Workload(name: "join_aggregate", setup: { engine, path, sizes in try loadShop(engine, path, sizes.query) }, measure: { engine, path, sizes in
        let q = sizes.query
        let c = try engine.connect(path)
        defer { c.close() }
        let query = try c.prepare("SELECT c.region, count(*), sum(o.amount) FROM orders o JOIN customers c ON c.id = o.cid GROUP BY c.region")
        let sums = regionSums(q)
        return try timedLoop(q.joinAggregates, q) { _ in
            try query.start([])
            var groups = 0
            while try query.step() {
                let region = Int(query.int64(0)), count = query.int64(1), sum = query.int64(2)
                try check(region >= 0 && region < q.regions && count == Int64(q.orders / q.regions) && sum == sums[region],
                          "region \(region) gave count \(count) sum \(sum)")
                groups += 1
            }
            try check(groups == q.regions, "\(groups) groups")
        }
    }),
    Workload(name: "fk_cascade_delete", setup: { engine, path, sizes in try loadFamilies(engine, path, sizes.query) }, measure: { engine, path, sizes in
        let q = sizes.query
        let c = try engine.connect(path)
        defer { c.close() }
        let delete = try c.prepare("DELETE FROM parents WHERE id = $1")
        try c.exec("BEGIN")
        var measured = try timedLoop(q.deletes, q) { i in try delete.execute([.integer(Int64(i))]) }
        let commitStart = monotonicSeconds()
        try c.exec("COMMIT")
        measured.seconds! += monotonicSeconds() - commitStart
        let deleted = Int64(measured.ops)
        let left = try c.prepare("SELECT count(*) FROM children WHERE pid < $1").integers([.integer(deleted)])[0]
        let parents = try c.prepare("SELECT count(*) FROM parents WHERE id < $1").integers([.integer(Int64(q.deletes))])[0]
        try check(left == 0 && parents == Int64(q.deletes) - deleted,
                  "after deleting parents 0..<\(deleted), \(left) of their children and \(parents) parents below \(q.deletes) are left")
        return measured
    }),
    Workload(name: "select_star", setup: { engine, path, sizes in try loadBig(engine, path, sizes.query) }, measure: { engine, path, sizes in
        let q = sizes.query
        let c = try engine.connect(path)
        defer { c.close() }
        let query = try c.prepare("SELECT * FROM big")
        let expectedX = (0..<q.rows).reduce(Int64(0)) { $0 + Int64(bigX($1)) }
        var rows = 0, ids: Int64 = 0, xs: Int64 = 0, lengths = 0
        let start = monotonicSeconds()
        try query.start([])
        var more = try query.step()
        let firstRow = (monotonicSeconds() - start) * 1000
        while more {
            ids += query.int64(0)
            _ = query.int64(1)
            xs += query.int64(2)
            lengths += query.text(3).utf8.count
            rows += 1
            more = try query.step()
        }
        let seconds = monotonicSeconds() - start
        try check(rows == q.rows && xs == expectedX && ids == Int64(q.rows) * Int64(q.rows - 1) / 2 && lengths == q.rows * 29,
                  "\(rows) rows, sum(x) \(xs), expected \(expectedX), text bytes \(lengths)")
        return Measurement(ops: rows, seconds: seconds, firstRowMilliseconds: firstRow)
    }),
]
