// Physiological redo for one page: the byte ranges in which a new image differs from its base,
// or the whole body when that is smaller. Encoding (docs/storage.md §2): varint page number,
// form byte (0 full body, 1 ranges), then the body or `varint count, (varint offset, varint
// length, bytes)*`. The envelope (checksum, LSN, page number) is never logged: the LSN comes
// from the commit, the number from the record.

enum PageDelta {
    static let fullForm: UInt8 = 0
    static let rangesForm: UInt8 = 1

    /// Ranges closer than this many unchanged bytes are merged (a range header costs ~3 bytes).
    static let mergeGap = 8

    /// Encodes the redo turning `base` into `image` (both of one page size); nil when they are equal.
    static func encode(page: PageNumber, base: PageImage, image: PageImage) -> [UInt8]? {
        let size = image.size
        let old = UnsafeRawBufferPointer(base.bytes)
        let new = UnsafeRawBufferPointer(image.bytes)
        var ranges: [(Int, Int)] = []
        var rangeBytes = 0
        var i = PageImage.bodyOffset
        while i < size {
            // Skip equal 8-byte words fast.
            if old.loadUnaligned(fromByteOffset: i, as: UInt64.self) == new.loadUnaligned(fromByteOffset: i, as: UInt64.self) {
                i += 8
                continue
            }
            var start = i
            while old[start] == new[start] { start += 1 }
            var end = i + 8
            // Extend while differences keep coming within the merge gap.
            while end < size {
                if old.loadUnaligned(fromByteOffset: end, as: UInt64.self) != new.loadUnaligned(fromByteOffset: end, as: UInt64.self) {
                    end += 8
                    continue
                }
                var gapEnd = end + 8
                var differs = false
                while gapEnd < min(size, end + 8 + mergeGap) {
                    if old.loadUnaligned(fromByteOffset: gapEnd, as: UInt64.self) != new.loadUnaligned(fromByteOffset: gapEnd, as: UInt64.self) {
                        differs = true
                        break
                    }
                    gapEnd += 8
                }
                if differs { end = gapEnd + 8 } else { break }
            }
            end = min(end, size)
            while end > start && old[end - 1] == new[end - 1] { end -= 1 }
            ranges.append((start, end - start))
            rangeBytes += end - start + 6
            i = (end + 7) & ~7
            if rangeBytes >= size - PageImage.bodyOffset { break }
        }
        if ranges.isEmpty { return nil }
        var writer = ByteWriter(capacity: min(rangeBytes, size) + 16)
        writer.appendVarint(page)
        if rangeBytes >= size - PageImage.bodyOffset {
            writer.bytes.append(fullForm)
            writer.append(contentsOf: UnsafeRawBufferPointer(rebasing: new[PageImage.bodyOffset...]))
        } else {
            writer.bytes.append(rangesForm)
            writer.appendVarint(UInt64(ranges.count))
            for (offset, length) in ranges {
                writer.appendVarint(UInt64(offset))
                writer.appendVarint(UInt64(length))
                writer.append(contentsOf: UnsafeRawBufferPointer(rebasing: new[offset..<(offset + length)]))
            }
        }
        return writer.bytes
    }

    /// Reads the page number a redo payload names.
    static func pageNumber(of payload: UnsafeRawBufferPointer) throws -> PageNumber {
        var reader = ByteReader(payload, context: "page redo")
        return try reader.readVarint()
    }

    /// Applies a redo payload to `image` in place.
    static func apply(_ payload: UnsafeRawBufferPointer, to image: PageImage) throws {
        var reader = ByteReader(payload, context: "page redo")
        _ = try reader.readVarint()
        let form = try reader.read(UInt8.self)
        let size = image.size
        switch form {
        case fullForm:
            let body = try reader.readBytes(size - PageImage.bodyOffset)
            UnsafeMutableRawBufferPointer(rebasing: image.bytes[PageImage.bodyOffset...]).copyMemory(from: body)
        case rangesForm:
            let count = try reader.readVarint()
            for _ in 0..<count {
                let rawOffset = try reader.readVarint()
                let rawLength = try reader.readVarint()
                guard let offset = Int(exactly: rawOffset), let length = Int(exactly: rawLength),
                      offset >= PageImage.bodyOffset, length <= size, offset <= size - length else {
                    throw DatabaseError.corrupt("page redo range \(rawOffset)+\(rawLength) outside a \(size)-byte page")
                }
                let data = try reader.readBytes(length)
                UnsafeMutableRawBufferPointer(rebasing: image.bytes[offset..<(offset + length)]).copyMemory(from: data)
            }
        default:
            throw DatabaseError.corrupt("page redo has unknown form \(form)")
        }
        guard reader.remaining == 0 else { throw DatabaseError.corrupt("page redo has \(reader.remaining) trailing bytes") }
    }
}
