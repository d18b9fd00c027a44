// The SQL entry point: a connection to one database. Statements run in autocommit mode unless
// a BEGIN opened a transaction block; inside a block a failing statement leaves the whole
// transaction failed, as in PostgreSQL (25P02 until ROLLBACK). COMMIT of a failed block rolls
// it back and says so by failing (ABORT, 25P02): it can never be mistaken for a commit.
//
//   idle ──BEGIN──▶ in block ──error──▶ failed ──ROLLBACK──▶ idle
//                   in block ──COMMIT/ROLLBACK──▶ idle
//                                       failed ──COMMIT──▶ idle, throws "transaction was rolled back"
//
// A block begun READ ONLY (and every `read { }`) refuses writes with 25006.
//
// At ~780 lines this file holds the connection's state machine and everything that touches its
// private state under its lock — including the streamed SELECTs' cursors (start, next, end),
// which take part in the transaction block, the interrupt count and close; the parts that do
// not (async variants, schema listings, records, statements, temporary tables, the cursor's
// own row buffer in `SelectCursor.swift`) live in their own files.

import FoundationEssentials
import Synchronization
import BorealisSQL
import BorealisStorage

extension Statement {
    var isRelease: Bool { if case .releaseSavepoint = self { return true } else { return false } }

    /// INSERT, UPDATE or DELETE: changes rows, never the catalog.
    var isDataChange: Bool {
        switch self {
        case .insert, .update, .delete: return true
        default: return false
        }
    }

    var kindName: String {
        switch self {
        case .insert: return "INSERT"
        case .update: return "UPDATE"
        case .delete: return "DELETE"
        case .createTable, .createIndex, .createView: return "CREATE"
        case .dropTable, .dropIndex, .dropView: return "DROP"
        case .alterTable: return "ALTER TABLE"
        case .truncate: return "TRUNCATE"
        case .sequence(.create): return "CREATE SEQUENCE"
        case .sequence(.alter): return "ALTER SEQUENCE"
        case .sequence(.drop): return "DROP SEQUENCE"
        case .analyze: return "ANALYZE"
        case .select where movesSequences: return "nextval()"  // or setval(): the usual one is named
        default: return "this statement"
        }
    }
}

/// A connection to a Borealis database: open it, run SQL, close it. Open one per thread for
/// concurrent work: connections to the same file share one storage engine (one log, one write
/// lock), so their commits share fdatasyncs; one connection runs its statements one at a time.
///
/// ```swift
/// let db = try Database(path: "/tmp/app.db")
/// try db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT)")
/// try db.execute("INSERT INTO t VALUES ($1, $2)", [.integer(1), .text("one")])
/// let result = try db.execute("SELECT name FROM t WHERE id = 1")
/// ```
public final class Database: @unchecked Sendable {
    /// The storage engine (shared by every connection to the file). Replaced only when a
    /// replica is promoted over a failed engine.
    public private(set) var engine: StorageEngine
    private let lock = ConditionLock()

    /// `lock.withLock` for calls that may throw: a progress handler calling its own connection
    /// (whose statement holds the lock on the handler's own thread) gets MISUSE, not a deadlock.
    private func locked<T>(_ body: () throws -> T) throws -> T {
        if watch.isHandlerThread {
            throw DatabaseError.misuse("a progress handler cannot run statements on its own connection")
        }
        return try lock.withLock(body)
    }

    /// `lock.withLock` for reads and settings that cannot fail: from the progress handler the
    /// lock is already held by this very thread, so `body` runs as it is.
    func lockedValue<T>(_ body: () -> T) -> T {
        if watch.isHandlerThread { return body() }
        return lock.withLock(body)
    }
    // Guarded by `lock` (every public entry point holds it).
    private var transaction: StorageTransaction?
    private var inBlock = false
    /// The error that failed the block, nil while it has not failed (quoted when a COMMIT
    /// then rolls it back).
    private var blockFailure: String?
    private var blockFailed: Bool { blockFailure != nil }
    /// The block was begun READ ONLY (or a `read { }` runs inside a block).
    private var blockReadOnly = false
    /// Stops the running statement from another thread; the progress handler.
    private let watch = StatementWatch()
    /// The connection's configuration parameters: SET, SHOW, RESET, current_setting().
    package let session: SessionSettings
    /// This connection's busy timeout (guarded by `lock`).
    private var busyTimeout: Int
    private var savepoints: [(name: String, state: StorageTransaction.Savepoint)] = []
    private var catalogCache: Catalog?
    /// Pages this connection read lately, reused by its next transaction at the same snapshot.
    private let pageMemo = PageMemo()
    /// The transaction `catalogCache` was last checked against: within one transaction only its
    /// own DDL changes the catalog, so the version is not read again until a DDL statement runs.
    private var catalogCheckedIn: UInt64?
    /// The snapshot LSN at which `catalogCache` was last found current, by a transaction that
    /// had run no DDL: any later transaction at that same snapshot sees the same catalog
    /// (until it runs DDL itself), so short statements in a row skip reading the version.
    private var catalogCurrentAt: LSN?
    /// The transaction that last ran DDL (its catalog is not the committed one at its snapshot).
    private var ddlTransaction: UInt64?

