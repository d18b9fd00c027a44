// Encodes an `Encodable` record into columns and values for `insert`, `update` and `save`:
// the record's keyed container gives one column per coding key (renamed by the column encoding
// strategy), in the order the record encodes them. Values convert as Value+Foundation.swift
// lists; nil is NULL (also for optionals that the synthesized `encode(to:)` skips through
// `encodeIfPresent`); a value that encodes as a container (a nested struct, an array, a
// dictionary) is stored as JSON text, written by JSONEncoder with sorted keys and otherwise its
// default strategies, which is what the row decoder reads back.
//
// `Encoder`'s container calls cannot throw, so a record that is not a keyed container, or that
// asks for a nested or super encoder, records the error and `encode` throws it afterwards.

import BorealisSQL
import BorealisStorage

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

struct RecordEncoder {
    /// The columns of `record`, in encoding order, and their values.
    static func encode<T: Encodable>(_ record: T, strategy: DatabaseColumnEncodingStrategy) throws -> [(column: String, value: Value)] {
        let storage = Storage(strategy: strategy)
        try record.encode(to: RowEncoder(storage: storage))
        if let error = storage.error { throw error }
        return storage.columns
    }

    /// What the containers write to; one per `encode` call, used on the caller's thread only.
    final class Storage {
        let strategy: DatabaseColumnEncodingStrategy
        var columns: [(column: String, value: Value)] = []
        var error: DatabaseError?

        init(strategy: DatabaseColumnEncodingStrategy) { self.strategy = strategy }

        func set(_ key: CodingKey, _ value: Value) {
            let column = strategy.column(for: key.stringValue)
            if let existing = columns.firstIndex(where: { $0.column == column }) {
                columns[existing].value = value
            } else {
                columns.append((column, value))
            }
        }

        func fail(_ message: String) {
            if error == nil { error = DatabaseError(.mismatch, sqlState: SQLState.datatypeMismatch, message) }
        }
    }

