// Set-returning functions (PostgreSQL's SRFs) as FROM items: `generate_series` over integers,
// numerics and timestamps, `regexp_split_to_table`, and the JSON ones (json(b)_array_elements
// (_text), json(b)_each(_text), json(b)_object_keys), and Borealis's `borealis_check()`. Each
// `TableFunction` names its result columns' types for its arguments' types and produces its
// rows lazily, so `generate_series(1, 1e9)` streams without holding its rows. A call in the
// select list of a query (`SELECT generate_series(1, 3)`) is moved into FROM, as PostgreSQL
// evaluates it, when it is the only such call; calls elsewhere are 0A000 as in PostgreSQL.
// Arguments may refer to an enclosing query's columns and to the FROM items before the call
// (implicit LATERAL: FromPlanner.lateralJoin).

import BorealisStorage

struct TableFunction: Sendable {
    let names: [String]
    let arity: ClosedRange<Int>
    /// The type a `$n` argument takes at each position (the last repeats).
    let parameters: [SQLType?]
    let resultType: @Sendable ([SQLType?]) -> SQLType?
    /// The values, one per row, for the evaluated arguments (NULL in an argument: no rows,
    /// unless the function says otherwise).
    let values: @Sendable (_ arguments: [Value], _ ctx: ExecutionContext) throws -> () throws -> Value?
    /// A function of several columns (jsonb_each's key and value): their names and types, and
    /// its rows; `resultType` and `values` then go unused.
    var columns: [(name: String, type: SQLType)] = []
    var rows: (@Sendable (_ arguments: [Value], _ ctx: ExecutionContext) throws -> () throws -> [Value]?)?
    /// A function whose columns depend on its arguments (unnest of several arrays: one column
    /// per array, of its element type): their names and types for the arguments' types.
    var columnsFor: (@Sendable (_ types: [SQLType?]) -> [(name: String, type: SQLType?)]?)?
}

enum TableFunctions {
    static let functions: [String: TableFunction] = {
        var byName: [String: TableFunction] = [:]
        for function in all { for name in function.names { byName[name] = function } }
        return byName
    }()

    static func isTableFunction(_ name: String) -> Bool { functions[name] != nil }

    private static let all: [TableFunction] = json + arrays + [integrityCheck] + [
        TableFunction(names: ["generate_series"], arity: 2...3, parameters: [nil],
                      resultType: { types in
                          let common = SQLType.common(Array(types.prefix(2)))
                          if common == .smallint { return .integer }
                          if common == .date { return .timestamp }
                          return common
                      },
                      values: generateSeries),
        TableFunction(names: ["regexp_split_to_table"], arity: 2...3, parameters: [.text],
                      resultType: { _ in .text },
                      values: { arguments, _ in
                          var texts: [String] = []
                          for a in arguments {
                              guard let t = try Functions.text(a) else { return { nil } }
                              texts.append(t)
                          }
                          let options = try RegularExpression.Options(flags: texts.count > 2 ? texts[2] : "", function: "regexp_split_to_table")
                          let pieces = splitting(texts[0], by: try RegularExpression(texts[1], options))
                          var position = 0
                          return {
                              guard position < pieces.count else { return nil }
                              defer { position += 1 }
                              return .text(pieces[position])
                          }
                      }),
        // A relation's partition ancestors, itself first: Borealis has no partitions, so itself
        // (psql's \d asks for the foreign keys referencing any of them).
        TableFunction(names: ["pg_partition_ancestors"], arity: 1...1, parameters: [.regclass],
                      resultType: { _ in .regclass },
                      values: { arguments, ctx in
                          var relation: Value? = nil
                          switch arguments[0] {
                          case .null: break
                          case .text(let name):
                              guard let catalog = ctx.catalog else { break }
                              relation = .integer(try RegisteredTypes.oid(of: name, as: .regclass, catalog: catalog))
                          case let v: relation = try v.cast(to: .oid)
                          }
                          return {
                              defer { relation = nil }
                              return relation
                          }
                      }),
    ]

