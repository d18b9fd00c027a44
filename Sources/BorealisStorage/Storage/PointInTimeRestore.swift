// Point-in-time restore from a backup and the log its database kept (docs/backup.md §5): the
// backup's pages at LSN B, then every commit after B up to the target, replayed from the
// source database's log — its live segments `S-log/*.log` and the ones retention archived in
// `S-log/archive/*.log.zst` (`StorageOptions.retainLogArchive`).
//
// The segments from the one holding B on are read where the source keeps them, through a
// read-only view that loads each one when the log scanner opens it (RestoreLogView.swift):
// nothing of the log is copied to disk. A first scan checks the log as recovery would (chained
// checksums, commit records counting their page records), finds the commits and the
// transactions abandoned after a crash, and chooses the cut C (the last commit ≤ the target). A
// second scan, of the view cut just past C, applies the committed redo straight to the restored
// pages (RedoReplay.swift) before the database gets its name. The restored database's header
// names C as its materialized LSN, and its log starts afresh at C. The source is only read,
// live or closed.

/// Where a point-in-time restore stops.
public enum RestoreTarget: Sendable, Equatable {
    /// Every commit the log holds.
    case latest
    /// The last commit whose commit LSN is ≤ this.
    case lsn(UInt64)
    /// The last commit whose wall-clock time stamp is ≤ this (µs since 1970).
    case time(microseconds: Int64)
}

/// What a point-in-time restore reached.
public struct PointInTimeRestoreResult: Sendable, Equatable {
    /// The backup the restore started from.
    public var backup: BackupManifest
    /// The commit LSN the restored database ends at.
    public var lsn: UInt64
    /// Its commit's time stamp (µs since 1970; the backup's when no commit was replayed).
    public var commitMicros: Int64
    /// Commits replayed after the backup's LSN.
    public var commitsReplayed: Int
    /// Bytes of log replayed.
    public var logBytes: UInt64
    /// The newest commit the available log holds (LSN, µs): the end of the restorable window.
    public var newestLSN: UInt64
    public var newestMicros: Int64
}

extension BackupFile {
    /// Restores `backup`, then replays the log of `source` (the database the backup was taken
    /// of, open or closed) up to `target`, into a new database at `path`. Errors: 58P02 when
    /// `path` exists; XX001 for a damaged backup; 22023 when the target lies outside the window
    /// [the backup's commit, the newest commit of the available log] (the message names it);
    /// 58P01 when the log no longer holds the backup's LSN (history expired, or retention off).
    @discardableResult
    public static func restore(from backup: String, to path: String, replayingLogOf source: String, upTo target: RestoreTarget,
                               fileSystem fs: any FileSystem = PosixFileSystem(),
                               progress: ((BackupProgress) -> Bool)? = nil) throws -> PointInTimeRestoreResult {
        try restore(from: backup, to: path, replayingLogOf: source, upTo: target, archive: nil, fileSystem: fs, progress: progress)
    }