    private var workMemory = 250_000

    /// Rows a sort or a hash aggregation keeps in memory before it spills to temporary files.
    public var workMemoryRows: Int {
        get { lockedValue { workMemory } }
        set { lockedValue { workMemory = max(1, newValue) } }
    }

    /// How long this connection waits for another connection's write transaction to end before
    /// failing with BUSY (SQLSTATE 55P03). Each connection has its own, set at open from
    /// `StorageOptions.busyTimeoutMilliseconds`.
    public var busyTimeoutMilliseconds: Int {
        get { lockedValue { busyTimeout } }
        set { lockedValue { busyTimeout = max(0, newValue) } }
    }

    /// Makes the statement running on this connection, if any, stop with SQLSTATE 57014
    /// ("canceling statement due to user request"); its transaction behaves as after any
    /// failed statement. Safe from any thread; does nothing when no statement runs.
    ///
    /// A prepared SELECT whose rows are being stepped through counts as running from its first
    /// `step` until it is exhausted, fails, is reset or is deallocated (as in SQLite): an
    /// interrupt stops it at its next batch of rows, and any statement the connection starts
    /// meanwhile.
    public func interrupt() {
        guard inFlight.load(ordering: .relaxed) > 0 || activeCursors.load(ordering: .relaxed) > 0 else { return }
        watch.interrupt()
        // The statement may have ended meanwhile; an interrupt must not outlive it.
        if idle { watch.clear() }
    }

    /// No statement runs or waits, and no cursor is open.
    private var idle: Bool {
        inFlight.load(ordering: .relaxed) == 0 && activeCursors.load(ordering: .relaxed) == 0
    }

    /// A statement ends: with none left running or waiting, a pending interrupt is dropped.
    private func statementEnded() {
        // The last statement in flight ends: nothing is timed until the next one starts (a
        // streamed SELECT's later batches are not), and a pending interrupt is spent.
        if inFlight.subtract(1, ordering: .relaxed).newValue == 0 {
            watch.statementTimingEnds()
            if idle { watch.clear() }
        }
    }

    /// Calls `handler` on the statement's thread every `units` units of work (a unit is one
    /// page read) while a statement of this connection runs; returning true interrupts the
    /// statement (57014). Pass nil to remove it.
    public func setProgressHandler(every units: Int, _ handler: (() -> Bool)?) {
        lockedValue { watch.setProgressHandler(every: units, handler) }
    }

    /// Refuses every write with a READONLY error (SQLSTATE 25006): opened read-only, or a
    /// replica not promoted.
    public var isReadOnly: Bool { lockedValue { readOnlyMode } }
    private var readOnlyMode: Bool
    /// Set while this connection is a replica (docs/replicas.md). Mirrored in `replicaLink`
    /// for the calls (waitFor, lag) that must not wait for a running statement.
    private var replica: Replica? {
        didSet { replicaLink.withLock { $0 = replica } }
    }
    private let replicaLink = Locked<Replica?>(nil)
    private let lastCommit = Atomic<UInt64>(0)
    /// The folder of a `:memory:` database, removed on close.
    private let temporaryFolder: String?
    /// This connection's temporary tables (docs/temporary-tables.md; guarded by `lock`).
    let temporary = TemporaryTables()

    /// Log segment size of a `:memory:` database.
    static let memorySegmentCapacity = 1 << 20

