// The page file: page 0 holds the header in two alternating slots; pages ≥ 1 are images with
// the envelope of `PageImage`. Reads go straight to the file (positional, thread-safe); writes
// come only from the materializer (and from database creation).
//
// Header slot (at byte 0 and byte 2048 of page 0):
//   0 u64 magic "BOREALIS" · 8 u32 format version (1 or 2) · 12 u32 page size · 16 u64 database id ·
//   24 u64 sequence · 32 u64 materialized LSN · 40 u64 page count · 48 u64 free-list head ·
//   56 u64 root slot 0 · 64 u32 log segment capacity ·
//   version 1: 68 u32 CRC32C of bytes 0..<68
//   version 2: 68 u32 log chain checksum at M · 72 u64 durable LSN seen · 80 u32 flags
//              (bit 0: chain at M known, bit 1: file covers the page count) · 84 u32 CRC32C of 0..<84

struct FileHeader: Equatable {
    static let magic: UInt64 = 0x5349_4C41_4552_4F42 // "BOREALIS" little-endian
    static let formatVersion: UInt32 = 2
    static let slotOffsets = [0, 2048]
    static let encodedSize = 88

    var pageSize: UInt32
    var databaseID: UInt64
    var sequence: UInt64
    var materializedLSN: LSN
    var pageCount: UInt64
    var freeListHead: PageNumber
    var catalogRoot: PageNumber
    var segmentCapacity: UInt32
    /// The log's chained checksum at the materialized LSN (the checksum of the record ending
    /// there), when known: recovery starts reading the log at M with it. nil in version 1.
    var logChain: UInt32? = nil
    /// The durable LSN the log had reached when this header was written (0: unknown, version 1).
    var durableLSN: LSN = 0
    /// The file is at least `pageCount` pages long (false in version 1).
    var coversPageCount = false

    func encoded() -> [UInt8] {
        var writer = encodedPrefix(version: Self.formatVersion)
        writer.append(logChain ?? 0)
        writer.append(durableLSN)
        writer.append(UInt32((logChain == nil ? 0 : 1) | (coversPageCount ? 2 : 0)))
        writer.append(CRC32C.checksum(writer.bytes))
        return writer.bytes
    }

    /// The header as a database written before issue 19 holds it (tests of old files).
    func encodedVersion1() -> [UInt8] {
        var writer = encodedPrefix(version: 1)
        writer.append(CRC32C.checksum(writer.bytes))
        return writer.bytes
    }

    private func encodedPrefix(version: UInt32) -> ByteWriter {
        var writer = ByteWriter(capacity: Self.encodedSize)
        writer.append(Self.magic)
        writer.append(version)
        writer.append(pageSize)
        writer.append(databaseID)
        writer.append(sequence)
        writer.append(materializedLSN)
        writer.append(pageCount)
        writer.append(freeListHead)
        writer.append(catalogRoot)
        writer.append(segmentCapacity)
        return writer
    }

    static func decode(_ raw: UnsafeRawBufferPointer) -> FileHeader? {
        guard raw.count >= encodedSize, raw.littleEndian(at: 0, as: UInt64.self) == magic else { return nil }
        let version = raw.littleEndian(at: 8, as: UInt32.self)
        let crcOffset = version == 1 ? 68 : 84
        guard version == 1 || version == 2,
              raw.littleEndian(at: crcOffset, as: UInt32.self) == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<crcOffset]))
        else { return nil }
        var header = FileHeader(
            pageSize: raw.littleEndian(at: 12, as: UInt32.self),
            databaseID: raw.littleEndian(at: 16, as: UInt64.self),
            sequence: raw.littleEndian(at: 24, as: UInt64.self),
            materializedLSN: raw.littleEndian(at: 32, as: UInt64.self),
            pageCount: raw.littleEndian(at: 40, as: UInt64.self),
            freeListHead: raw.littleEndian(at: 48, as: UInt64.self),
            catalogRoot: raw.littleEndian(at: 56, as: UInt64.self),
            segmentCapacity: raw.littleEndian(at: 64, as: UInt32.self))
        if version == 2 {
            let flags = raw.littleEndian(at: 80, as: UInt32.self)
            if flags & 1 != 0 { header.logChain = raw.littleEndian(at: 68, as: UInt32.self) }
            header.durableLSN = raw.littleEndian(at: 72, as: UInt64.self)
            header.coversPageCount = flags & 2 != 0
        }
        return header
    }
}

final class PageFile: @unchecked Sendable {
    let file: any StorageFile
    let pageSize: Int
    let databaseID: UInt64
    /// The header in force. Read and written by the materializer only (under its round lock).
    private(set) var header: FileHeader

    init(file: any StorageFile, header: FileHeader) {
        self.file = file
        self.header = header
        self.pageSize = Int(header.pageSize)
        self.databaseID = header.databaseID
    }

    /// Reads both header slots and returns the newest valid one.
    static func readHeader(_ file: any StorageFile) throws -> FileHeader {
        var candidates: [FileHeader] = []
        for offset in FileHeader.slotOffsets {
            let raw = try file.readBytes(count: FileHeader.encodedSize, at: UInt64(offset))
            if let header = raw.withUnsafeBytes({ FileHeader.decode($0) }) { candidates.append(header) }
        }
        guard let newest = candidates.max(by: { $0.sequence < $1.sequence }) else {
            throw DatabaseError.corrupt("\(file.path): neither header slot is valid (not a Borealis database, or both headers damaged)")
        }
        let size = newest.pageSize
        guard size >= 4096, size <= 65536, size & (size - 1) == 0 else {
            throw DatabaseError.corrupt("\(file.path): header names an invalid page size \(size)")
        }
        return newest
    }

    /// Writes `header` into the slot not holding the current one, with the next sequence number.
    func writeHeader(_ newHeader: FileHeader) throws {
        var next = newHeader
        next.sequence = header.sequence + 1
        let offset = FileHeader.slotOffsets[Int(next.sequence % 2)]
        try file.write(next.encoded(), at: UInt64(offset))
        try file.sync()
        header = next
    }

    /// Reads page `page` as it is in the file (a zero page past the end). Not validated.
    func read(_ page: PageNumber) throws -> PageImage {
        // readFully fills every byte (zeros past the end of the file).
        try PageImage(overwrittenBy: { _ = try file.readFully(into: $0, at: page * UInt64(pageSize)) }, size: pageSize)
    }

    /// Reads `count` consecutive pages from `first` with one (scatter) read, zeros past the
    /// end of the file. Not validated.
    func read(_ first: PageNumber, count: Int) throws -> [PageImage] {
        let buffers = (0..<count).map { _ in PageBufferPool.shared.take(pageSize) }
        do {
            try file.readFully(into: buffers, at: first * UInt64(pageSize))
        } catch {
            for buffer in buffers { PageBufferPool.shared.give(buffer) }
            throw error
        }
        return buffers.map(PageImage.init(adopting:))
    }

    /// Writes images in place (their checksums already sealed).
    func write(_ images: [PageImage]) throws {
        for image in images {
            try file.write(UnsafeRawBufferPointer(image.bytes), at: image.pageNumber * UInt64(pageSize))
        }
    }

    func sync() throws { try file.sync() }

    var pagesInFile: UInt64 { ((try? file.size()) ?? 0) / UInt64(pageSize) }
}
