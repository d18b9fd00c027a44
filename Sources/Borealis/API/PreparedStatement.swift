// A statement parsed once and run many times with new parameters: bind, step through the rows,
// reset, bind again. A SELECT is planned once and re-planned only when the schema changes.
//
//   ready ──step──▶ has rows (step returns a row each call) ──step after last──▶ done
//     ▲                                                                          │
//     └──────────────────────────────── reset ◀───────────────────────────────────┘
//
// A SELECT streams: its first `step` plans and opens the plan and returns the first row (the
// second is computed with it); later steps compute the rows a small batch at a time
// (`Database.cursorBatch`) and hand them out one per `step`, so the first row never waits for
// the last and memory stays bounded whatever the result's size (a sort or an aggregation still
// reads all of its input before its first row). Between steps the statement holds a
// `SelectCursor`: its plan's open row stream and a read snapshot of its own (`Database.start`
// says which). That snapshot lives until the rows run out (the step that computes the last one
// lets go), a row fails, or the statement is reset, re-executed or deallocated — an abandoned,
// un-reset statement keeps its snapshot, as in SQLite's WAL mode (the materializer is never
// blocked by it: it pins the versions the snapshot still needs). Writes of the same connection
// meanwhile are not seen by the cursor; an `interrupt()` stops it at its next batch; an error
// met computing a row is thrown by the step that reaches that row. Every other statement —
// INSERT/UPDATE/DELETE with or without RETURNING, DDL, a SELECT inside a transaction block that
// has written, any statement of a connection that has had temporary tables — runs completely
// at its first `step` (in its own transaction unless a block is open), and later steps hand out
// its rows.
//
// Its bindings, result, batch and position live behind a lock, so a statement is safe to share
// between threads and tasks (`Sendable`): calls on it run one at a time. Its plan cache and
// its cursor are touched only by `Database` (`run(prepared:)`, `start`, `next`, `end`), under
// the connection's lock. (`Locked`, a pthread mutex, rather than `Synchronization.Mutex`,
// which ThreadSanitizer cannot see.)

/// A prepared statement: parsed once, run many times with new parameters.
///
/// ```swift
/// let insert = try db.makeStatement("INSERT INTO t VALUES ($1, $2)")
/// for (i, name) in names.enumerated() {
///     try insert.execute([.integer(Int64(i)), .text(name)])
/// }
/// let select = try db.makeStatement("SELECT name FROM t WHERE id > $1")
/// let rows = try select.query([0])
/// ```
///
/// The step-by-step form (as the C API uses it): `bind`, `step` until it returns nil, `reset`.
/// A SELECT's rows stream: they are computed as the steps reach them, from the snapshot the
/// first step took, until the statement is done or reset — reset a statement you stop reading
/// early, so its snapshot ends.
///
/// ```swift
/// let scan = try db.makeStatement("SELECT id, name FROM player")
/// while let row = try scan.step() {
///     if row[0] == .integer(100) { break }
/// }
/// scan.reset() // ends the snapshot the steps read
/// ```
import BorealisSQL
import BorealisStorage

public final class PreparedStatement: Sendable {
    let database: Database
    let parsed: Parser.Parsed
    let cache = PlanCache()
    private struct State {
        var bindings: [Value]
        /// The whole result; for a streamed SELECT, its columns only.
        var result: QueryResult?
        /// The streamed SELECT's cursor, while it has rows or an error to hand out.
        var cursor: SelectCursor?
        /// Rows of the cursor's last batch, handed out one per `step` from `batchPosition`.
        var batch = RowBlock(width: 0)
        var batchPosition = 0
        var position = 0
        var description: StatementDescription?
    }
    private let state: Locked<State>

    init(database: Database, parsed: Parser.Parsed) {
        self.database = database
        self.parsed = parsed
        state = Locked(State(bindings: [Value](repeating: .null, count: parsed.parameterCount)))
    }

    deinit {
        if let cursor = state.withLock({ $0.cursor }) { database.end(cursor) }
    }

