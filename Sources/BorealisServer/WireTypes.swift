// PostgreSQL type OIDs and the text and binary wire formats of Borealis values.
//
// A result column's OID comes from the engine's declared type (a table column, a cast) when it
// has one, else from the first non-NULL value of the column, else text (25). Values are encoded
// for the column's OID: the binary formats are PostgreSQL's (big-endian integers, IEEE floats,
// date as Int32 days and timestamps as Int64 microseconds since 2000-01-01, numeric as base-10000
// digits); a value whose kind does not fit the OID is sent as its text form.
//
// Parameters: a text-format parameter of unknown type (OID 0) is passed as text and the engine
// casts it where the context asks; a known OID is parsed into that type. Binary parameters are
// decoded by OID with every length checked.

import NIOCore
import Borealis
import BorealisSQL

enum OID {
    static let bool: UInt32 = 16, bytea: UInt32 = 17, char: UInt32 = 18, name: UInt32 = 19
    static let int8: UInt32 = 20, int2: UInt32 = 21, int4: UInt32 = 23, text: UInt32 = 25, oid: UInt32 = 26
    static let json: UInt32 = 114, float4: UInt32 = 700, float8: UInt32 = 701, unknown: UInt32 = 705
    static let bpchar: UInt32 = 1042, varchar: UInt32 = 1043, date: UInt32 = 1082, time: UInt32 = 1083
    static let timestamp: UInt32 = 1114, timestamptz: UInt32 = 1184, interval: UInt32 = 1186
    static let timetz: UInt32 = 1266, numeric: UInt32 = 1700, jsonb: UInt32 = 3802, uuid: UInt32 = 2950
    // Array types (pg_type.typarray of each element type).
    static let int2Array: UInt32 = 1005, int4Array: UInt32 = 1007, int8Array: UInt32 = 1016, textArray: UInt32 = 1009
    static let float4Array: UInt32 = 1021, float8Array: UInt32 = 1022, numericArray: UInt32 = 1231, boolArray: UInt32 = 1000
    static let byteaArray: UInt32 = 1001, varcharArray: UInt32 = 1015, bpcharArray: UInt32 = 1014, dateArray: UInt32 = 1182
    static let timeArray: UInt32 = 1183, timetzArray: UInt32 = 1270, timestampArray: UInt32 = 1115, timestamptzArray: UInt32 = 1185
    static let intervalArray: UInt32 = 1187, jsonArray: UInt32 = 199, jsonbArray: UInt32 = 3807, uuidArray: UInt32 = 2951

    /// Each array OID with its element's OID.
    static let arrayElements: [UInt32: UInt32] = [
        int2Array: int2, int4Array: int4, int8Array: int8, textArray: text, float4Array: float4, float8Array: float8,
        numericArray: numeric, boolArray: bool, byteaArray: bytea, varcharArray: varchar, bpcharArray: bpchar, dateArray: date,
        timeArray: time, timetzArray: timetz, timestampArray: timestamp, timestamptzArray: timestamptz, intervalArray: interval,
        jsonArray: json, jsonbArray: jsonb, uuidArray: uuid,
    ]

    /// The OID of a declared type name (as `QueryResult.declaredTypes` spells it).
    static func of(declared name: String) -> UInt32? {
        guard let type = SQLType(rawValue: name) else { return nil }
        // A reg* column reaches the client as the names it shows (StatementExecutor).
        return type.isRegistered ? text : type.typeOID
    }

    static func of(value: Value) -> UInt32? {
        switch value {
        case .null: return nil
        case .integer: return int8
        case .double: return float8
        case .text: return text
        case .blob: return bytea
        case .boolean: return bool
        case .date: return date
        case .time: return time
        case .timestamp: return timestamp
        case .timestamptz: return timestamptz
        case .interval: return interval
        case .numeric: return numeric
        case .array(let a):
            // The first non-NULL element's array type (text[] when there is none).
            guard let first = a.elements.first(where: { !$0.isNull }), let element = of(value: first) else { return textArray }
            return arrayElements.first(where: { $0.value == element })?.key ?? textArray
        }
    }

    /// The Borealis type a parameter of this OID is cast to (nil: keep it as text).
    static func sqlType(_ oid: UInt32) -> SQLType? {
        switch oid {
        case int2: return .smallint
        case int4, OID.oid: return .integer
        case int8: return .bigint
        case float4: return .real
        case float8: return .doublePrecision
        case numeric: return .numeric
        case bool: return .boolean
        case bytea: return .bytea
        case date: return .date
        case time: return .time
        case timetz: return .timetz
        case timestamp: return .timestamp
        case timestamptz: return .timestamptz
        case interval: return .interval
        case json: return .json
        case jsonb: return .jsonb
        case uuid: return .uuid
        case _ where arrayElements[oid] != nil:
            return arrayElements[oid].flatMap { sqlType($0) ?? ($0 == text || $0 == varchar || $0 == bpchar ? .text : nil) }?.arrayType
        default: return nil
        }
    }

