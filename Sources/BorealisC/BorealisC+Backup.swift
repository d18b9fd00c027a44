// The C ABI's integrity check, backup and restore (Include/borealis.h, docs/backup.md). Text
// handed to the caller (reports, messages) is malloc'ed and released with borealis_free. A
// progress callback returning non-zero cancels (BOREALIS_INTERRUPT, SQLSTATE 57014).

import Borealis
import Glibc

public typealias BackupProgressCallback = @convention(c) (UnsafeMutableRawPointer?, Int64, Int64) -> Int32

/// The Swift progress closure for a C callback (nil when there is none).
private func progressClosure(_ callback: BackupProgressCallback?, _ context: UnsafeMutableRawPointer?) -> ((BackupProgress) -> Bool)? {
    guard let callback else { return nil }
    let address = UInt(bitPattern: context)
    return { progress in
        callback(UnsafeMutableRawPointer(bitPattern: address), Int64(clamping: progress.pagesDone), Int64(clamping: progress.pageCount)) == 0
    }
}

private func describe(_ manifest: BackupManifest, _ path: String) -> String {
    "backup \(path): ok (LSN \(manifest.lsn), \(manifest.pageCount) pages of \(manifest.pageSize) bytes, \(manifest.fileBytes) bytes compressed from \(manifest.uncompressedBytes), database id \(String(manifest.databaseID, radix: 16)))"
}

@_cdecl("borealis_check")
public func borealis_check(_ db: OpaquePointer?, _ report: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    report?.pointee = nil
    guard let connection = lookup(db, as: Connection.self) else { return MISUSE }
    guard let database = connection.database else { return connection.fail(MISUSE, "the connection failed to open", state: SQLState.connectionDoesNotExist) }
    do {
        let result = try database.checkIntegrity()
        report?.pointee = strdup(result.description)
        if result.isSound { return connection.succeed() }
        let count = result.problems.count + result.omittedProblems
        return connection.fail(Int32(DatabaseError.Code.corrupt.rawValue), "the integrity check found \(count) problems; the first: \(result.problems.first?.description ?? "")", state: SQLState.dataCorrupted)
    } catch {
        report?.pointee = strdup((error as? DatabaseError)?.message ?? "\(error)")
        return connection.fail(error)
    }
}

@_cdecl("borealis_backup")
public func borealis_backup(_ db: OpaquePointer?, _ path: UnsafePointer<CChar>?, _ progress: BackupProgressCallback?,
                            _ context: UnsafeMutableRawPointer?) -> Int32 {
    guard let connection = lookup(db, as: Connection.self) else { return MISUSE }
    guard let database = connection.database else { return connection.fail(MISUSE, "the connection failed to open", state: SQLState.connectionDoesNotExist) }
    guard let target = string(path) else { return connection.fail(MISUSE, "borealis_backup needs a file path", state: SQLState.invalidParameterValue) }
    do {
        try database.backup(to: target, progress: progressClosure(progress, context))
        return connection.succeed()
    } catch {
        return connection.fail(error)
    }
}

@_cdecl("borealis_check_backup")
public func borealis_check_backup(_ path: UnsafePointer<CChar>?, _ report: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    report?.pointee = nil
    guard let file = string(path) else { return MISUSE }
    do {
        let manifest = try Database.verifyBackup(at: file)
        report?.pointee = strdup(describe(manifest, file))
        return OK
    } catch {
        report?.pointee = strdup((error as? DatabaseError)?.message ?? "\(error)")
        return code(of: error)
    }
}

@_cdecl("borealis_restore")
public func borealis_restore(_ backup: UnsafePointer<CChar>?, _ path: UnsafePointer<CChar>?, _ progress: BackupProgressCallback?,
                             _ context: UnsafeMutableRawPointer?, _ errmsg: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    errmsg?.pointee = nil
    guard let source = string(backup), let target = string(path) else { return MISUSE }
    do {
        try Database.restore(backup: source, to: target, progress: progressClosure(progress, context))
        return OK
    } catch {
        errmsg?.pointee = strdup((error as? DatabaseError)?.message ?? "\(error)")
        return code(of: error)
    }
}

@_cdecl("borealis_restore_to")
public func borealis_restore_to(_ backup: UnsafePointer<CChar>?, _ source: UnsafePointer<CChar>?, _ path: UnsafePointer<CChar>?,
                                _ kind: Int32, _ value: Int64, _ progress: BackupProgressCallback?, _ context: UnsafeMutableRawPointer?,
                                _ errmsg: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    errmsg?.pointee = nil
    guard let backupPath = string(backup), let sourcePath = string(source), let target = string(path) else { return MISUSE }
    let point: RestoreTarget
    switch kind {
    case 0: point = .latest
    case 1 where value >= 0: point = .lsn(UInt64(value))
    case 2: point = .time(microseconds: value)
    default:
        errmsg?.pointee = strdup("borealis_restore_to: the target kind must be BOREALIS_RESTORE_LATEST, _LSN (with an LSN ≥ 0) or _TIME")
        return MISUSE
    }
    do {
        try Database.restore(backup: backupPath, to: target, replayingLogOf: sourcePath, upTo: point, progress: progressClosure(progress, context))
        return OK
    } catch {
        errmsg?.pointee = strdup((error as? DatabaseError)?.message ?? "\(error)")
        return code(of: error)
    }
}

@_cdecl("borealis_restore_archive")
public func borealis_restore_archive(_ source: UnsafePointer<CChar>?, _ path: UnsafePointer<CChar>?, _ kind: Int32, _ value: Int64,
                                     _ progress: BackupProgressCallback?, _ context: UnsafeMutableRawPointer?,
                                     _ errmsg: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    errmsg?.pointee = nil
    guard let sourcePath = string(source), let target = string(path) else { return MISUSE }
    let point: RestoreTarget
    switch kind {
    case 0: point = .latest
    case 1 where value >= 0: point = .lsn(UInt64(value))
    case 2: point = .time(microseconds: value)
    default:
        errmsg?.pointee = strdup("borealis_restore_archive: the target kind must be BOREALIS_RESTORE_LATEST, _LSN (with an LSN ≥ 0) or _TIME")
        return MISUSE
    }
    do {
        try Database.restore(archiveOf: sourcePath, to: target, upTo: point, progress: progressClosure(progress, context))
        return OK
    } catch {
        errmsg?.pointee = strdup((error as? DatabaseError)?.message ?? "\(error)")
        return code(of: error)
    }
}
