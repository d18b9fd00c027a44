// Settings of the storage engine, fixed when a database is opened.

/// How a commit waits for the disk.
public enum Synchronous: Sendable {
    /// A commit returns after its redo is on disk (fdatasync). The default.
    case full
    /// A commit returns at once and becomes visible before it is durable. A crash of the process
    /// or the machine can lose the most recent commits (never corrupt the database). For bulk
    /// loads and tests only.
    case off
}

/// Options for opening a Borealis database's storage.
///
/// ```swift
/// var options = StorageOptions()
/// options.cacheBytes = 256 << 20
/// let engine = try StorageEngine(path: "/var/lib/app/db", options: options)
/// ```
public struct StorageOptions: Sendable {
    /// Page size for a new database (a power of two, 4096…65536). Existing files keep theirs.
    public var pageSize = 4096
    /// Memory for cached page versions, in bytes.
    public var cacheBytes = 48 << 20
    /// Memory for one write transaction's changed pages; past it, the pages it is not using
    /// go to a temporary spill file beside the database (docs/storage.md §3).
    public var transactionMemoryBytes = 8 << 20
    /// Redo a large commit gathers before writing it to the log ahead of its commit record.
    /// Tests and the stress tools lower it to stream small transactions.
    public var commitStreamChunkBytes = 4 << 20
    public var synchronous = Synchronous.full
    /// Create the database when its page file is absent; when false, opening a missing
    /// database fails (read-only opens).
    public var createIfMissing = true
    /// How long `beginWrite` waits for the write lock, and an open for another process to
    /// give the database up, before failing with BUSY.
    public var busyTimeoutMilliseconds = 5000
    /// Capacity of one log segment in bytes (at least 64 KiB and 4 pages).
    public var segmentCapacity = 16 << 20
    /// The materializer runs when this much log is not yet materialized…
    public var materializeThresholdBytes = 4 << 20
    /// …or when this much time has passed with anything to materialize.
    public var materializeIntervalMilliseconds = 1000
    /// Above this much un-materialized log, commits slow down gradually.
    public var logSoftCapBytes = 64 << 20
    /// Above this, commits wait for the materializer and fail after the busy timeout.
    public var logHardCapBytes = 512 << 20
    /// Keep released log segments, zstd-compressed, in `P-log/archive/` (for restore to a point in time).
    public var retainLogArchive = false
    /// Continuous archive (docs/backup.md §4): sealed segments compressed into `archiveStore`,
    /// base images taken in the background, a catalogue, and retention. On by default (a
    /// `:memory:` database keeps none); `false`, or a retention of 0, keeps no history. Takes the
    /// place of `retainLogArchive`.
    public var continuousArchive = true
    /// Where the archive keeps its objects; nil: the folder `P-archive/` beside the database.
    public var archiveStore: (any ArchiveStore)?
    /// How long the archive keeps history, in seconds (default 24 hours)…
    public var archiveRetentionSeconds = 24 * 3600
    /// …or until its compressed log reaches this many bytes (default 1 GiB), whichever window
    /// is smaller. Either at 0 turns history off (no archive is kept).
    public var archiveRetentionBytes = 1 << 30
    /// A new base image is taken once this much log (uncompressed) was written since the last.
    public var archiveBaseImageLogBytes = 256 << 20
    /// Whether this database keeps an archive (on, with a non-zero retention window).
    var archiving: Bool { continuousArchive && archiveRetentionSeconds > 0 && archiveRetentionBytes > 0 }
    /// Run the background materializer thread. Tests turn it off to drive rounds by hand.
    public var backgroundMaterializer = true
    /// Tests only: background threads fail to start, as when the system has none to give.
    var threadStartFailsForTesting = false
    /// The file system; tests substitute `FaultInjectingFileSystem`.
    public var fileSystem: any FileSystem = PosixFileSystem()

    public init() {}

    /// The log segment size used on a file system of `bytes` (nil: unknown): `segmentCapacity`,
    /// but at most 1/32 of a small file system, so that an 8 MiB one holds a database with
    /// room to spare (256 KiB segments: the active one and a spare are 1/16 of it). Never below
    /// the smallest capacity `validated` accepts, and a multiple of 64 KiB.
    func segmentCapacity(forFileSystemBytes bytes: UInt64?) -> Int {
        guard let bytes else { return segmentCapacity }
        let smallest = max(64 << 10, 4 * pageSize + 4096)
        let share = Int(min(bytes / 32, UInt64(1 << 30))) & ~(64 << 10 - 1)
        return min(segmentCapacity, max(smallest, share))
    }

