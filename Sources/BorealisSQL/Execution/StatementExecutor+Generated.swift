// Generated columns: GENERATED ALWAYS AS (expression) STORED. The expression is kept as SQL in
// the column's schema (ColumnSchema.generatedSQL) and computed from the row's other columns
// every time a row is stored (INSERT, UPDATE, ON CONFLICT DO UPDATE, ALTER TABLE rewrites), so
// the stored value always matches it. Checked as PostgreSQL checks it: it reads only the
// row's non-generated columns (42P17), calls only immutable functions (42P17), has no
// subquery (0A000); a value given for it is 428C9.

import BorealisStorage

extension StatementExecutor {
    /// The table's generated columns, each with its compiled expression over the row.
    func generationEvaluators(_ schema: TableSchema, catalog: Catalog) throws -> [(Int, Evaluator)] {
        guard schema.columns.contains(where: { $0.generatedSQL != nil }) else { return [] }
        let (_, compiler) = Self.rowCompiler(schema.columns, label: schema.name, catalog: catalog, clause: "column generation expressions")
        return try schema.columns.indices.compactMap { i in
            guard let sql = schema.columns[i].generatedSQL else { return nil }
            return (i, try compiler.compile(Self.assigned(try Self.parseExpression(sql), to: schema.columns[i], compiler)))
        }
    }

    /// Sets the generated columns of `row` from its other columns (cast to their types first,
    /// as the expression reads them).
    func fillGenerated(_ row: inout [Value], for w: TableWriter, ctx: ExecutionContext) throws {
        for i in w.storedAsIs.indices where w.schema.columns[i].generatedSQL == nil && !w.storedAsIs[i].accepts(row[i]) {
            row[i] = try assign(row[i], to: w.schema.columns[i])
        }
        let base = row
        for (i, evaluate) in w.generated { row[i] = try ctx.withFrame(base) { try evaluate(ctx) } }
    }

    /// Checks the generation expressions of `columns` (a table's, new or altered).
    func validateGeneration(_ columns: [ColumnSchema], table: String) throws {
        let generated = Set(columns.filter { $0.generatedSQL != nil }.map(\.name))
        for column in columns {
            guard let sql = column.generatedSQL else { continue }
            let e = try Self.parseExpression(sql)
            for (_, name) in Planner.columnReferences(e) where generated.contains(name) {
                throw DatabaseError(.error, sqlState: SQLState.invalidObjectDefinition,
                                    "cannot use generated column \"\(name)\" in column generation expression")
            }
            var volatile: String?
            Planner.walk(e) { node in
                if case .function(let name, _, _, _) = node, FunctionRegistry.isVolatile(name) { volatile = volatile ?? name }
            }
            if volatile != nil {
                throw DatabaseError(.error, sqlState: SQLState.invalidObjectDefinition, "generation expression is not immutable")
            }
            let (_, compiler) = Self.rowCompiler(columns, label: table, catalog: catalog, clause: "column generation expressions")
            _ = try compiler.compile(e)
        }
    }

    /// A generation expression as parsed: no subquery (which its SQL text would not keep).
    static func checkGenerationSyntax(_ e: Expr) throws {
        var subquery = false
        Planner.walk(e) { node in
            switch node {
            case .subquery, .exists, .inSubquery, .quantified: subquery = true
            default: break
            }
        }
        if subquery {
            throw DatabaseError(.error, sqlState: SQLState.featureNotSupported, "cannot use subquery in column generation expression")
        }
    }

    /// The generated columns of `table` whose expression reads `column`.
    static func generatedColumns(of table: TableSchema, reading column: String) -> [String] {
        table.columns.filter { c in
            guard let sql = c.generatedSQL, let e = try? parseExpression(sql) else { return false }
            return Planner.columnReferences(e).contains { $0.1 == column }
        }.map(\.name)
    }

    /// ALTER TABLE … ADD COLUMN … GENERATED ALWAYS AS (…) STORED: the column, computed for
    /// every row already there.
    func addGeneratedColumn(_ column: ColumnSchema, to table: inout TableSchema) throws {
        try validateGeneration(table.columns + [column], table: table.name)
        var widened = table
        widened.columns.append(column)
        let position = widened.columns.count - 1
        let (_, compiler) = Self.rowCompiler(widened.columns, label: table.name, catalog: catalog, clause: "column generation expressions")
        let evaluate = try compiler.compile(Self.assigned(try Self.parseExpression(column.generatedSQL ?? "NULL"), to: column, compiler))
        let ctx = context()
        let name = table.name
        try rewriteRows(widened) { row in
            var row = row
            while row.count < widened.columns.count { row.append(.null) }
            let base = row
            row[position] = try assign(try ctx.withFrame(base) { try evaluate(ctx) }, to: column)
            if column.notNull && row[position].isNull {
                throw DatabaseError(.constraint, sqlState: SQLState.notNullViolation, "column \"\(column.name)\" of relation \"\(name)\" contains null values")
            }
            return row
        }
        table = widened
    }
}
