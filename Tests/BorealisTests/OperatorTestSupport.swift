// Helpers of the operator tests (OperatorTests, BatchTests): an evaluator reading a column of
// the input row, and draining an operator's rows.

@testable import BorealisSQL

/// Reads column `i` of the row the evaluator runs on.
func inputColumn(_ i: Int) -> Evaluator { { ctx in ctx.frames[ctx.frames.count - 1][i] } }

/// Every row of `op`, opened in a context of its own.
func drainOperator(_ op: PhysicalOperator, workMemoryRows: Int = 250_000, statementMemory: Int? = nil,
                   spills: ((Int) -> Void)? = nil) throws -> [[Value]] {
    let ctx = ExecutionContext(parameters: [], txn: nil, catalog: nil)
    ctx.workMemoryRows = workMemoryRows
    if let statementMemory { ctx.memory.reset(session: nil, limit: statementMemory) }
    defer { spills?(ctx.memory.spills) }
    let next = try op.stream(ctx)
    var rows: [[Value]] = []
    while let row = try next() { rows.append(row) }
    return rows
}
