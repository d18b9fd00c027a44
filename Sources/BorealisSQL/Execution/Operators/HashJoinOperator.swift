// Joins two inputs on equal keys: the build side goes into a hash table, the probe side streams
// past it. Inner joins build on the side the planner expects to be smaller, and when the build
// side outgrows work memory both sides are split into temporary partitions by key hash and
// each pair of partitions is joined in memory (a grace hash join). Outer joins build on the
// right input: LEFT and FULL emit unmatched probe rows padded with NULLs, RIGHT and FULL emit
// the unmatched build rows at the end (those joins keep their build side in memory).
// A key with a NULL in it matches nothing. Output rows are always left values + right values.

import BorealisStorage

final class HashJoinOperator: PhysicalOperator {
    let kind: JoinKind
    let left: PhysicalOperator
    let right: PhysicalOperator
    let leftKeys: KeyReader
    let rightKeys: KeyReader
    let keySQL: [String]
    /// Conditions beyond the key equalities, over left + right columns.
    let conditions: [Evaluator]
    let conditionSQL: [String]
    /// Inner joins only: build the hash table on the left input.
    let buildLeft: Bool
    let estimatedRows: Double
    let columns: [ScopeColumn]

    init(kind: JoinKind, left: PhysicalOperator, right: PhysicalOperator, leftKeys: [Evaluator], rightKeys: [Evaluator],
         leftKeyColumns: [Int?]? = nil, rightKeyColumns: [Int?]? = nil,
         keySQL: [String], conditions: [Evaluator], conditionSQL: [String], buildLeft: Bool, estimatedRows: Double) {
        self.kind = kind
        self.left = left
        self.right = right
        self.leftKeys = KeyReader(leftKeys, columns: leftKeyColumns)
        self.rightKeys = KeyReader(rightKeys, columns: rightKeyColumns)
        self.keySQL = keySQL
        self.conditions = conditions
        self.conditionSQL = conditionSQL
        self.buildLeft = buildLeft && (kind == .inner || kind == .cross)
        self.estimatedRows = estimatedRows
        columns = left.columns + right.columns
    }

    var children: [PhysicalOperator] { [left, right] }
    var label: String {
        let name = kind == .inner || kind == .cross ? "Hash Join" : "Hash \(kind == .left ? "Left" : kind == .right ? "Right" : "Full") Join"
        return name + (buildLeft ? " (build left)" : "")
    }
    var details: [String] {
        ["Hash Cond: " + keySQL.joined(separator: " AND ")] + (conditionSQL.isEmpty ? [] : ["Join Filter: " + conditionSQL.joined(separator: " AND ")])
    }

    /// How one side's key is read from its rows: by evaluating the key expressions, or, when
    /// every one is a column of the row, by copying those columns (no frame or closure per row).
    struct KeyReader {
        let evaluators: [Evaluator]
        let columns: [Int]?

        init(_ evaluators: [Evaluator], columns: [Int?]?) {
            self.evaluators = evaluators
            self.columns = columns.flatMap { c in c.count == evaluators.count && c.allSatisfy { $0 != nil } ? c.compactMap { $0 } : nil }
        }
    }

    /// The row's key, nil when any part of it is NULL.
    @inline(__always)
    static func key(_ row: [Value], _ keys: KeyReader, _ ctx: ExecutionContext) throws -> [Value]? {
        if let columns = keys.columns {
            var key: [Value] = []
            key.reserveCapacity(columns.count)
            for c in columns {
                let v = row[c]
                if v.isNull { return nil }
                key.append(v.groupKey)
            }
            return key
        }
        return try ctx.withFrame(row) {
            var key: [Value] = []
            key.reserveCapacity(keys.evaluators.count)
            for k in keys.evaluators {
                let v = try k(ctx)
                if v.isNull { return nil }
                key.append(v.groupKey)
            }
            return key
        }
    }

    func open(_ ctx: ExecutionContext) throws -> RowStream {
        if kind == .inner || kind == .cross { return try openInner(ctx) }
        return try openOuter(ctx)
    }

