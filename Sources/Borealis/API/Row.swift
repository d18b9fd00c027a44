// Rows with typed access by position and by column name, and decoding rows into `Decodable`
// types: columns match coding keys by name (after the column decoding strategy), values convert
// as Value+Foundation.swift lists, and a nested `Decodable` (a struct, an array) is read from
// the JSON text the record encoder wrote for it.

import FoundationEssentials
import BorealisSQL
import BorealisStorage

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
            throw DatabaseError(.range, sqlState: SQLState.invalidParameterValue, "column index \(index) is out of range (the row has \(values.count))")
        }
        return try T.decode(values[index], column: columns[index])
    }

    public func get<T: ValueConvertible>(_ name: String, as type: T.Type = T.self) throws -> T {
        guard let index = columns.firstIndex(of: name) else {
            throw DatabaseError(.error, sqlState: SQLState.undefinedColumn, "the result has no column \"\(name)\"")
        }
        return try get(index)
    }
}

/// Swift types a `Value` converts to.
public protocol ValueConvertible {
    static func decode(_ value: Value, column: String) throws -> Self
}

func mismatch(_ value: Value, _ type: String, _ column: String) -> DatabaseError {
    DatabaseError(.mismatch, sqlState: SQLState.datatypeMismatch, "column \"\(column)\" holds \(value.typeName) \(value), not \(type)")
}

