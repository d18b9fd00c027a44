// The redo log's writer: appends framed records to an in-memory buffer (assigning LSNs and
// deciding segment boundaries), and makes them durable with group commit.
//
// Group commit: a committer that needs LSN x durable either finds a flush in progress and sleeps,
// or becomes the one flusher: it takes everything buffered so far, writes it to the segment files,
// fdatasyncs once, advances `durableLSN` for everyone and wakes the sleepers it made durable plus
// one other, the next flusher (each sleeps on its own condition, so no one wakes only to sleep
// again). Committers never hold the write lock while they wait; appending continues into a fresh
// buffer meanwhile.
//
// A large transaction appends its redo in several batches ahead of its commit record and
// writes them out without syncing (`writeBuffered`) so the buffer stays small; the bytes on disk
// may then end inside a transaction, so `durableLSN` is the last transaction end the synced
// bytes cover, never a point inside one (docs/storage.md §3, "Large transactions").
//
// States of a segment: active → sealed → (recycled | archived); see docs/storage.md §2. A full
// segment ends with a seal (a log mark record; every record leaves room for it), and the segments
// a flush begins are created, durable, before any byte of the flush is written, so a durable
// seal proves its successor exists. A flush that syncs ends with a log mark naming the end that
// was synced before it, so recovery can tell damage a later flush vouches for from a torn tail.
// Invariants (under `lock`): durableLSN ≤ synced ≤ bufferStart ≤ endLSN, the buffer holds
// bytes [bufferStart, endLSN), and durableLSN and transactionEnd are ends of complete batches.
// Once `failure` is set it never clears: the log refuses appends until the database is reopened.

import Synchronization

final class LogWriter: @unchecked Sendable {
    struct Configuration {
        var directory: String
        var databaseID: UInt64
        var segmentCapacity: UInt32
        var retainArchive: Bool
    }

    let configuration: Configuration
    let fileSystem: any FileSystem
    let lock = ConditionLock()

    // Guarded by `lock`.
    private var buffer: [UInt8] = []
    private var bufferStart: LSN
    private var newSegments: [NewSegment] = []
    private struct NewSegment {
        var start: LSN
        var salt: UInt64
        var chain: LogFormat.SegmentHeader.Chain
    }
    private(set) var endLSN: LSN
    /// Bytes before it are written and synced.
    private var synced: LSN
    /// The last transaction end at or before `synced`: what readers may see.
    private var durable: LSN
    /// The end of the last batch that completed a transaction.
    private var transactionEnd: LSN
    private var flushing = false
    /// Committers asleep until a flush ends, each on its own condition, with the LSN it needs.
    private var waiters: [(lsn: LSN, condition: OwnCondition)] = []
    private var spareConditions: [OwnCondition] = []
    private var failure: DatabaseError?
    private var chain: UInt32
    private var activeStart: LSN
    private var activeSequence: UInt64
    /// The synced end the last log mark named.
    private var markedSyncedEnd: LSN = 0
    /// (end, chained checksum) of recent transaction ends, ascending, for the materializer's
    /// header (`chain(at:)`); trimmed by `forgetChains(before:)`.
    private var transactionChains: [(end: LSN, chain: UInt32)] = []
    private var rng = SystemRandomNumberGenerator()

    // Used only by the flusher of the moment (flushing == true), or before any flush.
    private var activeFile: (any StorageFile)?
    private var activeFileStart: LSN = .max
    /// The active file holds bytes written by `writeBuffered` and not yet synced.
    private var activeFileUnsynced = false
    /// Writes the active file in whole aligned blocks (it is opened for direct writes).
    private let blockWriter = LogBlockWriter()

    // Segment bookkeeping, shared by the flusher and the materializer's release.
    private struct Segments {
        var starts: [LSN]          // every live segment file, ascending
        var recyclable: [String]   // names of files ready to be reused
        var recycleCounter = 0
    }
    private let segments: Locked<Segments>

    /// The continuous archive's hand-off (path, start, end) for each sealed segment released;
    /// set once, before the materializer starts.
    var archiveSegment: ((String, LSN, LSN) -> Void)?

    let syncCount = Atomic<UInt64>(0)
    let bytesWritten = Atomic<UInt64>(0)

