// Sequences at run time (docs/sql.md, "Sequences"; the design is docs/storage.md §3,
// "Non-transactional writes"): the value of each sequence incarnation lives in memory, one per
// storage engine, and moves only forward whatever the transactions that moved it do; the
// transaction that moved it writes it to the incarnation's state record in the catalog tree
// when it commits and when it rolls back. Only the writer moves a sequence, so the record is
// always written under the write lock.
//
//   nextval/setval ──▶ txn.ensureWriter() ──▶ value moves in memory (mutex) ──▶ write registered
//   commit / rollback ──▶ registered write puts {last_value, is_called} in "seqstate:<incarnation>"

import BorealisStorage

/// A sequence's value: what `SELECT * FROM s` shows.
package struct SequenceValue: Sendable, Equatable {
    package var last: Int64
    package var isCalled: Bool
    /// PostgreSQL's log_cnt, imitated (values it would have logged ahead); not stored.
    package var logCount: Int64 = 0
}

/// currval() and lastval() of one session, by sequence name.
package final class SessionSequenceValues: @unchecked Sendable {
    private let state = Locked<(values: [String: Int64], last: String?)>(([:], nil))

    func set(_ name: String, _ value: Int64, isLast: Bool) {
        state.withLock { s in
            s.values[name] = value
            if isLast { s.last = name }
        }
    }

    func current(_ name: String) -> Int64? { state.withLock { $0.values[name] } }

    var lastUsed: (name: String, value: Int64)? {
        state.withLock { s in s.last.flatMap { name in s.values[name].map { (name, $0) } } }
    }
}

