// Rows of a set-returning function in FROM (TableFunctions.swift): the arguments are evaluated
// once per open, then the function's values stream one per row, numbered when WITH
// ORDINALITY asks.

import BorealisStorage

final class FunctionScanOperator: PhysicalOperator {
    let name: String
    let arguments: [Evaluator]
    let columns: [ScopeColumn]
    let ordinality: Bool
    let rows: @Sendable ([Value], ExecutionContext) throws -> () throws -> [Value]?

    init(name: String, arguments: [Evaluator], columns: [ScopeColumn], ordinality: Bool,
         rows: @escaping @Sendable ([Value], ExecutionContext) throws -> () throws -> [Value]?) {
        self.name = name
        self.arguments = arguments
        self.columns = columns
        self.ordinality = ordinality
        self.rows = rows
    }

    var label: String { "Function Scan on \(name)" }
    /// PostgreSQL's guess for a function of unknown size.
    var estimatedRows: Double { 1000 }

    func open(_ ctx: ExecutionContext) throws -> RowStream {
        let arguments = try ctx.withFrame([]) { try self.arguments.map { try $0(ctx) } }
        let next = try rows(arguments, ctx)
        var count: Int64 = 0
        let ordinality = ordinality
        return {
            guard var row = try next() else { return nil }
            count += 1
            if ordinality { row.append(.integer(count)) }
            return row
        }
    }
}