    /// Opens the writer positioned at the end of the recovered log.
    /// `lastTransactionEnd` is the recovered log's last commit end (the valid log may go on
    /// past it: log marks, or a transaction a crash cut off). With `abandonsTransaction`, a
    /// mark abandoning that transaction goes first.
    init(configuration: Configuration, fileSystem: any FileSystem, position: LogScanner.Position, existingSegments: [LSN],
         lastTransactionEnd: LSN? = nil, abandonsTransaction: Bool = false) throws {
        self.configuration = configuration
        self.fileSystem = fileSystem
        bufferStart = position.end
        endLSN = position.end
        synced = position.end
        durable = min(lastTransactionEnd ?? position.end, position.end)
        transactionEnd = durable
        chain = position.chain
        activeStart = position.segmentStart
        activeSequence = position.sequence
        transactionChains = [(position.end, position.chain)]
        let names = (try? fileSystem.list(configuration.directory)) ?? []
        for leftover in names where leftover.hasSuffix(".spare") {
            try fileSystem.remove(configuration.directory + "/" + leftover)
        }
        let recyclable = names.filter { $0.hasPrefix("recycle-") && $0.hasSuffix(LogFormat.segmentSuffix) }
        let highest = recyclable.compactMap { Int($0.dropFirst("recycle-".count).dropLast(LogFormat.segmentSuffix.count)) }.max() ?? 0
        segments = Locked(Segments(starts: existingSegments, recyclable: recyclable, recycleCounter: highest))
        if position.capacity != configuration.segmentCapacity {
            // The active segment was made with another capacity: start a fresh one at the end.
            startNewSegment(at: position.end)
        }
        if abandonsTransaction {
            appendMarkLocked(LogMark(syncedEnd: position.end, seal: false, abandon: true))
        }
    }

    var durableLSN: LSN { lock.withLock { durable } }
    var failed: DatabaseError? { lock.withLock { failure } }

    private func startNewSegment(at lsn: LSN) {
        let salt = rng.next()
        activeSequence += 1
        newSegments.append(NewSegment(start: lsn, salt: salt,
                                      chain: .init(previousChecksum: chain, sequence: activeSequence)))
        activeStart = lsn
        chain = LogFormat.chainSeed(salt: salt)
    }

    /// Appends one record (lock held), sealing the active segment and starting the next one
    /// first when the record and a seal after it would not fit.
    private func appendLocked(_ type: LogRecordType, _ payload: [UInt8]) {
        let size = UInt64(LogFormat.recordHeaderSize + payload.count)
        let capacity = UInt64(configuration.segmentCapacity)
        if endLSN - activeStart + size + UInt64(LogMark.recordSize) > capacity {
            // A segment written before seals existed (or with 9-byte marks) may lack the room for one.
            if endLSN - activeStart + UInt64(LogMark.recordSize) <= capacity {
                let seal = LogMark(syncedEnd: synced, seal: true, seed: chain).encoded()
                chain = LogFormat.appendRecord(to: &buffer, lsn: endLSN, type: .mark, payload: seal, previous: chain)
                endLSN += UInt64(LogMark.recordSize)
            }
            startNewSegment(at: endLSN)
        }
        var payload = payload
        if type == .mark, payload.count == LogMark.recordSize - LogFormat.recordHeaderSize {
            // A mark's seed is the chain it follows, known only now.
            withUnsafeBytes(of: chain.littleEndian) { payload.replaceSubrange(9..<13, with: $0) }
        }
        chain = LogFormat.appendRecord(to: &buffer, lsn: endLSN, type: type, payload: payload, previous: chain)
        endLSN += size
    }

    /// Appends a mark that carries its own seed (the chain it follows), so it verifies alone.
    private func appendMarkLocked(_ mark: LogMark) {
        var mark = mark
        mark.seed = 0   // set by appendLocked once the segment (and so the chain) is settled
        appendLocked(.mark, mark.encoded())
    }

    /// The chained checksum of the log at `lsn`, a transaction end not yet forgotten.
    func chain(at lsn: LSN) -> UInt32? {
        lock.withLock {
            var low = 0, high = transactionChains.count
            while low < high {
                let mid = (low + high) / 2
                if transactionChains[mid].end < lsn { low = mid + 1 } else { high = mid }
            }
            return low < transactionChains.count && transactionChains[low].end == lsn ? transactionChains[low].chain : nil
        }
    }

    /// Drops the remembered checksums of transaction ends before `lsn` (a materialized LSN).
    func forgetChains(before lsn: LSN) {
        lock.withLock {
            if let keep = transactionChains.firstIndex(where: { $0.end >= lsn }) {
                transactionChains.removeFirst(keep)
            } else {
                transactionChains.removeAll()
            }
        }
    }

