// How many bytes of memory a value or a row holds: what the statement's memory limit charges
// (docs/robustness.md, "Memory"). An estimate on the high side: the inline size of the enum
// plus the heap storage of text, bytea and arrays (a short string stored inline still counts
// its bytes; allocator rounding is not counted).

extension Value {
    /// The inline size of a value plus the heap storage it refers to.
    package var memoryFootprint: Int {
        switch self {
        case .text(let s): return MemoryLayout<Value>.stride + s.utf8.count
        case .blob(let b): return MemoryLayout<Value>.stride + Value.heapHeader + b.count
        case .array(let a):
            var bytes = MemoryLayout<Value>.stride + 2 * Value.heapHeader + a.dimensions.count * MemoryLayout<Int>.stride
            for element in a.elements { bytes += element.memoryFootprint }
            return bytes
        default: return MemoryLayout<Value>.stride
        }
    }

    /// The bytes of a row of values (its array's header included).
    package static func memoryFootprint(of row: [Value]) -> Int {
        var bytes = heapHeader
        for value in row { bytes += value.memoryFootprint }
        return bytes
    }

    /// A Swift array's or string's heap header (count, capacity, object header).
    private static let heapHeader = 32
}
