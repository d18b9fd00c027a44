// Puts log bytes into a segment file in whole 4096-byte blocks at aligned offsets, from aligned
// memory, so the segment can be opened with O_DIRECT (docs/storage.md §2, "whole blocks").
//
// Invariant: when `tailFile` is set, buffer[0..<tailCount] holds the bytes of the file's block
// that ends at `tailEnd` (tailEnd − tailCount is block-aligned, tailCount < blockSize): what a
// write starting at `tailEnd` must put back in front of its bytes. Used by one thread at a time
// (the log's flusher of the moment).

final class LogBlockWriter {
    static let blockSize = 4096

    private let buffer: UnsafeMutableRawBufferPointer
    private var tailFile: ObjectIdentifier?
    private var tailEnd: UInt64 = 0
    private var tailCount = 0

    /// `capacity`: bytes written per call at most (a multiple of the block size).
    init(capacity: Int = 256 << 10) {
        precondition(capacity >= Self.blockSize && capacity % Self.blockSize == 0)
        buffer = .allocate(byteCount: capacity, alignment: Self.blockSize)
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
    }

    deinit { buffer.deallocate() }

    /// Writes `bytes` at `offset` of `file` (past its header block): the block holding `offset`
    /// is written again from its start, and the last block is padded with zeros.
    func write(_ bytes: UnsafeRawBufferPointer, to file: any StorageFile, at offset: UInt64) throws {
        let block = UInt64(Self.blockSize)
        var position = offset
        var rest = bytes
        do {
            while !rest.isEmpty {
                let blockStart = position & ~(block - 1)
                let prefix = Int(position - blockStart)
                if prefix > 0 && !(tailFile == ObjectIdentifier(file) && tailEnd == position && tailCount == prefix) {
                    try readBlock(of: file, at: blockStart, needing: prefix)
                }
                let take = min(rest.count, buffer.count - prefix)
                (buffer.baseAddress! + prefix).copyMemory(from: rest.baseAddress!, byteCount: take)
                let end = prefix + take
                let total = (end + Self.blockSize - 1) & ~(Self.blockSize - 1)
                (buffer.baseAddress! + end).initializeMemory(as: UInt8.self, repeating: 0, count: total - end)
                try file.write(UnsafeRawBufferPointer(rebasing: buffer[0..<total]), at: blockStart)
                // Keep the last partial block's bytes at the front for the next write.
                let lastBlock = end & ~(Self.blockSize - 1)
                tailCount = end - lastBlock
                if tailCount > 0 && lastBlock > 0 {
                    buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + lastBlock, byteCount: tailCount)
                }
                tailEnd = blockStart + UInt64(end)
                tailFile = ObjectIdentifier(file)
                position += UInt64(take)
                rest = UnsafeRawBufferPointer(rebasing: rest[take...])
            }
        } catch {
            forget()
            throw error
        }
    }

    /// Drops the remembered tail (the file was closed, or a write failed and the file's bytes
    /// are no longer known): the next write reads its block back first.
    func forget() {
        tailFile = nil
        tailCount = 0
    }

    /// Reads the block at `blockStart` into the front of the buffer; its first `needed` bytes
    /// must be in the file.
    private func readBlock(of file: any StorageFile, at blockStart: UInt64, needing needed: Int) throws {
        let n = try file.readFully(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<Self.blockSize]), at: blockStart)
        guard n >= needed else {
            throw DatabaseError.corrupt("log segment \(file.path) ends inside block \(blockStart / UInt64(Self.blockSize))")
        }
    }
}