    /// Appends records as one batch and returns the LSN just past the last one. A batch that
    /// does not end its transaction (`endsTransaction: false`, a large commit's redo ahead of
    /// its commit record) never becomes the durable LSN by itself.
    /// The caller holds the database's write lock, so batches never interleave.
    func append(_ records: [(LogRecordType, [UInt8])], endsTransaction: Bool = true) throws -> LSN {
        try lock.withLock {
            if let failure { throw failure }
            // Checked before anything is appended: a batch goes in whole or not at all.
            for (_, payload) in records where LogFormat.recordHeaderSize + payload.count + LogMark.recordSize > Int(configuration.segmentCapacity) {
                throw DatabaseError.tooLarge("log record of \(LogFormat.recordHeaderSize + payload.count) bytes exceeds the segment capacity")
            }
            for (type, payload) in records { appendLocked(type, payload) }
            if endsTransaction {
                transactionEnd = endLSN
                // Bounded: with no materializer running, old ends are forgotten (a header
                // then names no chain, and recovery reads the segment from its start).
                if transactionChains.count >= 1 << 20 { transactionChains.removeFirst(transactionChains.count / 2) }
                transactionChains.append((endLSN, chain))
            }
            return endLSN
        }
    }

    /// Puts the log in the failed state (a large commit failed after part of its redo went
    /// out: no other transaction's records may follow that part).
    func fail(_ error: DatabaseError) {
        lock.withLock {
            if failure == nil { failure = error }
            wakeWaiters()
        }
    }

    /// Bytes appended but not yet handed to a flusher.
    var bufferedBytes: Int { lock.withLock { buffer.count } }

    /// Returns once every record before `lsn` (a transaction end) is durable, flushing if no
    /// one else is.
    func waitDurable(_ lsn: LSN) throws {
        lock.lock()
        defer { lock.unlock() }
        while synced < lsn {
            if let failure { throw failure }
            if flushing {
                sleepUntilFlushEnds(covering: lsn)
                continue
            }
            flushBufferLocked(sync: true)
        }
    }

    /// Sleeps (the lock held) until the end of a flush wakes this waiter: a flush that made
    /// `lsn` durable, or one after which this waiter is the next flusher. With `lsn` 0, the end
    /// of the current flush.
    private func sleepUntilFlushEnds(covering lsn: LSN) {
        let own = spareConditions.popLast() ?? OwnCondition()
        waiters.append((lsn, own))
        lock.wait(on: own)
        // The waker took this waiter off the list, unless the wake-up was spurious.
        if let i = waiters.firstIndex(where: { $0.condition === own }) { waiters.remove(at: i) }
        spareConditions.append(own)
    }

    /// At the end of a flush (or a failure): wakes the waiters whose wait is over (every one
    /// after a failure), and the first of the others, who becomes the next flusher. The rest
    /// sleep on: their records are in the next flush.
    private func wakeWaiters() {
        var next: (lsn: LSN, condition: OwnCondition)?
        for waiter in waiters {
            if failure != nil || waiter.lsn <= synced {
                waiter.condition.signal()
            } else if next == nil || waiter.lsn < next!.lsn {
                next = waiter
            }
        }
        waiters.removeAll { failure != nil || $0.lsn <= synced || $0.condition === next?.condition }
        next?.condition.signal()
    }

    /// Writes everything buffered to the segment files without waiting for the disk: a large
    /// commit's redo on its way, so that the buffer stays small. Called with the write lock held.
    func writeBuffered() throws {
        lock.lock()
        defer { lock.unlock() }
        while flushing {
            if let failure { throw failure }
            sleepUntilFlushEnds(covering: 0)
        }
        if let failure { throw failure }
        guard !buffer.isEmpty else { return }
        flushBufferLocked(sync: false)
        if let failure { throw failure }
    }

    /// Becomes the flusher for everything buffered so far (called and returning with `lock`
    /// held, released during the I/O). With `sync`, the bytes become durable up to the last
    /// transaction end they hold; without, they are only written. A failure sets `failure`.
    private func flushBufferLocked(sync: Bool) {
        if sync && synced > markedSyncedEnd {
            // Vouches for the bytes synced before this flush: a hole before `synced` followed by
            // this mark is damage, not a torn tail.
            appendMarkLocked(LogMark(syncedEnd: synced, seal: false))
            markedSyncedEnd = synced
        }
        flushing = true
        let data = buffer
        let start = bufferStart
        let created = newSegments
        let completed = transactionEnd
        buffer = []
        buffer.reserveCapacity(data.count)
        newSegments = []
        bufferStart = endLSN
        lock.unlock()
        var outcome: DatabaseError?
        do {
            try write(data, from: start, creating: created, sync: sync)
        } catch let error as DatabaseError {
            outcome = error
        } catch {
            outcome = DatabaseError.internalError("\(error)")
        }
        lock.lock()
        flushing = false
        if let outcome {
            failure = outcome
        } else if sync {
            synced = start + UInt64(data.count)
            durable = max(durable, completed)
        }
        wakeWaiters()
    }