    /// As above; with `archive`, the segments its store holds count as the source's log too,
    /// and the window the errors name starts at `archive.windowStart`. `replayDirtyBytes`
    /// bounds the pages the replay keeps between write-backs (tests make it small).
    static func restore(from backup: String, to path: String, replayingLogOf source: String, upTo target: RestoreTarget,
                        archive: ArchiveLogSource?, fileSystem fs: any FileSystem, progress: ((BackupProgress) -> Bool)?,
                        replayDirtyBytes: Int = RedoReplay.defaultDirtyBytes) throws -> PointInTimeRestoreResult {
        // The log is scanned first, so that progress can count the whole restore: the base
        // image's pages, then the log replayed, a page's worth of bytes as one unit.
        try refuseExistingDatabase(at: path, fs) // before the scan, which may take a while
        let manifest = try BackupFile.manifest(at: backup, fileSystem: fs)
        let (reached, plan, sources, cutSegment) = try planReplay(of: source, after: manifest, upTo: target, archive: archive, fs)
        let basePages = manifest.pageCount - 1
        /// Progress units up to `lsn`: the base image's pages, then a page's worth of log each.
        func units(upTo lsn: LSN) -> UInt64 { basePages + (lsn - manifest.lsn) / UInt64(max(1, manifest.pageSize)) }
        let whole = progress.map { report in
            { (done: UInt64) -> Bool in
                report(BackupProgress(pagesDone: done, pageCount: units(upTo: reached.lsn), bytesWritten: done * UInt64(manifest.pageSize)))
            }
        }
        _ = try restore(from: backup, to: path, fileSystem: fs, progress: whole.map { report in { report($0.pagesDone) } },
                        replay: { restored, pageFile, header in
            guard restored == manifest else { throw DatabaseError.badBackup(backup, "it changed while it was restored") }
            let view = RestoreLogView(sources, cutAt: (cutSegment, reached.lsn))
            defer { view.finish() }
            var replay = try RedoReplay(file: pageFile, pageSize: manifest.pageSize, dirtyBytes: replayDirtyBytes)
            let meta: PageImage
            do {
                meta = try replay.run(logDirectory: RestoreLogView.directory, databaseID: manifest.databaseID, from: manifest.lsn,
                                      through: reached.lsn, plan: plan, fileSystem: view,
                                      progress: whole.map { report in { lsn in report(units(upTo: lsn)) } })
            } catch let error as DatabaseError where error.code == .corrupt && !view.problems.isEmpty {
                // A segment read the first time could not be read the second (released by a
                // live source, or damaged meanwhile).
                throw DatabaseError(.cantOpen, sqlState: SQLState.undefinedFile,
                                    "the log of \(source) changed during the restore: \(view.problems.joined(separator: "; ")); try again")
            }
            header.materializedLSN = reached.lsn
            header.pageCount = MetaPage.pageCount(meta)
            header.freeListHead = MetaPage.freeListHead(meta)
            header.catalogRoot = MetaPage.root(meta, slot: 0)
        })
        return reached
    }

