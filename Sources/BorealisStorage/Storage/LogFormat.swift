// Codecs for the log's on-disk formats (docs/storage.md §2): segment names and headers, record
// framing with the chained CRC32C, and the commit and log-mark records' payloads.
//
// Segment header (4096 bytes, of which 40 or 52 used):
//   0 u64 magic "BRLSLOG1" or "BRLSLOG2" · 8 u64 database id · 16 u64 start LSN · 24 u64 salt ·
//   32 u32 capacity (record bytes) ·
//   BRLSLOG1: 36 u32 CRC32C of bytes 0..<36
//   BRLSLOG2: 36 u32 previous segment's last chained CRC · 40 u64 sequence · 48 u32 CRC32C of 0..<48
// Record: 0 u32 payload length n · 4 u32 chained CRC32C · 8 u8 type · 9 payload[n]
//   CRC = crc32c(seed: previous record's CRC or seed(salt), lsn ‖ bytes[0..<4] ‖ bytes[8..<9+n])
// Log mark payload: 0 u64 synced end · 8 u8 flags (bit 0: seal, the segment's last record;
//   bit 1: abandons the transaction in progress, cut off by a crash)

enum LogRecordType: UInt8 {
    case pageRedo = 1
    case commit = 2
    /// Not part of a transaction: a seal or a flush's synced end (`LogMark`).
    case mark = 3
}

enum LogFormat {
    static let segmentHeaderSize = 4096
    /// The largest segment capacity an engine uses (`StorageOptions.validate`): no segment,
    /// decompressed, is longer than the header and this.
    static let maximumSegmentCapacity = 1 << 30
    static let recordHeaderSize = 9
    static let segmentMagic: UInt64 = 0x3147_4F4C_534C_5242 // "BRLSLOG1" little-endian
    static let segmentMagic2: UInt64 = 0x3247_4F4C_534C_5242 // "BRLSLOG2"
    static let segmentSuffix = ".log"
    static let archiveDirectory = "archive"

    struct SegmentHeader: Equatable {
        /// What a `BRLSLOG2` header adds: where the segment sits in the chain of segments.
        struct Chain: Equatable {
            /// The chained checksum of the last record before the start LSN (0 for the first segment).
            var previousChecksum: UInt32
            /// The previous segment's sequence plus one (1 for the first, or after a BRLSLOG1 one).
            var sequence: UInt64
        }

        var databaseID: UInt64
        var startLSN: LSN
        var salt: UInt64
        var capacity: UInt32
        /// nil for a BRLSLOG1 header (written before issue 19).
        var chain: Chain?

        func encoded() -> [UInt8] {
            var writer = ByteWriter(capacity: LogFormat.segmentHeaderSize)
            writer.append(chain == nil ? LogFormat.segmentMagic : LogFormat.segmentMagic2)
            writer.append(databaseID)
            writer.append(startLSN)
            writer.append(salt)
            writer.append(capacity)
            if let chain {
                writer.append(chain.previousChecksum)
                writer.append(chain.sequence)
            }
            writer.append(CRC32C.checksum(writer.bytes))
            writer.bytes.append(contentsOf: repeatElement(0, count: LogFormat.segmentHeaderSize - writer.bytes.count))
            return writer.bytes
        }

