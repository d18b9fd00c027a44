// A connection's temporary tables (docs/temporary-tables.md): a private storage engine in a
// folder of its own, created at the connection's first CREATE TEMP TABLE/VIEW and removed when
// the connection closes, and the connection's transaction on it.
//
// Invariants:
// - nothing of a temporary relation reaches the database's engine: its catalog entries and
//   pages live in `engine`, written only through `transaction`;
// - `transaction` exists only while the connection's main transaction does: it begins with the
//   first statement that runs while temporary relations exist, and ends with the main one
//   (commit: main first, then this; rollback: both);
// - `savepoints[i]` is the state of `transaction` at the connection's i-th savepoint (nil:
//   it had not begun);
// - `cachedCatalog` is the temporary catalog as `transaction` (or, with none, the last commit)
//   sees it: every temporary DDL, ON COMMIT action and rollback drops it.
//
//   no engine ──CREATE TEMP──▶ engine, idle ──statement──▶ in transaction ──commit/rollback──▶ idle
//   any ──close──▶ closed (engine closed, folder removed)

import FoundationEssentials
import BorealisSQL
import BorealisStorage
#if canImport(Glibc)
import Glibc
#endif

final class TemporaryTables {
    private var engine: StorageEngine?
    private var folder: String?
    private var transaction: StorageTransaction?
    private var savepoints: [StorageTransaction.Savepoint?] = []
    private var cachedCatalog: Catalog?
    /// The last merge, for as long as both of its catalogs are current.
    private var merge: (permanent: Catalog, temporary: Catalog, merged: Catalog)?

    /// Where a statement writes.
    private enum Placement {
        case permanent
        case temporary
        /// DROP TABLE/INDEX/VIEW or TRUNCATE naming both kinds: the statement for each.
        case split(temporary: Statement, permanent: Statement)
    }

    // MARK: Statements

    /// Whether `statement` writes temporary relations only, so it needs no write lock on the
    /// database (false when unsure: the statement then takes the lock as any write).
    func writesOnlyTemporary(_ statement: Statement, readOnly: Bool) -> Bool {
        switch statement {
        case .createTable(_, _, _, _, let temporary, _), .createView(_, _, _, _, _, let temporary):
            // PostgreSQL refuses CREATE TABLE of any kind in a read-only transaction (25006).
            return temporary && !readOnly
        case .ddl(let ddl) where ddl.temporary:
            return !readOnly
        default:
            guard engine != nil, let catalog = try? catalog() else { return false }
            if case .temporary = placement(of: statement, in: catalog) { return true }
            return false
        }
    }

    /// Runs `statement` with `executor` (the database's transaction and permanent catalog),
    /// adding the temporary relations when the connection has any.
    func execute(_ statement: Statement, with executor: StatementExecutor) throws -> QueryResult {
        if engine == nil {
            guard createsTemporary(statement) else { return try executor.execute(statement) }
            try openEngine()
        }
        let temporary = try catalog()
        let none = temporary.tables.isEmpty && temporary.views.isEmpty && temporary.indexes.isEmpty
        // With no temporary relation left, a statement needs no temporary transaction.
        if none && !createsTemporary(statement) { return try executor.execute(statement) }
        let txn = try begin()
        let permanent = executor.catalog
        let merged = none ? permanent : merging(temporary, over: permanent)
        var placement = placement(of: statement, in: temporary)
        if case .createView(_, _, _, let query, _, false) = statement {
            // A view over a temporary relation is temporary (PostgreSQL: with a notice).
            let planner = Planner(catalog: merged)
            _ = try planner.plan(query, parent: nil)
            if planner.readsTemporary { placement = .temporary }
        }
        switch placement {
        case .permanent:
            var e = StatementExecutor(txn: executor.txn, catalog: merged, parameters: executor.parameters,
                                      planCache: executor.planCache, workMemoryRows: executor.workMemoryRows)
            e.session = executor.session
            e.home = permanent
            e.temporaryTxn = txn
            return try e.execute(statement)
        case .temporary:
            defer { if !statement.isDataChange { cachedCatalog = nil } }
            return try temporaryExecutor(catalog: merged, home: temporary, main: executor).execute(statement)
        case .split(let temporaryPart, let permanentPart):
            defer { cachedCatalog = nil }
            var e = executor
            e.planCache = nil
            e.temporaryTxn = txn
            let first = try temporaryExecutor(catalog: temporary, home: nil, main: e).execute(temporaryPart)
            let second = try e.execute(permanentPart)
            return QueryResult(changes: first.changes + second.changes)
        }
    }

    /// `StatementExecutor.describe` with this connection's temporary relations visible and
    /// routed as `execute` routes them (describing compiles, it never reads or writes rows, so
    /// no temporary transaction is begun).
    func describe(_ statement: Statement, with executor: StatementExecutor) throws -> StatementDescription {
        guard engine != nil else { return try executor.describe(statement) }
        let temporary = try catalog()
        if temporary.tables.isEmpty && temporary.views.isEmpty && temporary.indexes.isEmpty {
            return try executor.describe(statement)
        }
        var e = StatementExecutor(txn: executor.txn, catalog: merging(temporary, over: executor.catalog),
                                  parameters: executor.parameters, planCache: executor.planCache,
                                  workMemoryRows: executor.workMemoryRows)
        e.session = executor.session
        if case .temporary = placement(of: statement, in: temporary) {
            e.home = temporary
            e.temporaryTarget = true
        } else {
            e.home = executor.catalog
        }
        return try e.describe(statement)
    }