package enum Sequences {
    private struct Key: Hashable {
        let engine: UInt64
        let incarnation: UInt64
    }

    /// The value of every sequence incarnation in use, per engine.
    private static let values = Locked<[Key: SequenceValue]>([:])

    // MARK: State records

    static func stateKey(_ incarnation: UInt64) -> [UInt8] { Array("seqstate:\(incarnation)".utf8) }

    static func encode(_ value: SequenceValue) -> [UInt8] {
        var bytes = withUnsafeBytes(of: value.last.littleEndian) { Array($0) }
        bytes.append(value.isCalled ? 1 : 0)
        bytes.append(1) // record version
        return bytes
    }

    static func decode(_ bytes: [UInt8], incarnation: UInt64) throws -> SequenceValue {
        guard bytes.count >= 10 else { throw DatabaseError.corrupt("sequence state record \(incarnation) has \(bytes.count) bytes") }
        let last = bytes.withUnsafeBytes { Int64(littleEndian: $0.loadUnaligned(as: Int64.self)) }
        return SequenceValue(last: last, isCalled: bytes[8] != 0)
    }

    /// The stored value of an incarnation as `txn` sees it (fresh when it has no record).
    static func stored(_ sequence: SequenceSchema, in txn: StorageTransaction) throws -> SequenceValue {
        if let tree = try Catalog.tree(txn), let raw = try tree.get(stateKey(sequence.incarnation), in: txn) {
            return try decode(raw, incarnation: sequence.incarnation)
        }
        return SequenceValue(last: sequence.firstValue, isCalled: false)
    }

    /// Writes a fresh incarnation's record (CREATE, RESTART): in the DDL's transaction, so the
    /// record exists exactly while the catalog holds the incarnation.
    static func createState(_ sequence: SequenceSchema, in txn: StorageTransaction) throws {
        guard let tree = try Catalog.tree(txn) else { throw DatabaseError.internalError("no catalog tree for sequence \(sequence.name)") }
        try tree.put(stateKey(sequence.incarnation), encode(SequenceValue(last: sequence.firstValue, isCalled: false)), in: txn)
    }

    /// Deletes an incarnation's record (DROP, RESTART): in the DDL's transaction.
    static func deleteState(_ incarnation: UInt64, in txn: StorageTransaction) throws {
        guard let tree = try Catalog.tree(txn) else { return }
        _ = try tree.delete(stateKey(incarnation), in: txn)
    }

    /// The value as the writer's engine has it in memory, else as stored (a replica, or a
    /// sequence nobody moved since the engine opened).
    static func current(_ sequence: SequenceSchema, in txn: StorageTransaction) throws -> SequenceValue {
        let key = Key(engine: txn.engineInstance, incarnation: sequence.incarnation)
        if let value = values.withLock({ $0[key] }) { return value }
        return try stored(sequence, in: txn)
    }

    // MARK: Moving a sequence

    /// Runs `body` on the in-memory value of `sequence` (loaded from its record at first use),
    /// in `txn` made the writer; registers the write of the record at its end.
    private static func move<T>(_ sequence: SequenceSchema, _ ctx: ExecutionContext, function: String,
                                _ body: (inout SequenceValue) throws -> T) throws -> T {
        guard let txn = ctx.txn else { throw DatabaseError.internalError("\(function) without a transaction") }
        if ctx.session?.writesRefused == true {
            throw DatabaseError(.readOnly, sqlState: SQLState.readOnlySQLTransaction, "cannot execute \(function)() in a read-only transaction")
        }
        try txn.ensureWriter()
        let key = Key(engine: txn.engineInstance, incarnation: sequence.incarnation)
        let result = try values.withLock { all -> T in
            var value = try all[key] ?? stored(sequence, in: txn)
            defer { all[key] = value }
            return try body(&value)
        }
        if txn.nonTransactionalWrites[sequence.incarnation] == nil {
            txn.nonTransactionalWrites[sequence.incarnation] = { t in try persist(key, in: t) }
        }
        return result
    }

    /// Writes the in-memory value of an incarnation into `txn` if its record is there: the
    /// record exists exactly while the catalog (as `txn` leaves it) holds the incarnation, so a
    /// sequence created by a transaction that rolls back, or dropped or restarted by it, has
    /// nothing to keep.
    private static func persist(_ key: Key, in txn: StorageTransaction) throws {
        let recordKey = stateKey(key.incarnation)
        guard let tree = try Catalog.tree(txn), try tree.get(recordKey, in: txn) != nil,
              let value = values.withLock({ $0[key] }) else { return }
        try tree.put(recordKey, encode(value), in: txn)
    }

    /// The value of a sequence as a transaction of the connection sees it (for `.dump`).
    package static func currentValue(_ sequence: SequenceSchema, in txn: StorageTransaction) throws -> SequenceValue {
        try current(sequence, in: txn)
    }

    /// nextval(): the next value, PostgreSQL's arithmetic without overflow.
    static func next(_ sequence: SequenceSchema, _ ctx: ExecutionContext) throws -> Int64 {
        let value = try move(sequence, ctx, function: "nextval") { v -> Int64 in
            if !v.isCalled {
                v.isCalled = true
                v.logCount = 32
                return v.last
            }
            let last = v.last, step = sequence.increment
            var next: Int64
            if step > 0 {
                let max = sequence.maxValue
                if (max >= 0 && last > max - step) || (max < 0 && last + step > max) {
                    guard sequence.cycle else {
                        throw DatabaseError(.range, sqlState: SQLState.sequenceGeneratorLimitExceeded,
                                            "nextval: reached maximum value of sequence \"\(sequence.name)\" (\(max))")
                    }
                    next = sequence.minValue
                } else {
                    next = last + step
                }
            } else {
                let min = sequence.minValue
                if (min < 0 && last < min - step) || (min >= 0 && last + step < min) {
                    guard sequence.cycle else {
                        throw DatabaseError(.range, sqlState: SQLState.sequenceGeneratorLimitExceeded,
                                            "nextval: reached minimum value of sequence \"\(sequence.name)\" (\(min))")
                    }
                    next = sequence.maxValue
                } else {
                    next = last + step
                }
            }
            v.last = next
            v.logCount = v.logCount > 0 ? v.logCount - 1 : 32
            return next
        }
        ctx.session?.sequenceValues.set(sequence.name, value, isLast: true)
        return value
    }

    /// setval(): sets the value (checked against the bounds); with `isCalled`, the next
    /// nextval returns the value after it, and currval() returns it.
    static func set(_ sequence: SequenceSchema, to target: Int64, isCalled: Bool, _ ctx: ExecutionContext) throws {
        guard target >= sequence.minValue && target <= sequence.maxValue else {
            throw DatabaseError(.range, sqlState: SQLState.numericValueOutOfRange,
                                "setval: value \(target) is out of bounds for sequence \"\(sequence.name)\" (\(sequence.minValue)..\(sequence.maxValue))")
        }
        try move(sequence, ctx, function: "setval") { v in v = SequenceValue(last: target, isCalled: isCalled) }
        if isCalled { ctx.session?.sequenceValues.set(sequence.name, target, isLast: false) }
    }

    /// `SELECT * FROM s`: last_value, log_cnt, is_called, as PostgreSQL shows a sequence.
    static func relationQuery(_ sequence: SequenceSchema) throws -> SelectStatement {
        let name = "'" + sequence.name.replacing("'", with: "''") + "'"
        let sql = "SELECT borealis_sequence_field(\(name), 0) AS last_value, borealis_sequence_field(\(name), 1) AS log_cnt, "
            + "borealis_sequence_field(\(name), 2) = 1 AS is_called"
        guard case .select(let query)? = try Parser.parseAll(sql).first?.0 else {
            throw DatabaseError.internalError("sequence relation query does not parse")
        }
        return query
    }

    /// The sequence a text argument of nextval/currval/setval names (PostgreSQL's regclass
    /// input: an unquoted name folds to lower case; `public.` may qualify it).
    static func resolve(_ text: String, _ ctx: ExecutionContext) throws -> SequenceSchema {
        let parts = try splitQualifiedName(text)
        if parts.count == 3 {
            throw DatabaseError(.error, sqlState: SQLState.featureNotSupported, "cross-database references are not implemented: \"\(text)\"")
        }
        guard let name = parts.last, parts.count <= 2 else {
            throw DatabaseError(.error, sqlState: SQLState.syntaxError, "improper relation name (too many dotted names): \(text)")
        }
        if parts.count == 2 && parts[0] != "public" {
            throw DatabaseError(.error, sqlState: SQLState.invalidSchemaName, "schema \"\(parts[0])\" does not exist")
        }
        guard let catalog = ctx.catalog else { throw DatabaseError.internalError("sequence lookup without a catalog") }
        if let sequence = catalog.sequences[name] { return sequence }
        if catalog.tables[name] != nil || catalog.views[name] != nil || catalog.indexes[name] != nil {
            throw DatabaseError(.error, sqlState: SQLState.wrongObjectType, "\"\(name)\" is not a sequence")
        }
        throw DatabaseError(.error, sqlState: SQLState.undefinedTable, "relation \"\(name)\" does not exist")
    }

    /// `a.b`, `"A"."b"` → its parts, unquoted names folded to lower case.
    static func splitQualifiedName(_ text: String) throws -> [String] {
        var parts: [String] = []
        var current = ""
        var quoted = false, wasQuoted = false
        var chars = Array(text.trimmingWhitespace())[...]
        while let c = chars.popFirst() {
            if quoted {
                if c == "\"" {
                    if chars.first == "\"" { current.append("\""); chars.removeFirst() } else { quoted = false }
                } else {
                    current.append(c)
                }
            } else if c == "\"" {
                quoted = true
                wasQuoted = true
            } else if c == "." {
                parts.append(current)
                current = ""
                wasQuoted = false
            } else {
                current += c.lowercased()
            }
        }
        if quoted || (current.isEmpty && !wasQuoted) {
            throw DatabaseError(.error, sqlState: SQLState.invalidNameSyntax, "invalid name syntax")
        }
        parts.append(current)
        return parts
    }
}