    /// The statement's SQL text.
    public var sql: String { parsed.text }
    /// How many parameters ($1…$n or ?) the statement takes.
    public var parameterCount: Int { parsed.parameterCount }
    /// The name of parameter `index` (1-based) as written, `:name` or `@name`; nil for `$n`
    /// and `?` parameters and out-of-range indexes.
    public func parameterName(_ index: Int) -> String? {
        index >= 1 && index <= parsed.parameterNames.count ? parsed.parameterNames[index - 1] : nil
    }
    /// The index (1-based) of the parameter written `name` (`:name` or `@name`), or nil.
    public func parameterIndex(_ name: String) -> Int? {
        parsed.parameterNames.firstIndex(of: name).map { $0 + 1 }
    }
    /// Output column names: a SELECT's, or the RETURNING list of INSERT, UPDATE or DELETE
    /// (empty for statements that return no rows), known before the first `step`.
    public var columnNames: [String] {
        if let result = state.withLock({ $0.result }) { return result.columns }
        return ((try? describe()) ?? StatementDescription()).columns
    }
    /// The type of each output column, as PostgreSQL would type it (`bigint` for `count(*)`,
    /// the column's declared type for a table column), known before the first `step`; nil
    /// where the type is known only when the row is (a NULL, a scalar subquery).
    public var declaredTypes: [String?] {
        if let result = state.withLock({ $0.result }) { return result.declaredTypes }
        return ((try? describe()) ?? StatementDescription()).declaredTypes
    }
    /// The type each parameter ($1…$n) takes from where it appears, as PostgreSQL infers it:
    /// `WHERE id = $1` gives `$1` the type of `id`, `$1::date` a date, `INSERT … VALUES ($1)`
    /// the target column's type, `LIMIT $1` bigint; text where nothing gives one a type.
    /// A client of the wire protocol reports these; a caller may convert its values to them.
    public var parameterTypes: [String] {
        let known = ((try? describe()) ?? StatementDescription()).parameterTypes
        return (0..<parameterCount).map { known[$0 + 1] ?? SQLType.text.name }
    }

    /// `describe` for the C layer, which needs only its errors (columns are read lazily).
    package func check() throws { try describe() }

    /// Works out the statement's output columns against the current schema, reporting what its
    /// text gets wrong (an unknown table or column) without running it. Remembered until the
    /// statement is reset.
    @discardableResult
    func describe() throws -> StatementDescription {
        if let known = state.withLock({ $0.description }) { return known }
        let description = try database.describe(parsed.statement, cache: cache)
        state.withLock { $0.description = description }
        return description
    }
    /// Rows changed by the last run.
    public var changes: Int { state.withLock { $0.result?.changes ?? 0 } }
    public var lastInsertRowID: Int64 { state.withLock { $0.result?.lastInsertRowID ?? 0 } }
    /// Whether the statement only reads.
    public var isReadOnly: Bool { !StatementExecutor.isWrite(parsed.statement) }

    /// Binds parameter `index` (1-based).
    public func bind(_ index: Int, _ value: Value) throws {
        try state.withLock { state in try Self.bind(index, value, &state) }
    }

    public func bind(_ values: [Value]) throws {
        try state.withLock { state in try Self.bind(values, &state) }
    }

    private static func bind(_ index: Int, _ value: Value, _ state: inout State) throws {
        guard index >= 1 && index <= state.bindings.count else {
            throw DatabaseError(.range, sqlState: SQLState.protocolViolation, "parameter index \(index) is out of range (the statement has \(state.bindings.count))")
        }
        state.bindings[index - 1] = value
    }

    private static func bind(_ values: [Value], _ state: inout State) throws {
        if values.count == state.bindings.count {
            state.bindings = values
            return
        }
        for (i, v) in values.enumerated() { try bind(i + 1, v, &state) }
    }

    public func clearBindings() {
        state.withLock { $0.bindings = [Value](repeating: .null, count: $0.bindings.count) }
    }

    /// The next row, or nil when there are no more (the statement then is done). An error
    /// also leaves the statement done (until `reset`), except one of the first step, which
    /// the next step retries.
    public func step() throws -> [Value]? {
        try state.withLock { state in
            if state.batchPosition < state.batch.count {
                defer { state.batchPosition += 1 }
                return state.batch.row(state.batchPosition)
            }
            if state.cursor != nil {
                guard let rows = try nextCursorRows(&state) else { return nil }
                state.batch = rows
                state.batchPosition = 1
                return rows.row(0)
            }
            if state.result == nil, let first = try start(&state) { return first.row(0) }
            guard let rows = state.result?.rows, state.position < rows.count else { return nil }
            defer { state.position += 1 }
            return rows[state.position]
        }
    }

