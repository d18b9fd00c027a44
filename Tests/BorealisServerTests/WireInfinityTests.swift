// Infinite dates and timestamps in the wire protocol's binary format: PostgreSQL's sentinels
// (INT32 min/max days, INT64 min/max µs) both ways, not shifted by the 2000-01-01 epoch
// (which overflowed and fell back to text before; DateTime+Infinity.swift).

import NIOCore
import Testing
@testable import BorealisServer
@testable import BorealisSQL

@Suite struct WireInfinityTests {
    private func binary(_ value: Value, oid: UInt32) -> [UInt8] {
        var buffer = ByteBuffer()
        WireCodec.write(value, oid: oid, binary: true, to: &buffer)
        return buffer.readBytes(length: buffer.readableBytes) ?? []
    }

    @Test func infiniteValuesAreSentAsPostgresSentinels() {
        #expect(binary(.timestamp(Int64.max), oid: OID.timestamp) == [0, 0, 0, 8] + withUnsafeBytes(of: Int64.max.bigEndian, Array.init))
        #expect(binary(.timestamptz(Int64.min), oid: OID.timestamptz) == [0, 0, 0, 8] + withUnsafeBytes(of: Int64.min.bigEndian, Array.init))
        #expect(binary(.date(Int32.max), oid: OID.date) == [0, 0, 0, 4] + withUnsafeBytes(of: Int32.max.bigEndian, Array.init))
        #expect(binary(.date(Int32.min), oid: OID.date) == [0, 0, 0, 4] + withUnsafeBytes(of: Int32.min.bigEndian, Array.init))
    }

    @Test func infiniteParametersAreReadFromPostgresSentinels() throws {
        let forever = ByteBuffer(bytes: withUnsafeBytes(of: Int64.max.bigEndian, Array.init))
        #expect(try WireCodec.parameter(forever, oid: OID.timestamp, binary: true) == .timestamp(Int64.max))
        let never = ByteBuffer(bytes: withUnsafeBytes(of: Int32.min.bigEndian, Array.init))
        #expect(try WireCodec.parameter(never, oid: OID.date, binary: true) == .date(Int32.min))
    }
}
