// A SELECT streamed to a prepared statement: the open row stream of its plan and what the
// stream reads from — its execution context and a read transaction of its own — held from the
// statement's first `step` until the cursor ends.
//
//   open (first step: plan, open, first row) ──step──▶ open … ──no row left / error──▶ ended
//   open ──reset, execute, statement deallocated, connection closed──▶ ended
//
// Rows are computed ahead of the steps that hand them out (`ahead`, a RowBlock; an error goes to
// `failure`, thrown by the step that reaches it, after the rows computed before it): the first
// step computes two rows, each later refill a batch (`Database.cursorBatch`, 64 rows or 256 KiB)
// plus one, which the statement hands out one per `step` without taking the connection's lock.
// The cursor ends as soon as its stream has nothing more, so a SELECT of one row lets go of its
// snapshot at its first step. `ahead` and `failure` may outlive the end.
//
// Invariants:
// - the cursor owns `txn`, a reader no other statement uses: in autocommit the snapshot begun
//   for the SELECT, inside a transaction block a second registration of the block's snapshot
//   (`StorageTransaction.reader(sharingSnapshot:)`), so the block may end, or write, while the
//   cursor still reads; nothing ever writes through `txn`, so no B-tree page changes under the
//   cursor;
// - its fields are read and written only under its connection's lock (`Database.start`,
//   `next`, `end`, `close`); `rows`, `context` and `txn` are nil once it has ended, the
//   transaction rolled back (for a reader that only ends its snapshot);
// - while it is open it counts as an active statement of its connection: an `interrupt()`
//   stops it at its next batch, and stays pending until no statement is running and no cursor
//   is open (as SQLite counts an un-reset statement).

/// A SELECT being stepped through by a `PreparedStatement` (see `Database.start`).
/// `@unchecked Sendable`: its mutable state is guarded by the connection's lock.
import BorealisSQL
import BorealisStorage

final class SelectCursor: @unchecked Sendable {
    let columns: [String]
    let declaredTypes: [String?]
    /// The transaction block it was opened in (`Database.blockSerial`), nil in autocommit: an
    /// error in a later step fails that block if it is still open.
    let block: UInt64?
    var rows: RowStream?
    var context: ExecutionContext?
    var txn: StorageTransaction?
    /// Rows computed and not yet handed out, oldest first.
    var ahead: RowBlock
    /// The error met computing the next row, thrown by the next step.
    var failure: (any Error)?

    init(columns: [String], declaredTypes: [String?], block: UInt64?, rows: @escaping RowStream,
         context: ExecutionContext, txn: StorageTransaction) {
        self.columns = columns
        self.declaredTypes = declaredTypes
        self.block = block
        self.rows = rows
        self.context = context
        self.txn = txn
        ahead = RowBlock(width: columns.count)
    }

    var isOpen: Bool { rows != nil }

    /// Whether a step has something left to hand out: a row or an error.
    var hasMore: Bool { !ahead.isEmpty || failure != nil }

    /// Computes rows into `ahead` until it holds `count` of them or `bytes` worth (an error
    /// goes to `failure`). Returns true when the stream is over — exhausted or failed — and
    /// the cursor must end.
    func fill(rows count: Int, bytes: Int) -> Bool {
        guard let rows else { return false }
        var size = 0
        ahead.reserve(rows: max(0, count - ahead.count))
        do {
            while ahead.count < count && size < bytes {
                guard let row = try rows() else { return true }
                if bytes != .max { size += Self.approximateBytes(row) }
                try ahead.append(row)
            }
            return false
        } catch {
            failure = error
            return true
        }
    }

    /// Up to `count` of the rows computed ahead, oldest first; with none left, the error met
    /// computing the next one (handed over once).
    func take(rows count: Int) -> Result<RowBlock, any Error> {
        if ahead.isEmpty, let failure {
            self.failure = nil
            return .failure(failure)
        }
        // The block is handed over whole (no copy); rows past `count` stay for the next take.
        var taken = RowBlock(width: columns.count)
        swap(&taken, &ahead)
        ahead = taken.split(at: count)
        return .success(taken)
    }

    /// Roughly the memory a row holds: a few words a value, and the bytes of text and blobs.
    static func approximateBytes(_ row: [Value]) -> Int {
        var bytes = 0
        for value in row {
            switch value {
            case .text(let s): bytes += 16 + s.utf8.count
            case .blob(let b): bytes += 16 + b.count
            default: bytes += 16
            }
        }
        return bytes
    }

    /// Lets go of the stream and its context and ends the snapshot (under the connection's lock).
    func close() {
        rows = nil
        context?.finish()
        context = nil
        txn?.rollback()
        txn = nil
    }
}
