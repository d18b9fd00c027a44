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
    /// The query workloads (QueryWorkloads.swift).
    var query: QuerySizes

    static let full = Sizes(rows: 1_000_000, commits: 5000, commitsPerThread: 2000, lookups: 1_000_000, scans: 200,
                            indexLookups: 200_000, tpcbTransactions: 20_000, fullScans: 20, query: .full)
    static let quick = Sizes(rows: 100_000, commits: 1000, commitsPerThread: 250, lookups: 100_000, scans: 50,
                             indexLookups: 20_000, tpcbTransactions: 2000, fullScans: 5, query: .quick)
}

/// What a timed run did: its operation count, and the seconds it timed itself when it keeps
/// connecting and preparing out of the timing (else the whole run is timed).
struct Measurement: Sendable {
    var ops: Int
    var seconds: Double?
    var firstRowMilliseconds: Double?
}

struct Workload: Sendable {
    let name: String
    /// Builds what the timed part needs (not timed).
    let setup: @Sendable (EngineKind, String, Sizes) throws -> Void
    /// The timed part.
    let measure: @Sendable (EngineKind, String, Sizes) throws -> Measurement

    init(name: String, setup: @escaping @Sendable (EngineKind, String, Sizes) throws -> Void,
         measure: @escaping @Sendable (EngineKind, String, Sizes) throws -> Measurement) {
        self.name = name
        self.setup = setup
        self.measure = measure
    }

    /// A workload timed as a whole; `run` returns the operation count.
    init(name: String, setup: @escaping @Sendable (EngineKind, String, Sizes) throws -> Void,
         run: @escaping @Sendable (EngineKind, String, Sizes) throws -> Int) {
        self.init(name: name, setup: setup, measure: { Measurement(ops: try run($0, $1, $2)) })
    }
}

private func value(_ i: Int) -> String {
    var bytes = Array("v\(i)-".utf8)
    bytes.append(contentsOf: repeatElement(UInt8(ascii: "x"), count: 100 - bytes.count))
    return String(decoding: bytes, as: UTF8.self)
}

func check(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw BenchError(description: "result check failed: \(message())") }
}

private func loadTable(_ engine: EngineKind, _ path: String, rows: Int) throws {
    let c = try engine.connect(path)
    defer { c.close() }
    try c.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT)")
    try c.exec("BEGIN")
    let insert = try c.prepare("INSERT INTO t VALUES ($1, $2, $3)")
    for i in 0..<rows { try insert.execute([.integer(Int64(i)), .integer(Int64((i * 7919) % rows)), .text(value(i))]) }
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
    for a in 1...100_000 { try insert.execute([.integer(Int64(a)), .text(filler)]) }
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
            try updateAccount.execute([.integer(delta), .integer(aid)])
            _ = try selectAccount.integers([.integer(aid)])
            try updateTeller.execute([.integer(delta), .integer(tid)])
            try updateBranch.execute([.integer(delta)])
            try insertHistory.execute([.integer(Int64(thread * 1_000_000 + i)), .integer(tid), .integer(aid), .integer(delta)])
            try c.exec("COMMIT")
        }
    }
    let c = try engine.connect(path)
    defer { c.close() }
    let rows = try c.prepare("SELECT count(*), sum(delta) FROM history").integers()
    let branch = try c.prepare("SELECT bbalance FROM branches").integers()
    let accounts = try c.prepare("SELECT sum(abalance) FROM accounts").integers()
    try check(rows[0] == Int64(perThread * threads), "history has \(rows[0]) rows")
    try check(rows[1] == branch[0] && branch[0] == accounts[0],
              "balances disagree: history \(rows[1]), branch \(branch[0]), accounts \(accounts[0])")
    return perThread * threads
}

/// Extra numbers a workload reports besides ops/s (printed under the table, kept in the JSON).
let benchNote = Mutex<String>("")

private func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p))]
}

