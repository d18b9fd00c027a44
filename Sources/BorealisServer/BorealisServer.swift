// The PostgreSQL wire protocol listener: a SwiftNIO server socket whose connections each get a
// `Session` (Session.swift) with its own Borealis connection. `ServerState` holds what the
// sessions share: the database, the configuration, and the table of live sessions by process
// id, which enforces the connection limit (53300) and routes CancelRequests.
//
// Threads: one event loop thread does the socket I/O and framing; each session runs its
// statements on its own thread (SessionWorker). `stop()` closes the listener and every
// connection (each session rolls back its open transaction as it ends) and waits for them.

import Dispatch
import NIOCore
import NIOPosix
import NIOConcurrencyHelpers
import Borealis

/// A PostgreSQL wire protocol listener on a Borealis database, so `psql`, `pgbench` and
/// PostgreSQL drivers can use it. Each client connection gets its own connection to the
/// database (its own transaction); the listener runs until `stop()`.
///
/// ```swift
/// let db = try Database(path: "/tmp/app.db")
/// let server = try db.serve(BorealisServer.Configuration(port: 5433))
/// print("psql -h 127.0.0.1 -p \(server.port)")
/// try server.wait()   // or, later: try server.stop()
/// ```
public final class BorealisServer: Sendable {
    /// Where to listen and how many clients to take.
    public struct Configuration: Sendable {
        /// The address to listen on; 127.0.0.1 keeps the database on this machine.
        public var host: String
        /// The TCP port; 0 picks a free one (read it back from `BorealisServer.port`).
        public var port: Int
        /// Connections beyond this many are refused with SQLSTATE 53300.
        public var maxConnections: Int

        public init(host: String = "127.0.0.1", port: Int = 5432, maxConnections: Int = 100) {
            self.host = host
            self.port = port
            self.maxConnections = maxConnections
        }
    }

    private let group: MultiThreadedEventLoopGroup
    private let channel: Channel
    private let state: ServerState
    private let stopped = NIOLockedValueBox(false)
    /// The port the server listens on.
    public let port: Int

    /// Starts listening on `configuration.host`:`configuration.port` for `database`, whose
    /// file the sessions open their own connections to. Returns once the socket is bound.
    public init(database: Database, configuration: Configuration = Configuration()) throws {
        let state = ServerState(database: database, configuration: configuration)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            // A client may shut down its sending side after its last message and read the
            // answers: the session answers what it got, then closes (as PostgreSQL does).
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                // Each connection costs a thread: past the limit plus some room (for startups
                // refused with 53300 and for CancelRequests), connections are closed at once.
                guard state.opened(channel) else { return channel.close() }
                return channel.eventLoop.makeCompletedFuture {
                    let session = Session(server: state, channel: channel)
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(SessionHandler(session: session))
                }
            }
        do {
            channel = try bootstrap.bind(host: configuration.host, port: configuration.port).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
        self.group = group
        self.state = state
        port = channel.localAddress?.port ?? configuration.port
    }

    /// How many client sessions are open.
    public var connectionCount: Int { state.count }

    /// Blocks until the server stops.
    public func wait() throws {
        try channel.closeFuture.wait()
    }

    /// Stops listening, closes every connection (rolling back open transactions) and waits for
    /// the sessions to end. Later calls do nothing.
    public func stop() throws {
        // Once only: the event loop is gone after the first stop.
        guard stopped.withLockedValue({ done in defer { done = true }; return !done }) else { return }
        try? channel.close().wait()
        state.interruptAll() // a long statement ends now (57014), not when it finishes
        state.closeAll()
        // A session still busy after 10 s (a statement that does not heed the interrupt)
        // keeps the event loop: it must still be able to write to its (closed) channel.
        if state.waitUntilEmpty(timeoutSeconds: 10) { try group.syncShutdownGracefully() }
    }
}

extension Database {
    /// Serves this database over the PostgreSQL wire protocol (see `BorealisServer`).
    ///
    /// ```swift
    /// let server = try db.serve(BorealisServer.Configuration(port: 0))
    /// // psql -h 127.0.0.1 -p \(server.port) -c 'SELECT 1'
    /// try server.stop()
    /// ```
    public func serve(_ configuration: BorealisServer.Configuration = BorealisServer.Configuration()) throws -> BorealisServer {
        try BorealisServer(database: self, configuration: configuration)
    }
}

