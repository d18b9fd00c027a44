// The meta page (page 1): the database's transactional bookkeeping, logged and versioned like
// any page. Body layout (offsets from the page start):
//   24 u32 magic "META" · 32 u64 page count · 40 u64 free-list head · 48 u64 free page count ·
//   56 u64 × 16 root slots (slot 0: the catalog)
// A free page: body byte 24 = `freePageType`, u64 next free page at 32.

package enum MetaPage {
    package static let pageNumber: PageNumber = 1
    static let magic: UInt32 = 0x4154_454D // "META"
    package static let rootSlotCount = 16
    static let freePageType: UInt8 = 6

    static func format(_ image: PageImage) {
        image.bytes.storeLittleEndian(magic, at: 24)
        image.bytes.storeLittleEndian(UInt64(2), at: 32)
    }

    static func isValid(_ image: PageImage) -> Bool {
        UnsafeRawBufferPointer(image.bytes).littleEndian(at: 24, as: UInt32.self) == magic
    }

    static func pageCount(_ image: PageImage) -> UInt64 { load(image, 32) }
    static func setPageCount(_ image: PageImage, _ value: UInt64) { image.bytes.storeLittleEndian(value, at: 32) }
    static func freeListHead(_ image: PageImage) -> PageNumber { load(image, 40) }
    static func setFreeListHead(_ image: PageImage, _ value: PageNumber) { image.bytes.storeLittleEndian(value, at: 40) }
    static func freeCount(_ image: PageImage) -> UInt64 { load(image, 48) }
    static func setFreeCount(_ image: PageImage, _ value: UInt64) { image.bytes.storeLittleEndian(value, at: 48) }
    static func root(_ image: PageImage, slot: Int) -> PageNumber { load(image, 56 + 8 * slot) }
    static func setRoot(_ image: PageImage, slot: Int, _ value: PageNumber) { image.bytes.storeLittleEndian(value, at: 56 + 8 * slot) }

    static func isFreePage(_ image: PageImage) -> Bool { image.bytes[24] == freePageType }
    static func nextFree(_ image: PageImage) -> PageNumber { load(image, 32) }
    static func markFree(_ image: PageImage, next: PageNumber) {
        image.bytes[24] = freePageType
        image.bytes.storeLittleEndian(next, at: 32)
    }

    private static func load(_ image: PageImage, _ offset: Int) -> UInt64 {
        UnsafeRawBufferPointer(image.bytes).littleEndian(at: offset, as: UInt64.self)
    }
}