    /// Finds the segments holding (B, target] and scans them once (`RestoreLogView`): what the
    /// restore reaches, which records the replay applies, where the segments are, and the
    /// segment holding the cut.
    private static func planReplay(of source: String, after manifest: BackupManifest, upTo target: RestoreTarget,
                                   archive archiveSource: ArchiveLogSource?,
                                   _ fs: any FileSystem) throws -> (PointInTimeRestoreResult, ReplayPlan, RestoreLogSources, LSN) {
        let base = manifest.lsn
        let sourceLog = source + "-log"
        let archive = sourceLog + "/" + LogFormat.archiveDirectory
        let live = Set((fs.exists(sourceLog) ? (try fs.list(sourceLog)) : []).compactMap(LogFormat.parseSegmentName))
        let archived = Set((fs.exists(archive) ? (try fs.list(archive)) : []).compactMap { name -> LSN? in
            name.hasSuffix(".zst") ? LogFormat.parseSegmentName(String(name.dropLast(4))) : nil
        })
        let windowStart = archiveSource?.windowStart ?? (base, manifest.commitMicros)
        // A restore from a given backup reads the source's continuous archive too, if it keeps one.
        let store = archiveSource ?? ArchiveLogSource.defaultArchive(of: source, databaseID: manifest.databaseID, fs)
        let stored = store?.starts ?? []
        let starts = live.union(archived).union(stored).sorted()
        guard let first = starts.last(where: { $0 <= base }) else {
            if let store, !store.catalogue.gaps.isEmpty {
                let window = Self.outside(target, base: windowStart.0, baseMicros: windowStart.1, newest: nil)
                throw DatabaseError(.range, sqlState: SQLState.invalidParameterValue, window.message + "; " + store.gapText)
            }
            throw DatabaseError(.cantOpen, sqlState: SQLState.undefinedFile,
                                "the log of \(source) no longer holds the backup's LSN \(base) (its oldest segment starts at \(starts.first.map(String.init) ?? "none")); keep history with StorageOptions.continuousArchive (or retainLogArchive)")
        }
        if case .lsn(let lsn) = target, lsn < base {
            throw Self.outside(target, base: windowStart.0, baseMicros: windowStart.1, newest: nil)
        }
        var window = starts.filter { $0 >= first }
        if case .lsn(let lsn) = target { window = window.filter { $0 <= lsn } }
        let databaseID = manifest.databaseID
        let sources = RestoreLogSources(starts: window) { start in
            let name = LogFormat.segmentName(start: start)
            var bytes: [UInt8]?
            if live.contains(start) { bytes = try? readWhole(sourceLog + "/" + name, fs) }
            if bytes == nil, archived.contains(start) || fs.exists(archive + "/" + name + ".zst") {
                // Archived (perhaps meanwhile: a round moves sealed segments there).
                do {
                    let compressed = try readWhole(archive + "/" + name + ".zst", fs)
                    bytes = try Zstd.decompress(compressed, maximumSize: LogFormat.segmentHeaderSize + LogFormat.maximumSegmentCapacity)
                } catch {
                    return .problem("archived log segment \(archive)/\(name).zst cannot be read or does not decompress (\(StorageTransaction.text(of: error)))")
                }
            }
            if bytes == nil, let store {
                // In the continuous archive (perhaps meanwhile: a release stores it there).
                switch store.load(start) {
                case .bytes(let segment): bytes = segment
                case .problem(let problem): return .problem(problem)
                }
            }
            guard let segment = bytes else {
                return .problem("log segment \(name) of \(source) vanished while the restore read it")
            }
            guard let header = segment.withUnsafeBytes({ LogFormat.SegmentHeader.decode($0) }), header.startLSN == start else {
                // Damaged, or the newest live segment while the source is still creating it.
                return .problem("log segment \(name) of \(source) has an invalid header")
            }
            guard header.databaseID == databaseID else {
                throw DatabaseError(.error, sqlState: SQLState.invalidParameterValue,
                                    "the log of \(source) belongs to database \(String(header.databaseID, radix: 16)), the backup to \(String(databaseID, radix: 16))")
            }
            return .bytes(segment)
        }
        let view = RestoreLogView(sources)
        defer { view.finish() }
        let logDirectory = RestoreLogView.directory
        // Find the commits after B and choose the cut.
        let scanner = LogScanner(fileSystem: view, directory: logDirectory, databaseID: databaseID)
        var commits: [(end: LSN, micros: Int64, segment: LSN)] = []
        var abandoned: [Range<LSN>] = []
        var baseSegment: LSN?
        var pending: UInt64 = 0
        var pendingFrom: LSN = 0
        var scannedBytes: UInt64 = 0
        let end = try scanner.scan(from: base) { event in
            switch event {
            case .segment(let position):
                if position.end == base { baseSegment = position.segmentStart }
            case .record(let record):
                if record.after.end <= base {
                    if record.after.end == base { baseSegment = record.after.segmentStart }
                    return
                }
                guard record.lsn >= base else { throw DatabaseError.corrupt("log record at LSN \(record.lsn) straddles the backup's LSN \(base)") }
                scannedBytes = record.after.end - base
                switch LogRecordType(rawValue: record.type) {
                case .pageRedo:
                    if pending == 0 { pendingFrom = record.lsn }
                    pending += 1
                case .commit:
                    let commit = try CommitRecord.decode(record.payload)
                    guard commit.pageRecordCount == pending else {
                        throw DatabaseError.corrupt("commit record at LSN \(record.lsn) counts \(commit.pageRecordCount) page records, the log holds \(pending)")
                    }
                    pending = 0
                    commits.append((record.after.end, commit.timestamp, record.after.segmentStart))
                case .mark:
                    if try LogMark.decode(record.payload).abandon, pending > 0 {
                        abandoned.append(pendingFrom..<record.lsn)
                        pending = 0
                    }
                case nil:
                    throw DatabaseError.corrupt("log record at LSN \(record.lsn) has unknown type \(record.type)")
                }
            }
        }
        guard end != nil, let baseSegment else {
            throw DatabaseError(.cantOpen, sqlState: SQLState.undefinedFile, "the log of \(source) does not reach the backup's LSN \(base)")
        }
        let newest = commits.last.map { ($0.end, $0.micros) } ?? (base, manifest.commitMicros)
        // A segment after the valid end means a gap (a segment missing or damaged): the window
        // ends there, and a target past it cannot be reached.
        let validEnd = end?.end ?? base
        let damaged = view.problems.first
        let gap = window.contains(where: { $0 > validEnd }) || damaged != nil
        func outside(_ target: RestoreTarget, base _: LSN, baseMicros _: Int64, newest: (LSN, Int64)?, gapAt: LSN? = nil) -> DatabaseError {
            Self.outside(target, base: windowStart.0, baseMicros: windowStart.1, newest: newest, gapAt: gapAt, damaged: damaged)
        }
        let chosen: (end: LSN, micros: Int64, segment: LSN)
        switch target {
        case .latest:
            if gap { throw outside(target, base: base, baseMicros: manifest.commitMicros, newest: newest, gapAt: validEnd) }
            chosen = commits.last ?? (base, manifest.commitMicros, baseSegment)
        case .lsn(let lsn):
            guard lsn <= newest.0 || !gap && lsn <= validEnd else {
                throw outside(target, base: base, baseMicros: manifest.commitMicros, newest: newest, gapAt: gap ? validEnd : nil)
            }
            chosen = commits.last(where: { $0.end <= lsn }) ?? (base, manifest.commitMicros, baseSegment)
        case .time(let micros):
            guard manifest.commitMicros == 0 || micros >= manifest.commitMicros else {
                throw outside(target, base: base, baseMicros: manifest.commitMicros, newest: newest)
            }
            if gap, micros > newest.1 {
                throw outside(target, base: base, baseMicros: manifest.commitMicros, newest: newest, gapAt: validEnd)
            }
            chosen = commits.last(where: { $0.micros <= micros }) ?? (base, manifest.commitMicros, baseSegment)
        }
        let replayed = commits.prefix { $0.end <= chosen.end }
        let reached = PointInTimeRestoreResult(backup: manifest, lsn: chosen.end, commitMicros: chosen.micros, commitsReplayed: replayed.count,
                                               logBytes: min(scannedBytes, chosen.end - base), newestLSN: newest.0, newestMicros: newest.1)
        return (reached, ReplayPlan(commitEnds: replayed.map(\.end), abandoned: abandoned.filter { $0.lowerBound < chosen.end }),
                sources, chosen.segment)
    }

