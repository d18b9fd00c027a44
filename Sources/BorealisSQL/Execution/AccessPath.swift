// How a base table is read: a full scan, a row-id lookup or range, or a secondary index
// lookup or range, chosen from the WHERE conjuncts that concern that table alone. The bounds are
// expressions evaluated when the scan opens (so they may use parameters and outer columns). The
// conjuncts are still applied as filters, so an access path only narrows the scan — except the
// conjuncts a row-id path enforces exactly (`covered`), which are skipped when their bounds
// turn out to be integers at open time.

import BorealisStorage

#if canImport(Glibc)
import Glibc
#endif

package typealias RowStream = () throws -> [Value]?
typealias KeyedRowStream = () throws -> (Int64, [Value])?

struct AccessPath {
    enum Kind {
        case fullScan
        /// Row ids equal to any of the values.
        case rowIDs([Evaluator])
        /// Row ids within the bounds.
        case rowIDRange(low: (Evaluator, inclusive: Bool)?, high: (Evaluator, inclusive: Bool)?)
        /// Index entries whose first column equals any of the values.
        case indexEquals(IndexSchema, [Evaluator])
        /// Index entries whose first column lies within the bounds.
        case indexRange(IndexSchema, low: (Evaluator, inclusive: Bool)?, high: (Evaluator, inclusive: Bool)?)
    }
    var kind: Kind
    var description: String
    /// Indices (into the conjuncts given to `choose`) of the conjuncts this path enforces
    /// exactly when its bounds evaluate to integers.
    var covered: [Int] = []
    /// An index path's index-only layout, worked out on the first open (every later open of a
    /// prepared plan reads the same columns).
    private let layoutMemo = IndexLayoutMemo()

