// What compiled expressions and plans run against: the current row of each enclosing query
// (for correlated references), the statement's parameters, and the transaction.

import BorealisStorage

package final class ExecutionContext {
    /// Rows of the enclosing queries, innermost last. A column reference compiled at depth d
    /// and index i reads frames[frames.count − 1 − d][i]. Every access is a short read or a
    /// single append/removeLast, never overlapping, so the per-row dynamic exclusivity check
    /// (a measurable share of scan time) is switched off for this one property.
    @exclusivity(unchecked) var frames: [[Value]] = []
    private(set) var parameters: [Value]
    /// Absent only while the compiler folds constant expressions (which read no table).
    private(set) var txn: StorageTransaction!
    private(set) var catalog: Catalog?
    /// The connection's transaction on its temporary tables' private engine, when it has any
    /// (docs/temporary-tables.md); `txn` is the database's.
    var temporaryTxn: StorageTransaction?
    /// Results of uncorrelated subqueries, computed once per statement.
    var subqueryCache: [ObjectIdentifier: Any] = [:]
    /// The statement's timestamp, read from the clock when an expression first asks for it.
    var statementTime: Int64 {
        if let clock { return clock }
        let now = wallClockMicroseconds()
        clock = now
        return now
    }
    private var clock: Int64?
    /// The transaction's timestamp (now(), current_timestamp): when its block began, or the
    /// statement's outside a block, as PostgreSQL keeps it for the whole transaction.
    var transactionTime: Int64 { session?.blockStartTime ?? statementTime }
    /// Rows a sort or hash aggregation keeps in memory before spilling to temporary files.
    var workMemoryRows = 250_000
    /// What the statement holds in memory, against its limit (StatementMemory.swift).
    let memory = StatementMemory()
    /// Set while EXPLAIN ANALYZE runs a statement: what each operator did.
    var profile: OperatorProfile?
    /// The connection's configuration parameters (current_setting, set_config).
    var session: SessionSettings?
    /// Calls of `pollInterrupt` left before it next asks the statement's watch.
    @exclusivity(unchecked) private var pollCountdown = 0

    /// For loops over rows already in memory (a nested-loop or hash join's pairs), which read
    /// no page and so pass no interrupt check of the storage layer: throws 57014 when the
    /// statement was interrupted, asking once per 1,024 calls.
    @inline(__always)
    func pollInterrupt() throws {
        pollCountdown -= 1
        if pollCountdown < 0 {
            pollCountdown = 1_024
            try txn?.watch?.check()
        }
    }

    init(parameters: [Value], txn: StorageTransaction?, catalog: Catalog?) {
        self.parameters = parameters
        self.txn = txn
        self.catalog = catalog
    }

    /// Lets go of the statement's transaction, catalog, parameters and results once it has run
    /// (a kept context must not keep a transaction alive: an unfinished one rolls back, and
    /// gives up the write lock, when it is released).
    package func finish() {
        txn = nil
        temporaryTxn = nil
        catalog = nil
        parameters = []
        frames.removeAll(keepingCapacity: true)
        if !subqueryCache.isEmpty { subqueryCache = [:] }
        profile = nil
    }

    /// Makes a finished statement's context ready for the next statement, as if new (a
    /// prepared statement reuses its context instead of allocating one per execution).
    func reset(parameters: [Value], txn: StorageTransaction, catalog: Catalog) {
        finish()
        self.parameters = parameters
        self.txn = txn
        self.catalog = catalog
        clock = nil
    }

    /// The transaction that holds `table`'s pages: chosen once when a scan opens, never per row.
    @inline(__always)
    func transaction(for table: TableSchema) throws -> StorageTransaction {
        guard table.isTemporary else { return txn }
        guard let temporaryTxn else { throw DatabaseError.internalError("temporary table \(table.name) read without its transaction") }
        return temporaryTxn
    }

    @inline(__always)
    func withFrame<T>(_ row: [Value], _ body: () throws -> T) rethrows -> T {
        frames.append(row)
        defer { frames.removeLast() }
        return try body()
    }
}

typealias Evaluator = (ExecutionContext) throws -> Value

