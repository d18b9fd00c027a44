// The history workloads (issue 16, docs/backup.md): `backup` (an online backup of a quiescent
// database: Borealis's `Database.backup(to:)` against SQLite's sqlite3_backup_* API), `restore`
// (a backup into a new database: `Database.restore` against the backup API copying a backup
// file into a new database) and `check` (`Database.checkIntegrity()` against SQLite's
// `PRAGMA integrity_check`), and `restore_pitr` (a backup of the empty table plus the whole
// load replayed from the retained log, in MB/s of log; SQLite has no point-in-time restore, so
// its side is the backup API copying the loaded database, as in `restore`). Each reports MB/s:
// its "ops" are megabytes.
// Full size is about 1 GB of pages (5M rows and an index); --quick about 40 MB.

import Borealis
import CSQLite3
import Foundation

private func historyRows(_ sizes: Sizes) -> Int { sizes.rows == Sizes.full.rows ? 5_000_000 : 200_000 }

private func historyValue(_ i: Int) -> String {
    var bytes = Array("h\(i)-".utf8)
    bytes.append(contentsOf: repeatElement(UInt8(ascii: "y"), count: 150 - bytes.count))
    return String(decoding: bytes, as: UTF8.self)
}

private func loadHistoryTable(_ engine: EngineKind, _ path: String, rows: Int) throws {
    let c = try engine.connect(path)
    defer { c.close() }
    try c.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT)")
    try c.exec("BEGIN")
    let insert = try c.prepare("INSERT INTO t VALUES ($1, $2, $3)")
    for i in 0..<rows { try insert.execute([.integer(Int64(i)), .integer(Int64((i * 7919) % rows)), .text(historyValue(i))]) }
    try c.exec("COMMIT")
    try c.exec("CREATE INDEX t_k ON t(k)")
}

/// A measurement of `bytes` moved in `seconds`, as megabytes per second.
private func megabytes(_ bytes: UInt64, _ seconds: Double) -> Measurement {
    let mb = Double(bytes) / 1e6
    let ops = max(1, Int(mb.rounded()))
    return Measurement(ops: ops, seconds: seconds * Double(ops) / max(mb, 1e-9))
}

/// SQLite's page bytes of the database open on `db`.
private func sqlitePageBytes(_ db: OpaquePointer?) throws -> UInt64 {
    var statement: OpaquePointer?
    guard sqlite3_prepare_v2(db, "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()", -1, &statement, nil) == SQLITE_OK else {
        throw BenchError(description: "sqlite: \(String(cString: sqlite3_errmsg(db)))")
    }
    defer { sqlite3_finalize(statement) }
    guard sqlite3_step(statement) == SQLITE_ROW else { throw BenchError(description: "sqlite: no page count") }
    return UInt64(sqlite3_column_int64(statement, 0))
}

/// Copies the database open on `source` into a new database at `path` with the backup API.
private func sqliteBackup(from source: OpaquePointer?, to path: String) throws {
    var destination: OpaquePointer?
    guard sqlite3_open(path, &destination) == SQLITE_OK else { throw BenchError(description: "sqlite open \(path) failed") }
    defer { sqlite3_close_v2(destination) }
    guard let backup = sqlite3_backup_init(destination, "main", source, "main") else {
        throw BenchError(description: "sqlite3_backup_init: \(String(cString: sqlite3_errmsg(destination)))")
    }
    let rc = sqlite3_backup_step(backup, -1)
    let finished = sqlite3_backup_finish(backup)
    guard rc == SQLITE_DONE, finished == SQLITE_OK else { throw BenchError(description: "sqlite3_backup_step: \(rc)") }
}

