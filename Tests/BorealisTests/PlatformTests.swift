import Testing
import Foundation
@testable import Borealis
@testable import BorealisSQL
@testable import BorealisStorage

@Suite struct PlatformTests {
    @Test func crc32cMatchesKnownVectorsOnBothPaths() {
        // The standard check value of CRC32C over "123456789".
        let check = Array("123456789".utf8)
        #expect(CRC32C.checksum(check) == 0xE306_9283)
        #expect(CRC32C.portableChecksum(check) == 0xE306_9283)
        // 32 zero bytes (RFC 3720 test vector).
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        var rng = SplitMix64(seed: 9)
        for length in [0, 1, 7, 8, 9, 63, 64, 65, 4079, 4080, 4081, 4092, 4095, 4096, 8160, 12247, 65536] {
            let data = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            #expect(CRC32C.checksum(data) == CRC32C.portableChecksum(data))
            // Extending a checksum equals checksumming the concatenation.
            let split = length / 3
            let extended = CRC32C.checksum(Array(data[split...]), seed: CRC32C.checksum(Array(data[..<split])))
            #expect(extended == CRC32C.checksum(data))
        }
    }

    /// The scatter read fills its buffers in order from one offset, on the real file system
    /// (preadv) and the fault-injecting one (a read per buffer), with zeros past the end.
    @Test func scatterReadsFillBuffersInOrderAndZerosPastTheEnd() throws {
        let dir = TemporaryDirectory()
        let systems: [(any FileSystem, String)] = [(PosixFileSystem(), dir.path + "/f"), (FaultInjectingFileSystem(), "/f")]
        for (fs, path) in systems {
            let file = try fs.open(path, create: true)
            let content = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            try file.write(content, at: 0)
            let buffers = (0..<4).map { _ in UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 8) }
            defer { buffers.forEach { $0.deallocate() } }
            for buffer in buffers { buffer.initializeMemory(as: UInt8.self, repeating: 0xEE) }
            #expect(try file.read(into: buffers, at: 100) == 9_900)
            try file.readFully(into: buffers, at: 100)
            let joined = buffers.flatMap { Array($0) }
            #expect(Array(joined[0..<9_900]) == Array(content[100...]))
            #expect(joined[9_900...].allSatisfy { $0 == 0 })
            file.close()
        }
    }

    @Test func zstdRoundTripsAndRejectsGarbage() throws {
        let input = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 % 251) }
        let compressed = try Zstd.compress(input)
        #expect(compressed.count < input.count / 10)
        #expect(try Zstd.decompress(compressed) == input)
        #expect(throws: DatabaseError.self) { _ = try Zstd.decompress([1, 2, 3, 4, 5, 6, 7, 8, 9]) }
    }

    @Test func zstdStreamsAFrameInPiecesThatDecompressesWhole() throws {
        var rng = SplitMix64(seed: 11)
        // Compressible but not trivial: words from a small vocabulary, 3 MiB.
        let words = (0..<64).map { i in Array("word\(i)-\(i * 7919) ".utf8) }
        var input: [UInt8] = []
        while input.count < 3 << 20 { input += words[Int(rng.next() % 64)] }
        for pieces in [[input.count], [1, 1000, 1 << 20, input.count - (1 << 20) - 1001], Array(repeating: 65_536, count: input.count / 65_536) + [input.count % 65_536]] {
            let compressor = try Zstd.StreamCompressor(level: 1, contentSize: UInt64(input.count))
            var output: [UInt8] = []
            var at = 0
            for count in pieces {
                try input.withUnsafeBytes { raw in
                    try compressor.compress(UnsafeRawBufferPointer(rebasing: raw[at..<(at + count)])) { output += $0 }
                }
                at += count
            }
            #expect(at == input.count)
            #expect(output.count < input.count / 3)
            #expect(try Zstd.decompress(output, maximumSize: input.count) == input)
        }
        // Nothing at all is a frame too; more than announced is an error.
        let empty = try Zstd.StreamCompressor(level: 1, contentSize: 0)
        var frame: [UInt8] = []
        try empty.compress(UnsafeRawBufferPointer(start: nil, count: 0)) { frame += $0 }
        #expect(try Zstd.decompress(frame) == [])
        let short = try Zstd.StreamCompressor(level: 1, contentSize: 4)
        #expect(throws: DatabaseError.self) { try [UInt8](repeating: 1, count: 5).withUnsafeBytes { try short.compress($0) { _ in } } }
    }

    @Test func varintsRoundTripAndTruncationIsAnError() throws {
        var writer = ByteWriter()
        let values: [UInt64] = [0, 1, 127, 128, 300, 1 << 32, .max]
        for v in values { writer.appendVarint(v) }
        try writer.bytes.withUnsafeBytes { raw in
            var reader = ByteReader(raw, context: "test")
            for v in values {
                let decoded = try reader.readVarint()
                #expect(decoded == v)
            }
            #expect(reader.remaining == 0)
        }
        [UInt8]([0x80, 0x80]).withUnsafeBytes { raw in
            var reader = ByteReader(raw, context: "test")
            #expect(throws: DatabaseError.self) { _ = try reader.readVarint() }
        }
    }

    @Test func faultFileSystemDropsUnsyncedWritesOnCrash() throws {
        let fs = FaultInjectingFileSystem()
        let file = try fs.open("/f", create: true)
        try fs.syncDirectory("/")
        try file.write([1, 2, 3, 4], at: 0)
        try file.sync()
        try file.write([9, 9, 9, 9], at: 0)
        // A crash may keep, drop or tear the unsynced write; the synced bytes always survive
        // wherever the unsynced write did not land.
        var outcomes = Set<[UInt8]>()
        for seed in 0..<40 {
            let copy = FaultInjectingFileSystem()
            let f = try copy.open("/f", create: true)
            try copy.syncDirectory("/")
            try f.write([1, 2, 3, 4], at: 0)
            try f.sync()
            try f.write([UInt8](repeating: 9, count: 2048), at: 0)
            copy.crash(seed: UInt64(seed))
            let reopened = try copy.open("/f", create: false)
            outcomes.insert(try reopened.readBytes(count: 4, at: 0))
        }
        #expect(outcomes.contains([1, 2, 3, 4]))
        #expect(outcomes.contains([9, 9, 9, 9]))
        // An unsynced directory entry may vanish.
        let lost = FaultInjectingFileSystem()
        _ = try lost.open("/g", create: true)
        var vanished = false
        for seed in 0..<20 {
            let fs2 = FaultInjectingFileSystem()
            _ = try fs2.open("/g", create: true)
            fs2.crash(seed: UInt64(seed))
            if !fs2.exists("/g") { vanished = true }
        }
        #expect(vanished)
        _ = fs
    }

    @Test func aTornRewriteKeepsTheBytesItDoesNotChange() throws {
        // The log rewrites its last block with the durable bytes in front of the new ones: a
        // crash may tear that write, but never garble the bytes it writes back unchanged.
        let durable = (0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
        var rewrite = durable + [UInt8](repeating: 0xEE, count: 1096)
        rewrite[3000] = 0xEE
        var tornSeen = false
        for seed in 0..<60 {
            let fs = FaultInjectingFileSystem()
            let f = try fs.open("/log", create: true)
            try fs.syncDirectory("/")
            try f.write(durable + [UInt8](repeating: 0, count: 4096 - durable.count), at: 0)
            try f.sync()
            try f.write(rewrite, at: 0)
            fs.crash(seed: UInt64(seed))
            let after = try fs.open("/log", create: false).readBytes(count: 4096, at: 0)
            #expect(Array(after[0..<3000]) == durable, "seed \(seed)")
            let tail = after[3000...]
            if tail.contains(where: { $0 != 0 && $0 != 0xEE }) { tornSeen = true }
        }
        #expect(tornSeen, "some crash tore the changed bytes")
    }

    @Test func directWritesOfWholeBlocksFallBackWhereTheFileSystemRefuses() throws {
        // On this file system the log's segments open with O_DIRECT (or an ordinary descriptor
        // where it is refused); either way whole aligned blocks written are read back.
        let dir = TemporaryDirectory()
        // /dev/shm is tmpfs, which refuses O_DIRECT: the ordinary descriptor takes over there.
        let shm = "/dev/shm/borealis-direct-\(UInt32.random(in: 0...UInt32.max))"
        for path in [dir.path + "/segment"] + (FileManager.default.fileExists(atPath: "/dev/shm") ? [shm] : []) {
            defer { try? FileManager.default.removeItem(atPath: shm) }
            try writeAndReadBackWholeBlocks(at: path)
        }
    }

    private func writeAndReadBackWholeBlocks(at path: String) throws {
        let fs = PosixFileSystem()
        let setup = try fs.open(path, create: true)
        try setup.write([UInt8](repeating: 0, count: 16384), at: 0)
        setup.close()
        let file = try fs.openForDirectWrites(path)
        defer { file.close() }
        let block = UnsafeMutableRawBufferPointer.allocate(byteCount: 8192, alignment: 4096)
        defer { block.deallocate() }
        for i in 0..<8192 { block[i] = UInt8(truncatingIfNeeded: i &* 31) }
        try file.write(UnsafeRawBufferPointer(block), at: 4096)
        try file.sync()
        block.initializeMemory(as: UInt8.self, repeating: 0)
        #expect(try file.readFully(into: block, at: 4096) == 8192)
        #expect((0..<8192).allSatisfy { block[$0] == UInt8(truncatingIfNeeded: $0 &* 31) })
        let cached = try fs.open(path, create: false)
        defer { cached.close() }
        #expect(try cached.readBytes(count: 8192, at: 4096) == Array(UnsafeRawBufferPointer(block)))
    }

    @Test func armedFaultsFailTheRightOperation() throws {
        let fs = FaultInjectingFileSystem()
        let file = try fs.open("/f", create: true)
        fs.arm(.syncFailure(atSync: 2))
        try file.write([1], at: 0)
        try file.sync()
        try file.write([2], at: 0)
        #expect(throws: DatabaseError.self) { try file.sync() }
        fs.arm(.noSpace(atOperation: 1))
        do {
            try file.write([UInt8](repeating: 1, count: 100), at: 0)
            Issue.record("ENOSPC expected")
        } catch let error as DatabaseError {
            #expect(error.code == .full)
            #expect(error.sqlState == "53100")
        }
        fs.arm(.crash(atOperation: 2))
        try file.write([3], at: 0)
        #expect(throws: DatabaseError.self) { try file.write([4], at: 0) }
        #expect(fs.hasCrashed)
        #expect(throws: DatabaseError.self) { _ = try file.readBytes(count: 1, at: 0) }
        fs.crash(seed: 1)
        #expect(!fs.hasCrashed)
    }
}

