// The protocol message by message, through WireClient: startup (SSLRequest answered 'N', the
// ParameterStatus values, BackendKeyData), ReadyForQuery's transaction status, the extended
// protocol (Describe S and P, maxRows and PortalSuspended, named and unnamed statements and
// portals, Close, skip-until-Sync), binary parameters and results, the connection limit, a
// client vanishing mid-transaction, and hostile byte streams that must not crash the process.

import Foundation
import Testing
import Borealis
import BorealisServer

@Suite(.serialized) struct WireProtocolTests {
    @Test func startupAnswersSSLWithNAndReportsTheSessionParameters() throws {
        let served = try ServedDatabase()
        defer { served.close() }
        let client = try WireClient(port: served.port)
        client.send(WireClient.int32(8) + WireClient.int32(80_877_103))
        #expect(client.receiveByte() == UInt8(ascii: "N"))
        let messages = client.startup()
        #expect(messages.first?.type == "R")
        var parameters: [String: String] = [:]
        for m in messages where m.type == "S" {
            let parts = m.body.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
            if parts.count >= 2 { parameters[parts[0]] = parts[1] }
        }
        #expect(parameters.count == 13)
        #expect(parameters["client_encoding"] == "UTF8")
        #expect(parameters["DateStyle"] == "ISO, MDY")
        #expect(parameters["standard_conforming_strings"] == "on")
        #expect(parameters["server_version"]?.hasPrefix("15.") == true)
        #expect(parameters["session_authorization"] == "tester")
        #expect(messages.contains { $0.type == "K" && $0.body.count == 8 })
        #expect(messages.last.map { $0.type == "Z" && $0.body == [UInt8(ascii: "I")] } == true)
    }

    /// A client that sends its messages and shuts down its sending side (no Terminate) gets
    /// every answer before the server closes, as from PostgreSQL (fuzz-wire found it got none:
    /// the listener closed the connection at the end of input, before the session answered).
    @Test func aClientThatShutsDownItsSendingSideGetsItsAnswers() throws {
        let served = try ServedDatabase()
        defer { served.close() }
        let client = try WireClient(port: served.port)
        var body = WireClient.int32(196_608)
        for text in ["user", "tester", "database", "db"] { body += WireClient.cstring(text) }
        body.append(0)
        client.send(WireClient.int32(Int32(body.count + 4)) + body + WireClient.message("Q", WireClient.cstring("SELECT 40 + 2; SELECT 1/0")))
        client.finishSending()
        var messages: [WireMessage] = []
        while let message = client.receive() { messages.append(message) }
        #expect(messages.contains { $0.type == "D" && $0.columns == [Array("42".utf8)] })
        #expect(messages.contains { $0.type == "E" && $0.fields["C"] == "22012" })
        #expect(messages.last?.type == "Z")
        // The session ends once it has answered.
        let deadline = Date().addingTimeInterval(10)
        while served.server.connectionCount > 0, Date() < deadline { usleep(1_000) }
        #expect(served.server.connectionCount == 0)
    }

    /// SET, SHOW and RESET run in the engine: a change of a reported parameter is a
    /// ParameterStatus before CommandComplete, a rolled-back SET reports the value restored, an
    /// unknown parameter is 42704, and SHOW answers from the same settings as current_setting().
    @Test func settingsRunInTheEngineAndReportTheirChanges() throws {
        let served = try ServedDatabase()
        defer { served.close() }
        let client = try WireClient(port: served.port)
        client.startup()
        func statuses(_ messages: [WireMessage]) -> [String] {
            messages.filter { $0.type == "S" }.map { m in
                m.body.split(separator: 0, omittingEmptySubsequences: false).prefix(2).map { String(decoding: $0, as: UTF8.self) }.joined(separator: "=")
            }
        }
        let set = client.query("SET application_name = 'wire-test'")
        #expect(statuses(set) == ["application_name=wire-test"])
        #expect(set.map(\.type) == ["S", "C", "Z"])
        let show = client.query("SHOW application_name")
        #expect(show.contains { $0.type == "D" && String(decoding: $0.body, as: UTF8.self).contains("wire-test") })
        #expect(statuses(client.query("SET extra_float_digits = 3")).isEmpty)   // not a reported parameter
        _ = client.query("BEGIN")
        #expect(statuses(client.query("SET application_name = 'inside'")) == ["application_name=inside"])
        #expect(statuses(client.query("ROLLBACK")) == ["application_name=wire-test"])
        let unknown = client.query("SET no_such_parameter = 1")
        #expect(unknown.contains { $0.type == "E" && String(decoding: $0.body, as: UTF8.self).contains("42704") })
        #expect(statuses(client.query("RESET application_name")) == ["application_name="])
        let current = client.query("SELECT current_setting('extra_float_digits')")
        #expect(current.contains { $0.type == "D" && String(decoding: $0.body, as: UTF8.self).hasSuffix("3") })
    }

