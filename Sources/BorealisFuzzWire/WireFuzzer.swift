// `fuzz-wire` (issue 19): the PostgreSQL listener's message stream, from a client connection.
// One `BorealisServer` per process on an ephemeral port of 127.0.0.1, over a database with a
// table; each input is one connection. The input decides (first byte) between
//
// - raw bytes as the whole stream, startup phase included (SSLRequest, CancelRequest, broken
//   lengths), and
// - a valid StartupMessage and `SET statement_timeout = 2000`, then messages built from the
//   input: simple Query, Parse/Bind/Describe/Execute/Close/Sync/Flush with wild counts, formats
//   and lengths, COPY data, done and fail, Terminate, and raw frames of any type.
//
// The client then shuts down its sending side and reads until the server closes. What must
// hold: the server closes the connection within 10 s (it saw end of input; a statement is
// bounded by the timeout), every frame it sends is well formed, every ErrorResponse has a
// severity, a message and a five-character SQLSTATE, the session ends (no connection left
// open), and every 50 inputs a fresh client still gets an answer to a query.
// This target lives apart from BorealisFuzz so that the core tests never link SwiftNIO.

import Borealis
import BorealisFuzz
import BorealisServer
import BorealisStorage
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public final class WireFuzzer: FuzzDriver {
    private let folder: String
    private let database: Database
    private let server: BorealisServer
    private var inputs = 0

    public init() throws {
        folder = temporaryPath("borealis-fuzz-wire")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        database = try Database(path: folder + "/db")
        try database.execute("CREATE TABLE t (id int PRIMARY KEY, v text, n numeric, d date)")
        try database.execute("INSERT INTO t SELECT g, 'v' || g, g * 1.5, date '2026-01-01' + g FROM generate_series(1, 50) AS g")
        server = try database.serve(BorealisServer.Configuration(host: "127.0.0.1", port: 0, maxConnections: 8))
    }

    deinit {
        try? server.stop()
        try? database.close()
        try? FileManager.default.removeItem(atPath: folder)
    }

    public func run(_ bytes: [UInt8]) {
        var input = FuzzInput(bytes)
        let raw = input.byte() < 0x30
        let stream = raw ? input.take(upTo: 1 << 16) : WireMessages.stream(from: &input)
        let response = exchange(stream)
        if !raw { WireMessages.check(response) }
        waitForSessionsToEnd()
        inputs += 1
        if inputs % 50 == 0 { healthCheck() }
    }

    /// Sends `stream`, ends the sending side, and reads until the server closes.
    private func exchange(_ stream: [UInt8]) -> [UInt8] {
        guard let socket = WireSocket(port: server.port, timeoutSeconds: 10) else {
            fatalError("fuzz-wire: cannot connect to the listener on port \(server.port)")
        }
        defer { socket.close() }
        _ = socket.send(stream)   // the server may close before it has read everything
        socket.finishSending()
        guard let response = socket.readUntilClosed(keeping: 4 << 20) else {
            fatalError("fuzz-wire: the server neither answered nor closed the connection within 10 s")
        }
        return response
    }

    /// The session of the input's connection ends once the server saw the connection close.
    private func waitForSessionsToEnd() {
        let deadline = monotonicNanoseconds() + 10_000_000_000
        while server.connectionCount > 0 {
            if monotonicNanoseconds() > deadline {
                fatalError("fuzz-wire: \(server.connectionCount) session(s) still open 10 s after their client closed")
            }
            usleep(1_000)
        }
    }

    /// A well-behaved client still gets its answer.
    private func healthCheck() {
        // (Inputs change the table's rows: the query reads it, the answer does not depend on it.)
        let query = WireMessages.startup() + WireMessages.frame("Q", Array("SELECT 40 + 2 FROM t LIMIT 1".utf8) + [0]) + WireMessages.frame("X", [])
        let response = exchange(query)
        guard WireMessages.dataRows(in: response).contains(Array("42".utf8)) else {
            fatalError("fuzz-wire: a fresh client got no answer to its query: \(response.suffix(400))")
        }
        waitForSessionsToEnd()
    }
}

/// A blocking TCP connection to 127.0.0.1 with send and receive timeouts.
private struct WireSocket {
    private let fd: Int32

    init?(port: Int, timeoutSeconds: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(truncatingIfNeeded: port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            Glibc.close(fd)
            return nil
        }
        self.fd = fd
    }

    /// Sends all of `bytes`; false when the server closed (or stopped reading) first.
    func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent <= 0 { return false }
            offset += sent
        }
        return true
    }

    func finishSending() { shutdown(fd, Int32(SHUT_WR)) }

    /// Everything the server sends until it closes (at most `keeping` bytes kept, the rest
    /// read and dropped); nil when it neither sends nor closes within the timeout.
    func readUntilClosed(keeping limit: Int) -> [UInt8]? {
        var kept: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count == 0 { return kept }
            if count < 0 {
                if errno == EINTR { continue }
                if errno == ECONNRESET { return kept }
                return nil
            }
            if kept.count < limit { kept.append(contentsOf: chunk[0..<min(count, limit - kept.count)]) }
        }
    }

    func close() { Glibc.close(fd) }
}