    /// pg_type.typlen: the fixed width, or -1.
    static func size(_ oid: UInt32) -> Int16 {
        switch oid {
        case bool, char: return 1
        case int2: return 2
        case int4, float4, date, OID.oid: return 4
        case int8, float8, time, timestamp, timestamptz: return 8
        case name: return 64
        case interval, uuid: return 16
        default: return -1
        }
    }
}

/// Microseconds and days between the Unix epoch (Borealis) and 2000-01-01 (PostgreSQL).
private let epochDays: Int64 = 10_957
private let epochMicros: Int64 = 946_684_800_000_000

enum WireCodec {
    /// Writes `value` (not NULL) as column data of type `oid` in `binary` or text format,
    /// length prefix included.
    static func write(_ value: Value, oid: UInt32, binary: Bool, to buffer: inout ByteBuffer) {
        if binary, writeBinary(value, oid: oid, to: &buffer) { return }
        let text = value.description
        buffer.writeInteger(Int32(truncatingIfNeeded: text.utf8.count))
        buffer.writeString(text)
    }

    /// The binary form, when `value` has one for `oid`; false leaves `buffer` untouched.
    private static func writeBinary(_ value: Value, oid: UInt32, to buffer: inout ByteBuffer) -> Bool {
        switch (oid, value) {
        case (OID.bool, .boolean(let b)):
            buffer.writeInteger(Int32(1)); buffer.writeInteger(UInt8(b ? 1 : 0))
        case (OID.int2, .integer(let i)):
            guard let v = Int16(exactly: i) else { return false }
            buffer.writeInteger(Int32(2)); buffer.writeInteger(v)
        case (OID.int4, .integer(let i)), (OID.oid, .integer(let i)):
            guard let v = Int32(exactly: i) else { return false }
            buffer.writeInteger(Int32(4)); buffer.writeInteger(v)
        case (OID.int8, .integer(let i)):
            buffer.writeInteger(Int32(8)); buffer.writeInteger(i)
        case (OID.float4, _):
            guard let d = value.doubleValue else { return false }
            buffer.writeInteger(Int32(4)); buffer.writeInteger(Float(d).bitPattern)
        case (OID.float8, _):
            guard let d = value.doubleValue else { return false }
            buffer.writeInteger(Int32(8)); buffer.writeInteger(d.bitPattern)
        case (OID.bytea, .blob(let bytes)):
            buffer.writeInteger(Int32(truncatingIfNeeded: bytes.count)); buffer.writeBytes(bytes)
        case (OID.date, .date(let d)):
            // ±infinity are PostgreSQL's INT32 min/max on the wire too (DateTime+Infinity.swift).
            let shifted = DateTime.isInfinite(date: d) ? d : Int32(truncatingIfNeeded: Int64(d) - epochDays)
            buffer.writeInteger(Int32(4)); buffer.writeInteger(shifted)
        case (OID.timestamp, .timestamp(let t)), (OID.timestamptz, .timestamptz(let t)):
            let (shifted, overflow) = DateTime.isInfinite(timestamp: t) ? (t, false) : t.subtractingReportingOverflow(epochMicros)
            guard !overflow else { return false }
            buffer.writeInteger(Int32(8)); buffer.writeInteger(shifted)
        case (OID.time, .time(let t)):
            buffer.writeInteger(Int32(8)); buffer.writeInteger(t)
        case (OID.interval, .interval(let i)):
            buffer.writeInteger(Int32(16)); buffer.writeInteger(i.microseconds)
            buffer.writeInteger(i.days); buffer.writeInteger(i.months)
        case (OID.numeric, .numeric), (OID.numeric, .integer):
            guard var body = NumericWire.encode(value.description) else { return false }
            buffer.writeInteger(Int32(truncatingIfNeeded: body.readableBytes))
            buffer.writeBuffer(&body)
        case (OID.uuid, .text(let s)):
            // 16 bytes: the canonical text's 32 hexadecimal digits.
            let nibbles = s.utf8.compactMap { c -> UInt8? in
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - 48
                case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - 87
                default: return nil
                }
            }
            guard nibbles.count == 32 else { return false }
            buffer.writeInteger(Int32(16))
            for i in stride(from: 0, to: 32, by: 2) { buffer.writeInteger(nibbles[i] << 4 | nibbles[i + 1]) }
        case (OID.jsonb, _):
            let text = value.description
            buffer.writeInteger(Int32(truncatingIfNeeded: text.utf8.count + 1))
            buffer.writeInteger(UInt8(1))
            buffer.writeString(text)
        case (let arrayOID, .array(let a)):
            // array_send: dimensions, a has-NULL flag, the element OID, each dimension's length
            // and lower bound (1), then each element (-1 for NULL) in the element's binary form.
            guard let elementOID = OID.arrayElements[arrayOID] else { return false }
            var body = ByteBuffer()
            body.writeInteger(Int32(a.dimensions.count))
            body.writeInteger(Int32(a.elements.contains(where: \.isNull) ? 1 : 0))
            body.writeInteger(elementOID)
            for d in a.dimensions { body.writeInteger(Int32(truncatingIfNeeded: d)); body.writeInteger(Int32(1)) }
            for element in a.elements {
                if element.isNull { body.writeInteger(Int32(-1)) } else { write(element, oid: elementOID, binary: true, to: &body) }
            }
            buffer.writeInteger(Int32(truncatingIfNeeded: body.readableBytes))
            buffer.writeBuffer(&body)
        default:
            return false
        }
        return true
    }

    /// A parameter from its wire bytes (nil bytes: NULL).
    static func parameter(_ bytes: ByteBuffer?, oid: UInt32, binary: Bool) throws -> Value {
        guard var bytes else { return .null }
        if !binary {
            guard let text = bytes.readString(length: bytes.readableBytes) else {
                throw WireError(sqlState: SQLState.characterNotInRepertoire, message: "invalid byte sequence for encoding \"UTF8\"")
            }
            guard let type = OID.sqlType(oid) else { return .text(text) }
            return try convert(.text(text), to: type)
        }
        func invalid() -> WireError {
            WireError(sqlState: SQLState.invalidBinaryRepresentation, message: "incorrect binary data format in bind parameter")
        }
        let count = bytes.readableBytes
        switch oid {
        case OID.bool:
            guard count == 1, let b = bytes.readInteger(as: UInt8.self) else { throw invalid() }
            return .boolean(b != 0)
        case OID.int2:
            guard count == 2, let v = bytes.readInteger(as: Int16.self) else { throw invalid() }
            return .integer(Int64(v))
        case OID.int4, OID.oid:
            guard count == 4, let v = bytes.readInteger(as: Int32.self) else { throw invalid() }
            return .integer(Int64(v))
        case OID.int8:
            guard count == 8, let v = bytes.readInteger(as: Int64.self) else { throw invalid() }
            return .integer(v)
        case OID.float4:
            guard count == 4, let v = bytes.readInteger(as: UInt32.self) else { throw invalid() }
            return .double(Double(Float(bitPattern: v)))
        case OID.float8:
            guard count == 8, let v = bytes.readInteger(as: UInt64.self) else { throw invalid() }
            return .double(Double(bitPattern: v))
        case OID.bytea:
            return .blob(bytes.readBytes(length: count) ?? [])
        case OID.date:
            guard count == 4, let v = bytes.readInteger(as: Int32.self) else { throw invalid() }
            if DateTime.isInfinite(date: v) { return .date(v) }
            guard let days = Int32(exactly: Int64(v) + epochDays) else { throw invalid() }
            return .date(days)
        case OID.timestamp, OID.timestamptz:
            guard count == 8, let v = bytes.readInteger(as: Int64.self) else { throw invalid() }
            let (micros, overflow) = DateTime.isInfinite(timestamp: v) ? (v, false) : v.addingReportingOverflow(epochMicros)
            guard !overflow else { throw invalid() }
            return oid == OID.timestamp ? .timestamp(micros) : .timestamptz(micros)
        case OID.numeric:
            guard let text = NumericWire.decode(&bytes) else { throw invalid() }
            return try convert(.text(text), to: .numeric)
        case OID.uuid:
            guard count == 16, let raw = bytes.readBytes(length: 16) else { throw invalid() }
            let hex = raw.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
            return try convert(.text(hex), to: .uuid)
        case OID.jsonb:
            guard bytes.readInteger(as: UInt8.self) == 1, let text = bytes.readString(length: bytes.readableBytes) else { throw invalid() }
            return try convert(.text(text), to: .jsonb)
        default:
            // Text types and anything else: the bytes as UTF-8 text, cast by the engine.
            guard let text = bytes.readString(length: count) else { throw invalid() }
            return .text(text)
        }
    }

    private static func convert(_ value: Value, to type: SQLType) throws -> Value {
        do {
            return try value.cast(to: type)
        } catch let error as DatabaseError {
            throw WireError(sqlState: error.sqlState, message: error.message)
        }
    }
}

