// The functions that read COMMENT ON texts from the catalog (StatementExecutor+CreateAs):
// obj_description(relation [, catalog]) and col_description(relation, column number), as
// PostgreSQL's, but taking the relation's name where PostgreSQL takes its oid (Borealis has no
// oids yet; a regclass argument, when there is one, is its name).

import BorealisStorage

extension FunctionRegistry {
    static let comments: [ScalarFunction] = [
        ScalarFunction(["obj_description"], arity: 1...2, result: .fixed(.text), parameters: [.text, .text], volatility: .stable) { _, args in
            { ctx in
                guard let name = try Functions.text(try args[0](ctx)) else { return .null }
                if args.count == 2, let kind = try Functions.text(try args[1](ctx)), kind != "pg_class" { return .null }
                return ctx.catalog?.comment(relation: name, column: nil).map(Value.text) ?? .null
            }
        },
        ScalarFunction(["col_description"], arity: 2...2, result: .fixed(.text), parameters: [.text, .integer], volatility: .stable) { _, args in
            { ctx in
                guard let name = try Functions.text(try args[0](ctx)), case .integer(let number) = try args[1](ctx),
                      let catalog = ctx.catalog else { return .null }
                let columns = catalog.tables[name]?.columns.map(\.name) ?? catalog.views[name]?.columns ?? []
                guard number >= 1, number <= Int64(columns.count) else { return .null }
                return catalog.comment(relation: name, column: columns[Int(number - 1)]).map(Value.text) ?? .null
            }
        },
    ]
}

extension Catalog {
    /// The COMMENT ON text of a relation, or of one of its columns.
    package func comment(relation: String, column: String?) -> String? {
        comments[StatementExecutor.commentKey(relation, column: column)]
    }
}
