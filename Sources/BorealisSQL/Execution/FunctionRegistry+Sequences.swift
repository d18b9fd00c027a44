// The sequence functions (docs/sql.md, "Sequences"): nextval, currval, setval, lastval, and
// pg_get_serial_sequence. All volatile: never folded into constants, evaluated per row.

import BorealisStorage

extension FunctionRegistry {
    static let sequences: [ScalarFunction] = [
        ScalarFunction(["nextval"], arity: 1...1, result: .fixed(.bigint), parameters: [.text], volatility: .volatile) { _, args in
            { ctx in
                guard let name = try Functions.text(try args[0](ctx)) else { return .null }
                return .integer(try Sequences.next(try Sequences.resolve(name, ctx), ctx))
            }
        },
        ScalarFunction(["currval"], arity: 1...1, result: .fixed(.bigint), parameters: [.text], volatility: .volatile) { _, args in
            { ctx in
                guard let name = try Functions.text(try args[0](ctx)) else { return .null }
                let sequence = try Sequences.resolve(name, ctx)
                guard let value = ctx.session?.sequenceValues.current(sequence.name) else {
                    throw DatabaseError(.error, sqlState: SQLState.objectNotInPrerequisiteState,
                                        "currval of sequence \"\(sequence.name)\" is not yet defined in this session")
                }
                return .integer(value)
            }
        },
        ScalarFunction(["lastval"], arity: 0...0, result: .fixed(.bigint), parameters: [], volatility: .volatile) { _, _ in
            { ctx in
                guard let (name, value) = ctx.session?.sequenceValues.lastUsed, ctx.catalog?.sequences[name] != nil else {
                    throw DatabaseError(.error, sqlState: SQLState.objectNotInPrerequisiteState, "lastval is not yet defined in this session")
                }
                return .integer(value)
            }
        },
        ScalarFunction(["setval"], arity: 2...3, result: .fixed(.bigint), parameters: [.text, .bigint, .boolean], volatility: .volatile) { _, args in
            { ctx in
                guard let name = try Functions.text(try args[0](ctx)) else { return .null }
                let target = try args[1](ctx)
                var isCalled = true
                if args.count == 3 {
                    let flag = try args[2](ctx)
                    if flag.isNull { return .null }
                    isCalled = try flag.truth() == true
                }
                if target.isNull { return .null }
                guard case .integer(let value) = try target.cast(to: .bigint) else { return .null }
                try Sequences.set(try Sequences.resolve(name, ctx), to: value, isCalled: isCalled, ctx)
                return .integer(value)
            }
        },
        // Field i of a sequence's row (SELECT * FROM s): 0 last_value, 1 log_cnt, 2 is_called.
        ScalarFunction(["borealis_sequence_field"], arity: 2...2, result: .fixed(.bigint), parameters: [.text, .integer], volatility: .volatile) { _, args in
            { ctx in
                guard let name = try Functions.text(try args[0](ctx)), case .integer(let field) = try args[1](ctx) else { return .null }
                let sequence = try Sequences.resolve(name, ctx)
                let value = try Sequences.current(sequence, in: ctx.txn)
                switch field {
                case 0: return .integer(value.last)
                case 1: return .integer(value.logCount)
                default: return .integer(value.isCalled ? 1 : 0)
                }
            }
        },
        // PostgreSQL's pg_sequence_last_value: NULL until the sequence is first used.
        ScalarFunction(["pg_sequence_last_value"], arity: 1...1, result: .fixed(.bigint), parameters: [.text], volatility: .volatile) { _, args in
            { ctx in
                guard let name = try Functions.text(try args[0](ctx)) else { return .null }
                let value = try Sequences.current(try Sequences.resolve(name, ctx), in: ctx.txn)
                return value.isCalled ? .integer(value.last) : .null
            }
        },
        // The sequence an identity or serial column takes its values from, as 'public.t_id_seq'.
        ScalarFunction(["pg_get_serial_sequence"], arity: 2...2, result: .fixed(.text), parameters: [.text, .text], volatility: .stable) { _, args in
            { ctx in
                guard let tableText = try Functions.text(try args[0](ctx)), let columnText = try Functions.text(try args[1](ctx)) else { return .null }
                let parts = try Sequences.splitQualifiedName(tableText)
                guard let tableName = parts.last, parts.count <= 2 else {
                    throw DatabaseError(.error, sqlState: SQLState.invalidParameterValue, "improper relation name (too many dotted names): \(tableText)")
                }
                guard let table = ctx.catalog?.tables[tableName] else {
                    throw DatabaseError(.error, sqlState: SQLState.undefinedTable, "relation \"\(tableText)\" does not exist")
                }
                // As in PostgreSQL, the table name is parsed (folded unless quoted), the column
                // name taken literally.
                let columnName = columnText
                guard let column = table.columns.first(where: { $0.name == columnName }) else {
                    throw DatabaseError(.error, sqlState: SQLState.undefinedColumn, "column \"\(columnName)\" of relation \"\(table.name)\" does not exist")
                }
                guard let sequence = column.sequence else { return .null }
                return .text("public." + quoteIdentifier(sequence))
            }
        },
    ]
}