    /// An executor writing temporary relations, reading permanent ones through `main`'s transaction.
    private func temporaryExecutor(catalog: Catalog, home: Catalog?, main: StatementExecutor) throws -> StatementExecutor {
        var e = StatementExecutor(txn: try begin(), catalog: catalog, parameters: main.parameters,
                                  planCache: main.planCache, workMemoryRows: main.workMemoryRows)
        e.session = main.session
        e.home = home
        e.temporaryTarget = true
        e.permanentTxn = main.txn
        e.temporaryTxn = e.txn
        return e
    }

    /// Whether `execute` has anything to add for `statement`: the connection has (had) a
    /// temporary relation, or the statement may create one. Checked per statement, so it binds
    /// no payload (the common statement goes straight to the executor).
    func concerns(_ statement: Statement) -> Bool {
        if engine != nil { return true }
        switch statement {
        case .createTable, .createView: return true
        case .ddl(let ddl): return ddl.temporary
        default: return false
        }
    }

    private func createsTemporary(_ statement: Statement) -> Bool {
        switch statement {
        case .createTable(_, _, _, _, let temporary, _), .createView(_, _, _, _, _, let temporary): return temporary
        case .ddl(let ddl): return ddl.temporary
        default: return false
        }
    }

    /// Where `statement` writes, resolving names temporary first.
    private func placement(of statement: Statement, in temporary: Catalog) -> Placement {
        func split(_ names: [String], isTemporary: (String) -> Bool, _ make: ([String]) -> Statement) -> Placement {
            let mine = names.filter(isTemporary)
            if mine.isEmpty { return .permanent }
            if mine.count == names.count { return .temporary }
            return .split(temporary: make(mine), permanent: make(names.filter { !isTemporary($0) }))
        }
        switch statement {
        case .createTable(_, _, _, _, let isTemporary, _), .createView(_, _, _, _, _, let isTemporary):
            return isTemporary ? .temporary : .permanent
        case .createIndex(_, let table, _, _, _), .insert(let table, _, _, _, _, _), .update(let table, _, _, _, _, _),
             .delete(let table, _, _, _, _), .alterTable(let table, _):
            return temporary.tables[table] != nil || temporary.views[table] != nil ? .temporary : .permanent
        case .ddl(.replaceView(let name, _, _, _, let isTemporary)):
            return isTemporary || temporary.views[name] != nil ? .temporary : .permanent
        case .ddl(.createTableAs(_, _, _, _, _, let isTemporary, _)):
            return isTemporary ? .temporary : .permanent
        case .ddl(.createPartialIndex(_, let table, _, _, _, _)):
            return temporary.tables[table] != nil ? .temporary : .permanent
        case .ddl(.comment(_, let name, _)):
            let relation = String(name.prefix { $0 != "." })
            let mine = temporary.tables[relation] != nil || temporary.views[relation] != nil || temporary.indexes[relation] != nil
            return mine ? .temporary : .permanent
        case .ddl(.dropCascade(let view, let names, let ifExists)):
            return split(names, isTemporary: { view ? temporary.views[$0] != nil : temporary.tables[$0] != nil }) {
                .ddl(.dropCascade(view: view, names: $0, ifExists: ifExists))
            }
        case .dropTable(let names, let ifExists):
            return split(names, isTemporary: { temporary.tables[$0] != nil }) { .dropTable(names: $0, ifExists: ifExists) }
        case .truncate(let names, let restartIdentity):
            return split(names, isTemporary: { temporary.tables[$0] != nil }) { .truncate(names: $0, restartIdentity: restartIdentity) }
        case .dropIndex(let names, let ifExists):
            return split(names, isTemporary: { temporary.indexes[$0] != nil }) { .dropIndex(names: $0, ifExists: ifExists) }
        case .dropView(let names, let ifExists):
            return split(names, isTemporary: { temporary.views[$0] != nil }) { .dropView(names: $0, ifExists: ifExists) }
        default:
            return .permanent
        }
    }

    // MARK: Catalog

    /// The temporary catalog.
    private func catalog() throws -> Catalog {
        if let cachedCatalog { return cachedCatalog }
        guard let engine else { return Catalog(version: 0) }
        let txn = try transaction ?? engine.beginRead()
        defer { if txn !== transaction { txn.rollback() } }
        let loaded = try Catalog.load(txn)
        cachedCatalog = loaded
        return loaded
    }

    private func merging(_ temporary: Catalog, over permanent: Catalog) -> Catalog {
        if let merge, merge.permanent === permanent, merge.temporary === temporary { return merge.merged }
        let merged = Catalog.merging(temporary, over: permanent)
        merge = (permanent, temporary, merged)
        return merged
    }

    // MARK: Transactions

