// Window frames and the aggregates evaluated over them.
//
// A frame is the range of positions [from, to] of a partition that a row's aggregate (or
// first_value/last_value/nth_value) sees. Both ends only move forward as the current row does —
// ROWS offsets, peer groups and the partition's ends are all non-decreasing in the position — so
// one state per partition suffices: rows enter at the frame's end and leave at its start, each at
// most once. How a frame is evaluated:
//
// | frame start           | aggregate                         | how                                |
// |-----------------------|-----------------------------------|------------------------------------|
// | UNBOUNDED PRECEDING   | any                               | rows only enter: one running state |
// | moves                 | count, sum, avg, total            | add and subtract (SlidingSum)      |
// | moves                 | min, max                          | a monotonic deque (SlidingExtreme) |
// | moves                 | bool_and, bool_or, every          | counts of true and false           |
// | moves                 | the above over doubles, string_agg, group_concat, DISTINCT | recomputed from the frame's rows |
//
// Float sums are not exactly invertible (PostgreSQL has no inverse for them either and restarts
// the aggregate), so a frame holding a double is summed again in order, giving the same result as
// the running state would. Frames are clamped to the partition with saturating arithmetic, so no
// offset (up to 9223372036854775807 FOLLOWING) can overflow. A row whose frame equals the previous
// row's reuses its value (peers, and the whole partition, are computed once).

import BorealisStorage

extension WindowCollector {
    /// Where a frame bound lies relative to the current position.
    enum FrameEdge {
        case partitionStart, partitionEnd, peerStart, peerEnd
        /// The current position minus (preceding) or plus (following) an offset ≥ 0.
        case preceding(Int), following(Int)
    }

    /// A call's frame, checked once: its start and end edges.
    struct FrameShape {
        var start: FrameEdge
        var end: FrameEdge

        init(_ call: Call) throws {
            guard let frame = call.frame else {
                // Default: with ORDER BY, from the start to the current row's last peer; else all.
                start = .partitionStart
                end = call.order.isEmpty ? .partitionEnd : .peerEnd
                return
            }
            // PostgreSQL's checks (parse_clause.c / gram.y), with its messages.
            if frame.start == .unboundedFollowing {
                throw DatabaseError(.error, sqlState: SQLState.windowingError, "frame start cannot be UNBOUNDED FOLLOWING")
            }
            if frame.end == .unboundedPreceding {
                throw DatabaseError(.error, sqlState: SQLState.windowingError, "frame end cannot be UNBOUNDED PRECEDING")
            }
            switch (frame.start, frame.end) {
            case (.currentRow, .preceding):
                throw DatabaseError(.error, sqlState: SQLState.windowingError, "frame starting from current row cannot have preceding rows")
            case (.following, .preceding), (.following, .currentRow):
                throw DatabaseError(.error, sqlState: SQLState.windowingError, "frame starting from following row cannot have preceding rows")
            default: break
            }
            func edge(_ bound: FrameBound, isStart: Bool) throws -> FrameEdge {
                switch bound {
                case .unboundedPreceding: return .partitionStart
                case .unboundedFollowing: return .partitionEnd
                case .currentRow: return frame.rows ? .preceding(0) : (isStart ? .peerStart : .peerEnd)
                case .preceding(let k), .following(let k):
                    guard frame.rows else { throw DatabaseError(.error, sqlState: SQLState.featureNotSupported, "RANGE with an offset is not supported; use ROWS") }
                    guard k >= 0 else { throw DatabaseError(.error, sqlState: SQLState.invalidPrecedingOrFollowingSize, "frame offset must not be negative") }
                    if case .preceding = bound { return .preceding(k) }
                    return .following(k)
                }
            }
            start = try edge(frame.start, isStart: true)
            end = try edge(frame.end, isStart: false)
        }

        /// The frame of position `pos` as positions [from, to] of `ordered`, within `range`;
        /// empty when from > to (then from ≤ range.upperBound and to ≥ range.lowerBound − 1).
        func frame(of pos: Int, in range: Range<Int>, _ input: Input) -> (from: Int, to: Int) {
            func position(_ edge: FrameEdge) -> Int {
                switch edge {
                case .partitionStart: return range.lowerBound
                case .partitionEnd: return range.upperBound - 1
                case .peerStart: return input.peerStart[pos]
                case .peerEnd: return input.peerEnd[pos]
                // pos ≥ 0 and k ≥ 0, so pos − k cannot overflow; pos + k saturates.
                case .preceding(let k): return pos - k
                case .following(let k):
                    let (sum, overflow) = pos.addingReportingOverflow(k)
                    return overflow ? Int.max : sum
                }
            }
            let from = min(max(position(start), range.lowerBound), range.upperBound)
            let to = max(min(position(end), range.upperBound - 1), range.lowerBound - 1)
            return (from, to)
        }
    }

    /// How an aggregate's state follows frames whose start moves, chosen once per call; the
    /// states here are empty ones, copied for each partition.
    enum Sliding {
        case sum(SlidingSum), extreme(SlidingExtreme), truth(SlidingTruth)
        /// Each frame is aggregated again from its rows.
        case recompute

