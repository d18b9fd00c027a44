// The catalog a statement of a connection with temporary relations resolves names in
// (docs/temporary-tables.md): the permanent catalog with the connection's temporary catalog
// laid over it, as PostgreSQL's search path puts pg_temp first.
//
// Invariants: a temporary relation hides every permanent relation (table, view, index) of its
// name, and the permanent indexes of a table it hides; the indexes of every visible permanent
// table stay in `indexes` (under a private key when a temporary relation took their name), so
// writes through the merged catalog maintain them all. The version of a merged catalog has
// the top bit set and is never reused, so it equals no permanent catalog's version and no
// other merge's.

import Synchronization
import BorealisStorage

extension Catalog {
    private static let mergedVersions = Atomic<UInt64>(0)

    /// `permanent` with `temporary` laid over it.
    package static func merging(_ temporary: Catalog, over permanent: Catalog) -> Catalog {
        var taken = Set(temporary.tables.keys)
        taken.formUnion(temporary.views.keys)
        taken.formUnion(temporary.indexes.keys)
        var tables = temporary.tables
        for (name, table) in permanent.tables where !taken.contains(name) { tables[name] = table }
        var views = temporary.views
        for (name, view) in permanent.views where !taken.contains(name) { views[name] = view }
        var indexes = temporary.indexes
        for (name, index) in permanent.indexes where !taken.contains(index.table) {
            // A permanent index whose name a temporary relation took is still maintained.
            indexes[taken.contains(name) ? "\u{0}permanent:" + name : name] = index
        }
        var referencing = temporary.referencing
        for (parent, children) in permanent.referencing where !taken.contains(parent) { referencing[parent] = children }
        let version = (UInt64(1) << 63) | mergedVersions.add(1, ordering: .relaxed).newValue
        let statistics = permanent.statistics.filter { !taken.contains($0.key) }
        let merged = Catalog(version: version, tables: tables, indexes: indexes, views: views, referencing: referencing,
                             statistics: statistics)
        // Sequences are permanent only (a temporary table's identity column has none).
        merged.sequences = permanent.sequences.filter { !taken.contains($0.key) }
        merged.comments = permanent.comments.filter { key, _ in !taken.contains(String(key.prefix { $0 != "\u{1F}" })) }
            .merging(temporary.comments) { $1 }
        return merged
    }
}
