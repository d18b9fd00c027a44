// fuzz-wire's messages: frontend messages built from the input (PostgreSQL protocol 3.0, as
// ../shared/reference/pgwire-clients.md describes what clients send), and the checks on what
// the server sends back.

import BorealisFuzz

enum WireMessages {
    /// A StartupMessage for user `fuzz` on database `db`.
    static func startup() -> [UInt8] {
        var body = int32(196_608)
        for text in ["user", "fuzz", "database", "db", "application_name", "fuzz-wire"] { body += cString(text) }
        body.append(0)
        return int32(Int32(body.count + 4)) + body
    }

    /// A message: type, length (counting itself), body.
    static func frame(_ type: Character, _ body: [UInt8]) -> [UInt8] {
        [type.asciiValue ?? 0] + int32(Int32(body.count + 4)) + body
    }

    /// Statements the messages carry: the table, parameters, transactions, COPY, settings,
    /// errors of every kind.
    private static let statements = [
        "SELECT * FROM t", "SELECT id, v FROM t WHERE id = $1", "SELECT $1::int + $2::int", "SELECT $1", "SELECT $1::text, $2::numeric, $3::date",
        "INSERT INTO t VALUES ($1, $2, $3, $4)", "UPDATE t SET v = $2 WHERE id = $1", "DELETE FROM t WHERE id > 1000",
        "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT s", "ROLLBACK TO s", "SELECT 1/0", "SELECT * FROM missing",
        "COPY t FROM STDIN", "COPY t FROM STDIN (FORMAT csv)", "COPY t TO STDOUT", "COPY (SELECT * FROM t) TO STDOUT (FORMAT csv)",
        "SET statement_timeout = 100", "SHOW ALL", "SELECT repeat('x', 100000)", "SELECT generate_series(1, 2000)",
        "SELECT pg_sleep(0.01)", "SELECT 1; SELECT 2; SELECT 1/0; SELECT 3", "", ";", "SELECT '\u{e9}'", "SELECT ARRAY[1, NULL, 3], '{\"a\": 1}'::jsonb",
        "SELECT now(), interval '1 day', 1.5::float4, true, '\\x00ff'::bytea, gen_random_uuid()",
        "PREPARE p AS SELECT $1::int", "EXECUTE p(1)", "DEALLOCATE p", "LISTEN x", "VACUUM", "CREATE TEMP TABLE tt (a int)",
    ]
    private static let types: [Character] = ["Q", "P", "B", "D", "E", "S", "H", "C", "d", "c", "f", "X", "F", "p"]
    private static let oids: [Int32] = [0, 16, 17, 20, 21, 23, 25, 114, 700, 701, 1043, 1082, 1114, 1184, 1186, 1700, 2950, 3802, 1007, -1, 99999]

    /// A valid startup, a statement timeout, then up to 40 messages from `input`.
    static func stream(from input: inout FuzzInput) -> [UInt8] {
        var out = startup() + frame("Q", cString("SET statement_timeout = 2000"))
        var count = 0
        while !input.isExhausted && count < 40 {
            count += 1
            let type = input.pick(types)
            var body: [UInt8]
            switch type {
            case "Q": body = sql(&input)
            case "P":
                body = cString(name(&input)) + sql(&input)
                let n = input.below(4)
                body += int16(input.chance(16) ? Int16(truncatingIfNeeded: input.edgeInteger()) : Int16(n))
                for _ in 0..<n { body += int32(input.pick(oids)) }
            case "B":
                body = cString(name(&input)) + cString(name(&input))
                let formats = input.below(4)
                body += int16(Int16(formats))
                for _ in 0..<formats { body += int16(Int16(input.below(3))) }
                let parameters = input.below(5)
                body += int16(input.chance(16) ? Int16(truncatingIfNeeded: input.edgeInteger()) : Int16(parameters))
                for _ in 0..<parameters {
                    if input.chance(5) {
                        body += int32(input.chance(4) ? Int32(truncatingIfNeeded: input.edgeInteger()) : -1)
                    } else {
                        let value = input.chance(2) ? Array(String(input.edgeInteger()).utf8) : input.take(upTo: input.below(12))
                        body += int32(Int32(value.count)) + value
                    }
                }
                let results = input.below(3)
                body += int16(Int16(results))
                for _ in 0..<results { body += int16(Int16(input.below(3))) }
            case "D", "C": body = [input.pick(Array("SPX".utf8))] + cString(name(&input))
            case "E": body = cString(name(&input)) + int32(Int32(truncatingIfNeeded: input.chance(2) ? 0 : input.edgeInteger()))
            case "d": body = input.chance(2) ? Array("\(input.below(2000))\tv\t1.5\t2026-01-02\n".utf8) : input.take(upTo: 64)
            case "f": body = cString("fuzz")
            default: body = input.chance(3) ? input.take(upTo: 32) : []
            }
            // Now and then a length that lies about the body.
            if input.chance(24) {
                out += [type.asciiValue ?? 0] + int32(Int32(truncatingIfNeeded: input.edgeInteger())) + body
            } else {
                out += frame(type, body)
            }
        }
        return out
    }

