// Point-in-time restore from a continuous archive (docs/backup.md §5): the restore finds its
// own base image. From the newest valid catalogue of the source's archive store it takes the
// newest base image at or before the target whose manifest verifies (its CRC32C equal to the
// catalogue's, its LSN the one the catalogue names), then replays the archived and live log up
// to the target exactly as a restore from a given backup does (PointInTimeRestore.swift). The
// source may be open or closed; it is only read.
//
// Archived segments are checked against the catalogue before use (CRC32C of the object, then
// decompression and the segment header): a missing or damaged one ends the window before it,
// and a target past it fails naming the object. Nothing is ever restored past a gap.

/// The archive's segments, as the log copy of a point-in-time restore reads them.
struct ArchiveLogSource {
    enum Loaded {
        case bytes([UInt8])
        case problem(String)
    }

    let store: any ArchiveStore
    let catalogue: ArchiveCatalogue
    /// The oldest point the archive can restore (its oldest base image): errors name it (nil:
    /// a restore from a given backup, whose window starts at the backup).
    let windowStart: (LSN, Int64)?

    /// The continuous archive of `source` in its default folder, when it holds a valid
    /// catalogue of the database `databaseID` (the log a restore from a given backup reads too).
    static func defaultArchive(of source: String, databaseID: UInt64, _ fs: any FileSystem) -> ArchiveLogSource? {
        let store = FolderArchiveStore(folder: source + "-archive", fileSystem: fs)
        var skipped: [String] = []
        guard fs.exists(store.folder), let catalogue = try? ArchiveCatalogue.newest(in: store, skipped: &skipped),
              catalogue.databaseID == databaseID else { return nil }
        return ArchiveLogSource(store: store, catalogue: catalogue, windowStart: nil)
    }

    /// The gaps the catalogue records, for messages ("" when none).
    var gapText: String { catalogue.gaps.map(\.text).joined(separator: "; ") }

    /// Segment starts the store lists or the catalogue names (a listed one may be missing).
    var starts: Set<LSN> {
        var result = Set(catalogue.segments.map(\.start))
        for name in (try? store.list("seg/")) ?? [] {
            if let start = ArchiveName.parse(name, prefix: "seg/", suffix: ".zst") { result.insert(start) }
        }
        return result
    }

    /// The segment starting at `start`, decompressed, or what is wrong with it.
    func load(_ start: LSN) -> Loaded {
        let name = ArchiveName.segment(start)
        let entry = catalogue.segments.first { $0.start == start }
        let range = entry.map { " (LSN \($0.start) ..< \($0.end))" } ?? ""
        guard let compressed = try? store.get(name) else {
            return .problem("archive object \(name)\(range) is missing")
        }
        if let entry {
            guard UInt64(compressed.count) == entry.bytes else {
                return .problem("archive object \(name)\(range) is \(compressed.count) bytes, the catalogue lists \(entry.bytes) (cut short or replaced)")
            }
            guard CRC32C.checksum(compressed) == entry.checksum else {
                return .problem("archive object \(name)\(range) fails its checksum (damaged)")
            }
        }
        guard let bytes = try? Zstd.decompress(compressed, maximumSize: LogFormat.segmentHeaderSize + LogFormat.maximumSegmentCapacity) else {
            return .problem("archive object \(name)\(range) does not decompress (damaged)")
        }
        return .bytes(bytes)
    }
}

extension BackupFile {
    /// The continuous archive of the database at `source` (`StorageOptions.continuousArchive`):
    /// its newest valid catalogue. `store` defaults to the folder `source-archive/`. Throws
    /// 58P01 when the store holds no valid catalogue.
    public static func archiveCatalogue(of source: String, store: (any ArchiveStore)? = nil,
                                        fileSystem fs: any FileSystem = PosixFileSystem()) throws -> ArchiveCatalogue {
        let store = store ?? FolderArchiveStore(folder: source + "-archive", fileSystem: fs)
        var skipped: [String] = []
        guard let catalogue = try ArchiveCatalogue.newest(in: store, skipped: &skipped) else {
            let why = skipped.isEmpty ? "it holds no catalogue (is StorageOptions.continuousArchive on?)" : "every catalogue is damaged (\(skipped.joined(separator: ", ")))"
            throw DatabaseError(.cantOpen, sqlState: SQLState.undefinedFile, "the archive of \(source) cannot be used: \(why)")
        }
        return catalogue
    }

