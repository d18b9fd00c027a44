// Executes one parsed statement inside a storage transaction: DDL against the catalog, DML
// with its constraints (NOT NULL 23502, CHECK 23514, UNIQUE/PRIMARY KEY 23505) and index
// maintenance, and queries through the planner.

/// The result of one statement.
/// What a statement produced: its columns and rows, or how many rows it changed.
///
/// ```swift
/// let result = try db.execute("UPDATE t SET n = n + 1 WHERE n < 10")
/// print(result.changes)
/// ```
public struct QueryResult: Sendable {
    /// Output column names (empty for statements that return no rows).
    public var columns: [String]
    public var rows: [[Value]]
    /// Rows inserted, updated or deleted.
    public var changes: Int
    /// The row id of the last row inserted (0 if none).
    public var lastInsertRowID: Int64
    /// Declared types of the output columns, where known (a table column's type, a cast's).
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
final class PlanCache: @unchecked Sendable {
    var catalogVersion: UInt64 = .max
    var plan: QueryPlan?
    /// A prepared INSERT/UPDATE/DELETE's compiled table writer (checks, defaults, index keys).
    var writerVersion: UInt64 = .max
    var writerTable = ""
    fileprivate var writer: StatementExecutor.TableWriter?
    /// A prepared INSERT's target columns (as table column positions).
    var targetsVersion: UInt64 = .max
    var targets: [Int]?
    /// A prepared INSERT … VALUES's compiled value expressions.
    var valuesVersion: UInt64 = .max
    var values: [[Evaluator?]]?
    /// A prepared UPDATE/DELETE's compiled WHERE and access path, and UPDATE's assignments.
    var matchVersion: UInt64 = .max
    var match: (test: Evaluator?, path: AccessPath)?
    var assignmentsVersion: UInt64 = .max
    var assignments: [(Int, Evaluator)]?
    /// The execution context of the statement's last run, reused when nothing else holds it.
    var context: ExecutionContext?
    /// A single-row INSERT's row array from its last run, filled anew by the next.
    var rowBuffer: [Value] = []
}

struct StatementExecutor {
    let txn: StorageTransaction
    let catalog: Catalog
    let parameters: [Value]
    var planCache: PlanCache?
    var workMemoryRows = 250_000
    /// Temporary tables (docs/temporary-tables.md). `catalog` resolves the statement's names
    /// (temporary relations first); `home` is the catalog of the kind of relation the statement
    /// creates or writes — permanent, or when `temporaryTarget` the connection's temporary one —
    /// where new names must be free and foreign keys find their tables (nil: `catalog`).
    var home: Catalog?
    /// The statement writes temporary relations: `txn` is the connection's temporary transaction.
    var temporaryTarget = false
    /// The database's transaction when `txn` is the temporary one (scans of permanent tables use it).
    var permanentTxn: StorageTransaction?
    /// The temporary transaction when the connection has temporary relations (scans of them use it).
    var temporaryTxn: StorageTransaction?
    private var own: Catalog { home ?? catalog }
    /// Access paths to referencing rows, per child table and foreign key, for this statement.
    let foreignKeyPaths = ForeignKeyPaths()

    final class ForeignKeyPaths {
        var paths: [String: AccessPath] = [:]
    }

    static let knownTypes: Set<String> = ["integer", "bigint", "smallint", "serial", "bigserial", "real", "double precision",
                                          "numeric", "text", "varchar", "char", "boolean", "bytea", "date", "time",
                                          "timestamp", "timestamptz", "interval", "json", "jsonb"]

    static func isWrite(_ statement: Statement) -> Bool {
        switch statement {
        case .select, .begin, .commit, .rollback, .savepoint, .releaseSavepoint, .rollbackToSavepoint: return false
        default: return true
        }
    }

    func context() -> ExecutionContext {
        // A prepared statement's context from its last execution, when nothing kept it.
        if let cache = planCache, isKnownUniquelyReferenced(&cache.context), let ctx = cache.context {
            ctx.reset(parameters: parameters, txn: permanentTxn ?? txn, catalog: catalog)
            ctx.workMemoryRows = workMemoryRows
            ctx.temporaryTxn = temporaryTxn
            return ctx
        }
        let ctx = ExecutionContext(parameters: parameters, txn: permanentTxn ?? txn, catalog: catalog)
        ctx.workMemoryRows = workMemoryRows
        ctx.temporaryTxn = temporaryTxn
        planCache?.context = ctx
        return ctx
    }

    /// A planner that estimates table sizes from this statement's transactions.
    func makePlanner() -> Planner {
        Planner(catalog: catalog, statistics: PlannerStatistics(permanent: permanentTxn ?? txn, temporary: temporaryTxn))
    }

    /// The plan of a SELECT, from the plan cache while the catalog is the one it was made for.
    func selectPlan(_ query: SelectStatement) throws -> QueryPlan {
        if let cache = planCache, cache.catalogVersion == catalog.version, let cached = cache.plan { return cached }
        let plan = try makePlanner().plan(query, parent: nil)
        planCache?.plan = plan
        planCache?.catalogVersion = catalog.version
        return plan
    }

    /// A SELECT's plan opened on the statement's execution context: its rows come one at a
    /// time from `rows`, which reads through `context` (and the transaction in it) for as long
    /// as the caller keeps them (a prepared statement streaming its rows, `SelectCursor`).
    func open(_ query: SelectStatement) throws -> (plan: QueryPlan, context: ExecutionContext, rows: RowStream) {
        let plan = try selectPlan(query)
        let ctx = context()
        return (plan, ctx, try plan.open(ctx))
    }

