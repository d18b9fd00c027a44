// A minimal blocking PostgreSQL protocol client on a POSIX socket, for what psql cannot send:
// the extended protocol message by message, binary formats, a client that vanishes, a flood of
// hostile bytes. Every read has a 10-second timeout, so a server that fails to answer fails
// the test instead of hanging it.

import Foundation
#if canImport(Glibc)
import Glibc
#endif

struct WireMessage {
    var type: Character
    var body: [UInt8]

    /// The fields of an ErrorResponse or NoticeResponse, by their code letter.
    var fields: [Character: String] {
        var result: [Character: String] = [:]
        var i = 0
        while i < body.count, body[i] != 0 {
            let code = Character(UnicodeScalar(body[i]))
            var j = i + 1
            while j < body.count, body[j] != 0 { j += 1 }
            result[code] = String(decoding: body[(i + 1)..<min(j, body.count)], as: UTF8.self)
            i = j + 1
        }
        return result
    }

    /// The columns of a DataRow (nil: NULL).
    var columns: [[UInt8]?] {
        var result: [[UInt8]?] = []
        guard body.count >= 2 else { return result }
        let count = Int(Int16(bitPattern: UInt16(body[0]) << 8 | UInt16(body[1])))
        var i = 2
        for _ in 0..<max(0, count) {
            guard i + 4 <= body.count else { break }
            let length = Int(Int32(bitPattern: body[i..<(i + 4)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }))
            i += 4
            if length < 0 { result.append(nil); continue }
            result.append(Array(body[i..<min(body.count, i + length)]))
            i += length
        }
        return result
    }

    /// A CommandComplete's tag.
    var text: String { String(decoding: body.prefix { $0 != 0 }, as: UTF8.self) }
}

final class WireClient {
    private let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard status == 0 else {
            Glibc.close(fd)
            throw POSIXError(.ECONNREFUSED)
        }
    }

    deinit { Glibc.close(fd) }

    /// Closes the socket at once, without Terminate (a client that vanishes).
    func drop() { shutdown(fd, Int32(SHUT_RDWR)) }

    /// Shuts down the sending side only: the client has sent all it will, and reads on.
    func finishSending() { shutdown(fd, Int32(SHUT_WR)) }

    func send(_ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            sent += n
        }
    }

    private func read(_ count: Int) -> [UInt8]? {
        var result = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = result[got...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return nil }
            got += n
        }
        return result
    }

    /// The next message, nil at EOF or after the timeout.
    func receive() -> WireMessage? {
        guard let header = read(5) else { return nil }
        let length = Int(header[1...4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        guard length >= 4, let body = read(length - 4) else { return nil }
        return WireMessage(type: Character(UnicodeScalar(header[0])), body: body)
    }

    /// Messages up to and including ReadyForQuery (or up to EOF).
    func untilReady() -> [WireMessage] {
        var messages: [WireMessage] = []
        while let message = receive() {
            messages.append(message)
            if message.type == "Z" { break }
        }
        return messages
    }

    /// The single byte the server answers an SSLRequest with.
    func receiveByte() -> UInt8? { read(1)?.first }

    /// StartupMessage for protocol 3.0; returns the server's answer up to ReadyForQuery.
    @discardableResult
    func startup(user: String = "tester") -> [WireMessage] {
        var body = Self.int32(196_608)
        for (key, value) in [("user", user), ("database", "test")] { body += Self.cstring(key) + Self.cstring(value) }
        body += [0]
        send(Self.int32(Int32(body.count + 4)) + body)
        return untilReady()
    }

    func query(_ sql: String) -> [WireMessage] {
        send(Self.message("Q", Self.cstring(sql)))
        return untilReady()
    }

    // MARK: Encoding

    static func int32(_ v: Int32) -> [UInt8] { withUnsafeBytes(of: v.bigEndian, Array.init) }
    static func int16(_ v: Int16) -> [UInt8] { withUnsafeBytes(of: v.bigEndian, Array.init) }
    static func cstring(_ s: String) -> [UInt8] { Array(s.utf8) + [0] }

    static func message(_ type: Character, _ body: [UInt8]) -> [UInt8] {
        [type.asciiValue ?? 0] + int32(Int32(body.count + 4)) + body
    }

    static func parse(_ name: String, _ sql: String, types: [Int32] = []) -> [UInt8] {
        message("P", cstring(name) + cstring(sql) + int16(Int16(types.count)) + types.flatMap(int32))
    }

    /// Bind with per-parameter formats (`binary`) and result formats.
    static func bind(_ portal: String, _ statement: String, _ parameters: [[UInt8]?], binary: [Bool] = [], results: [Int16] = []) -> [UInt8] {
        var body = cstring(portal) + cstring(statement)
        body += int16(Int16(binary.count)) + binary.flatMap { int16($0 ? 1 : 0) }
        body += int16(Int16(parameters.count))
        for p in parameters {
            if let p { body += int32(Int32(p.count)) + p } else { body += int32(-1) }
        }
        body += int16(Int16(results.count)) + results.flatMap(int16)
        return message("B", body)
    }

    static func describe(_ kind: Character, _ name: String) -> [UInt8] { message("D", [kind.asciiValue ?? 0] + cstring(name)) }
    static func execute(_ portal: String, maxRows: Int32 = 0) -> [UInt8] { message("E", cstring(portal) + int32(maxRows)) }
    static func close(_ kind: Character, _ name: String) -> [UInt8] { message("C", [kind.asciiValue ?? 0] + cstring(name)) }
    static let sync = message("S", [])
    static let flush = message("H", [])
    static let terminate = message("X", [])
}

extension Array where Element == UInt8 {
    /// A big-endian integer of the array's bytes.
    var bigEndianValue: Int64 { reduce(Int64(0)) { $0 << 8 | Int64($1) } }
}