    /// The next rows at once, for a caller that reads their values in place: the C API steps
    /// through a block without an array or a lock per row. Nil when there are no more. The
    /// rows are those `step` would return next, in order (the two may be mixed), with the
    /// same errors; a block holds rows of one width.
    package func nextRows() throws -> RowBlock? {
        try state.withLock { state in
            if state.batchPosition < state.batch.count {
                var rest = RowBlock(width: state.batch.width)
                swap(&rest, &state.batch)
                rest = rest.split(at: state.batchPosition)
                state.batchPosition = 0
                return rest
            }
            if state.cursor != nil { return try nextCursorRows(&state) }
            if state.result == nil, let first = try start(&state) { return first }
            // A result computed whole: up to a cursor batch of its rows, all of one width.
            guard let rows = state.result?.rows, state.position < rows.count else { return nil }
            var block = RowBlock(width: rows[state.position].count)
            block.reserve(rows: min(Database.cursorBatch.rows, rows.count - state.position))
            while state.position < rows.count && block.count < Database.cursorBatch.rows
                    && rows[state.position].count == block.width {
                try block.append(rows[state.position])
                state.position += 1
            }
            return block
        }
    }

    /// The cursor's next batch, nil when it has none; the cursor is let go once it has nothing
    /// more (or failed).
    private func nextCursorRows(_ state: inout State) throws -> RowBlock? {
        guard let cursor = state.cursor else { return nil }
        state.batch = RowBlock(width: 0)
        state.batchPosition = 0
        do {
            let (rows, more) = try database.next(cursor, text: parsed.text)
            if !more { state.cursor = nil }
            return rows.isEmpty ? nil : rows
        } catch {
            state.cursor = nil
            throw error
        }
    }

    /// The first step: runs the statement (nil), or opens its cursor and returns its first
    /// row, a block of one (nil when it has none).
    private func start(_ state: inout State) throws -> RowBlock? {
        switch try database.start(prepared: parsed.statement, text: parsed.text, state.bindings, cache: cache) {
        case .result(let result):
            state.result = result
            state.position = 0
            return nil
        case .cursor(let cursor, let first, let more):
            state.result = QueryResult(columns: cursor.columns, declaredTypes: cursor.declaredTypes)
            state.position = 0
            if more { state.cursor = cursor }
            return first.isEmpty ? nil : first
        }
    }

    /// Makes the statement ready to run again (bindings are kept); a SELECT whose rows were
    /// not all read lets go of its snapshot.
    public func reset() {
        state.withLock { state in
            Self.endCursor(&state, database)
            state.result = nil
            state.position = 0
            state.description = nil // the schema may have changed since
        }
    }

    private static func endCursor(_ state: inout State, _ database: Database) {
        state.batch = RowBlock(width: 0)
        state.batchPosition = 0
        guard let cursor = state.cursor else { return }
        state.cursor = nil
        database.end(cursor)
    }

    /// Runs the statement from the start with `parameters` (kept as its bindings) and returns
    /// its whole result; the statement is then done, as after the last `step`.
    @discardableResult
    public func execute(_ parameters: [Value] = []) throws -> QueryResult {
        try state.withLock { state in
            try Self.bind(parameters, &state)
            Self.endCursor(&state, database)
            state.result = nil
            state.position = 0
            let result = try database.run(prepared: parsed.statement, text: parsed.text, state.bindings, cache: cache)
            state.result = result
            state.position = result.rows.count
            return result
        }
    }

    /// Runs the statement with `parameters` and returns its rows.
    public func query(_ parameters: [Value] = []) throws -> [Row] {
        let result = try execute(parameters)
        return result.rows.map { Row(columns: result.columns, values: $0) }
    }

    /// Runs the statement with `parameters` and decodes its rows into `type` (see
    /// `Database.query(_:_:_:columnDecodingStrategy:)`).
    public func query<T: Decodable>(_ type: T.Type, _ parameters: [Value] = [],
                                    columnDecodingStrategy: DatabaseColumnDecodingStrategy = .useDefaultKeys) throws -> [T] {
        try execute(parameters).decoded(as: type, columnDecodingStrategy: columnDecodingStrategy)
    }
}
