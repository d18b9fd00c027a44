// The syntax tree the parser produces and the planner consumes. Names are already folded to
// lower case unless they were quoted (PostgreSQL's rule).

import BorealisStorage

package struct TypeName: Equatable, Sendable {
    var type: SQLType
    var modifiers: [Int] = []
    /// SERIAL / BIGSERIAL / SMALLSERIAL: an integer column with an identity default, not a type
    /// of its own (a cast to it fails).
    var serial = false

    /// As written back into SQL (and as the catalog stores the column's type).
    var name: String { serial ? (type == .bigint ? "bigserial" : type == .smallint ? "smallserial" : "serial") : type.name }
}

package enum UnaryOperator: Sendable { case negate, plus, not }

package enum BinaryOperator: String, Sendable {
    case add = "+", subtract = "-", multiply = "*", divide = "/", modulo = "%"
    case concat = "||"
    case regexMatch = "~", regexMatchInsensitive = "~*", regexNotMatch = "!~", regexNotMatchInsensitive = "!~*"
    case jsonGet = "->", jsonGetText = "->>", jsonPath = "#>", jsonPathText = "#>>"
    case jsonContains = "@>", jsonContainedBy = "<@", jsonHasKey = "?"
    /// Arrays: whether they share an element.
    case overlaps = "&&"
    /// jsonb: whether any / all of a text[]'s strings are keys.
    case jsonHasAnyKey = "?|", jsonHasAllKeys = "?&"
    /// LIKE and ILIKE as PostgreSQL's operators, for `x LIKE ANY (array)`.
    case like = "~~", notLike = "!~~", ilike = "~~*", notIlike = "!~~*"

    /// `~`, `~*`, `!~` or `!~*`.
    var isRegexMatch: Bool { [.regexMatch, .regexMatchInsensitive, .regexNotMatch, .regexNotMatchInsensitive].contains(self) }
    case equal = "=", notEqual = "<>", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
    case and = "AND", or = "OR"
    case isDistinctFrom = "IS DISTINCT FROM", isNotDistinctFrom = "IS NOT DISTINCT FROM"
}

package indirect enum Expr: Sendable {
    case literal(Value)
    case column(table: String?, name: String)
    case parameter(Int)
    case unary(UnaryOperator, Expr)
    case binary(BinaryOperator, Expr, Expr)
    case isNull(Expr, negated: Bool)
    case isBoolean(Expr, value: Bool, negated: Bool)
    case between(Expr, low: Expr, high: Expr, negated: Bool)
    case inList(Expr, [Expr], negated: Bool)
    case inSubquery(Expr, SelectStatement, negated: Bool)
    case exists(SelectStatement, negated: Bool)
    case subquery(SelectStatement)
    case caseWhen(base: Expr?, whens: [(Expr, Expr)], otherwise: Expr?)
    case cast(Expr, TypeName)
    case function(name: String, args: [Expr], distinct: Bool, star: Bool)
    case like(Expr, pattern: Expr, escape: Expr?, caseInsensitive: Bool, negated: Bool)
    /// An aggregate call with FILTER (WHERE condition).
    case aggregateFilter(Expr, Expr)
    /// An aggregate call with ORDER BY inside its parentheses: `string_agg(x, ',' ORDER BY x)`.
    case orderedAggregate(Expr, [OrderItem])
    /// A window function call: the call (a function, perhaps filtered) OVER (spec).
    case window(Expr, WindowSpec)
    /// DEFAULT as the value of an UPDATE assignment.
    case defaultValue
    /// x op ANY (subquery) / x op ALL (subquery)
    case quantified(BinaryOperator, Expr, SelectStatement, all: Bool)
    /// ARRAY[a, b, …] (an inner `[…]` of a multi-dimensional constructor is one too).
    case array([Expr])
    /// ARRAY(SELECT …)
    case arraySubquery(SelectStatement)
    /// a[i], a[i:j], a[i][j]: one subscript per dimension.
    case subscripted(Expr, [ArraySubscript])
    /// x op ANY (array) / x op ALL (array)
    case quantifiedArray(BinaryOperator, Expr, Expr, all: Bool)
}

/// One subscript: `[i]` (upper only, not a slice) or `[i:j]`, `[i:]`, `[:j]`, `[:]`.
package struct ArraySubscript: Sendable {
    var lower: Expr?
    var upper: Expr?
    var isSlice: Bool
}

package enum FrameBound: Sendable, Equatable {
    case unboundedPreceding, preceding(Int), currentRow, following(Int), unboundedFollowing
}