    /// Picks the best access path for `table` from its local conjuncts (compiled in `scope`).
    static func choose(table: TableSchema, indexes allIndexes: [IndexSchema], conjuncts: [Expr], scope: Scope, compiler: ExpressionCompiler) throws -> AccessPath {
        // A partial index serves only a query whose WHERE has every conjunct of its predicate
        // (compared as written, without qualifiers: PostgreSQL proves more implications).
        var indexes = allIndexes
        if indexes.contains(where: { $0.predicate != nil }) {
            let have = Set(try conjuncts.map { try Planner.removingQualifiers($0, scope: scope).sql })
            indexes = try indexes.filter { index in try index.predicateConjuncts().allSatisfy(have.contains) }
        }
        // What is constrained: "c<i>" for column i, "e<sql>" for an expression over the row.
        var equalities: [String: [Expr]] = [:]
        var lows: [String: (Expr, Bool)] = [:]
        var highs: [String: (Expr, Bool)] = [:]
        // Which conjunct set each of the above.
        var equalitySource: [String: Int] = [:], lowSource: [String: Int] = [:], highSource: [String: Int] = [:]
        func isConstant(_ e: Expr) throws -> Bool {
            if Planner.containsSubquery(e) || Planner.containsAggregate(e) { return false }
            for (t, n) in Planner.columnReferences(e) {
                if let (depth, _) = try scope.resolve(table: t, name: n), depth == 0 { return false }
            }
            return ExpressionCompiler.isDeterministic(e)
        }
        func target(_ e: Expr) throws -> String? {
            if case .column(let t, let n) = e {
                guard let (depth, index) = try scope.resolve(table: t, name: n), depth == 0 else { return nil }
                return "c\(index)"
            }
            // Written as the index's stored expression is: without the table's qualifiers.
            return try isConstant(e) ? nil : "e" + Planner.removingQualifiers(e, scope: scope).sql
        }
        for (position, conjunct) in conjuncts.enumerated() {
            switch conjunct {
            case .binary(let op, let a, let b):
                var key = try target(a)
                var value = b
                var flipped = false
                if try key == nil || !isConstant(b) {
                    key = try target(b)
                    value = a
                    flipped = true
                }
                guard let k = key, try isConstant(value) else { continue }
                switch (op, flipped) {
                case (.equal, _): (equalities[k], equalitySource[k]) = ([value], position)
                case (.greater, false), (.less, true): (lows[k], lowSource[k]) = ((value, false), position)
                case (.greaterOrEqual, false), (.lessOrEqual, true): (lows[k], lowSource[k]) = ((value, true), position)
                case (.less, false), (.greater, true): (highs[k], highSource[k]) = ((value, false), position)
                case (.lessOrEqual, false), (.greaterOrEqual, true): (highs[k], highSource[k]) = ((value, true), position)
                default: break
                }
            case .between(let e, let low, let high, false):
                guard let k = try target(e), try isConstant(low), try isConstant(high) else { continue }
                (lows[k], lowSource[k]) = ((low, true), position)
                (highs[k], highSource[k]) = ((high, true), position)
            case .inList(let e, let list, false):
                guard let k = try target(e), !list.isEmpty, try list.allSatisfy(isConstant) else { continue }
                if equalities[k] == nil { (equalities[k], equalitySource[k]) = (list, position) }
            default: continue
            }
        }
        func compileBound(_ bound: (Expr, Bool)?) throws -> (Evaluator, inclusive: Bool)? {
            guard let bound else { return nil }
            return (try compiler.compile(bound.0), bound.1)
        }
        /// The key of an index's first element.
        func firstKey(_ index: IndexSchema) throws -> String? {
            if let expressions = index.expressions {
                let e = try StatementExecutor.parseExpression(expressions[0])
                if case .column(nil, let n) = e { return table.columnIndex(n).map { "c\($0)" } }
                return "e" + e.sql
            }
            return table.columnIndex(index.columns[0]).map { "c\($0)" }
        }
        if let rowID = table.rowIDColumn, let values = equalities["c\(rowID)"] {
            return AccessPath(kind: .rowIDs(try values.map { try compiler.compile($0) }), description: "row id lookup on \(table.name)",
                              covered: [equalitySource["c\(rowID)"]!])
        }
        for index in indexes {
            guard let key = try firstKey(index), let values = equalities[key] else { continue }
            return AccessPath(kind: .indexEquals(index, try values.map { try compiler.compile($0) }), description: "index \(index.name) lookup")
        }
        if let rowID = table.rowIDColumn, lows["c\(rowID)"] != nil || highs["c\(rowID)"] != nil {
            let key = "c\(rowID)"
            // A BETWEEN sets both bounds; it is covered only when both come from it.
            var covered = Set([lowSource[key], highSource[key]].compactMap { $0 })
            for c in covered where conjunctIsBetween(conjuncts[c]) && (lowSource[key] != c || highSource[key] != c) { covered.remove(c) }
            return AccessPath(kind: .rowIDRange(low: try compileBound(lows[key]), high: try compileBound(highs[key])),
                              description: "row id range on \(table.name)", covered: covered.sorted())
        }
        for index in indexes {
            guard let key = try firstKey(index), lows[key] != nil || highs[key] != nil else { continue }
            return AccessPath(kind: .indexRange(index, low: try compileBound(lows[key]), high: try compileBound(highs[key])),
                              description: "index \(index.name) range")
        }
        return AccessPath(kind: .fullScan, description: "full scan of \(table.name)")
    }

    /// Opens a stream of the table's rows along this path.
    /// Columns `wanted` skips come back as NULL (not decoded); see `ColumnDecode`.
    func open(table: TableSchema, ctx: ExecutionContext, wanted: [ColumnDecode]? = nil) throws -> RowStream {
        try openExact(table: table, ctx: ctx, wanted: wanted).0
    }

    /// As `open`, also telling whether the `covered` conjuncts hold for every row returned.
    func openExact(table: TableSchema, ctx: ExecutionContext, wanted: [ColumnDecode]?) throws -> (RowStream, exact: Bool) {
        var exact = false
        let next = try openKeyed(table: table, ctx: ctx, wanted: wanted, exact: &exact)
        return ({ try next()?.1 }, exact)
    }

