// Crash safety of backup and restore (docs/backup.md §2, §3), on the fault-injecting file
// system: the machine stops at every I/O operation of a backup, and of a restore, in turn;
// after the crash (unsynced writes kept, dropped or torn at random) a file named as the backup
// is always a complete, verifying backup, and a database at the restore's path always opens
// whole and sound. Nothing partial is ever taken for complete.

import Foundation
import Testing
@testable import Borealis
@testable import BorealisSQL
@testable import BorealisStorage

@Suite(.serialized) struct BackupCrashTests {
    private static let rows: Int64 = 400

    /// A closed, durable database at /db holding `rows` rows in a table at root slot 1, and
    /// the options to open it with.
    private func database(_ fs: FaultInjectingFileSystem) throws -> StorageOptions {
        var options = smallOptions(fs)
        options.backgroundMaterializer = false
        let engine = try StorageEngine(path: "/db", options: options)
        let txn = try engine.beginWrite()
        let table = try TableTree.create(in: txn)
        try txn.setRoot(slot: 1, to: table.root)
        for i in 0..<Self.rows { try table.put(i, [UInt8](repeating: UInt8(i & 0xff), count: 300), in: txn) }
        _ = try txn.commit()
        try engine.close()
        return options
    }

    private func expectWhole(_ fs: FaultInjectingFileSystem, _ options: StorageOptions, at path: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let engine = try StorageEngine(path: path, options: options)
        defer { try? engine.close() }
        let reader = try engine.beginRead()
        defer { reader.rollback() }
        let table = TableTree(root: try reader.root(slot: 1))
        for i in [0, Self.rows / 2, Self.rows - 1] {
            #expect(try table.get(i, in: reader) == [UInt8](repeating: UInt8(i & 0xff), count: 300), sourceLocation: sourceLocation)
        }
        let reports = try reader.checkIntegrity(trees: [table.tree])
        #expect(reports.first?.entries == Int(Self.rows), sourceLocation: sourceLocation)
    }

    @Test func aCrashAtAnyPointOfABackupNeverLeavesAPartialBackupUnderItsName() throws {
        let clean = FaultInjectingFileSystem()
        let options = try database(clean)
        let engine = try StorageEngine(path: "/db", options: options)
        clean.arm(nil)
        _ = try engine.backup(to: "/b.bbk")
        let operations = clean.operationCount
        try engine.close()
        #expect(operations >= 6)
        var complete = 0
        for at in 1...(operations + 1) {
            let fs = FaultInjectingFileSystem()
            let options = try database(fs)
            let engine = try StorageEngine(path: "/db", options: options)
            fs.arm(.crash(atOperation: at))
            let returned = (try? engine.backup(to: "/b.bbk")) != nil
            engine.abandonForTesting()
            fs.crash(seed: UInt64(at))
            fs.arm(nil)
            if returned { #expect(fs.exists("/b.bbk"), "a backup that returned must survive (operation \(at))") }
            if fs.exists("/b.bbk") {
                complete += 1
                let manifest = try BackupFile.verify(at: "/b.bbk", fileSystem: fs)
                #expect(manifest.pageCount > 2)
            }
            // The database itself is untouched, and a new backup succeeds.
            let again = try StorageEngine(path: "/db", options: options)
            if fs.exists("/b.bbk") { try fs.remove("/b.bbk") }
            _ = try again.backup(to: "/b.bbk")
            try again.close()
            try BackupFile.restore(from: "/b.bbk", to: "/copy", fileSystem: fs)
            try expectWhole(fs, options, at: "/copy")
        }
        #expect(complete >= 1)
    }

    @Test func aCrashAtAnyPointOfARestoreNeverLeavesAPartialDatabaseUnderItsName() throws {
        let clean = FaultInjectingFileSystem()
        let options = try database(clean)
        let engine = try StorageEngine(path: "/db", options: options)
        _ = try engine.backup(to: "/b.bbk")
        try engine.close()
        clean.arm(nil)
        try BackupFile.restore(from: "/b.bbk", to: "/copy", fileSystem: clean)
        let operations = clean.operationCount
        #expect(operations >= 5)
        var opened = 0
        for at in 1...(operations + 1) {
            let fs = FaultInjectingFileSystem()
            let options = try database(fs)
            let engine = try StorageEngine(path: "/db", options: options)
            _ = try engine.backup(to: "/b.bbk")
            try engine.close()
            fs.syncEverything()
            fs.arm(.crash(atOperation: at))
            let returned = (try? BackupFile.restore(from: "/b.bbk", to: "/copy", fileSystem: fs)) != nil
            fs.crash(seed: UInt64(at) * 31)
            fs.arm(nil)
            if returned { #expect(fs.exists("/copy"), "a restore that returned must survive (operation \(at))") }
            if fs.exists("/copy") {
                opened += 1
                try expectWhole(fs, options, at: "/copy")
            } else {
                // Nothing named /copy: the restore can simply run again.
                try BackupFile.restore(from: "/b.bbk", to: "/copy", fileSystem: fs)
                try expectWhole(fs, options, at: "/copy")
            }
        }
        #expect(opened >= 1)
    }
}