package struct WindowFrame: Sendable {
    var rows: Bool   // ROWS (else RANGE)
    var start: FrameBound
    var end: FrameBound
}

package struct WindowSpec: Sendable {
    /// `OVER w` or `OVER (w ORDER BY …)`: the named window of the WINDOW clause this one starts
    /// from (resolved away by the parser).
    var base: String?
    var partition: [Expr] = []
    var order: [OrderItem] = []
    var frame: WindowFrame?
}

package enum SelectItem: Sendable {
    case star(table: String?)
    case expression(Expr, alias: String?)
}

package enum JoinKind: Sendable { case inner, left, right, full, cross }

package indirect enum FromItem: Sendable {
    case table(name: String, alias: String?)
    case subquery(SelectStatement, alias: String, columns: [String])
    case join(FromItem, FromItem, kind: JoinKind, on: Expr?, using: [String], natural: Bool)
    /// A set-returning function: `generate_series(1, 3) [WITH ORDINALITY] [AS] alias [(columns)]`.
    case function(name: String, args: [Expr], alias: String?, columns: [String], ordinality: Bool)
}

package struct SelectCore: Sendable {
    var distinct = false
    var distinctOn: [Expr] = []
    var items: [SelectItem] = []
    var from: [FromItem] = []
    var filter: Expr?
    var groupBy: [Expr] = []
    var having: Expr?
    /// SELECT … INTO [TEMP] [TABLE] name: a CREATE TABLE AS in disguise (Parser+DDL).
    var into: (name: String, temporary: Bool)?
}

package enum SetOperator: Sendable { case union, intersect, except }

package indirect enum SelectBody: Sendable {
    case core(SelectCore)
    case values([[Expr]])
    case setOperation(SetOperator, all: Bool, SelectBody, SelectBody)
    case nested(SelectStatement)
}

package struct OrderItem: Sendable {
    var expr: Expr
    var descending = false
    var nullsFirst: Bool?
}

package struct CommonTableExpression: Sendable {
    var name: String
    var columns: [String]
    var query: SelectStatement
    /// `name AS (INSERT/UPDATE/DELETE … RETURNING …)`: run once before the query, its returned
    /// rows then being `query` (StatementExecutor+DataModifyingCTE.swift).
    var modifying: Statement?
}

extension SelectStatement {
    /// Whether a CTE of this statement's own WITH clause writes.
    package var hasDataModifyingCTE: Bool { with.contains { $0.modifying != nil } }
}

package struct SelectStatement: Sendable {
    var with: [CommonTableExpression] = []
    var recursive = false
    var body: SelectBody
    var orderBy: [OrderItem] = []
    var limit: Expr?
    var offset: Expr?
    /// FETCH FIRST n ROWS WITH TIES: the rows equal to the last one in ORDER BY come too.
    var withTies = false
}

package struct ColumnDefinition: Sendable {
    var name: String
    var type: TypeName
    var notNull = false
    var primaryKey = false
    var unique = false
    var defaultValue: Expr?
    var check: Expr?
    var autoIncrement = false
    var references: ForeignKeyReference?
    /// GENERATED ALWAYS | BY DEFAULT AS IDENTITY [( sequence options )].
    var generated: IdentityGeneration?
    var identityOptions: [SequenceOption] = []
    /// GENERATED ALWAYS AS (expression) STORED.
    var generatedExpression: Expr?
    /// `CONSTRAINT name` before a column's CHECK or REFERENCES: its name, by "check" / "references".
    var constraintNames: [String: String] = [:]
}

/// An option of CREATE/ALTER SEQUENCE or of an identity column's sequence.
package enum SequenceOption: Sendable {
    case type(SQLType)
    case increment(Int64)
    /// nil: NO MINVALUE / NO MAXVALUE.
    case minValue(Int64?)
    case maxValue(Int64?)
    case start(Int64)
    /// RESTART [WITH n] (ALTER only); nil: the start value.
    case restart(Int64?)
    case cache(Int64)
    case cycle(Bool)
    /// OWNED BY table.column; nil: OWNED BY NONE.
    case ownedBy((table: String, column: String)?)
    /// SEQUENCE NAME n (identity column options only).
    case sequenceName(String)

    /// Options of one kind conflict when given twice (42601 "conflicting or redundant options").
    var kind: String {
        switch self {
        case .type: return "as"
        case .increment: return "increment"
        case .minValue: return "minvalue"
        case .maxValue: return "maxvalue"
        case .start: return "start"
        case .restart: return "restart"
        case .cache: return "cache"
        case .cycle: return "cycle"
        case .ownedBy: return "owned"
        case .sequenceName: return "name"
        }
    }
}

