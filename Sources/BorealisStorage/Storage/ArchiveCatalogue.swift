// The continuous archive's catalogue (docs/backup.md §4): what the archive holds, written as a
// new immutable object `catalogue/<sequence, 16 hex>` on every change. The newest catalogue
// that decodes and passes its checksum wins; a torn or damaged one is ignored (the one before
// it stays valid, as with the page file's header slots).
//
// Header (48 bytes):
//   0 u64 magic "BRLSCAT1" · 8 u32 format version (1) · 12 u32 reserved · 16 u64 database id ·
//   24 u64 sequence · 32 u32 segment count · 36 u32 base image count · 40 u32 gap count ·
//   44 u32 reserved
// Then the segments (48 bytes each, ascending start LSN):
//   0 u64 start LSN · 8 u64 end LSN (the start of the next segment) · 16 i64 first commit µs ·
//   24 i64 last commit µs (both 0: the segment holds no commit) · 32 u64 object bytes ·
//   40 u32 CRC32C of the object · 44 u32 reserved
// Then the base images (40 bytes each, ascending LSN):
//   0 u64 LSN · 8 i64 commit time µs of the last commit ≤ LSN (0: unknown) · 16 i64 taken at µs ·
//   24 u64 object bytes · 32 u32 CRC32C of the object's 256-byte manifest · 36 u32 reserved
// Then the gaps (32 bytes each): log the archive lost (a segment it could not store)
//   0 u64 from LSN · 8 u64 to LSN · 16 i64 recorded at µs · 24 u32 reason (1 store failed,
//   2 segment missing) · 28 u32 reserved
// Then u32 CRC32C of everything before it.

/// One archived log segment.
public struct ArchivedSegment: Sendable, Equatable {
    public var start: UInt64
    public var end: UInt64
    public var firstCommitMicros: Int64
    public var lastCommitMicros: Int64
    public var bytes: UInt64
    public var checksum: UInt32
}

/// One base image: a backup (docs/backup.md §2) taken by the archive.
public struct ArchivedBaseImage: Sendable, Equatable {
    public var lsn: UInt64
    public var commitMicros: Int64
    public var takenAtMicros: Int64
    public var bytes: UInt64
    public var manifestChecksum: UInt32
}

/// Log the archive does not hold: [from, to), with why.
public struct ArchiveGap: Sendable, Equatable {
    public enum Reason: UInt32, Sendable { case storeFailed = 1, segmentMissing = 2 }
    public var from: UInt64
    public var to: UInt64
    public var recordedAtMicros: Int64
    public var reason: Reason
}

/// The catalogue of a continuous archive: its segments, base images and gaps.
public struct ArchiveCatalogue: Sendable, Equatable {
    static let magic: UInt64 = 0x3154_4143_534C_5242 // "BRLSCAT1" little-endian
    static let formatVersion: UInt32 = 1
    static let headerSize = 48, segmentSize = 48, baseSize = 40, gapSize = 32

    public var databaseID: UInt64
    public var sequence: UInt64 = 0
    public var segments: [ArchivedSegment] = []
    public var baseImages: [ArchivedBaseImage] = []
    public var gaps: [ArchiveGap] = []

    /// Compressed log bytes the archive holds.
    public var segmentBytes: UInt64 { segments.reduce(0) { $0 &+ $1.bytes } }
    /// The end of the archived log (the start of the first segment not archived).
    public var archivedEnd: UInt64? { segments.last?.end }

