// UNION, INTERSECT and EXCEPT, with and without ALL, over two inputs of the same width.
// UNION ALL streams the left input, then the right. UNION passes each distinct row once (a
// DistinctOperator over both inputs: a hash set in work memory, an external sort past it).
// INTERSECT and EXCEPT count the right input's rows by value in a hash table, then stream the
// left input against the counts: with ALL, a row common to both comes min(m, n) times
// (INTERSECT) or max(m − n, 0) times (EXCEPT), as PostgreSQL gives them. Rows compare as
// GROUP BY compares them (NULLs equal).

import BorealisStorage

final class SetOperationOperator: PhysicalOperator {
    let left: PhysicalOperator
    let right: PhysicalOperator
    let operation: SetOperator
    let all: Bool

    init(left: PhysicalOperator, right: PhysicalOperator, operation: SetOperator, all: Bool) {
        self.left = left
        self.right = right
        self.operation = operation
        self.all = all
    }

    var columns: [ScopeColumn] { left.columns }
    var children: [PhysicalOperator] { [left, right] }
    var label: String {
        let word = operation == .union ? "Union" : (operation == .intersect ? "Intersect" : "Except")
        return word + (all ? " All" : "")
    }
    var estimatedRows: Double {
        switch operation {
        case .union: return left.estimatedRows + right.estimatedRows
        case .intersect: return min(left.estimatedRows, right.estimatedRows)
        case .except: return left.estimatedRows
        }
    }

    func open(_ ctx: ExecutionContext) throws -> RowStream {
        switch (operation, all) {
        case (.union, true):
            return try Self.append(left, right, ctx)
        case (.union, false):
            return try DistinctOperator(input: AppendOperator(left, right), width: columns.count).open(ctx)
        case (.intersect, _), (.except, _):
            var counts: [[Value]: Int] = [:]
            let rightRows = try right.stream(ctx)
            while let row = try rightRows() { counts[row.map(\.groupKey), default: 0] += 1 }
            let leftRows = try left.stream(ctx)
            let intersect = operation == .intersect, all = all
            var emitted = Set<[Value]>()
            return {
                while let row = try leftRows() {
                    let key = row.map(\.groupKey)
                    let remaining = counts[key] ?? 0
                    if all {
                        // Each right row pairs with one left row: INTERSECT passes the pairs,
                        // EXCEPT the left rows left over.
                        if remaining > 0 { counts[key] = remaining - 1 }
                        if (remaining > 0) == intersect { return row }
                    } else if (remaining > 0) == intersect, emitted.insert(key).inserted {
                        return row
                    }
                }
                return nil
            }
        }
    }

    /// The rows of `first`, then those of `second` (opened once the first is exhausted).
    static func append(_ first: PhysicalOperator, _ second: PhysicalOperator, _ ctx: ExecutionContext) throws -> RowStream {
        var current = try first.stream(ctx)
        var onSecond = false
        return {
            if let row = try current() { return row }
            guard !onSecond else { return nil }
            onSecond = true
            current = try second.stream(ctx)
            return try current()
        }
    }
}

/// Both inputs one after the other: UNION's input to its DistinctOperator (not in EXPLAIN).
private final class AppendOperator: PhysicalOperator {
    let first: PhysicalOperator
    let second: PhysicalOperator

    init(_ first: PhysicalOperator, _ second: PhysicalOperator) {
        self.first = first
        self.second = second
    }

    var columns: [ScopeColumn] { first.columns }
    var label: String { "Append" }
    var estimatedRows: Double { first.estimatedRows + second.estimatedRows }
    func open(_ ctx: ExecutionContext) throws -> RowStream { try SetOperationOperator.append(first, second, ctx) }
}

/// A VALUES list: each row's expressions evaluated when the row is read.
final class ValuesOperator: PhysicalOperator {
    let rows: [[Evaluator]]
    let columns: [ScopeColumn]

    init(rows: [[Evaluator]], names: [String]) {
        self.rows = rows
        columns = names.map { ScopeColumn(table: nil, name: $0) }
    }

    var label: String { "Values Scan" }
    var estimatedRows: Double { Double(rows.count) }

    func open(_ ctx: ExecutionContext) throws -> RowStream {
        var position = 0
        let rows = rows
        return {
            guard position < rows.count else { return nil }
            defer { position += 1 }
            return try ctx.withFrame([]) { try rows[position].map { try $0(ctx) } }
        }
    }
}
