// The workloads (issue 5): the same SQL on both engines, each checking its result so that a
// fast wrong answer fails the run. A workload returns the number of operations it timed.

import Borealis
import Foundation

struct Sizes: Sendable {
    var rows: Int
    var commits: Int
    var commitsPerThread: Int
    var lookups: Int
    var scans: Int
    var indexLookups: Int
    var tpcbTransactions: Int
    var fullScans: Int

    static let full = Sizes(rows: 1_000_000, commits: 5000, commitsPerThread: 2000, lookups: 1_000_000, scans: 200,
                            indexLookups: 200_000, tpcbTransactions: 20_000, fullScans: 20)
    static let quick = Sizes(rows: 100_000, commits: 1000, commitsPerThread: 250, lookups: 100_000, scans: 50,
                             indexLookups: 20_000, tpcbTransactions: 2000, fullScans: 5)
}

struct Workload: Sendable {
    let name: String
    /// Builds what the timed part needs (not timed).
    let setup: @Sendable (EngineKind, String, Sizes) throws -> Void
    /// The timed part; returns the operation count.
    let run: @Sendable (EngineKind, String, Sizes) throws -> Int
}

private func value(_ i: Int) -> String {
    let base = "v\(i)-"
    return base + String(repeating: "x", count: 100 - base.count)
}

private func check(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw BenchError(description: "result check failed: \(message())") }
}

private func integer(_ v: Value) -> Int64 {
    switch v {
    case .integer(let i): return i
    case .double(let d): return Int64(d)
    case .numeric(let n): return Int64(n.doubleValue)
    default: return Int64(v.description) ?? -1
    }
}

private func loadTable(_ engine: EngineKind, _ path: String, rows: Int) throws {
    let c = try engine.connect(path)
    defer { c.close() }
    try c.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT)")
    try c.exec("BEGIN")
    let insert = try c.prepare("INSERT INTO t VALUES ($1, $2, $3)")
    for i in 0..<rows { _ = try insert.run([.integer(Int64(i)), .integer(Int64((i * 7919) % rows)), .text(value(i))]) }
    try c.exec("COMMIT")
}

/// Runs `body(thread)` on `count` threads at once.
private func concurrently(_ count: Int, _ body: @escaping @Sendable (Int) throws -> Void) throws {
    let group = DispatchGroup()
    let failure = Mutex<String?>(nil)
    for t in 0..<count {
        group.enter()
        Thread {
            defer { group.leave() }
            do { try body(t) } catch { failure.withLock { $0 = "\(error)" } }
        }.start()
    }
    group.wait()
    if let message = failure.withLock({ $0 }) { throw BenchError(description: message) }
}

private func tpcbSetup(_ engine: EngineKind, _ path: String) throws {
    let c = try engine.connect(path)
    defer { c.close() }
    try c.exec("CREATE TABLE branches(bid INTEGER PRIMARY KEY, bbalance INTEGER, filler TEXT)")
    try c.exec("CREATE TABLE tellers(tid INTEGER PRIMARY KEY, bid INTEGER, tbalance INTEGER, filler TEXT)")
    try c.exec("CREATE TABLE accounts(aid INTEGER PRIMARY KEY, bid INTEGER, abalance INTEGER, filler TEXT)")
    try c.exec("CREATE TABLE history(hid INTEGER PRIMARY KEY, tid INTEGER, bid INTEGER, aid INTEGER, delta INTEGER, mtime TEXT, filler TEXT)")
    try c.exec("BEGIN")
    try c.exec("INSERT INTO branches VALUES (1, 0, NULL)")
    for t in 1...10 { try c.exec("INSERT INTO tellers VALUES (\(t), 1, 0, NULL)") }
    let insert = try c.prepare("INSERT INTO accounts VALUES ($1, 1, 0, $2)")
    let filler = String(repeating: " ", count: 84)
    for a in 1...100_000 { _ = try insert.run([.integer(Int64(a)), .text(filler)]) }
    try c.exec("COMMIT")
}

