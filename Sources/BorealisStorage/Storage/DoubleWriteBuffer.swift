// The double-write file `P-dwb`, the materializer's protection against torn page writes: a batch
// of images is written here and fdatasynced before any of them is written in place, so a page
// torn by a crash can always be restored from its intact copy.
//
// Layout: header page (4096 bytes): 0 u64 magic "BRLSDWB1" · 8 u64 database id · 16 u64 target
// LSN · 24 u64 image count · 32 u32 CRC32C of bytes 0..<32; then `count` full page images.

final class DoubleWriteBuffer: @unchecked Sendable {
    static let magic: UInt64 = 0x3142_5744_534C_5242 // "BRLSDWB1"
    static let headerSize = 4096

    let file: any StorageFile
    let databaseID: UInt64
    let pageSize: Int

    /// True from a successful `store` until the in-place writes of that batch are synced: while
    /// it is set, the page file may hold torn pages whose only intact copy is here, so the
    /// buffer must not be overwritten before `repair(force: true)` has rewritten them.
    var protectsUnsyncedPages = false

    init(file: any StorageFile, databaseID: UInt64, pageSize: Int) {
        self.file = file
        self.databaseID = databaseID
        self.pageSize = pageSize
    }

    /// Writes `images` (checksums sealed) and makes them durable.
    func store(_ images: [PageImage], target: LSN) throws {
        var header = ByteWriter(capacity: Self.headerSize)
        header.append(Self.magic)
        header.append(databaseID)
        header.append(target)
        header.append(UInt64(images.count))
        header.append(CRC32C.checksum(header.bytes))
        var offset = UInt64(Self.headerSize)
        for image in images {
            try file.write(UnsafeRawBufferPointer(image.bytes), at: offset)
            offset += UInt64(pageSize)
        }
        try file.write(header.bytes, at: 0)
        try file.sync()
    }

    /// Restores every page of `pageFile` whose checksum fails from a valid copy here (with
    /// `force`, rewrites every page that has a valid copy). Returns the pages written.
    func repair(_ pageFile: PageFile, force: Bool = false) throws -> [PageNumber] {
        let raw = try file.readBytes(count: 40, at: 0)
        guard raw.count == 40 else { return [] }
        let valid = raw.withUnsafeBytes { r in
            r.littleEndian(at: 0, as: UInt64.self) == Self.magic
                && r.littleEndian(at: 8, as: UInt64.self) == databaseID
                && r.littleEndian(at: 32, as: UInt32.self) == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: r[0..<32]))
        }
        guard valid else { return [] }
        // The count is read from the file: never more images than the file holds.
        let stored = raw.withUnsafeBytes { $0.littleEndian(at: 24, as: UInt64.self) }
        let size = try file.size()
        let count = min(stored, size > UInt64(Self.headerSize) ? (size - UInt64(Self.headerSize)) / UInt64(pageSize) : 0)
        var restored: [PageNumber] = []
        for i in 0..<count {
            let copy = PageImage(size: pageSize)
            let n = try file.readFully(into: copy.bytes, at: UInt64(Self.headerSize) + i * UInt64(pageSize))
            guard n == pageSize, copy.storedChecksum == copy.computeChecksum(), copy.pageNumber > 0 else { continue }
            let current = try pageFile.read(copy.pageNumber)
            if force || !current.isValid(as: copy.pageNumber) {
                try pageFile.write([copy])
                restored.append(copy.pageNumber)
            }
        }
        if !restored.isEmpty { try pageFile.sync() }
        protectsUnsyncedPages = false
        return restored
    }
}
