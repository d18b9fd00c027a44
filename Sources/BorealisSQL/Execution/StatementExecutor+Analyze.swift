// ANALYZE: one pass over each table, keeping a reservoir sample, then the statistics record of
// docs/query-engine.md ("Statistics") written to the catalog.

import BorealisStorage

extension StatementExecutor {
    /// Rows of a table's sample (PostgreSQL: 300 × its default statistics target of 100).
    static let analyzeSampleRows = 30_000

    func analyze(_ names: [String], columns: [[String]]) throws -> QueryResult {
        var tables: [TableSchema] = []
        if names.isEmpty {
            tables = catalog.tables.values.filter { !$0.isTemporary }.sorted { $0.name < $1.name }
        } else {
            for (name, listed) in zip(names, columns) {
                // PostgreSQL skips a view with a warning.
                if catalog.views[name] != nil { continue }
                let table = try catalog.table(name)
                for column in listed where table.columnIndex(column) == nil {
                    throw DatabaseError(.error, sqlState: SQLState.undefinedColumn, "column \"\(column)\" of relation \"\(name)\" does not exist")
                }
                // Temporary tables keep no statistics (their estimates come from their size).
                if !table.isTemporary { tables.append(table) }
            }
        }
        for table in tables {
            try Catalog.put("stats", table.name, try statistics(of: table), txn)
        }
        return QueryResult()
    }

    /// The statistics of one table: exact row and NULL counts, the rest from a sample.
    func statistics(of table: TableSchema) throws -> TableStatistics {
        let width = table.columns.count
        var sample: [[Value]] = []
        var nulls = [Int](repeating: 0, count: width)
        var rows = 0
        var random = SampleRandom(seed: 0x5EED_0F_A1A1_7A1E)
        var cursor = TableTree(root: table.root).tree.cursor(in: txn)
        var more = try cursor.first()
        while more {
            try txn.watch?.check()
            var row = try RecordCodec.decode(try cursor.value())
            if let id = table.rowIDColumn, id < width { row[id] = .integer(try TableTree.decode(cursor.key)) }
            if row.count < width { row += [Value](repeating: .null, count: width - row.count) }
            for i in 0..<width where row[i].isNull { nulls[i] += 1 }
            rows += 1
            // Reservoir sampling (Algorithm R): each row ends in the sample with equal chance.
            if sample.count < Self.analyzeSampleRows {
                sample.append(row)
            } else {
                let j = Int(random.next() % UInt64(rows))
                if j < sample.count { sample[j] = row }
            }
            more = try cursor.next()
        }
        var columns: [String: ColumnStatistics] = [:]
        for (i, column) in table.columns.enumerated() {
            columns[column.name] = ColumnStatistics.build(sample: sample.map { $0[i] }, totalRows: rows, nulls: nulls[i])
        }
        return TableStatistics(rowCount: Double(rows), columns: columns)
    }
}

/// SplitMix64: the sample's random choices, from a fixed seed so one table always gives the
/// same statistics.
struct SampleRandom {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