    func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: Self.headerSize + segments.count * Self.segmentSize + baseImages.count * Self.baseSize + gaps.count * Self.gapSize + 4)
        w.append(Self.magic)
        w.append(Self.formatVersion)
        w.append(UInt32(0))
        w.append(databaseID)
        w.append(sequence)
        w.append(UInt32(segments.count))
        w.append(UInt32(baseImages.count))
        w.append(UInt32(gaps.count))
        w.append(UInt32(0))
        for s in segments {
            w.append(s.start); w.append(s.end); w.append(s.firstCommitMicros); w.append(s.lastCommitMicros)
            w.append(s.bytes); w.append(s.checksum); w.append(UInt32(0))
        }
        for b in baseImages {
            w.append(b.lsn); w.append(b.commitMicros); w.append(b.takenAtMicros); w.append(b.bytes)
            w.append(b.manifestChecksum); w.append(UInt32(0))
        }
        for g in gaps {
            w.append(g.from); w.append(g.to); w.append(g.recordedAtMicros); w.append(g.reason.rawValue); w.append(UInt32(0))
        }
        w.append(CRC32C.checksum(w.bytes))
        return w.bytes
    }

    /// The catalogue in `bytes`, or nil when they are not a whole, valid catalogue.
    static func decode(_ bytes: [UInt8]) -> ArchiveCatalogue? {
        bytes.withUnsafeBytes { raw -> ArchiveCatalogue? in
            guard raw.count >= headerSize + 4,
                  raw.littleEndian(at: 0, as: UInt64.self) == magic,
                  raw.littleEndian(at: 8, as: UInt32.self) == formatVersion,
                  raw.littleEndian(at: raw.count - 4, as: UInt32.self) == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<(raw.count - 4)]))
            else { return nil }
            let segmentCount = Int(raw.littleEndian(at: 32, as: UInt32.self))
            let baseCount = Int(raw.littleEndian(at: 36, as: UInt32.self))
            let gapCount = Int(raw.littleEndian(at: 40, as: UInt32.self))
            // Counts are u32: the products cannot overflow Int on a 64-bit machine.
            guard headerSize + segmentCount * segmentSize + baseCount * baseSize + gapCount * gapSize + 4 == raw.count else { return nil }
            var catalogue = ArchiveCatalogue(databaseID: raw.littleEndian(at: 16, as: UInt64.self),
                                             sequence: raw.littleEndian(at: 24, as: UInt64.self))
            var at = headerSize
            for _ in 0..<segmentCount {
                catalogue.segments.append(ArchivedSegment(
                    start: raw.littleEndian(at: at, as: UInt64.self), end: raw.littleEndian(at: at + 8, as: UInt64.self),
                    firstCommitMicros: raw.littleEndian(at: at + 16, as: Int64.self), lastCommitMicros: raw.littleEndian(at: at + 24, as: Int64.self),
                    bytes: raw.littleEndian(at: at + 32, as: UInt64.self), checksum: raw.littleEndian(at: at + 40, as: UInt32.self)))
                at += segmentSize
            }
            for _ in 0..<baseCount {
                catalogue.baseImages.append(ArchivedBaseImage(
                    lsn: raw.littleEndian(at: at, as: UInt64.self), commitMicros: raw.littleEndian(at: at + 8, as: Int64.self),
                    takenAtMicros: raw.littleEndian(at: at + 16, as: Int64.self), bytes: raw.littleEndian(at: at + 24, as: UInt64.self),
                    manifestChecksum: raw.littleEndian(at: at + 32, as: UInt32.self)))
                at += baseSize
            }
            for _ in 0..<gapCount {
                guard let reason = ArchiveGap.Reason(rawValue: raw.littleEndian(at: at + 24, as: UInt32.self)) else { return nil }
                catalogue.gaps.append(ArchiveGap(from: raw.littleEndian(at: at, as: UInt64.self), to: raw.littleEndian(at: at + 8, as: UInt64.self),
                                                 recordedAtMicros: raw.littleEndian(at: at + 16, as: Int64.self), reason: reason))
                at += gapSize
            }
            // Ranges must make sense: a damaged but checksummed-by-chance catalogue is not trusted.
            guard catalogue.segments.allSatisfy({ $0.end > $0.start }), catalogue.gaps.allSatisfy({ $0.to >= $0.from }) else { return nil }
            return catalogue
        }
    }

    /// The newest valid catalogue in `store` (nil when it holds none). Torn or damaged
    /// catalogues are skipped; `skipped` receives their names.
    static func newest(in store: any ArchiveStore, skipped: inout [String]) throws -> ArchiveCatalogue? {
        let sequences = try store.list("catalogue/").compactMap { ArchiveName.parse($0, prefix: "catalogue/") }.sorted(by: >)
        for sequence in sequences {
            let name = ArchiveName.catalogue(sequence)
            if let bytes = try? store.get(name), let catalogue = decode(bytes), catalogue.sequence == sequence { return catalogue }
            skipped.append(name)
        }
        return nil
    }
}