    /// Writes `data` (log bytes from LSN `start`) into the segment files, creating the segments
    /// that begin inside it; with `sync`, fdatasyncs every file touched (and the active file if
    /// an earlier unsynced write left bytes in it).
    private func write(_ data: [UInt8], from start: LSN, creating created: [NewSegment], sync: Bool) throws {
        var touched: [any StorageFile] = []
        // Every segment this flush begins exists, durable, before any of its bytes is written:
        // a seal that reaches the disk proves its successor (docs/storage.md §2).
        var pending: [(start: LSN, file: any StorageFile)] = []
        defer { for (_, file) in pending { file.close() } }
        for segment in created {
            pending.append((segment.start, try createSegment(start: segment.start, salt: segment.salt, chain: segment.chain)))
        }
        var position = start
        let end = start + UInt64(data.count)
        while position < end || pending.first?.start == position {
            if let next = pending.first, next.start == position {
                pending.removeFirst()
                if let old = activeFile {
                    try old.sync()
                    syncCount.add(1, ordering: .relaxed)
                    old.close()
                    blockWriter.forget()
                    touched.removeAll { $0 === old }
                    activeFileUnsynced = false
                }
                activeFile = next.file
                activeFileStart = next.start
            }
            if activeFile == nil { activeFile = try openSegment(containing: position) }
            guard let file = activeFile else { break }
            let chunkEnd = min(end, pending.first?.start ?? end)
            guard chunkEnd > position else { continue }
            let from = Int(position - start)
            let to = Int(chunkEnd - start)
            try data.withUnsafeBytes { raw in
                try blockWriter.write(UnsafeRawBufferPointer(rebasing: raw[from..<to]), to: file,
                                      at: UInt64(LogFormat.segmentHeaderSize) + position - activeFileStart)
            }
            if !touched.contains(where: { $0 === file }) { touched.append(file) }
            position = chunkEnd
        }
        bytesWritten.add(UInt64(data.count), ordering: .relaxed)
        guard sync else {
            if !touched.isEmpty { activeFileUnsynced = true }
            return
        }
        if activeFileUnsynced, let file = activeFile, !touched.contains(where: { $0 === file }) { touched.append(file) }
        for file in touched {
            try file.sync()
            syncCount.add(1, ordering: .relaxed)
        }
        activeFileUnsynced = false
    }

    private func openSegment(containing lsn: LSN) throws -> (any StorageFile)? {
        let start = segments.withLock { s in s.starts.last(where: { $0 <= lsn }) }
        guard let start else {
            throw DatabaseError.internalError("no log segment holds LSN \(lsn)")
        }
        activeFileStart = start
        return try fileSystem.openForDirectWrites(configuration.directory + "/" + LogFormat.segmentName(start: start))
    }

    /// Creates (or recycles) the segment file starting at `start`, durable before it returns,
    /// and opens it for the block writer's direct writes.
    private func createSegment(start: LSN, salt: UInt64, chain: LogFormat.SegmentHeader.Chain) throws -> any StorageFile {
        let directory = configuration.directory
        let path = directory + "/" + LogFormat.segmentName(start: start)
        let recycled: String? = segments.withLock { s in s.recyclable.popLast() }
        let file: any StorageFile
        if let recycled {
            try fileSystem.rename(directory + "/" + recycled, to: path)
            file = try fileSystem.open(path, create: false)
            // A file recycled from a smaller capacity: every segment is full length (a shorter
            // one is reported truncated, docs/storage.md §2).
            let total = UInt64(LogFormat.segmentHeaderSize) + UInt64(configuration.segmentCapacity)
            if try file.size() < total { try file.truncate(to: total) }
        } else {
            file = try fileSystem.open(path, create: true)
            try preallocate(file)
        }
        defer { file.close() }
        let header = LogFormat.SegmentHeader(databaseID: configuration.databaseID, startLSN: start, salt: salt,
                                             capacity: configuration.segmentCapacity, chain: chain)
        try file.write(header.encoded(), at: 0)
        try file.sync()
        try fileSystem.syncDirectory(directory)
        syncCount.add(2, ordering: .relaxed)
        segments.withLock { s in
            s.starts.append(start)
            s.starts.sort()
        }
        return try fileSystem.openForDirectWrites(path)
    }

