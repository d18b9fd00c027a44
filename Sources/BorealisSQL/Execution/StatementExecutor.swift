// Executes one parsed statement inside a storage transaction: queries through the planner
// (Planner.swift), and the statements of the other files of this type: DDL
// (StatementExecutor+DDL), INSERT/UPDATE/DELETE with their constraints and index maintenance
// (+Writes, +ForeignKeys), EXPLAIN (+Explain), and describing a statement's result (+Describe).

/// The result of one statement.
/// What a statement produced: its columns and rows, or how many rows it changed.
///
/// ```swift
/// let result = try db.execute("UPDATE t SET n = n + 1 WHERE n < 10")
/// print(result.changes)
/// ```
import BorealisStorage

public struct QueryResult: Sendable {
    /// Output column names (empty for statements that return no rows).
    public var columns: [String]
    public var rows: [[Value]]
    /// Rows inserted, updated or deleted.
    public var changes: Int
    /// The row id of the last row inserted (0 if none).
    public var lastInsertRowID: Int64
    /// The type of each output column, as PostgreSQL would type it, where known before the
    /// rows are (nil for a NULL or a scalar subquery).
    public var declaredTypes: [String?]
    /// What PostgreSQL would report as a notice or a different command tag (for instance when
    /// COMMIT rolled back an aborted transaction).
    public var notice: String?

    public init(columns: [String] = [], rows: [[Value]] = [], changes: Int = 0, lastInsertRowID: Int64 = 0, declaredTypes: [String?]? = nil) {
        self.columns = columns
        self.rows = rows
        self.changes = changes
        self.lastInsertRowID = lastInsertRowID
        self.declaredTypes = declaredTypes ?? [String?](repeating: nil, count: columns.count)
    }
}

/// A query plan kept by a prepared statement, valid while the catalog version is unchanged.
package final class PlanCache: @unchecked Sendable {
    package init() {}

    var catalogVersion: UInt64 = .max
    var plan: QueryPlan?
    /// The table sizes `plan` was made with, and its runs since they were last compared with
    /// the live sizes (every `sizeCheckInterval` runs).
    var plannedSizes: [(table: TableSchema, rows: Double)] = []
    var runsSinceSizeCheck = 0
    static let sizeCheckInterval = 64
    /// A prepared INSERT/UPDATE/DELETE's physical plan (StatementExecutor+WritePlan.swift):
    /// the table writer, targets, values, match and assignments, and the foreign keys' cascade
    /// paths, all made for one catalog version.
    var write: StatementExecutor.WritePlan?
    /// The execution context of the statement's last run, reused when nothing else holds it.
    package var context: ExecutionContext?
    /// A single-row INSERT's row array from its last run, filled anew by the next.
    var rowBuffer: [Value] = []
    /// Whether the statement calls nextval()/setval() (`Statement.movesSequences`), once known.
    package var movesSequences: Bool?
}