    private static func name(_ input: inout FuzzInput) -> String { input.pick(["", "", "s1", "p1", "s2"]) }

    /// A statement (NUL-terminated, as the protocol wants, except now and then), sometimes
    /// with raw input bytes (invalid UTF-8 included) appended.
    private static func sql(_ input: inout FuzzInput) -> [UInt8] {
        var text = Array(input.pick(statements).utf8)
        if input.chance(6) { text += input.take(upTo: 16).filter { $0 != 0 } }
        return input.chance(20) ? text : text + [0]
    }

    // MARK: What the server sends

    /// Walks the server's frames (of a session that began with `startup()`, so no one-byte
    /// SSLRequest answers come first); traps on a malformed frame, or an ErrorResponse without
    /// its severity, message or a five-character SQLSTATE.
    static func check(_ response: [UInt8]) {
        var offset = 0
        while offset + 5 <= response.count {
            let type = response[offset]
            guard let length = frameLength(response, at: offset + 1), length >= 4 else {
                fatalError("fuzz-wire: a frame of type \(type) with length \(String(describing: frameLength(response, at: offset + 1))) at \(offset)")
            }
            let end = offset + 1 + length
            guard end <= response.count else { return }   // cut off at the 4 MB kept
            if type == UInt8(ascii: "E") { checkError(Array(response[(offset + 5)..<end])) }
            offset = end
        }
    }

    private static func checkError(_ body: [UInt8]) {
        var fields: [UInt8: String] = [:]
        var i = 0
        while i < body.count, body[i] != 0 {
            let code = body[i]
            guard let end = body[(i + 1)...].firstIndex(of: 0) else { fatalError("fuzz-wire: an ErrorResponse field without its NUL") }
            fields[code] = String(decoding: body[(i + 1)..<end], as: UTF8.self)
            i = end + 1
        }
        guard let state = fields[UInt8(ascii: "C")], state.utf8.count == 5, state != "00000" else {
            fatalError("fuzz-wire: an ErrorResponse without a SQLSTATE: \(fields)")
        }
        guard fields[UInt8(ascii: "S")] != nil, fields[UInt8(ascii: "M")] != nil else {
            fatalError("fuzz-wire: an ErrorResponse without severity or message: \(fields)")
        }
    }

    /// The text of each column of each DataRow in `response`.
    static func dataRows(in response: [UInt8]) -> [[UInt8]] {
        var values: [[UInt8]] = []
        var offset = 0
        while offset + 5 <= response.count, let length = frameLength(response, at: offset + 1), length >= 4 {
            let end = offset + 1 + length
            guard end <= response.count else { break }
            if response[offset] == UInt8(ascii: "D"), end - offset >= 7 {
                var at = offset + 7
                while at + 4 <= end, let size = frameLength(response, at: at) {
                    at += 4
                    guard size >= 0, at + size <= end else { break }
                    values.append(Array(response[at..<(at + size)]))
                    at += size
                }
            }
            offset = end
        }
        return values
    }

    private static func frameLength(_ bytes: [UInt8], at offset: Int) -> Int? {
        guard offset + 4 <= bytes.count else { return nil }
        let value = UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
        return Int(Int32(bitPattern: value))
    }

    private static func int32(_ value: Int32) -> [UInt8] {
        let v = UInt32(bitPattern: value)
        return [UInt8(v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
    }

    private static func int16(_ value: Int16) -> [UInt8] {
        let v = UInt16(bitPattern: value)
        return [UInt8(v >> 8), UInt8(truncatingIfNeeded: v)]
    }

    private static func cString(_ text: String) -> [UInt8] { Array(text.utf8) + [0] }
}