        init(_ call: Call) {
            guard !call.distinct else { self = .recompute; return }
            switch call.name {
            case "count", "sum", "avg", "total": self = .sum(SlidingSum(name: call.name))
            case "min", "max": self = .extreme(SlidingExtreme(keepsMinimum: call.name == "min"))
            case "bool_and", "bool_or", "every": self = .truth(SlidingTruth(any: call.name == "bool_or"))
            default: self = .recompute
            }
        }
    }

    /// An aggregate over every row's frame, in one pass over the partition; `empty` is the
    /// aggregate's state before any row.
    func aggregate(_ call: Call, _ empty: AggregateState, _ sliding: Sliding, _ input: Input, _ range: Range<Int>,
                   _ shape: FrameShape, _ result: inout [Value], _ visits: inout Int) throws {
        if case .partitionStart = shape.start {
            try aggregateRunning(call, empty, input, range, shape, &result, &visits)
            return
        }
        switch sliding {
        case .sum(var state): try slide(&state, call, input, range, shape, empty, &result, &visits)
        case .extreme(var state): try slide(&state, call, input, range, shape, empty, &result, &visits)
        case .truth(var state): try slide(&state, call, input, range, shape, empty, &result, &visits)
        case .recompute:
            var lastFrame = (from: Int.min, to: Int.min)
            var last: Value = .null
            for pos in range {
                let frame = shape.frame(of: pos, in: range, input)
                if frame != lastFrame {
                    last = try recompute(call, empty, input, frame, &visits)
                    lastFrame = frame
                }
                result[input.ordered[pos]] = last
            }
        }
    }

    /// The value an aggregate adds for the row at a position: nil for count(*) (and any call
    /// without arguments), the FILTER deciding whether the row counts at all.
    @inline(__always)
    private func contribution(_ call: Call, _ input: Input, _ row: Int) -> (counts: Bool, value: Value?) {
        if let passes = input.passes, !passes[row] { return (false, nil) }
        // (Value is ExpressibleByNilLiteral: a bare nil here would be Value.null, not "no value".)
        if call.star || input.width == 0 { return (true, Optional<Value>.none) }
        return (true, input.argument(row, 0))
    }

    /// Frames that all start at the partition's start: rows only enter, so any aggregate (and
    /// DISTINCT) keeps one running state, as a GROUP BY aggregate does.
    private func aggregateRunning(_ call: Call, _ empty: AggregateState, _ input: Input, _ range: Range<Int>,
                                  _ shape: FrameShape, _ result: inout [Value], _ visits: inout Int) throws {
        var state = empty
        var next = range.lowerBound
        var lastTo = Int.min
        var last: Value = .null
        for pos in range {
            let to = shape.frame(of: pos, in: range, input).to
            if to != lastTo {
                while next <= to {
                    let row = input.ordered[next]
                    let (counts, value) = contribution(call, input, row)
                    if counts { try state.add(value, extra: input.width > 1 ? input.argument(row, 1) : nil) }
                    next += 1
                    visits += 1
                }
                last = state.result()
                lastTo = to
            }
            result[input.ordered[pos]] = last
        }
    }

    /// Frames whose start moves, with an aggregate that rows can leave: each row enters once (at
    /// the frame's end) and leaves once (at its start).
    private func slide<A: SlidingAggregate>(_ state: inout A, _ call: Call, _ input: Input, _ range: Range<Int>,
                                            _ shape: FrameShape, _ empty: AggregateState,
                                            _ result: inout [Value], _ visits: inout Int) throws {
        // The rows of positions [low, high) are in the state.
        var low = range.lowerBound, high = range.lowerBound
        var lastFrame = (from: Int.min, to: Int.min)
        var last: Value = .null
        for pos in range {
            let frame = shape.frame(of: pos, in: range, input)
            if frame != lastFrame {
                let newHigh = max(frame.to + 1, frame.from)
                while high < newHigh {
                    let (counts, value) = contribution(call, input, input.ordered[high])
                    if counts { try state.add(value, at: high) }
                    high += 1
                    visits += 1
                }
                while low < frame.from {
                    let (counts, value) = contribution(call, input, input.ordered[low])
                    if counts { state.remove(value, at: low) }
                    low += 1
                    visits += 1
                }
                if let value = try state.result() { last = value } else { last = try recompute(call, empty, input, frame, &visits) }
                lastFrame = frame
            }
            result[input.ordered[pos]] = last
        }
    }

    /// The aggregate of one frame, from its rows in order.
    private func recompute(_ call: Call, _ empty: AggregateState, _ input: Input, _ frame: (from: Int, to: Int),
                           _ visits: inout Int) throws -> Value {
        var state = empty
        if frame.from <= frame.to {
            for pos in frame.from...frame.to {
                let row = input.ordered[pos]
                let (counts, value) = contribution(call, input, row)
                if counts { try state.add(value, extra: input.width > 1 ? input.argument(row, 1) : nil) }
            }
            visits += frame.to - frame.from + 1
        }
        return state.result()
    }
}
