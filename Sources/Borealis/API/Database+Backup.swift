// Online backup and restore for the Swift API (docs/backup.md §2, §3): thin entry points over
// `StorageEngine.backup(to:progress:)` and `BackupFile` in Storage/.

import BorealisSQL
import BorealisStorage

extension Database {
    /// Writes a consistent copy of the database, as of one LSN, to `path` (a new file) while
    /// other connections keep committing; returns its manifest. The copy is zstd-compressed and
    /// verifiable on its own (`Database.verifyBackup(at:)`); restore it with
    /// `Database.restore(backup:to:)`.
    ///
    /// ```swift
    /// let manifest = try db.backup(to: "/backups/shop.bbk")
    /// print("backed up at LSN \(manifest.lsn)")
    /// ```
    ///
    /// `progress` is called after each run of 256 pages; returning false cancels the backup
    /// (SQLSTATE 57014) and removes what was written. Errors: 58P02 when `path` exists, 53100
    /// when the disk is full (nothing is left at `path`).
    @discardableResult
    public func backup(to path: String, progress: ((BackupProgress) -> Bool)? = nil) throws -> BackupManifest {
        try engine.backup(to: path, progress: progress)
    }

    /// Reads a whole backup and checks every checksum; returns its manifest. Throws SQLSTATE
    /// XX001 naming the damage when the backup is partial, torn or damaged.
    @discardableResult
    public static func verifyBackup(at path: String, progress: ((BackupProgress) -> Bool)? = nil) throws -> BackupManifest {
        try BackupFile.verify(at: path, progress: progress)
    }

    /// Restores a backup into a new database at `path` (never over an existing one: 58P02).
    /// A damaged or partial backup is refused (XX001) and leaves nothing at `path`. Open the
    /// result with `Database(path:)`; it passes `checkIntegrity()`.
    ///
    /// ```swift
    /// try Database.restore(backup: "/backups/shop.bbk", to: "/data/shop-copy.db")
    /// let copy = try Database(path: "/data/shop-copy.db")
    /// ```
    @discardableResult
    public static func restore(backup: String, to path: String, progress: ((BackupProgress) -> Bool)? = nil) throws -> BackupManifest {
        try BackupFile.restore(from: backup, to: path, progress: progress)
    }
}

extension Database {
    /// Point-in-time restore: restores `backup`, then replays the log of `source` — the
    /// database the backup was taken of, open or closed, which kept its history with
    /// `StorageOptions.retainLogArchive` — up to `target`, into a new database at `path`.
    ///
    /// ```swift
    /// let result = try Database.restore(backup: "/backups/shop.bbk", to: "/data/shop-10h15.db",
    ///                                   replayingLogOf: "/data/shop.db", upTo: .time(microseconds: t))
    /// print("restored to LSN \(result.lsn)")
    /// ```
    ///
    /// A target outside the window [the backup's commit, the newest commit of the log] fails
    /// with SQLSTATE 22023 naming the window; a gap in the log (a segment missing or damaged)
    /// is never restored past.
    @discardableResult
    public static func restore(backup: String, to path: String, replayingLogOf source: String, upTo target: RestoreTarget,
                               progress: ((BackupProgress) -> Bool)? = nil) throws -> PointInTimeRestoreResult {
        try BackupFile.restore(from: backup, to: path, replayingLogOf: source, upTo: target, progress: progress)
    }

    /// Point-in-time restore from the continuous archive of `source` (a database opened with
    /// `StorageOptions.continuousArchive`, open or closed): finds the newest base image at or
    /// before `target` whose manifest verifies, then replays the archived and live log up to
    /// `target`, into a new database at `path`. No backup needs naming.
    ///
    /// ```swift
    /// let result = try Database.restore(archiveOf: "/data/shop.db", to: "/data/shop-10h15.db",
    ///                                   upTo: .time(microseconds: t))
    /// print("restored to LSN \(result.lsn) from the base image at LSN \(result.backup.lsn)")
    /// ```
    ///
    /// A target outside the window [oldest base image, newest commit] fails with SQLSTATE
    /// 22023 naming the window (and any missing or damaged archive object that ends it early).
    @discardableResult
    public static func restore(archiveOf source: String, to path: String, upTo target: RestoreTarget,
                               progress: ((BackupProgress) -> Bool)? = nil) throws -> PointInTimeRestoreResult {
        try BackupFile.restore(archiveOf: source, to: path, upTo: target, progress: progress)
    }
}