/// NUMERIC's binary form: Int16 ndigits, Int16 weight, UInt16 sign (0 positive, 0x4000
/// negative, 0xC000 NaN), Int16 dscale, then ndigits base-10000 digits, most significant first;
/// the value is Σ digit[i] × 10000^(weight − i).
enum NumericWire {
    static func encode(_ text: String) -> ByteBuffer? {
        var buffer = ByteBuffer()
        if text == "NaN" {
            buffer.writeInteger(Int16(0)); buffer.writeInteger(Int16(0))
            buffer.writeInteger(UInt16(0xC000)); buffer.writeInteger(Int16(0))
            return buffer
        }
        var chars = Substring(text)
        let negative = chars.first == "-"
        if negative { chars = chars.dropFirst() }
        let parts = chars.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = parts.first,
              whole.allSatisfy(\.isASCII), whole.allSatisfy(\.isNumber) else { return nil }
        let fraction = parts.count == 2 ? parts[1] : ""
        guard fraction.allSatisfy(\.isASCII), fraction.allSatisfy(\.isNumber) else { return nil }
        // Pad the whole part on the left and the fraction on the right to groups of four.
        let wholeDigits = Array(whole.utf8).map { Int16($0 - 48) }
        let fractionDigits = Array(fraction.utf8).map { Int16($0 - 48) }
        let leftPad = (4 - wholeDigits.count % 4) % 4
        let rightPad = (4 - fractionDigits.count % 4) % 4
        let all = [Int16](repeating: 0, count: leftPad) + wholeDigits + fractionDigits + [Int16](repeating: 0, count: rightPad)
        var groups: [Int16] = []
        var i = 0
        while i + 3 < all.count {
            groups.append(all[i] * 1000 + all[i + 1] * 100 + all[i + 2] * 10 + all[i + 3])
            i += 4
        }
        var weight = (leftPad + wholeDigits.count) / 4 - 1
        // Drop leading and trailing zero groups.
        while let first = groups.first, first == 0 { groups.removeFirst(); weight -= 1 }
        while let last = groups.last, last == 0 { groups.removeLast() }
        if groups.isEmpty { weight = 0 }
        guard groups.count <= Int(Int16.max), let weight16 = Int16(exactly: weight),
              let scale = Int16(exactly: fractionDigits.count) else { return nil }
        buffer.writeInteger(Int16(groups.count))
        buffer.writeInteger(weight16)
        buffer.writeInteger(UInt16(negative && !groups.isEmpty ? 0x4000 : 0))
        buffer.writeInteger(scale)
        for g in groups { buffer.writeInteger(g) }
        return buffer
    }

