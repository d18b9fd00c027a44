// The C ABI's replica calls (Include/borealis.h, docs/replicas.md): open a replica of a
// connection's database, wait for an LSN, read the lag, promote.

import Borealis

// MARK: Replicas (docs/replicas.md)

@_cdecl("borealis_replica_open")
public func borealis_replica_open(_ primary: OpaquePointer?, _ replica: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guard let replica else { return MISUSE }
    replica.pointee = nil
    guard let connection = lookup(primary, as: Connection.self) else { return MISUSE }
    guard let database = connection.database else { return connection.fail(MISUSE, "the connection failed to open", state: SQLState.connectionDoesNotExist) }
    do {
        let opened = try database.openReplica()
        replica.pointee = register(Connection(database: opened))
        return connection.succeed()
    } catch {
        return connection.fail(error)
    }
}

@_cdecl("borealis_last_commit_lsn")
public func borealis_last_commit_lsn(_ db: OpaquePointer?) -> Int64 {
    guard let database = lookup(db, as: Connection.self)?.database else { return 0 }
    return Int64(bitPattern: database.lastCommitLSN)
}

@_cdecl("borealis_replica_wait")
public func borealis_replica_wait(_ db: OpaquePointer?, _ lsn: Int64, _ timeoutMilliseconds: Int32) -> Int32 {
    guard let connection = lookup(db, as: Connection.self) else { return MISUSE }
    guard let database = connection.database, lsn >= 0 else { return connection.fail(MISUSE, "bad connection or negative LSN", state: SQLState.invalidParameterValue) }
    do {
        let reached = try database.waitFor(lsn: UInt64(lsn), timeout: Double(max(0, timeoutMilliseconds)) / 1000)
        return reached ? connection.succeed() : connection.fail(BUSY, "the replica did not reach LSN \(lsn) within \(timeoutMilliseconds) ms", state: SQLState.queryCanceled)
    } catch {
        return connection.fail(error)
    }
}

@_cdecl("borealis_replica_lag")
public func borealis_replica_lag(_ db: OpaquePointer?, _ lagBytes: UnsafeMutablePointer<Int64>?, _ lagSeconds: UnsafeMutablePointer<Double>?) -> Int32 {
    guard let connection = lookup(db, as: Connection.self) else { return MISUSE }
    guard let database = connection.database, let lag = database.replicaLag else {
        return connection.fail(MISUSE, "not a replica connection", state: SQLState.objectNotInPrerequisiteState)
    }
    if let error = database.replicaDetachedError { return connection.fail(error) }
    lagBytes?.pointee = Int64(clamping: lag.bytes)
    lagSeconds?.pointee = lag.seconds
    return connection.succeed()
}

@_cdecl("borealis_replica_promote")
public func borealis_replica_promote(_ db: OpaquePointer?) -> Int32 {
    guard let connection = lookup(db, as: Connection.self) else { return MISUSE }
    guard let database = connection.database else { return connection.fail(MISUSE, "the connection failed to open", state: SQLState.connectionDoesNotExist) }
    do {
        try database.promote()
        return connection.succeed()
    } catch {
        return connection.fail(error)
    }
}
