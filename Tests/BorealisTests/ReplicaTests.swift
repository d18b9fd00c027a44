// Read replicas (docs/replicas.md): snapshot consistency under a concurrent writer, read-your-
// writes, lag, a long replica query against the log cap, detaching a replica that falls
// behind, and promotion without losing a commit that returned.
// BOREALIS_REPLICA_SECONDS lengthens the concurrent runs (default: short, for CI).

import Foundation
import Synchronization
import Testing
@testable import Borealis
@testable import BorealisSQL
@testable import BorealisStorage

@Suite struct ReplicaTests {
    private var runSeconds: Double {
        Double(ProcessInfo.processInfo.environment["BOREALIS_REPLICA_SECONDS"] ?? "") ?? 1.0
    }

    /// Closing the connection that made a `:memory:` database deleted its folder while a
    /// replica still used the engine: the replica's close then failed (IOERR, a log segment
    /// gone) — found by fuzz-capi. The folder now goes with the engine's last connection.
    @Test func aReplicaOfAMemoryDatabaseOutlivesTheConnectionThatMadeIt() throws {
        let primary = try Database(path: ":memory:")
        try primary.execute("CREATE TABLE t (a int PRIMARY KEY, b text)")
        try primary.execute("INSERT INTO t SELECT g, repeat('x', 300) FROM generate_series(1, 5000) AS g")
        let replica = try primary.openReplica()
        #expect(try replica.waitFor(lsn: primary.lastCommitLSN, timeout: 10))
        let folder = URL(fileURLWithPath: primary.location).deletingLastPathComponent().path
        try primary.close()
        #expect(FileManager.default.fileExists(atPath: folder))
        #expect(try replica.query("SELECT count(*) FROM t").first?[0] == .integer(5000))
        try replica.close()
        #expect(!FileManager.default.fileExists(atPath: folder))
    }