    func execute(_ statement: Statement) throws -> QueryResult {
        switch statement {
        case .select(let query):
            let plan = try selectPlan(query)
            return QueryResult(columns: plan.columns, rows: try plan.run(context()), declaredTypes: plan.declaredTypes)
        case .createTable(let name, let ifNotExists, let columns, let constraints, let temporary, let onCommit):
            if onCommit != nil && !temporary {
                throw DatabaseError(.error, sqlState: "42P16", "ON COMMIT can only be used on temporary tables")
            }
            guard temporary == temporaryTarget else { throw DatabaseError.internalError("CREATE TABLE \(name) routed to the wrong catalog") }
            if own.relationExists(name) {
                if ifNotExists { return QueryResult() }
                throw DatabaseError(.error, sqlState: "42P07", "relation \"\(name)\" already exists")
            }
            try createTable(name, columns, constraints, onCommit: onCommit)
            return QueryResult()
        case .createIndex(let name, let table, let elements, let unique, let ifNotExists):
            if own.relationExists(name) {
                if ifNotExists { return QueryResult() }
                throw DatabaseError(.error, sqlState: "42P07", "relation \"\(name)\" already exists")
            }
            let plain = elements.allSatisfy { if case .column(nil, _) = $0 { return true } else { return false } }
            let names = elements.map { e -> String in if case .column(nil, let n) = e { return n } else { return e.sql } }
            try createIndex(IndexSchema(name: name, table: table, columns: names, expressions: plain ? nil : elements.map(\.sql),
                                        unique: unique, root: 0), schema: try placed(try catalog.table(table)))
            return QueryResult()
        case .createView(let name, let ifNotExists, let columns, let query, let sql, let temporary):
            if own.relationExists(name) {
                if ifNotExists { return QueryResult() }
                throw DatabaseError(.error, sqlState: "42P07", "relation \"\(name)\" already exists")
            }
            let planner = Planner(catalog: catalog)
            let plan = try planner.plan(query, parent: nil)
            guard temporary || planner.readsTemporary == temporaryTarget else {
                throw DatabaseError.internalError("CREATE VIEW \(name) routed to the wrong catalog")
            }
            if !columns.isEmpty && columns.count > plan.columns.count {
                throw DatabaseError(.error, sqlState: "42601", "CREATE VIEW specifies more column names than columns")
            }
            let names = columns.isEmpty ? plan.columns : columns + plan.columns.dropFirst(columns.count)
            try Catalog.put("view", name, ViewSchema(name: name, columns: names, sql: sql, temporary: temporaryTarget ? true : nil), txn)
            var result = QueryResult()
            if temporaryTarget && !temporary { result.notice = "view \"\(name)\" will be a temporary view" }
            return result
        case .dropTable(let names, let ifExists):
            for name in names {
                guard let table = catalog.tables[name] else {
                    if ifExists { continue }
                    throw DatabaseError(.error, sqlState: "42P01", "table \"\(name)\" does not exist")
                }
                if let dependent = referencingTable(name, droppedTogether: names) {
                    throw DatabaseError(.error, sqlState: "2BP01", "cannot drop table \(name) because table \(dependent) references it with a foreign key")
                }
                for index in catalog.indexes(on: name) {
                    try BTree(root: index.root).drop(in: txn)
                    try Catalog.remove("index", index.name, txn)
                }
                try BTree(root: table.root).drop(in: txn)
                try Catalog.remove("table", name, txn)
            }
            return QueryResult()
        case .dropIndex(let names, let ifExists):
            for name in names {
                guard let index = catalog.indexes[name] else {
                    if ifExists { continue }
                    throw DatabaseError(.error, sqlState: "42704", "index \"\(name)\" does not exist")
                }
                if index.constraint {
                    throw DatabaseError(.error, sqlState: "2BP01", "cannot drop index \(name) because constraint \(name) on table \(index.table) requires it")
                }
                try BTree(root: index.root).drop(in: txn)
                try Catalog.remove("index", name, txn)
            }
            return QueryResult()
        case .dropView(let names, let ifExists):
            for name in names {
                guard catalog.views[name] != nil else {
                    if ifExists { continue }
                    throw DatabaseError(.error, sqlState: "42P01", "view \"\(name)\" does not exist")
                }
                try Catalog.remove("view", name, txn)
            }
            return QueryResult()
        case .insert(let table, let columns, let source, let onConflict, let returning):
            return try insert(table, columns, source, onConflict, returning)
        case .update(let table, let alias, let assignments, let from, let filter, let returning):
            return try update(table, alias, assignments, from, filter, returning)
        case .delete(let table, let alias, let using, let filter, let returning):
            return try delete(table, alias, using, filter, returning)
        case .explain(let inner, let analyze):
            return QueryResult(columns: ["QUERY PLAN"], rows: try (analyze ? explainAnalyze(inner) : explain(inner)).map { [.text($0)] })
        case .truncate(let names):
            for name in names {
                if let dependent = referencingTable(name, droppedTogether: names) {
                    throw DatabaseError(.error, sqlState: "0A000", "cannot truncate a table referenced in a foreign key constraint (table \(dependent) references \(name))")
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
            }
            return QueryResult()
        case .alterTable(let name, let action):
            try alterTable(name, action)
            return QueryResult()
        case .begin, .commit, .rollback, .savepoint, .releaseSavepoint, .rollbackToSavepoint:
            return QueryResult()
        }
    }

    private func explain(_ statement: Statement) throws -> [String] {
        let planner = makePlanner()
        switch statement {
        case .select(let query):
            return try planner.plan(query, parent: nil).explainNode.lines()
        case .insert(let table, _, let source, _, _):
            var node = ExplainNode(label: "Insert on \(table)")
            if case .select(let query) = source { node.children = [try planner.plan(query, parent: nil).explainNode] }
            return node.lines()
        case .update(let table, let alias, _, let from, let filter, _):
            return ExplainNode(label: "Update on \(table)",
                               children: [try writeScan(table, alias, from.isEmpty ? filter : nil)] + (try referencingRows(of: table, deleting: false))).lines()
        case .delete(let table, let alias, let using, let filter, _):
            return ExplainNode(label: "Delete on \(table)",
                               children: [try writeScan(table, alias, using.isEmpty ? filter : nil)] + (try referencingRows(of: table, deleting: true))).lines()
        default:
            return ["Utility Statement"]
        }
    }

    /// EXPLAIN ANALYZE: runs the statement (a write changes the database, as in PostgreSQL) and
    /// shows the plan with what each operator did.
    private func explainAnalyze(_ statement: Statement) throws -> [String] {
        let clock = ContinuousClock()
        let start = clock.now
        func milliseconds(_ d: Duration) -> String {
            cFormat("%.3f", Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15)
        }
        guard case .select(let query) = statement else {
            var lines = try explain(statement)
            let result = try execute(statement)
            if !lines.isEmpty, StatementExecutor.isWrite(statement) { lines[0] += " (actual rows=\(result.changes))" }
            return lines + ["Execution Time: \(milliseconds(clock.now - start)) ms"]
        }
        let plan = try makePlanner().plan(query, parent: nil)
        let planned = clock.now
        let ctx = context()
        let profile = OperatorProfile()
        ctx.profile = profile
        defer { ctx.profile = nil }
        let next = try plan.open(ctx)
        while try next() != nil {}
        return profile.annotate(plan.explainNode).lines()
            + ["Planning Time: \(milliseconds(planned - start)) ms", "Execution Time: \(milliseconds(clock.now - planned)) ms"]
    }

    /// How UPDATE or DELETE of `table`'s rows finds the rows that reference them, per foreign key.
    private func referencingRows(of table: String, deleting: Bool) throws -> [ExplainNode] {
        try (own.referencing[table] ?? []).map { childName, fk in
            let child = try own.table(childName)
            let path = try referencingRowsPath(child, fk, catalog: own)
            let scan = ScanOperator(table: child, alias: child.name, columns: [], path: path, usage: nil,
                                    estimatedRows: JoinPlanner.estimate(makePlanner().statistics.rowCount(child), [.literal(.null)], table: nil, scope: Scope(columns: [], parent: nil)))
            let action = deleting ? fk.onDelete : fk.onUpdate
            return ExplainNode(label: "Foreign Key \(fk.name) (\(action.rawValue))", estimatedRows: nil, children: [scan.explainNode])
        }
    }

    /// How UPDATE or DELETE finds its rows.
    private func writeScan(_ name: String, _ alias: String?, _ filter: Expr?) throws -> ExplainNode {
        let table = try catalog.table(name)
        let (scope, compiler) = Self.rowCompiler(table.columns, label: alias ?? name, catalog: catalog, clause: "WHERE")
        let conjuncts = filter.map(Planner.conjuncts)?.filter { !Planner.containsSubquery($0) } ?? []
        let path = try AccessPath.choose(table: table, indexes: catalog.indexes(on: name), conjuncts: conjuncts, scope: scope, compiler: compiler)
        let scan = ScanOperator(table: table, alias: alias ?? name, columns: scope.columns, path: path, filterSQL: filter.map { [$0.sql] } ?? [],
                                usage: nil, estimatedRows: JoinPlanner.estimate(makePlanner().statistics.rowCount(table), conjuncts, table: table, scope: scope))
        return scan.explainNode
    }

    private func writableTable(_ name: String) throws -> TableSchema {
        if catalog.views[name] != nil { throw DatabaseError(.error, sqlState: "42809", "\"\(name)\" is a view") }
        return try placed(try catalog.table(name))
    }

    /// `table`, checked to live where this statement writes: a table written through the
    /// other engine's transaction would corrupt it (docs/temporary-tables.md).
    private func placed(_ table: TableSchema) throws -> TableSchema {
        guard table.isTemporary == temporaryTarget else {
            throw DatabaseError.internalError("table \(table.name) is \(table.isTemporary ? "" : "not ")temporary, and the statement writes \(temporaryTarget ? "temporary" : "permanent") tables")
        }
        return table
    }

    // MARK: ALTER TABLE

    private func rewriteRows(_ table: TableSchema, _ transform: ([Value]) throws -> [Value]) throws {
        let tree = TableTree(root: table.root)
        var cursor = tree.tree.cursor(in: txn)
        var rows: [(Int64, [Value])] = []
        var more = try cursor.first()
        while more {
            rows.append((try TableTree.decode(cursor.key), try RecordCodec.decode(try cursor.value())))
            more = try cursor.next()
        }
        for (rowID, row) in rows { try tree.put(rowID, RecordCodec.encode(try transform(row)), in: txn) }
    }

    private func alterTable(_ name: String, _ action: AlterAction) throws {
        var table = try writableTable(name)
        switch action {
        case .addColumn(let definition, let ifNotExists):
            if table.columnIndex(definition.name) != nil {
                if ifNotExists { return }
                throw DatabaseError(.error, sqlState: "42701", "column \"\(definition.name)\" of relation \"\(name)\" already exists")
            }
            guard Self.knownTypes.contains(definition.type.name) else {
                throw DatabaseError(.error, sqlState: "42704", "type \"\(definition.type.name)\" does not exist")
            }
            if definition.primaryKey || definition.unique {
                throw DatabaseError(.error, sqlState: "0A000", "ADD COLUMN with PRIMARY KEY or UNIQUE is not supported; add the column, then CREATE UNIQUE INDEX")
            }
            let column = ColumnSchema(name: definition.name, type: definition.type.name, modifiers: definition.type.modifiers,
                                      notNull: definition.notNull, defaultSQL: definition.defaultValue?.sql)
            var fill = Value.null
            if let d = definition.defaultValue {
                let compiler = ExpressionCompiler(scope: Scope(columns: [], parent: nil), planner: Planner(catalog: catalog), aggregation: nil, clause: "DEFAULT expressions")
                let ctx = context()
                fill = try assign(try ctx.withFrame([]) { try compiler.compile(d)(ctx) }, to: column)
            }
            if column.notNull && fill.isNull, try TableTree(root: table.root).maxRowID(in: txn) != nil {
                throw DatabaseError(.constraint, sqlState: "23502", "column \"\(column.name)\" of relation \"\(name)\" contains null values")
            }
            if let check = definition.check { table.checks.append(NamedCheck(name: "\(name)_\(column.name)_check", sql: check.sql)) }
            table.columns.append(column)
            try rewriteRows(table) { $0 + [fill] }
        case .dropColumn(let column, let ifExists):
            guard let position = table.columnIndex(column) else {
                if ifExists { return }
                throw DatabaseError(.error, sqlState: "42703", "column \"\(column)\" of relation \"\(name)\" does not exist")
            }
            guard table.columns.count > 1 else {
                throw DatabaseError(.error, sqlState: "0A000", "cannot drop the only column of table \"\(name)\"")
            }
            for index in catalog.indexes(on: name) where try index.referencedColumns().contains(column) {
                try BTree(root: index.root).drop(in: txn)
                try Catalog.remove("index", index.name, txn)
            }
            table.checks.removeAll { check in
                (try? Self.parseExpression(check.sql)).map { Planner.columnReferences($0).contains { $0.1 == column } } ?? true
            }
            if table.rowIDColumn == position { table.rowIDColumn = nil }
            if let r = table.rowIDColumn, r > position { table.rowIDColumn = r - 1 }
            table.primaryKey.removeAll { $0 == column }
            table.columns.remove(at: position)
            try rewriteRows(table) { row in
                var row = row
                if position < row.count { row.remove(at: position) }
                return row
            }
        case .renameColumn(let old, let new):
            guard let position = table.columnIndex(old) else {
                throw DatabaseError(.error, sqlState: "42703", "column \"\(old)\" does not exist")
            }
            guard table.columnIndex(new) == nil else {
                throw DatabaseError(.error, sqlState: "42701", "column \"\(new)\" of relation \"\(name)\" already exists")
            }
            table.columns[position].name = new
            table.primaryKey = table.primaryKey.map { $0 == old ? new : $0 }
            table.checks = try table.checks.map { NamedCheck(name: $0.name, sql: Self.renameColumn(try Self.parseExpression($0.sql), old, new).sql) }
            for var index in catalog.indexes(on: name) where try index.referencedColumns().contains(old) {
                if let expressions = index.expressions {
                    index.expressions = try expressions.map { Self.renameColumn(try Self.parseExpression($0), old, new).sql }
                    index.columns = index.expressions!
                } else {
                    index.columns = index.columns.map { $0 == old ? new : $0 }
                }
                try Catalog.put("index", index.name, index, txn)
            }
        case .renameTable(let new):
            guard !own.relationExists(new) else {
                throw DatabaseError(.error, sqlState: "42P07", "relation \"\(new)\" already exists")
            }
            try Catalog.remove("table", name, txn)
            table.name = new
            for var index in catalog.indexes(on: name) {
                index.table = new
                try Catalog.put("index", index.name, index, txn)
            }
            try Catalog.put("table", new, table, txn)
            return
        }
        try Catalog.put("table", name, table, txn)
    }

    /// `e` with references to column `old` renamed to `new` (check constraints are stored as SQL).
    static func renameColumn(_ e: Expr, _ old: String, _ new: String) -> Expr {
        func r(_ e: Expr) -> Expr { renameColumn(e, old, new) }
        switch e {
        case .column(let t, let n): return .column(table: t, name: n == old ? new : n)
        case .unary(let op, let a): return .unary(op, r(a))
        case .binary(let op, let a, let b): return .binary(op, r(a), r(b))
        case .isNull(let a, let n): return .isNull(r(a), negated: n)
        case .isBoolean(let a, let v, let n): return .isBoolean(r(a), value: v, negated: n)
        case .between(let a, let b, let c, let n): return .between(r(a), low: r(b), high: r(c), negated: n)
        case .inList(let a, let list, let n): return .inList(r(a), list.map(r), negated: n)
        case .caseWhen(let base, let whens, let otherwise):
            return .caseWhen(base: base.map(r), whens: whens.map { (r($0.0), r($0.1)) }, otherwise: otherwise.map(r))
        case .cast(let a, let type): return .cast(r(a), type)
        case .function(let name, let args, let distinct, let star): return .function(name: name, args: args.map(r), distinct: distinct, star: star)
        case .like(let a, let p, let esc, let ci, let n): return .like(r(a), pattern: r(p), escape: esc.map(r), caseInsensitive: ci, negated: n)
        default: return e
        }
    }

    // MARK: DDL

    private func createTable(_ name: String, _ definitions: [ColumnDefinition], _ constraints: [TableConstraint], onCommit: OnCommitAction?) throws {
        var columns: [ColumnSchema] = []
        var seen = Set<String>()
        for d in definitions {
            guard seen.insert(d.name).inserted else {
                throw DatabaseError(.error, sqlState: "42701", "column \"\(d.name)\" specified more than once")
            }
            guard Self.knownTypes.contains(d.type.name) else {
                throw DatabaseError(.error, sqlState: "42704", "type \"\(d.type.name)\" does not exist")
            }
            let serial = d.type.name == "serial" || d.type.name == "bigserial"
            let type = d.type.name == "serial" ? "integer" : (d.type.name == "bigserial" ? "bigint" : d.type.name)
            columns.append(ColumnSchema(name: d.name, type: type, modifiers: d.type.modifiers,
                                        notNull: d.notNull || d.primaryKey || serial, defaultSQL: d.defaultValue?.sql,
                                        identity: serial || d.autoIncrement))
        }
        guard !columns.isEmpty else { throw DatabaseError(.error, sqlState: "42601", "a table must have at least one column") }
        var primaryKey = definitions.filter(\.primaryKey).map(\.name)
        var uniques: [[String]] = definitions.filter(\.unique).map { [$0.name] }
        var checks: [NamedCheck] = []
        for (i, d) in definitions.enumerated() where d.check != nil {
            checks.append(NamedCheck(name: "\(name)_\(d.name)_check\(i == 0 ? "" : "")", sql: d.check!.sql))
        }
        for constraint in constraints {
            switch constraint {
            case .primaryKey(let cols, _):
                guard primaryKey.isEmpty else { throw DatabaseError(.error, sqlState: "42P16", "multiple primary keys for table \"\(name)\" are not allowed") }
                primaryKey = cols
            case .unique(let cols, _): uniques.append(cols)
            case .check(let e, let constraintName): checks.append(NamedCheck(name: constraintName ?? "\(name)_check", sql: e.sql))
            case .foreignKey: break
            }
        }
        if primaryKey.count > 1 || definitions.filter(\.primaryKey).count > 1 {
            if definitions.filter(\.primaryKey).count > 1 { throw DatabaseError(.error, sqlState: "42P16", "multiple primary keys for table \"\(name)\" are not allowed") }
        }
        for column in primaryKey + uniques.flatMap({ $0 }) where !seen.contains(column) {
            throw DatabaseError(.error, sqlState: "42703", "column \"\(column)\" named in key does not exist")
        }
        for i in columns.indices where primaryKey.contains(columns[i].name) { columns[i].notNull = true }
        var rowIDColumn: Int?
        if primaryKey.count == 1, let i = columns.firstIndex(where: { $0.name == primaryKey[0] }),
           ["integer", "bigint", "smallint"].contains(columns[i].type) {
            rowIDColumn = i
        }
        // Foreign keys: from column REFERENCES and table FOREIGN KEY constraints.
        var references: [([String], ForeignKeyReference, String?)] = definitions.compactMap { d in d.references.map { ([d.name], $0, nil) } }
        for constraint in constraints {
            if case .foreignKey(let cols, let reference, let constraintName) = constraint { references.append((cols, reference, constraintName)) }
        }
        var foreignKeys: [ForeignKey] = []
        for (cols, reference, constraintName) in references {
            for column in cols where !seen.contains(column) {
                throw DatabaseError(.error, sqlState: "42703", "column \"\(column)\" referenced in foreign key constraint does not exist")
            }
            let selfReference = reference.table == name
            let parentColumns: [String]
            let parentKeys: [[String]]
            if selfReference {
                parentColumns = reference.columns.isEmpty ? primaryKey : reference.columns
                parentKeys = [primaryKey] + uniques
            } else {
                let parent = try catalog.table(reference.table)
                if parent.isTemporary != temporaryTarget {
                    throw DatabaseError(.error, sqlState: "42P16", "constraints on \(temporaryTarget ? "temporary" : "permanent") tables may reference only \(temporaryTarget ? "temporary" : "permanent") tables")
                }
                parentColumns = reference.columns.isEmpty ? parent.primaryKey : reference.columns
                parentKeys = [parent.primaryKey] + catalog.indexes(on: parent.name).filter { $0.unique && $0.expressions == nil }.map(\.columns)
            }
            guard parentColumns.count == cols.count, !parentColumns.isEmpty else {
                throw DatabaseError(.error, sqlState: "42830", "number of referencing and referenced columns for foreign key disagree")
            }
            let parentTypes = try parentColumns.map { column -> String in
                if selfReference { return columns.first { $0.name == column }?.type ?? "" }
                let parent = try catalog.table(reference.table)
                return parent.columnIndex(column).map { parent.columns[$0].type } ?? ""
            }
            for (column, parentType) in zip(cols, parentTypes) {
                let type = columns.first { $0.name == column }!.type
                guard Self.typeFamily(type) == Self.typeFamily(parentType) else {
                    throw DatabaseError(.mismatch, sqlState: "42804", "foreign key constraint cannot be implemented: key columns \"\(column)\" and \"\(parentColumns[cols.firstIndex(of: column)!])\" are of incompatible types: \(type) and \(parentType)")
                }
            }
            guard parentKeys.contains(where: { Set($0) == Set(parentColumns) }) else {
                throw DatabaseError(.error, sqlState: "42830", "there is no unique constraint matching given keys for referenced table \"\(reference.table)\"")
            }
            foreignKeys.append(ForeignKey(name: constraintName ?? "\(name)_\(cols.joined(separator: "_"))_fkey", columns: cols,
                                          parent: reference.table, parentColumns: parentColumns,
                                          onDelete: reference.onDelete, onUpdate: reference.onUpdate))
        }
        let tree = try TableTree.create(in: txn)
        var schema = TableSchema(name: name, columns: columns, root: tree.root, rowIDColumn: rowIDColumn, primaryKey: primaryKey, checks: checks)
        if !foreignKeys.isEmpty { schema.foreignKeys = foreignKeys }
        if temporaryTarget {
            schema.temporary = true
            schema.onCommit = onCommit
        }
        // Validate defaults and checks now rather than at the first insert.
        let (_, compiler) = Self.rowCompiler(columns, label: name, catalog: catalog, clause: "check constraints")
        for check in checks { _ = try compiler.compile(try Self.parseExpression(check.sql)) }
        try Catalog.put("table", name, schema, txn)
        if rowIDColumn == nil && !primaryKey.isEmpty {
            try createIndex(IndexSchema(name: "\(name)_pkey", table: name, columns: primaryKey, unique: true, root: 0, constraint: true), schema: schema)
        }
        for cols in uniques where cols != primaryKey {
            try createIndex(IndexSchema(name: "\(name)_\(cols.joined(separator: "_"))_key", table: name, columns: cols, unique: true, root: 0, constraint: true), schema: schema)
        }
    }

    /// Types that compare with each other without a cast.
    static func typeFamily(_ type: String) -> String {
        switch type {
        case "integer", "bigint", "smallint", "real", "double precision", "numeric": return "number"
        case "text", "varchar", "char": return "text"
        default: return type
        }
    }

    /// A compiler for expressions evaluated with one table's row as their frame, and its scope.
    static func rowCompiler(_ columns: [ColumnSchema], label: String, catalog: Catalog, clause: String) -> (Scope, ExpressionCompiler) {
        let scope = Scope(columns: columns.map { ScopeColumn(table: label, name: $0.name) }, parent: nil)
        return (scope, ExpressionCompiler(scope: scope, planner: Planner(catalog: catalog), aggregation: nil, clause: clause))
    }

    static func parseExpression(_ sql: String) throws -> Expr {
        var parser = try Parser(sql)
        let e = try parser.parseExpr()
        guard parser.peek.kind == .end else { throw DatabaseError.corrupt("stored expression has trailing text: \(sql)") }
        return e
    }

    /// Fills a new index from the table: keys are computed from the columns they read, sorted in
    /// batches (bounded memory) and inserted in key order, so the tree grows leaf after leaf.
    private func createIndex(_ definition: IndexSchema, schema: TableSchema) throws {
        var index = definition
        let key = try IndexKeyBuilder(index, schema, catalog)
        let wanted = try key.columnsRead(schema).map { $0 ? ColumnDecode.value : .skip }
        let ctx = context()
        let tree = try BTree.create(in: txn)
        index.root = tree.root
        let table = TableTree(root: schema.root)
        // Sort every entry (in spilled runs past the work memory), then load the tree bottom-up.
        let sorter = IndexEntrySorter(runLength: workMemoryRows)
        let rows = try AccessPath(kind: .fullScan, description: "").openKeyed(table: schema, ctx: ctx, wanted: wanted)
        while let (rowID, row) = try rows() {
            let values = try key.values(row, ctx)
            // NULLs never conflict: a unique index holds any number of them.
            try sorter.append(checkUnique: index.unique && !values.contains(where: \.isNull)) { out in
                for value in values { RecordCodec.appendKey(value, to: &out) }
                TableTree.appendKey(rowID, to: &out)
            }
        }
        var builder = try BTreeBuilder(tree, in: txn)
        var previous: [UInt8] = []
        try sorter.forEachSorted { entry, checkUnique in
            // Equal keys are adjacent in sorted order (they differ only in the row id suffix).
            let prefix = UnsafeRawBufferPointer(rebasing: entry[..<(entry.count - 8)])
            if checkUnique {
                if previous.count == prefix.count && previous.withUnsafeBytes({ Node.compare($0, prefix) == 0 }) {
                    let rowID = try TableTree.decode(Array(entry[(entry.count - 8)...]))
                    guard let raw = try table.get(rowID, in: txn) else { throw DatabaseError.internalError("row \(rowID) vanished") }
                    let values = try key.values(try RecordCodec.decode(raw), ctx)
                    throw DatabaseError(.constraint, sqlState: "23505", "could not create unique index \"\(index.name)\": key (\(index.columns.joined(separator: ", ")))=(\(values.map(\.description).joined(separator: ", "))) is duplicated")
                }
                previous.removeAll(keepingCapacity: true)
                previous.append(contentsOf: prefix)
            }
            try builder.append(entry)
        }
        try builder.finish()
        try Catalog.put("index", index.name, index, txn)
    }

    /// The row id of another row with the same key in a unique index, if any.
    private func findConflict(_ tree: BTree, _ values: [Value], excluding rowID: Int64?) throws -> Int64? {
        try findConflict(tree, prefix: RecordCodec.indexKey(values, rowID: nil), excluding: rowID)
    }

    private func findConflict(_ tree: BTree, prefix: [UInt8], excluding rowID: Int64?) throws -> Int64? {
        var cursor = tree.cursor(in: txn)
        var more = try cursor.seek(atLeast: prefix)
        while more && cursor.key.starts(with: prefix) && cursor.key.count == prefix.count + 8 {
            let other = try TableTree.decode(Array(cursor.key.suffix(8)))
            if other != rowID { return other }
            more = try cursor.next()
        }
        return nil
    }

    // MARK: DML

    /// A table's compiled write path (a class: a prepared statement hands it to every row
    /// without copying its fields).
    fileprivate final class TableWriter {
        let schema: TableSchema
        let tree: TableTree
        let indexes: [(IndexSchema, BTree, IndexKeyBuilder)]
        let checks: [(String, Evaluator)]
        let defaults: [Evaluator?]
        /// Per column: which values it stores as they are (anything else goes through `assign`).
        let storedAsIs: [StoredAsIs]
        let notNull: [Bool]

        init(schema: TableSchema, tree: TableTree, indexes: [(IndexSchema, BTree, IndexKeyBuilder)], checks: [(String, Evaluator)], defaults: [Evaluator?]) {
            self.schema = schema
            self.tree = tree
            self.indexes = indexes
            self.checks = checks
            self.defaults = defaults
            storedAsIs = schema.columns.map { StoredAsIs($0.type) }
            notNull = schema.columns.map(\.notNull)
        }
    }

    /// The values a column type keeps without an assignment cast: PostgreSQL's exact cases.
    fileprivate enum StoredAsIs {
        case bigint, integer, text, double, none

        init(_ type: String) {
            switch type {
            case "bigint": self = .bigint
            case "integer": self = .integer
            case "text": self = .text
            case "double precision": self = .double
            default: self = .none
            }
        }

        @inline(__always)
        func accepts(_ value: Value) -> Bool {
            switch (self, value) {
            case (_, .null), (.bigint, .integer), (.text, .text), (.double, .double): return true
            case (.integer, .integer(let i)): return Int32(exactly: i) != nil
            default: return false
            }
        }
    }

    /// The schema of the table `name` as INSERT/UPDATE/DELETE write it (a view is refused),
    /// its writer compiled into the plan cache on the way.
    func schemaForWriting(_ name: String) throws -> TableSchema { try writer(for: name).schema }

    /// The table's writer, compiled once per catalog version for a prepared statement.
    /// `source` is the catalog `name` is looked up in: the statement's (nil), or the table's
    /// own kind's for a foreign key's cascade.
    private func writer(for name: String, in source: Catalog? = nil) throws -> TableWriter {
        if let cache = planCache, cache.writerVersion == catalog.version, cache.writerTable == name, let w = cache.writer,
           w.schema.isTemporary == temporaryTarget { return w }
        let w = try compileWriter(for: name, in: source ?? catalog)
        if let cache = planCache {
            cache.writer = w
            cache.writerVersion = catalog.version
            cache.writerTable = name
        }
        return w
    }

    private func compileWriter(for name: String, in catalog: Catalog) throws -> TableWriter {
        if catalog.views[name] != nil {
            throw DatabaseError(.error, sqlState: "55000", "cannot change view \"\(name)\"")
        }
        let schema = try placed(try catalog.table(name))
        let indexes = try catalog.indexes(on: name).map { index in
            (index, BTree(root: index.root), try IndexKeyBuilder(index, schema, catalog))
        }
        let (_, compiler) = Self.rowCompiler(schema.columns, label: name, catalog: catalog, clause: "check constraints")
        let checks = try schema.checks.map { ($0.name, try compiler.compile(try Self.parseExpression($0.sql))) }
        let plain = ExpressionCompiler(scope: Scope(columns: [], parent: nil), planner: Planner(catalog: catalog), aggregation: nil, clause: "DEFAULT expressions")
        let defaults = try schema.columns.map { c in try c.defaultSQL.map { try plain.compile(try Self.parseExpression($0)) } }
        return TableWriter(schema: schema, tree: TableTree(root: schema.root), indexes: indexes, checks: checks, defaults: defaults)
    }

    /// Casts each value of `row` to its column's type and enforces NOT NULL.
    private func coerce(_ row: inout [Value], for w: TableWriter) throws {
        for i in w.storedAsIs.indices {
            if !w.storedAsIs[i].accepts(row[i]) { row[i] = try assign(row[i], to: w.schema.columns[i]) }
            if w.notNull[i] && row[i].isNull {
                throw DatabaseError(.constraint, sqlState: "23502", "null value in column \"\(w.schema.columns[i].name)\" of relation \"\(w.schema.name)\" violates not-null constraint")
            }
        }
    }

    /// The row id of an existing row that `row` (coerced) collides with on the row id or a
    /// unique index; `target` narrows the constraints considered (ON CONFLICT (columns)).
    private func conflictingRow(_ row: [Value], in w: TableWriter, target: [String], ctx: ExecutionContext) throws -> Int64? {
        var considered = false
        if let c = w.schema.rowIDColumn, target.isEmpty || target == [w.schema.columns[c].name] {
            considered = true
            if case .integer(let id) = row[c], try w.tree.get(id, in: txn) != nil { return id }
        }
        for (index, tree, key) in w.indexes where index.unique && (target.isEmpty || Set(index.columns) == Set(target)) {
            considered = true
            let values = try key.values(row, ctx)
            if values.contains(where: \.isNull) { continue }
            if let other = try findConflict(tree, values, excluding: nil) { return other }
        }
        if !considered {
            throw DatabaseError(.error, sqlState: "42P10", "there is no unique or exclusion constraint matching the ON CONFLICT specification")
        }
        return nil
    }

    private func store(_ row: inout [Value], in w: TableWriter, replacing oldRowID: Int64?, old: [Value]?, ctx: ExecutionContext) throws -> Int64 {
        let schema = w.schema
        try coerce(&row, for: w)
        try checkParents(of: schema, row, old: old)
        for (name, check) in w.checks where try ctx.withFrame(row, { try check(ctx).truth() }) == false {
            throw DatabaseError(.constraint, sqlState: "23514", "new row for relation \"\(schema.name)\" violates check constraint \"\(name)\"")
        }
        var rowID: Int64
        // A new row id is written first, in one descent with its uniqueness check; the index
        // entries follow (an error there fails the statement, whose changes are rolled back).
        let encoded = RecordCodec.encode(row)
        var written = false
        if let c = schema.rowIDColumn {
            guard case .integer(let id) = row[c] else { throw DatabaseError.internalError("row id column holds \(row[c])") }
            rowID = id
            if id != oldRowID {
                guard try w.tree.insert(id, encoded, in: txn) else {
                    throw DatabaseError(.constraint, sqlState: "23505", "duplicate key value violates unique constraint \"\(schema.name)_pkey\"")
                }
                written = true
            }
        } else if let oldRowID {
            rowID = oldRowID
        } else {
            rowID = (try w.tree.maxRowID(in: txn) ?? 0) &+ 1
        }
        for (index, tree, key) in w.indexes {
            let values = try key.values(row, ctx)
            if let old, let oldRowID {
                let oldValues = try key.values(old, ctx)
                if oldValues == values && oldRowID == rowID { continue }
                try tree.delete(RecordCodec.indexKey(oldValues, rowID: oldRowID), in: txn)
            }
            if index.unique, !values.contains(where: \.isNull), try findConflict(tree, values, excluding: oldRowID ?? rowID) != nil {
                throw DatabaseError(.constraint, sqlState: "23505", "duplicate key value violates unique constraint \"\(index.name)\"")
            }
            try tree.put(RecordCodec.indexKey(values, rowID: rowID), [], in: txn)
        }
        if let oldRowID, oldRowID != rowID { try w.tree.delete(oldRowID, in: txn) }
        if !written { try w.tree.put(rowID, encoded, in: txn) }
        return rowID
    }

    /// PostgreSQL's assignment cast into a column's type.
    private func assign(_ value: Value, to column: ColumnSchema) throws -> Value {
        // The common exact cases first, without a cast.
        if StoredAsIs(column.type).accepts(value) { return value }
        switch column.type {
        case "integer", "bigint", "smallint":
            if case .integer = value, column.type == "bigint" { return value }
            if case .boolean = value { throw DatabaseError(.mismatch, sqlState: "42804", "column \"\(column.name)\" is of type \(column.type) but expression is of type boolean") }
            return try value.cast(to: column.type)
        case "numeric":
            if case .boolean = value { throw DatabaseError(.mismatch, sqlState: "42804", "column \"\(column.name)\" is of type numeric but expression is of type boolean") }
            guard case .numeric(let n) = try value.cast(to: "numeric") else { return .null }
            return .numeric(try n.fitted(precision: column.modifiers.first, scale: column.modifiers.first.map { _ in column.modifiers.count > 1 ? column.modifiers[1] : 0 }))
        case "real", "double precision":
            if case .boolean = value { throw DatabaseError(.mismatch, sqlState: "42804", "column \"\(column.name)\" is of type \(column.type) but expression is of type boolean") }
            let v = try value.cast(to: "double precision")
            if column.type == "real", case .double(let d) = v { return .double(Double(Float(d))) }
            return v
        case "text", "varchar", "char":
            let v = try value.cast(to: "text")
            if let limit = column.modifiers.first, case .text(let s) = v, s.count > limit {
                let trimmed = s.prefix(limit)
                if s.dropFirst(limit).allSatisfy({ $0 == " " }) { return .text(String(trimmed)) }
                throw DatabaseError(.range, sqlState: "22001", "value too long for type \(column.type == "char" ? "character" : "character varying")(\(limit))")
            }
            return v
        case "boolean": return try value.cast(to: "boolean")
        case "bytea": return try value.cast(to: "bytea")
        case "date", "time", "timestamp", "timestamptz", "interval":
            switch (column.type, value) {
            case ("date", .date), ("time", .time), ("timestamp", .timestamp), ("timestamptz", .timestamptz), ("interval", .interval): return value
            case (_, .text), ("date", .timestamp), ("date", .timestamptz), ("timestamp", .date), ("timestamptz", .date),
                 ("timestamp", .timestamptz), ("timestamptz", .timestamp), ("time", .timestamp), ("time", .timestamptz):
                return try value.cast(to: column.type)
            default:
                throw DatabaseError(.mismatch, sqlState: "42804", "column \"\(column.name)\" is of type \(column.type) but expression is of type \(value.typeName)")
            }
        default: return value
        }
    }

    func returningPlan(_ items: [SelectItem], _ schema: TableSchema, alias: String?) throws -> (columns: [String], evaluate: (ExecutionContext, [Value]) throws -> [Value])? {
        guard !items.isEmpty else { return nil }
        let label = alias ?? schema.name
        let (_, compiler) = Self.rowCompiler(schema.columns, label: label, catalog: catalog, clause: "RETURNING")
        var names: [String] = []
        var evaluators: [Evaluator] = []
        for item in items {
            switch item {
            case .star:
                for (i, c) in schema.columns.enumerated() {
                    names.append(c.name)
                    evaluators.append { ctx in ctx.frames[ctx.frames.count - 1][i] }
                }
            case .expression(let e, let a):
                names.append(a ?? Planner.outputName(e))
                evaluators.append(try compiler.compile(e))
            }
        }
        return (names, { ctx, row in try ctx.withFrame(row) { try evaluators.map { try $0(ctx) } } })
    }

    private func insert(_ name: String, _ columnNames: [String]?, _ source: InsertSource, _ onConflict: OnConflict?, _ returning: [SelectItem]) throws -> QueryResult {
        let w = try writer(for: name)
        let width = w.storedAsIs.count
        let targets: [Int]
        if let cache = planCache, cache.targetsVersion == catalog.version, let cached = cache.targets {
            targets = cached
        } else {
            targets = try (columnNames ?? w.schema.columns.map(\.name)).map { c -> Int in
                guard let i = w.schema.columnIndex(c) else {
                    throw DatabaseError(.error, sqlState: "42703", "column \"\(c)\" of relation \"\(name)\" does not exist")
                }
                return i
            }
            guard Set(targets).count == targets.count else { throw DatabaseError(.error, sqlState: "42701", "column specified more than once") }
            planCache?.targets = targets
            planCache?.targetsVersion = catalog.version
        }
        let ctx = context()
        var inputs: [[Value?]] = []
        // One VALUES row naming every column (a prepared single-row INSERT) is evaluated straight
        // into the row; several rows are all evaluated before the first is stored.
        var single: [Value]?
        switch source {
        case .defaultValues:
            inputs = [[]]
        case .values(let rows):
            // Compiled once per catalog version for a prepared statement.
            let evaluators: [[Evaluator?]]
            if let cache = planCache, cache.valuesVersion == catalog.version, let cached = cache.values {
                evaluators = cached
            } else {
                let compiler = ExpressionCompiler(scope: Scope(columns: [], parent: nil), planner: Planner(catalog: catalog), aggregation: nil, clause: "VALUES")
                evaluators = try rows.map { row in
                    guard row.count <= targets.count else {
                        throw DatabaseError(.error, sqlState: "42601", "INSERT has more expressions than target columns")
                    }
                    return try row.map { try $0.map { try compiler.compile($0) } }
                }
                planCache?.values = evaluators
                planCache?.valuesVersion = catalog.version
            }
            if evaluators.count == 1, evaluators[0].count == width, !evaluators[0].contains(where: { $0 == nil }) {
                // The last execution's row array, when nothing kept it (every slot is set).
                var row: [Value] = []
                if let cache = planCache { swap(&row, &cache.rowBuffer) }
                if row.count != width { row = [Value](repeating: .null, count: width) }
                try ctx.withFrame([]) {
                    for (k, evaluate) in evaluators[0].enumerated() { row[targets[k]] = try evaluate!(ctx) }
                }
                single = row
            } else {
                inputs.reserveCapacity(evaluators.count)
                try ctx.withFrame([]) {
                    for row in evaluators { inputs.append(try row.map { try $0.map { try $0(ctx) } }) }
                }
            }
        case .select(let query):
            let plan = try makePlanner().plan(query, parent: nil)
            guard plan.columns.count <= targets.count else {
                throw DatabaseError(.error, sqlState: "42601", "INSERT has more expressions than target columns")
            }
            inputs = try plan.run(ctx).map { $0.map { Optional($0) } }
        }
        let returningPlan = try returningPlan(returning, w.schema, alias: nil)
        var result = QueryResult(columns: returningPlan?.columns ?? [])
        // ON CONFLICT DO UPDATE sees the existing row under the table's name and the proposed
        // one as `excluded`.
        var conflictAssignments: [(Int, Evaluator)] = []
        var conflictFilter: Evaluator?
        if let onConflict, let assignments = onConflict.assignments {
            let columns = w.schema.columns.map { ScopeColumn(table: name, name: $0.name) } + w.schema.columns.map { ScopeColumn(table: "excluded", name: $0.name) }
            let compiler = ExpressionCompiler(scope: Scope(columns: columns, parent: nil), planner: Planner(catalog: catalog), aggregation: nil, clause: "ON CONFLICT DO UPDATE")
            conflictAssignments = try compileAssignments(assignments, w, compiler)
            conflictFilter = try onConflict.filter.map { try compiler.compile($0) }
        }
        /// Stores one complete row (or, ON CONFLICT, updates or skips the row it collides with).
        func insertRow(_ row: inout [Value]) throws {
            if let onConflict {
                try coerce(&row, for: w)
                if let existingID = try conflictingRow(row, in: w, target: onConflict.columns, ctx: ctx) {
                    guard onConflict.assignments != nil, let raw = try w.tree.get(existingID, in: txn) else { return }
                    let existing = try RecordCodec.decode(raw)
                    let frame = existing + row
                    if let conflictFilter, try ctx.withFrame(frame, { try conflictFilter(ctx).truth() }) != true { return }
                    var updated = existing
                    try ctx.withFrame(frame) {
                        for (i, e) in conflictAssignments { updated[i] = try e(ctx) }
                    }
                    _ = try store(&updated, in: w, replacing: existingID, old: existing, ctx: ctx)
                    result.changes += 1
                    if let returningPlan { result.rows.append(try returningPlan.evaluate(ctx, updated)) }
                    return
                }
            }
            let rowID = try store(&row, in: w, replacing: nil, old: nil, ctx: ctx)
            result.changes += 1
            result.lastInsertRowID = rowID
            if let returningPlan { result.rows.append(try returningPlan.evaluate(ctx, row)) }
        }
        if var row = single {
            try insertRow(&row)
            planCache?.rowBuffer = row
        }
        for input in inputs {
            var row = [Value](repeating: .null, count: width)
            if input.count == width && !input.contains(where: { $0 == nil }) {
                // Every column given: no defaults to fill in.
                for (k, value) in input.enumerated() { row[targets[k]] = value! }
            } else {
                var provided = [Bool](repeating: false, count: width)
                for (k, value) in input.enumerated() {
                    if let value {
                        row[targets[k]] = value
                        provided[targets[k]] = true
                    }
                }
                for (i, column) in w.schema.columns.enumerated() where !provided[i] {
                    if let d = w.defaults[i] {
                        row[i] = try ctx.withFrame([]) { try d(ctx) }
                    } else if column.identity {
                        row[i] = .integer(try nextIdentity(w, column: i))
                    }
                }
            }
            try insertRow(&row)
        }
        return result
    }

    /// SET column = expr pairs, compiled; DEFAULT becomes the column's default.
    private func compileAssignments(_ assignments: [(String, Expr)], _ w: TableWriter, _ compiler: ExpressionCompiler) throws -> [(Int, Evaluator)] {
        try assignments.map { column, e -> (Int, Evaluator) in
            guard let i = w.schema.columnIndex(column) else {
                throw DatabaseError(.error, sqlState: "42703", "column \"\(column)\" of relation \"\(w.schema.name)\" does not exist")
            }
            if case .defaultValue = e {
                let d = w.defaults[i]
                return (i, { ctx in try d?(ctx) ?? .null })
            }
            return (i, try compiler.compile(e))
        }
    }

    /// The next value of an identity column: one past the largest value it holds.
    private func nextIdentity(_ w: TableWriter, column: Int) throws -> Int64 {
        if w.schema.rowIDColumn == column { return (try w.tree.maxRowID(in: txn) ?? 0) + 1 }
        var best: Int64 = 0
        var cursor = w.tree.tree.cursor(in: txn)
        var more = try cursor.first()
        while more {
            if case .integer(let v) = try RecordCodec.decode(try cursor.value())[column] { best = max(best, v) }
            more = try cursor.next()
        }
        return best + 1
    }

    private func matchingRows(_ w: TableWriter, alias: String?, filter: Expr?, ctx: ExecutionContext) throws -> [(Int64, [Value])] {
        let test: Evaluator?, path: AccessPath
        if let cache = planCache, cache.matchVersion == catalog.version, let cached = cache.match {
            (test, path) = cached
        } else {
            let label = alias ?? w.schema.name
            let (scope, compiler) = Self.rowCompiler(w.schema.columns, label: label, catalog: catalog, clause: "WHERE")
            test = try filter.map { try compiler.compile($0) }
            // The WHERE clause picks the access path (row-id or index lookups), as for SELECT.
            let conjuncts = filter.map(Planner.conjuncts)?.filter { !Planner.containsSubquery($0) } ?? []
            path = try AccessPath.choose(table: w.schema, indexes: catalog.indexes(on: w.schema.name), conjuncts: conjuncts,
                                         scope: scope, compiler: compiler)
            // Compiled once per catalog version for a prepared statement (its only caller is
            // the statement's own UPDATE or DELETE).
            planCache?.match = (test, path)
            planCache?.matchVersion = catalog.version
        }
        let next = try path.openKeyed(table: w.schema, ctx: ctx)
        var rows: [(Int64, [Value])] = []
        while let (rowID, row) = try next() {
            if try test.map({ t in try ctx.withFrame(row) { try t(ctx).truth() == true } }) ?? true {
                rows.append((rowID, row))
            }
        }
        return rows
    }

    /// For UPDATE … FROM and DELETE … USING: the FROM items, filtered by the WHERE clause with
    /// the target row as their outer row; `firstMatch(ctx, targetRow)` is the first joined row.
    private func joinedSource(_ items: [FromItem], _ filter: Expr?, targetColumns: [ScopeColumn]) throws
        -> (columns: [ScopeColumn], firstMatch: (ExecutionContext, [Value]) throws -> [Value]?) {
        let source = try makePlanner().planSource(items, filter: filter, parent: Scope(columns: targetColumns, parent: nil))
        return (source.columns, { ctx, target in
            try ctx.withFrame(target) { try source.open(ctx)() }
        })
    }

    private func update(_ name: String, _ alias: String?, _ assignments: [(String, Expr)], _ from: [FromItem], _ filter: Expr?, _ returning: [SelectItem]) throws -> QueryResult {
        let w = try writer(for: name)
        let ctx = context()
        let label = alias ?? name
        func targetColumns() -> [ScopeColumn] { w.schema.columns.map { ScopeColumn(table: label, name: $0.name) } }
        var join: (columns: [ScopeColumn], firstMatch: (ExecutionContext, [Value]) throws -> [Value]?)?
        if !from.isEmpty { join = try joinedSource(from, filter, targetColumns: targetColumns()) }
        let compiled: [(Int, Evaluator)]
        if join == nil, let cache = planCache, cache.assignmentsVersion == catalog.version, let cached = cache.assignments {
            compiled = cached
        } else {
            let scope = Scope(columns: targetColumns() + (join?.columns ?? []), parent: nil)
            let compiler = ExpressionCompiler(scope: scope, planner: Planner(catalog: catalog), aggregation: nil, clause: "UPDATE")
            compiled = try compileAssignments(assignments, w, compiler)
            if join == nil {
                planCache?.assignments = compiled
                planCache?.assignmentsVersion = catalog.version
            }
        }
        let returningPlan = try returningPlan(returning, w.schema, alias: alias)
        var result = QueryResult(columns: returningPlan?.columns ?? [])
        for (rowID, old) in try matchingRows(w, alias: alias, filter: join == nil ? filter : nil, ctx: ctx) {
            var frame = old
            if let join {
                guard let match = try join.firstMatch(ctx, old) else { continue }
                frame += match
            }
            var row = old
            try ctx.withFrame(frame) {
                for (i, e) in compiled { row[i] = try e(ctx) }
            }
            _ = try store(&row, in: w, replacing: rowID, old: old, ctx: ctx)
            try parentChanged(w.schema, old: old, new: row, ctx: ctx, depth: 0)
            result.changes += 1
            if let returningPlan { result.rows.append(try returningPlan.evaluate(ctx, row)) }
        }
        return result
    }

    // MARK: Index keys

    /// Computes an index's key values from a table row: plain columns are read, expressions
    /// evaluated (with the row as their frame).
    struct IndexKeyBuilder {
        let elements: [Evaluator]
        let index: IndexSchema
        /// For an index on plain columns: their positions in the row (read without evaluating).
        let positions: [Int]?

        init(_ index: IndexSchema, _ schema: TableSchema, _ catalog: Catalog) throws {
            self.index = index
            positions = index.expressions == nil ? index.columns.map { schema.columnIndex($0) ?? -1 } : nil
            let (_, compiler) = StatementExecutor.rowCompiler(schema.columns, label: schema.name, catalog: catalog, clause: "index expressions")
            elements = try (index.expressions ?? index.columns).map { sql in
                let e = try StatementExecutor.parseExpression(sql)
                if Planner.containsSubquery(e) || Planner.containsAggregate(e) || !ExpressionCompiler.isDeterministic(e) {
                    throw DatabaseError(.error, sqlState: "42P17", "functions in index expression must be marked IMMUTABLE")
                }
                return try compiler.compile(e)
            }
        }

        /// Which of the table's columns the key reads (the others need not be decoded).
        func columnsRead(_ schema: TableSchema) throws -> [Bool] {
            var read = [Bool](repeating: false, count: schema.columns.count)
            for sql in index.expressions ?? index.columns {
                for (_, name) in Planner.columnReferences(try StatementExecutor.parseExpression(sql)) {
                    if let i = schema.columnIndex(name) { read[i] = true }
                }
            }
            return read
        }

        func values(_ row: [Value], _ ctx: ExecutionContext) throws -> [Value] {
            if let positions, !positions.contains(where: { $0 < 0 || $0 >= row.count }) { return positions.map { row[$0] } }
            return try ctx.withFrame(row) { try elements.map { try $0(ctx) } }
        }
    }

    // MARK: Foreign keys

    /// Another table (not among `droppedTogether`) whose foreign key references `name`.
    private func referencingTable(_ name: String, droppedTogether: [String]) -> String? {
        own.tables.values.first { child in
            !droppedTogether.contains(child.name) && (child.foreignKeys ?? []).contains { $0.parent == name }
        }?.name
    }

    /// Checks that every foreign key of `schema` finds its parent row (23503).
    private func checkParents(of schema: TableSchema, _ row: [Value], old: [Value]?) throws {
        for fk in schema.foreignKeys ?? [] {
            let values = fk.columns.map { row[schema.columnIndex($0)!] }
            if values.contains(where: \.isNull) { continue }
            if let old, fk.columns.map({ old[schema.columnIndex($0)!] }) == values { continue }
            guard try parentExists(fk, values) else {
                throw DatabaseError(.constraint, sqlState: "23503", "insert or update on table \"\(schema.name)\" violates foreign key constraint \"\(fk.name)\": key (\(fk.columns.joined(separator: ", ")))=(\(values.map(\.description).joined(separator: ", "))) is not present in table \"\(fk.parent)\"")
            }
        }
    }

    private func parentExists(_ fk: ForeignKey, _ values: [Value]) throws -> Bool {
        let catalog = own
        let parent = try catalog.table(fk.parent)
        if let r = parent.rowIDColumn, fk.parentColumns == [parent.columns[r].name] {
            guard case .integer(let id) = try assign(values[0], to: parent.columns[r]) else { return false }
            return try TableTree(root: parent.root).get(id, in: txn) != nil
        }
        guard let index = catalog.indexes(on: parent.name).first(where: { $0.unique && $0.expressions == nil && Set($0.columns) == Set(fk.parentColumns) }) else {
            throw DatabaseError.internalError("foreign key \(fk.name) has no unique index on \(fk.parent)")
        }
        let ordered = try index.columns.map { column -> Value in
            let k = fk.parentColumns.firstIndex(of: column)!
            return try assign(values[k], to: parent.columns[parent.columnIndex(column)!])
        }
        return try findConflict(BTree(root: index.root), ordered, excluding: nil) != nil
    }

    /// Applies the foreign keys that reference `schema` when one of its rows is deleted
    /// (`new` nil) or updated: RESTRICT/NO ACTION fail with 23503, CASCADE deletes or updates
    /// the referencing rows, SET NULL/SET DEFAULT rewrite their key columns.
    private func parentChanged(_ schema: TableSchema, old: [Value], new: [Value]?, ctx: ExecutionContext, depth: Int) throws {
        guard depth < 64 else { throw DatabaseError(.error, sqlState: "54001", "foreign key cascades nest too deeply") }
        let catalog = own
        for (childName, fk) in catalog.referencing[schema.name] ?? [] {
            let child = try catalog.table(childName)
            let oldKey = fk.parentColumns.map { old[schema.columnIndex($0)!] }
            let newKey = new.map { row in fk.parentColumns.map { row[schema.columnIndex($0)!] } }
            if oldKey.contains(where: \.isNull) || newKey == oldKey { continue }
            let w = try writer(for: child.name, in: catalog)
            let positions = fk.columns.map { child.columnIndex($0)! }
            var matches: [(Int64, [Value])] = []
            let path = try referencingRowsPath(child, fk, catalog: catalog)
            let next = try ctx.withFrame(oldKey) { try path.openKeyed(table: child, ctx: ctx) }
            while let (rowID, row) = try next() {
                if try zip(positions, oldKey).allSatisfy({ try Value.compare(row[$0.0], $0.1) == 0 }) { matches.append((rowID, row)) }
            }
            if matches.isEmpty { continue }
            switch new == nil ? fk.onDelete : fk.onUpdate {
            case .noAction, .restrict:
                throw DatabaseError(.constraint, sqlState: "23503", "update or delete on table \"\(schema.name)\" violates foreign key constraint \"\(fk.name)\" on table \"\(child.name)\"")
            case .cascade:
                for (rowID, row) in matches {
                    if let newKey {
                        var updated = row
                        for (p, v) in zip(positions, newKey) { updated[p] = v }
                        _ = try store(&updated, in: w, replacing: rowID, old: row, ctx: ctx)
                        try parentChanged(child, old: row, new: updated, ctx: ctx, depth: depth + 1)
                    } else {
                        try deleteRow(rowID, row, in: w, ctx: ctx, depth: depth + 1)
                    }
                }
            case .setNull, .setDefault:
                let action = new == nil ? fk.onDelete : fk.onUpdate
                for (rowID, row) in matches {
                    var updated = row
                    for p in positions {
                        updated[p] = action == .setNull ? .null : try ctx.withFrame([]) { try w.defaults[p]?(ctx) ?? .null }
                    }
                    _ = try store(&updated, in: w, replacing: rowID, old: row, ctx: ctx)
                    try parentChanged(child, old: row, new: updated, ctx: ctx, depth: depth + 1)
                }
            }
        }
    }

    /// How the rows of `child` that reference one parent key are found: an access path whose
    /// bounds read the key's values from the outer row (an index led by the foreign key's first
    /// column, else a scan), chosen once per statement.
    private func referencingRowsPath(_ child: TableSchema, _ fk: ForeignKey, catalog: Catalog) throws -> AccessPath {
        let name = child.name + "\u{0}" + fk.name
        if let known = foreignKeyPaths.paths[name] { return known }
        let keyScope = Scope(columns: fk.columns.indices.map { ScopeColumn(table: "parent key", name: "k\($0)") }, parent: nil)
        let scope = Scope(columns: child.columns.map { ScopeColumn(table: child.name, name: $0.name) }, parent: keyScope)
        let compiler = ExpressionCompiler(scope: scope, planner: Planner(catalog: catalog), aggregation: nil, clause: "foreign key")
        let conjuncts = fk.columns.enumerated().map { i, column in
            Expr.binary(.equal, .column(table: child.name, name: column), .column(table: "parent key", name: "k\(i)"))
        }
        let path = try AccessPath.choose(table: child, indexes: catalog.indexes(on: child.name), conjuncts: conjuncts, scope: scope, compiler: compiler)
        foreignKeyPaths.paths[name] = path
        return path
    }

    /// Deletes one row: its referencing rows first (per their foreign keys), then its index
    /// entries and the row.
    private func deleteRow(_ rowID: Int64, _ row: [Value], in w: TableWriter, ctx: ExecutionContext, depth: Int) throws {
        try parentChanged(w.schema, old: row, new: nil, ctx: ctx, depth: depth)
        for (_, tree, key) in w.indexes {
            try tree.delete(RecordCodec.indexKey(try key.values(row, ctx), rowID: rowID), in: txn)
        }
        try w.tree.delete(rowID, in: txn)
    }

    private func delete(_ name: String, _ alias: String?, _ using: [FromItem], _ filter: Expr?, _ returning: [SelectItem]) throws -> QueryResult {
        let w = try writer(for: name)
        let ctx = context()
        let returningPlan = try returningPlan(returning, w.schema, alias: alias)
        var result = QueryResult(columns: returningPlan?.columns ?? [])
        var join: (columns: [ScopeColumn], firstMatch: (ExecutionContext, [Value]) throws -> [Value]?)?
        if !using.isEmpty {
            join = try joinedSource(using, filter, targetColumns: w.schema.columns.map { ScopeColumn(table: alias ?? name, name: $0.name) })
        }
        for (rowID, row) in try matchingRows(w, alias: alias, filter: join == nil ? filter : nil, ctx: ctx) {
            if let join, try join.firstMatch(ctx, row) == nil { continue }
            try deleteRow(rowID, row, in: w, ctx: ctx, depth: 0)
            result.changes += 1
            if let returningPlan { result.rows.append(try returningPlan.evaluate(ctx, row)) }
        }
        return result
    }
}