    /// Opens the path as a stream of batches (RowBatch.swift) when it reads the table in row-id
    /// order — a full scan, or a row-id range (bounds converted by `rowIDBounds`, as the row
    /// path converts them); nil for the other paths, which are read a row at a time.
    func openBatches(table: TableSchema, ctx: ExecutionContext, wanted: [ColumnDecode]?) throws -> (BatchStream, exact: Bool)? {
        let tree = TableTree(root: table.root)
        let txn: StorageTransaction = try ctx.transaction(for: table)
        func scanBatches(from: Int64?, until: Int64?) -> BatchStream {
            let scan = TableScan(cursor: tree.tree.cursor(in: txn), wanted: wanted, from: from, until: until)
            return { try scan.nextBatch(into: &$0) }
        }
        switch kind {
        case .fullScan:
            return (scanBatches(from: nil, until: nil), false)
        case .rowIDRange(let low, let high):
            switch try Self.rowIDBounds(low: low, high: high, ctx: ctx) {
            case .empty: return ({ _ in false }, true)
            case .unbounded: return (scanBatches(from: nil, until: nil), false)
            case .range(let from, let until, let exact): return (scanBatches(from: from, until: until), exact)
            }
        default:
            return nil
        }
    }

    func openKeyed(table: TableSchema, ctx: ExecutionContext, wanted: [ColumnDecode]? = nil) throws -> KeyedRowStream {
        var exact = false
        return try openKeyed(table: table, ctx: ctx, wanted: wanted, exact: &exact)
    }

    /// Opens a stream of (row id, row) along this path (UPDATE and DELETE need the row ids).
    /// `exact` is set when the bounds were integers, so the `covered` conjuncts need no check.
    private func openKeyed(table: TableSchema, ctx: ExecutionContext, wanted: [ColumnDecode]?, exact: inout Bool) throws -> KeyedRowStream {
        let tree = TableTree(root: table.root)
        let txn: StorageTransaction = try ctx.transaction(for: table)
        func evaluate(_ e: Evaluator) throws -> Value { try ctx.withFrame([]) { try e(ctx) } }
        switch kind {
        case .fullScan:
            return scan(tree, txn, wanted: wanted, from: nil, until: nil)
        case .rowIDs(let evaluators):
            var ids: [Int64] = []
            var allIntegers = true
            for e in evaluators {
                let v = try evaluate(e)
                if case .integer = v {} else { allIntegers = false }
                guard let id = try Self.integer(v) else { continue }
                ids.append(id)
            }
            exact = allIntegers
            if ids.count > 1 { ids = Array(Set(ids)).sorted() }
            var position = 0
            return {
                while position < ids.count {
                    let id = ids[position]
                    position += 1
                    if let row = try tree.withRow(id, in: txn, { try RecordCodec.decode($0, wanted: wanted) }) { return (id, row) }
                }
                return nil
            }
        case .rowIDRange(let low, let high):
            switch try Self.rowIDBounds(low: low, high: high, ctx: ctx) {
            case .empty: return { nil }
            case .unbounded: return scan(tree, txn, wanted: wanted, from: nil, until: nil)
            case .range(let from, let until, let isExact):
                exact = isExact
                return scan(tree, txn, wanted: wanted, from: from, until: until)
            }
        case .indexEquals(let index, let evaluators):
            var prefixes: [[UInt8]] = []
            for e in evaluators {
                let v = try evaluate(e)
                if v.isNull { continue }
                guard let coerced = Self.coerce(v, to: Self.firstElementType(index, table)) else {
                    return scan(tree, txn, wanted: wanted, from: nil, until: nil)
                }
                var prefix: [UInt8] = []
                RecordCodec.appendKey(coerced, to: &prefix)
                prefixes.append(prefix)
            }
            if prefixes.count > 1 { prefixes = Array(Set(prefixes)).sorted { $0.lexicographicallyPrecedes($1) } }
            return indexScan(index, tree, txn, ranges: prefixes.map { ($0, true, $0, true) }, wanted: wanted, schema: table)
        case .indexRange(let index, let low, let high):
            let type = Self.firstElementType(index, table)
            var lowKey: ([UInt8], Bool)?
            var highKey: ([UInt8], Bool)?
            for (bound, isLow) in [(low, true), (high, false)] {
                guard let bound else { continue }
                let v = try evaluate(bound.0)
                if v.isNull { return { nil } }
                guard let coerced = Self.coerce(v, to: type) else { return scan(tree, txn, wanted: wanted, from: nil, until: nil) }
                var key: [UInt8] = []
                RecordCodec.appendKey(coerced, to: &key)
                if isLow { lowKey = (key, bound.inclusive) } else { highKey = (key, bound.inclusive) }
            }
            return indexScan(index, tree, txn, ranges: [(lowKey?.0, lowKey?.1 ?? true, highKey?.0, highKey?.1 ?? true)], wanted: wanted, schema: table)
        }
    }