    private func begin() throws -> StorageTransaction {
        if let transaction { return transaction }
        guard let engine else { throw DatabaseError.internalError("temporary tables used before their engine exists") }
        let txn = try engine.beginWrite()
        transaction = txn
        return txn
    }

    /// Commits the connection's transaction: the ON COMMIT actions, then `main`, then the
    /// temporary transaction. Returns `main`'s commit LSN. Everything rolls back on an error
    /// before the main commit is done.
    func commit(with main: StorageTransaction) throws -> UInt64 {
        guard let txn = transaction else { return try main.commit() }
        do {
            try runOnCommitActions(txn, main: main)
        } catch {
            rollback()
            main.rollback()
            throw error
        }
        let lsn: UInt64
        do {
            lsn = try main.commit()
        } catch {
            rollback()
            throw error
        }
        transaction = nil
        savepoints = []
        do {
            try txn.commit()
        } catch {
            cachedCatalog = nil
            throw error
        }
        return lsn
    }

    /// ON COMMIT DROP drops; ON COMMIT DELETE ROWS empties, when the transaction changed
    /// anything temporary (else the tables are still empty from the last commit).
    private func runOnCommitActions(_ txn: StorageTransaction, main: StorageTransaction) throws {
        guard txn.changeCount > 0 else { return }
        let catalog = try self.catalog()
        var drop: [String] = [], empty: [String] = []
        for table in catalog.tables.values.sorted(by: { $0.name < $1.name }) {
            switch table.onCommit {
            case .drop?: drop.append(table.name)
            case .deleteRows?: if try TableTree(root: table.root).maxRowID(in: txn) != nil { empty.append(table.name) }
            default: break
            }
        }
        if drop.isEmpty && empty.isEmpty { return }
        defer { cachedCatalog = nil }
        var e = StatementExecutor(txn: txn, catalog: catalog, parameters: [])
        e.temporaryTarget = true
        e.temporaryTxn = txn
        e.permanentTxn = main
        if !drop.isEmpty { _ = try e.execute(.dropTable(names: drop, ifExists: false)) }
        if !empty.isEmpty { _ = try e.execute(.truncate(names: empty.filter { !drop.contains($0) })) }
    }

    /// Discards the temporary transaction's changes (with the main transaction's rollback, or
    /// after an autocommit statement failed).
    func rollback() {
        savepoints = []
        guard let txn = transaction else { return }
        transaction = nil
        txn.rollback()
        cachedCatalog = nil
    }

    /// Takes the temporary side of the connection's next savepoint.
    func savepoint() {
        savepoints.append(transaction.flatMap { try? $0.savepoint() })
    }

    /// RELEASE of the connection's savepoint `index` (and those after it).
    func release(savepoint index: Int) {
        if index < savepoints.count { savepoints.removeSubrange(index...) }
    }

    /// ROLLBACK TO the connection's savepoint `index`, which stays.
    func rollback(toSavepoint index: Int) throws {
        guard index < savepoints.count else { return }
        let state = savepoints[index]
        savepoints.removeSubrange((index + 1)...)
        cachedCatalog = nil
        guard let txn = transaction else { return }
        if let state {
            try txn.rollback(to: state)
        } else {
            // The temporary transaction began after the savepoint: none of it stays.
            transaction = nil
            txn.rollback()
        }
    }

    // MARK: Engine

    /// Drops every temporary relation: closes the engine and removes its folder.
    func close() {
        rollback()
        merge = nil
        cachedCatalog = nil
        try? engine?.close()
        engine = nil
        if let folder { try? FileManager.default.removeItem(atPath: folder) }
        folder = nil
    }

    deinit { close() }

    /// Folders are `temporaryPath(folderName)`: the name, "-", the owner's pid, "-", a random number.
    private static let folderName = "borealis-temp"

    private func openEngine() throws {
        Self.removeAbandonedFolders(in: temporaryDirectory())
        let folder = temporaryPath(Self.folderName)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var options = StorageOptions()
        // Nothing here must survive a crash, so nothing waits for the disk, and no history is kept.
        options.synchronous = .off
        options.continuousArchive = false
        options.cacheBytes = 8 << 20
        options.segmentCapacity = 1 << 20
        options.materializeThresholdBytes = 512 << 10
        options.logSoftCapBytes = 16 << 20
        options.logHardCapBytes = 256 << 20
        do {
            engine = try StorageEngine(path: folder + "/temp", options: options)
            self.folder = folder
        } catch {
            try? FileManager.default.removeItem(atPath: folder)
            throw error
        }
    }

    /// The engine's folder (tests).
    var folderForTesting: String? { folder }

    /// Removes the folders that connections of processes no longer running left behind (a
    /// crash skips `close`).
    static func removeAbandonedFolders(in base: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: base) else { return }
        let prefix = folderName + "-"
        let folder = base.hasSuffix("/") ? base : base + "/"
        for name in names where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count)
            guard let dash = rest.firstIndex(of: "-"), let pid = Int32(rest[..<dash]), pid > 0 else { continue }
            if kill(pid, 0) == -1 && errno == ESRCH {
                try? FileManager.default.removeItem(atPath: folder + name)
            }
        }
    }
}