    /// Opens (creating when absent) the database at `path`; `":memory:"` makes a temporary
    /// database that disappears on close (it runs at `synchronous = off`: nothing of it
    /// outlives the process anyway).
    public init(path: String, options: StorageOptions = StorageOptions(), readOnly: Bool = false) throws {
        // current_database() names the file, as a server names its database.
        let file = path.split(separator: "/").last.map(String.init) ?? path
        session = SessionSettings(serverVersion: borealisVersion, database: file.hasSuffix(".db") ? String(file.dropLast(3)) : file)
        var location = path
        if path == ":memory:" {
            let folder = temporaryPath("borealis-memory")
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            temporaryFolder = folder
            location = folder + "/db"
        } else {
            temporaryFolder = nil
        }
        readOnlyMode = readOnly
        busyTimeout = options.busyTimeoutMilliseconds
        self.location = location
        var options = options
        if readOnly && temporaryFolder == nil { options.createIfMissing = false }
        // A read-only open keeps an archive that exists (its history stays whole when recovery
        // releases segments) but does not start one: opening to read must not write a folder
        // and a base image of the whole database beside it.
        if readOnly && options.continuousArchive {
            let hasArchive = options.archiveStore.map { !((try? $0.list("catalogue/")) ?? []).isEmpty }
                ?? options.fileSystem.exists(EngineRegistry.key(for: location) + "-archive")
            if !hasArchive { options.continuousArchive = false }
        }
        if temporaryFolder != nil {
            options.continuousArchive = false
            // A database that disappears on close needs no durability: commits skip fdatasync,
            // and small log segments make open and close cheap (each segment and its spare are
            // written full of zeros when made, and deleted at close: 16 MiB ones cost ~100 ms).
            options.synchronous = .off
            options.segmentCapacity = min(options.segmentCapacity, Self.memorySegmentCapacity)
        }
        do {
            engine = try EngineRegistry.acquire(path: location, options: options, temporaryFolder: temporaryFolder)
        } catch {
            if let temporaryFolder { try? FileManager.default.removeItem(atPath: temporaryFolder) }
            throw error
        }
    }

    /// A replica of `primary`'s database: its own cache and apply thread, read-only.
    private init(replicaOf primary: Database, options: ReplicaOptions) throws {
        session = SessionSettings(serverVersion: borealisVersion, database: primary.session.database)
        location = primary.location
        temporaryFolder = nil
        readOnlyMode = true
        busyTimeout = primary.busyTimeoutMilliseconds
        // The primary's own options: a second open must agree with the file's settings.
        engine = try EngineRegistry.acquire(path: location, options: primary.engine.options)
        do {
            let attached = try Replica(engine: engine, options: options)
            replica = attached
            replicaLink.withLock { $0 = attached }
        } catch {
            try? EngineRegistry.release(path: location)
            closed = true // deinit's close must not give the engine back a second time
            throw error
        }
    }

    // MARK: Replicas (docs/replicas.md)

    /// Opens a read replica of this database: a read-only connection with its own page cache
    /// (`options.cacheBytes`) and apply thread, following the writer's durable commits.
    /// Attaching costs O(1) whatever the database size.
    public func openReplica(options: ReplicaOptions = ReplicaOptions()) throws -> Database {
        let open = lockedValue { !closed }
        guard open else { throw DatabaseError.misuse("the database connection is closed") }
        return try Database(replicaOf: self, options: options)
    }

    /// The replica behind this connection (tests).
    var replicaForTesting: Replica? { replicaLink.withLock { $0 } }

    /// Whether this connection is a replica (not promoted).
    public var isReplica: Bool { replicaLink.withLock { $0 != nil } }

    /// The commit LSN of the last write transaction committed on this connection (0 before
    /// the first). Pass it to a replica's `waitFor(lsn:timeout:)` to read your own writes.
    public var lastCommitLSN: UInt64 { lastCommit.load(ordering: .relaxed) }

    /// On a replica: waits until its read point has reached `lsn`; false when `timeout`
    /// seconds pass first. On a writer connection it returns true at once.
    public func waitFor(lsn: UInt64, timeout: Double) throws -> Bool {
        guard let replica = replicaLink.withLock({ $0 }) else { return true }
        return try replica.waitFor(lsn, timeoutSeconds: timeout)
    }

    /// On a replica: how far behind the writer's durable state it is; nil on other connections.
    public var replicaLag: ReplicaLag? { replicaLink.withLock { $0 }?.lag }

    /// On a replica: the error that detached it (it fell too far behind), if any.
    public var replicaDetachedError: DatabaseError? { replicaLink.withLock { $0 }?.detached }

    /// Turns this replica into a read-write connection (failover): it applies every durable
    /// commit, leaves the feed and accepts writes. If the engine has failed, the database is
    /// reopened from disk (recovery keeps every durable commit) — which needs this to be the
    /// last connection to the failed engine.
    public func promote() throws {
        try block.withLock {
            try locked {
                if closed { throw DatabaseError.misuse("the database connection is closed") }
                guard let replica else { throw DatabaseError.misuse("this connection is not a replica") }
                if transaction != nil || inBlock { throw DatabaseError.misuse("finish the open transaction before promoting the replica") }
                if !cursors.isEmpty {
                    throw DatabaseError.misuse("reset the prepared statements whose rows are still being read (they read snapshots of the replica) before promoting it")
                }
                if engine.failure != nil {
                    engine = try EngineRegistry.reopenFailed(path: location) { replica.stop() }
                    self.replica = nil
                } else {
                    try replica.catchUpAndStop()
                    self.replica = nil
                }
                readOnlyMode = false
                catalogCache = nil
                catalogCurrentAt = nil
            }
        }
    }

