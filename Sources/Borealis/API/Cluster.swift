// A writer and its replicas as endpoints (docs/replicas.md): the writer endpoint, a reader
// endpoint that routes each read-only query to the least-lagged, least-busy attached replica
// (the writer when there is none), and custom endpoints over a subset of replicas.

import Synchronization
import BorealisSQL
import BorealisStorage

/// A writer connection and the replicas opened from it.
///
/// ```swift
/// let cluster = Cluster(writer: try Database(path: "/data/app.db"))
/// try cluster.addReplica()
/// try cluster.writer.execute("INSERT INTO t VALUES (1)")
/// let rows = try cluster.reader.query("SELECT count(*) FROM t")
/// ```
public final class Cluster: @unchecked Sendable {
    public let writer: Database
    private let members = Locked<[Database]>([])

    public init(writer: Database) {
        self.writer = writer
    }

    /// Opens a replica of the writer and adds it to the cluster.
    @discardableResult
    public func addReplica(options: ReplicaOptions = ReplicaOptions()) throws -> Database {
        let replica = try writer.openReplica(options: options)
        members.withLock { $0.append(replica) }
        return replica
    }

    /// Closes a replica and removes it from the cluster.
    public func removeReplica(_ replica: Database) throws {
        members.withLock { $0.removeAll { $0 === replica } }
        try replica.close()
    }

    /// The replicas, in the order they were added.
    public var replicas: [Database] { members.withLock { $0 } }

    /// Routes reads across every replica.
    public var reader: Endpoint { Endpoint(cluster: self, names: nil) }

    /// Routes reads across the given replicas only (each must belong to the cluster).
    public func endpoint(replicas: [Database]) -> Endpoint {
        Endpoint(cluster: self, names: replicas.map(ObjectIdentifier.init))
    }

    /// The connection an endpoint sends its next query to.
    fileprivate func route(_ names: [ObjectIdentifier]?) -> Database {
        let candidates = members.withLock { all in
            all.filter { names == nil || names!.contains(ObjectIdentifier($0)) }
        }
        var best: (Database, UInt64, Int)?
        for replica in candidates {
            guard replica.isReplica, replica.replicaDetachedError == nil, let lag = replica.replicaLag else { continue }
            let busy = replica.statementsInFlight
            if best == nil || (lag.bytes, busy) < (best!.1, best!.2) { best = (replica, lag.bytes, busy) }
        }
        return best?.0 ?? writer
    }

    /// Closes every replica and then the writer.
    public func close() throws {
        for replica in members.withLock({ all in defer { all = [] }; return all }) { try replica.close() }
        try writer.close()
    }

    /// A read-only endpoint: each call picks a connection.
    public struct Endpoint: Sendable {
        fileprivate let cluster: Cluster
        fileprivate let names: [ObjectIdentifier]?

        /// The connection the next query would go to.
        public var connection: Database { cluster.route(names) }

        public func query(_ sql: String, _ parameters: [Value] = []) throws -> [Row] {
            try connection.query(sql, parameters)
        }

        public func query<T: Decodable>(_ type: T.Type, _ sql: String, _ parameters: [Value] = []) throws -> [T] {
            try connection.query(type, sql, parameters)
        }

        /// Several queries on one snapshot of one connection.
        public func read<T>(_ body: (Database) throws -> T) throws -> T {
            try connection.read(body)
        }
    }
}