    private static func readWhole(_ path: String, _ fs: any FileSystem) throws -> [UInt8] {
        let file = try fs.open(path, create: false)
        defer { file.close() }
        let size = try file.size()
        guard size <= UInt64(Int32.max) else { throw DatabaseError.corrupt("\(path) is \(size) bytes, too large for a log segment") }
        return try file.readBytes(count: Int(size), at: 0)
    }

    static func outside(_ target: RestoreTarget, base: LSN, baseMicros: Int64, newest: (LSN, Int64)?, gapAt: LSN? = nil,
                        damaged: String? = nil) -> DatabaseError {
        var window = "from LSN \(base) (\(timeText(baseMicros)))"
        if let newest { window += " to LSN \(newest.0) (\(timeText(newest.1)))" } else { window += " on" }
        let what: String
        switch target {
        case .latest: what = "latest"
        case .lsn(let lsn): what = "LSN \(lsn)"
        case .time(let micros): what = timeText(micros)
        }
        var message = "the restore target \(what) is outside the available window, \(window)"
        if let gapAt { message += "; the log has a gap after LSN \(gapAt) (a segment missing or damaged)" }
        if let damaged { message += "; \(damaged)" }
        return DatabaseError(.range, sqlState: SQLState.invalidParameterValue, message)
    }

    /// "2026-12-03 10:15:00.123456 UTC" for µs since 1970 ("unknown time" for 0).
    public static func timeText(_ micros: Int64) -> String {
        guard micros != 0 else { return "unknown time" }
        let seconds = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
        let fraction = micros - seconds * 1_000_000
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let digits = String(fraction)
        let micro = String(repeating: "0", count: max(0, 6 - digits.count)) + digits
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) \(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(micro) UTC"
    }
}

#if canImport(Glibc)
import Glibc
#endif
