// SELECT DISTINCT: passes on the first row of each set of rows equal in their first `width`
// values (the select list; sort keys may ride after them). Rows are remembered in a hash set
// while they fit in work memory; past that, everything is sorted by those values (an external
// sort) and the first of each run of equals is kept.

import BorealisStorage

final class DistinctOperator: PhysicalOperator {
    let input: PhysicalOperator
    let width: Int

    init(input: PhysicalOperator, width: Int) {
        self.input = input
        self.width = width
    }

    var columns: [ScopeColumn] { input.columns }
    var children: [PhysicalOperator] { [input] }
    var label: String { "Unique" }
    var estimatedRows: Double { max(1, input.estimatedRows * 0.5) }

    func open(_ ctx: ExecutionContext) throws -> RowStream {
        let input = try self.input.stream(ctx)
        let width = width
        let memoryRows = max(1, ctx.workMemoryRows), memoryBytes = ctx.memory.spillBytes
        var seen = Set<[Value]>()
        var buffered: [[Value]] = []
        var bufferedBytes = 0
        var exhausted = false
        while !exhausted && seen.count < memoryRows && bufferedBytes < memoryBytes {
            guard let row = try input() else {
                exhausted = true
                break
            }
            if seen.insert(row.prefix(width).map(\.groupKey)).inserted {
                // The row, and its hashed key in the set.
                bufferedBytes += Value.memoryFootprint(of: row)
                for value in row.prefix(width) { bufferedBytes += value.memoryFootprint }
                buffered.append(row)
            }
        }
        if exhausted { return Planner.stream(buffered) }
        // Too many: sort by the values (a copy of them goes first as the sort key).
        let byValues = RowOrder(items: (0..<width).map { _ in OrderItem(expr: .literal(.null)) }, keyStart: 0)
        var replay = buffered.makeIterator()
        let all: RowStream = {
            guard let row = try replay.next() ?? input() else { return nil }
            return Array(row.prefix(width)) + row
        }
        let sorted = try SortOperator.externalSort(all, byValues, memoryRows: memoryRows, memory: ctx.memory)
        var previous: [Value]?
        return {
            while let row = try sorted() {
                let key = row.prefix(width).map(\.groupKey)
                if key == previous { continue }
                previous = key
                return Array(row.dropFirst(width))
            }
            return nil
        }
    }
}

/// SELECT DISTINCT ON (…): after sorting, passes on the first row of each DISTINCT ON key,
/// which rides in each row at `keyStart…`.
final class DistinctOnOperator: PhysicalOperator {
    let input: PhysicalOperator
    let keyStart: Int
    let keyCount: Int

    init(input: PhysicalOperator, keyStart: Int, keyCount: Int) {
        self.input = input
        self.keyStart = keyStart
        self.keyCount = keyCount
    }

    var columns: [ScopeColumn] { input.columns }
    var children: [PhysicalOperator] { [input] }
    var label: String { "Unique (DISTINCT ON)" }
    var estimatedRows: Double { max(1, input.estimatedRows * 0.5) }

    func open(_ ctx: ExecutionContext) throws -> RowStream {
        let next = try input.stream(ctx)
        let range = keyStart..<(keyStart + keyCount)
        var firsts = Set<[Value]>()
        return {
            while let row = try next() {
                guard range.upperBound <= row.count else { return row }
                if firsts.insert(row[range].map(\.groupKey)).inserted { return row }
            }
            return nil
        }
    }
}