    private func preallocate(_ file: any StorageFile) throws {
        let total = LogFormat.segmentHeaderSize + Int(configuration.segmentCapacity)
        let chunk = [UInt8](repeating: 0, count: min(total, 1 << 20))
        var offset = 0
        while offset < total {
            let n = min(chunk.count, total - offset)
            try chunk.withUnsafeBytes { try file.write(UnsafeRawBufferPointer(rebasing: $0[0..<n]), at: UInt64(offset)) }
            offset += n
        }
    }

    /// Keeps one zero-filled spare segment ready so a segment switch never waits for
    /// preallocation. Called by the materializer thread.
    func prepareSpareSegment() throws {
        let needed = segments.withLock { s -> String? in
            guard s.recyclable.isEmpty else { return nil }
            s.recycleCounter += 1
            return "recycle-\(s.recycleCounter).spare"
        }
        guard let needed else { return }
        let temporary = configuration.directory + "/" + needed
        let file = try fileSystem.open(temporary, create: true)
        defer { file.close() }
        try preallocate(file)
        try file.sync()
        let name = String(needed.dropLast(".spare".count)) + ".log"
        try fileSystem.rename(temporary, to: configuration.directory + "/" + name)
        try fileSystem.syncDirectory(configuration.directory)
        segments.withLock { s in s.recyclable.append(name) }
    }

    /// Releases every sealed segment whose records all lie before `materialized`: hands it to
    /// the continuous archive when there is one, archives it (zstd) when retention is on, otherwise keeps up to two files for reuse and deletes the rest.
    func releaseSegments(before materialized: LSN) throws {
        let releasable: [(start: LSN, end: LSN)] = segments.withLock { s in
            var result: [(LSN, LSN)] = []
            for (i, start) in s.starts.enumerated() where i + 1 < s.starts.count && s.starts[i + 1] <= materialized {
                result.append((start, s.starts[i + 1]))
            }
            return result
        }
        guard !releasable.isEmpty else { return }
        let directory = configuration.directory
        for (start, end) in releasable {
            let path = directory + "/" + LogFormat.segmentName(start: start)
            // The continuous archive stores it (or records a gap) before it is recycled; with
            // `retainLogArchive` too, it is also kept in P-log/archive/ as before.
            archiveSegment?(path, start, end)
            if configuration.retainArchive {
                try archive(segment: path, start: start)
                try fileSystem.remove(path)
            } else {
                let name: String? = segments.withLock { s in
                    guard s.recyclable.count < 2 else { return nil }
                    s.recycleCounter += 1
                    return "recycle-\(s.recycleCounter).log"
                }
                if let name {
                    try fileSystem.rename(path, to: directory + "/" + name)
                    segments.withLock { s in s.recyclable.append(name) }
                } else {
                    try fileSystem.remove(path)
                }
            }
            segments.withLock { s in s.starts.removeAll { $0 == start } }
        }
        try fileSystem.syncDirectory(directory)
    }

    private func archive(segment path: String, start: LSN) throws {
        let archiveDirectory = configuration.directory + "/" + LogFormat.archiveDirectory
        try fileSystem.makeDirectory(archiveDirectory)
        let file = try fileSystem.open(path, create: false)
        let bytes = try file.readBytes(count: Int(try file.size()), at: 0)
        file.close()
        let compressed = try Zstd.compress(bytes)
        let target = archiveDirectory + "/" + LogFormat.segmentName(start: start) + ".zst"
        let out = try fileSystem.open(target, create: true)
        defer { out.close() }
        try out.truncate(to: 0)
        try out.write(compressed, at: 0)
        try out.sync()
        try fileSystem.syncDirectory(archiveDirectory)
    }

    /// Live segment files (not counting spares), for metrics and tests.
    var segmentCount: Int { segments.withLock { $0.starts.count } }
    /// The start of the oldest live segment.
    var oldestSegmentStart: LSN? { segments.withLock { $0.starts.first } }

    func close() {
        activeFile?.close()
        activeFile = nil
        blockWriter.forget()
    }
}