    private func scan(_ tree: TableTree, _ txn: StorageTransaction, wanted: [ColumnDecode]?, from: Int64?, until: Int64?) -> KeyedRowStream {
        let scan = TableScan(cursor: tree.tree.cursor(in: txn), wanted: wanted, from: from, until: until)
        return { try scan.next() }
    }

    /// Index entries in each (low, lowInclusive, high, highInclusive) key range, as table rows.
    private func indexScan(_ index: IndexSchema, _ table: TableTree, _ txn: StorageTransaction,
                           ranges: [([UInt8]?, Bool, [UInt8]?, Bool)], wanted: [ColumnDecode]?, schema: TableSchema) -> KeyedRowStream {
        let layout: IndexScan.Layout
        if let memo = layoutMemo.layout, layoutMemo.wanted == wanted, layoutMemo.index == index.name {
            layout = memo
        } else {
            layout = IndexScan.Layout(index: index, wanted: wanted, schema: schema)
            (layoutMemo.wanted, layoutMemo.index, layoutMemo.layout) = (wanted, index.name, layout)
        }
        let scan = IndexScan(index: index, table: table, txn: txn, ranges: ranges, wanted: wanted, schema: schema, layout: layout)
        return { try scan.next() }
    }

    static func integer(_ v: Value) throws -> Int64? {
        switch v {
        case .integer(let i): return i
        case .double(let d): return d == d.rounded() && abs(d) < 9.2e18 ? Int64(d) : nil
        case .numeric(let n):
            guard n.isIntegral, case .integer(let i)? = try? v.cast(to: .bigint) else { return nil }
            return i
        case .text(let s): return Int64(s.trimmingWhitespace())
        default: return nil
        }
    }

    private static func conjunctIsBetween(_ e: Expr) -> Bool {
        if case .between = e { return true }
        return false
    }

    /// A row-id range's bounds as the scan reads them.
    enum RowIDBounds {
        /// No row can match (a NULL bound, or past the ends of Int64 exclusively).
        case empty
        /// A bound that is no number: every row is read and the conjuncts decide.
        case unbounded
        /// Row ids `from...until`; `exact` when both bounds were integers, so the conjuncts the
        /// range covers need no check.
        case range(from: Int64?, until: Int64?, exact: Bool)
    }

    /// Evaluates each bound once: integers exactly (a trip through Double rounds row ids past
    /// 2^53 and the ends of Int64, and the range is then trusted as exact), other numbers
    /// widened to the row ids that can match (the conjuncts are checked on each row).
    static func rowIDBounds(low: (Evaluator, inclusive: Bool)?, high: (Evaluator, inclusive: Bool)?,
                            ctx: ExecutionContext) throws -> RowIDBounds {
        var from: Int64?, until: Int64?
        var exact = true
        for (bound, isLow) in [(low, true), (high, false)] {
            guard let bound else { continue }
            let v = try ctx.withFrame([]) { try bound.0(ctx) }
            if v.isNull { return .empty }
            let id: Int64
            if case .integer(let n) = v {
                if bound.inclusive {
                    id = n
                } else if isLow {
                    guard n < .max else { return .empty }
                    id = n + 1
                } else {
                    guard n > .min else { return .empty }
                    id = n - 1
                }
            } else {
                exact = false
                guard let d = v.doubleValue else { return .unbounded }
                id = (isLow ? lowerRowID(d, inclusive: bound.inclusive) : upperRowID(d, inclusive: bound.inclusive)).0
            }
            if isLow { from = id } else { until = id }
        }
        return .range(from: from, until: until, exact: exact)
    }

