// The storage half of the full integrity check (docs/backup.md §1, items 1 and 2): every page
// checksum of the page file and every record checksum of the live log, plus the archived
// segments. Run on a live database: a page that fails while the materializer may be writing
// it is read again with rounds held off, so a page caught mid-write is not reported as damage;
// a log that moves under the scan (segments released by a round) is scanned again from the
// new materialized LSN.

extension StorageEngine {
    /// Reads every materialized page of the page file in runs of 64 pages and checks its
    /// checksum and page number; adds a `pageChecksum` problem per damaged page.
    /// `stop` is asked between batches of 64 pages: true ends the pass early (the statement
    /// running the check was interrupted; its caller throws).
    package func checkPageChecksums(into report: inout IntegrityReport, stop: () -> Bool = { false }) {
        let pages = min(pageFile.pagesInFile, cache.materializedPages)
        guard pages > 1 else { return }
        var suspects: [PageNumber] = []
        var first: PageNumber = 1
        while first < pages {
            if stop() { return }
            let count = Int(min(64, pages - first))
            do {
                let images = try pageFile.read(first, count: count)
                for (i, image) in images.enumerated() where !image.isValid(as: first + UInt64(i)) {
                    suspects.append(first + UInt64(i))
                }
            } catch {
                report.add(IntegrityProblem(.pageChecksum, page: first, object: "page file", "pages \(first)..<\(first + UInt64(count)) cannot be read: \(StorageTransaction.text(of: error))"))
            }
            report.pagesChecked += count
            first += UInt64(count)
        }
        guard !suspects.isEmpty else { return }
        // Again with no round writing the page file: what still fails is damage.
        materializer.withoutRounds {
            for number in suspects {
                do {
                    let image = try pageFile.read(number)
                    if !image.isValid(as: number) {
                        let what = image.pageNumber == number || image.storedChecksum != image.computeChecksum()
                            ? "checksum mismatch (stored \(hexChecksum(image.storedChecksum)), computed \(hexChecksum(image.computeChecksum())))"
                            : "the page holds page \(image.pageNumber)"
                        report.add(IntegrityProblem(.pageChecksum, page: number, object: "page file", what))
                    }
                } catch {
                    report.add(IntegrityProblem(.pageChecksum, page: number, object: "page file", "cannot be read: \(StorageTransaction.text(of: error))"))
                }
            }
        }
    }

    /// What a scan of the live log found.
    struct LogScanSummary {
        /// The end of the last commit whose records are all valid.
        var lastCommitEnd: LSN
        /// The wall-clock time of the last commit at or before the LSN asked for, if the log holds it.
        var commitMicros: Int64?
        var bytes: UInt64
        var problems: [IntegrityProblem]
    }

    /// Scans the live log from the materialized LSN: record checksums (the scan stops at the
    /// first invalid one), page-record counts of commit records, and the commit time of the
    /// last commit ≤ `lsn`. Retries when a round releases segments under the scan.
    func scanLiveLog(timeAt lsn: LSN) -> LogScanSummary {
        var attempt = 0
        while true {
            // The header's materialized LSN and the log's checksum there: the scan starts at M.
            let (from, seed) = materializer.withoutRounds { (pageFile.header.materializedLSN, pageFile.header.logChain) }
            var summary = LogScanSummary(lastCommitEnd: from, commitMicros: nil, bytes: 0, problems: [])
            let scanner = LogScanner(fileSystem: fileSystem, directory: path + "-log", databaseID: databaseID)
            var pending: UInt64 = 0
            do {
                if seed != nil, let problem = try damageBeforeMaterialized(scanner, materialized: from) {
                    summary.problems.append(problem)
                }
                let end = try scanner.scan(from: from, seed: seed) { event in
                    guard case .record(let record) = event, record.after.end > from else { return }
                    summary.bytes += record.after.end - record.lsn
                    switch LogRecordType(rawValue: record.type) {
                    case .pageRedo:
                        pending += 1
                    case .commit:
                        let commit = try CommitRecord.decode(record.payload)
                        if commit.pageRecordCount != pending {
                            summary.problems.append(IntegrityProblem(.logChecksum, object: "log", "commit record at LSN \(record.lsn) counts \(commit.pageRecordCount) page records, the log holds \(pending)"))
                        }
                        pending = 0
                        summary.lastCommitEnd = record.after.end
                        if record.after.end <= lsn { summary.commitMicros = commit.timestamp }
                    case .mark:
                        if try LogMark.decode(record.payload).abandon { pending = 0 }
                    case nil:
                        summary.problems.append(IntegrityProblem(.logChecksum, object: "log", "record at LSN \(record.lsn) has unknown type \(record.type)"))
                    }
                }
                if end == nil && from < lastCommitLSN {
                    summary.problems.append(IntegrityProblem(.logChecksum, object: "log", "no log segment holds the materialized LSN \(from)"))
                }
                return summary
            } catch {
                attempt += 1
                if cache.materializedLSN != from && attempt < 5 { continue }
                summary.problems.append(IntegrityProblem(.logChecksum, object: "log", "the log cannot be read from LSN \(from): \(StorageTransaction.text(of: error))"))
                return summary
            }
        }
    }

