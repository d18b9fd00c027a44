// One storage engine per database file in a process. Every `Database` (and every C
// `borealis*`) opened on the same file shares it, so several connections — one per thread —
// commit through one log and one write lock, and their commits share fdatasyncs. Two engines
// on one file would each append to the log and corrupt it; the registry makes that impossible.

import FoundationEssentials
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

enum EngineRegistry {
    private struct Entry {
        var engine: StorageEngine
        var connections: Int
    }
    private static let engines = Locked<[String: Entry]>([:])

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

    /// The engine of `path`, opened with `options` when no connection has it open yet.
    static func acquire(path: String, options: StorageOptions) throws -> StorageEngine {
        let name = key(for: path)
        return try engines.withLock { engines in
            if var entry = engines[name] {
                // Durability is the file's, not the connection's: one log, one flush policy.
                if entry.engine.options.synchronous != options.synchronous {
                    throw DatabaseError(.misuse, sqlState: "55000",
                        "\(path) is already open in this process with synchronous = \(entry.engine.options.synchronous); every connection to a file shares its durability setting")
                }
                entry.connections += 1
                engines[name] = entry
                return entry.engine
            }
            let engine = try StorageEngine(path: name, options: options)
            engines[name] = Entry(engine: engine, connections: 1)
            return engine
        }
    }

    /// Replaces a failed engine by a freshly recovered one, for the only connection still
    /// holding it (replica promotion after an I/O failure).
    /// `beforeReopen` runs once the connection is known to be the last one, before the failed
    /// engine closes.
    static func reopenFailed(path: String, beforeReopen: () -> Void) throws -> StorageEngine {
        let name = key(for: path)
        return try engines.withLock { engines in
            guard let entry = engines[name] else { throw DatabaseError.misuse("the database is not open") }
            guard entry.connections == 1 else {
                throw DatabaseError(.busy, sqlState: "55006",
                    "\(entry.connections - 1) other connection(s) still use the failed database; close them before promoting the replica")
            }
            beforeReopen()
            try? entry.engine.close()
            let options = entry.engine.options
            let engine = try StorageEngine(path: name, options: options)
            engines[name] = Entry(engine: engine, connections: 1)
            return engine
        }
    }

    /// Gives back a connection's engine; the last one closes it.
    static func release(path: String) throws {
        let name = key(for: path)
        let last: StorageEngine? = engines.withLock { engines in
            guard var entry = engines[name] else { return nil }
            entry.connections -= 1
            if entry.connections > 0 {
                engines[name] = entry
                return nil
            }
            engines[name] = nil
            return entry.engine
        }
        try last?.close()
    }
}