private func tpcb(_ engine: EngineKind, _ path: String, threads: Int, transactions: Int) throws -> Int {
    let perThread = transactions / threads
    try concurrently(threads) { thread in
        let c = try engine.connect(path)
        defer { c.close() }
        let updateAccount = try c.prepare("UPDATE accounts SET abalance = abalance + $1 WHERE aid = $2")
        let selectAccount = try c.prepare("SELECT abalance FROM accounts WHERE aid = $1")
        let updateTeller = try c.prepare("UPDATE tellers SET tbalance = tbalance + $1 WHERE tid = $2")
        let updateBranch = try c.prepare("UPDATE branches SET bbalance = bbalance + $1 WHERE bid = 1")
        let insertHistory = try c.prepare("INSERT INTO history VALUES ($1, $2, 1, $3, $4, 'now', NULL)")
        var rng = SplitMix64(seed: UInt64(thread + 1))
        for i in 0..<perThread {
            let aid = Int64(rng.next() % 100_000) + 1, tid = Int64(rng.next() % 10) + 1
            let delta = Int64(rng.next() % 10_001) - 5000
            try c.exec(engine == .sqlite ? "BEGIN IMMEDIATE" : "BEGIN")
            _ = try updateAccount.run([.integer(delta), .integer(aid)])
            _ = try selectAccount.run([.integer(aid)])
            _ = try updateTeller.run([.integer(delta), .integer(tid)])
            _ = try updateBranch.run([.integer(delta)])
            _ = try insertHistory.run([.integer(Int64(thread * 1_000_000 + i)), .integer(tid), .integer(aid), .integer(delta)])
            try c.exec("COMMIT")
        }
    }
    let c = try engine.connect(path)
    defer { c.close() }
    let rows = try c.prepare("SELECT count(*), sum(delta) FROM history").run([])
    let branch = try c.prepare("SELECT bbalance FROM branches").run([])
    let accounts = try c.prepare("SELECT sum(abalance) FROM accounts").run([])
    try check(integer(rows[0][0]) == Int64(perThread * threads), "history has \(rows[0][0]) rows")
    try check(integer(rows[0][1]) == integer(branch[0][0]) && integer(branch[0][0]) == integer(accounts[0][0]),
              "balances disagree: history \(rows[0][1]), branch \(branch[0][0]), accounts \(accounts[0][0])")
    return perThread * threads
}

