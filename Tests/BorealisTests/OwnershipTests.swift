// One owner per database (docs/storage.md §1): a second open of the files — from another
// process, or from this one bypassing the connection registry — is refused with BUSY naming the
// holder, at once or after the busy timeout, and gets the database once the owner has gone.

import Foundation
import Testing
@testable import Borealis
@testable import BorealisSQL
@testable import BorealisStorage

@Suite struct OwnershipTests {
    func options(timeout: Int) -> StorageOptions {
        var options = smallOptions()
        options.busyTimeoutMilliseconds = timeout
        return options
    }

    @Test func aSecondEngineOnTheSameFilesIsRefusedWithTheHoldersPID() throws {
        let dir = TemporaryDirectory()
        let owner = try StorageEngine(path: dir.database, options: options(timeout: 0))
        let started = ContinuousClock.now
        #expect {
            _ = try StorageEngine(path: dir.database, options: options(timeout: 0))
        } throws: { error in
            guard let error = error as? DatabaseError else { return false }
            return error.code == .busy && error.sqlState == "55P03" && error.message.contains("pid \(getpid())")
        }
        #expect(ContinuousClock.now - started < .seconds(1))
        try owner.close()
        try StorageEngine(path: dir.database, options: options(timeout: 0)).close()
    }

    @Test func aWaitingOpenGetsTheDatabaseOnceTheOwnerCloses() throws {
        let dir = TemporaryDirectory()
        let owner = try StorageEngine(path: dir.database, options: options(timeout: 0))
        let closer = Thread { usleep(200_000); try? owner.close() }
        closer.start()
        let started = ContinuousClock.now
        let second = try StorageEngine(path: dir.database, options: options(timeout: 10_000))
        #expect(ContinuousClock.now - started >= .milliseconds(150))
        try second.close()
    }

    @Test func aWaitingOpenGivesUpAfterTheBusyTimeout() throws {
        let dir = TemporaryDirectory()
        let owner = try StorageEngine(path: dir.database, options: options(timeout: 0))
        defer { try? owner.close() }
        let started = ContinuousClock.now
        #expect(throws: DatabaseError.self) { _ = try StorageEngine(path: dir.database, options: options(timeout: 300)) }
        let waited = ContinuousClock.now - started
        #expect(waited >= .milliseconds(300) && waited < .seconds(5))
    }

    @Test func connectionsOfOneProcessShareTheOwnership() throws {
        let dir = TemporaryDirectory()
        let a = try Database(path: dir.database)
        let b = try Database(path: dir.database)
        try a.execute("CREATE TABLE t(x INTEGER)")
        try b.execute("INSERT INTO t VALUES (1)")
        #expect(try a.query("SELECT count(*) FROM t").first?.get(0) == Value.integer(1))
        try a.close()
        try b.close()
    }

    @Test func aReadOnlyOpenOfAMissingDatabaseCreatesNothing() throws {
        let dir = TemporaryDirectory()
        #expect {
            _ = try Database(path: dir.database, readOnly: true)
        } throws: { error in
            (error as? DatabaseError)?.sqlState == "58P01"
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    /// A real second process: the `borealis` shell, built beside this test bundle, holds the
    /// database while it waits on its standard input.
    @Test func anOpenFromAnotherProcessIsRefusedNamingItsPID() throws {
        let dir = TemporaryDirectory()
        try Database(path: dir.database).close()
        let (child, input) = try ShellTests.holder(of: dir.database)
        defer { if child.isRunning { child.terminate() } }
        // Until the child has opened the database, an open here may still succeed.
        var refusal: DatabaseError?
        let deadline = ContinuousClock.now + .seconds(20)
        while refusal == nil && ContinuousClock.now < deadline {
            do {
                try Database(path: dir.database, options: options(timeout: 0), readOnly: true).close()
                usleep(20_000)
            } catch let error as DatabaseError {
                refusal = error
            }
        }
        let error = try #require(refusal)
        #expect(error.code == .busy)
        #expect(error.message.contains("process \(child.processIdentifier)"))
        try input.fileHandleForWriting.close()
        child.waitUntilExit()
        // Once the other process has gone, the database is ours again, intact.
        let db = try Database(path: dir.database, options: options(timeout: 0))
        #expect(try db.query("SELECT 1").count == 1)
        try db.close()
    }

    /// An open that waits for another owner of its file must not hold up opens of other files
    /// (the registry used to hold its lock for the whole wait), and a second open of the same
    /// file waits for the first one's engine instead of making its own.
    @Test func anOpenWaitingForItsFileDoesNotHoldUpOtherFiles() throws {
        let dir = TemporaryDirectory()
        let busyFile = dir.path + "/busy.db"
        let owner = try StorageEngine(path: busyFile, options: options(timeout: 0)) // behind the registry's back
        let waiting = options(timeout: 3000)
        let waiter = Thread { _ = try? Database(path: busyFile, options: waiting) }
        waiter.start()
        usleep(200_000)
        let started = ContinuousClock.now
        let other = try Database(path: dir.path + "/other.db")
        #expect(ContinuousClock.now - started < .seconds(1))
        try other.close()
        try owner.close()
        while !waiter.isFinished { usleep(10_000) }
        // Two connections opening one file at once share one engine.
        let pair = Locked<[Database]>([])
        let shared = dir.database
        let openers = (0..<2).map { _ in Thread { if let db = try? Database(path: shared) { pair.withLock { $0.append(db) } } } }
        openers.forEach { $0.start() }
        while openers.contains(where: { !$0.isFinished }) { usleep(1000) }
        let both = pair.withLock { $0 }
        #expect(both.count == 2)
        if both.count == 2 { #expect(both[0].engine === both[1].engine) }
        try both.forEach { try $0.close() }
    }

    /// Without a thread to give (pthread_create failing with EAGAIN), an open fails with 53000
    /// and leaves the database closed and unlocked; it used to stop the process.
    @Test func anOpenWithoutAThreadToSpareFailsInsteadOfStoppingTheProcess() throws {
        let dir = TemporaryDirectory()
        var starved = options(timeout: 0)
        starved.threadStartFailsForTesting = true
        #expect {
            _ = try Database(path: dir.database, options: starved)
        } throws: { ($0 as? DatabaseError)?.sqlState == "53000" }
        // Nothing stays open or locked.
        let db = try Database(path: dir.database, options: options(timeout: 0))
        try db.execute("CREATE TABLE t(x INTEGER)")
        var starvedReplica = ReplicaOptions()
        starvedReplica.threadStartFailsForTesting = true
        #expect(throws: DatabaseError.self) { _ = try db.openReplica(options: starvedReplica) }
        let replica = try db.openReplica()
        try db.execute("INSERT INTO t VALUES (1)")
        #expect(try replica.waitFor(lsn: db.lastCommitLSN, timeout: 5))
        try replica.close()
        try db.close()
    }

    /// A replica of a database opened with synchronous = off attaches (it used to ask the
    /// registry for the default settings, which the file's must equal).
    @Test func aReplicaOfAnUnsyncedDatabaseAttaches() throws {
        let dir = TemporaryDirectory()
        var off = StorageOptions()
        off.synchronous = .off
        let db = try Database(path: dir.database, options: off)
        try db.execute("CREATE TABLE t(x INTEGER); INSERT INTO t VALUES (1)")
        let replica = try db.openReplica()
        #expect(try replica.waitFor(lsn: db.lastCommitLSN, timeout: 5))
        try replica.close()
        try db.close()
    }
}
