// The pages a connection read lately, kept across its transactions.
//
// The image of a page at a given LSN never changes, so a transaction may take a page from the
// memo instead of the shared version cache (a lock and a hash lookup) whenever the memo was
// filled at the same snapshot LSN. A connection running one short statement after another
// with no commit between them — point lookups, index lookups — so finds the root and inner
// nodes of its trees without touching the cache. A new snapshot clears the memo.
//
// Invariants: only clean images (as of `snapshot`) are stored, never a transaction's private
// copies; one transaction uses a memo at a time (`claim` hands a busy memo's caller a private
// one). Holding at most `slotCount` images bounds what the memo keeps alive.

import Synchronization

package final class PageMemo: @unchecked Sendable {
    static let slotCount = 64

    /// The slot that may hold `page`.
    @inline(__always)
    static func slot(of page: PageNumber) -> Int { Int(truncatingIfNeeded: page) & (slotCount - 1) }

    /// Slot `page % slotCount`: the page's image at `snapshot`.
    @exclusivity(unchecked) var slots = [(number: PageNumber, image: PageImage)?](repeating: nil, count: PageMemo.slotCount)
    private var snapshot: LSN = 0
    /// The engine the images came from: a reopened engine (after a failure) may reuse an LSN
    /// for another state, so its transactions never see an earlier engine's images.
    private var engine: UInt64 = 0
    private let busy = Atomic<Bool>(false)

    package init() {}

    /// `memo` (or a fresh one when it is nil or in use by another transaction), cleared unless
    /// it was filled at `snapshot` by `engine`.
    static func claim(_ memo: PageMemo?, snapshot: LSN, engine: StorageEngine) -> PageMemo {
        let id = engine.instance
        guard let memo, memo.busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            let own = PageMemo()
            own.busy.store(true, ordering: .relaxed)
            own.snapshot = snapshot
            own.engine = id
            return own
        }
        if memo.snapshot != snapshot || memo.engine != id {
            memo.snapshot = snapshot
            memo.engine = id
            for i in memo.slots.indices { memo.slots[i] = nil }
        }
        return memo
    }

    /// Ends the claiming transaction's use.
    func release() {
        busy.store(false, ordering: .releasing)
    }
}