/// 8 writers commit single-row transactions as fast as they can while 2 replicas (SQLite: 2
/// reader connections) run an aggregate over the whole table; a 9th writer measures, after
/// each of its commits returns, how long until a replica shows it. Ops = commits/s.
private func replicaLag(_ engine: EngineKind, _ path: String, _ sizes: Sizes) throws -> Int {
    let writer = try engine.connect(path)
    defer { writer.close() }
    try writer.exec("CREATE TABLE c(id INTEGER PRIMARY KEY, v TEXT)")
    let readers = try (0..<2).map { _ in try writer.openReplica(path: path) }
    defer { readers.forEach { $0.close() } }
    let per = sizes.commitsPerThread * 2
    let done = Atomic<Bool>(false)
    let scans = Atomic<Int>(0)
    let lags = Mutex<[Double]>([])
    let sampled = Mutex<[Double]>([])
    let peakLog = Atomic<UInt64>(0)
    let group = DispatchGroup()
    for reader in readers {
        group.enter()
        Thread {
            defer { group.leave() }
            guard let scan = try? reader.prepare("SELECT sum(k), count(*) FROM t") else { return }
            while !done.load(ordering: .relaxed) {
                _ = try? scan.execute()
                scans.add(1, ordering: .relaxed)
            }
        }.start()
    }
    let writerDatabase = (writer as? BorealisConnection)?.db
    let probeReplica = (readers[0] as? BorealisConnection)?.db
    try concurrently(9) { thread in
        let c = try engine.connect(path)
        defer { c.close() }
        let insert = try c.prepare("INSERT INTO c VALUES ($1, $2)")
        if thread == 8 {
            // The probe: commit, then wait for the replica to show the commit.
            guard let probeReplica, let own = (c as? BorealisConnection)?.db else {
                for i in 0..<per / 4 { try insert.execute([.integer(Int64(8_000_000 + i)), .text("probe")]) }
                return
            }
            for i in 0..<per / 4 {
                try insert.execute([.integer(Int64(8_000_000 + i)), .text("probe")])
                let start = monotonicSeconds()
                guard try probeReplica.waitFor(lsn: own.lastCommitLSN, timeout: 5) else { throw BenchError(description: "replica did not catch up in 5 s") }
                let lag = monotonicSeconds() - start
                lags.withLock { $0.append(lag) }
                if let reported = probeReplica.replicaLag?.seconds { sampled.withLock { $0.append(reported) } }
                peakLog.max(own.engine.metrics.unmaterializedBytes, ordering: .relaxed)
            }
            return
        }
        for i in 0..<per { try insert.execute([.integer(Int64(thread * 1_000_000 + i)), .text(value(i))]) }
    }
    done.store(true, ordering: .relaxed)
    group.wait()
    let expected = 8 * per + per / 4
    let count = try writer.prepare("SELECT count(*) FROM c").integers()[0]
    try check(count == Int64(expected), "count \(count)")
    if engine == .borealis, let replica = readers[0] as? BorealisConnection, let db = writerDatabase {
        guard try replica.db.waitFor(lsn: db.engine.metrics.lastCommitLSN, timeout: 5) else { throw BenchError(description: "replica behind at the end") }
        let seen = try replica.prepare("SELECT count(*) FROM c").integers()[0]
        try check(seen == Int64(expected), "replica count \(seen)")
        let sorted = lags.withLock { $0 }.sorted()
        let reported = sampled.withLock { $0 }.sorted()
        benchNote.withLock {
            $0 = String(format: "commit-to-replica lag p50 %.0f µs, p99 %.0f µs, max %.0f µs over %d probes; replicaLag.seconds p99 %.0f µs; %d analytical scans on 2 replicas; un-materialized log peak %.1f MiB",
                        percentile(sorted, 0.5) * 1e6, percentile(sorted, 0.99) * 1e6, (sorted.last ?? 0) * 1e6, sorted.count,
                        percentile(reported, 0.99) * 1e6, scans.load(ordering: .relaxed), Double(peakLog.load(ordering: .relaxed)) / 1048576)
        }
    }
    return expected
}

