// The bytes of one fuzz input read as a stream of decisions (docs/robustness.md, "Fuzzing").
// Reading past the end gives zeros, so every input decodes to something and a mutation that
// shortens an input changes the choices it makes, not whether it runs.

package struct FuzzInput {
    private let bytes: [UInt8]
    private var position = 0

    package init(_ bytes: [UInt8]) { self.bytes = bytes }

    package var isExhausted: Bool { position >= bytes.count }
    package var remaining: Int { max(0, bytes.count - position) }

    package mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    /// A number in `0..<bound` (`bound` ≥ 1), from one byte when it fits, two otherwise.
    package mutating func below(_ bound: Int) -> Int {
        guard bound > 1 else { return 0 }
        let raw = bound <= 256 ? Int(byte()) : Int(byte()) << 8 | Int(byte())
        return raw % bound
    }

    package mutating func pick<T>(_ choices: [T]) -> T { choices[below(choices.count)] }

    /// True about once in `oneIn` reads.
    package mutating func chance(_ oneIn: Int) -> Bool { below(oneIn) == 0 }

    package mutating func int64() -> Int64 {
        var value: UInt64 = 0
        for _ in 0..<8 { value = value << 8 | UInt64(byte()) }
        return Int64(bitPattern: value)
    }

    /// Up to `limit` of the remaining bytes.
    package mutating func take(upTo limit: Int) -> [UInt8] {
        let count = min(limit, remaining)
        defer { position += count }
        return Array(bytes[position..<position + count])
    }

    /// An integer drawn often from the edges: 0, ±1, ±2^31, ±2^63, lengths near Int32.max.
    package mutating func edgeInteger() -> Int64 {
        switch below(4) {
        case 0: return Self.edges[below(Self.edges.count)]
        case 1: return Int64(Int8(bitPattern: byte()))
        case 2: return Int64(below(1 << 16))
        default: return int64()
        }
    }

    package static let edges: [Int64] = [
        0, 1, -1, 2, -2, 7, 255, 256, 1000, 65535, 65536,
        Int64(Int16.max), Int64(Int16.min), Int64(Int32.max), Int64(Int32.min),
        Int64(Int32.max) + 1, Int64(Int32.min) - 1, Int64(UInt32.max),
        Int64.max, Int64.min, Int64.max - 1, Int64.min + 1, 1 << 40, 1 << 53,
    ]
}
