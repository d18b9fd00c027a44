// CRC32C (Castagnoli), the checksum of every page and log record. The work is done in C
// (`CBorealisSupport`) so that the SSE4.2 `crc32` instruction is used where the CPU has it,
// with a slicing-by-8 table otherwise.

import CBorealisSupport

package enum CRC32C {
    /// Extends `crc` over `bytes`.
    @inline(__always)
    package static func checksum(_ bytes: UnsafeRawBufferPointer, seed crc: UInt32 = 0) -> UInt32 {
        borealis_crc32c(crc, bytes.baseAddress, bytes.count)
    }

    package static func checksum(_ bytes: [UInt8], seed crc: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0, seed: crc) }
    }

    /// The table implementation, for tests that compare it with the hardware path.
    static func portableChecksum(_ bytes: [UInt8], seed crc: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { borealis_crc32c_portable(crc, $0.baseAddress, $0.count) }
    }

    static var usesHardware: Bool { borealis_crc32c_is_hardware() != 0 }
}
