// async variants of the blocking calls. A statement can wait for the connection's lock, for
// the write lock (busy timeout) and for fdatasync, so none of it runs on Swift's cooperative
// pool or on Dispatch (which shares that pool's few threads on Linux): the blocking part runs
// on `BlockingThreadPool`, which gives each waiting call a thread of its own. Encoding records
// and decoding rows, which only compute, stay on the caller's task, so records and decoded
// types need not be Sendable.
//
// Calls on one `Database` still run one at a time, in the order they take its lock; cancelling
// the task of a running statement interrupts it (57014, as `Database.interrupt()`).

/// Runs blocking work off the cooperative pool.
import BorealisSQL
import BorealisStorage

enum BlockingQueue {
    static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            BlockingThreadPool.shared.submit { continuation.resume(with: Result { try work() }) }
        }
    }
}

extension Database {
    /// `execute` on a background thread.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [Value] = []) async throws -> QueryResult {
        try await background { try self.execute(sql, parameters) }
    }

    /// `query` on a background thread.
    public func query(_ sql: String, _ parameters: [Value] = []) async throws -> [Row] {
        try await background { try self.query(sql, parameters) }
    }

    /// Runs blocking `work` off the cooperative pool; cancelling the calling task interrupts
    /// the statement it runs.
    func background<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withTaskCancellationHandler {
            try await BlockingQueue.run(work)
        } onCancel: {
            self.interrupt()
        }
    }

    /// `query(_:_:_:)` decoding into `type`, with the statement run off the cooperative pool.
    ///
    /// ```swift
    /// let players = try await db.query(Player.self, "SELECT * FROM player")
    /// ```
    public func query<T: Decodable>(_ type: T.Type, _ sql: String, _ parameters: [Value] = []) async throws -> [T] {
        try await query(type, sql, parameters, columnDecodingStrategy: .useDefaultKeys)
    }

    /// `query(_:_:_:columnDecodingStrategy:)` with the statement run off the cooperative pool.
    public func query<T: Decodable>(_ type: T.Type, _ sql: String, _ parameters: [Value] = [],
                                    columnDecodingStrategy: DatabaseColumnDecodingStrategy) async throws -> [T] {
        let result = try await background { try self.execute(sql, parameters) }
        return try result.decoded(as: type, columnDecodingStrategy: columnDecodingStrategy)
    }

    /// `read` off the cooperative pool: `body` runs on a thread of its own, in one snapshot.
    ///
    /// ```swift
    /// let count = try await db.read { db in try db.query("SELECT count(*) FROM t")[0].get(0, as: Int.self) }
    /// ```
    public func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await background { try self.read(body) }
    }

    /// `write` off the cooperative pool: `body` runs on a thread of its own, in a transaction
    /// that is durable when this returns.
    ///
    /// ```swift
    /// try await db.write { db in
    ///     try db.execute("UPDATE account SET balance = balance - 10 WHERE id = 1")
    ///     try db.execute("UPDATE account SET balance = balance + 10 WHERE id = 2")
    /// }
    /// ```
    @discardableResult
    public func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await background { try self.write(body) }
    }

    /// `insert(_:into:columnEncodingStrategy:)` off the cooperative pool.
    @discardableResult
    public func insert<T: Encodable>(_ record: T, into table: String,
                                     columnEncodingStrategy: DatabaseColumnEncodingStrategy = .useDefaultKeys) async throws -> Int64 {
        let columns = try RecordEncoder.encode(record, strategy: columnEncodingStrategy)
        return try await background { try self.insert(columns: columns, into: table) }
    }

    /// `update(_:in:columnEncodingStrategy:)` off the cooperative pool.
    @discardableResult
    public func update<T: Encodable>(_ record: T, in table: String,
                                     columnEncodingStrategy: DatabaseColumnEncodingStrategy = .useDefaultKeys) async throws -> Bool {
        let columns = try RecordEncoder.encode(record, strategy: columnEncodingStrategy)
        return try await background { try self.update(columns: columns, in: table) }
    }

    /// `save(_:into:columnEncodingStrategy:)` off the cooperative pool.
    public func save<T: Encodable>(_ record: T, into table: String,
                                   columnEncodingStrategy: DatabaseColumnEncodingStrategy = .useDefaultKeys) async throws {
        let columns = try RecordEncoder.encode(record, strategy: columnEncodingStrategy)
        try await background { try self.save(columns: columns, into: table) }
    }

    /// `close` off the cooperative pool (it waits for running statements).
    public func close() async throws {
        try await background { try self.close() }
    }

    /// `openReplica(options:)` off the cooperative pool.
    public func openReplica(options: ReplicaOptions = ReplicaOptions()) async throws -> Database {
        try await background { try self.openReplica(options: options) }
    }

    /// `waitFor(lsn:timeout:)` off the cooperative pool: a replica's wait for a commit.
    public func waitFor(lsn: UInt64, timeout: Double) async throws -> Bool {
        try await background { try self.waitFor(lsn: lsn, timeout: timeout) }
    }

    /// `promote()` off the cooperative pool.
    public func promote() async throws {
        try await background { try self.promote() }
    }

    /// `tableNames()` off the cooperative pool.
    public func tableNames() async throws -> [String] {
        try await background { try self.tableNames() }
    }

    /// `indexNames(of:)` off the cooperative pool.
    public func indexNames(of table: String? = nil) async throws -> [String] {
        try await background { try self.indexNames(of: table) }
    }

    /// `schemaStatements(of:)` off the cooperative pool.
    public func schemaStatements(of table: String? = nil) async throws -> [String] {
        try await background { try self.schemaStatements(of: table) }
    }
}

extension PreparedStatement {
    /// `execute(_:)` off the cooperative pool.
    ///
    /// ```swift
    /// let insert = try db.makeStatement("INSERT INTO t(name) VALUES ($1)")
    /// try await insert.execute(["apple"])
    /// ```
    @discardableResult
    public func execute(_ parameters: [Value] = []) async throws -> QueryResult {
        try await database.background { try self.execute(parameters) }
    }

    /// `query(_:)` off the cooperative pool.
    public func query(_ parameters: [Value] = []) async throws -> [Row] {
        let result = try await execute(parameters)
        return result.rows.map { Row(columns: result.columns, values: $0) }
    }

    /// `query(_:_:columnDecodingStrategy:)` off the cooperative pool (rows decode on the caller).
    public func query<T: Decodable>(_ type: T.Type, _ parameters: [Value] = [],
                                    columnDecodingStrategy: DatabaseColumnDecodingStrategy = .useDefaultKeys) async throws -> [T] {
        try await execute(parameters).decoded(as: type, columnDecodingStrategy: columnDecodingStrategy)
    }

    /// `step()` off the cooperative pool (a SELECT computes its rows as the steps reach them; any
    /// other statement runs at the first step).
    public func step() async throws -> [Value]? {
        try await database.background { try self.step() }
    }
}
