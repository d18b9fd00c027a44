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
        var output = [UInt8](repeating: 0, count: Int(size))
        let produced = input.withUnsafeBytes { src in
            output.withUnsafeMutableBytes { dst in
                ZSTD_decompress(dst.baseAddress, dst.count, src.baseAddress, src.count)
            }
        }
        if ZSTD_isError(produced) != 0 || produced != Int(size) {
            throw DatabaseError.corrupt("zstd frame does not decompress")
        }
        return output
    }
}
