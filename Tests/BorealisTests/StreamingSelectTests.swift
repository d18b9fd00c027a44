// A prepared SELECT streams (issue 15, item 5): its first step reads a few pages, not the whole
// table; the cursor reads its own snapshot whatever the connection, another connection or its
// own transaction block writes meanwhile; every way a cursor ends releases the snapshot; an
// error, an interrupt or a progress handler stops the step that meets it; closing the
// connection with cursors open neither crashes nor hangs. The C API streams through it.

import BorealisC
import Foundation
import Synchronization
import Testing
@testable import Borealis
@testable import BorealisSQL
@testable import BorealisStorage

@Suite struct StreamingSelectTests {
    /// A database holding `t(id INTEGER PRIMARY KEY, v TEXT)` with ids 1…`rows` (v spreads the
    /// rows over many pages).
    func table(rows: Int) throws -> (TemporaryDirectory, Database) {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database, options: Self.options)
        try db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
        try db.execute("""
            INSERT INTO t WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < \(rows))
            SELECT x, 'value of row ' || x FROM g
            """)
        return (dir, db)
    }

    static var options: StorageOptions {
        var options = StorageOptions()
        options.synchronous = .off
        return options
    }

    func ids(_ db: Database) throws -> [Int64] {
        try db.execute("SELECT id FROM t").rows.map { if case .integer(let i) = $0[0] { return i } else { return -1 } }
    }

    /// Steps `statement` to its end, returning the ids (column 0) of the rows.
    func drain(_ statement: PreparedStatement, first: [Value]? = nil) throws -> [Int64] {
        var seen: [Int64] = []
        if let first, case .integer(let i) = first[0] { seen.append(i) }
        while let row = try statement.step() {
            if case .integer(let i) = row[0] { seen.append(i) }
        }
        return seen
    }

    func liveSnapshots(_ db: Database) -> Int { db.engine.snapshots.count }

    /// A C connection to `path` with synchronous OFF, as the tests' Swift connections (two
    /// connections of a process must agree on it).
    func openC(_ path: String) -> OpaquePointer? {
        // borealis_options of the header (its C layout).
        struct COptions { var size = MemoryLayout<Int>.size * 4, cacheBytes: Int64 = 0, synchronous: Int32 = 1, busy: Int32 = 0, pageSize: Int32 = 0 }
        var options = COptions()
        var c: OpaquePointer?
        #expect(borealis_open_v2(path, &c, 0x02, &options) == 0)
        return c
    }

    @Test func theFirstStepOfABigSelectReadsAFewPagesNotTheTable() throws {
        let (dir, db) = try table(rows: 200_000)
        defer { withExtendedLifetime(dir) {} }
        var pages = 0
        db.setProgressHandler(every: 1) { pages += 1; return false }
        let select = try db.makeStatement("SELECT * FROM t")
        pages = 0
        let first = try select.step()
        #expect(first == [.integer(1), .text("value of row 1")])
        let firstStep = pages
        #expect(firstStep < 40, "the first step read \(firstStep) pages")
        var rows = 1
        while try select.step() != nil { rows += 1 }
        #expect(rows == 200_000)
        #expect(pages > 20 * firstStep, "the whole scan read \(pages) pages, the first step \(firstStep)")
        db.setProgressHandler(every: 1, nil)
    }

    @Test func aCursorKeepsItsSnapshotWhileItsOwnConnectionWrites() throws {
        let (dir, db) = try table(rows: 20_000)
        defer { withExtendedLifetime(dir) {} }
        let select = try db.makeStatement("SELECT id, v FROM t")
        let first = try select.step()
        #expect(first?.first == .integer(1))
        #expect(liveSnapshots(db) == 1) // the cursor's, open
        #expect(select.columnNames == ["id", "v"])
        #expect(select.declaredTypes == ["integer", "text"])
        // Autocommit writes that free, split and rewrite the pages the cursor is about to read.
        try db.execute("DELETE FROM t WHERE id > 100")
        try db.execute("INSERT INTO t VALUES (50000, 'new')")
        try db.execute("UPDATE t SET v = repeat('x', 500) WHERE id <= 100")
        // A transaction block opens and commits while the cursor is open.
        try db.execute("BEGIN")
        try db.execute("INSERT INTO t VALUES (50001, 'in a block')")
        try db.execute("COMMIT")
        #expect(try drain(select, first: first) == Array(1...20_000))
        #expect(select.changes == 0)
        #expect(try ids(db) == Array(1...100) + [50000, 50001])
    }

    @Test func aCursorKeepsItsSnapshotWhileAnotherConnectionWrites() throws {
        let (dir, db) = try table(rows: 20_000)
        defer { withExtendedLifetime(dir) {} }
        let other = try Database(path: dir.database, options: Self.options)
        let select = try db.makeStatement("SELECT id FROM t")
        let first = try select.step()
        #expect(liveSnapshots(db) == 1)
        try other.execute("DELETE FROM t WHERE id % 2 = 0")
        try other.execute("INSERT INTO t VALUES (90000, 'other')")
        #expect(try drain(select, first: first) == Array(1...20_000))
        #expect(try ids(db).count == 10_001)
        try other.close()
    }

    @Test func everyWayACursorEndsReleasesItsSnapshot() throws {
        let (dir, db) = try table(rows: 5_000)
        defer { withExtendedLifetime(dir) {} }
        #expect(liveSnapshots(db) == 0)
        let select = try db.makeStatement("SELECT id FROM t")

        _ = try select.step() // open…
        #expect(liveSnapshots(db) == 1)
        select.reset() // …reset
        #expect(liveSnapshots(db) == 0)

        _ = try select.step()
        #expect(liveSnapshots(db) == 1)
        #expect(try drain(select).count == 4_999) // exhausted
        #expect(liveSnapshots(db) == 0)
        #expect(try select.step() == nil) // done until reset
        select.reset()

        _ = try select.step()
        #expect(try select.execute().rows.count == 5_000) // re-executed whole
        #expect(liveSnapshots(db) == 0)
        select.reset()

        // A SELECT of one row ends at its first step (the step computes the next row ahead),
        // though the caller never steps it to the end.
        let single = try db.makeStatement("SELECT v FROM t WHERE id = 7")
        #expect(try single.step() == [.text("value of row 7")])
        #expect(liveSnapshots(db) == 0)
        #expect(try single.step() == nil)

        var dropped: PreparedStatement? = try db.makeStatement("SELECT id FROM t")
        _ = try dropped?.step()
        #expect(liveSnapshots(db) == 1)
        dropped = nil // deallocated
        #expect(liveSnapshots(db) == 0)

        let failing = try db.makeStatement("SELECT 1 / (id - 3000) FROM t")
        #expect { while try failing.step() != nil {} } throws: { ($0 as? DatabaseError)?.sqlState == "22012" }
        #expect(liveSnapshots(db) == 0) // failed

        _ = try select.step()
        #expect(liveSnapshots(db) == 1)
        try db.close() // closed
        #expect(liveSnapshots(db) == 0)
        #expect { _ = try select.step() } throws: { ($0 as? DatabaseError)?.code == .misuse }
        select.reset()
    }

    @Test func anErrorMidStreamComesOutOfTheStepThatReachesIt() throws {
        let (dir, db) = try table(rows: 10)
        defer { withExtendedLifetime(dir) {} }
        let select = try db.makeStatement("SELECT id, 1 / (id - 5) FROM t")
        for id in 1...4 {
            #expect(try select.step() == [.integer(Int64(id)), .integer(Int64(1 / (id - 5)))])
        }
        #expect { _ = try select.step() } throws: { error in
            guard let error = error as? DatabaseError else { return false }
            return error.sqlState == "22012" && error.sql == "SELECT id, 1 / (id - 5) FROM t"
        }
        #expect(try select.step() == nil) // the statement is done
        select.reset()
        #expect(try select.step()?.first == .integer(1)) // and runs again once reset
        select.reset()
        // Inside a transaction block the error fails the block, as any failed statement does.
        try db.execute("BEGIN")
        for _ in 1...4 { _ = try select.step() }
        #expect(throws: DatabaseError.self) { _ = try select.step() }
        #expect { try db.execute("SELECT 1") } throws: { ($0 as? DatabaseError)?.sqlState == "25P02" }
        try db.execute("ROLLBACK")
    }

    /// PostgreSQL: a cursor sees the transaction's state when it was opened, not later changes.
    @Test func aCursorInsideAReadWriteBlockSeesTheBlockAsItWasWhenItOpened() throws {
        let (dir, db) = try table(rows: 20_000)
        defer { withExtendedLifetime(dir) {} }
        // The block has not written: the cursor reads the block's snapshot on its own.
        try db.execute("BEGIN")
        let select = try db.makeStatement("SELECT id FROM t")
        let first = try select.step()
        #expect(liveSnapshots(db) == 2) // the block's and the cursor's registration of it
        try db.execute("DELETE FROM t WHERE id > 10")
        #expect(liveSnapshots(db) == 1) // the block is the writer now
        try db.execute("INSERT INTO t VALUES (70000, 'mine')")
        #expect(try drain(select, first: first) == Array(1...20_000))
        #expect(try ids(db) == Array(1...10) + [70000])
        select.reset()
        // The block has written: the SELECT runs whole at its first step (it would otherwise
        // read pages the block goes on changing); later writes of the block do not reach it.
        let second = try select.step()
        #expect(liveSnapshots(db) == 0)
        try db.execute("DELETE FROM t")
        try db.execute("INSERT INTO t VALUES (1, 'again')")
        #expect(try drain(select, first: second) == Array(1...10) + [70000])
        try db.execute("COMMIT")
        #expect(try ids(db) == [1])
    }

    @Test func aCursorOpenedInAReadOnlyBlockOutlivesTheBlock() throws {
        let (dir, db) = try table(rows: 5_000)
        defer { withExtendedLifetime(dir) {} }
        try db.execute("BEGIN READ ONLY")
        let select = try db.makeStatement("SELECT id FROM t")
        let first = try select.step()
        try db.execute("COMMIT")
        try db.execute("DELETE FROM t WHERE id > 1")
        #expect(liveSnapshots(db) == 1)
        #expect(try drain(select, first: first) == Array(1...5_000))
        #expect(liveSnapshots(db) == 0)

        let inRead = try db.read { db in
            let s = try db.makeStatement("SELECT id FROM t")
            _ = try s.step()
            return s
        }
        #expect(try inRead.step() == nil) // one row left after the DELETE: read in the closure
        #expect(liveSnapshots(db) == 0)
    }

    @Test func interruptAndTheProgressHandlerStopALaterStep() throws {
        let (dir, db) = try table(rows: 20_000)
        defer { withExtendedLifetime(dir) {} }
        let select = try db.makeStatement("SELECT id, v FROM t")
        _ = try select.step()
        db.interrupt() // between steps: the open cursor counts as a running statement
        #expect {
            while try select.step() != nil {}
        } throws: { ($0 as? DatabaseError)?.sqlState == "57014" }
        #expect(liveSnapshots(db) == 0)
        #expect(try db.execute("SELECT count(*) FROM t").rows == [[.integer(20_000)]]) // the interrupt is over

        select.reset()
        var stop = false
        var calls = 0
        db.setProgressHandler(every: 1) { calls += 1; return stop }
        _ = try select.step()
        stop = true
        var rows = 1
        #expect {
            while try select.step() != nil { rows += 1 }
        } throws: { ($0 as? DatabaseError)?.sqlState == "57014" }
        #expect(rows < 20_000 && calls > 0)
        db.setProgressHandler(every: 1, nil)
        #expect(liveSnapshots(db) == 0)
    }

    /// Steps, writes and interrupts from three threads on one connection: each step runs under
    /// the connection's lock, each cursor reads its snapshot, nothing crashes or hangs.
    @Test func cursorsSteppedWhileOtherThreadsWriteAndInterruptTheConnection() throws {
        let (dir, db) = try table(rows: 20_000)
        defer { withExtendedLifetime(dir) {} }
        let stopWriting = Atomic<Bool>(false), stopInterrupting = Atomic<Bool>(false)
        let finished = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            var next: Int64 = 100_000
            while !stopWriting.load(ordering: .relaxed) {
                next += 1
                _ = try? db.execute("INSERT INTO t VALUES ($1, 'racing')", [.integer(next)])
                _ = try? db.execute("DELETE FROM t WHERE id = $1", [.integer(next - 1)])
            }
            finished.signal()
        }
        Thread.detachNewThread {
            while !stopInterrupting.load(ordering: .relaxed) {
                db.interrupt()
                usleep(5_000)
            }
            finished.signal()
        }
        /// Steps a scan to its end: the 20,000 rows, then racing rows (a pair of writes may
        /// have been interrupted half way), each once, in order.
        func scan() throws {
            let ids = try drain(try db.makeStatement("SELECT id FROM t"))
            let racing = ids.dropFirst(20_000)
            #expect(Array(ids.prefix(20_000)) == Array(1...20_000))
            #expect(racing.allSatisfy { $0 > 100_000 } && zip(racing, racing.dropFirst()).allSatisfy { $0 < $1 })
        }
        var interrupted = 0
        for _ in 0..<10 {
            do { try scan() } catch let error as DatabaseError where error.sqlState == "57014" { interrupted += 1 }
        }
        stopInterrupting.store(true, ordering: .relaxed)
        finished.wait()
        // The last interrupt is dropped once the connection is idle for a moment.
        while (try? db.execute("SELECT 1")) == nil {}
        for _ in 0..<5 { try scan() }
        stopWriting.store(true, ordering: .relaxed)
        finished.wait()
        #expect(interrupted > 0)
        #expect(liveSnapshots(db) == 0)
    }

    @Test func aReplicaCursorKeepsItsSnapshotAndPromotionWaitsForIt() throws {
        let (dir, db) = try table(rows: 5_000)
        defer { withExtendedLifetime(dir) {} }
        let replica = try db.openReplica()
        #expect(try replica.waitFor(lsn: db.lastCommitLSN, timeout: 5))
        let select = try replica.makeStatement("SELECT id FROM t")
        let first = try select.step()
        // In a READ ONLY block of the replica: the cursor shares the block's snapshot and
        // outlives it.
        try replica.execute("BEGIN READ ONLY")
        let inBlock = try replica.makeStatement("SELECT id FROM t WHERE id > 4990")
        let firstInBlock = try inBlock.step()
        try replica.execute("COMMIT")
        try db.execute("DELETE FROM t WHERE id > 10")
        #expect(try replica.waitFor(lsn: db.lastCommitLSN, timeout: 5))
        #expect(try replica.execute("SELECT count(*) FROM t").rows == [[.integer(10)]])
        #expect(try drain(inBlock, first: firstInBlock) == Array(4991...5_000))
        #expect(try select.step() == [.integer(2)])
        try db.close()
        #expect { try replica.promote() } throws: { ($0 as? DatabaseError)?.code == .misuse }
        #expect(first == [.integer(1)])
        #expect(try drain(select) == Array(3...5_000))
        try replica.promote()
        #expect(try replica.execute("SELECT count(*) FROM t").rows == [[.integer(10)]])
        try replica.close()
    }

    @Test func cStepStreamsABigSelectAndFinalizesEarly() throws {
        let (dir, db) = try table(rows: 30_000)
        defer { withExtendedLifetime(dir) {} }
        let c = openC(dir.database)
        defer { _ = borealis_close(c) }
        var s: OpaquePointer?
        #expect(borealis_prepare(c, "SELECT id, v FROM t", -1, &s, nil) == 0)
        for id in 1...10 {
            #expect(borealis_step(s) == 100)
            #expect(borealis_column_int64(s, 0) == Int64(id))
        }
        #expect(liveSnapshots(db) == 1)
        #expect(borealis_exec(c, "DELETE FROM t WHERE id > 5", nil, nil, nil) == 0) // a write between steps
        #expect(borealis_step(s) == 100)
        #expect(borealis_column_int64(s, 0) == 11)
        #expect(borealis_finalize(s) == 0) // early: the snapshot ends
        #expect(liveSnapshots(db) == 0)
        #expect(try db.execute("SELECT count(*) FROM t").rows == [[.integer(5)]])

        // borealis_exec whose callback stops at the third row.
        try db.execute("INSERT INTO t SELECT id + 100, v FROM t")
        let stopAtThree: @convention(c) (UnsafeMutableRawPointer?, Int32, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                                         UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 = { context, _, _, _ in
            let count = context!.assumingMemoryBound(to: Int.self)
            count.pointee += 1
            return count.pointee >= 3 ? 1 : 0
        }
        var seen = 0
        #expect(borealis_exec(c, "SELECT id FROM t", stopAtThree, &seen, nil) != 0)
        #expect(seen == 3)
        #expect(liveSnapshots(db) == 0)

        // Closing the C connection with a statement mid-stream finalizes it.
        let d = openC(dir.database)
        var open: OpaquePointer?
        #expect(borealis_prepare(d, "SELECT id FROM t", -1, &open, nil) == 0)
        #expect(borealis_step(open) == 100)
        #expect(liveSnapshots(db) == 1)
        #expect(borealis_close(d) == 0)
        #expect(liveSnapshots(db) == 0)
    }

    /// `nextRows` (the C API's way through a result, a block at a time) and `step` hand out the
    /// same rows in the same order, mixed in any way, from a cursor and from a result computed
    /// whole; an error mid-stream comes out after the rows before it.
    @Test func stepAndNextRowsHandOutTheSameRowsInOrder() throws {
        let (dir, db) = try table(rows: 300)
        defer { withExtendedLifetime(dir) {} }
        func collect(_ statement: PreparedStatement, stepsBetweenBlocks: Int) throws -> [[Value]] {
            var rows: [[Value]] = []
            while true {
                for _ in 0..<stepsBetweenBlocks {
                    if let row = try statement.step() { rows.append(row) }
                }
                guard let block = try statement.nextRows() else { break }
                #expect(block.count >= 1 && block.count <= Database.cursorBatch.rows + 1)
                for i in 0..<block.count { rows.append(block.row(i)) }
            }
            #expect(try statement.step() == nil)
            #expect(try statement.nextRows() == nil)
            return rows
        }
        let expected = (1...300).map { [Value.integer(Int64($0)), .text("value of row \($0)")] }
        let select = try db.makeStatement("SELECT id, v FROM t")
        for steps in [0, 1, 3, 70] {
            select.reset()
            #expect(try collect(select, stepsBetweenBlocks: steps) == expected)
        }
        // A result computed whole (INSERT … RETURNING) is handed out in blocks as well.
        let insert = try db.makeStatement("INSERT INTO t SELECT id + 1000, v FROM t WHERE id <= 150 RETURNING id")
        #expect(try collect(insert, stepsBetweenBlocks: 2) == (1001...1150).map { [.integer(Int64($0))] })
        // An error: the rows before it, then the error, then nothing.
        let failing = try db.makeStatement("SELECT id, 1 / (id - 100) FROM t")
        var ids: [Int64] = []
        #expect { while let block = try failing.nextRows() { for i in 0..<block.count { if case .integer(let id) = block.value(row: i, column: 0) { ids.append(id) } } } } throws: { error in
            (error as? DatabaseError)?.sqlState == "22012"
        }
        #expect(ids == Array(1...99))
        #expect(try failing.nextRows() == nil)
    }

    /// Stepping through blocks from C: every row and column across block boundaries, a reset or
    /// a new binding in the middle of a block starts over, a row's values are gone after DONE,
    /// and an error mid-stream ends the rows before it with its SQLSTATE.
    @Test func cStepsAcrossBlocksAndStartsOverOnResetOrBind() throws {
        let (dir, db) = try table(rows: 300)
        defer { withExtendedLifetime(dir) {} }
        let c = openC(dir.database)
        defer { _ = borealis_close(c) }
        var s: OpaquePointer?
        #expect(borealis_prepare(c, "SELECT id, v FROM t WHERE id >= $1", -1, &s, nil) == 0)
        defer { _ = borealis_finalize(s) }
        func stepRows(_ count: Int, from first: Int64) {
            for id in first..<first + Int64(count) {
                #expect(borealis_step(s) == 100)
                #expect(borealis_column_count(s) == 2)
                #expect(borealis_column_int64(s, 0) == id)
                #expect(borealis_column_text(s, 1).map { String(cString: $0) } == "value of row \(id)")
                #expect(borealis_column_bytes(s, 1) == Int32("value of row \(id)".utf8.count))
                #expect(borealis_column_int64(s, 2) == 0) // out of range
            }
        }
        #expect(borealis_bind_int64(s, 1, 1) == 0)
        stepRows(70, from: 1)
        #expect(borealis_reset(s) == 0)
        stepRows(5, from: 1)
        #expect(borealis_bind_int64(s, 1, 200) == 0) // a new binding mid-block starts over
        stepRows(101, from: 200)
        #expect(borealis_step(s) == 101)
        #expect(borealis_column_int64(s, 0) == 0)
        #expect(borealis_column_count(s) == 2)
        #expect(borealis_step(s) == 21) // MISUSE until reset

        var failing: OpaquePointer?
        #expect(borealis_prepare(c, "SELECT 1 / (id - 100) FROM t", -1, &failing, nil) == 0)
        defer { _ = borealis_finalize(failing) }
        var rows = 0
        var code: Int32 = 0
        repeat {
            code = borealis_step(failing)
            if code == 100 { rows += 1 }
        } while code == 100
        #expect(rows == 99)
        #expect(code == 1)
        #expect(borealis_sqlstate(c).map { String(cString: $0) } == "22012")
        _ = db
    }

    /// A batch of large rows stops at the cursor's byte limit (256 KiB) before its 65th row:
    /// the rows after it must still come, and the cursor must end when they are done. Before,
    /// the step after such a batch reported the end: 1,000 rows of 10 kB read as 29, and the
    /// cursor kept its snapshot until the connection closed.
    @Test func largeRowsStreamToTheEndPastTheBatchByteLimit() throws {
        let dir = TemporaryDirectory()
        defer { withExtendedLifetime(dir) {} }
        let db = try Database(path: dir.database, options: Self.options)
        try db.execute("CREATE TABLE big(id INTEGER PRIMARY KEY, v TEXT)")
        try db.execute("INSERT INTO big SELECT g, repeat('x', 10000) || g FROM generate_series(1, 1000) AS g")
        let select = try db.makeStatement("SELECT id, v FROM big")
        var ids: [Int64] = []
        while let row = try select.step() {
            if case .integer(let id) = row[0] { ids.append(id) }
            #expect(row[1] == .text(String(repeating: "x", count: 10000) + String(ids.count)))
        }
        #expect(ids == Array(1...1000))
        #expect(liveSnapshots(db) == 0)
        var blocks = 0, rows = 0
        select.reset()
        while let block = try select.nextRows() {
            blocks += 1
            rows += block.count
        }
        // 27 rows of 10 kB reach the 256 KiB limit: 38 blocks (17 if the limit were not applied).
        #expect(rows == 1000 && blocks > 30)
        #expect(liveSnapshots(db) == 0)

        let c = openC(dir.database)
        defer { _ = borealis_close(c) }
        var s: OpaquePointer?
        #expect(borealis_prepare(c, "SELECT id, v FROM big", -1, &s, nil) == 0)
        defer { _ = borealis_finalize(s) }
        var stepped = 0
        while borealis_step(s) == 100 {
            stepped += 1
            #expect(borealis_column_int64(s, 0) == Int64(stepped))
            #expect(borealis_column_bytes(s, 1) == Int32(10000 + String(stepped).utf8.count))
        }
        #expect(stepped == 1000)
        #expect(liveSnapshots(db) == 0)
    }
}