    @Test func readyForQueryReportsIdleInBlockAndFailed() throws {
        let served = try ServedDatabase()
        defer { served.close() }
        let client = try WireClient(port: served.port)
        client.startup()
        func status(_ sql: String) -> Character? {
            client.query(sql).last.flatMap { $0.body.first.map { Character(UnicodeScalar($0)) } }
        }
        #expect(status("CREATE TABLE t(x INT)") == "I")
        #expect(status("BEGIN") == "T")
        #expect(status("INSERT INTO t VALUES (1)") == "T")
        #expect(status("SELECT * FROM missing") == "E")
        #expect(status("SELECT 1") == "E")
        #expect(status("ROLLBACK") == "I")
        let empty = client.query("  ;  -- nothing")
        #expect(empty.map(\.type) == ["I", "Z"])
    }

    @Test func extendedProtocolDescribesSuspendsAndClosesPortals() throws {
        let served = try ServedDatabase()
        defer { served.close() }
        try served.db.execute("CREATE TABLE t(id INT PRIMARY KEY, name TEXT)")
        try served.db.execute("INSERT INTO t VALUES (1, 'one'), (2, 'two'), (3, 'three')")
        let client = try WireClient(port: served.port)
        client.startup()
        client.send(WireClient.parse("s1", "SELECT id, name FROM t WHERE id > $1 ORDER BY id")
                    + WireClient.describe("S", "s1")
                    + WireClient.bind("p1", "s1", [Array("0".utf8)], results: [1, 0])
                    + WireClient.describe("P", "p1")
                    + WireClient.execute("p1", maxRows: 2)
                    + WireClient.execute("p1", maxRows: 2)
                    + WireClient.close("P", "p1")
                    + WireClient.sync)
        let messages = client.untilReady()
        #expect(messages.map(\.type) == ["1", "t", "T", "2", "T", "D", "D", "s", "D", "C", "3", "Z"])
        // ParameterDescription: the untyped parameter takes the type of what it is compared
        // with (id is an integer: int4, 23), as PostgreSQL reports it.
        #expect(messages[1].body == WireClient.int16(1) + WireClient.int32(23))
        // The binary int4 column, then the text column.
        #expect(messages[5].columns == [[0, 0, 0, 1], Array("one".utf8)])
        #expect(messages[8].columns == [[0, 0, 0, 3], Array("three".utf8)])
        #expect(messages[9].text == "SELECT 1")

        // The named statement lives on; an unnamed portal of it, without Describe.
        client.send(WireClient.bind("", "s1", [Array("1".utf8)]) + WireClient.execute("") + WireClient.sync)
        let again = client.untilReady()
        #expect(again.map(\.type) == ["2", "D", "D", "C", "Z"])
        #expect(again[3].text == "SELECT 2")
    }

