// The live read snapshots. The materializer asks for them to decide which page versions to pin;
// a snapshot registered after a round chose its target T is at least T (it takes the visible
// LSN, which only grows), so a round never misses a snapshot it must protect.

import Synchronization

final class SnapshotRegistry: Sendable {
    private struct State {
        var nextID: UInt64 = 1
        var live: [UInt64: (lsn: LSN, started: UInt64)] = [:]
    }
    private let state = Locked(State())

    /// Registers a snapshot at the LSN `take()` returns, atomically with respect to `live()`.
    func register(_ take: () -> LSN) -> (id: UInt64, lsn: LSN) {
        state.withLock { s in
            let lsn = take()
            let id = s.nextID
            s.nextID += 1
            s.live[id] = (lsn, monotonicNanoseconds())
            return (id, lsn)
        }
    }

    func unregister(_ id: UInt64) {
        state.withLock { _ = $0.live.removeValue(forKey: id) }
    }

    /// Distinct live snapshot LSNs, ascending.
    func live() -> [LSN] {
        state.withLock { Array(Set($0.live.values.map(\.lsn))).sorted() }
    }

    /// Whether a snapshot at `lsn` is registered.
    func isLive(_ lsn: LSN) -> Bool {
        state.withLock { $0.live.values.contains { $0.lsn == lsn } }
    }

    var count: Int { state.withLock { $0.live.count } }

    var oldestAgeSeconds: Double {
        state.withLock { s in
            guard let oldest = s.live.values.map(\.started).min() else { return 0 }
            return Double(monotonicNanoseconds() - oldest) / 1e9
        }
    }
}