    static func decode(_ buffer: inout ByteBuffer) -> String? {
        guard let count = buffer.readInteger(as: Int16.self), count >= 0,
              let weight = buffer.readInteger(as: Int16.self),
              let sign = buffer.readInteger(as: UInt16.self),
              let scale = buffer.readInteger(as: Int16.self), scale >= 0, scale <= 1000,
              buffer.readableBytes == Int(count) * 2 else { return nil }
        if sign == 0xC000 { return "NaN" }
        guard sign == 0 || sign == 0x4000, weight >= -1000, weight <= 1000 else { return nil }
        var groups: [Int] = []
        for _ in 0..<Int(count) {
            guard let g = buffer.readInteger(as: Int16.self), g >= 0, g < 10_000 else { return nil }
            groups.append(Int(g))
        }
        // Digits of the whole part: groups 0…weight; of the fraction: the rest, then `scale` digits.
        var whole = ""
        if weight >= 0 {
            for i in 0...Int(weight) {
                let g = i < groups.count ? groups[i] : 0
                let s = String(g)
                whole += i == 0 ? s : String(repeating: "0", count: 4 - s.count) + s
            }
        } else {
            whole = "0"
        }
        var fraction = ""
        if scale > 0 {
            var position = Int(weight) + 1
            // Leading zero groups between the point and the first digit group.
            while fraction.count < Int(scale) {
                let g = position >= 0 && position < groups.count ? groups[position] : 0
                let s = String(g)
                fraction += String(repeating: "0", count: 4 - s.count) + s
                position += 1
            }
            fraction = String(fraction.prefix(Int(scale)))
        }
        let digits = scale > 0 ? whole + "." + fraction : whole
        return (sign == 0x4000 ? "-" : "") + digits
    }
}
