// The source's log as a point-in-time restore reads it (docs/backup.md §5): a read-only folder
// of segments for the log scanner, each loaded from wherever the source keeps it at the moment
// the scanner opens it — read from its log folder, or decompressed from its retained archive or
// its continuous archive — and let go when the scanner moves on; the next one is loaded ahead
// while the scanner reads. Nothing is copied to disk, and memory holds two or three segments
// whatever the length of the log.
//
// A segment that cannot be loaded (missing, damaged) reads as an empty file, so the valid log
// ends before it as the scanner sees it; `problems` says why. A segment of another database is
// an error. With a cut, the bytes past it read as zeros and the segments after it are absent,
// so a scan ends exactly there.

/// Where each segment of a restore's window is kept, and how to load it.
struct RestoreLogSources: @unchecked Sendable {
    /// Segment starts of the window, ascending.
    let starts: [LSN]
    /// The segment's bytes, decompressed and with its header checked against the database;
    /// `.problem` when it is missing or damaged (the window ends before it). Throws when it is
    /// a segment of another database.
    let load: (LSN) throws -> RestoreLogView.Loaded
}

final class RestoreLogView: FileSystem, @unchecked Sendable {
    typealias Loaded = ArchiveLogSource.Loaded

    /// The folder the scanner is pointed at (it exists only in this view).
    static let directory = "/point-in-time-restore-log"

    private let sources: RestoreLogSources
    private let visible: Set<LSN>
    private let ordered: [LSN]
    private let cut: (segment: LSN, end: LSN)?
    private let recorded = Locked<[String]>([])
    /// The segment after the one last opened, loaded ahead on a thread of its own while the
    /// scanner reads the one before it (decompressing an archived segment costs about as much
    /// as scanning it). Guarded by `lock`.
    private var ahead: (start: LSN, loaded: Result<Loaded, any Error>?)?
    /// Set by `finish`: nothing more is loaded ahead. Guarded by `lock`.
    private var finished = false
    private let lock = ConditionLock()

    /// What could not be loaded, in the order the scanner met it.
    var problems: [String] { recorded.withLock { $0 } }

    init(_ sources: RestoreLogSources, cutAt cut: (segment: LSN, end: LSN)? = nil) {
        self.sources = sources
        self.cut = cut
        self.ordered = sources.starts.filter { start in cut.map { start <= $0.segment } ?? true }
        self.visible = Set(ordered)
    }

    /// The segment's bytes: the one loaded ahead if it is this one, else loaded now. Then the
    /// next one starts loading.
    private func load(_ start: LSN) throws -> Loaded {
        let early: Result<Loaded, any Error>? = lock.withLock {
            guard let ahead, ahead.start == start else { return nil }
            while self.ahead?.loaded == nil { lock.wait() }
            defer { self.ahead = nil }
            return self.ahead?.loaded
        }
        let loaded = try early.map { try $0.get() } ?? sources.load(start)
        if let index = ordered.firstIndex(of: start), index + 1 < ordered.count {
            let next = ordered[index + 1]
            guard lock.withLock({ () -> Bool in
                if finished { return false }
                ahead = (next, nil)
                return true
            }) else { return loaded }
            do {
                try startBackgroundThread(name: "borealis-restore") { [self] in
                    let result = Result { try sources.load(next) }
                    lock.withLock {
                        if ahead?.start == next { ahead?.loaded = result }
                        lock.broadcast()
                    }
                }
            } catch {
                lock.withLock { ahead = nil } // no thread to spare: loaded when opened
            }
        }
        return loaded
    }

    /// Waits for the segment loading ahead, if any, and loads none after: called once the
    /// scans are over (or have failed), so that no thread reads the source after the restore
    /// returns.
    func finish() {
        lock.withLock {
            finished = true
            while let ahead, ahead.loaded == nil { lock.wait() }
            ahead = nil
        }
    }

    func list(_ directory: String) throws -> [String] {
        visible.sorted().map { LogFormat.segmentName(start: $0) }
    }

    func exists(_ path: String) -> Bool { path == Self.directory || start(of: path) != nil }

    func open(_ path: String, create: Bool) throws -> any StorageFile {
        guard !create, let start = start(of: path) else { throw Self.readOnly(path) }
        switch try load(start) {
        case .problem(let problem):
            recorded.withLock { $0.append(problem) }
            return LoadedSegmentFile(path: path, bytes: [])
        case .bytes(var bytes):
            if let cut, cut.segment == start {
                let offset = LogFormat.segmentHeaderSize + Int(cut.end - start)
                if offset < bytes.count {
                    bytes.withUnsafeMutableBytes { UnsafeMutableRawBufferPointer(rebasing: $0[offset...]).initializeMemory(as: UInt8.self, repeating: 0) }
                }
            }
            return LoadedSegmentFile(path: path, bytes: bytes)
        }
    }

    private func start(of path: String) -> LSN? {
        guard path.hasPrefix(Self.directory + "/"),
              let start = LogFormat.parseSegmentName(String(path.dropFirst(Self.directory.count + 1))),
              visible.contains(start) else { return nil }
        return start
    }

    private static func readOnly(_ path: String) -> DatabaseError {
        DatabaseError(.cantOpen, sqlState: SQLState.undefinedFile, "\(path): the restore's view of a log is read-only and holds only its segments")
    }

    func remove(_ path: String) throws { throw Self.readOnly(path) }
    func rename(_ from: String, to: String) throws { throw Self.readOnly(from) }
    func makeDirectory(_ path: String) throws { throw Self.readOnly(path) }
    func syncDirectory(_ path: String) throws {}
    func tryLockOwner(of path: String, create: Bool) throws -> OwnerLockAttempt { throw Self.readOnly(path) }
}

/// One loaded segment, read-only.
private final class LoadedSegmentFile: StorageFile, @unchecked Sendable {
    let path: String
    private let bytes: [UInt8]

    init(path: String, bytes: [UInt8]) {
        self.path = path
        self.bytes = bytes
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int {
        guard offset < UInt64(bytes.count) else { return 0 }
        let start = Int(offset)
        let count = min(buffer.count, bytes.count - start)
        bytes.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[start..<(start + count)])) }
        return count
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
        throw DatabaseError(.readOnly, sqlState: SQLState.readOnlySQLTransaction, "\(path) is a restore's read-only view of a log segment")
    }

    func sync() throws {}
    func size() throws -> UInt64 { UInt64(bytes.count) }
    func truncate(to size: UInt64) throws { try write(UnsafeRawBufferPointer(start: nil, count: 0), at: 0) }
    func close() {}
}
