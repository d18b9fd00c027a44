// One client connection: its own Borealis connection (so its own transaction), its prepared
// statements and portals, and its session settings.
//
// Frames arrive on the channel's event loop and are queued to the session's own thread
// (SessionWorker.swift), where everything else runs — engine calls block, and never on an event loop thread.
// Replies are gathered in `out` and written in order when the client waits for them
// (ReadyForQuery, Flush, a large result), from that one thread.
//
//   startup ──SSLRequest/GSSENCRequest──▶ startup (answered 'N')
//   startup ──CancelRequest──▶ closed (the matching session's statement is interrupted)
//   startup ──StartupMessage 3.x──▶ ready (AuthenticationOk, 13 ParameterStatus, BackendKeyData,
//                                          ReadyForQuery) ── or FATAL 53300 when full ──▶ closed
//   ready ──error in the extended protocol──▶ skipping (messages dropped) ──Sync──▶ ready
//   ready/skipping ──Terminate, EOF, protocol violation──▶ closed: an open transaction is rolled
//                                                           back and the connection closed

import NIOConcurrencyHelpers
import NIOCore
import Borealis
import BorealisSQL

final class Session: @unchecked Sendable {
    let server: ServerState
    let channel: Channel
    let processID: Int32
    let secretKey: Int32
    private let worker: SessionWorker
    /// The session's connection, for CancelRequests from other threads.
    private let cancelTarget = NIOLockedValueBox<Database?>(nil)

    // Everything below is touched only on the worker's thread.
    var db: Database?
    var out = ByteBuffer()
    var started = false
    var finished = false
    var admitted = false
    /// The ParameterStatus values the client last heard, by name: after each statement the
    /// engine's session settings (where SET, RESET and SHOW run) are compared with them.
    var reportedParameters: [String: String] = [:]
    var statements: [String: Prepared] = [:]
    var portals: [String: Portal] = [:]
    /// After an error in the extended protocol: drop messages until Sync.
    var skipping = false
    /// A COPY FROM STDIN waiting for its data.
    var copyIn: CopyIn?

    init(server: ServerState, channel: Channel) {
        self.server = server
        self.channel = channel
        processID = server.sessionStarted()
        secretKey = Int32.random(in: Int32.min...Int32.max)
        worker = SessionWorker(name: "borealis-session-\(processID)")
    }

    // MARK: From the event loop

    /// Frames queued and not yet handled; past `pauseDepth` the channel stops reading until
    /// the worker has caught up to `resumeDepth` (a client that floods us with messages meets
    /// TCP back-pressure instead of growing our memory).
    private let queued = NIOLockedValueBox(0)
    private static let pauseDepth = 1024
    private static let resumeDepth = 64