/// What every session of one server shares.
final class ServerState: @unchecked Sendable {
    let database: Database
    let configuration: BorealisServer.Configuration
    private let lock = ConditionLock(value: 0)
    // Guarded by `lock`.
    private var sessions: [Int32: Session] = [:]
    private var everyChannel: [ObjectIdentifier: Channel] = [:]
    private var lastProcessID: Int32 = 0
    /// Sessions not yet finished, admitted or not (the lock's value: `stop()` waits for 0, so
    /// that no session touches its channel after the event loop is gone).
    private var live = 0

    init(database: Database, configuration: BorealisServer.Configuration) {
        self.database = database
        self.configuration = configuration
    }

    /// A new session: its process id for BackendKeyData, unique among live sessions.
    func sessionStarted() -> Int32 {
        lock.lock()
        live += 1
        defer { lock.unlock(withValue: live) }
        repeat {
            lastProcessID = lastProcessID == Int32.max ? 1 : lastProcessID + 1
        } while sessions[lastProcessID] != nil
        return lastProcessID
    }

    /// Takes `session` into the table unless the server is full.
    func admit(_ session: Session) -> Bool {
        lock.lock()
        guard sessions.count < configuration.maxConnections else {
            lock.unlock(withValue: live)
            return false
        }
        sessions[session.processID] = session
        lock.unlock(withValue: live)
        return true
    }

    /// A session has finished: out of the table (if it was admitted) and no longer live.
    func sessionEnded(_ session: Session, admitted: Bool) {
        lock.lock()
        if admitted, sessions[session.processID] === session { sessions[session.processID] = nil }
        live -= 1
        lock.unlock(withValue: live)
    }

    var count: Int {
        lock.lock()
        defer { lock.unlock(withValue: live) }
        return sessions.count
    }

    /// CancelRequest: interrupts the matching session's running statement (a wrong key does
    /// nothing, as in PostgreSQL).
    func cancel(processID: Int32, secretKey: Int32) {
        lock.lock()
        let session = sessions[processID]
        lock.unlock(withValue: live)
        guard let session, session.secretKey == secretKey else { return }
        session.interrupt()
    }

    /// Takes a new channel into the table of those `stop()` closes (including those not yet
    /// past startup); false when there are already `maxConnections` + 32.
    func opened(_ channel: Channel) -> Bool {
        lock.lock()
        defer { lock.unlock(withValue: live) }
        guard everyChannel.count < configuration.maxConnections + 32 else { return false }
        everyChannel[ObjectIdentifier(channel)] = channel
        return true
    }

    func closed(_ channel: Channel) {
        lock.lock()
        everyChannel[ObjectIdentifier(channel)] = nil
        lock.unlock(withValue: live)
    }

    func interruptAll() {
        lock.lock()
        let all = Array(sessions.values)
        lock.unlock(withValue: live)
        for session in all { session.interrupt() }
    }

    func closeAll() {
        lock.lock()
        let channels = Array(everyChannel.values)
        lock.unlock(withValue: live)
        for channel in channels { channel.close(promise: nil) }
    }

    /// Whether the last session ended within the timeout.
    func waitUntilEmpty(timeoutSeconds: Double) -> Bool {
        let deadline = NIODeadline.now() + .milliseconds(Int64(timeoutSeconds * 1000))
        while NIODeadline.now() < deadline {
            if lock.lock(whenValue: 0, timeoutSeconds: 0.05) {
                lock.unlock(withValue: 0)
                return true
            }
        }
        return false
    }
}

/// The channel's end of a session: frames in, closure and protocol violations reported.
final class SessionHandler: ChannelInboundHandler {
    typealias InboundIn = FrontendFrame

    private let session: Session

    init(session: Session) {
        self.session = session
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !session.receive(unwrapInboundIn(data)) {
            context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .inputClosed = event as? ChannelEvent { session.inputEnded() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        session.server.closed(context.channel)
        session.channelClosed()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let violation = error as? ProtocolViolation {
            session.violation(violation.message)
        } else {
            context.close(promise: nil)
        }
    }
}