extension Statement {
    /// A SELECT that calls nextval() or setval() writes (it moves a sequence): the connection
    /// runs it as a write transaction from its start, as it runs an INSERT, rather than turning
    /// its reader into the writer midway (which fails with 40001 once another connection has
    /// committed since the statement's snapshot).
    package var movesSequences: Bool {
        guard case .select(let query) = self else { return false }
        return Sequences.moves(query)
    }

    /// `movesSequences`, worked out once per prepared statement.
    package func movesSequences(cache: PlanCache?) -> Bool {
        guard case .select = self else { return false }
        if let known = cache?.movesSequences { return known }
        let moves = movesSequences
        cache?.movesSequences = moves
        return moves
    }
}

extension Sequences {
    static let movingFunctions: Set<String> = ["nextval", "setval"]

    static func moves(_ query: SelectStatement) -> Bool {
        query.with.contains { moves($0.query) } || moves(query.body) || query.orderBy.contains { moves($0.expr) }
            || query.limit.map(moves) == true || query.offset.map(moves) == true
    }

    private static func moves(_ body: SelectBody) -> Bool {
        switch body {
        case .core(let core):
            return core.distinctOn.contains(where: moves) || core.from.contains(where: moves) || core.filter.map(moves) == true
                || core.groupBy.contains(where: moves) || core.having.map(moves) == true
                || core.items.contains { if case .expression(let e, _) = $0 { return moves(e) } else { return false } }
        case .values(let rows): return rows.contains { $0.contains(where: moves) }
        case .setOperation(_, _, let a, let b): return moves(a) || moves(b)
        case .nested(let query): return moves(query)
        }
    }

    private static func moves(_ item: FromItem) -> Bool {
        switch item {
        case .table: return false
        case .subquery(let query, _, _): return moves(query)
        case .join(let a, let b, _, let on, _, _): return moves(a) || moves(b) || on.map(moves) == true
        case .function(let name, let args, _, _, _): return movingFunctions.contains(name) || args.contains(where: moves)
        }
    }

    private static func moves(_ e: Expr) -> Bool {
        var found = false
        Planner.walk(e) { sub in
            switch sub {
            case .function(let name, _, _, _) where movingFunctions.contains(name): found = true
            case .inSubquery(_, let query, _), .exists(let query, _), .subquery(let query), .quantified(_, _, let query, _),
                 .arraySubquery(let query):
                if moves(query) { found = true }
            default: break
            }
        }
        return found
    }
}
