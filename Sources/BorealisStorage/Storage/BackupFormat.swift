// The backup file's codecs (docs/backup.md §2): a file header, frames of zstd-compressed page
// runs, and the manifest, written last, that makes the file a backup. A file whose last 256
// bytes are not a valid manifest matching its header is not a backup (a torn or partial copy).
//
// File header (64 bytes at offset 0):
//   0 u64 magic "BRLSBAK1" · 8 u32 format version · 12 u32 page size · 16 u64 database id ·
//   24 u64 backup LSN · 32 u64 page count · 40 20 bytes reserved · 60 u32 CRC32C of 0..<60
// Frame header (32 bytes, then the compressed bytes):
//   0 u32 magic "BFRM" · 4 u32 pages in the run · 8 u64 first page · 16 u32 compressed length ·
//   20 u32 CRC32C of the compressed bytes · 24 u32 CRC32C of the uncompressed bytes ·
//   28 u32 CRC32C of 0..<28
// Manifest (the last 256 bytes):
//   0 u64 magic "BRLSMAN1" · 8 u32 format version · 12 u32 page size · 16 u64 database id ·
//   24 u64 backup LSN · 32 i64 commit time µs (0: unknown) · 40 i64 taken at µs ·
//   48 u64 page count · 56 u64 free-list head · 64 u64 free page count · 72 u64 catalog root ·
//   80 u32 segment capacity · 84 u32 frame count · 88 u64 manifest offset ·
//   96 u64 uncompressed frame bytes · 104 u32 chained CRC32C of the frame headers ·
//   108 reserved · 252 u32 CRC32C of 0..<252

/// The backup file's first 64 bytes.
struct BackupFileHeader: Equatable {
    static let magic: UInt64 = 0x3148_4B41_534C_5242 // "BRLSBAK1" little-endian
    static let formatVersion: UInt32 = 1
    static let size = 64

    var pageSize: UInt32
    var databaseID: UInt64
    var lsn: UInt64
    var pageCount: UInt64

    func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: Self.size)
        writer.append(Self.magic)
        writer.append(Self.formatVersion)
        writer.append(pageSize)
        writer.append(databaseID)
        writer.append(lsn)
        writer.append(pageCount)
        writer.bytes.append(contentsOf: repeatElement(0, count: 60 - writer.bytes.count))
        writer.append(CRC32C.checksum(writer.bytes))
        return writer.bytes
    }

    static func decode(_ raw: UnsafeRawBufferPointer) -> BackupFileHeader? {
        guard raw.count >= size,
              raw.littleEndian(at: 0, as: UInt64.self) == magic,
              raw.littleEndian(at: 60, as: UInt32.self) == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<60])),
              raw.littleEndian(at: 8, as: UInt32.self) == formatVersion
        else { return nil }
        return BackupFileHeader(pageSize: raw.littleEndian(at: 12, as: UInt32.self), databaseID: raw.littleEndian(at: 16, as: UInt64.self),
                                lsn: raw.littleEndian(at: 24, as: UInt64.self), pageCount: raw.littleEndian(at: 32, as: UInt64.self))
    }
}

/// The header of one frame: a run of consecutive pages compressed as one zstd frame.
struct BackupFrameHeader: Equatable {
    static let magic: UInt32 = 0x4D52_4642 // "BFRM" little-endian
    static let size = 32
    static let maximumPages = 256

    var pages: UInt32
    var firstPage: UInt64
    var compressedLength: UInt32
    var compressedChecksum: UInt32
    var uncompressedChecksum: UInt32

    func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: Self.size)
        writer.append(Self.magic)
        writer.append(pages)
        writer.append(firstPage)
        writer.append(compressedLength)
        writer.append(compressedChecksum)
        writer.append(uncompressedChecksum)
        writer.append(CRC32C.checksum(writer.bytes))
        return writer.bytes
    }

    static func decode(_ raw: UnsafeRawBufferPointer) -> BackupFrameHeader? {
        guard raw.count >= size,
              raw.littleEndian(at: 0, as: UInt32.self) == magic,
              raw.littleEndian(at: 28, as: UInt32.self) == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<28]))
        else { return nil }
        return BackupFrameHeader(pages: raw.littleEndian(at: 4, as: UInt32.self), firstPage: raw.littleEndian(at: 8, as: UInt64.self),
                                 compressedLength: raw.littleEndian(at: 16, as: UInt32.self),
                                 compressedChecksum: raw.littleEndian(at: 20, as: UInt32.self),
                                 uncompressedChecksum: raw.littleEndian(at: 24, as: UInt32.self))
    }
}

