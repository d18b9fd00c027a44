// `Database.checkIntegrity()`: the full integrity check of docs/backup.md §1. The check
// itself is `StorageEngine.checkIntegrity()` (BorealisSQL's Catalog/IntegrityCheck+Catalog.swift:
// it reads the catalog), which SQL's `borealis_check()` runs too.

import BorealisSQL
import BorealisStorage

extension Database {
    /// Checks the whole database and reports every problem found: page and log checksums, B+tree
    /// invariants, page ownership (no page owned twice, none lost), every index against its
    /// table, and the catalog. Reads at one snapshot; writers are not blocked.
    ///
    /// ```swift
    /// let report = try db.checkIntegrity()
    /// print(report.isSound ? "ok" : report.description)
    /// ```
    ///
    /// Throws only when the check cannot run at all (the database is closed); damage is
    /// reported in the result, never thrown.
    public func checkIntegrity() throws -> IntegrityReport {
        try engine.checkIntegrity()
    }
}
