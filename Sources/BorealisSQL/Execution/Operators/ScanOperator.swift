// Reads a base table along an access path (AccessPath.swift: a full scan, row-id lookups or
// ranges, index lookups or ranges) and keeps the rows that pass the table's own WHERE
// conjuncts. Columns the query never references are not decoded (ColumnUsage). This is the
// node where a read at another snapshot (a historical query) will attach.

import BorealisStorage

final class ScanOperator: PhysicalOperator {
    let table: TableSchema
    let alias: String
    let columns: [ScopeColumn]
    let path: AccessPath
    /// The table's own conjuncts, compiled against its columns.
    let filters: [Evaluator]
    let filterSQL: [String]
    /// The filters still needed when the path enforced its `covered` conjuncts exactly.
    let uncovered: [Evaluator]
    let usage: ColumnUsage?
    let estimatedRows: Double

    init(table: TableSchema, alias: String, columns: [ScopeColumn], path: AccessPath, filters: [Evaluator] = [],
         filterSQL: [String] = [], usage: ColumnUsage?, estimatedRows: Double) {
        self.table = table
        self.alias = alias
        self.columns = columns
        self.path = path
        self.filters = filters
        self.filterSQL = filterSQL
        self.uncovered = filters.indices.filter { !path.covered.contains($0) }.map { filters[$0] }
        self.usage = usage
        self.estimatedRows = estimatedRows
    }

    var label: String {
        let on = "on \(table.name)" + (alias == table.name ? "" : " \(alias)")
        switch path.kind {
        case .fullScan: return "Seq Scan \(on)"
        case .rowIDs: return "Row ID Lookup \(on)"
        case .rowIDRange: return "Row ID Range Scan \(on)"
        case .indexEquals(let index, _): return "Index Lookup using \(index.name) \(on)"
        case .indexRange(let index, _, _): return "Index Range Scan using \(index.name) \(on)"
        }
    }

    var details: [String] { filterSQL.isEmpty ? [] : ["Filter: " + filterSQL.joined(separator: " AND ")] }

    /// Batches when the path reads in row-id order; rows failing a filter are dropped from
    /// each batch in place (a filter is evaluated over one reused row array, not a new one per row).
    func openBatches(_ ctx: ExecutionContext) throws -> BatchStream? {
        guard let (next, exact) = try path.openBatches(table: table, ctx: ctx, wanted: usage?.decoding) else { return nil }
        let checks = exact ? uncovered : filters
        if checks.isEmpty { return next }
        var scratch: [Value] = []
        return { batch in
            while try next(&batch) {
                let width = batch.width
                var kept = 0
                for r in 0..<batch.count {
                    batch.copyRow(r, into: &scratch)
                    guard try rowPasses(scratch, checks, ctx) else { continue }
                    if kept != r {
                        for c in 0..<width { batch.values[kept * width + c] = batch.values[r * width + c] }
                    }
                    kept += 1
                }
                if kept > 0 {
                    batch.count = kept
                    return true
                }
            }
            return false
        }
    }

    func open(_ ctx: ExecutionContext) throws -> RowStream {
        let (next, exact) = try path.openExact(table: table, ctx: ctx, wanted: usage?.decoding)
        let checks = exact ? uncovered : filters
        if checks.isEmpty { return next }
        return {
            while let row = try next() {
                if try rowPasses(row, checks, ctx) { return row }
            }
            return nil
        }
    }
}
