// A write transaction's spilled pages (docs/storage.md §3, "Large transactions"): private page
// images written to an unlinked temporary file beside the database once the transaction holds
// more than its memory budget. Append-only: slot k holds the k-th image written, and a slot
// never changes, so a savepoint's page → slot map stays valid and, after the commit, the redo
// index can refer to a page's final image by its slot.
//
// Writes come from the owning transaction only; reads (positional) may come from any thread
// once the transaction committed. The file is closed when the last reference goes.

/// A page's redo as the page→records index and the replicas hold it.
enum PageChange {
    /// A `PageDelta` against the page's previous version.
    case delta([UInt8])
    /// The whole new image, in a committed transaction's spill file.
    case spilled(PageSpillFile, slot: Int)

    /// Memory this change keeps alive (the spilled image lives in its file).
    var memoryBytes: Int {
        switch self {
        case .delta(let bytes): bytes.count
        case .spilled: 0
        }
    }

    /// Turns `image` (the page's previous version) into the new one; the caller sets its LSN.
    func apply(to image: PageImage) throws {
        switch self {
        case .delta(let bytes):
            try bytes.withUnsafeBytes { try PageDelta.apply($0, to: image) }
        case .spilled(let file, let slot):
            try file.read(slot: slot, into: image.bytes)
        }
    }
}

final class PageSpillFile: @unchecked Sendable {
    private let file: any StorageFile
    let pageSize: Int
    /// Slots written so far (changed by the owning transaction only).
    private(set) var slotCount = 0
    private var scratch: UnsafeMutableRawBufferPointer?

    /// The name prefix of spill files for the database at `databasePath` (leftovers of a crash
    /// between create and unlink are deleted on open).
    static func namePrefix(of databasePath: String) -> String {
        String(databasePath.split(separator: "/").last ?? "") + "-spill-"
    }

    init(databasePath: String, pageSize: Int, fileSystem: any FileSystem) throws {
        var rng = SystemRandomNumberGenerator()
        let path = parentDirectory(of: databasePath) + "/" + Self.namePrefix(of: databasePath) + String(rng.next(), radix: 16)
        let file = try fileSystem.open(path, create: true)
        do {
            try fileSystem.remove(path)
        } catch {
            file.close()
            throw error
        }
        self.file = file
        self.pageSize = pageSize
    }

    deinit {
        file.close()
        scratch?.deallocate()
    }

    /// Writes `images` to consecutive new slots in one write; returns the first slot.
    func append(_ images: [PageImage]) throws -> Int {
        let byteCount = images.count * pageSize
        if (scratch?.count ?? 0) < byteCount {
            scratch?.deallocate()
            scratch = .allocate(byteCount: byteCount, alignment: 64)
        }
        let buffer = UnsafeMutableRawBufferPointer(rebasing: scratch![0..<byteCount])
        for (i, image) in images.enumerated() {
            UnsafeMutableRawBufferPointer(rebasing: buffer[(i * pageSize)..<((i + 1) * pageSize)])
                .copyMemory(from: UnsafeRawBufferPointer(image.bytes))
        }
        let first = slotCount
        try file.write(UnsafeRawBufferPointer(buffer), at: UInt64(first) * UInt64(pageSize))
        slotCount += images.count
        return first
    }

    /// Reads slot `slot` into `bytes` (one page).
    func read(slot: Int, into bytes: UnsafeMutableRawBufferPointer) throws {
        precondition(bytes.count == pageSize)
        let got = try file.readFully(into: bytes, at: UInt64(slot) * UInt64(pageSize))
        guard got == pageSize else {
            throw DatabaseError(.ioError, sqlState: SQLState.ioError, "spill file \(file.path): slot \(slot) is missing (read \(got) of \(pageSize) bytes)")
        }
    }

    /// Slot `slot` as a new image.
    func image(slot: Int) throws -> PageImage {
        try PageImage(overwrittenBy: { try read(slot: slot, into: $0) }, size: pageSize)
    }
}