/// A name visible to expressions: a column of a FROM item.
struct ScopeColumn {
    var table: String?
    var name: String
    /// Hidden from `*` (e.g. the duplicate of a USING column).
    var hidden = false
    /// The declared type, for columns of tables.
    var type: SQLType?
    /// For a base table's column: where resolving it records that the query reads it, so the
    /// scan decodes only referenced columns.
    var usage: ColumnUsage?
    var ordinal = 0
    /// For a base table's char(n) column: n, the length its values read padded to.
    var padding: Int?

    init(table: String?, name: String, hidden: Bool = false, type: SQLType? = nil) {
        self.table = table
        self.name = name
        self.hidden = hidden
        self.type = type
    }
}

/// Which columns of a base table a query references, filled while its expressions are
/// compiled and read when its scan opens (after planning, so the set is complete).
///
/// A text column that the query reads only as the argument of one length function (say
/// `sum(length(v))`) is decoded as that length: the compiled call finds an integer in the row
/// and returns it (`decodesLength`); any other reference makes the column decode as its value.
final class ColumnUsage {
    // Written while the query is compiled, then only read (per row, by `decodesLength`):
    // without the dynamic exclusivity checks.
    @exclusivity(unchecked) private var read: [Bool]
    @exclusivity(unchecked) private var lengthReads: [ColumnDecode?]
    @exclusivity(unchecked) private var lengthConflict: [Bool]

    init(columns: Int) {
        read = Array(repeating: false, count: columns)
        lengthReads = Array(repeating: nil, count: columns)
        lengthConflict = Array(repeating: false, count: columns)
    }

    func markRead(_ ordinal: Int) {
        if ordinal < read.count { read[ordinal] = true }
    }

    /// Records a `length`-kind read (`.characterLength` or `.octetLength`) of the column.
    func markLengthRead(_ ordinal: Int, _ kind: ColumnDecode) {
        guard ordinal < read.count else { return }
        if let other = lengthReads[ordinal], other != kind { lengthConflict[ordinal] = true }
        lengthReads[ordinal] = kind
    }

    /// Whether the scan hands the column over as its `kind` length rather than its value.
    func decodesLength(_ ordinal: Int, _ kind: ColumnDecode) -> Bool {
        ordinal < read.count && !read[ordinal] && !lengthConflict[ordinal] && lengthReads[ordinal] == kind
    }

    /// How the scan decodes each column.
    var decoding: [ColumnDecode] {
        read.indices.map { i in
            if read[i] || lengthConflict[i] { return .value }
            return lengthReads[i] ?? .skip
        }
    }
}

/// The columns a query's expressions can see, with the enclosing query's scope as parent.
package final class Scope {
    let columns: [ScopeColumn]
    let parent: Scope?
    /// Set when an expression compiled in a child query referenced this scope or an outer one.
    var referencedFromInside = false

    init(columns: [ScopeColumn], parent: Scope?) {
        self.columns = columns
        self.parent = parent
    }

    /// The column `index` of the scope `depth` levels out.
    func column(depth: Int, index: Int) -> ScopeColumn? {
        var scope: Scope? = self
        for _ in 0..<depth { scope = scope?.parent }
        guard let scope, scope.columns.indices.contains(index) else { return nil }
        return scope.columns[index]
    }

    /// (depth, index) of a column, searching outward.
    func resolve(table: String?, name: String, markingRead: Bool = true) throws -> (depth: Int, index: Int)? {
        var scope: Scope? = self
        var depth = 0
        while let current = scope {
            var found: Int?
            for (i, column) in current.columns.enumerated() where column.name == name && (table == nil || column.table == table) {
                if found != nil {
                    if table == nil && !column.hidden && !current.columns[found!].hidden {
                        throw DatabaseError(.error, sqlState: SQLState.ambiguousColumn, "column reference \"\(name)\" is ambiguous")
                    }
                    continue
                }
                found = i
            }
            if let found {
                if markingRead { current.columns[found].usage?.markRead(current.columns[found].ordinal) }
                // Every scope between here and the one that holds the column is now correlated.
                var s: Scope? = parent
                for _ in 0..<depth {
                    s?.referencedFromInside = true
                    s = s?.parent
                }
                return (depth, found)
            }
            scope = current.parent
            depth += 1
        }
        return nil
    }

    func hasTable(_ name: String) -> Bool { columns.contains { $0.table == name } }
}