@Suite struct SpillFileTests {
    /// Records of every awkward size (empty, varint boundaries, larger than the reader's 1 MiB
    /// buffer) come back byte for byte and in order, with or without a trailer byte; the rows
    /// stream decodes what `append` encoded; the end stays the end.
    @Test func recordsComeBackInPlaceAndInOrder() throws {
        let file = try SpillFile()
        var rng = SplitMix64(seed: 5)
        let fixedSizes = [0, 1, 127, 128, 16_383, 16_384, (1 << 20) - 1, 1 << 20, 3 << 20]
        var written: [[UInt8]] = []
        for i in 0..<1_500 {
            let size = i < fixedSizes.count ? fixedSizes[i] : Int(rng.next() % 300)
            var record = (0..<size).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if i % 3 == 0 {
                try record.withUnsafeBytes { try file.appendRecord($0, trailer: UInt8(i % 2)) }
                record.append(UInt8(i % 2))
            } else {
                try record.withUnsafeBytes { try file.appendRecord($0) }
            }
            written.append(record)
        }
        #expect(file.count == written.count)
        let reader = try file.recordReader()
        for (i, expected) in written.enumerated() {
            guard let record = try reader.next() else {
                Issue.record("the file ended after \(i) of \(written.count) records")
                return
            }
            #expect(Array(record) == expected, "record \(i)")
        }
        #expect(try reader.next() == nil)
        #expect(try reader.next() == nil)

        let rows = try SpillFile()
        let values: [[Value]] = [[.integer(1), .text("a")], [], [.null, .blob([1, 2, 3]), .double(2.5)]]
        for row in values { try rows.append(row) }
        let stream = try rows.reader()
        for row in values { #expect(try stream() == row) }
        #expect(try stream() == nil)
    }
}