extension Int64: ValueConvertible {
    public static func decode(_ value: Value, column: String) throws -> Int64 {
        switch value {
        case .integer(let i): return i
        case .numeric(let n) where n.isIntegral:
            // Through the exact digits: a Double would round 2^63 - 1 up and trap converting back.
            guard let i = Int64(n.rounded(to: 0).description) else {
                throw DatabaseError(.range, sqlState: SQLState.numericValueOutOfRange, "column \"\(column)\" holds \(n), out of range for an integer")
            }
            return i
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

extension Row {
    /// This row decoded into `type`, columns matched to coding keys by name after
    /// `columnDecodingStrategy`.
    ///
    /// ```swift
    /// struct Player: Decodable { var id: Int64; var firstName: String; var joinedAt: Date }
    /// let player = try row.decode(Player.self, columnDecodingStrategy: .convertFromSnakeCase)
    /// ```
    public func decode<T: Decodable>(_ type: T.Type = T.self,
                                     columnDecodingStrategy: DatabaseColumnDecodingStrategy = .useDefaultKeys) throws -> T {
        try T(from: RowDecoder(row: self, keys: columnDecodingStrategy.keys(for: columns)))
    }
}

extension QueryResult {
    /// The rows decoded into `type` (the column names converted once for all of them).
    func decoded<T: Decodable>(as type: T.Type, columnDecodingStrategy: DatabaseColumnDecodingStrategy) throws -> [T] {
        let keys = columnDecodingStrategy.keys(for: columns)
        return try rows.map { try T(from: RowDecoder(row: Row(columns: columns, values: $0), keys: keys)) }
    }
}

/// Decodes one row: a keyed container whose keys are the columns (renamed by the strategy).
struct RowDecoder: Decoder {
    let row: Row
    /// The coding-key name of each column, in column order.
    let keys: [String]
    var codingPath: [CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(row: Row, keys: [String]? = nil) {
        self.row = row
        self.keys = keys ?? row.columns
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(KeyedRow(decoder: self))
    }

    func unkeyedContainer() throws -> UnkeyedDecodingContainer {
        throw DecodingError.typeMismatch([Value].self, .init(codingPath: [], debugDescription: "rows decode as keyed containers (by column name)"))
    }

    func singleValueContainer() throws -> SingleValueDecodingContainer {
        throw DecodingError.typeMismatch(Value.self, .init(codingPath: [], debugDescription: "rows decode as keyed containers (by column name)"))
    }

    struct KeyedRow<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let decoder: RowDecoder
        var codingPath: [CodingKey] { decoder.codingPath }
        var allKeys: [Key] { decoder.keys.compactMap { Key(stringValue: $0) } }

        func contains(_ key: Key) -> Bool { decoder.keys.contains(key.stringValue) }

        /// The value and the real column name behind `key`.
        private func column(_ key: Key) throws -> (value: Value, name: String) {
            guard let index = decoder.keys.firstIndex(of: key.stringValue) else {
                throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "the result has no column \"\(key.stringValue)\""))
            }
            return (decoder.row.values[index], decoder.row.columns[index])
        }

        private func value<T: Decodable>(_ type: T.Type, _ key: Key) throws -> T {
            let (value, name) = try column(key)
            return try decodeColumn(type, value, name)
        }

        func decodeNil(forKey key: Key) throws -> Bool { try column(key).value.isNull }
        func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try value(type, key) }
        func decode(_ type: String.Type, forKey key: Key) throws -> String { try value(type, key) }
        func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try value(type, key) }
        func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try value(type, key) }
        func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try value(type, key) }
        func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try value(type, key) }
        func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try value(type, key) }
        func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try value(type, key) }
        func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try value(type, key) }
        func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try value(type, key) }
        func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try value(type, key) }
        func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try value(type, key) }
        func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try value(type, key) }
        func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try value(type, key) }
        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try value(type, key) }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            throw DecodingError.typeMismatch(type, .init(codingPath: codingPath, debugDescription: "a column is one value: decode a nested Decodable type (stored as JSON) instead"))
        }
        func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer {
            throw DecodingError.typeMismatch([Any].self, .init(codingPath: codingPath, debugDescription: "a column is one value: decode an array type (stored as JSON) instead"))
        }
        func superDecoder() throws -> Decoder { decoder }
        func superDecoder(forKey key: Key) throws -> Decoder { decoder }
    }

    /// Decodes one column value into a type that decodes from a single value (enums with raw
    /// values, wrappers). A type that asks it for a container is a nested value: see
    /// `decodeColumn`.
    struct SingleValue: Decoder, SingleValueDecodingContainer {
        let value: Value
        let column: String
        var codingPath: [CodingKey] = []
        var userInfo: [CodingUserInfoKey: Any] { [:] }
        func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> { throw NestedValue() }
        func unkeyedContainer() throws -> UnkeyedDecodingContainer { throw NestedValue() }
        func singleValueContainer() throws -> SingleValueDecodingContainer { self }
        func decodeNil() -> Bool { value.isNull }
        func decode(_ type: Bool.Type) throws -> Bool { try decodeColumn(type, value, column) }
        func decode(_ type: String.Type) throws -> String { try decodeColumn(type, value, column) }
        func decode(_ type: Double.Type) throws -> Double { try decodeColumn(type, value, column) }
        func decode(_ type: Float.Type) throws -> Float { try decodeColumn(type, value, column) }
        func decode(_ type: Int.Type) throws -> Int { try decodeColumn(type, value, column) }
        func decode(_ type: Int8.Type) throws -> Int8 { try decodeColumn(type, value, column) }
        func decode(_ type: Int16.Type) throws -> Int16 { try decodeColumn(type, value, column) }
        func decode(_ type: Int32.Type) throws -> Int32 { try decodeColumn(type, value, column) }
        func decode(_ type: Int64.Type) throws -> Int64 { try decodeColumn(type, value, column) }
        func decode(_ type: UInt.Type) throws -> UInt { try decodeColumn(type, value, column) }
        func decode(_ type: UInt8.Type) throws -> UInt8 { try decodeColumn(type, value, column) }
        func decode(_ type: UInt16.Type) throws -> UInt16 { try decodeColumn(type, value, column) }
        func decode(_ type: UInt32.Type) throws -> UInt32 { try decodeColumn(type, value, column) }
        func decode(_ type: UInt64.Type) throws -> UInt64 { try decodeColumn(type, value, column) }
        func decode<T: Decodable>(_ type: T.Type) throws -> T { try decodeColumn(type, value, column) }
    }

    /// Thrown by `SingleValue` when the type being decoded wants a container.
    struct NestedValue: Error {}
}

/// One column value as `T`: through `ValueConvertible` when `T` conforms (every scalar, Date,
/// Decimal, UUID, Data, Value, and optionals of them), else from a single value, else — for a
/// type that decodes from a container — from the JSON text in the column.
func decodeColumn<T: Decodable>(_ type: T.Type, _ value: Value, _ column: String) throws -> T {
    if let convertible = T.self as? any ValueConvertible.Type {
        return try convertible.decode(value, column: column) as! T
    }
    do {
        return try T(from: RowDecoder.SingleValue(value: value, column: column))
    } catch is RowDecoder.NestedValue {
        let json: [UInt8]
        switch value {
        case .text(let text): json = Array(text.utf8)
        case .blob(let bytes): json = bytes
        default: throw mismatch(value, "JSON text for \(T.self)", column)
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(json))
        } catch {
            throw DatabaseError(.mismatch, sqlState: SQLState.invalidTextRepresentation, "column \"\(column)\" does not hold a \(T.self) as JSON: \(error)")
        }
    }
}