    @Test func anErrorSkipsMessagesUntilSync() throws {
        let served = try ServedDatabase()
        defer { served.close() }
        let client = try WireClient(port: served.port)
        client.startup()
        client.send(WireClient.parse("", "SELECT * FROM missing") + WireClient.bind("", "", [])
                    + WireClient.execute("") + WireClient.sync)
        let messages = client.untilReady()
        #expect(messages.map(\.type) == ["E", "Z"])
        let fields = messages[0].fields
        #expect(fields["S"] == "ERROR")
        #expect(fields["V"] == "ERROR")
        #expect(fields["C"] == "42P01")
        #expect(fields["M"]?.contains("missing") == true)
        // The session goes on.
        client.send(WireClient.parse("", "SELECT 1") + WireClient.bind("", "", []) + WireClient.execute("") + WireClient.sync)
        #expect(client.untilReady().map(\.type) == ["1", "2", "D", "C", "Z"])
        // Bind to a statement that does not exist: 26000; a portal that does not exist: 34000.
        client.send(WireClient.bind("", "nope", []) + WireClient.sync)
        #expect(client.untilReady().first?.fields["C"] == "26000")
        client.send(WireClient.execute("nope") + WireClient.sync)
        #expect(client.untilReady().first?.fields["C"] == "34000")
    }

    @Test func binaryParametersAndResultsRoundTrip() throws {
        let served = try ServedDatabase()
        defer { served.close() }
        let client = try WireClient(port: served.port)
        client.startup()
        let sql = "SELECT $1::int8 + 1, $2::float8 * 2, $3::bool, $4::bytea, $5::numeric, $6::date, $7::timestamp, $8::int2, $9::text"
        let types: [Int32] = [20, 701, 16, 17, 1700, 1082, 1114, 21, 25]
        let numeric = WireClient.int16(2) + WireClient.int16(0) + WireClient.int16(0x4000) + WireClient.int16(2)
            + WireClient.int16(12) + WireClient.int16(3400) // -12.34
        let parameters: [[UInt8]?] = [
            withUnsafeBytes(of: Int64(41).bigEndian, Array.init),
            withUnsafeBytes(of: (1.25).bitPattern.bigEndian, Array.init),
            [1], [0, 255], numeric,
            WireClient.int32(366),                                           // 2001-01-01
            withUnsafeBytes(of: Int64(86_400_000_000 + 1_500_000).bigEndian, Array.init), // 2000-01-02 00:00:01.5
            WireClient.int16(-7), Array("héllo".utf8),
        ]
        client.send(WireClient.parse("", sql, types: types)
                    + WireClient.bind("", "", parameters, binary: [Bool](repeating: true, count: 9), results: [1])
                    + WireClient.describe("P", "") + WireClient.execute("") + WireClient.sync)
        let messages = client.untilReady()
        #expect(messages.map(\.type) == ["1", "2", "T", "D", "C", "Z"], "\(messages.map(\.type)) \(messages.first?.fields ?? [:])")
        guard messages.count == 6 else { return }
        let row = messages[3].columns
        #expect(row[0].map(\.bigEndianValue) == 42)
        #expect(row[1].map { Double(bitPattern: UInt64($0.bigEndianValue)) } == 2.5)
        #expect(row[2] == [1])
        #expect(row[3] == [0, 255])
        #expect(row[4] == numeric)
        #expect(row[5] == WireClient.int32(366))
        #expect(row[6] == withUnsafeBytes(of: Int64(86_400_000_000 + 1_500_000).bigEndian, Array.init))
        #expect(row[7] == WireClient.int16(-7))
        #expect(row[8] == Array("héllo".utf8))

        // The same values in text format.
        client.send(WireClient.parse("", sql, types: types)
                    + WireClient.bind("", "", parameters, binary: [Bool](repeating: true, count: 9))
                    + WireClient.execute("") + WireClient.sync)
        let text = client.untilReady()
        let strings = text.first { $0.type == "D" }?.columns.map { $0.map { String(decoding: $0, as: UTF8.self) } }
        #expect(strings == ["42", "2.5", "t", "\\x00ff", "-12.34", "2001-01-01", "2000-01-02 00:00:01.5", "-7", "héllo"])
    }

