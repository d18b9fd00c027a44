// One page's bytes in memory: raw, aligned, owned. Published versions are immutable (shared by
// readers through ARC); a writer's private copy is the only image ever mutated. All pointer work
// on page memory happens in this type and in the access layer's page views built on `bytes`.
//
// Envelope (see docs/storage.md §1): [0,4) CRC32C · [4,8) reserved · [8,16) page LSN ·
// [16,24) page number · [24, pageSize) body.

import Glibc

package typealias LSN = UInt64
package typealias PageNumber = UInt64

final class PageImage: @unchecked Sendable {
    static let checksumOffset = 0
    static let lsnOffset = 8
    static let pageNumberOffset = 16
    static let bodyOffset = 24

    let bytes: UnsafeMutableRawBufferPointer

    var size: Int { bytes.count }

    /// A zero-filled page.
    init(size: Int) {
        bytes = PageBufferPool.shared.take(size)
        bytes.initializeMemory(as: UInt8.self, repeating: 0)
    }

    /// A page whose every byte the caller overwrites at once (a read from a file): its bytes
    /// are whatever the recycled buffer held, so it is not zeroed first.
    init(overwrittenBy fill: (UnsafeMutableRawBufferPointer) throws -> Void, size: Int) rethrows {
        // Filled before `bytes` is set: a throw then leaves no object (and no deinit) behind.
        let buffer = PageBufferPool.shared.take(size)
        do {
            try fill(buffer)
        } catch {
            PageBufferPool.shared.give(buffer)
            throw error
        }
        bytes = buffer
    }

    /// A page owning `buffer`, a buffer taken from `PageBufferPool.shared` and filled already.
    init(adopting buffer: UnsafeMutableRawBufferPointer) {
        bytes = buffer
    }

    /// A private copy of `other`.
    init(copying other: PageImage) {
        bytes = PageBufferPool.shared.take(other.size)
        bytes.copyMemory(from: UnsafeRawBufferPointer(other.bytes))
    }

    deinit { PageBufferPool.shared.give(bytes) }

    var lsn: LSN {
        get { UnsafeRawBufferPointer(bytes).littleEndian(at: Self.lsnOffset, as: UInt64.self) }
        set { bytes.storeLittleEndian(newValue, at: Self.lsnOffset) }
    }

    var pageNumber: PageNumber {
        get { UnsafeRawBufferPointer(bytes).littleEndian(at: Self.pageNumberOffset, as: UInt64.self) }
        set { bytes.storeLittleEndian(newValue, at: Self.pageNumberOffset) }
    }

    var storedChecksum: UInt32 {
        UnsafeRawBufferPointer(bytes).littleEndian(at: Self.checksumOffset, as: UInt32.self)
    }

    func computeChecksum() -> UInt32 {
        CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[4...]))
    }

    /// Stamps the checksum before the image goes to a file.
    func sealChecksum() {
        bytes.storeLittleEndian(computeChecksum(), at: Self.checksumOffset)
    }

    var isAllZero: Bool {
        let raw = UnsafeRawBufferPointer(bytes)
        var i = 0
        while i < raw.count {
            if raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) != 0 { return false }
            i += 8
        }
        return true
    }

    /// Whether a page read from a file is intact: its checksum holds and it is the page asked
    /// for, or it is all zero (allocated, never written).
    func isValid(as page: PageNumber) -> Bool {
        if storedChecksum == computeChecksum() && pageNumber == page { return true }
        return isAllZero
    }
}

/// Recycles page buffers. Every commit copies the pages it changes and eviction frees old
/// versions, usually on another thread: straight malloc/free of those buffers spread them over
/// glibc's per-thread arenas, which then grew and fragmented (tpcb_like_4 reached 118 MB of
/// RSS; 72 MB with one arena). A bounded free list keeps the buffers circulating instead.
///
/// A buffer used after its image was released would read (or write) whatever page the pool
/// handed it to next: plausible bytes, never a crash. `BOREALIS_PAGE_POOL=off` in the
/// environment frees every buffer at once instead, so that AddressSanitizer reports such a use
/// as a use after free (docs/robustness.md, "Sanitizers").
final class PageBufferPool: @unchecked Sendable {
    static let shared = PageBufferPool(limit: getenv("BOREALIS_PAGE_POOL").map { String(cString: $0) } == "off" ? 0 : 1024)
    /// Buffers kept per page size at most (4 MiB of 4-KiB pages; 0: none, every buffer freed).
    private let limit: Int

    init(limit: Int) {
        self.limit = limit
    }
    private let lock = ConditionLock()
    private var free: [Int: [UnsafeMutableRawPointer]] = [:]

    func take(_ size: Int) -> UnsafeMutableRawBufferPointer {
        let recycled: UnsafeMutableRawPointer? = lock.withLock { free[size]?.popLast() }
        if let recycled { return UnsafeMutableRawBufferPointer(start: recycled, count: size) }
        return .allocate(byteCount: size, alignment: 64)
    }

    func give(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress else { return }
        let kept = lock.withLock { () -> Bool in
            if free[buffer.count, default: []].count >= limit { return false }
            free[buffer.count, default: []].append(base)
            return true
        }
        if !kept { buffer.deallocate() }
    }
}