        /// Decodes a header, or nil when it is not a valid one.
        static func decode(_ raw: UnsafeRawBufferPointer) -> SegmentHeader? {
            guard raw.count >= 52 else { return nil }
            let magic = raw.littleEndian(at: 0, as: UInt64.self)
            let crcOffset: Int
            switch magic {
            case LogFormat.segmentMagic: crcOffset = 36
            case LogFormat.segmentMagic2: crcOffset = 48
            default: return nil
            }
            guard raw.littleEndian(at: crcOffset, as: UInt32.self) == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<crcOffset]))
            else { return nil }
            return SegmentHeader(
                databaseID: raw.littleEndian(at: 8, as: UInt64.self),
                startLSN: raw.littleEndian(at: 16, as: UInt64.self),
                salt: raw.littleEndian(at: 24, as: UInt64.self),
                capacity: raw.littleEndian(at: 32, as: UInt32.self),
                chain: magic == LogFormat.segmentMagic ? nil
                    : Chain(previousChecksum: raw.littleEndian(at: 36, as: UInt32.self), sequence: raw.littleEndian(at: 40, as: UInt64.self)))
        }
    }

    static func segmentName(start: LSN) -> String {
        let hex = String(start, radix: 16)
        return String(repeating: "0", count: max(0, 16 - hex.count)) + hex + segmentSuffix
    }

    static func parseSegmentName(_ name: String) -> LSN? {
        guard name.hasSuffix(segmentSuffix) else { return nil }
        let stem = name.dropLast(segmentSuffix.count)
        guard stem.count == 16 else { return nil }
        return LSN(stem, radix: 16)
    }

    static func chainSeed(salt: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: salt ^ (salt >> 32))
    }

    /// The chained checksum of a record whose 9-byte header and payload are in `record`.
    @inline(__always)
    static func recordChecksum(previous: UInt32, lsn: LSN, record: UnsafeRawBufferPointer) -> UInt32 {
        var crc = withUnsafeBytes(of: lsn.littleEndian) { CRC32C.checksum($0, seed: previous) }
        crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: record[0..<4]), seed: crc)
        return CRC32C.checksum(UnsafeRawBufferPointer(rebasing: record[8...]), seed: crc)
    }

    /// Appends one framed record for `lsn` to `buffer`, returning its checksum (the next seed).
    static func appendRecord(to buffer: inout [UInt8], lsn: LSN, type: LogRecordType, payload: [UInt8], previous: UInt32) -> UInt32 {
        let start = buffer.count
        withUnsafeBytes(of: UInt32(payload.count).littleEndian) { buffer.append(contentsOf: $0) }
        buffer.append(contentsOf: [0, 0, 0, 0])
        buffer.append(type.rawValue)
        buffer.append(contentsOf: payload)
        let crc = buffer.withUnsafeMutableBytes { raw in
            let record = UnsafeMutableRawBufferPointer(rebasing: raw[start...])
            let crc = recordChecksum(previous: previous, lsn: lsn, record: UnsafeRawBufferPointer(record))
            record.storeLittleEndian(crc, at: 4)
            return crc
        }
        return crc
    }
}

/// The payload of a commit record.
struct CommitRecord: Equatable {
    var transactionID: UInt64
    var timestamp: Int64 // wall-clock microseconds since 1970
    var pageRecordCount: UInt64

    func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 24)
        writer.append(transactionID)
        writer.append(timestamp)
        writer.appendVarint(pageRecordCount)
        return writer.bytes
    }

    static func decode(_ raw: UnsafeRawBufferPointer) throws -> CommitRecord {
        var reader = ByteReader(raw, context: "commit record")
        let record = CommitRecord(
            transactionID: try reader.read(UInt64.self),
            timestamp: try reader.read(Int64.self),
            pageRecordCount: try reader.readVarint())
        guard reader.remaining == 0 else { throw DatabaseError.corrupt("commit record has trailing bytes") }
        return record
    }
}

/// The payload of a log mark: a seal (the last record of a full segment; the next segment
/// exists before it is durable) or a flush's note that every byte before `syncedEnd` was durable.
struct LogMark: Equatable {
    var syncedEnd: LSN
    var seal: Bool
    /// Written by the first run after a crash that cut a transaction off: its records before
    /// the mark belong to no commit.
    var abandon = false
    /// The chained checksum of the record before the mark (the seed of the mark's own
    /// checksum), so that the mark verifies on its own, without the records before it: after a
    /// hole that took them, a mark still proves that the bytes before its synced end were
    /// synced (LogScanner+Damage.swift). Absent in marks written before it existed (9 bytes).
    var seed: UInt32?

    /// Bytes a mark takes in the log, framing included (every record leaves room for a seal).
    static let recordSize = LogFormat.recordHeaderSize + 13

    func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 13)
        writer.append(syncedEnd)
        writer.bytes.append((seal ? 1 : 0) | (abandon ? 2 : 0))
        if let seed { writer.append(seed) }
        return writer.bytes
    }

    static func decode(_ raw: UnsafeRawBufferPointer) throws -> LogMark {
        guard raw.count == 9 || raw.count == 13 else { throw DatabaseError.corrupt("log mark of \(raw.count) bytes (9 or 13 expected)") }
        return LogMark(syncedEnd: raw.littleEndian(at: 0, as: UInt64.self), seal: raw[8] & 1 != 0, abandon: raw[8] & 2 != 0,
                       seed: raw.count == 13 ? raw.littleEndian(at: 9, as: UInt32.self) : nil)
    }
}