package enum SequenceStatement: Sendable {
    case create(name: String, ifNotExists: Bool, options: [SequenceOption], temporary: Bool)
    case alter(name: String, ifExists: Bool, options: [SequenceOption])
    case drop(names: [String], ifExists: Bool, cascade: Bool)
}

/// INSERT … OVERRIDING SYSTEM VALUE | OVERRIDING USER VALUE.
package enum Overriding: Sendable { case systemValue, userValue }

package enum ReferentialAction: String, Codable, Sendable {
    case noAction = "NO ACTION", restrict = "RESTRICT", cascade = "CASCADE", setNull = "SET NULL", setDefault = "SET DEFAULT"
}

package struct ForeignKeyReference: Sendable {
    var table: String
    var columns: [String]
    var onDelete = ReferentialAction.noAction
    var onUpdate = ReferentialAction.noAction
}

package enum TableConstraint: Sendable {
    case primaryKey([String], name: String?)
    case unique([String], name: String?)
    case check(Expr, name: String?)
    case foreignKey([String], ForeignKeyReference, name: String?)
    /// LIKE source [INCLUDING | EXCLUDING DEFAULTS | CONSTRAINTS | INDEXES | ALL …] in CREATE
    /// TABLE: the options that end up included.
    case like(String, including: Set<String>)
}

package indirect enum Statement: Sendable {
    case select(SelectStatement)
    /// `onCommit` is nil without an ON COMMIT clause (docs/temporary-tables.md).
    case createTable(name: String, ifNotExists: Bool, columns: [ColumnDefinition], constraints: [TableConstraint], temporary: Bool, onCommit: OnCommitAction?)
    /// Index elements are column references or expressions.
    case createIndex(name: String, table: String, elements: [Expr], unique: Bool, ifNotExists: Bool)
    case createView(name: String, ifNotExists: Bool, columns: [String], query: SelectStatement, sql: String, temporary: Bool)
    case dropTable(names: [String], ifExists: Bool)
    case dropIndex(names: [String], ifExists: Bool)
    case dropView(names: [String], ifExists: Bool)
    case insert(table: String, columns: [String]?, source: InsertSource, onConflict: OnConflict?, returning: [SelectItem],
                overriding: Overriding? = nil)
    case update(table: String, alias: String?, assignments: [(String, Expr)], from: [FromItem], filter: Expr?, returning: [SelectItem])
    case delete(table: String, alias: String?, using: [FromItem], filter: Expr?, returning: [SelectItem])
    /// EXPLAIN; with ANALYZE the statement runs and each operator reports what it did.
    case explain(Statement, analyze: Bool)
    case truncate(names: [String], restartIdentity: Bool = false)
    /// CREATE / ALTER / DROP SEQUENCE.
    case sequence(SequenceStatement)
    /// ANALYZE: statistics of the named tables (all permanent tables when none is named); a
    /// table's column list, when given, names columns that must exist.
    case analyze(names: [String], columns: [[String]])
    case alterTable(name: String, action: AlterAction)
    /// CREATE OR REPLACE VIEW, CREATE TABLE … AS, COMMENT ON (StatementExecutor+CreateAs,
    /// +Dependencies).
    case ddl(DDLStatement)
    case begin(immediate: Bool, readOnly: Bool)
    case commit
    case rollback
    case savepoint(String)
    case releaseSavepoint(String)
    case rollbackToSavepoint(String)
    /// SET [SESSION | LOCAL] name { TO | = } value | DEFAULT (nil), and SET TIME ZONE.
    case set(name: String, value: String?, local: Bool)
    /// SHOW name | ALL.
    case show(name: String)
    /// RESET name | ALL.
    case reset(name: String)
    /// VACUUM [FULL] [FREEZE] [VERBOSE] [ANALYZE] [table, …]: Borealis has nothing to vacuum;
    /// with ANALYZE it gathers statistics as ANALYZE does.
    case vacuum(analyze: Bool, names: [String])
    /// PREPARE name [(types)] AS statement: kept by the connection until DEALLOCATE or close;
    /// `parameterCount` counts the statement's own `$n`.
    case prepare(name: String, types: [TypeName], statement: Statement, text: String, parameterCount: Int)
    /// EXECUTE name [(arguments)].
    case execute(name: String, arguments: [Expr])
    /// DEALLOCATE [PREPARE] name, or ALL (nil).
    case deallocate(name: String?)
    /// CREATE SCHEMA / DROP SCHEMA (SchemaCommands.swift: only the built-in schemas exist).
    case schema(names: [String], create: Bool, ifClause: Bool)
}

