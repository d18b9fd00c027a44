// The limits a statement runs within (docs/robustness.md): what a caller can ask for that would
// otherwise trap, exhaust the stack or exhaust memory in the host process gets a clear error
// with PostgreSQL's SQLSTATE instead. Each limit is a constant here so that the documentation,
// the checks and the tests name one number.

import BorealisStorage

/// Limits a statement runs within; beyond each, a ``BorealisStorage/DatabaseError`` with its SQLSTATE.
public enum Limits {
    /// The largest text or bytea value a function may build or a C caller may bind, in bytes:
    /// PostgreSQL's 1 GB (MaxAllocSize). Beyond it: 54000 "requested length too large".
    public static let maxValueBytes = 1_073_741_823

    /// How deep expressions, subqueries, set operations, joins and CTE or view references may
    /// nest in one statement (each operator of a chain such as `1+1+…` or `a OR b OR …` counts as
    /// a level). Every pass over a statement recurses at most this deep; measured to fit in a
    /// 512 KiB stack in a debug build. Beyond it: 54001 "statement too complex".
    public static let maxNestingDepth = 1000

    /// Columns of a table: PostgreSQL's MaxHeapAttributeNumber. Beyond it: 54011.
    public static let maxTableColumns = 1600
    /// Values of a select list (after `*` is expanded): PostgreSQL's MaxTupleAttributeNumber.
    /// Beyond it: 54011.
    public static let maxSelectListEntries = 1664
    /// Arguments of a function call (COALESCE, GREATEST and LEAST are not functions and take
    /// any number): PostgreSQL's FUNC_MAX_ARGS. Beyond it: 54023.
    public static let maxFunctionArguments = 100
    /// Key columns of an index: PostgreSQL's INDEX_MAX_KEYS. Beyond it: 54011.
    public static let maxIndexColumns = 32

    static func tooManyTableColumns() -> DatabaseError {
        DatabaseError(.error, sqlState: SQLState.tooManyColumns, "tables can have at most \(maxTableColumns) columns")
    }

    static func valueTooLarge() -> DatabaseError {
        DatabaseError(.range, sqlState: SQLState.programLimitExceeded, "requested length too large")
    }

    static func tooComplex() -> DatabaseError {
        DatabaseError(.error, sqlState: SQLState.statementTooComplex,
                      "statement too complex: nesting deeper than \(maxNestingDepth) levels (stack depth limit exceeded)")
    }
}
