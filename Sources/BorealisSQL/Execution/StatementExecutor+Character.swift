// char(n) on the write path, as PostgreSQL stores it: a value assigned to a char(n) column is
// blank-padded to n (longer: cut when the rest is blanks, else 22001), so rows stored now hold
// padded values and their index keys are padded too; a char value assigned to a text or varchar
// column loses its trailing blanks (PostgreSQL's bpchar → text assignment cast), decided when the
// statement is compiled (`assigned`) or, for INSERT … SELECT, from the query's declared types.
//
// Compatibility: rows written by builds before this one may hold char(n) values unpadded (or
// with any trailing blanks). Every read of a char(n) column pads it (ScopeColumn.padding, also
// for the row scopes of RETURNING, UPDATE/DELETE WHERE and checks: `rowScope`), comparisons
// ignore trailing blanks, and no index probe keys on a char(n) column (the WHERE filter
// decides), so such rows read, compare and are found as the padded ones are. An UPDATE of such
// a row stores it padded. A unique index still holds their keys as written: 'ab' stored before
// and 'ab   ' stored now do not collide.

import BorealisStorage

extension StatementExecutor {
    /// The scope of one row of a table (checks, RETURNING, UPDATE/DELETE WHERE, generated
    /// columns): a char(n) column reads padded, as in a query's scan.
    static func rowScope(_ columns: [ColumnSchema], label: String) -> Scope {
        Scope(columns: columns.map { column in
            var c = ScopeColumn(table: label, name: column.name, type: column.type)
            if column.type == .char, let n = column.modifiers.first { c.padding = n }
            return c
        }, parent: nil)
    }

    /// A char(n) column's stored value: `s` blank-padded to `limit`; longer is cut when the rest
    /// is blanks, else 22001.
    static func storedCharacter(_ s: String, limit: Int?, type: SQLType) throws -> String {
        guard let limit else { return s }
        let count = s.count
        if count > limit {
            guard s.dropFirst(limit).allSatisfy({ $0 == " " }) else {
                throw DatabaseError(.range, sqlState: SQLState.stringDataRightTruncation,
                                    "value too long for type \(type == .char ? "character" : "character varying")(\(limit))")
            }
            return String(s.prefix(limit))
        }
        if type == .char && count < limit { return s + String(repeating: " ", count: limit - count) }
        return s
    }

    /// `e` as it is assigned to `column`: a char value into a text or varchar column through a
    /// cast to text, which strips its trailing blanks.
    static func assigned(_ e: Expr, to column: ColumnSchema, _ compiler: ExpressionCompiler) -> Expr {
        guard column.type == .text || column.type == .varchar, compiler.isCharacter(e) else { return e }
        return .cast(e, TypeName(type: .text))
    }

    /// For INSERT … SELECT: the positions of the query's columns whose char values lose their
    /// trailing blanks (a char column going into a text or varchar one).
    static func strippedPositions(_ declared: [SQLType?], targets: [Int], _ schema: TableSchema) -> [Int] {
        declared.indices.filter { k in
            guard declared[k] == .char, k < targets.count else { return false }
            let type = schema.columns[targets[k]].type
            return type == .text || type == .varchar
        }
    }

    /// A char(n) column's value as RETURNING * gives it: padded (a row stored by an older build
    /// may hold it unpadded).
    static func returnedColumn(_ column: ColumnSchema, at i: Int) -> Evaluator {
        guard column.type == .char, let n = column.modifiers.first else { return { ctx in ctx.frames[ctx.frames.count - 1][i] } }
        return { ctx in
            guard case .text(let s) = ctx.frames[ctx.frames.count - 1][i] else { return ctx.frames[ctx.frames.count - 1][i] }
            return .text(ExpressionCompiler.paddedCharacter(s, n))
        }
    }
}