/// What a backup holds, from its manifest: the last 256 bytes of the file, written last.
public struct BackupManifest: Sendable, Equatable {
    static let magic: UInt64 = 0x314E_414D_534C_5242 // "BRLSMAN1" little-endian
    static let size = 256

    public var pageSize: Int
    /// The id of the database the backup was taken of.
    public var databaseID: UInt64
    /// The backup holds every commit with a commit LSN ≤ this, and nothing after.
    public var lsn: UInt64
    /// Wall-clock time of the last commit ≤ `lsn`, µs since 1970; 0 when the log no longer held it.
    public var commitMicros: Int64
    /// When the backup started, µs since 1970.
    public var takenAtMicros: Int64
    public var pageCount: UInt64
    public var freeListHead: UInt64
    public var freePages: UInt64
    public var catalogRoot: UInt64
    public var segmentCapacity: UInt32
    public var frameCount: UInt32
    /// Bytes of the file before the manifest (header and frames).
    public var manifestOffset: UInt64
    /// Bytes of pages the frames hold once decompressed.
    public var uncompressedBytes: UInt64
    var frameChain: UInt32

    /// Bytes of the whole backup file.
    public var fileBytes: UInt64 { manifestOffset + UInt64(Self.size) }

    func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: Self.size)
        writer.append(Self.magic)
        writer.append(BackupFileHeader.formatVersion)
        writer.append(UInt32(pageSize))
        writer.append(databaseID)
        writer.append(lsn)
        writer.append(commitMicros)
        writer.append(takenAtMicros)
        writer.append(pageCount)
        writer.append(freeListHead)
        writer.append(freePages)
        writer.append(catalogRoot)
        writer.append(segmentCapacity)
        writer.append(frameCount)
        writer.append(manifestOffset)
        writer.append(uncompressedBytes)
        writer.append(frameChain)
        writer.bytes.append(contentsOf: repeatElement(0, count: 252 - writer.bytes.count))
        writer.append(CRC32C.checksum(writer.bytes))
        return writer.bytes
    }

    static func decode(_ raw: UnsafeRawBufferPointer) -> BackupManifest? {
        guard raw.count >= size,
              raw.littleEndian(at: 0, as: UInt64.self) == magic,
              raw.littleEndian(at: 252, as: UInt32.self) == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<252])),
              raw.littleEndian(at: 8, as: UInt32.self) == BackupFileHeader.formatVersion
        else { return nil }
        return BackupManifest(
            pageSize: Int(raw.littleEndian(at: 12, as: UInt32.self)),
            databaseID: raw.littleEndian(at: 16, as: UInt64.self),
            lsn: raw.littleEndian(at: 24, as: UInt64.self),
            commitMicros: raw.littleEndian(at: 32, as: Int64.self),
            takenAtMicros: raw.littleEndian(at: 40, as: Int64.self),
            pageCount: raw.littleEndian(at: 48, as: UInt64.self),
            freeListHead: raw.littleEndian(at: 56, as: UInt64.self),
            freePages: raw.littleEndian(at: 64, as: UInt64.self),
            catalogRoot: raw.littleEndian(at: 72, as: UInt64.self),
            segmentCapacity: raw.littleEndian(at: 80, as: UInt32.self),
            frameCount: raw.littleEndian(at: 84, as: UInt32.self),
            manifestOffset: raw.littleEndian(at: 88, as: UInt64.self),
            uncompressedBytes: raw.littleEndian(at: 96, as: UInt64.self),
            frameChain: raw.littleEndian(at: 104, as: UInt32.self))
    }
}

extension DatabaseError {
    /// A backup file that is damaged, partial or not a backup (SQLSTATE XX001).
    static func badBackup(_ path: String, _ message: String) -> DatabaseError {
        DatabaseError(.corrupt, sqlState: SQLState.dataCorrupted, "backup \(path) is not usable: \(message)")
    }

    /// A path a backup or restore must create already exists (SQLSTATE 58P02).
    static func fileExists(_ path: String, _ what: String) -> DatabaseError {
        DatabaseError(.cantOpen, sqlState: SQLState.duplicateFile, "\(path) already exists: \(what)")
    }
}