    @Test func arrayColumnsCarryTheirArrayOIDsInTextAndBinary() throws {
        let served = try ServedDatabase()
        defer { served.close() }
        try served.db.execute("CREATE TABLE t(a INT[], b TEXT[])")
        try served.db.execute("INSERT INTO t VALUES ('{1,NULL,3}', '{x,\"y z\"}')")
        let client = try WireClient(port: served.port)
        client.startup()
        let sql = "SELECT a, b, ARRAY[1::bigint], ARRAY[1.5::float8], ARRAY[true], ARRAY[1.5], ARRAY[[1,2],[3,4]] FROM t WHERE a = $1"
        client.send(WireClient.parse("", sql, types: [1007]) + WireClient.bind("", "", [Array("{1,NULL,3}".utf8)])
                    + WireClient.describe("P", "") + WireClient.execute("") + WireClient.sync)
        let messages = client.untilReady()
        #expect(messages.map(\.type) == ["1", "2", "T", "D", "C", "Z"], "\(messages.map(\.type)) \(messages.first?.fields ?? [:])")
        guard messages.count == 6 else { return }
        // RowDescription: each field is name, table OID (4), column (2), type OID (4), ….
        var body = messages[2].body.dropFirst(2)
        var oids: [Int32] = []
        while let end = body.firstIndex(of: 0) {
            let field = body[(end + 1)...]
            oids.append(Int32(truncatingIfNeeded: Array(field.dropFirst(6).prefix(4)).bigEndianValue))
            body = field.dropFirst(18)
        }
        #expect(oids == [1007, 1009, 1016, 1022, 1000, 1231, 1007])
        let strings = messages[3].columns.map { $0.map { String(decoding: $0, as: UTF8.self) } }
        #expect(strings == ["{1,NULL,3}", "{x,\"y z\"}", "{1}", "{1.5}", "{t}", "{1.5}", "{{1,2},{3,4}}"])

        // Binary: array_send's layout, a NULL element as length -1.
        client.send(WireClient.parse("", "SELECT a FROM t") + WireClient.bind("", "", [], results: [1])
                    + WireClient.execute("") + WireClient.sync)
        let binary = client.untilReady().first { $0.type == "D" }?.columns.first ?? nil
        let expected = WireClient.int32(1) + WireClient.int32(1) + WireClient.int32(23) + WireClient.int32(3) + WireClient.int32(1)
            + WireClient.int32(4) + WireClient.int32(1) + WireClient.int32(-1) + WireClient.int32(4) + WireClient.int32(3)
        #expect(binary == expected)
    }

    @Test func theConnectionLimitRefusesWith53300() throws {
        let served = try ServedDatabase(maxConnections: 2)
        defer { served.close() }
        let first = try WireClient(port: served.port), second = try WireClient(port: served.port)
        #expect(first.startup().last?.type == "Z")
        #expect(second.startup().last?.type == "Z")
        let third = try WireClient(port: served.port)
        let refused = third.startup()
        #expect(refused.first?.fields["C"] == "53300")
        #expect(refused.first?.fields["S"] == "FATAL")
        first.send(WireClient.terminate)
        for _ in 0..<500 where served.server.connectionCount > 1 { usleep(10_000) }
        let fourth = try WireClient(port: served.port)
        #expect(fourth.startup().last?.type == "Z")
    }

    @Test func connectionsBeyondTheLimitAndItsRoomAreClosedAtOnce() throws {
        let served = try ServedDatabase(maxConnections: 2)
        defer { served.close() }
        // Connections that never start up hold a thread each: the limit plus 32 are taken.
        let waiting = try (0..<34).map { _ in try WireClient(port: served.port) }
        usleep(200_000)
        let extra = try WireClient(port: served.port)
        #expect(extra.receive() == nil)
        #expect(waiting[0].startup().last?.type == "Z")
        for client in waiting { client.drop() }
        try waitForNoSessions(served)
        usleep(200_000)
        #expect(try WireClient(port: served.port).startup().last?.type == "Z")
    }

    @Test func aClientThatVanishesMidTransactionIsRolledBack() throws {
        let served = try ServedDatabase()
        defer { served.close() }
        try served.db.execute("CREATE TABLE t(x INT)")
        let client = try WireClient(port: served.port)
        client.startup()
        #expect(client.query("BEGIN; INSERT INTO t VALUES (1)").last?.body == [UInt8(ascii: "T")])
        client.drop()
        try waitForNoSessions(served)
        #expect(try served.db.query("SELECT count(*) FROM t")[0][0] == .integer(0))
        try served.db.execute("INSERT INTO t VALUES (2)") // the write lock was given back
    }

