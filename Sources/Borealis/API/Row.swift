// Rows with typed access by position and by column name, and decoding rows into `Decodable`
// types (columns match coding keys by name).

import FoundationEssentials

/// One result row.
///
/// ```swift
/// for row in try db.query("SELECT id, name FROM player") {
///     let id: Int = try row.get("id")
///     let name: String? = try row.get(1)
/// }
/// ```
public struct Row: Sendable {
    public let columns: [String]
    public let values: [Value]

    public subscript(index: Int) -> Value { values[index] }

    /// The value of the first column with this name, or nil when there is none.
    public subscript(name: String) -> Value? {
        columns.firstIndex(of: name).map { values[$0] }
    }

    public func get<T: ValueConvertible>(_ index: Int, as type: T.Type = T.self) throws -> T {
        guard index >= 0 && index < values.count else {
            throw DatabaseError(.range, sqlState: "22023", "column index \(index) is out of range (the row has \(values.count))")
        }
        return try T.decode(values[index], column: columns[index])
    }

    public func get<T: ValueConvertible>(_ name: String, as type: T.Type = T.self) throws -> T {
        guard let index = columns.firstIndex(of: name) else {
            throw DatabaseError(.error, sqlState: "42703", "the result has no column \"\(name)\"")
        }
        return try get(index)
    }
}

/// Swift types a `Value` converts to.
public protocol ValueConvertible {
    static func decode(_ value: Value, column: String) throws -> Self
}

private func mismatch(_ value: Value, _ type: String, _ column: String) -> DatabaseError {
    DatabaseError(.mismatch, sqlState: "42804", "column \"\(column)\" holds \(value.typeName) \(value), not \(type)")
}

extension Int64: ValueConvertible {
    public static func decode(_ value: Value, column: String) throws -> Int64 {
        switch value {
        case .integer(let i): return i
        case .numeric(let n) where n.isIntegral: return Int64(n.doubleValue)
        default: throw mismatch(value, "an integer", column)
        }
    }
}

extension Int: ValueConvertible {
    public static func decode(_ value: Value, column: String) throws -> Int { Int(try Int64.decode(value, column: column)) }
}

extension Double: ValueConvertible {
    public static func decode(_ value: Value, column: String) throws -> Double {
        guard let d = value.doubleValue else { throw mismatch(value, "a number", column) }
        return d
    }
}

extension String: ValueConvertible {
    public static func decode(_ value: Value, column: String) throws -> String {
        if value.isNull { throw mismatch(value, "text", column) }
        if case .blob = value { throw mismatch(value, "text", column) }
        return value.description
    }
}

extension Bool: ValueConvertible {
    public static func decode(_ value: Value, column: String) throws -> Bool {
        guard !value.isNull, let b = try? value.truth() else { throw mismatch(value, "a boolean", column) }
        return b
    }
}

extension Data: ValueConvertible {
    public static func decode(_ value: Value, column: String) throws -> Data {
        guard case .blob(let bytes) = value else { throw mismatch(value, "bytes", column) }
        return Data(bytes)
    }
}

extension Value: ValueConvertible {
    public static func decode(_ value: Value, column: String) throws -> Value { value }
}

extension Optional: ValueConvertible where Wrapped: ValueConvertible {
    public static func decode(_ value: Value, column: String) throws -> Wrapped? {
        value.isNull ? nil : try Wrapped.decode(value, column: column)
    }
}

// MARK: Decodable rows