    struct RowEncoder: Encoder {
        let storage: Storage
        var codingPath: [CodingKey] { [] }
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
            KeyedEncodingContainer(KeyedRow(storage: storage))
        }
        func unkeyedContainer() -> UnkeyedEncodingContainer {
            storage.fail("a record must encode as a keyed container (one column per key), not an array")
            return Ignored()
        }
        func singleValueContainer() -> SingleValueEncodingContainer {
            storage.fail("a record must encode as a keyed container (one column per key), not a single value")
            return Ignored()
        }
    }

    struct KeyedRow<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let storage: Storage
        var codingPath: [CodingKey] { [] }

        mutating func encodeNil(forKey key: Key) throws { storage.set(key, .null) }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            storage.set(key, try columnValue(value, column: storage.strategy.column(for: key.stringValue)))
        }
        // The synthesized encode(to:) skips nil optionals through these; a record's nil is NULL.
        mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
            if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
        }
        mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws { try encodeOptional(value, key) }
        mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws { try encodeOptional(value, key) }
        mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws { try encodeOptional(value, key) }
        mutating func encodeIfPresent(_ value: Float?, forKey key: Key) throws { try encodeOptional(value, key) }
        mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws { try encodeOptional(value, key) }
        mutating func encodeIfPresent(_ value: Int8?, forKey key: Key) throws { try encodeOptional(value, key) }
        mutating func encodeIfPresent(_ value: Int16?, forKey key: Key) throws { try encodeOptional(value, key) }
        mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws { try encodeOptional(value, key) }
        mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws { try encodeOptional(value, key) }
        mutating func encodeIfPresent(_ value: UInt?, forKey key: Key) throws { try encodeOptional(value, key) }
        mutating func encodeIfPresent(_ value: UInt8?, forKey key: Key) throws { try encodeOptional(value, key) }
        mutating func encodeIfPresent(_ value: UInt16?, forKey key: Key) throws { try encodeOptional(value, key) }
        mutating func encodeIfPresent(_ value: UInt32?, forKey key: Key) throws { try encodeOptional(value, key) }
        mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws { try encodeOptional(value, key) }

        private func encodeOptional<T: ValueRepresentable & Encodable>(_ value: T?, _ key: Key) throws {
            storage.set(key, try columnValue(value, column: storage.strategy.column(for: key.stringValue)))
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
            storage.fail("column \"\(key.stringValue)\": nested containers are not supported; give the property a Codable type (stored as JSON)")
            return KeyedEncodingContainer(KeyedRow<NestedKey>(storage: Storage(strategy: .useDefaultKeys)))
        }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> UnkeyedEncodingContainer {
            storage.fail("column \"\(key.stringValue)\": nested containers are not supported; give the property a Codable type (stored as JSON)")
            return Ignored()
        }
        mutating func superEncoder() -> Encoder {
            storage.fail("records do not support super encoders")
            return RowEncoder(storage: Storage(strategy: .useDefaultKeys))
        }
        mutating func superEncoder(forKey key: Key) -> Encoder { superEncoder() }
    }

    /// One property's value: a `ValueRepresentable` converts directly; anything else encodes
    /// through a single-value probe (enums with raw values, wrappers), or as JSON text when it
    /// asks for a container.
    static func columnValue<T: Encodable>(_ value: T, column: String) throws -> Value {
        if let representable = value as? any ValueRepresentable {
            do {
                return try representable.databaseValue
            } catch var error as DatabaseError {
                error.message = "column \"\(column)\": " + error.message
                throw error
            }
        }
        if let optional = value as? any OptionalEncodable, optional.isNil { return .null }
        let probe = SingleValue(column: column)
        do {
            try value.encode(to: probe)
        } catch is NestedValue {}
        if probe.result.nested {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return .text(String(decoding: try encoder.encode(value), as: UTF8.self))
        }
        guard let encoded = probe.result.value else {
            throw DatabaseError(.mismatch, sqlState: SQLState.datatypeMismatch, "column \"\(column)\": \(T.self) encoded no value")
        }
        return encoded
    }

    /// Encodes one value that is not `ValueRepresentable`: what it writes to its single-value
    /// container is the column's value; asking for a keyed or unkeyed container marks it nested
    /// (and its first write throws `NestedValue` to stop early, since container calls cannot).
    final class SingleValue: Encoder, SingleValueEncodingContainer {
        final class Result {
            var value: Value?
            var nested = false
        }
        let column: String
        let result = Result()
        var codingPath: [CodingKey] { [] }
        var userInfo: [CodingUserInfoKey: Any] { [:] }
        init(column: String) { self.column = column }

        func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
            result.nested = true
            return KeyedEncodingContainer(Nested<Key>())
        }
        func unkeyedContainer() -> UnkeyedEncodingContainer {
            result.nested = true
            return NestedUnkeyed()
        }
        func singleValueContainer() -> SingleValueEncodingContainer { self }

        func encodeNil() throws { result.value = .null }
        func encode(_ value: Bool) throws { result.value = try columnValue(value, column: column) }
        func encode(_ value: String) throws { result.value = try columnValue(value, column: column) }
        func encode(_ value: Double) throws { result.value = try columnValue(value, column: column) }
        func encode(_ value: Float) throws { result.value = try columnValue(value, column: column) }
        func encode(_ value: Int) throws { result.value = try columnValue(value, column: column) }
        func encode(_ value: Int8) throws { result.value = try columnValue(value, column: column) }
        func encode(_ value: Int16) throws { result.value = try columnValue(value, column: column) }
        func encode(_ value: Int32) throws { result.value = try columnValue(value, column: column) }
        func encode(_ value: Int64) throws { result.value = try columnValue(value, column: column) }
        func encode(_ value: UInt) throws { result.value = try columnValue(value, column: column) }
        func encode(_ value: UInt8) throws { result.value = try columnValue(value, column: column) }
        func encode(_ value: UInt16) throws { result.value = try columnValue(value, column: column) }
        func encode(_ value: UInt32) throws { result.value = try columnValue(value, column: column) }
        func encode(_ value: UInt64) throws { result.value = try columnValue(value, column: column) }
        func encode<T: Encodable>(_ value: T) throws { result.value = try columnValue(value, column: column) }
    }

    /// Stops the probe of a value that turned out to be a container: it is then stored as JSON.
    struct NestedValue: Error {}

    /// A keyed container of a nested value: its first write reveals the nesting.
    struct Nested<Key: CodingKey>: KeyedEncodingContainerProtocol {
        var codingPath: [CodingKey] { [] }
        mutating func encodeNil(forKey key: Key) throws { throw NestedValue() }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { throw NestedValue() }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
            KeyedEncodingContainer(Nested<NestedKey>())
        }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> UnkeyedEncodingContainer { NestedUnkeyed() }
        mutating func superEncoder() -> Encoder { SingleValue(column: "") }
        mutating func superEncoder(forKey key: Key) -> Encoder { SingleValue(column: "") }
    }

    struct NestedUnkeyed: UnkeyedEncodingContainer {
        var codingPath: [CodingKey] { [] }
        var count: Int { 0 }
        mutating func encodeNil() throws { throw NestedValue() }
        mutating func encode<T: Encodable>(_ value: T) throws { throw NestedValue() }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            KeyedEncodingContainer(Nested<NestedKey>())
        }
        mutating func nestedUnkeyedContainer() -> UnkeyedEncodingContainer { NestedUnkeyed() }
        mutating func superEncoder() -> Encoder { SingleValue(column: "") }
    }

    /// Accepts and drops everything (after `Storage.fail` recorded why).
    struct Ignored: UnkeyedEncodingContainer, SingleValueEncodingContainer {
        var codingPath: [CodingKey] { [] }
        var count: Int { 0 }
        mutating func encodeNil() throws {}
        mutating func encode<T: Encodable>(_ value: T) throws {}
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            KeyedEncodingContainer(KeyedRow<NestedKey>(storage: Storage(strategy: .useDefaultKeys)))
        }
        mutating func nestedUnkeyedContainer() -> UnkeyedEncodingContainer { Ignored() }
        mutating func superEncoder() -> Encoder { RowEncoder(storage: Storage(strategy: .useDefaultKeys)) }
    }
}

/// Lets the encoder see that a generic value is a nil optional of a type it cannot convert.
protocol OptionalEncodable { var isNil: Bool { get } }
extension Optional: OptionalEncodable { var isNil: Bool { self == nil } }