    func validated() throws -> StorageOptions {
        guard pageSize >= 4096, pageSize <= 65536, pageSize & (pageSize - 1) == 0 else {
            throw DatabaseError(.misuse, sqlState: SQLState.invalidParameterValue, "page size must be a power of two from 4096 to 65536, not \(pageSize)")
        }
        guard segmentCapacity >= max(64 << 10, 4 * pageSize + 4096), segmentCapacity <= LogFormat.maximumSegmentCapacity else {
            throw DatabaseError(.misuse, sqlState: SQLState.invalidParameterValue, "log segment capacity \(segmentCapacity) is out of range (64 KiB … 1 GiB, at least 4 pages)")
        }
        guard logSoftCapBytes > 0, logHardCapBytes > logSoftCapBytes, cacheBytes >= 16 * pageSize else {
            throw DatabaseError(.misuse, sqlState: SQLState.invalidParameterValue, "log caps must satisfy 0 < soft < hard and the cache must hold at least 16 pages")
        }
        guard commitStreamChunkBytes >= 4096 else {
            throw DatabaseError(.misuse, sqlState: SQLState.invalidParameterValue, "the commit stream chunk must be at least 4096 bytes, not \(commitStreamChunkBytes)")
        }
        guard transactionMemoryBytes >= 16 * pageSize else {
            throw DatabaseError(.misuse, sqlState: SQLState.invalidParameterValue, "transaction memory must hold at least 16 pages, not \(transactionMemoryBytes) bytes")
        }
        guard archiveRetentionSeconds >= 0, archiveRetentionBytes >= 0, archiveBaseImageLogBytes > 0 else {
            throw DatabaseError(.misuse, sqlState: SQLState.invalidParameterValue, "archive retention must be ≥ 0 and the base image interval > 0")
        }
        return self
    }
}

/// Counters and gauges of one open database, for monitoring and tests.
///
/// ```swift
/// let m = db.engine.metrics
/// print(m.unmaterializedBytes, m.fdatasyncCount, m.commits)
/// ```
public struct StorageMetrics: Sendable, CustomStringConvertible {
    public var durableLSN: UInt64
    public var lastCommitLSN: UInt64
    public var materializedLSN: UInt64
    /// Log bytes written but not yet materialized into the page file.
    public var unmaterializedBytes: UInt64
    public var fdatasyncCount: UInt64
    public var commits: UInt64
    public var materializations: UInt64
    public var liveSnapshots: Int
    /// Age of the oldest live read snapshot, in seconds (0 with none).
    public var oldestSnapshotAgeSeconds: Double
    public var cacheHits: UInt64
    public var cacheMisses: UInt64
    public var cachedBytes: Int
    public var pinnedVersions: Int
    public var logSegments: Int
    public var logBytesWritten: UInt64
    /// The materializer's last error, if its last round failed (it retries with back-off).
    public var materializerError: String?
    /// Continuous archive (all 0/nil when it is off): durable log bytes not yet archived…
    public var archiveLagBytes: UInt64 = 0
    /// …and, when there are any, the seconds since the newest commit the archive holds.
    public var archiveLagSeconds: Double = 0
    public var archiveBaseImages = 0
    public var archiveSegments = 0
    public var archiveCompressedLogBytes: UInt64 = 0
    /// Log ranges the archive lost (a segment it could not store), oldest first.
    public var archiveGaps: [ArchiveGap] = []
    /// The archive's last error (ENOSPC, EIO…), nil once it succeeds again.
    public var archiveError: String?

    public var description: String {
        """
        durable LSN \(durableLSN), last commit \(lastCommitLSN), materialized \(materializedLSN) \
        (\(unmaterializedBytes) bytes behind); commits \(commits), fdatasyncs \(fdatasyncCount), \
        materializations \(materializations); snapshots \(liveSnapshots) (oldest \(oldestSnapshotAgeSeconds) s); \
        cache \(cachedBytes) bytes, hits \(cacheHits), misses \(cacheMisses), pinned \(pinnedVersions); \
        log segments \(logSegments)\(archiveText)
        """
    }

    private var archiveText: String {
        guard archiveBaseImages + archiveSegments > 0 || archiveLagBytes > 0 || archiveError != nil else { return "" }
        var text = "; archive \(archiveSegments) segments (\(archiveCompressedLogBytes) bytes), \(archiveBaseImages) base images, lag \(archiveLagBytes) bytes"
        text += " (\(archiveLagSeconds) s), \(archiveGaps.count) gaps"
        if let archiveError { text += ", error: \(archiveError)" }
        return text
    }
}
