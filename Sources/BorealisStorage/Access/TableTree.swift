// A table: a B+tree keyed by a 64-bit row id. Keys are encoded order-preservingly (big-endian
// with the sign bit flipped) so that memcmp order is numeric order.

/// A B+tree keyed by 64-bit row ids.
///
/// ```swift
/// let table = try TableTree.create(in: txn)
/// try table.put(42, Array("row".utf8), in: txn)
/// ```
public struct TableTree: Sendable, Hashable {
    public let tree: BTree

    public init(root: UInt64) { tree = BTree(root: root) }
    public var root: UInt64 { tree.root }

    public static func create(in txn: StorageTransaction) throws -> TableTree {
        TableTree(root: try BTree.create(in: txn).root)
    }

    @inline(__always)
    public static func encode(_ rowID: Int64) -> [UInt8] {
        withKey(rowID) { Array($0) }
    }

    /// Calls `body` with the key of `rowID` (as `encode` makes it) on the stack.
    @inline(__always)
    static func withKey<T>(_ rowID: Int64, _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        try withUnsafeBytes(of: (UInt64(bitPattern: rowID) ^ (1 << 63)).bigEndian, body)
    }

    /// Appends the key of `rowID` (as `encode` makes it) without an array of its own.
    @inline(__always)
    package static func appendKey(_ rowID: Int64, to out: inout [UInt8]) {
        withKey(rowID) { out.append(contentsOf: $0) }
    }

    package static func decode(_ key: UnsafeRawBufferPointer) throws -> Int64 {
        guard key.count == 8 else { throw DatabaseError.corrupt("table key of \(key.count) bytes (expected 8)") }
        return Int64(bitPattern: UInt64(bigEndian: key.loadUnaligned(as: UInt64.self)) ^ (1 << 63))
    }

    public static func decode(_ key: [UInt8]) throws -> Int64 {
        guard key.count == 8 else { throw DatabaseError.corrupt("table key of \(key.count) bytes (expected 8)") }
        let raw = key.withUnsafeBytes { UInt64(bigEndian: $0.loadUnaligned(as: UInt64.self)) }
        return Int64(bitPattern: raw ^ (1 << 63))
    }

    public func get(_ rowID: Int64, in txn: StorageTransaction) throws -> [UInt8]? {
        try tree.get(Self.encode(rowID), in: txn)
    }

    /// Calls `body` with the row's stored bytes in place; nil when the row does not exist.
    package func withRow<T>(_ rowID: Int64, in txn: StorageTransaction, _ body: (UnsafeRawBufferPointer) throws -> T) throws -> T? {
        try tree.withValue(Self.encode(rowID), in: txn, body)
    }

    public func put(_ rowID: Int64, _ value: [UInt8], in txn: StorageTransaction) throws {
        try Self.withKey(rowID) { _ = try tree.put(rawKey: $0, value, replacing: true, in: txn) }
    }

    /// Inserts a new row; false (and nothing changed) when the row id is taken.
    public func insert(_ rowID: Int64, _ value: [UInt8], in txn: StorageTransaction) throws -> Bool {
        try Self.withKey(rowID) { try tree.put(rawKey: $0, value, replacing: false, in: txn) }
    }

    @discardableResult
    public func delete(_ rowID: Int64, in txn: StorageTransaction) throws -> Bool {
        try tree.delete(Self.encode(rowID), in: txn)
    }

    /// The largest row id, or nil for an empty table.
    public func maxRowID(in txn: StorageTransaction) throws -> Int64? {
        var cursor = tree.cursor(in: txn)
        guard try cursor.last() else { return nil }
        return try Self.decode(cursor.key)
    }
}