    /// Log records before the materialized LSN are no longer needed (recovery starts at M with
    /// the checksum the header records): damage there is reported as harmless.
    private func damageBeforeMaterialized(_ scanner: LogScanner, materialized: LSN) throws -> IntegrityProblem? {
        struct Reached: Error {}
        var end: LSN?
        do {
            end = try scanner.scan(from: materialized) { event in
                if case .record(let record) = event, record.after.end >= materialized { throw Reached() }
            }?.end
        } catch is Reached {
            return nil
        }
        guard let end, end < materialized else { return nil }
        let segment = (try scanner.segments()).last(where: { $0 <= end }).map(LogFormat.segmentName) ?? "?"
        return IntegrityProblem(.logChecksum, object: "log segment \(segment)",
                                "damaged at LSN \(end), before the materialized LSN \(materialized): harmless, every page in the page file is past it and no open reads it")
    }

    /// Checks the live log up to `lsn` (a commit the check's snapshot sees) and the archived
    /// segments in `P-log/archive/`.
    package func checkLog(through lsn: LSN, into report: inout IntegrityReport) {
        let summary = scanLiveLog(timeAt: lsn)
        report.logBytesChecked += summary.bytes
        for problem in summary.problems { report.add(problem) }
        // Every durable commit the snapshot sees must be in the valid log.
        let durable = min(lsn, log.durableLSN)
        if summary.problems.isEmpty, summary.lastCommitEnd < durable, summary.lastCommitEnd >= cache.materializedLSN {
            report.add(IntegrityProblem(.logChecksum, object: "log", "the valid log ends at LSN \(summary.lastCommitEnd), before the durable commit at LSN \(durable) [lsn \(lsn) log.durable \(log.durableLSN) M \(cache.materializedLSN) last \(lastCommitLSN)]"))
        }
        checkArchivedSegments(into: &report)
    }

    /// Every `P-log/archive/<start>.log.zst` must decompress to a segment of this database
    /// starting at its name's LSN.
    func checkArchivedSegments(into report: inout IntegrityReport) {
        let directory = path + "-log/" + LogFormat.archiveDirectory
        guard fileSystem.exists(directory), let names = try? fileSystem.list(directory) else { return }
        for name in names.sorted() where name.hasSuffix(".zst") {
            let segmentName = String(name.dropLast(4))
            guard let start = LogFormat.parseSegmentName(segmentName) else { continue }
            do {
                let file = try fileSystem.open(directory + "/" + name, create: false)
                defer { file.close() }
                let size = try file.size()
                guard size <= UInt64(Int32.max) else { throw DatabaseError.corrupt("\(size) bytes is too large for an archived segment") }
                let bytes = try Zstd.decompress(try file.readBytes(count: Int(size), at: 0),
                                                maximumSize: LogFormat.segmentHeaderSize + Int(log.configuration.segmentCapacity) + (1 << 20))
                let header = bytes.withUnsafeBytes { LogFormat.SegmentHeader.decode($0) }
                guard let header, header.databaseID == databaseID, header.startLSN == start else {
                    throw DatabaseError.corrupt("its segment header is not a valid header of this database at LSN \(start)")
                }
                report.logBytesChecked += UInt64(bytes.count)
            } catch {
                report.add(IntegrityProblem(.logChecksum, object: "archived segment \(name)", StorageTransaction.text(of: error)))
            }
        }
    }
}

func hexChecksum(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
}