package enum DDLStatement: Sendable {
    case replaceView(name: String, columns: [String], query: SelectStatement, sql: String, temporary: Bool)
    /// CREATE TABLE name [(columns)] AS query [WITH [NO] DATA], and SELECT … INTO name.
    case createTableAs(name: String, ifNotExists: Bool, columns: [String], query: SelectStatement, withData: Bool,
                       temporary: Bool, onCommit: OnCommitAction?)
    /// COMMENT ON kind name IS text (nil: NULL); kind is table, view, index or column (then
    /// `name` is table.column).
    case comment(kind: String, name: String, text: String?)
    /// CREATE [UNIQUE] INDEX … WHERE predicate: a partial index (without WHERE: .createIndex).
    case createPartialIndex(name: String, table: String, elements: [Expr], unique: Bool, ifNotExists: Bool, predicate: Expr)
    /// DROP TABLE | VIEW … CASCADE (without CASCADE: .dropTable, .dropView).
    case dropCascade(view: Bool, names: [String], ifExists: Bool)

    /// Whether the statement creates a temporary relation.
    package var temporary: Bool {
        switch self {
        case .replaceView(_, _, _, _, let temporary), .createTableAs(_, _, _, _, _, let temporary, _): return temporary
        case .comment, .dropCascade, .createPartialIndex: return false
        }
    }
}

/// What a commit does to a temporary table: CREATE TEMP TABLE … ON COMMIT ….
package enum OnCommitAction: String, Codable, Sendable {
    case preserveRows = "PRESERVE ROWS"
    case deleteRows = "DELETE ROWS"
    case drop = "DROP"
}

package enum AlterAction: Sendable {
    case addColumn(ColumnDefinition, ifNotExists: Bool)
    /// ADD [CONSTRAINT name] PRIMARY KEY | UNIQUE | CHECK (FOREIGN KEY is refused for now).
    case addConstraint(TableConstraint)
    case dropColumn(String, ifExists: Bool, cascade: Bool = false)
    case renameColumn(String, to: String)
    case renameTable(to: String)
    /// DROP CONSTRAINT [IF EXISTS] name [CASCADE | RESTRICT].
    case dropConstraint(String, ifExists: Bool, cascade: Bool)
    /// ALTER [COLUMN] name SET/DROP DEFAULT, SET/DROP NOT NULL, [SET DATA] TYPE … [USING …].
    case alterColumn(String, ColumnAlteration)
    /// Several comma-separated actions, applied in order, and/or ALTER TABLE IF EXISTS (a
    /// missing table is then a notice).
    case several([AlterAction], ifExists: Bool)
}

/// What ALTER TABLE … ALTER COLUMN does to the column.
package enum ColumnAlteration: Sendable {
    case setDefault(Expr)
    case dropDefault
    case setNotNull
    case dropNotNull
    case type(TypeName, using: Expr?)
    /// ADD GENERATED { ALWAYS | BY DEFAULT } AS IDENTITY [( sequence options )].
    case addIdentity(IdentityGeneration, [SequenceOption])
    /// SET GENERATED { ALWAYS | BY DEFAULT } / SET sequence option / RESTART [[WITH] n], one or
    /// more in a row; nil generation: unchanged.
    case setIdentity(IdentityGeneration?, [SequenceOption])
    /// DROP IDENTITY [IF EXISTS].
    case dropIdentity(ifExists: Bool)
}

/// INSERT … ON CONFLICT [(columns)] DO NOTHING | DO UPDATE SET … [WHERE …]
package struct OnConflict: Sendable {
    var columns: [String]
    /// nil: DO NOTHING.
    var assignments: [(String, Expr)]?
    var filter: Expr?
    /// ON CONFLICT ON CONSTRAINT name: the unique constraint whose columns are the target.
    var constraint: String?
    /// ON CONFLICT (columns) WHERE predicate: which partial unique indexes may be the arbiter.
    var indexPredicate: Expr? = nil
}

package enum InsertSource: Sendable {
    case values([[Expr?]])   // nil: DEFAULT
    case select(SelectStatement)
    case defaultValues
}

extension Statement {
    /// `VALUES (e1::t1, e2::t2, …)`: the arguments of an EXECUTE, evaluated as one row (cast to
    /// the types its PREPARE declared, where it declared them).
    package static func values(of expressions: [Expr], castTo types: [TypeName]) -> Statement {
        let row = expressions.enumerated().map { i, e in i < types.count ? Expr.cast(e, types[i]) : e }
        return .select(SelectStatement(body: .values([row])))
    }
}