    /// Queues `frame`; returns false when the channel should stop reading for now.
    func receive(_ frame: FrontendFrame) -> Bool {
        let depth = queued.withLockedValue { $0 += 1; return $0 }
        worker.submit {
            self.handle(frame)
            let left = self.queued.withLockedValue { $0 -= 1; return $0 }
            if left == Self.resumeDepth { self.channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in } }
        }
        return depth < Self.pauseDepth
    }

    /// The connection is gone (Terminate, EOF, a reset, the server stopping).
    func channelClosed() {
        worker.submit { self.finish() }
    }

    /// The client will send nothing more (it shut down its side): once the frames it sent are
    /// answered, the session ends as after Terminate.
    func inputEnded() {
        worker.submit { self.finish() }
    }

    /// The byte stream broke the protocol: FATAL 08P01, then close.
    func violation(_ message: String) {
        worker.submit {
            self.fatal(WireError(severity: "FATAL", sqlState: SQLState.protocolViolation, message: message))
        }
    }

    /// Interrupts the running statement (57014), from any thread.
    func interrupt() {
        cancelTarget.withLockedValue { $0 }?.interrupt()
    }

    // MARK: On the worker's thread

    private func handle(_ frame: FrontendFrame) {
        guard !finished else { return }
        switch frame {
        case .startup(let body):
            startup(body)
        case .message(let type, let body):
            guard started else { return fatal(WireError(severity: "FATAL", sqlState: SQLState.protocolViolation, message: "message before startup")) }
            message(type, body)
        }
    }

    private func message(_ type: UInt8, _ body: ByteBuffer) {
        var body = body
        if copyIn != nil, type != UInt8(ascii: "X") {
            return copyMessage(type, body)
        }
        switch type {
        case UInt8(ascii: "X"):
            finish()
            return
        case UInt8(ascii: "S"):
            skipping = false
            sync()
            return
        case UInt8(ascii: "H"):
            flush()
            return
        default:
            break
        }
        if skipping { return }
        do {
            switch type {
            case UInt8(ascii: "Q"):
                guard let sql = body.readCString() else { throw malformed("Query") }
                simpleQuery(sql)
            case UInt8(ascii: "P"): try parse(&body)
            case UInt8(ascii: "B"): try bind(&body)
            case UInt8(ascii: "D"): try describe(&body)
            case UInt8(ascii: "E"): try execute(&body)
            case UInt8(ascii: "C"): try close(&body)
            case UInt8(ascii: "d"), UInt8(ascii: "c"), UInt8(ascii: "f"):
                break // copy messages outside COPY are ignored, as PostgreSQL does
            case UInt8(ascii: "F"):
                throw WireError(sqlState: SQLState.featureNotSupported, message: "the function call protocol is not supported")
            default:
                return fatal(WireError(severity: "FATAL", sqlState: SQLState.protocolViolation, message: "invalid frontend message type \(type)"))
            }
        } catch {
            // An error in the extended protocol: report it, then skip until Sync.
            write(error)
            skipping = true
        }
        if out.readableBytes > 1 << 18 { flush() }
    }

    func malformed(_ what: String) -> WireError {
        WireError(sqlState: SQLState.protocolViolation, message: "invalid \(what) message format")
    }

    // MARK: Startup

    private static let protocolVersion3: UInt32 = 196_608
    private static let cancelRequestCode: UInt32 = 80_877_102

    private func startup(_ body: ByteBuffer) {
        var body = body
        guard let code = body.readInteger(as: UInt32.self) else { return finish() }
        switch code {
        case FrameDecoder.sslRequestCode, FrameDecoder.gssRequestCode:
            out.writeInteger(UInt8(ascii: "N"))
            flush()
        case Self.cancelRequestCode:
            if let pid = body.readInteger(as: Int32.self), let key = body.readInteger(as: Int32.self) {
                server.cancel(processID: pid, secretKey: key)
            }
            finish()
        case let version where version >> 16 == 3:
            var options: [String: String] = [:]
            while let key = body.readCString(), !key.isEmpty {
                guard let value = body.readCString() else { break }
                options[key] = value
            }
            start(minorVersion: version & 0xFFFF, options: options)
        default:
            fatal(WireError(severity: "FATAL", sqlState: SQLState.featureNotSupported,
                            message: "unsupported frontend protocol \(code >> 16).\(code & 0xFFFF): server supports 3.0"))
        }
    }

    private func start(minorVersion: UInt32, options: [String: String]) {
        guard server.admit(self) else {
            return fatal(WireError(severity: "FATAL", sqlState: SQLState.tooManyConnections, message: "sorry, too many clients already"))
        }
        admitted = true
        do {
            let connection = try server.database.openConnection()
            db = connection
            cancelTarget.withLockedValue { $0 = connection }
        } catch {
            var failure = wireError(error)
            failure.severity = "FATAL"
            return fatal(failure)
        }
        started = true
        let user = options["user"] ?? "borealis"
        // The StartupMessage's settings, as the engine's session takes them; one it refuses
        // (a time zone other than UTC) keeps the engine's value, which ParameterStatus reports.
        for (key, value) in options where key != "user" && key != "database" && key != "options" && !key.hasPrefix("_pq_.") {
            try? db?.session.set(key, value, local: false)
        }
        try? db?.session.set("session_authorization", user, local: false)
        if server.database.isReadOnly { try? db?.session.set("default_transaction_read_only", "on", local: false) }
        // A client asking for 3.1 or later, or for protocol options, is told what we speak.
        let unknownOptions = options.keys.filter { $0.hasPrefix("_pq_.") }.sorted()
        if minorVersion > 0 || !unknownOptions.isEmpty {
            out.writeMessage(UInt8(ascii: "v")) { b in
                b.writeInteger(Int32(0))
                b.writeInteger(Int32(unknownOptions.count))
                for option in unknownOptions { b.writeCString(option) }
            }
        }
        out.writeMessage(Backend.authentication) { $0.writeInteger(Int32(0)) }
        for (name, value) in db?.session.reported ?? [] {
            parameterStatus(name, value)
        }
        out.writeMessage(Backend.backendKeyData) { b in
            b.writeInteger(processID)
            b.writeInteger(secretKey)
        }
        readyForQuery()
    }

    func parameterStatus(_ name: String, _ value: String) {
        reportedParameters[name] = value
        out.writeMessage(Backend.parameterStatus) { b in
            b.writeCString(name)
            b.writeCString(value)
        }
    }

    // MARK: Replies

    func readyForQuery() {
        let status = db?.transactionStatus ?? .idle
        out.writeMessage(Backend.readyForQuery) { $0.writeInteger(status.rawValue) }
        flush()
    }

    func flush() {
        guard out.readableBytes > 0 else { return }
        channel.writeAndFlush(out, promise: nil)
        out = channel.allocator.buffer(capacity: 512)
    }

    /// Reports `error`; inside a transaction block it fails the block, as in PostgreSQL.
    func write(_ error: Error) {
        let failure = wireError(error)
        db?.failBlock(by: DatabaseError(.error, sqlState: failure.sqlState, failure.message))
        failure.write(to: &out)
    }

    func wireError(_ error: Error) -> WireError {
        switch error {
        case let error as WireError: return error
        case let error as DatabaseError: return WireError(sqlState: error.sqlState, message: error.message)
        default: return WireError(sqlState: SQLState.internalError, message: "\(error)")
        }
    }

    /// Reports a FATAL error and ends the session.
    func fatal(_ error: WireError) {
        error.write(to: &out)
        flush()
        finish()
    }

    /// Ends the session once: rolls back an open transaction, closes the connection and the
    /// channel, and leaves the server's table.
    func finish() {
        guard !finished else { return }
        finished = true
        portals = [:]
        statements = [:]
        cancelTarget.withLockedValue { $0 = nil }
        if let db {
            if db.transactionStatus != .idle { _ = try? db.execute("ROLLBACK") }
            try? db.close()
        }
        db = nil
        flush()
        channel.close(promise: nil)
        server.sessionEnded(self, admitted: admitted)
        worker.stop()
    }

    // MARK: Simple query

    private func simpleQuery(_ sql: String) {
        guard let db else { return readyForQuery() }
        let pieces = SQLText.split(sql)
        if pieces.isEmpty {
            out.writeMessage(Backend.emptyQuery) { _ in }
            return readyForQuery()
        }
        // Several statements outside a block run as one transaction, as in PostgreSQL.
        let implicit = pieces.count > 1 && db.transactionStatus == .idle && !pieces.contains(where: Self.controlsTransaction)
        if implicit {
            do {
                try db.execute("BEGIN")
            } catch {
                write(error)
                return readyForQuery()
            }
        }
        continueQuery(pieces[...], implicit: implicit)
    }

    /// Runs a simple Query's statements from `pieces` on; a COPY FROM STDIN suspends it until
    /// the copy ends (Session+Copy.swift). Ends with ReadyForQuery.
    func continueQuery(_ pieces: ArraySlice<String>, implicit: Bool) {
        guard let db else { return readyForQuery() }
        var rest = pieces
        do {
            while let piece = rest.first {
                rest = rest.dropFirst()
                if let copy = try CopyCommand.recognize(piece) {
                    if copy.direction == .from {
                        return try beginCopyIn(copy, remaining: rest, implicit: implicit)
                    }
                    try copyOut(copy)
                    continue
                }
                let prepared = try Prepared(sql: piece, session: self)
                let outcome = try run(prepared, parameters: [])
                if !outcome.columns.isEmpty {
                    let types = outcome.types(declared: nil)
                    writeRowDescription(outcome.columns, types: types, formats: [])
                    writeRows(outcome.rows[...], types: types, formats: [])
                }
                complete(outcome)
                if out.readableBytes > 1 << 18 { flush() }
            }
            if implicit { try db.execute("COMMIT") }
        } catch {
            write(error)
            if implicit { _ = try? db.execute("ROLLBACK") }
        }
        readyForQuery()
    }

    static func controlsTransaction(_ sql: String) -> Bool {
        let word = SQLText.words(sql, 1).first ?? ""
        return ["begin", "start", "commit", "end", "rollback", "abort", "savepoint", "release"].contains(word)
    }

    func complete(_ outcome: Outcome) {
        if let notice = outcome.notice {
            WireError(severity: "NOTICE", sqlState: SQLState.successfulCompletion, message: notice).write(to: &out, notice: true)
        }
        out.writeMessage(Backend.commandComplete) { $0.writeCString(outcome.tag) }
    }

    func writeRowDescription(_ columns: [String], types: [UInt32], formats: [Int16]) {
        out.writeMessage(Backend.rowDescription) { b in
            b.writeInteger(Int16(truncatingIfNeeded: columns.count))
            for (i, name) in columns.enumerated() {
                let oid = i < types.count ? types[i] : OID.text
                b.writeCString(name)
                b.writeInteger(Int32(0))  // table OID
                b.writeInteger(Int16(0))  // column number
                b.writeInteger(oid)
                b.writeInteger(OID.size(oid))
                b.writeInteger(Int32(-1)) // type modifier
                b.writeInteger(Self.format(formats, i))
            }
        }
    }

    static func format(_ formats: [Int16], _ column: Int) -> Int16 {
        formats.count == 1 ? formats[0] : column < formats.count ? formats[column] : 0
    }

    func writeRows(_ rows: ArraySlice<[Value]>, types: [UInt32], formats: [Int16]) {
        for row in rows {
            out.writeMessage(Backend.dataRow) { b in
                b.writeInteger(Int16(truncatingIfNeeded: row.count))
                for (i, value) in row.enumerated() {
                    if value.isNull {
                        b.writeInteger(Int32(-1))
                    } else {
                        WireCodec.write(value, oid: i < types.count ? types[i] : OID.text, binary: Self.format(formats, i) == 1, to: &b)
                    }
                }
            }
            if out.readableBytes > 1 << 20 { flush() }
        }
    }
}