let historyWorkloads: [Workload] = [
    Workload(name: "backup", setup: { engine, path, sizes in try loadHistoryTable(engine, path, rows: historyRows(sizes)) },
             measure: { engine, path, _ in
        switch engine {
        case .borealis:
            let db = try Database(path: path)
            defer { try? db.close() }
            let start = Date()
            let manifest = try db.backup(to: path + ".bbk")
            let seconds = Date().timeIntervalSince(start)
            benchNote.withLock { $0 = String(format: "%.0f MB of pages into %.0f MB", Double(manifest.uncompressedBytes) / 1e6, Double(manifest.fileBytes) / 1e6) }
            try Database.verifyBackup(at: path + ".bbk") // untimed: a fast wrong backup fails the run
            return megabytes(manifest.uncompressedBytes, seconds)
        case .sqlite:
            let c = try SQLiteConnection(path)
            defer { c.close() }
            let start = Date()
            try sqliteBackup(from: c.db, to: path + ".bak")
            let seconds = Date().timeIntervalSince(start)
            return megabytes(try sqlitePageBytes(c.db), seconds)
        }
    }),
    Workload(name: "restore", setup: { engine, path, sizes in
        try loadHistoryTable(engine, path, rows: historyRows(sizes))
        switch engine {
        case .borealis:
            let db = try Database(path: path)
            defer { try? db.close() }
            try db.backup(to: path + ".bbk")
        case .sqlite:
            let c = try SQLiteConnection(path)
            defer { c.close() }
            try sqliteBackup(from: c.db, to: path + ".bak")
        }
    }, measure: { engine, path, sizes in
        switch engine {
        case .borealis:
            let start = Date()
            let manifest = try Database.restore(backup: path + ".bbk", to: path + ".restored")
            let seconds = Date().timeIntervalSince(start)
            let copy = try Database(path: path + ".restored")
            defer { try? copy.close() }
            let rows = try copy.execute("SELECT count(*) FROM t").rows.first?.first
            try check(rows == .integer(Int64(historyRows(sizes))), "restored \(String(describing: rows)) rows")
            return megabytes(manifest.uncompressedBytes, seconds)
        case .sqlite:
            var source: OpaquePointer?
            guard sqlite3_open_v2(path + ".bak", &source, SQLITE_OPEN_READONLY, nil) == SQLITE_OK else { throw BenchError(description: "sqlite open backup failed") }
            defer { sqlite3_close_v2(source) }
            let start = Date()
            try sqliteBackup(from: source, to: path + ".restored")
            let seconds = Date().timeIntervalSince(start)
            return megabytes(try sqlitePageBytes(source), seconds)
        }
    }),
    Workload(name: "check", setup: { engine, path, sizes in try loadHistoryTable(engine, path, rows: historyRows(sizes)) },
             measure: { engine, path, _ in
        switch engine {
        case .borealis:
            let db = try Database(path: path)
            defer { try? db.close() }
            let start = Date()
            let report = try db.checkIntegrity()
            let seconds = Date().timeIntervalSince(start)
            try check(report.isSound, "\(report)")
            return megabytes(UInt64(report.pagesChecked) * UInt64(db.engine.pageSize), seconds)
        case .sqlite:
            let c = try SQLiteConnection(path)
            defer { c.close() }
            let statement = try c.prepare("PRAGMA integrity_check")
            let start = Date()
            try statement.start([])
            guard try statement.step() else { throw BenchError(description: "no integrity_check row") }
            let result = statement.text(0)
            let seconds = Date().timeIntervalSince(start)
            try check(result == "ok", result)
            return megabytes(try sqlitePageBytes(c.db), seconds)
        }
    }),
    Workload(name: "restore_pitr", setup: { engine, path, sizes in
        switch engine {
        case .borealis:
            // The continuous archive (on by default) keeps the segments the restore replays.
            let db = try Database(path: path)
            defer { try? db.close() }
            try db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT)")
            try db.backup(to: path + ".bbk")
            try db.execute("BEGIN")
            let rows = historyRows(sizes)
            for i in 0..<rows { try db.execute("INSERT INTO t VALUES ($1, $2, $3)", [.integer(Int64(i)), .integer(Int64((i * 7919) % rows)), .text(historyValue(i))]) }
            try db.execute("COMMIT")
        case .sqlite:
            try loadHistoryTable(engine, path, rows: historyRows(sizes))
            let c = try SQLiteConnection(path)
            defer { c.close() }
            try sqliteBackup(from: c.db, to: path + ".bak")
        }
    }, measure: { engine, path, sizes in
        switch engine {
        case .borealis:
            let start = Date()
            let result = try Database.restore(backup: path + ".bbk", to: path + ".restored", replayingLogOf: path, upTo: .latest)
            let seconds = Date().timeIntervalSince(start)
            let copy = try Database(path: path + ".restored")
            defer { try? copy.close() }
            let rows = try copy.execute("SELECT count(*) FROM t").rows.first?.first
            try check(rows == .integer(Int64(historyRows(sizes))), "restored \(String(describing: rows)) rows")
            benchNote.withLock { $0 = String(format: "%.0f MB of log replayed", Double(result.logBytes) / 1e6) }
            return megabytes(result.logBytes, seconds)
        case .sqlite:
            var source: OpaquePointer?
            guard sqlite3_open_v2(path + ".bak", &source, SQLITE_OPEN_READONLY, nil) == SQLITE_OK else { throw BenchError(description: "sqlite open backup failed") }
            defer { sqlite3_close_v2(source) }
            let start = Date()
            try sqliteBackup(from: source, to: path + ".restored")
            let seconds = Date().timeIntervalSince(start)
            return megabytes(try sqlitePageBytes(source), seconds)
        }
    }),
]