struct RowDecoder: Decoder {
    let row: Row
    var codingPath: [CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] = [:]

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(KeyedRow(row: row))
    }

    func unkeyedContainer() throws -> UnkeyedDecodingContainer {
        throw DecodingError.typeMismatch([Value].self, .init(codingPath: [], debugDescription: "rows decode as keyed containers (by column name)"))
    }

    func singleValueContainer() throws -> SingleValueDecodingContainer {
        throw DecodingError.typeMismatch(Value.self, .init(codingPath: [], debugDescription: "rows decode as keyed containers (by column name)"))
    }

    struct KeyedRow<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let row: Row
        var codingPath: [CodingKey] = []
        var allKeys: [Key] { row.columns.compactMap { Key(stringValue: $0) } }

        func contains(_ key: Key) -> Bool { row.columns.contains(key.stringValue) }

        private func value(_ key: Key) throws -> Value {
            guard let v = row[key.stringValue] else {
                throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "the result has no column \"\(key.stringValue)\""))
            }
            return v
        }

        func decodeNil(forKey key: Key) throws -> Bool { try value(key).isNull }
        func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try Bool.decode(value(key), column: key.stringValue) }
        func decode(_ type: String.Type, forKey key: Key) throws -> String { try String.decode(value(key), column: key.stringValue) }
        func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try Double.decode(value(key), column: key.stringValue) }
        func decode(_ type: Float.Type, forKey key: Key) throws -> Float { Float(try Double.decode(value(key), column: key.stringValue)) }
        func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try Int.decode(value(key), column: key.stringValue) }
        func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try narrow(key) }
        func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try narrow(key) }
        func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try narrow(key) }
        func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try Int64.decode(value(key), column: key.stringValue) }
        func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try narrow(key) }
        func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try narrow(key) }
        func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try narrow(key) }
        func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try narrow(key) }
        func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try narrow(key) }

        private func narrow<T: FixedWidthInteger>(_ key: Key) throws -> T {
            let wide = try Int64.decode(value(key), column: key.stringValue)
            guard let v = T(exactly: wide) else {
                throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "\(wide) does not fit \(T.self)")
            }
            return v
        }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            let v = try value(key)
            if T.self == Data.self { return try Data.decode(v, column: key.stringValue) as! T }
            if T.self == Value.self { return v as! T }
            if T.self == Date.self, let instant = v.instant {
                return Date(timeIntervalSince1970: Double(instant) / 1e6) as! T
            }
            if T.self == Decimal.self, case .numeric(let n) = v { return n.value as! T }
            return try T(from: SingleValue(value: v, column: key.stringValue))
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            throw DecodingError.typeMismatch(type, .init(codingPath: codingPath, debugDescription: "nested values are not supported in rows"))
        }
        func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer {
            throw DecodingError.typeMismatch([Any].self, .init(codingPath: codingPath, debugDescription: "nested values are not supported in rows"))
        }
        func superDecoder() throws -> Decoder { RowDecoder(row: row) }
        func superDecoder(forKey key: Key) throws -> Decoder { RowDecoder(row: row) }
    }

    /// Decodes one column value into a type that decodes from a single value (enums with raw
    /// values, wrappers).
    struct SingleValue: Decoder, SingleValueDecodingContainer {
        let value: Value
        let column: String
        var codingPath: [CodingKey] = []
        var userInfo: [CodingUserInfoKey: Any] = [:]
        func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
            throw DecodingError.typeMismatch(type, .init(codingPath: [], debugDescription: "column \(column) is a single value"))
        }
        func unkeyedContainer() throws -> UnkeyedDecodingContainer {
            throw DecodingError.typeMismatch([Any].self, .init(codingPath: [], debugDescription: "column \(column) is a single value"))
        }
        func singleValueContainer() throws -> SingleValueDecodingContainer { self }
        func decodeNil() -> Bool { value.isNull }
        func decode(_ type: Bool.Type) throws -> Bool { try Bool.decode(value, column: column) }
        func decode(_ type: String.Type) throws -> String { try String.decode(value, column: column) }
        func decode(_ type: Double.Type) throws -> Double { try Double.decode(value, column: column) }
        func decode(_ type: Float.Type) throws -> Float { Float(try Double.decode(value, column: column)) }
        func decode(_ type: Int.Type) throws -> Int { try Int.decode(value, column: column) }
        func decode(_ type: Int64.Type) throws -> Int64 { try Int64.decode(value, column: column) }
        func decode<T: Decodable>(_ type: T.Type) throws -> T { try T(from: self) }
        func decode(_ type: Int8.Type) throws -> Int8 { try narrow() }
        func decode(_ type: Int16.Type) throws -> Int16 { try narrow() }
        func decode(_ type: Int32.Type) throws -> Int32 { try narrow() }
        func decode(_ type: UInt.Type) throws -> UInt { try narrow() }
        func decode(_ type: UInt8.Type) throws -> UInt8 { try narrow() }
        func decode(_ type: UInt16.Type) throws -> UInt16 { try narrow() }
        func decode(_ type: UInt32.Type) throws -> UInt32 { try narrow() }
        func decode(_ type: UInt64.Type) throws -> UInt64 { try narrow() }
        private func narrow<T: FixedWidthInteger>() throws -> T {
            let wide = try Int64.decode(value, column: column)
            guard let v = T(exactly: wide) else { throw mismatch(value, "\(T.self)", column) }
            return v
        }
    }
}
