// A database on a small file system (issue 19): log segments sized to the file system (an
// 8 MiB one could not hold a database: its first 16 MiB segment filled it), and a disk that
// fills, is freed, and the database carries on with every acknowledged commit. Runs on a tmpfs
// of its own, mounted for the test; where mounting is not allowed (not root) it says so and
// checks only the sizing rule.

import Foundation
import Testing
@testable import Borealis
@testable import BorealisStorage

@Suite(.serialized) struct SmallFileSystemTests {
    /// Mounts a tmpfs of `megabytes` at a new folder, runs `body` on it, unmounts.
    func withTmpfs(megabytes: Int, _ body: (String) throws -> Void) throws {
        let folder = temporaryPath("borealis-small-fs")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        guard run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", folder]) else {
            print("SmallFileSystemTests: cannot mount a tmpfs here (not root?): the file system part is skipped")
            return
        }
        defer { _ = run("/bin/umount", [folder]) }
        try body(folder)
    }

    func run(_ tool: String, _ arguments: [String]) -> Bool {
        guard FileManager.default.isExecutableFile(atPath: tool) else { return false }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    @Test func segmentsAreSizedToASmallFileSystem() {
        let options = StorageOptions()
        #expect(options.segmentCapacity(forFileSystemBytes: nil) == 16 << 20)
        #expect(options.segmentCapacity(forFileSystemBytes: 100 << 30) == 16 << 20)
        #expect(options.segmentCapacity(forFileSystemBytes: 8 << 20) == 256 << 10)
        #expect(options.segmentCapacity(forFileSystemBytes: 40 << 20) == 1280 << 10)
        #expect(options.segmentCapacity(forFileSystemBytes: 1 << 20) == 64 << 10)
        var big = StorageOptions()
        big.pageSize = 65536
        #expect(big.segmentCapacity(forFileSystemBytes: 1 << 20) == 4 * 65536 + 4096)
        #expect(PosixFileSystem().totalBytes(ofFileSystemAt: "/") ?? 0 > 0)
    }

    @Test func anEightMebibyteFileSystemHoldsADatabaseThatFillsItAndCarriesOnWhenFreed() throws {
        try withTmpfs(megabytes: 8) { folder in
            #expect(PosixFileSystem().totalBytes(ofFileSystemAt: folder) == 8 << 20)
            // Room the test gives back once the disk is full.
            let ballast = folder + "/ballast"
            #expect(FileManager.default.createFile(atPath: ballast, contents: Data(count: 2 << 20)))
            let path = folder + "/db"
            var committed = 0
            var fullError: DatabaseError?
            do {
                let db = try Database(path: path)
                defer { try? db.close() }
                try db.execute("CREATE TABLE t (id int PRIMARY KEY, b text)")
                for batch in 0..<400 {
                    do {
                        try db.execute("INSERT INTO t SELECT g, repeat('z', 2000) FROM generate_series(\(batch * 50 + 1), \(batch * 50 + 50)) AS g")
                        committed += 50
                    } catch let error as DatabaseError {
                        fullError = error
                        break
                    }
                }
                for name in try FileManager.default.contentsOfDirectory(atPath: path + "-log") {
                    let size = try #require(FileManager.default.attributesOfItem(atPath: path + "-log/" + name)[.size] as? Int)
                    #expect(size <= (256 << 10) + 4096, "\(name): \(size) bytes")
                }
            }
            // 400 × 50 rows of 2 KB do not fit in 8 MiB: the disk fills, with SQLSTATE 53100.
            let error = try #require(fullError)
            #expect(error.sqlState == "53100", "\(error)")
            #expect(committed > 0)
            try FileManager.default.removeItem(atPath: ballast)
            let db = try Database(path: path)
            defer { try? db.close() }
            #expect(try db.query("SELECT count(*) FROM t").first?[0] == .integer(Int64(committed)))
            try db.execute("DELETE FROM t WHERE id <= 10")
            try db.execute("INSERT INTO t VALUES (-1, 'after the disk was freed')")
            #expect(try db.query("SELECT count(*) FROM t").first?[0] == .integer(Int64(committed - 10 + 1)))
            #expect(try db.checkIntegrity().problems.isEmpty)
        }
    }
}