    /// The least row id a bound of `bound` admits (a widening: the conjunct is checked per
    /// row). NaN sorts above every number, as in PostgreSQL.
    static func lowerRowID(_ bound: Double, inclusive: Bool) -> (Int64, Bool) {
        if bound.isNaN { return (.max, true) }
        if bound <= -9.2e18 { return (.min, true) }
        if bound >= 9.2e18 { return (.max, true) }
        let c = bound.rounded(.up)
        var v = Int64(c)
        if c == bound && !inclusive { v += 1 }
        return (v, true)
    }

    static func upperRowID(_ bound: Double, inclusive: Bool) -> (Int64, Bool) {
        if bound.isNaN || bound >= 9.2e18 { return (.max, true) }
        if bound <= -9.2e18 { return (.min, true) }
        let f = bound.rounded(.down)
        var v = Int64(f)
        if f == bound && !inclusive { v -= 1 }
        return (v, true)
    }

    /// The declared type of an index's first element; nil for an expression.
    static func firstElementType(_ index: IndexSchema, _ table: TableSchema) -> SQLType? {
        guard index.expressions == nil, let i = table.columnIndex(index.columns[0]) else { return nil }
        return table.columns[i].type
    }

    /// The value as stored in a column of `type` (an expression's value as it is), or nil when
    /// the index cannot be used for it.
    static func coerce(_ v: Value, to type: SQLType?) -> Value? {
        guard let type else {
            if case .double(let d) = v, d == d.rounded(), abs(d) < 9.2e18 { return .integer(Int64(d)) }
            return v
        }
        switch (type, v) {
        case (.integer, .integer), (.bigint, .integer), (.smallint, .integer): return v
        case (.integer, .double(let d)), (.bigint, .double(let d)), (.smallint, .double(let d)):
            return d == d.rounded() && abs(d) < 9.2e18 ? .integer(Int64(d)) : .double(d)
        case (.real, .integer(let i)), (.doublePrecision, .integer(let i)): return .double(Double(i))
        case (.real, .double), (.doublePrecision, .double): return v
        case (.numeric, .integer), (.numeric, .numeric): return v
        case (.integer, .numeric(let n)), (.bigint, .numeric(let n)), (.smallint, .numeric(let n)):
            if n.isIntegral, case .integer(let i)? = try? v.cast(to: .bigint) { return .integer(i) }
            return v
        case (.text, .text), (.varchar, .text), (.char, .text): return v
        case (.uuid, .text(let s)): return Value.canonicalUUID(s).map(Value.text)
        case (.boolean, .boolean): return v
        case (.date, .date), (.time, .time), (.interval, .interval): return v
        case (.date, .timestamp), (.date, .timestamptz), (.timestamp, .date), (.timestamp, .timestamp), (.timestamp, .timestamptz),
             (.timestamptz, .date), (.timestamptz, .timestamp), (.timestamptz, .timestamptz):
            // Dates and timestamps share one key ordering (microseconds since the epoch).
            return v
        default: return nil
        }
    }
}

/// The last index-only layout an access path worked out, and what it was worked out for.
private final class IndexLayoutMemo {
    var wanted: [ColumnDecode]?
    var index = ""
    var layout: IndexScan.Layout?
}

/// The state of an index range scan, in one object for the same reason as `TableScan`.
private final class IndexScan {
    @exclusivity(unchecked) private var cursor: BTreeCursor
    @exclusivity(unchecked) private var rangeIndex = 0
    @exclusivity(unchecked) private var positioned = false
    private let index: IndexSchema
    private let table: TableTree
    private let txn: StorageTransaction
    private let ranges: [([UInt8]?, Bool, [UInt8]?, Bool)]
    private let wanted: [ColumnDecode]?
    private let rowIDColumn: Int?
    private let width: Int
    /// For an index-only lookup: (table column, key element) for each column read besides
    /// the row id, and the declared types of the key elements to decode.
    private let keyColumns: [(column: Int, element: Int)]?
    private let keyTypes: [SQLType?]

