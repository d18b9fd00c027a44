// The set of live C handles (addresses of the objects behind them), looked up on every call of
// the C API: open addressing with linear probing over a power-of-two table, hashed by one
// multiplication. Set<UInt> hashed each address with SipHash, which cost more than a column
// read itself (a quarter of `SELECT *` stepped through `borealis_column_*`).

import Glibc
import Synchronization

struct HandleSet {
    /// 0 is an empty slot, 1 a removed one (no object lives at address 0 or 1).
    private static let empty: UInt = 0, removed: UInt = 1
    private var slots = [UInt](repeating: HandleSet.empty, count: 16)
    /// Live handles, and live plus removed slots (the table grows or is rebuilt past half full).
    private(set) var count = 0
    private var used = 0

    private func start(_ key: UInt) -> Int {
        // Fibonacci hashing: the high bits of the product spread the aligned addresses.
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> UInt(UInt.bitWidth - slots.count.trailingZeroBitCount))
    }

    func contains(_ key: UInt) -> Bool {
        // The markers are not keys (a bogus handle of 1 would match a removed slot).
        guard key > Self.removed else { return false }
        let mask = slots.count - 1
        var i = start(key)
        while true {
            let slot = slots[i]
            if slot == key { return true }
            if slot == Self.empty { return false }
            i = (i + 1) & mask
        }
    }

    /// Adds `key`; false when it was already there.
    @discardableResult
    mutating func insert(_ key: UInt) -> Bool {
        guard key > Self.removed, !contains(key) else { return false }
        if (used + 1) * 2 > slots.count { rebuild(capacity: count + 1) }
        let mask = slots.count - 1
        var i = start(key)
        while slots[i] != Self.empty && slots[i] != Self.removed { i = (i + 1) & mask }
        if slots[i] == Self.empty { used += 1 }
        slots[i] = key
        count += 1
        return true
    }

    /// Removes `key`; false when it was not there.
    @discardableResult
    mutating func remove(_ key: UInt) -> Bool {
        let mask = slots.count - 1
        var i = start(key)
        while slots[i] != Self.empty {
            if slots[i] == key {
                slots[i] = Self.removed
                count -= 1
                return true
            }
            i = (i + 1) & mask
        }
        return false
    }

    /// A table of at least 16 slots, at most a quarter full with `capacity` keys, holding the
    /// live keys (removed slots are dropped).
    private mutating func rebuild(capacity: Int) {
        var size = 16
        while size < capacity * 4 { size *= 2 }
        let live = slots.filter { $0 > Self.removed }
        slots = [UInt](repeating: Self.empty, count: size)
        count = 0
        used = 0
        for key in live { insert(key) }
    }
}

/// The set of live handles behind a spin lock, looked up by every call of the C API.
///
/// Why not `Mutex`: a lookup holds the lock for a probe of one or two slots, and every
/// `borealis_column_*` call makes one; the futex mutex's lock and unlock (two atomic
/// read-modify-writes and a thread-local read of the thread id) were a third of a column call.
/// Here taking the lock is one compare-and-exchange and releasing it one store. Contention is
/// rare (opens, closes, several threads calling at once) and short: a waiter yields its time
/// slice instead of sleeping on a futex.
///
/// The set lives in memory allocated once and never freed (the registry is a process-wide
/// constant), so the body's access needs no exclusivity check: the lock is what excludes.
final class HandleRegistry: @unchecked Sendable {
    private let busy = Atomic<Bool>(false)
    private let set: UnsafeMutablePointer<HandleSet>

    init() {
        set = .allocate(capacity: 1)
        set.initialize(to: HandleSet())
    }

    deinit {
        set.deinitialize(count: 1)
        set.deallocate()
    }

    @inline(__always)
    func withLock<R>(_ body: (inout HandleSet) -> R) -> R {
        while !busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {
            sched_yield()
        }
        defer { busy.store(false, ordering: .releasing) }
        return body(&set.pointee)
    }
}