let workloads: [Workload] = [
    Workload(name: "bulk_insert", setup: { _, _, _ in }, run: { engine, path, sizes in
        try loadTable(engine, path, rows: sizes.rows)
        let c = try engine.connect(path)
        defer { c.close() }
        let count = try c.prepare("SELECT count(*) FROM t").run([])
        try check(integer(count[0][0]) == Int64(sizes.rows), "count \(count[0][0])")
        return sizes.rows
    }),
    Workload(name: "durable_commits_1", setup: { engine, path, _ in
        let c = try engine.connect(path)
        try c.exec("CREATE TABLE c(id INTEGER PRIMARY KEY, v TEXT)")
        c.close()
    }, run: { engine, path, sizes in
        let c = try engine.connect(path)
        defer { c.close() }
        let insert = try c.prepare("INSERT INTO c VALUES ($1, $2)")
        for i in 0..<sizes.commits { _ = try insert.run([.integer(Int64(i)), .text(value(i))]) }
        let count = try c.prepare("SELECT count(*) FROM c").run([])
        try check(integer(count[0][0]) == Int64(sizes.commits), "count \(count[0][0])")
        return sizes.commits
    }),
    Workload(name: "durable_commits_8", setup: { engine, path, _ in
        let c = try engine.connect(path)
        try c.exec("CREATE TABLE c(id INTEGER PRIMARY KEY, v TEXT)")
        c.close()
    }, run: { engine, path, sizes in
        let per = sizes.commitsPerThread
        try concurrently(8) { thread in
            let c = try engine.connect(path)
            defer { c.close() }
            let insert = try c.prepare("INSERT INTO c VALUES ($1, $2)")
            for i in 0..<per { _ = try insert.run([.integer(Int64(thread * 1_000_000 + i)), .text(value(i))]) }
        }
        let c = try engine.connect(path)
        defer { c.close() }
        let count = try c.prepare("SELECT count(*) FROM c").run([])
        try check(integer(count[0][0]) == Int64(8 * per), "count \(count[0][0])")
        return 8 * per
    }),
    Workload(name: "point_select", setup: { engine, path, sizes in try loadTable(engine, path, rows: sizes.rows) }, run: { engine, path, sizes in
        let c = try engine.connect(path)
        defer { c.close() }
        let select = try c.prepare("SELECT v FROM t WHERE id = $1")
        var rng = SplitMix64(seed: 7)
        var found = 0
        for _ in 0..<sizes.lookups {
            let id = Int(rng.next() % UInt64(sizes.rows))
            let rows = try select.run([.integer(Int64(id))])
            if rows.count == 1, case .text(let v) = rows[0][0], v.hasPrefix("v\(id)-") { found += 1 }
        }
        try check(found == sizes.lookups, "found \(found) of \(sizes.lookups)")
        return sizes.lookups
    }),
    Workload(name: "range_scan_agg", setup: { engine, path, sizes in try loadTable(engine, path, rows: sizes.rows) }, run: { engine, path, sizes in
        let c = try engine.connect(path)
        defer { c.close() }
        let scan = try c.prepare("SELECT sum(k), count(*) FROM t WHERE id BETWEEN $1 AND $1 + 9999")
        var rng = SplitMix64(seed: 9)
        for _ in 0..<sizes.scans {
            let start = Int64(rng.next() % UInt64(sizes.rows - 10_000))
            let rows = try scan.run([.integer(start)])
            try check(integer(rows[0][1]) == 10_000, "count \(rows[0][1])")
        }
        return sizes.scans
    }),
    Workload(name: "secondary_index", setup: { engine, path, sizes in try loadTable(engine, path, rows: sizes.rows) }, run: { engine, path, sizes in
        let c = try engine.connect(path)
        defer { c.close() }
        try c.exec("CREATE INDEX t_k ON t(k)")
        let select = try c.prepare("SELECT id FROM t WHERE k = $1")
        var rng = SplitMix64(seed: 11)
        var found = 0
        for _ in 0..<sizes.indexLookups {
            found += try select.run([.integer(Int64(rng.next() % UInt64(sizes.rows)))]).count
        }
        try check(found == sizes.indexLookups, "found \(found)")
        return sizes.indexLookups
    }),
    Workload(name: "tpcb_like_1", setup: { engine, path, _ in try tpcbSetup(engine, path) }, run: { engine, path, sizes in
        try tpcb(engine, path, threads: 1, transactions: sizes.tpcbTransactions)
    }),
    Workload(name: "tpcb_like_4", setup: { engine, path, _ in try tpcbSetup(engine, path) }, run: { engine, path, sizes in
        try tpcb(engine, path, threads: 4, transactions: sizes.tpcbTransactions)
    }),
    Workload(name: "full_scan", setup: { engine, path, sizes in try loadTable(engine, path, rows: sizes.rows) }, run: { engine, path, sizes in
        let c = try engine.connect(path)
        defer { c.close() }
        let scan = try c.prepare("SELECT count(*), sum(length(v)) FROM t")
        for _ in 0..<sizes.fullScans {
            let rows = try scan.run([])
            try check(integer(rows[0][0]) == Int64(sizes.rows) && integer(rows[0][1]) == Int64(sizes.rows * 100), "got \(rows[0])")
        }
        return sizes.fullScans
    }),
]

import Synchronization