/// One writer updates rows durably, nonstop, while two reader threads run range aggregates;
/// `replicas` of the two readers use a replica of the writer's database (the others a plain
/// connection; SQLite: always two reader connections). Ops = reads/s.
private func replicaReads(_ engine: EngineKind, _ path: String, _ sizes: Sizes, replicas: Int) throws -> Int {
    let writer = try engine.connect(path)
    defer { writer.close() }
    let readers = try (0..<2).map { i in try (i < replicas ? writer.openReplica(path: path) : engine.connect(path)) }
    defer { readers.forEach { $0.close() } }
    let done = Atomic<Bool>(false)
    let updates = Atomic<Int>(0)
    let writerThread = DispatchGroup()
    writerThread.enter()
    let failure = Mutex<String?>(nil)
    Thread {
        defer { writerThread.leave() }
        do {
            let update = try writer.prepare("UPDATE t SET k = k + 1 WHERE id = $1")
            var rng = SplitMix64(seed: 5)
            while !done.load(ordering: .relaxed) {
                try update.execute([.integer(Int64(rng.next() % UInt64(sizes.rows)))])
                updates.add(1, ordering: .relaxed)
            }
        } catch {
            failure.withLock { $0 = "\(error)" }
        }
    }.start()
    let reads = sizes.scans * 4
    let readerList = readers
    try concurrently(2) { t in
        let scan = try readerList[t].prepare("SELECT sum(k), count(*) FROM t WHERE id BETWEEN $1 AND $1 + 999")
        var rng = SplitMix64(seed: UInt64(t + 21))
        for _ in 0..<reads {
            let start = Int64(rng.next() % UInt64(sizes.rows - 1000))
            let count = try scan.integers([.integer(start)])[1]
            try check(count == 1000, "count \(count)")
        }
    }
    done.store(true, ordering: .relaxed)
    writerThread.wait()
    if let message = failure.withLock({ $0 }) { throw BenchError(description: message) }
    benchNote.withLock { $0 = "\(updates.load(ordering: .relaxed)) durable updates ran meanwhile" }
    return 2 * reads
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

let workloads: [Workload] = [
    Workload(name: "bulk_insert", setup: { _, _, _ in }, run: { engine, path, sizes in
        try loadTable(engine, path, rows: sizes.rows)
        let c = try engine.connect(path)
        defer { c.close() }
        let count = try c.prepare("SELECT count(*) FROM t").integers()[0]
        try check(count == Int64(sizes.rows), "count \(count)")
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
        for i in 0..<sizes.commits { try insert.execute([.integer(Int64(i)), .text(value(i))]) }
        let count = try c.prepare("SELECT count(*) FROM c").integers()[0]
        try check(count == Int64(sizes.commits), "count \(count)")
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
            for i in 0..<per { try insert.execute([.integer(Int64(thread * 1_000_000 + i)), .text(value(i))]) }
        }
        let c = try engine.connect(path)
        defer { c.close() }
        let count = try c.prepare("SELECT count(*) FROM c").integers()[0]
        try check(count == Int64(8 * per), "count \(count)")
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
            try select.start([.integer(Int64(id))])
            var rows = 0
            while try select.step() {
                rows += 1
                if select.text(0).hasPrefix("v\(id)-") { found += 1 }
            }
            try check(rows == 1, "\(rows) rows for id \(id)")
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
            let count = try scan.integers([.integer(start)])[1]
            try check(count == 10_000, "count \(count)")
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
            found += try select.rowCount([.integer(Int64(rng.next() % UInt64(sizes.rows)))])
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
    Workload(name: "replica_lag", setup: { engine, path, sizes in try loadTable(engine, path, rows: sizes.rows / 2) }, run: { engine, path, sizes in
        try replicaLag(engine, path, sizes)
    }),
] + (0...2).map { replicas in
    Workload(name: "replica_reads_\(replicas)", setup: { engine, path, sizes in try loadTable(engine, path, rows: sizes.rows) }, run: { engine, path, sizes in
        try replicaReads(engine, path, sizes, replicas: replicas)
    })
} + [
    Workload(name: "full_scan", setup: { engine, path, sizes in try loadTable(engine, path, rows: sizes.rows) }, run: { engine, path, sizes in
        let c = try engine.connect(path)
        defer { c.close() }
        let scan = try c.prepare("SELECT count(*), sum(length(v)) FROM t")
        for _ in 0..<sizes.fullScans {
            let row = try scan.integers()
            try check(row[0] == Int64(sizes.rows) && row[1] == Int64(sizes.rows * 100), "got \(row)")
        }
        return sizes.fullScans
    }),
]

import Synchronization