    @Test func aCancelRequestStopsTheRunningStatementWith57014() throws {
        let served = try ServedDatabase()
        defer { served.close() }
        try served.db.execute("CREATE TABLE big(x INT)")
        try served.db.execute("INSERT INTO big VALUES " + (1...2000).map { "(\($0))" }.joined(separator: ", "))
        let client = try WireClient(port: served.port)
        let startup = client.startup()
        let key = try #require(startup.first { $0.type == "K" })
        client.send(WireClient.message("Q", WireClient.cstring("SELECT count(*) FROM big a, big b WHERE a.x + b.x = -1")))
        usleep(300_000)
        let canceller = try WireClient(port: served.port)
        canceller.send(WireClient.int32(16) + WireClient.int32(80_877_102) + key.body)
        #expect(canceller.receive() == nil) // closed without a reply
        let answer = client.untilReady()
        #expect(answer.first?.fields["C"] == "57014", "\(answer.map(\.type)) \(answer.first?.fields ?? [:])")
        #expect(answer.last?.type == "Z")
        #expect(client.query("SELECT 1").contains { $0.type == "D" })
    }

    @Test func stopInterruptsRunningStatementsAndRollsBackOpenTransactions() throws {
        let served = try ServedDatabase()
        defer { served.close() }
        try served.db.execute("CREATE TABLE big(x INT)")
        try served.db.execute("INSERT INTO big VALUES " + (1...2000).map { "(\($0))" }.joined(separator: ", "))
        let busy = try WireClient(port: served.port), idle = try WireClient(port: served.port)
        busy.startup()
        idle.startup()
        #expect(idle.query("BEGIN; INSERT INTO big VALUES (0)").last?.body == [UInt8(ascii: "T")])
        busy.send(WireClient.message("Q", WireClient.cstring("SELECT count(*) FROM big a, big b WHERE a.x + b.x = -1")))
        usleep(300_000)
        let started = ContinuousClock.now
        try served.server.stop()
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(served.server.connectionCount == 0)
        #expect(try served.db.query("SELECT count(*) FROM big")[0][0] == .integer(2000))
        try served.db.execute("INSERT INTO big VALUES (-1)") // no write lock left behind
    }

    @Test func hostileByteStreamsNeverCrashTheServer() throws {
        let served = try ServedDatabase()
        defer { served.close() }
        // A length beyond 1 GiB after startup: FATAL 08P01, then the connection closes.
        let huge = try WireClient(port: served.port)
        huge.startup()
        huge.send([UInt8(ascii: "Q"), 0x7F, 0xFF, 0xFF, 0xFF, 1, 2, 3])
        let answer = huge.untilReady()
        #expect(answer.first?.fields["C"] == "08P01")
        #expect(huge.receive() == nil)
        // A startup packet with an impossible length.
        let short = try WireClient(port: served.port)
        short.send(WireClient.int32(3) + [0, 0, 0, 0])
        _ = short.untilReady()
        // Random and mutated frames.
        var generator = SystemRandomNumberGenerator()
        let valid = WireClient.parse("", "SELECT $1::int") + WireClient.bind("", "", [Array("1".utf8)]) + WireClient.execute("") + WireClient.sync
        for round in 0..<60 {
            let client = try WireClient(port: served.port)
            if round % 3 != 0 { client.startup() }
            var bytes = valid
            for _ in 0..<(1 + round % 8) {
                let i = Int.random(in: 0..<bytes.count, using: &generator)
                bytes[i] = UInt8.random(in: 0...255, using: &generator)
            }
            if round % 5 == 0 { bytes = (0..<200).map { _ in UInt8.random(in: 0...255, using: &generator) } }
            if round % 7 == 0 { bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &generator))) }
            client.send(bytes)
            client.drop()
        }
        try waitForNoSessions(served)
        let healthy = try WireClient(port: served.port)
        healthy.startup()
        #expect(healthy.query("SELECT 1").contains { $0.type == "D" })
    }
}