package struct StatementExecutor {
    package let txn: StorageTransaction
    package let catalog: Catalog
    package let parameters: [Value]
    package var planCache: PlanCache?
    package var workMemoryRows = 250_000
    /// Temporary tables (docs/temporary-tables.md). `catalog` resolves the statement's names
    /// (temporary relations first); `home` is the catalog of the kind of relation the statement
    /// creates or writes — permanent, or when `temporaryTarget` the connection's temporary one —
    /// where new names must be free and foreign keys find their tables (nil: `catalog`).
    package var home: Catalog?
    /// The statement writes temporary relations: `txn` is the connection's temporary transaction.
    package var temporaryTarget = false
    /// The database's transaction when `txn` is the temporary one (scans of permanent tables use it).
    package var permanentTxn: StorageTransaction?
    /// The temporary transaction when the connection has temporary relations (scans of them use it).
    package var temporaryTxn: StorageTransaction?
    var own: Catalog { home ?? catalog }
    /// The types the statement's `$n` parameters take, filled while it is planned.
    package let parameterTypes = ParameterTypes()
    /// The connection's configuration parameters (SessionSettings.swift), for SHOW and
    /// current_setting(); nil where a statement runs outside a connection.
    package var session: SessionSettings?

    package init(txn: StorageTransaction, catalog: Catalog, parameters: [Value], planCache: PlanCache? = nil,
                 workMemoryRows: Int = 250_000) {
        self.txn = txn
        self.catalog = catalog
        self.parameters = parameters
        self.planCache = planCache
        self.workMemoryRows = workMemoryRows
    }

    package static func isWrite(_ statement: Statement) -> Bool {
        switch statement {
        case .begin, .commit, .rollback, .savepoint, .releaseSavepoint, .rollbackToSavepoint, .set, .show, .reset,
             .prepare, .deallocate, .schema: return false
        case .vacuum(let analyze, _): return analyze
        case .select(let query): return query.hasDataModifyingCTE
        // EXPLAIN only plans; EXPLAIN ANALYZE runs the statement.
        case .explain(let inner, let analyze): return analyze && isWrite(inner)
        default: return true
        }
    }

    func context() -> ExecutionContext {
        // A prepared statement's context from its last execution, when nothing kept it.
        if let cache = planCache, isKnownUniquelyReferenced(&cache.context), let ctx = cache.context {
            ctx.reset(parameters: parameters, txn: permanentTxn ?? txn, catalog: catalog)
            ctx.workMemoryRows = workMemoryRows
            ctx.session = session
            ctx.memory.reset(session: session)
            ctx.temporaryTxn = temporaryTxn
            return ctx
        }
        let ctx = ExecutionContext(parameters: parameters, txn: permanentTxn ?? txn, catalog: catalog)
        ctx.workMemoryRows = workMemoryRows
        ctx.session = session
        ctx.memory.reset(session: session)
        ctx.temporaryTxn = temporaryTxn
        planCache?.context = ctx
        return ctx
    }

    /// A planner that estimates table sizes from this statement's transactions.
    func makePlanner() -> Planner {
        Planner(catalog: catalog, statistics: PlannerStatistics(permanent: permanentTxn ?? txn, temporary: temporaryTxn,
                                                                analyzed: catalog.statistics, indexes: Array(catalog.indexes.values)),
                parameterTypes: parameterTypes)
    }

    /// The plan of a SELECT, from the plan cache while the catalog is the one it was made for
    /// and the tables it reads have not grown or shrunk past the sizes it was planned with
    /// (compared every `PlanCache.sizeCheckInterval` runs: docs/query-engine.md, "Statistics").
    func selectPlan(_ query: SelectStatement) throws -> QueryPlan {
        if let cache = planCache, cache.catalogVersion == catalog.version, let cached = cache.plan {
            cache.runsSinceSizeCheck += 1
            guard cache.runsSinceSizeCheck >= PlanCache.sizeCheckInterval else { return cached }
            cache.runsSinceSizeCheck = 0
            if !makePlanner().statistics.sizesChanged(since: cache.plannedSizes) { return cached }
        }
        let planner = makePlanner()
        var plan = try planner.plan(query, parent: nil)
        plan.parameterTypes = planner.parameterTypes.types
        if let named = plan.namingRegisteredColumns(catalog) { plan = named }
        planCache?.plan = plan
        planCache?.catalogVersion = catalog.version
        planCache?.plannedSizes = planner.statistics.observedCounts
        planCache?.runsSinceSizeCheck = 0
        return plan
    }

    /// A SELECT's plan opened on the statement's execution context: its rows come one at a
    /// time from `rows`, which reads through `context` (and the transaction in it) for as long
    /// as the caller keeps them (a prepared statement streaming its rows, `SelectCursor`).
    package func open(_ query: SelectStatement) throws -> (plan: QueryPlan, context: ExecutionContext, rows: RowStream) {
        let plan = try selectPlan(query)
        let ctx = context()
        return (plan, ctx, try plan.open(ctx))
    }

    package func execute(_ statement: Statement) throws -> QueryResult {
        switch statement {
        case .select(let query) where query.hasDataModifyingCTE:
            // Planned afresh each time: the plan holds the rows the CTEs returned.
            var plan = try makePlanner().plan(try runningDataModifyingCTEs(query), parent: nil)
            if let named = plan.namingRegisteredColumns(catalog) { plan = named }
            return QueryResult(columns: plan.columns, rows: try plan.run(context()), declaredTypes: plan.declaredTypes.map { $0?.name })
        case .insert(let table, let columns, .select(let source), let onConflict, let returning, let overriding) where source.hasDataModifyingCTE:
            return try insert(table, columns, .select(try runningDataModifyingCTEs(source)), onConflict, returning, overriding: overriding)
        case .select(let query):
            let plan = try selectPlan(query)
            return QueryResult(columns: plan.columns, rows: try plan.run(context()), declaredTypes: plan.declaredTypes.map { $0?.name })
        case .createTable(let name, let ifNotExists, let columns, let constraints, let temporary, let onCommit):
            if onCommit != nil && !temporary {
                throw DatabaseError(.error, sqlState: SQLState.invalidTableDefinition, "ON COMMIT can only be used on temporary tables")
            }
            guard temporary == temporaryTarget else { throw DatabaseError.internalError("CREATE TABLE \(name) routed to the wrong catalog") }
            if own.relationExists(name) {
                if ifNotExists { return QueryResult() }
                throw DatabaseError(.error, sqlState: SQLState.duplicateTable, "relation \"\(name)\" already exists")
            }
            let expanded = try expandingLike(name, columns, constraints)
            try createTable(name, expanded.columns, expanded.constraints, onCommit: onCommit)
            for index in expanded.indexes { try createIndex(index, schema: try withReloadedCatalog().catalog.table(name)) }
            return QueryResult()
        case .createIndex(let name, let table, let elements, let unique, let ifNotExists):
            return try createIndexStatement(name, table, elements, unique: unique, ifNotExists: ifNotExists, predicate: nil)
        case .createView(let name, let ifNotExists, let columns, let query, let sql, let temporary):
            if own.relationExists(name) {
                if ifNotExists { return QueryResult() }
                throw DatabaseError(.error, sqlState: SQLState.duplicateTable, "relation \"\(name)\" already exists")
            }
            let planner = Planner(catalog: catalog, parameterTypes: parameterTypes)
            let plan = try planner.plan(query, parent: nil)
            guard temporary || planner.readsTemporary == temporaryTarget else {
                throw DatabaseError.internalError("CREATE VIEW \(name) routed to the wrong catalog")
            }
            if !columns.isEmpty && columns.count > plan.columns.count {
                throw DatabaseError(.error, sqlState: SQLState.syntaxError, "CREATE VIEW specifies more column names than columns")
            }
            let names = columns.isEmpty ? plan.columns : columns + plan.columns.dropFirst(columns.count)
            var view = ViewSchema(name: name, columns: names, sql: sql, temporary: temporaryTarget ? true : nil)
            view.dependencies = recordedDependencies(of: query)
            try Catalog.put("view", name, view, txn)
            var result = QueryResult()
            if temporaryTarget && !temporary { result.notice = "view \"\(name)\" will be a temporary view" }
            return result
        case .dropTable(let names, let ifExists):
            return try dropRelations(names, view: false, ifExists: ifExists, cascade: false)
        case .dropIndex(let names, let ifExists):
            for name in names {
                guard let index = catalog.indexes[name] else {
                    if ifExists { continue }
                    throw DatabaseError(.error, sqlState: SQLState.undefinedObject, "index \"\(name)\" does not exist")
                }
                if index.constraint {
                    throw DatabaseError(.error, sqlState: SQLState.dependentObjectsStillExist, "cannot drop index \(name) because constraint \(name) on table \(index.table) requires it")
                }
                try BTree(root: index.root).drop(in: txn)
                try Catalog.remove("index", name, txn)
                try moveComments(of: name, to: nil)
            }
            return QueryResult()
        case .dropView(let names, let ifExists):
            return try dropRelations(names, view: true, ifExists: ifExists, cascade: false)
        case .insert(let table, let columns, let source, let onConflict, let returning, let overriding):
            return try insert(table, columns, source, onConflict, returning, overriding: overriding)
        case .update(let table, let alias, let assignments, let from, let filter, let returning):
            return try update(table, alias, assignments, from, filter, returning)
        case .delete(let table, let alias, let using, let filter, let returning):
            return try delete(table, alias, using, filter, returning)
        case .explain(let inner, let analyze):
            return QueryResult(columns: ["QUERY PLAN"], rows: try (analyze ? explainAnalyze(inner) : explain(inner)).map { [.text($0)] })
        case .analyze(let names, let columns):
            return try analyze(names, columns: columns)
        case .vacuum(let analyze, let names):
            // Nothing to vacuum: versions are dropped as the log is materialized.
            for name in names where catalog.views[name] == nil { _ = try catalog.table(name) }
            return analyze ? try self.analyze(names, columns: names.map { _ in [] }) : QueryResult()
        case .set, .show, .reset:
            guard let session else { throw DatabaseError.internalError("a session statement reached a statement executor without a session") }
            return try session.execute(statement)
        case .sequence(let statement):
            return try executeSequenceStatement(statement)
        case .truncate(let names, let restartIdentity):
            for name in names {
                if let dependent = referencingTable(name, droppedTogether: names) {
                    throw DatabaseError(.error, sqlState: SQLState.featureNotSupported, "cannot truncate a table referenced in a foreign key constraint (table \(dependent) references \(name))")
                }
                var table = try writableTable(name)
                try BTree(root: table.root).drop(in: txn)
                table.root = try TableTree.create(in: txn).root
                try Catalog.put("table", name, table, txn)
                for var index in catalog.indexes(on: name) {
                    try BTree(root: index.root).drop(in: txn)
                    index.root = try BTree.create(in: txn).root
                    try Catalog.put("index", index.name, index, txn)
                }
                if restartIdentity && !temporaryTarget { try restartOwnedSequences(of: name) }
            }
            return QueryResult()
        case .ddl(let statement):
            return try executeDDL(statement)
        case .alterTable(let name, let action):
            return try alterTableStatement(name, action)
        case .begin, .commit, .rollback, .savepoint, .releaseSavepoint, .rollbackToSavepoint:
            return QueryResult()
        case .prepare, .execute, .deallocate:
            throw DatabaseError.internalError("PREPARE, EXECUTE and DEALLOCATE are the connection's, not a statement executor's")
        case .schema(let names, let create, let ifClause):
            return try SchemaCommands.execute(names: names, create: create, ifClause: ifClause)
        }
    }

    func writableTable(_ name: String) throws -> TableSchema {
        if catalog.views[name] != nil { throw DatabaseError(.error, sqlState: SQLState.wrongObjectType, "\"\(name)\" is a view") }
        return try placed(try catalog.table(name))
    }

    /// `table`, checked to live where this statement writes: a table written through the
    /// other engine's transaction would corrupt it (docs/temporary-tables.md).
    func placed(_ table: TableSchema) throws -> TableSchema {
        guard table.isTemporary == temporaryTarget else {
            throw DatabaseError.internalError("table \(table.name) is \(table.isTemporary ? "" : "not ")temporary, and the statement writes \(temporaryTarget ? "temporary" : "permanent") tables")
        }
        return table
    }

}
