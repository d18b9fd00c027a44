// The physical plan of an INSERT, UPDATE or DELETE: what the statement compiles once and a
// prepared statement keeps in its `PlanCache` for every later execution (issue 15, item 7).
//
// Invariants:
// - A plan is made for one table, one catalog version and one kind of target (permanent or
//   temporary); `writePlan(for:)` makes a new one when any of the three differs, so ALTER TABLE,
//   CREATE/DROP INDEX, ANALYZE, TRUNCATE (a new root) — anything that bumps the catalog
//   version — replaces every compiled part at once: writer, targets, values, match test and
//   access path, assignments, and the foreign keys' cascade plans.
// - The parts the statement's text decides (targets, values, match, assignments) are filled in
//   by the statement on its first run under that version; the foreign keys' parts are filled in
//   per parent table the first time a row of it changes (`ForeignKeyPlans`).
// - Nothing in a plan holds a transaction, a context or parameter values: it is shared by every
//   execution of the prepared statement.
// - A statement without a plan cache (not prepared, or a data-modifying CTE) makes a plan of
//   its own for the one execution: its cascades still compile each child's writer and access
//   path once for the statement, not once per parent row.

import BorealisStorage

extension StatementExecutor {
    /// A write statement's compiled plan (see the file's comment).
    final class WritePlan {
        let catalogVersion: UInt64
        let temporaryTarget: Bool
        let writer: TableWriter
        /// INSERT's target columns, as table column positions.
        var targets: [Int]?
        /// INSERT … VALUES's compiled value expressions.
        var values: [[Evaluator?]]?
        /// UPDATE/DELETE's compiled WHERE and the access path it chose.
        var match: (test: Evaluator?, path: AccessPath)?
        /// UPDATE's compiled SET assignments (without FROM).
        var assignments: [(Int, Evaluator)]?
        /// How the rows referencing a changed row are found and changed.
        let foreignKeys = ForeignKeyPlans()

        init(writer: TableWriter, catalogVersion: UInt64, temporaryTarget: Bool) {
            self.writer = writer
            self.catalogVersion = catalogVersion
            self.temporaryTarget = temporaryTarget
            foreignKeys.writers[writer.schema.name] = writer
        }
    }

    /// The foreign keys that reference each parent table a statement changes rows of, compiled
    /// the first time a row of that table changes.
    final class ForeignKeyPlans {
        /// Per parent table: each foreign key referencing it.
        var referencing: [String: [ReferencingKey]] = [:]
        /// The compiled writers of the tables written so far (the statement's own table first).
        var writers: [String: TableWriter] = [:]
    }

    /// One foreign key as its parent's changes apply it.
    struct ReferencingKey {
        let fk: ForeignKey
        /// The referencing table's writer.
        let child: TableWriter
        /// The key's columns: positions in the parent's rows and in the child's rows.
        let parentPositions: [Int]
        let childPositions: [Int]
        /// Finds the child rows whose key equals the parent key in the innermost frame.
        let path: AccessPath
    }

    /// The write plan for table `name`: the plan cache's while it was made for this catalog
    /// version and table, else a new one (kept in the plan cache when there is one).
    func writePlan(for name: String) throws -> WritePlan {
        if let plan = planCache?.write, plan.catalogVersion == catalog.version, plan.temporaryTarget == temporaryTarget,
           plan.writer.schema.name == name {
            return plan
        }
        let plan = WritePlan(writer: try compileWriter(for: name, in: catalog), catalogVersion: catalog.version,
                             temporaryTarget: temporaryTarget)
        planCache?.write = plan
        return plan
    }

    /// The foreign keys referencing `parent`, compiled into `plans` on first use: each child's
    /// writer (from the catalog of the parent's own kind) and the access path to its rows.
    func referencingKeys(of parent: TableSchema, in plans: ForeignKeyPlans) throws -> [ReferencingKey] {
        if let known = plans.referencing[parent.name] { return known }
        let catalog = own
        var keys: [ReferencingKey] = []
        for (childName, fk) in catalog.referencing[parent.name] ?? [] {
            let child: TableWriter
            if let known = plans.writers[childName] {
                child = known
            } else {
                child = try compileWriter(for: childName, in: catalog)
                plans.writers[childName] = child
            }
            let parentPositions = try fk.parentColumns.map { try position(of: $0, in: parent) }
            let childPositions = try fk.columns.map { try position(of: $0, in: child.schema) }
            keys.append(ReferencingKey(fk: fk, child: child, parentPositions: parentPositions, childPositions: childPositions,
                                       path: try referencingRowsPath(child.schema, fk, catalog: catalog)))
        }
        plans.referencing[parent.name] = keys
        return keys
    }

    func position(of column: String, in table: TableSchema) throws -> Int {
        guard let i = table.columnIndex(column) else {
            throw DatabaseError.internalError("foreign key column \(column) is not a column of \(table.name)")
        }
        return i
    }
}