    /// `borealis_check()`: the full integrity check (docs/backup.md §1) as rows, one per problem
    /// found (kind, the object and page concerned, message); no rows when the database is
    /// sound. It reads the committed database at a snapshot of its own.
    private static let integrityCheck: TableFunction = {
        var check = TableFunction(names: ["borealis_check"], arity: 0...0, parameters: [],
                                  resultType: { _ in nil }, values: { _, _ in { nil } })
        check.columns = [("kind", .text), ("object", .text), ("page", .bigint), ("message", .text)]
        check.rows = { _, ctx in
            guard let txn = ctx.txn else { throw DatabaseError.internalError("borealis_check() ran without a transaction") }
            let report = try txn.engine.checkIntegrity(watch: txn.watch)
            var rows = report.problems.map { problem -> [Value] in
                [.text(problem.kind.rawValue), problem.object.map(Value.text) ?? .null,
                 problem.page.map { .integer(Int64(clamping: $0)) } ?? .null, .text(problem.message)]
            }
            if report.omittedProblems > 0 {
                rows.append([.text("omitted"), .null, .null, .text("\(report.omittedProblems) more problems not listed")])
            }
            var remaining = rows.makeIterator()
            return { remaining.next() }
        }
        return check
    }()

    /// The pieces of `s` between matches; an empty match at either end of the string or right
    /// after another match splits nothing (PostgreSQL's rule).
    static func splitting(_ s: String, by expression: RegularExpression) -> [String] {
        var pieces: [String] = []
        var pieceStart = s.startIndex
        var lastEnd: String.Index?
        for match in expression.matches(in: s, from: s.startIndex) {
            let range = match.range
            if range.isEmpty, range.lowerBound == s.startIndex || range.lowerBound == s.endIndex || range.lowerBound == lastEnd { continue }
            pieces.append(String(s[pieceStart..<range.lowerBound]))
            pieceStart = range.upperBound
            lastEnd = range.upperBound
        }
        pieces.append(String(s[pieceStart...]))
        return pieces
    }

    /// generate_series(start, stop [, step]): integers (step 1 by default), numerics, or
    /// timestamps with an interval step; an empty series when the step points away from stop.
    @Sendable static func generateSeries(_ arguments: [Value], _ ctx: ExecutionContext) throws -> () throws -> Value? {
        if arguments.contains(where: \.isNull) { return { nil } }
        let start = arguments[0], stop = arguments[1]
        let integerStep: Int64?
        if arguments.count == 3 {
            if case .integer(let s) = arguments[2] { integerStep = s } else { integerStep = nil }
        } else {
            integerStep = 1
        }
        switch (start, stop) {
        case (.integer(let first), .integer(let last)) where integerStep != nil:
            let step = integerStep ?? 1
            if step == 0 { throw zeroStep() }
            var next: Int64? = first
            return {
                guard let current = next, step > 0 ? current <= last : current >= last else { return nil }
                try ctx.pollInterrupt()
                let (following, overflow) = current.addingReportingOverflow(step)
                next = overflow ? nil : following
                return .integer(current)
            }
        case (.timestamp, _), (.timestamptz, _), (.date, _):
            guard arguments.count == 3 else {
                throw DatabaseError(.error, sqlState: SQLState.undefinedFunction,
                                    "function generate_series(\(start.typeName), \(stop.typeName)) does not exist")
            }
            let step = try arguments[2].cast(to: .interval)
            guard case .interval(let interval) = step else { throw seriesTypeError(arguments) }
            // A step that compares equal to zero ('1 month -30 days') is no step either.
            if try interval == Interval() || Value.compare(step, .interval(Interval())) == 0 { throw zeroStep() }
            let forward = (try Value.compare(step, .interval(Interval())) ?? 1) > 0
            let typed: SQLType = { if case .timestamptz = start { return .timestamptz } else { return .timestamp } }()
            var current = try start.cast(to: typed)
            let last = try stop.cast(to: typed)
            var done = false
            return {
                guard !done, let c = try Value.compare(current, last), forward ? c <= 0 : c >= 0 else { return nil }
                try ctx.pollInterrupt()
                let value = current
                do { current = try Value.arithmetic(.add, current, step) } catch { done = true }
                return value
            }
        default:
            // Numeric, or integers mixed with numerics.
            let first = try start.cast(to: .numeric), last = try stop.cast(to: .numeric)
            let step = arguments.count == 3 ? try arguments[2].cast(to: .numeric) : .numeric(Numeric(1, scale: 0))
            guard case .numeric = first, case .numeric = last, case .numeric(let s) = step else { throw seriesTypeError(arguments) }
            if s.value == 0 { throw zeroStep() }
            let forward = s.value > 0
            var current = first
            return {
                guard let c = try Value.compare(current, last), forward ? c <= 0 : c >= 0 else { return nil }
                try ctx.pollInterrupt()
                let value = current
                current = try Value.arithmetic(.add, current, step)
                return value
            }
        }
    }

