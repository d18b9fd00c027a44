// Framing of the PostgreSQL wire protocol (version 3.0) on both directions.
//
// Frontend: before the session starts, a frame is `Int32 length, body` (the length counts
// itself); SSLRequest and GSSENCRequest keep the decoder in that state (the client then sends a
// StartupMessage), a StartupMessage or CancelRequest ends it. Afterwards every frame is
// `Byte1 type, Int32 length, body`. A length below 4 or above `maximumFrameLength` (1 GiB, as
// PostgreSQL's own limit) is a protocol violation: the decoder throws and the session answers
// FATAL 08P01 and closes, never allocating what the length claims.
//
// Backend: `ByteBuffer.writeMessage` writes `Byte1 type, Int32 length, body`, patching the
// length once the body is written.

import NIOCore

/// One frame from the client.
enum FrontendFrame {
    /// A frame of the startup phase (its body starts with the Int32 request code).
    case startup(ByteBuffer)
    case message(type: UInt8, body: ByteBuffer)
}

struct ProtocolViolation: Error {
    var message: String
}

/// Splits the byte stream into frames, bounded by `maximumFrameLength`.
final class FrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = FrontendFrame

    static let maximumFrameLength = 1 << 30
    /// A startup packet is small (PostgreSQL allows 10,000 bytes).
    static let maximumStartupLength = 10_000
    static let sslRequestCode: UInt32 = 80_877_103
    static let gssRequestCode: UInt32 = 80_877_104

    private var inStartup = true

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if inStartup {
            guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return .needMoreData }
            guard length >= 8, length <= UInt32(Self.maximumStartupLength) else {
                throw ProtocolViolation(message: "invalid length of startup packet")
            }
            guard buffer.readableBytes >= Int(length) else { return .needMoreData }
            buffer.moveReaderIndex(forwardBy: 4)
            guard let body = buffer.readSlice(length: Int(length) - 4),
                  let code = body.getInteger(at: body.readerIndex, as: UInt32.self) else { return .needMoreData }
            if code != Self.sslRequestCode && code != Self.gssRequestCode { inStartup = false }
            context.fireChannelRead(wrapInboundOut(.startup(body)))
            return .continue
        }
        let start = buffer.readerIndex
        guard let type = buffer.getInteger(at: start, as: UInt8.self),
              let length = buffer.getInteger(at: start + 1, as: UInt32.self) else { return .needMoreData }
        guard length >= 4, length <= UInt32(Self.maximumFrameLength) else {
            throw ProtocolViolation(message: "invalid message length \(length)")
        }
        guard buffer.readableBytes >= 1 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 5)
        guard let body = buffer.readSlice(length: Int(length) - 4) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(.message(type: type, body: body)))
        return .continue
    }

    func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // A truncated last frame is dropped: the connection is closing anyway.
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}

extension ByteBuffer {
    /// Writes one backend message: its type byte, its length, and what `body` writes.
    mutating func writeMessage(_ type: UInt8, _ body: (inout ByteBuffer) -> Void) {
        writeInteger(type)
        let lengthIndex = writerIndex
        writeInteger(UInt32(0))
        body(&self)
        setInteger(UInt32(truncatingIfNeeded: writerIndex - lengthIndex), at: lengthIndex)
    }

    /// A NUL-terminated string (NULs inside `string` are dropped: they would end it early).
    mutating func writeCString(_ string: String) {
        if string.utf8.contains(0) {
            writeBytes(string.utf8.filter { $0 != 0 })
        } else {
            writeString(string)
        }
        writeInteger(UInt8(0))
    }

    /// Reads a NUL-terminated string, nil when there is no NUL or the bytes are not UTF-8.
    mutating func readCString() -> String? {
        guard let end = readableBytesView.firstIndex(of: 0) else { return nil }
        let length = end - readableBytesView.startIndex
        guard let bytes = readBytes(length: length) else { return nil }
        moveReaderIndex(forwardBy: 1)
        return String(validating: bytes, as: UTF8.self)
    }
}

/// Backend message type bytes.
enum Backend {
    static let authentication = UInt8(ascii: "R")
    static let parameterStatus = UInt8(ascii: "S")
    static let backendKeyData = UInt8(ascii: "K")
    static let readyForQuery = UInt8(ascii: "Z")
    static let rowDescription = UInt8(ascii: "T")
    static let dataRow = UInt8(ascii: "D")
    static let commandComplete = UInt8(ascii: "C")
    static let emptyQuery = UInt8(ascii: "I")
    static let errorResponse = UInt8(ascii: "E")
    static let noticeResponse = UInt8(ascii: "N")
    static let parseComplete = UInt8(ascii: "1")
    static let bindComplete = UInt8(ascii: "2")
    static let closeComplete = UInt8(ascii: "3")
    static let noData = UInt8(ascii: "n")
    static let parameterDescription = UInt8(ascii: "t")
    static let portalSuspended = UInt8(ascii: "s")
}

/// An error or notice as ErrorResponse/NoticeResponse carry it.
struct WireError: Error {
    var severity = "ERROR"
    var sqlState: String
    var message: String

    func write(to buffer: inout ByteBuffer, notice: Bool = false) {
        buffer.writeMessage(notice ? Backend.noticeResponse : Backend.errorResponse) { b in
            for (field, value) in [("S", severity), ("V", severity), ("C", sqlState), ("M", message)] {
                b.writeInteger(UInt8(ascii: field.unicodeScalars.first ?? "M"))
                b.writeCString(value)
            }
            b.writeInteger(UInt8(0))
        }
    }
}