    /// Whether a lookup is index-only: when every column the query reads is the row id (the
    /// key's suffix) or an element of the key that decodes back to its value, the table is not
    /// read.
    struct Layout {
        /// (table column, key element) for each column read besides the row id; nil when the
        /// table must be read.
        var keyColumns: [(column: Int, element: Int)]?
        /// The declared types of the key elements to decode.
        var keyTypes: [SQLType?]

        init(index: IndexSchema, wanted: [ColumnDecode]?, schema: TableSchema) {
            keyColumns = wanted.flatMap { modes in
                var mapping: [(column: Int, element: Int)] = []
                for (i, mode) in modes.enumerated() where mode != .skip {
                    guard mode == .value else { return nil }
                    if i == schema.rowIDColumn { continue }
                    guard index.expressions == nil, let element = index.columns.firstIndex(of: schema.columns[i].name),
                          RecordCodec.keyDecodableTypes.contains(schema.columns[i].type) else { return nil }
                    mapping.append((column: i, element: element))
                }
                return mapping
            }
            keyTypes = keyColumns.map { mapping in
                index.columns.prefix((mapping.map(\.element).max() ?? -1) + 1).map { name in schema.columnIndex(name).map { schema.columns[$0].type } }
            } ?? []
        }
    }

    init(index: IndexSchema, table: TableTree, txn: StorageTransaction, ranges: [([UInt8]?, Bool, [UInt8]?, Bool)],
         wanted: [ColumnDecode]?, schema: TableSchema, layout: Layout) {
        cursor = BTree(root: index.root).cursor(in: txn)
        self.index = index
        self.table = table
        self.txn = txn
        self.ranges = ranges
        self.wanted = wanted
        rowIDColumn = schema.rowIDColumn
        width = schema.columns.count
        keyColumns = layout.keyColumns
        keyTypes = layout.keyTypes
    }

    func next() throws -> (Int64, [Value])? {
        while rangeIndex < ranges.count {
            let (low, lowInclusive, high, highInclusive) = ranges[rangeIndex]
            var valid: Bool
            if !positioned {
                positioned = true
                valid = try low.map { try cursor.seek(atLeast: $0) } ?? (try cursor.first())
                if valid, let low, !lowInclusive {
                    while valid && cursor.key.starts(with: low) { valid = try cursor.next() }
                }
            } else {
                valid = try cursor.next()
            }
            if valid {
                // In range: below `high`, or starting with it when it is inclusive. The row id
                // is the key's last eight bytes.
                var fromKey: [Value]?
                let (index, keyColumns, keyTypes) = (self.index, self.keyColumns, self.keyTypes)
                let rowID: Int64? = try cursor.withEntry { key, _ in
                    if let high {
                        let inRange = high.withUnsafeBytes { h -> Bool in
                            let startsWithHigh = key.count >= h.count && (h.count == 0 || memcmp(key.baseAddress!, h.baseAddress!, h.count) == 0)
                            return startsWithHigh ? highInclusive : Node.compare(key, h) < 0
                        }
                        if !inRange { return nil }
                    }
                    guard key.count >= 8 else { throw DatabaseError.corrupt("index \(index.name) has a key of \(key.count) bytes") }
                    if keyColumns != nil { fromKey = RecordCodec.decodeIndexKey(key, types: keyTypes) }
                    return try TableTree.decode(UnsafeRawBufferPointer(rebasing: key[(key.count - 8)...]))
                }
                if let rowID {
                    if let keyColumns, let fromKey {
                        var row = [Value](repeating: .null, count: width)
                        if let c = rowIDColumn { row[c] = .integer(rowID) }
                        for (column, element) in keyColumns { row[column] = fromKey[element] }
                        return (rowID, row)
                    }
                    let wanted = self.wanted
                    guard let row = try table.withRow(rowID, in: txn, { try RecordCodec.decode($0, wanted: wanted) }) else {
                        throw DatabaseError.corrupt("index \(index.name) names row \(rowID), which does not exist")
                    }
                    return (rowID, row)
                }
            }
            rangeIndex += 1
            positioned = false
        }
        return nil
    }
}