    private static func zeroStep() -> DatabaseError {
        DatabaseError(.error, sqlState: SQLState.invalidParameterValue, "step size cannot equal zero")
    }

    private static func seriesTypeError(_ arguments: [Value]) -> DatabaseError {
        DatabaseError(.error, sqlState: SQLState.undefinedFunction,
                      "function generate_series(\(arguments.map(\.typeName).joined(separator: ", "))) does not exist")
    }

    // MARK: Calls in the select list

    /// The FROM item a select-list call becomes: a name no query can write.
    static let selectListAlias = "\u{1}srf"

    /// A select list holding exactly one set-returning call (anywhere in its expressions) gets
    /// that call as a FROM item joined to the others, the call replaced by its column; more than
    /// one such call is 0A000 (PostgreSQL runs them in lockstep, which Borealis does not yet).
    static func movingSetReturningCalls(_ core: SelectCore) throws -> SelectCore {
        // Most select lists hold no such call: found with the planner's light walk first.
        let holdsCall = core.items.contains { item in
            guard case .expression(let e, _) = item else { return false }
            var found = false
            Planner.walk(e) { if case .function(let name, _, _, _) = $0, isTableFunction(name) { found = true } }
            return found
        }
        guard holdsCall else { return core }
        for item in core.items { if case .expression(let e, _) = item { try refuseSetReturningInAggregates(e) } }
        var calls: [(String, [Expr])] = []
        func find(_ e: Expr) -> Expr {
            e.rewriting { sub in
                guard case .function(let name, let args, false, false) = sub, isTableFunction(name) else { return nil }
                calls.append((name, args))
                return .column(table: selectListAlias, name: name)
            }
        }
        var items: [SelectItem] = []
        for item in core.items {
            if case .expression(let e, let alias) = item {
                let rewritten = find(e)
                // The column keeps the call's name (`generate_series`), as PostgreSQL names it.
                if case .function(let name, _, _, _) = e, case .column = rewritten, alias == nil {
                    items.append(.expression(rewritten, alias: name))
                } else {
                    items.append(.expression(rewritten, alias: alias))
                }
            } else {
                items.append(item)
            }
        }
        guard !calls.isEmpty else { return core }
        if let (name, _) = calls.first(where: { functions[$0.0]?.columns.isEmpty == false }) {
            throw DatabaseError(.error, sqlState: SQLState.featureNotSupported,
                                "\(name)() in a select list returns records, which Borealis does not have: call it in FROM")
        }
        guard calls.count == 1, let (name, args) = calls.first else {
            throw DatabaseError(.error, sqlState: SQLState.featureNotSupported,
                                "more than one set-returning function in a select list is not supported yet")
        }
        var result = core
        result.items = items
        // In an aggregated query the call runs over the grouped rows (TableFunctions+Aggregates.swift).
        if isAggregated(core) { return try groupedThenSetReturning(result, name: name, args: args) }
        let item = FromItem.function(name: name, args: args, alias: selectListAlias, columns: [name], ordinality: false)
        result.from = core.from.isEmpty ? [item] : [.join(core.from.count == 1 ? core.from[0] : crossJoined(core.from), item,
                                                          kind: .cross, on: nil, using: [], natural: false)]
        return result
    }

