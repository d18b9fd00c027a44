// The memory behind the text and blob pointers `borealis_column_text`/`_blob` hand out for the
// current row: one malloc'ed buffer per column, kept across rows and grown when a value needs
// more, so stepping through a result allocates nothing per row. A pointer stays valid until the
// next step, reset or finalize (the header's promise); each column is copied at most once a row.

import Glibc

struct RowBuffers: ~Copyable {
    private struct Slot {
        var pointer: UnsafeMutableRawPointer?
        var capacity = 0
        /// The length of the current row's value, when this row's value was copied in.
        var length: Int?
    }
    private var slots: [Slot] = []

    init() {}

    /// The current row's copy of `column`, if it was made.
    func current(_ column: Int) -> (UnsafeMutableRawPointer, Int)? {
        guard column < slots.count, let pointer = slots[column].pointer, let length = slots[column].length else { return nil }
        return (pointer, length)
    }

    /// `bytes` copied into the buffer of `column`, NUL-terminated; nil when memory ran out.
    mutating func fill(_ column: Int, with bytes: UnsafeRawBufferPointer) -> (UnsafeMutableRawPointer, Int)? {
        if column >= slots.count { slots += [Slot](repeating: Slot(), count: column + 1 - slots.count) }
        if slots[column].capacity < bytes.count + 1 || slots[column].pointer == nil {
            let capacity = max(bytes.count + 1, 64)
            guard let grown = realloc(slots[column].pointer, capacity) else { return nil }
            slots[column].pointer = grown
            slots[column].capacity = capacity
        }
        guard let pointer = slots[column].pointer else { return nil }
        if let base = bytes.baseAddress, !bytes.isEmpty { pointer.copyMemory(from: base, byteCount: bytes.count) }
        pointer.storeBytes(of: 0, toByteOffset: bytes.count, as: UInt8.self)
        slots[column].length = bytes.count
        return (pointer, bytes.count)
    }

    /// A new row: the copies made are stale (the memory stays for the next).
    mutating func invalidate() {
        for i in slots.indices where slots[i].length != nil { slots[i].length = nil }
    }

    deinit {
        for slot in slots { free(slot.pointer) }
    }
}
