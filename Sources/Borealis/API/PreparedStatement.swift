// A statement parsed once and run many times with new parameters: bind, step through the rows,
// reset, bind again. A SELECT is planned once and re-planned only when the schema changes.
//
//   ready ──step──▶ has rows (step returns a row each call) ──step after last──▶ done
//     ▲                                                                          │
//     └──────────────────────────────── reset ◀───────────────────────────────────┘
//
// The statement runs completely at its first `step` (in its own transaction unless a
// transaction block is open), so later steps only hand out its rows.

/// A prepared statement.
///
/// ```swift
/// let (insert, _) = try db.prepare("INSERT INTO t VALUES ($1, $2)")
/// for (i, name) in names.enumerated() {
///     try insert!.bind([.integer(Int64(i)), .text(name)])
///     _ = try insert!.step()
///     insert!.reset()
/// }
/// ```
public final class PreparedStatement {
    let database: Database
    let parsed: Parser.Parsed
    private let cache = PlanCache()
    private var bindings: [Value]
    private var result: QueryResult?
    private var position = 0

    init(database: Database, parsed: Parser.Parsed) {
        self.database = database
        self.parsed = parsed
        bindings = [Value](repeating: .null, count: parsed.parameterCount)
    }

    /// The statement's SQL text.
    public var sql: String { parsed.text }
    /// How many parameters ($1…$n or ?) the statement takes.
    public var parameterCount: Int { parsed.parameterCount }
    /// Output column names (for a SELECT known before the first `step`; for RETURNING, after).
    public var columnNames: [String] {
        if let result { return result.columns }
        if describedColumns == nil { describedColumns = (try? database.outputColumns(of: parsed.statement)) ?? [] }
        return describedColumns ?? []
    }
    private var describedColumns: [String]?
    public var declaredTypes: [String?] { result?.declaredTypes ?? [] }
    /// Rows changed by the last run.
    public var changes: Int { result?.changes ?? 0 }
    public var lastInsertRowID: Int64 { result?.lastInsertRowID ?? 0 }
    /// Whether the statement only reads.
    public var isReadOnly: Bool { !StatementExecutor.isWrite(parsed.statement) }

    /// Binds parameter `index` (1-based).
    public func bind(_ index: Int, _ value: Value) throws {
        guard index >= 1 && index <= bindings.count else {
            throw DatabaseError(.range, sqlState: "08P01", "parameter index \(index) is out of range (the statement has \(bindings.count))")
        }
        bindings[index - 1] = value
    }

    public func bind(_ values: [Value]) throws {
        if values.count == bindings.count {
            bindings = values
            return
        }
        for (i, v) in values.enumerated() { try bind(i + 1, v) }
    }

    public func clearBindings() {
        bindings = [Value](repeating: .null, count: bindings.count)
    }

    /// The next row, or nil when there are no more (the statement then is done).
    public func step() throws -> [Value]? {
        if result == nil {
            result = try database.run(prepared: parsed.statement, text: parsed.text, bindings, cache: cache)
            position = 0
        }
        guard let rows = result?.rows, position < rows.count else { return nil }
        defer { position += 1 }
        return rows[position]
    }

    /// Makes the statement ready to run again (bindings are kept).
    public func reset() {
        result = nil
        position = 0
    }
}