    /// Point-in-time restore from the continuous archive of `source` (open or closed) into a
    /// new database at `path`: the newest base image at or before `target` whose manifest
    /// verifies, then the archived and live log replayed up to the target. Errors: 22023 when
    /// the target is outside the window [oldest base image, newest commit] (the message names
    /// it, and any missing or damaged archive object that ends it early); 58P01 when there is
    /// no archive; XX001 when no base image is usable; 58P02 when `path` exists.
    @discardableResult
    public static func restore(archiveOf source: String, to path: String, upTo target: RestoreTarget,
                               store: (any ArchiveStore)? = nil, fileSystem fs: any FileSystem = PosixFileSystem(),
                               progress: ((BackupProgress) -> Bool)? = nil) throws -> PointInTimeRestoreResult {
        let store = store ?? FolderArchiveStore(folder: source + "-archive", fileSystem: fs)
        let catalogue = try archiveCatalogue(of: source, store: store, fileSystem: fs)
        guard let oldest = catalogue.baseImages.first else {
            throw DatabaseError(.cantOpen, sqlState: SQLState.undefinedFile,
                                "the archive of \(source) holds no base image yet (the first is taken in the background once archiving starts)")
        }
        let newest = catalogue.segments.last(where: { $0.lastCommitMicros != 0 }).map { ($0.end, $0.lastCommitMicros) }
        let candidates = catalogue.baseImages.reversed().filter { base in
            switch target {
            case .latest: return true
            case .lsn(let lsn): return base.lsn <= lsn
            case .time(let micros): return base.commitMicros != 0 && base.commitMicros <= micros
            }
        }
        guard !candidates.isEmpty else {
            throw outside(target, base: oldest.lsn, baseMicros: oldest.commitMicros, newest: newest)
        }
        var problems: [String] = []
        var logUnavailable: DatabaseError?
        for base in candidates {
            // Log the archive lost between this base image and the target: no restore through it.
            let lost = catalogue.gaps.first { gap in
                guard gap.to > base.lsn else { return false }
                switch target {
                case .latest: return true
                case .lsn(let lsn): return gap.from < lsn
                case .time: return false // the log copy finds where the valid log ends
                }
            }
            if let lost {
                let window = outside(target, base: oldest.lsn, baseMicros: oldest.commitMicros, newest: newest)
                throw DatabaseError(.range, sqlState: SQLState.invalidParameterValue, window.message + "; " + lost.text)
            }
            let name = ArchiveName.base(base.lsn)
            var local = store.localPath(of: name)
            var fetched: String?
            if local == nil, let bytes = try? store.get(name) {
                // Not a local file: fetched beside the new database, removed afterwards.
                let temporary = path + ".base"
                let file = try fs.open(temporary, create: true)
                defer { file.close() }
                try file.truncate(to: 0)
                try file.write(bytes, at: 0)
                local = temporary
                fetched = temporary
            }
            defer { if let fetched { try? fs.remove(fetched) } }
            guard let local else {
                problems.append("\(name) is missing")
                continue
            }
            let manifest: BackupManifest
            do {
                manifest = try BackupFile.manifest(at: local, fileSystem: fs)
            } catch let error as DatabaseError {
                problems.append("\(name): \(error.message)")
                continue
            }
            guard manifest.lsn == base.lsn, CRC32C.checksum(manifest.encoded()) == base.manifestChecksum, manifest.databaseID == catalogue.databaseID else {
                problems.append("\(name): its manifest does not match the catalogue (replaced or damaged)")
                continue
            }
            let logSource = ArchiveLogSource(store: store, catalogue: catalogue, windowStart: (oldest.lsn, oldest.commitMicros))
            do {
                var result = try restore(from: local, to: path, replayingLogOf: source, upTo: target, archive: logSource,
                                         fileSystem: fs, progress: progress)
                if result.backup.commitMicros == 0 { result.backup.commitMicros = base.commitMicros }
                return result
            } catch let error as DatabaseError where error.sqlState == SQLState.undefinedFile {
                // The log no longer (or not yet) reaches this base image — e.g. one taken after
                // the last archived segment, with the live log gone: an older one may serve.
                // Nothing was left at `path`.
                problems.append("\(name): \(error.message)")
                logUnavailable = error
            }
        }
        if let logUnavailable {
            throw DatabaseError(logUnavailable.code, sqlState: logUnavailable.sqlState,
                                "no base image at or before the target in the archive of \(source) has its log: \(problems.joined(separator: "; "))")
        }
        throw DatabaseError(.corrupt, sqlState: SQLState.dataCorrupted,
                            "no usable base image at or before the target in the archive of \(source): \(problems.joined(separator: "; "))")
    }
}

extension ArchiveGap {
    /// "the archive lost the log LSN a ..< b (its store failed, 2026-…)".
    var text: String {
        let why = reason == .storeFailed ? "its store failed" : "the segment was missing"
        return "the archive has a gap: it lost the log LSN \(from) ..< \(to) (\(why), \(BackupFile.timeText(recordedAtMicros)))"
    }
}