    /// Closes this connection; the database file closes with its last connection.
    public func close() throws {
        try locked {
            guard !closed else { return }
            closed = true
            for cursor in Array(cursors.values) { finish(cursor) }
            transaction?.rollback()
            transaction = nil
            temporary.close()
            replica?.stop()
            replica = nil
            // A :memory: database's folder goes with its engine's last connection (a replica may
            // outlive the connection that made it).
            try EngineRegistry.release(path: location)
        }
    }

    deinit {
        try? close()
    }

    let location: String
    private var closed = false

    /// Where the connection's transaction stands, as the PostgreSQL wire protocol's
    /// ReadyForQuery reports it (BorealisServer): idle, inside a block, or inside a failed block.
    package var transactionStatus: TransactionStatus {
        lockedValue { !inBlock ? .idle : blockFailed ? .failed : .inBlock }
    }

    /// Fails the open block (if any) for an error met outside `execute` — a statement that did
    /// not prepare, a parameter that did not decode — as PostgreSQL fails the transaction.
    package func failBlock(by error: any Error) {
        lockedValue { if inBlock && !blockFailed { failed(by: error) } }
    }

    /// Runs every statement in `sql`; returns the result of the last one.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [Value] = []) throws -> QueryResult {
        inFlight.add(1, ordering: .relaxed)
        defer { statementEnded() }
        return try block.withLock {
            try locked {
                var last = QueryResult()
                let statements: [(Statement, String)]
                do {
                    statements = try parsedStatements(sql)
                } catch var error as DatabaseError {
                    error.sql = sql
                    throw error
                }
                for (statement, text) in statements {
                    do {
                        last = try run(statement, parameters)
                    } catch var error as DatabaseError {
                        error.sql = text
                        throw error
                    }
                }
                if last.changes > 0 || last.lastInsertRowID != 0 {
                    changeCount = last.changes
                    if last.lastInsertRowID != 0 { lastRowID = last.lastInsertRowID }
                }
                return last
            }
        }
    }

    /// Short SQL texts run through `execute` lately, parsed (guarded by `lock`). A parse tree
    /// depends on the text alone, so it never goes stale; `BEGIN`/`COMMIT` in a loop and
    /// scripts repeating a statement skip the lexer and parser.
    private var parseCache: [String: [(Statement, String)]] = [:]
    private static let parseCacheLimit = (entries: 64, characters: 512)

    private func parsedStatements(_ sql: String) throws -> [(Statement, String)] {
        if let cached = parseCache[sql] { return cached }
        let statements = try Parser.parseAll(sql)
        if sql.utf8.count <= Self.parseCacheLimit.characters {
            if parseCache.count >= Self.parseCacheLimit.entries { parseCache.removeAll(keepingCapacity: true) }
            parseCache[sql] = statements
        }
        return statements
    }

    /// Held by a `read`/`write` closure for its whole run, so that other threads' statements
    /// wait instead of joining its transaction. Recursive: the closure's own statements pass.
    let block = RecursiveLock()
    private let inFlight = Atomic<Int>(0)
    /// Open `SelectCursor`s (their count is also in `activeCursors`, read without the lock).
    private var cursors: [ObjectIdentifier: SelectCursor] = [:]
    private let activeCursors = Atomic<Int>(0)
    /// Bumped by every BEGIN: tells a cursor whether the block it was opened in is still open.
    private var blockSerial: UInt64 = 0

    /// Statements running or waiting on this connection (the reader endpoint's busy measure).
    public var statementsInFlight: Int { inFlight.load(ordering: .relaxed) }
    private var changeCount = 0
    /// PREPARE's statements, by name (Database+PreparedSQL.swift); guarded by `lock`.
    var preparedSQL: [String: PreparedSQL] = [:]
    private var lastRowID: Int64 = 0

    /// Rows changed by the last INSERT, UPDATE or DELETE run through `execute`.
    public var changes: Int { lockedValue { changeCount } }
    /// The row id of the last row inserted through `execute`.
    public var lastInsertRowID: Int64 { lockedValue { lastRowID } }

    /// The rows of a query.
    public func query(_ sql: String, _ parameters: [Value] = []) throws -> [Row] {
        let result = try execute(sql, parameters)
        return result.rows.map { Row(columns: result.columns, values: $0) }
    }

    /// The rows of a query decoded into `type`, matching columns to coding keys by name.
    ///
    /// ```swift
    /// struct Player: Decodable { var id: Int; var name: String; var score: Double? }
    /// let players = try db.query(Player.self, "SELECT id, name, score FROM player")
    /// ```
    public func query<T: Decodable>(_ type: T.Type, _ sql: String, _ parameters: [Value] = []) throws -> [T] {
        try query(type, sql, parameters, columnDecodingStrategy: .useDefaultKeys)
    }

    /// Runs `body` in a read-only transaction: every query inside sees one snapshot, and a
    /// write fails with READONLY (SQLSTATE 25006). Inside an open transaction, `body` joins it
    /// (seeing its changes) and may not write.
    public func read<T>(_ body: (Database) throws -> T) throws -> T {
        try block.withLock {
            if lockedValue({ inBlock }) {
                let outer = lockedValue { blockReadOnly }
                lockedValue { blockReadOnly = true }
                defer { lockedValue { blockReadOnly = outer } }
                return try body(self)
            }
            try execute("BEGIN READ ONLY")
            defer { _ = try? execute("ROLLBACK") }
            return try body(self)
        }
    }

    /// Runs `body` in a write transaction, committed when it returns and rolled back when it
    /// throws. Returns once the commit is durable. Inside an open transaction, `body` runs in a
    /// savepoint of it: its changes are undone if it throws, and commit with the transaction.
    @discardableResult
    public func write<T>(_ body: (Database) throws -> T) throws -> T {
        try block.withLock {
            if lockedValue({ inBlock }) {
                let name = "borealis_write_\(lockedValue { savepoints.count })"
                try execute("SAVEPOINT \(name)")
                do {
                    let value = try body(self)
                    try execute("RELEASE SAVEPOINT \(name)")
                    return value
                } catch {
                    _ = try? execute("ROLLBACK TO SAVEPOINT \(name)")
                    _ = try? execute("RELEASE SAVEPOINT \(name)")
                    throw error
                }
            }
            try execute("BEGIN IMMEDIATE")
            do {
                let value = try body(self)
                try execute("COMMIT")
                return value
            } catch {
                _ = try? execute("ROLLBACK")
                throw error
            }
        }
    }

    private func catalog(_ txn: StorageTransaction) throws -> Catalog {
        if let cached = catalogCache, catalogCheckedIn == txn.serial { return cached }
        let committedState = txn.serial != ddlTransaction
        if let cached = catalogCache, committedState, catalogCurrentAt == txn.snapshot {
            catalogCheckedIn = txn.serial
            return cached
        }
        let version = try Catalog.version(txn)
        catalogCheckedIn = txn.serial
        catalogCurrentAt = committedState ? txn.snapshot : nil
        if let cached = catalogCache, cached.version == version { return cached }
        let loaded = try Catalog.load(txn)
        catalogCache = loaded
        return loaded
    }

    /// Runs one parsed statement (for prepared statements).
    func run(prepared statement: Statement, text: String, _ parameters: [Value], cache: PlanCache) throws -> QueryResult {
        inFlight.add(1, ordering: .relaxed)
        defer { statementEnded() }
        do {
            return try block.withLock { try locked { try run(statement, parameters, cache: cache) } }
        } catch var error as DatabaseError {
            error.sql = text
            throw error
        }
    }

    // MARK: Streamed SELECTs (PreparedStatement.step)

    /// What a prepared statement's first `step` started.
    enum Started {
        /// The whole result, computed at once: every statement but a SELECT, a SELECT inside a
        /// transaction block that has written, and any statement of a connection that has had
        /// temporary tables (their route, `TemporaryTables.execute`, runs statements whole).
        case result(QueryResult)
        /// A SELECT streaming from its own snapshot, with its first row (a block of one row, or
        /// empty: it had none); `more` is false once the cursor has nothing left to hand out.
        case cursor(SelectCursor, first: RowBlock, more: Bool)
    }

    /// Rows a cursor's later steps compute at a time (`next`), and the bytes that stop a batch
    /// sooner (rows of large values), so that a step takes the connection's lock once per batch
    /// and memory stays bounded.
    static let cursorBatch = (rows: 64, bytes: 256 << 10)

    /// Runs a prepared statement's first step: a SELECT that may stream opens a cursor and
    /// reads its first row; any other statement runs whole, as `run(prepared:)`.
    ///
    /// A SELECT streams from a snapshot nothing can write under: in autocommit the snapshot
    /// begun for it, owned by the cursor; inside a transaction block that has not written, a
    /// second registration of the block's snapshot, so that COMMIT, ROLLBACK or a later write of
    /// the block does not reach the cursor (which keeps seeing the block's state as it was when
    /// the cursor opened, as a PostgreSQL cursor does). Inside a block that has written, the
    /// rows depend on the block's private pages, which its later statements may change: the
    /// SELECT then runs whole.
    func start(prepared statement: Statement, text: String, _ parameters: [Value], cache: PlanCache) throws -> Started {
        inFlight.add(1, ordering: .relaxed)
        defer { statementEnded() }
        do {
            return try block.withLock {
                try locked {
                    if case .select(let query) = statement, !query.hasDataModifyingCTE, !closed, !temporary.concerns(statement), !(inBlock && blockFailed),
                       !statement.movesSequences(cache: cache),
                       let started = try openCursor(query, parameters, cache: cache) {
                        return started
                    }
                    return .result(try run(statement, parameters, cache: cache))
                }
            }
        } catch var error as DatabaseError {
            error.sql = text
            throw error
        }
    }

    /// Opens `query` as a cursor and reads its first row; nil when it must run whole (inside a
    /// block whose transaction has written).
    private func openCursor(_ query: SelectStatement, _ parameters: [Value], cache: PlanCache) throws -> Started? {
        let base: StorageTransaction
        let txn: StorageTransaction
        do {
            if inBlock {
                if transaction == nil { transaction = try beginRead() }
                guard let current = transaction, !current.isWriter else { return nil }
                base = current
                txn = try current.reader(sharingSnapshot: pageMemo)
            } else {
                base = try beginRead()
                txn = base
            }
        } catch {
            failed(by: error)
            throw error
        }
        watch.statementStarts(timeoutMilliseconds: session.statementTimeoutMilliseconds)
        session.writesRefused = readOnlyMode || (inBlock && blockReadOnly)
        let cursor: SelectCursor
        do {
            var executor = StatementExecutor(txn: txn, catalog: try catalog(base), parameters: parameters, planCache: cache,
                                             workMemoryRows: workMemory)
            executor.session = session
            let (plan, context, rows) = try executor.open(query)
            cursor = SelectCursor(columns: plan.columns, declaredTypes: plan.declaredTypes.map { $0?.name }, block: inBlock ? blockSerial : nil,
                                  rows: rows, context: context, txn: txn)
        } catch {
            cache.context?.finish()
            txn.rollback()
            failed(by: error)
            throw error
        }
        cursors[ObjectIdentifier(cursor)] = cursor
        activeCursors.add(1, ordering: .relaxed)
        // The first row, and one more to tell whether there are others.
        fill(cursor, rows: 2, bytes: .max)
        let first = try take(cursor, rows: 1)
        return .cursor(cursor, first: first, more: cursor.hasMore || cursor.isOpen)
    }

    /// The next rows of `cursor` (a batch, `cursorBatch`), empty once it has none; `more` is
    /// false once it has nothing left to hand out. An error is thrown once the rows computed
    /// before it have been handed out — by the step that reaches it — and fails the
    /// transaction block the cursor was opened in if that is still open.
    func next(_ cursor: SelectCursor, text: String) throws -> (rows: RowBlock, more: Bool) {
        inFlight.add(1, ordering: .relaxed)
        defer { statementEnded() }
        do {
            return try block.withLock {
                try locked {
                    if closed { throw DatabaseError.misuse("the database connection is closed") }
                    // One row past the batch tells whether another batch follows.
                    fill(cursor, rows: Self.cursorBatch.rows + 1, bytes: Self.cursorBatch.bytes)
                    let rows = try take(cursor, rows: Self.cursorBatch.rows)
                    // A batch the byte limit stopped early keeps no row back: whether more
                    // follow is then the stream's to say (it has ended once exhausted).
                    return (rows, cursor.hasMore || cursor.isOpen)
                }
            }
        } catch var error as DatabaseError {
            error.sql = text
            throw error
        }
    }

    /// Ends `cursor` if it is still open (a reset or deallocated statement): its snapshot ends.
    func end(_ cursor: SelectCursor) {
        lockedValue {
            finish(cursor)
            cursor.ahead = RowBlock(width: cursor.columns.count)
            cursor.failure = nil
        }
    }

    /// Up to `count` of the rows computed ahead; with none left, the error met computing the
    /// next one is thrown (by the step that reaches it).
    private func take(_ cursor: SelectCursor, rows count: Int) throws -> RowBlock {
        switch cursor.take(rows: count) {
        case .success(let rows):
            return rows
        case .failure(let error):
            if inBlock && cursor.block == blockSerial { failed(by: error) }
            catalogCache = nil
            throw error
        }
    }

    /// Computes rows ahead (`SelectCursor.fill`); once the stream has nothing more, or failed,
    /// the cursor ends at once: a single-row SELECT lets go of its snapshot at its first step,
    /// though the caller may never step it to the end.
    private func fill(_ cursor: SelectCursor, rows count: Int, bytes: Int) {
        if cursor.fill(rows: count, bytes: bytes) { finish(cursor) }
    }

    private func finish(_ cursor: SelectCursor) {
        guard cursors.removeValue(forKey: ObjectIdentifier(cursor)) != nil else { return }
        cursor.close()
        if activeCursors.subtract(1, ordering: .relaxed).newValue == 0 && idle { watch.clear() }
    }

    /// A statement inside a block failed: the block is failed (25P02 until ROLLBACK).
    private func failed(by error: any Error) {
        if inBlock { blockFailure = (error as? DatabaseError)?.message ?? "\(error)" }
        catalogCache = nil
    }

    // MARK: Schema (for tools such as the shell)

    func withCatalog<T>(_ body: (Catalog, StorageTransaction) throws -> T) throws -> T {
        try locked {
            let txn = try transaction ?? beginRead()
            defer { if txn !== transaction { txn.rollback() } }
            return try body(try catalog(txn), txn)
        }
    }

    /// What `statement` returns, and the errors its text causes against the schema this
    /// connection sees now, without running it; what is compiled stays in `cache`.
    func describe(_ statement: Statement, cache: PlanCache) throws -> StatementDescription {
        try block.withLock {
            if lockedValue({ closed }) { throw DatabaseError.misuse("the database connection is closed") }
            return try withCatalog { catalog, txn in
                var executor = StatementExecutor(txn: txn, catalog: catalog, parameters: [], planCache: cache, workMemoryRows: workMemory)
                executor.session = session
                return try temporary.describe(statement, with: executor)
            }
        }
    }

    /// Parses the first statement of `sql` into a reusable statement; nil (and the tail) when
    /// `sql` holds no statement.
    public func prepare(_ sql: String) throws -> (statement: PreparedStatement?, tail: String) {
        guard let (parsed, tail) = try Parser.parseFirst(sql) else { return (nil, "") }
        return (PreparedStatement(database: self, parsed: parsed), tail)
    }

    func run(_ statement: Statement, _ parameters: [Value], cache: PlanCache? = nil) throws -> QueryResult {
        if closed { throw DatabaseError.misuse("the database connection is closed") }
        watch.statementStarts(timeoutMilliseconds: session.statementTimeoutMilliseconds)
        switch statement {
        case .begin(let immediate, let readOnly):
            if inBlock { // PostgreSQL: a warning, not an error
                var result = QueryResult()
                result.notice = "WARNING: there is already a transaction in progress"
                return result
            }
            if immediate && readOnly {
                throw DatabaseError(.error, sqlState: SQLState.readOnlySQLTransaction, "a READ ONLY transaction cannot take the write lock (BEGIN IMMEDIATE)")
            }
            inBlock = true
            session.blockBegins()
            blockSerial &+= 1
            blockFailure = nil
            blockReadOnly = readOnly
            if immediate { transaction = try beginWrite() }
            return QueryResult()
        case .commit:
            defer { endBlock() }
            session.blockEnds(committed: inBlock && !blockFailed)
            if blockFailed {
                transaction?.rollback()
                transaction = nil
                temporary.rollback()
                let cause = blockFailure.map { " (it failed with: \($0))" } ?? ""
                throw DatabaseError(.abort, sqlState: SQLState.inFailedSQLTransaction,
                    "transaction was rolled back: COMMIT cannot commit a transaction that an earlier error aborted\(cause)")
            }
            guard let txn = transaction else { temporary.rollback(); return QueryResult() }
            transaction = nil
            let lsn = try temporary.commit(with: txn)
            if txn.isWriter { lastCommit.store(lsn, ordering: .relaxed) }
            return QueryResult()
        case .rollback:
            session.blockEnds(committed: false)
            transaction?.rollback()
            transaction = nil
            temporary.rollback()
            endBlock()
            return QueryResult()
        case .savepoint(let name):
            guard inBlock else {
                throw DatabaseError(.error, sqlState: SQLState.noActiveSQLTransaction, "SAVEPOINT can only be used in transaction blocks")
            }
            if blockFailed {
                throw DatabaseError(.error, sqlState: SQLState.inFailedSQLTransaction, "current transaction is aborted, commands ignored until end of transaction block")
            }
            if transaction == nil { transaction = try beginRead() }
            savepoints.append((name, try transaction!.savepoint()))
            temporary.savepoint()
            return QueryResult()
        case .releaseSavepoint(let name), .rollbackToSavepoint(let name):
            guard inBlock else {
                throw DatabaseError(.error, sqlState: SQLState.noActiveSQLTransaction, "\(statement.isRelease ? "RELEASE" : "ROLLBACK TO") SAVEPOINT can only be used in transaction blocks")
            }
            guard let index = savepoints.lastIndex(where: { $0.name == name }) else {
                blockFailure = "savepoint \"\(name)\" does not exist"
                throw DatabaseError(.error, sqlState: SQLState.invalidSavepointSpecification, "savepoint \"\(name)\" does not exist")
            }
            if statement.isRelease {
                if blockFailed {
                    throw DatabaseError(.error, sqlState: SQLState.inFailedSQLTransaction, "current transaction is aborted, commands ignored until end of transaction block")
                }
                savepoints.removeSubrange(index...)
                temporary.release(savepoint: index)
            } else {
                try transaction?.rollback(to: savepoints[index].state)
                try temporary.rollback(toSavepoint: index)
                savepoints.removeSubrange((index + 1)...)
                blockFailure = nil
                catalogCache = nil
            }
            return QueryResult()
        default:
            break
        }
        if inBlock && blockFailed {
            throw DatabaseError(.error, sqlState: SQLState.inFailedSQLTransaction, "current transaction is aborted, commands ignored until end of transaction block")
        }
        switch statement {
        case .set, .show, .reset:
            do { return try session.execute(statement) } catch {
                if inBlock { blockFailure = (error as? DatabaseError)?.message ?? "\(error)" }
                throw error
            }
        case .prepare, .execute, .deallocate:
            do { return try runPreparedStatementCommand(statement, parameters) } catch {
                if inBlock && blockFailure == nil { blockFailure = (error as? DatabaseError)?.message ?? "\(error)" }
                throw error
            }
        default:
            break
        }
        let changesSomething = StatementExecutor.isWrite(statement)
        let movesSequences = statement.movesSequences(cache: cache)
        let writes = (changesSomething
            && !(temporary.concerns(statement) && temporary.writesOnlyTemporary(statement, readOnly: readOnlyMode)))
            || movesSequences
        if writes && readOnlyMode {
            throw DatabaseError.readOnly("cannot execute \(statement.kindName) " + (replica != nil ? "on a read replica" : "in a read-only database"))
        }
        // PostgreSQL: a READ ONLY transaction may change rows of temporary tables, no schema.
        if inBlock && blockReadOnly && (writes || (changesSomething && !statement.isDataChange)) {
            blockFailure = "cannot execute \(statement.kindName) in a read-only transaction"
            throw DatabaseError.readOnly("cannot execute \(statement.kindName) in a read-only transaction")
        }
        // nextval()/setval() move sequences only where the statement could write.
        session.writesRefused = readOnlyMode || (inBlock && blockReadOnly)
        var started: StorageTransaction?
        do {
            let txn: StorageTransaction
            if let current = transaction {
                txn = current
                txn.busyTimeoutMilliseconds = busyTimeout
                if writes { try txn.ensureWriter() }
            } else {
                txn = writes ? try beginWrite() : try beginRead()
                if inBlock { transaction = txn } else { started = txn }
            }
            var executor = StatementExecutor(txn: txn, catalog: try catalog(txn), parameters: parameters, planCache: cache,
                                             workMemoryRows: workMemory)
            executor.session = session
            defer { cache?.context?.finish() }
            let result = try temporary.concerns(statement) ? temporary.execute(statement, with: executor) : executor.execute(statement)
            if writes && !statement.isDataChange && !movesSequences {
                catalogCheckedIn = nil
                catalogCurrentAt = nil
                ddlTransaction = txn.serial
            }
            if !inBlock {
                let lsn = try temporary.commit(with: txn)
                if txn.isWriter { lastCommit.store(lsn, ordering: .relaxed) }
            }
            return result
        } catch {
            if inBlock {
                blockFailure = (error as? DatabaseError)?.message ?? "\(error)"
            } else {
                // Explicitly, not when dropped: a rollback may still commit sequence state.
                started?.rollback()
                transaction?.rollback()
                transaction = nil
                temporary.rollback()
            }
            catalogCache = nil
            throw error
        }
    }

    private func beginRead() throws -> StorageTransaction {
        let txn = try replica.map { try engine.beginRead(on: $0, memo: pageMemo) } ?? engine.beginRead(memo: pageMemo)
        txn.watch = watch
        txn.busyTimeoutMilliseconds = busyTimeout
        return txn
    }

    private func beginWrite() throws -> StorageTransaction {
        if replica != nil { throw DatabaseError.readOnly("cannot write on a read replica") }
        if readOnlyMode { throw DatabaseError.readOnly("cannot write in a read-only database") }
        let txn = try engine.beginWrite(memo: pageMemo, busyTimeoutMilliseconds: busyTimeout)
        txn.watch = watch
        return txn
    }

    private func endBlock() {
        inBlock = false
        blockFailure = nil
        blockReadOnly = false
        savepoints = []
    }
}
