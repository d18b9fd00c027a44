// Helpers shared by the tests: temporary directories that clean up after themselves.

import Foundation
@testable import Borealis
@testable import BorealisSQL
@testable import BorealisStorage

final class TemporaryDirectory {
    let path: String

    init(_ name: String = #function) {
        let base = FileManager.default.temporaryDirectory.path
        let clean = name.filter { $0.isLetter || $0.isNumber }
        path = "\(base)/borealis-test-\(clean)-\(UInt32.random(in: 0...UInt32.max))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    var database: String { path + "/db" }
}

/// An engine at "/db" on a fresh fault-injecting file system (`smallOptions`, rounds of the
/// materializer run by hand) holding one empty table tree, its root in slot 1, committed.
func faultEngineWithTable() throws -> (fs: FaultInjectingFileSystem, options: StorageOptions, engine: StorageEngine, table: TableTree) {
    let fs = FaultInjectingFileSystem()
    var options = smallOptions(fs)
    options.backgroundMaterializer = false
    let engine = try StorageEngine(path: "/db", options: options)
    let setup = try engine.beginWrite()
    let table = try TableTree.create(in: setup)
    try setup.setRoot(slot: 1, to: table.root)
    try setup.commit()
    return (fs, options, engine, table)
}

func smallOptions(_ fs: (any FileSystem)? = nil) -> StorageOptions {
    var options = StorageOptions()
    options.segmentCapacity = 256 << 10
    options.materializeThresholdBytes = 128 << 10
    options.logSoftCapBytes = 2 << 20
    options.logHardCapBytes = 16 << 20
    options.cacheBytes = 4 << 20
    // The continuous archive is tested where it is the subject (ContinuousArchiveTests and the
    // archive's stress harness); elsewhere its thread and base images only slow the suite.
    options.continuousArchive = false
    if let fs { options.fileSystem = fs }
    return options
}

/// The SQLSTATE `body` fails with; nil when it succeeds.
func sqlState(_ body: () throws -> Void) -> String? {
    do {
        try body()
        return nil
    } catch let error as DatabaseError {
        return error.sqlState
    } catch {
        return "not a DatabaseError: \(error)"
    }
}

/// The rows `sql` returns, each value as its text.
func textRows(_ db: Database, _ sql: String) throws -> [[String]] {
    try db.execute(sql).rows.map { $0.map(\.description) }
}
