// The memory one statement may hold (issue 19; docs/robustness.md, "Memory"). Borealis runs
// inside its caller's process: a statement that asks for more memory than the machine has must
// fail with an error, not have the process killed. Two rules:
//
// - What can spill does so before it grows large: sorts, DISTINCT, hash aggregation and hash
//   joins move rows to temporary files past `spillBytes` (or past the work memory's row
//   count), whichever comes first.
// - What cannot spill (the inputs an aggregate keeps: string_agg's pieces, array_agg's and
//   json_agg's elements, DISTINCT sets, ordered inputs; groups past the last spill level) is
//   charged here as it grows; past `limit`, the statement fails with 53200 "out of memory".
//
// Charges are not given back while the statement runs (the aggregates' results stay in memory
// until the statement's rows are read), except by a site that materializes rows again each time
// it runs (a nested loop's inner side, a window's input, a subquery's result inside a
// correlated loop): its new rows replace its last run's. Each statement starts from zero.

import BorealisStorage

package final class StatementMemory {
    /// The bytes a statement may hold in what cannot spill: the session's `statement_memory`,
    /// read when first needed (most statements never charge anything).
    var limit: Int {
        if let resolved { return resolved }
        let value = max(1, session?.statementMemoryBytes ?? StatementMemory.defaultLimit)
        resolved = value
        return value
    }
    private var resolved: Int?
    private var session: SessionSettings?
    /// Bytes charged since the statement began.
    private(set) var charged = 0
    /// How many times an operator of the statement went to temporary files (a sort's run, a
    /// hash aggregation's or join's partitioning).
    var spills = 0

    /// A quarter of the machine's memory (at least 256 MiB): `statement_memory`'s default.
    package static let defaultLimit: Int = {
        let physical = Int(clamping: physicalMemoryBytes())
        return max(256 << 20, physical / 4)
    }()

    package init() {}

    /// Bytes each materializing site's last run holds, by the site's identity.
    private var sites: [ObjectIdentifier: Int] = [:]

    /// Bytes the statement's temporary files hold now (a spill file gives its bytes back when
    /// it goes), against `temp_file_limit` (PostgreSQL's: none by default).
    private(set) var temporaryBytes = 0
    private var temporaryLimit: Int?? = .none
    /// Counts statements, so that a spill file outliving its statement gives back nothing.
    private(set) var generation = 0

    /// Starts a new statement's count, under `session`'s limit (or `limit` bytes).
    func reset(session: SessionSettings?, limit: Int? = nil) {
        self.session = session
        resolved = limit.map { max(1, $0) }
        charged = 0
        spills = 0
        if !sites.isEmpty { sites = [:] }
        temporaryBytes = 0
        temporaryLimit = .none
        generation &+= 1
    }

    /// A spill file of this statement writes `bytes` more; past temp_file_limit, 53400 as in
    /// PostgreSQL (a full disk is 53100, from the write itself).
    func chargeTemporary(_ bytes: Int) throws {
        temporaryBytes &+= bytes
        if temporaryLimit == .none { temporaryLimit = .some(session?.temporaryFileLimitBytes) }
        if let limit = temporaryLimit ?? nil, temporaryBytes > limit {
            throw DatabaseError(.full, sqlState: SQLState.configurationLimitExceeded,
                                "temporary file size exceeds temp_file_limit (\(limit / 1024)kB)")
        }
    }

    /// A spill file made during statement `generation` is gone with its `bytes`.
    func releaseTemporary(_ bytes: Int, generation: Int) {
        if generation == self.generation { temporaryBytes &-= bytes }
    }

    /// The rows `site` materialized when it last ran are gone: gives back their bytes. The site
    /// then charges its new rows one by one and calls `recordRun(of:bytes:)` at the end.
    func startRun(of site: AnyObject) {
        if let previous = sites.removeValue(forKey: ObjectIdentifier(site)) { charged &-= previous }
    }

    /// `site`'s run holds `bytes` (already charged).
    func recordRun(of site: AnyObject, bytes: Int) {
        if bytes > 0 { sites[ObjectIdentifier(site)] = bytes }
    }

    /// Materializes `next` for `site` (one run replacing its last), charging every row.
    func materialize(_ next: RowStream, for site: AnyObject) throws -> [[Value]] {
        try materialize(for: site) { keep in
            while let row = try next() { try keep(row) }
        }
    }

    /// As `materialize(_:for:)` for an input that fills batches: each row is made once, from
    /// its slots in the batch, with room for `extra` more values (a window appends its calls'
    /// values to every row without growing the array again).
    func materialize(_ next: BatchStream, width: Int, extra: Int, for site: AnyObject) throws -> [[Value]] {
        try materialize(for: site) { keep in
            var batch = RowBatch(width: width)
            while try next(&batch) {
                for r in 0..<batch.count { try keep(batch.row(r, reserving: extra)) }
            }
        }
    }

    /// One run of `site`: `produce` hands each row to `keep`, which charges and keeps it.
    private func materialize(for site: AnyObject, _ produce: (_ keep: ([Value]) throws -> Void) throws -> Void) throws -> [[Value]] {
        startRun(of: site)
        var rows: [[Value]] = []
        var bytes = 0
        try produce { row in
            let size = Value.memoryFootprint(of: row)
            bytes &+= size
            try charge(size)
            rows.append(row)
        }
        recordRun(of: site, bytes: bytes)
        return rows
    }

    /// Bytes an operator that can spill keeps in memory before it writes to temporary files:
    /// 64 MiB, or a quarter of the limit when that is smaller.
    var spillBytes: Int { min(64 << 20, max(1, limit / 4)) }

    /// Charges `bytes` to the statement; throws 53200 once it holds more than its limit.
    @inline(__always)
    func charge(_ bytes: Int) throws {
        charged &+= bytes
        if charged > limit { throw outOfMemory() }
    }

    private func outOfMemory() -> DatabaseError {
        DatabaseError(.noMemory, sqlState: SQLState.outOfMemory,
                      "out of memory: the statement holds more than statement_memory (\(SessionSettings.describeKilobytes(limit / 1024)))")
    }
}
