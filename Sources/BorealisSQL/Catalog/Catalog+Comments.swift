// The catalog accessor of COMMENT ON texts (StatementExecutor+CreateAs): what
// obj_description and col_description (FunctionRegistry+Catalog) and pg_description read.

import BorealisStorage

extension Catalog {
    /// The COMMENT ON text of a relation, or of one of its columns.
    package func comment(relation: String, column: String?) -> String? {
        comments[StatementExecutor.commentKey(relation, column: column)]
    }
}
