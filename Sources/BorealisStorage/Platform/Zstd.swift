// zstd compression through the system libzstd (Debian's libzstd-dev), used for archived log
// segments kept for point-in-time restore. Frames carry their content size, so `decompress`
// needs no side channel.

import CZstd

enum Zstd {
    static func compress(_ input: [UInt8], level: Int32 = 3) throws -> [UInt8] {
        let bound = ZSTD_compressBound(input.count)
        var output = [UInt8](repeating: 0, count: bound)
        let written = input.withUnsafeBytes { src in
            output.withUnsafeMutableBytes { dst in
                ZSTD_compress(dst.baseAddress, bound, src.baseAddress, src.count, level)
            }
        }
        if ZSTD_isError(written) != 0 {
            throw DatabaseError(.error, sqlState: SQLState.internalError, "zstd compression failed: \(String(cString: ZSTD_getErrorName(written)))")
        }
        output.removeLast(bound - written)
        return output
    }

    /// Decompresses one frame; `maximumSize` guards against a damaged size field.
    static func decompress(_ input: [UInt8], maximumSize: Int = 1 << 30) throws -> [UInt8] {
        let size = input.withUnsafeBytes { ZSTD_getFrameContentSize($0.baseAddress, $0.count) }
        // ZSTD_CONTENTSIZE_UNKNOWN and ZSTD_CONTENTSIZE_ERROR are the two top values of UInt64.
        guard size < UInt64.max - 1, size <= UInt64(maximumSize) else {
            throw DatabaseError.corrupt("zstd frame has no valid content size")
        }
        // Not zero-filled first: every byte is produced by zstd, or the array is dropped.
        return try [UInt8](unsafeUninitializedCapacity: Int(size)) { buffer, count in
            let produced = input.withUnsafeBytes { src in ZSTD_decompress(buffer.baseAddress, buffer.count, src.baseAddress, src.count) }
            guard ZSTD_isError(produced) == 0, produced == buffer.count else {
                throw DatabaseError.corrupt("zstd frame does not decompress")
            }
            count = produced
        }
    }
}

extension Zstd {
    /// Compresses input given in pieces into one frame that carries its content size (announced
    /// up front), handing the compressed bytes out as they are produced: memory stays at one
    /// piece, zstd's window and a 128 KiB output buffer, whatever the input's size. The
    /// continuous archive stores 16 MiB log segments this way (one-shot `compress` held the
    /// segment and a zero-filled output bound of the same size: +25 MiB of peak RSS).
    final class StreamCompressor {
        private let context: OpaquePointer
        private var output = [UInt8](repeating: 0, count: 128 << 10)
        private let contentSize: UInt64
        private var consumed: UInt64 = 0

        init(level: Int32, contentSize: UInt64) throws {
            guard let context = ZSTD_createCCtx() else {
                throw DatabaseError(.noMemory, sqlState: SQLState.outOfMemory, "zstd could not allocate a compression context")
            }
            self.context = context
            self.contentSize = contentSize
            try check(ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level))
            try check(ZSTD_CCtx_setPledgedSrcSize(context, contentSize))
        }

        deinit { ZSTD_freeCCtx(context) }

        /// Compresses `input`; the piece that brings the total to `contentSize` ends the frame.
        /// `sink` receives each run of compressed bytes (valid only during the call).
        func compress(_ input: UnsafeRawBufferPointer, sink: (UnsafeRawBufferPointer) throws -> Void) throws {
            consumed += UInt64(input.count)
            guard consumed <= contentSize else {
                throw DatabaseError.internalError("zstd stream given \(consumed) bytes, more than the \(contentSize) announced")
            }
            let last = consumed == contentSize
            var source = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
            try output.withUnsafeMutableBytes { buffer in
                while true {
                    var target = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
                    let remaining = ZSTD_compressStream2(context, &target, &source, last ? ZSTD_e_end : ZSTD_e_continue)
                    try check(remaining)
                    if target.pos > 0 { try sink(UnsafeRawBufferPointer(rebasing: buffer[0..<target.pos])) }
                    // Done with this piece once zstd took all of it (and, at the end, flushed all).
                    if last ? remaining == 0 : source.pos == source.size { break }
                }
            }
        }

        private func check(_ code: Int) throws {
            if ZSTD_isError(code) != 0 {
                throw DatabaseError(.error, sqlState: SQLState.internalError, "zstd compression failed: \(String(cString: ZSTD_getErrorName(code)))")
            }
        }
    }
}