    private func openInner(_ ctx: ExecutionContext) throws -> RowStream {
        let (build, buildKeys, probe, probeKeys) = buildLeft ? (left, leftKeys, right, rightKeys) : (right, rightKeys, left, leftKeys)
        let combine: ([Value], [Value]) -> [Value] = buildLeft ? { b, p in b + p } : { b, p in p + b }
        let buildNext = try build.stream(ctx)
        let limit = max(1, ctx.workMemoryRows), byteLimit = ctx.memory.spillBytes
        var table: [[Value]: [[Value]]] = [:]
        var held = 0, heldBytes = 0
        var prefix: [[Value]] = []
        while let row = try buildNext() {
            guard held < limit && heldBytes < byteLimit else {
                ctx.memory.spills += 1
                prefix.append(row)
                return try graceJoin(ctx, buildPrefix: prefix, buildRest: buildNext, table: table, buildKeys: buildKeys,
                                     probe: try probe.stream(ctx), probeKeys: probeKeys, combine: combine)
            }
            held += 1
            heldBytes += Value.memoryFootprint(of: row)
            if let key = try Self.key(row, buildKeys, ctx) { table[key, default: []].append(row) }
        }
        return try probeStream(table, probe: try probe.stream(ctx), probeKeys: probeKeys, combine: combine, ctx: ctx)
    }

    private func probeStream(_ table: [[Value]: [[Value]]], probe: @escaping RowStream, probeKeys: KeyReader,
                             combine: @escaping ([Value], [Value]) -> [Value], ctx: ExecutionContext) throws -> RowStream {
        let conditions = conditions
        var current: [Value] = []
        var matches: [[Value]] = []
        var position = 0
        return {
            while true {
                while position < matches.count {
                    let combined = combine(matches[position], current)
                    position += 1
                    if try rowPasses(combined, conditions, ctx) { return combined }
                }
                guard let next = try probe() else { return nil }
                current = next
                position = 0
                matches = try Self.key(next, probeKeys, ctx).flatMap { table[$0] } ?? []
            }
        }
    }

    /// The build side does not fit in work memory: both sides go to 16 partitions on disk by
    /// key hash, and each pair is joined in memory.
    private func graceJoin(_ ctx: ExecutionContext, buildPrefix: [[Value]], buildRest: RowStream, table: [[Value]: [[Value]]],
                           buildKeys: KeyReader, probe: RowStream, probeKeys: KeyReader,
                           combine: @escaping ([Value], [Value]) -> [Value]) throws -> RowStream {
        let count = 16
        let buildParts = try (0..<count).map { _ in try SpillFile(account: ctx.memory) }
        let probeParts = try (0..<count).map { _ in try SpillFile(account: ctx.memory) }
        func partition(_ key: [Value]) -> Int {
            var hasher = Hasher()
            hasher.combine(key)
            return Int(UInt(bitPattern: hasher.finalize()) % UInt(count))
        }
        for rows in table.values {
            for row in rows { if let key = try Self.key(row, buildKeys, ctx) { try buildParts[partition(key)].append(row) } }
        }
        var replay = buildPrefix.makeIterator()
        while let row = try replay.next() ?? buildRest() {
            if let key = try Self.key(row, buildKeys, ctx) { try buildParts[partition(key)].append(row) }
        }
        while let row = try probe() {
            if let key = try Self.key(row, probeKeys, ctx) { try probeParts[partition(key)].append(row) }
        }
        var part = 0
        var current: RowStream = { nil }
        return { [self] in
            while true {
                if let row = try current() { return row }
                guard part < count else { return nil }
                defer { part += 1 }
                var partTable: [[Value]: [[Value]]] = [:]
                let reader = try buildParts[part].reader()
                while let row = try reader() {
                    if let key = try Self.key(row, buildKeys, ctx) { partTable[key, default: []].append(row) }
                }
                current = try probeStream(partTable, probe: try probeParts[part].reader(), probeKeys: probeKeys, combine: combine, ctx: ctx)
            }
        }
    }

    private func openOuter(_ ctx: ExecutionContext) throws -> RowStream {
        let leftKeys = leftKeys
        let buildNext = try right.stream(ctx)
        var rightRows: [[Value]] = []
        var table: [[Value]: [Int]] = [:]
        while let row = try buildNext() {
            if let key = try Self.key(row, rightKeys, ctx) { table[key, default: []].append(rightRows.count) }
            rightRows.append(row)
        }
        return joinStream(kind: kind, left: try left.stream(ctx), rightRows: rightRows,
                          candidates: { row in try Self.key(row, leftKeys, ctx).flatMap { table[$0] } ?? [] },
                          conditions: conditions, leftWidth: left.columns.count, rightWidth: right.columns.count, ctx: ctx)
    }
}