    private static func crossJoined(_ items: [FromItem]) -> FromItem {
        items.dropFirst().reduce(items[0]) { .join($0, $1, kind: .cross, on: nil, using: [], natural: false) }
    }
}

extension Planner {
    /// A set-returning function as a FROM item: its arguments compiled against the enclosing
    /// query (they cannot see FROM items beside it), its column named by the column list, else
    /// by the alias, else by the function; WITH ORDINALITY adds a bigint `ordinality` column.
    func planFunctionScan(_ name: String, _ args: [Expr], alias: String?, names: [String], ordinality: Bool,
                          parent: Scope?) throws -> SourcePlan {
        guard let function = TableFunctions.functions[name] else {
            if FunctionRegistry.functions[name] != nil {
                throw DatabaseError(.error, sqlState: SQLState.featureNotSupported,
                                    "function \(name)() in FROM is not supported yet (only set-returning functions)")
            }
            throw DatabaseError(.error, sqlState: SQLState.undefinedFunction, "function \(name)() does not exist")
        }
        let compiler = ExpressionCompiler(scope: Scope(columns: [], parent: parent), planner: self, aggregation: nil,
                                          clause: "functions in FROM")
        let types = args.map(compiler.staticType)
        guard function.arity.contains(args.count) else {
            throw DatabaseError(.error, sqlState: SQLState.undefinedFunction,
                                "function \(name)(\(types.map { $0?.displayName ?? "unknown" }.joined(separator: ", "))) does not exist")
        }
        for (i, arg) in args.enumerated() {
            guard case .parameter(let n) = arg else { continue }
            let declared = function.parameters[min(i, function.parameters.count - 1)]
            parameterTypes.note(n, declared ?? SQLType.common(types.enumerated().filter { $0.offset != i }.map(\.element)))
        }
        let evaluators = try args.map { try compiler.compile($0) }
        let label = alias ?? name
        // One column is named by the alias (or the function); several keep their own names.
        let own: [(name: String, type: SQLType?)] = function.columnsFor?(types) ?? (function.columns.isEmpty
            ? [(alias ?? name, function.resultType(types))] : function.columns.map { ($0.name, $0.type) })
        if own.count > 1, alias == TableFunctions.selectListAlias {
            throw DatabaseError(.error, sqlState: SQLState.featureNotSupported,
                                "\(name)() of several arguments in a select list is not supported: call it in FROM")
        }
        let width = own.count + (ordinality ? 1 : 0)
        guard names.count <= width else {
            throw DatabaseError(.error, sqlState: SQLState.syntaxError,
                                "table \"\(label)\" has \(width) columns available but \(names.count) columns specified")
        }
        // A call moved out of the select list is hidden from `*` (its column is the call itself).
        var columns = own.enumerated().map { i, column in
            ScopeColumn(table: label, name: i < names.count ? names[i] : column.name, hidden: label == TableFunctions.selectListAlias,
                        type: column.type)
        }
        if ordinality { columns.append(ScopeColumn(table: label, name: names.count > own.count ? names[own.count] : "ordinality", type: .bigint)) }
        let rows: @Sendable ([Value], ExecutionContext) throws -> () throws -> [Value]?
        if let multi = function.rows {
            rows = multi
        } else {
            let values = function.values
            rows = { arguments, ctx in
                let next = try values(arguments, ctx)
                return { try next().map { [$0] } }
            }
        }
        let scan = FunctionScanOperator(name: name, arguments: evaluators, columns: columns, ordinality: ordinality, rows: rows)
        return SourcePlan(op: scan, columns: columns)
    }
}
