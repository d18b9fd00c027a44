// The shell's history commands run as a process (docs/backup.md §7's worked example):
// `.backup`, `.restore`, `.check`, `borealis check DB` and `borealis check-backup FILE`, with
// their exit statuses on sound and damaged input.

import Foundation
import Testing
@testable import Borealis
@testable import BorealisSQL
@testable import BorealisStorage

@Suite struct ShellBackupTests {
    @Test func theWorkedExampleRunsAsDocumented() throws {
        let dir = TemporaryDirectory()
        var run = try ShellTests.shell(["shop.db", "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a')"], in: dir.path)
        #expect(run.status == 0)
        run = try ShellTests.shell(["shop.db", ".backup shop.bbk"], in: dir.path)
        #expect(run.status == 0, "\(run.err)")
        #expect(run.out.hasPrefix("backup shop.bbk: LSN "))
        run = try ShellTests.shell(["check-backup", "shop.bbk"], in: dir.path)
        #expect(run.status == 0, "\(run.err)")
        #expect(run.out.hasPrefix("backup shop.bbk: ok (LSN "))
        run = try ShellTests.shell(["shop.db", ".restore shop.bbk shop-copy.db"], in: dir.path)
        #expect(run.status == 0, "\(run.err)")
        run = try ShellTests.shell(["check", "shop-copy.db"], in: dir.path)
        #expect(run.status == 0, "\(run.err)")
        #expect(run.out.hasPrefix("ok: "))
        #expect(run.out.contains("1 rows"))
        run = try ShellTests.shell(["shop-copy.db", "SELECT v FROM t"], in: dir.path)
        #expect(run.out.contains("a"))
        // Again over an existing file: refused, exit status 1.
        run = try ShellTests.shell(["shop.db", ".backup shop.bbk"], in: dir.path)
        #expect(run.status == 1)
        #expect(run.err.contains("58P02"))
        run = try ShellTests.shell(["shop.db", ".restore shop.bbk shop.db"], in: dir.path)
        #expect(run.status == 1)
        #expect(run.err.contains("58P02"))
        // Usage errors.
        run = try ShellTests.shell(["shop.db", ".restore shop.bbk"], in: dir.path)
        #expect(run.status == 1)
        #expect(run.err.contains("usage: .restore [--to TIME | --lsn N | --latest] [BACKUP] NEWPATH"))
    }

    @Test func checkFailsOnADamagedDatabaseAndBackup() throws {
        let dir = TemporaryDirectory()
        let db = try Database(path: dir.database)
        try db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
        try db.execute("CREATE INDEX t_v ON t(v)")
        try db.write { db in for i in 0..<500 { try db.execute("INSERT INTO t VALUES ($1, 'x')", [.integer(Int64(i))]) } }
        let txn = try db.engine.beginRead()
        let root = try #require(try Catalog.load(txn).indexes["t_v"]).root
        txn.rollback()
        try db.backup(to: dir.path + "/b.bbk")
        try db.close()
        var run = try ShellTests.shell(["check", dir.database])
        #expect(run.status == 0, "\(run.out)\(run.err)")
        try Data().write(to: URL(fileURLWithPath: dir.database + "-dwb"))
        let handle = try #require(FileHandle(forUpdatingAtPath: dir.database))
        try handle.seek(toOffset: root * 4096 + 60)
        try handle.write(contentsOf: [0xAB, 0xCD])
        try handle.close()
        run = try ShellTests.shell(["check", dir.database])
        #expect(run.status == 1)
        #expect(run.out.contains("pageChecksum [page file] page \(root)"))
        run = try ShellTests.shell([dir.database, ".check"])
        #expect(run.status == 1)
        #expect(run.err.contains("the integrity check found"))

        let backup = try Data(contentsOf: URL(fileURLWithPath: dir.path + "/b.bbk"))
        try backup.prefix(backup.count - 7).write(to: URL(fileURLWithPath: dir.path + "/cut.bbk"))
        run = try ShellTests.shell(["check-backup", dir.path + "/cut.bbk"])
        #expect(run.status == 1)
        #expect(run.err.contains("no valid manifest"))
        #expect(run.err.contains("XX001"))
    }
}

@Suite struct ShellPointInTimeTests {
    @Test func restoreToATimeAnLSNOrTheLatestCommit() throws {
        let dir = TemporaryDirectory()
        var run = try ShellTests.shell(["db", "CREATE TABLE t(id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1)"], in: dir.path)
        #expect(run.status == 0)
        run = try ShellTests.shell(["db", ".backup b.bbk"], in: dir.path)
        #expect(run.status == 0, "\(run.err)")
        run = try ShellTests.shell(["db", "INSERT INTO t VALUES (2)"], in: dir.path)
        usleep(20_000)
        let between = BackupFile.timeText(wallClockMicroseconds()).replacingOccurrences(of: " UTC", with: "")
        usleep(20_000)
        run = try ShellTests.shell(["db", "INSERT INTO t VALUES (3)"], in: dir.path)
        #expect(run.status == 0)

        run = try ShellTests.shell(["db", ".restore --to '\(between)' b.bbk at-time.db"], in: dir.path)
        #expect(run.status == 0, "\(run.err)")
        #expect(run.out.contains("and 1 commits of db's log into at-time.db"), "\(run.out)")
        run = try ShellTests.shell(["-list", "-noheader", "at-time.db", "SELECT count(*) FROM t"], in: dir.path)
        #expect(run.out == "2\n")
        run = try ShellTests.shell(["db", ".restore --latest b.bbk latest.db"], in: dir.path)
        #expect(run.status == 0, "\(run.err)")
        run = try ShellTests.shell(["-list", "-noheader", "latest.db", "SELECT count(*) FROM t"], in: dir.path)
        #expect(run.out == "3\n")
        run = try ShellTests.shell(["check", "latest.db"], in: dir.path)
        #expect(run.status == 0)
        run = try ShellTests.shell(["db", ".restore --lsn 1 b.bbk early.db"], in: dir.path)
        #expect(run.status == 1)
        #expect(run.err.contains("outside the available window, from LSN"))
        #expect(run.err.contains("22023"))
        run = try ShellTests.shell(["db", ".restore --to yesterday b.bbk x.db"], in: dir.path)
        #expect(run.status == 1)
        #expect(run.err.contains("--to needs a time"))
    }
}
