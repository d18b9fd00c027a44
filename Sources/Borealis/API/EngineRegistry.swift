// One storage engine per database file in a process. Every `Database` (and every C
// `borealis*`) opened on the same file shares it, so several connections — one per thread —
// commit through one log and one write lock, and their commits share fdatasyncs. Two engines
// on one file would each append to the log and corrupt it: the registry prevents it among the
// connections of this process, the owner lock (Platform/OwnerLock.swift) everywhere else.
// Paths are keyed by their real path (a symbolic link shares its target's engine; two hard
// links are two keys, and the second open meets the owner lock: BUSY, never a second engine).

import FoundationEssentials
import Synchronization
import BorealisSQL
import BorealisStorage
#if canImport(Glibc)
import Glibc
#endif

enum EngineRegistry {
    private struct Entry {
        var engine: StorageEngine
        var connections: Int
        /// The folder of a `:memory:` database, removed when its last connection (the one
        /// that made it, or one of its replicas) closes.
        var temporaryFolder: String? = nil
    }

    /// The registry's state, under one lock. An open runs outside it — it may wait up to its
    /// busy timeout for another process to give the database up — with its path in `opening`,
    /// so that opens of other files go on meanwhile and a second open of the same file waits
    /// for the first one's engine instead of making its own.
    private final class State: @unchecked Sendable {
        let lock = ConditionLock()
        var engines: [String: Entry] = [:]
        var opening: Set<String> = []
    }
    private static let state = State()

    /// The canonical name of a database path (symbolic links and `..` resolved).
    static func key(for path: String) -> String {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().resolvingSymlinksInPath().standardizedFileURL.path
        let name = folder + "/" + url.lastPathComponent
        // A database file reached through a symbolic link is the file it points to: one engine,
        // and one log folder (`P-log`) beside the real page file, whichever name opened it.
        guard let real = realpath(name, nil) else { return name }
        defer { free(real) }
        return String(cString: real)
    }

    /// The engine of `path`, opened with `options` when no connection has it open yet;
    /// `temporaryFolder` (a `:memory:` database's) is removed after the engine's last close.
    static func acquire(path: String, options: StorageOptions, temporaryFolder: String? = nil) throws -> StorageEngine {
        let name = key(for: path)
        state.lock.lock()
        while state.opening.contains(name) { _ = state.lock.wait() }
        if var entry = state.engines[name] {
            defer { state.lock.unlock() }
            // Durability is the file's, not the connection's: one log, one flush policy.
            if entry.engine.options.synchronous != options.synchronous {
                throw DatabaseError(.misuse, sqlState: SQLState.objectNotInPrerequisiteState,
                    "\(path) is already open in this process with synchronous = \(entry.engine.options.synchronous); every connection to a file shares its durability setting")
            }
            entry.connections += 1
            state.engines[name] = entry
            return entry.engine
        }
        state.opening.insert(name)
        state.lock.unlock()
        let opened = Result { try StorageEngine(path: name, options: options) }
        state.lock.withLock {
            state.opening.remove(name)
            if case .success(let engine) = opened {
                state.engines[name] = Entry(engine: engine, connections: 1, temporaryFolder: temporaryFolder)
            }
            state.lock.broadcast()
        }
        return try opened.get()
    }

    /// Replaces a failed engine by a freshly recovered one, for the only connection still
    /// holding it (replica promotion after an I/O failure).
    /// `beforeReopen` runs once the connection is known to be the last one, before the failed
    /// engine closes.
    static func reopenFailed(path: String, beforeReopen: () -> Void) throws -> StorageEngine {
        let name = key(for: path)
        return try state.lock.withLock {
            guard let entry = state.engines[name] else { throw DatabaseError.misuse("the database is not open") }
            guard entry.connections == 1 else {
                throw DatabaseError(.busy, sqlState: SQLState.objectInUse,
                    "\(entry.connections - 1) other connection(s) still use the failed database; close them before promoting the replica")
            }
            beforeReopen()
            try? entry.engine.close()
            let options = entry.engine.options
            let engine = try StorageEngine(path: name, options: options)
            state.engines[name] = Entry(engine: engine, connections: 1, temporaryFolder: entry.temporaryFolder)
            return engine
        }
    }

    /// Gives back a connection's engine; the last one closes it.
    static func release(path: String) throws {
        let name = key(for: path)
        let last: Entry? = state.lock.withLock {
            guard var entry = state.engines[name] else { return nil }
            entry.connections -= 1
            if entry.connections > 0 {
                state.engines[name] = entry
                return nil
            }
            state.engines[name] = nil
            return entry
        }
        guard let last else { return }
        defer { if let folder = last.temporaryFolder { try? FileManager.default.removeItem(atPath: folder) } }
        try last.engine.close()
    }
}
