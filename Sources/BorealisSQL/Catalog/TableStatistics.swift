// What ANALYZE keeps about a table (docs/query-engine.md, "Statistics"): the catalog record
// `stats:<table>`, and the shares the planner reads from it. Building the record from a sample
// is here too, so what is stored and how it is read stay side by side.

import FoundationEssentials
import BorealisStorage

package struct TableStatistics: Codable, Sendable {
    /// Rows when analyzed.
    var rowCount: Double
    var columns: [String: ColumnStatistics]
}

package struct ColumnStatistics: Codable, Sendable {
    /// Share of rows where the column is NULL.
    var nullFraction: Double
    /// Distinct non-NULL values; negative: minus their share of the rows (grows with the table).
    var distinct: Double
    /// Values more frequent than average (record-codec encoded) and their shares of all rows.
    var mostCommon: Data
    var mostCommonFrequencies: [Double]
    /// Bounds splitting the other non-NULL values into equal-count buckets (record-codec encoded).
    var histogram: Data

    /// The distinct non-NULL values in a table of `rows` rows.
    func distinctValues(rows: Double) -> Double {
        max(1, distinct < 0 ? -distinct * rows : min(distinct, rows))
    }

    func decodedMostCommon() -> [Value] { (try? RecordCodec.decode(Array(mostCommon))) ?? [] }
    func decodedHistogram() -> [Value] { (try? RecordCodec.decode(Array(histogram))) ?? [] }
}

// MARK: Building

extension ColumnStatistics {
    /// Statistics of one column from a sample of its values (`sample`, NULLs included) out of
    /// `totalRows` rows of which `nulls` are NULL.
    static func build(sample: [Value], totalRows: Int, nulls: Int) -> ColumnStatistics {
        let total = Double(max(totalRows, 1))
        let nullFraction = Double(nulls) / total
        let values = sample.filter { !$0.isNull }
        guard !values.isEmpty else {
            return ColumnStatistics(nullFraction: nullFraction, distinct: 0, mostCommon: Data(), mostCommonFrequencies: [], histogram: Data())
        }
        // Values counted by their grouping key (1 and 1.0 are one value, as in GROUP BY).
        var counts: [Value: (value: Value, count: Int)] = [:]
        for v in values { counts[v.groupKey, default: (v, 0)].count += 1 }
        let n = Double(values.count), d = Double(counts.count)
        let seenOnce = Double(counts.values.filter { $0.count == 1 }.count)
        let nonNullRows = total * (1 - nullFraction)
        // Haas and Stokes: n·d / (n − f₁ + f₁·n/N), N the non-NULL rows of the table.
        var distinct = d
        if n < nonNullRows, seenOnce < n {
            distinct = n * d / (n - seenOnce + seenOnce * n / nonNullRows)
        } else if seenOnce == n {
            distinct = nonNullRows       // every sampled value unique: assume the column is
        }
        distinct = min(max(distinct, d), nonNullRows)
        // Kept as a share of the rows when it grows with the table (PostgreSQL's rule: > 10%).
        let storedDistinct = distinct > 0.1 * total ? -(distinct / total) : distinct

        // Most common values: seen more than once and more than 1.25 × the average count.
        let average = n / d
        let common = counts.values.filter { $0.count > 1 && Double($0.count) > 1.25 * average }
            .sorted { $0.count > $1.count }.prefix(100)
        let commonValues = common.map(\.value)
        let commonFrequencies = common.map { Double($0.count) / n * (1 - nullFraction) }
        let commonKeys = Set(commonValues.map(\.groupKey))

        // Histogram over the remaining values, in sort order.
        let rest = values.filter { !commonKeys.contains($0.groupKey) }.sorted { Value.sortCompare($0, $1) < 0 }
        var bounds: [Value] = []
        if rest.count >= 2 {
            let buckets = min(100, rest.count - 1)
            for i in 0...buckets { bounds.append(rest[i * (rest.count - 1) / buckets]) }
        }
        return ColumnStatistics(nullFraction: nullFraction, distinct: storedDistinct,
                                mostCommon: Data(RecordCodec.encode(commonValues)), mostCommonFrequencies: commonFrequencies,
                                histogram: Data(RecordCodec.encode(bounds)))
    }
}

// MARK: Reading

extension ColumnStatistics {
    /// Share of rows where the column equals `value`.
    func equalShare(_ value: Value, rows: Double) -> Double {
        if value.isNull { return 0 }
        let common = decodedMostCommon()
        let key = value.groupKey
        if let i = common.firstIndex(where: { $0.groupKey == key }), i < mostCommonFrequencies.count {
            return mostCommonFrequencies[i]
        }
        let restShare = max(0, 1 - nullFraction - mostCommonFrequencies.reduce(0, +))
        let restDistinct = max(1, distinctValues(rows: rows) - Double(common.count))
        return min(restShare / restDistinct, restShare)
    }

    /// Share of rows where the column equals an unknown value (a parameter, another column).
    func equalShareOfAnyValue(rows: Double) -> Double {
        (1 - nullFraction) / distinctValues(rows: rows)
    }

    /// Share of rows where the column is below `value` (or at most it when `inclusive`).
    func lessShare(_ value: Value, inclusive: Bool) -> Double {
        if value.isNull { return 0 }
        var share = 0.0
        for (v, f) in zip(decodedMostCommon(), mostCommonFrequencies) {
            let c = Value.sortCompare(v, value)
            if c < 0 || (inclusive && c == 0) { share += f }
        }
        let bounds = decodedHistogram()
        let restShare = max(0, 1 - nullFraction - mostCommonFrequencies.reduce(0, +))
        guard bounds.count >= 2 else { return min(1, share + restShare / 3) }
        let buckets = Double(bounds.count - 1)
        var below = 0.0
        if Value.sortCompare(value, bounds[0]) <= 0 {
            below = 0
        } else if Value.sortCompare(value, bounds[bounds.count - 1]) > 0 {
            below = 1
        } else {
            // The bucket holding the value, interpolated inside it for numbers.
            var i = 0
            while i + 1 < bounds.count - 1 && Value.sortCompare(value, bounds[i + 1]) > 0 { i += 1 }
            var inside = 0.5
            if let lo = bounds[i].doubleValue, let hi = bounds[i + 1].doubleValue, let x = value.doubleValue, hi > lo {
                inside = min(1, max(0, (x - lo) / (hi - lo)))
            }
            below = (Double(i) + inside) / buckets
        }
        return min(1, share + below * restShare)
    }

    /// Share of rows where the column is above `value` (or at least it when `inclusive`).
    func greaterShare(_ value: Value, inclusive: Bool) -> Double {
        if value.isNull { return 0 }
        return max(0, 1 - nullFraction - lessShare(value, inclusive: !inclusive))
    }
}