    @Test func replicaReadsItsWritersCommitsAndRefusesWrites() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database, options: smallOptions())
        try db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
        try db.execute("INSERT INTO t VALUES (1, 'one')")
        // Attaching copies nothing: the replica's cache starts empty, whatever the size.
        try db.write { db in
            for i in 100..<2100 { try db.execute("INSERT INTO t VALUES ($1, $2)", [.integer(Int64(i)), .text(String(repeating: "p", count: 200))]) }
        }
        let replica = try db.openReplica()
        #expect(replica.replicaForTesting?.cachedBytes == 0)
        #expect(replica.isReplica && replica.isReadOnly)
        #expect(!db.isReplica)
        #expect(try replica.query("SELECT v FROM t WHERE id = 1").first?.values == [.text("one")])

        try db.execute("INSERT INTO t VALUES (2, 'two')")
        let lsn = db.lastCommitLSN
        #expect(lsn > 0)
        #expect(try replica.waitFor(lsn: lsn, timeout: 5))
        #expect(try replica.query("SELECT count(*) FROM t WHERE id < 100").first?.values == [.integer(2)])
        #expect(replica.replicaLag?.bytes == 0 || replica.replicaLag!.bytes < 1 << 20)
        #expect(db.replicaLag == nil)

        for sql in ["INSERT INTO t VALUES (3, 'x')", "CREATE TABLE u(x INTEGER)", "DELETE FROM t"] {
            do {
                try replica.execute(sql)
                Issue.record("a write succeeded on a replica: \(sql)")
            } catch let error as DatabaseError {
                #expect(error.code == .readOnly && error.sqlState == "25006")
            }
        }
        #expect(throws: DatabaseError.self) { try replica.write { try $0.execute("INSERT INTO t VALUES (4, 'y')") } }
        // A schema change on the writer reaches the replica.
        try db.execute("CREATE TABLE later(x INTEGER); INSERT INTO later VALUES (42)")
        #expect(try replica.waitFor(lsn: db.lastCommitLSN, timeout: 5))
        #expect(try replica.query("SELECT x FROM later").first?.values == [.integer(42)])
        // A replica far in the future times out.
        #expect(try replica.waitFor(lsn: db.lastCommitLSN + 1_000_000, timeout: 0.05) == false)
        try replica.close()
        try db.close()
    }

    @Test func replicasNeverSeeAHalfAppliedCommitUnderAConcurrentWriter() throws {
        let dir = TemporaryDirectory()
        let accounts = 200, total = Int64(accounts * 1000)
        let path = dir.database
        let db = try Database(path: path, options: smallOptions())
        try db.execute("CREATE TABLE account(id INTEGER PRIMARY KEY, balance INTEGER NOT NULL, note TEXT)")
        try db.write { db in
            for a in 0..<accounts { try db.execute("INSERT INTO account VALUES ($1, 1000, 'account number \(a)')", [.integer(Int64(a))]) }
        }
        // Small replica caches: most reads miss and rebuild pages at the snapshot while the
        // apply thread skips commits for pages it does not hold.
        let replicas = try (0..<2).map { _ in try db.openReplica(options: ReplicaOptions(cacheBytes: 64 << 10)) }
        let stop = Atomic<Bool>(false)
        let failures = Mutex<[String]>([])
        let transfers = Atomic<Int>(0), reads = Atomic<Int>(0)
        let group = DispatchGroup()
        for w in 0..<4 {
            group.enter()
            Thread {
                defer { group.leave() }
                do {
                    let c = try Database(path: path)
                    defer { try? c.close() }
                    var rng = SystemRandomNumberGenerator()
                    while !stop.load(ordering: .relaxed) {
                        let from = Int64.random(in: 0..<Int64(accounts), using: &rng), to = Int64.random(in: 0..<Int64(accounts), using: &rng)
                        let amount = Int64.random(in: 1...50, using: &rng)
                        do {
                            try c.write { c in
                                try c.execute("UPDATE account SET balance = balance - $1 WHERE id = $2", [.integer(amount), .integer(from)])
                                try c.execute("UPDATE account SET balance = balance + $1 WHERE id = $2", [.integer(amount), .integer(to)])
                            }
                            transfers.add(1, ordering: .relaxed)
                        } catch let error as DatabaseError where error.code == .busy || error.code == .serialization {
                            continue
                        }
                        _ = w
                    }
                } catch {
                    failures.withLock { $0.append("writer: \(error)") }
                }
            }.start()
        }
        for replica in replicas {
            group.enter()
            Thread {
                defer { group.leave() }
                do {
                    while !stop.load(ordering: .relaxed) {
                        let row = try replica.query("SELECT sum(balance), count(*) FROM account")[0].values
                        if row != [.integer(total), .integer(Int64(accounts))] {
                            failures.withLock { $0.append("replica saw \(row)") }
                        }
                        // Two queries in one snapshot agree with each other too.
                        try replica.read { r in
                            let a = try r.query("SELECT balance FROM account WHERE id = 7")[0].values
                            let b = try r.query("SELECT balance FROM account WHERE id BETWEEN 7 AND 7")[0].values
                            if a != b { failures.withLock { $0.append("one snapshot, two answers: \(a) \(b)") } }
                        }
                        reads.add(1, ordering: .relaxed)
                    }
                } catch {
                    failures.withLock { $0.append("replica: \(error)") }
                }
            }.start()
        }
        Thread.sleep(forTimeInterval: runSeconds)
        stop.store(true, ordering: .relaxed)
        group.wait()
        let seen = failures.withLock { $0 }
        #expect(seen.isEmpty, "\(seen.count) failures, first: \(seen.prefix(5))")
        #expect(transfers.load(ordering: .relaxed) > 0 && reads.load(ordering: .relaxed) > 0)
        // Caught up, every replica agrees with the writer row by row.
        let expected = try db.query("SELECT id, balance FROM account ORDER BY id").map(\.values)
        for replica in replicas {
            #expect(try replica.waitFor(lsn: db.engine.metrics.lastCommitLSN, timeout: 5))
            #expect(try replica.query("SELECT id, balance FROM account ORDER BY id").map(\.values) == expected)
            #expect(replica.replicaDetachedError == nil)
            try replica.close()
        }
        try db.close()
    }

    @Test func aPageBuiltWhileItsCommitIsSkippedIsNotCachedStale() throws {
        // The apply thread skips a commit for a page the replica does not hold; a read that
        // built that page from before the commit must not then cache it as current.
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database, options: smallOptions())
        try db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER)")
        try db.execute("INSERT INTO t VALUES (1, 10)")
        let txn = try db.engine.beginRead()
        let tablePage = try Catalog.load(txn).table("t").root
        try txn.commit()
        let replica = try db.openReplica()
        let engineReplica = try #require(replica.replicaForTesting)
        nonisolated(unsafe) var fired = false
        engineReplica.afterSharedRead = { page in
            guard page == tablePage, !fired else { return }
            fired = true
            // While the miss is in flight: a commit changes the page and the replica applies it.
            try? db.execute("UPDATE t SET v = 20 WHERE id = 1")
            _ = try? engineReplica.waitFor(db.lastCommitLSN, timeoutSeconds: 5)
        }
        #expect(try replica.query("SELECT v FROM t WHERE id = 1")[0].values == [.integer(10)])
        engineReplica.afterSharedRead = nil
        #expect(fired)
        #expect(try replica.query("SELECT v FROM t WHERE id = 1")[0].values == [.integer(20)])
        try replica.close()
        try db.close()
    }

    @Test func aCommitMadeDurableBeforeItReachesTheFeedIsNotSkipped() throws {
        // Another committer's flush can make a commit durable while its own thread has not yet
        // appended it to the replica feed; replicas told about that durable LSN must not move
        // their read point past the commit they have not seen.
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database, options: smallOptions())
        try db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER)")
        try db.execute("INSERT INTO t VALUES (1, 10)")
        let replica = try db.openReplica()
        // The replica caches the row's page.
        #expect(try replica.query("SELECT v FROM t WHERE id = 1")[0].values == [.integer(10)])
        let engine = db.engine
        nonisolated(unsafe) var fired = false
        engine.afterPublishForTesting = { lsn in
            guard !fired else { return }
            fired = true
            // As another committer would: flush the log past this commit and tell the replicas.
            try? engine.log.waitDurable(lsn)
            engine.replicaFeed.notify(engine.log.durableLSN)
        }
        try db.execute("UPDATE t SET v = 20 WHERE id = 1")
        engine.afterPublishForTesting = nil
        #expect(fired)
        #expect(try replica.waitFor(lsn: db.lastCommitLSN, timeout: 5))
        #expect(try replica.query("SELECT v FROM t WHERE id = 1")[0].values == [.integer(20)])
        try replica.close()
        try db.close()
    }

    @Test func aLongReplicaQueryNeitherStallsTheWriterNorGrowsTheLog() throws {
        let dir = TemporaryDirectory()
        var options = smallOptions()
        options.materializeIntervalMilliseconds = 20
        let db = try Database(path: dir.database, options: options)
        try db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
        try db.execute("INSERT INTO t VALUES (0, 'start')")
        let replica = try db.openReplica()
        var peakLog: UInt64 = 0
        try replica.read { r in
            #expect(try r.query("SELECT count(*) FROM t")[0].values == [.integer(1)])
            // 3,000 commits (several MB of log, past the soft cap) while the snapshot is held.
            for i in 1...3000 {
                try db.execute("INSERT INTO t VALUES ($1, $2)", [.integer(Int64(i)), .text(String(repeating: "x", count: 900))])
                if i % 100 == 0 { peakLog = max(peakLog, db.engine.metrics.unmaterializedBytes) }
            }
            // The replica's snapshot still answers as of its start.
            #expect(try r.query("SELECT count(*) FROM t")[0].values == [.integer(1)])
        }
        #expect(peakLog < UInt64(options.logHardCapBytes), "log peaked at \(peakLog)")
        #expect(try replica.waitFor(lsn: db.lastCommitLSN, timeout: 5))
        #expect(try replica.query("SELECT count(*) FROM t")[0].values == [.integer(3001)])
        try replica.close()
        try db.close()
    }

    @Test func aReplicaThatFallsTooFarBehindIsDetachedWithAClearError() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database, options: smallOptions())
        try db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
        // A limit smaller than one commit: the next commit leaves the replica behind by more.
        let replica = try db.openReplica(options: ReplicaOptions(maxLagBytes: 64))
        try db.execute("INSERT INTO t VALUES (1, $1)", [.text(String(repeating: "y", count: 2000))])
        do {
            _ = try replica.query("SELECT count(*) FROM t")
            Issue.record("a detached replica answered")
        } catch let error as DatabaseError {
            #expect(error.sqlState == "55000")
            #expect(error.message.contains("detached"))
        }
        #expect(replica.replicaDetachedError != nil)
        // The writer is unaffected and the materializer is not held back by it.
        try db.execute("INSERT INTO t VALUES (2, 'z')")
        try db.engine.materializeNow()
        #expect(db.engine.metrics.materializedLSN == db.engine.metrics.lastCommitLSN)
        try replica.close()
        try db.close()
    }

    @Test func promotionAfterTheWriterClosesMidLoadLosesNoCommit() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database, options: smallOptions())
        try db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
        let replica = try db.openReplica(options: ReplicaOptions(cacheBytes: 256 << 10))
        let returned = Mutex<[Int64]>([])
        let writer = Thread {
            for i in 1...100_000 {
                do {
                    try db.execute("INSERT INTO t VALUES ($1, 'row')", [.integer(Int64(i))])
                    returned.withLock { $0.append(Int64(i)) }
                } catch {
                    return // the connection was closed under the load
                }
            }
        }
        writer.start()
        Thread.sleep(forTimeInterval: min(runSeconds, 1.0) / 2)
        try db.close()
        Thread.sleep(forTimeInterval: 0.05)
        try replica.promote()
        #expect(!replica.isReplica && !replica.isReadOnly)
        let committed = returned.withLock { $0 }
        #expect(!committed.isEmpty)
        let ids = Set(try replica.query("SELECT id FROM t").map { row -> Int64 in
            if case .integer(let id) = row.values[0] { return id } else { return -1 }
        })
        #expect(committed.allSatisfy { ids.contains($0) }, "lost \(committed.filter { !ids.contains($0) }.prefix(5))")
        // The promoted connection writes.
        try replica.execute("INSERT INTO t VALUES (-1, 'after promotion')")
        #expect(try replica.query("SELECT v FROM t WHERE id = -1").first?.values == [.text("after promotion")])
        try replica.close()
        // Reopened from disk, everything is there.
        let reopened = try Database(path: dir.database)
        #expect(try reopened.query("SELECT count(*) FROM t")[0].values == [.integer(Int64(ids.count + 1))])
        try reopened.close()
    }

    @Test func theReaderEndpointRoutesToReplicasAndFallsBackToTheWriter() throws {
        let dir = TemporaryDirectory()
        let cluster = Cluster(writer: try Database(path: dir.database, options: smallOptions()))
        try cluster.writer.execute("CREATE TABLE t(id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1), (2)")
        // No replica yet: the writer answers.
        #expect(cluster.reader.connection === cluster.writer)
        #expect(try cluster.reader.query("SELECT count(*) FROM t")[0].values == [.integer(2)])
        let a = try cluster.addReplica(), b = try cluster.addReplica()
        #expect(cluster.replicas.count == 2)
        let routed = cluster.reader.connection
        #expect(routed === a || routed === b)
        #expect(routed.isReplica)
        _ = try routed.waitFor(lsn: cluster.writer.lastCommitLSN, timeout: 5)
        #expect(try cluster.reader.query("SELECT count(*) FROM t")[0].values == [.integer(2)])
        // A custom endpoint over one replica only goes there.
        let onlyB = cluster.endpoint(replicas: [b])
        for _ in 0..<5 { #expect(onlyB.connection === b) }
        // A detached or removed replica is skipped.
        try cluster.removeReplica(b)
        #expect(onlyB.connection === cluster.writer)
        #expect(cluster.reader.connection === a)
        try cluster.close()
    }

    @Test func promotionOverAFailedEngineReopensItAndKeepsEveryDurableCommit() throws {
        let fs = FaultInjectingFileSystem()
        var options = smallOptions(fs)
        options.backgroundMaterializer = false
        let db = try Database(path: "/replica-failover-db", options: options)
        try db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY)")
        for i in 1...20 { try db.execute("INSERT INTO t VALUES ($1)", [.integer(Int64(i))]) }
        let replica = try db.openReplica()
        fs.arm(.syncFailure(atSync: 1))
        #expect(throws: DatabaseError.self) { try db.execute("INSERT INTO t VALUES (21)") }
        // The replica never saw the commit whose fsync failed.
        #expect(try replica.query("SELECT count(*) FROM t")[0].values == [.integer(20)])
        // While the writer still holds the failed engine, promotion must refuse.
        #expect(throws: DatabaseError.self) { try replica.promote() }
        try? db.close()
        try replica.promote()
        // Every durable commit is there; the one whose fsync failed has an unknown outcome (its
        // log record may have reached the file, and recovery then replays it), as in PostgreSQL.
        let count = try replica.query("SELECT count(*) FROM t WHERE id <= 20")[0].values
        #expect(count == [.integer(20)])
        try replica.execute("INSERT INTO t VALUES (22)")
        #expect(try replica.query("SELECT count(*) FROM t WHERE id = 22")[0].values == [.integer(1)])
        try replica.close()
    }

    @Test func replicaLagStaysSmallUnderLoad() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database, options: smallOptions())
        try db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
        let replica = try db.openReplica()
        var lags: [UInt64] = []
        for i in 1...500 {
            try db.execute("INSERT INTO t VALUES ($1, 'v')", [.integer(Int64(i))])
            if i % 10 == 0 { lags.append(replica.replicaLag?.bytes ?? .max) }
        }
        #expect(try replica.waitFor(lsn: db.lastCommitLSN, timeout: 5))
        #expect(replica.replicaLag == ReplicaLag(bytes: 0, seconds: 0))
        // Never more than a few commits behind (each is well under 1 KiB of log).
        #expect(lags.max()! < 64 << 10, "lags \(lags.max()!)")
        try replica.close()
        try db.close()
    }
}
