// ALTER TABLE … ALTER COLUMN … ADD GENERATED … AS IDENTITY, SET GENERATED / SET option /
// RESTART, and DROP IDENTITY [IF EXISTS] (docs/sql.md, "Sequences"), with PostgreSQL 15's
// checks and SQLSTATEs (55000 for a column that is, or is not, an identity column already).
//
// Invariants: an identity column of a permanent table owns exactly one sequence, named in
// `ColumnSchema.sequence`, created and dropped in the statement's transaction (Catalog.put /
// remove), so a rollback undoes the change; the rows already in the table keep their values
// (ADD IDENTITY does not renumber them, as in PostgreSQL). Temporary tables have no
// sequences: their identity columns take one past the largest value.

import BorealisStorage

extension StatementExecutor {
    /// The identity alterations of ALTER COLUMN on `table.columns[position]`.
    func alterIdentity(_ alteration: ColumnAlteration, at position: Int, of table: inout TableSchema) throws {
        let name = table.name
        var column = table.columns[position]
        switch alteration {
        case .addIdentity(let generation, let options):
            guard [.smallint, .integer, .bigint].contains(column.type) else {
                throw DatabaseError(.error, sqlState: SQLState.invalidParameterValue, "identity column type must be smallint, integer, or bigint")
            }
            // The options are checked first, as PostgreSQL checks them when it reads the statement.
            var checked = options.filter { $0.kind != "name" }
            if !checked.contains(where: { $0.kind == "as" }) { checked.append(.type(column.type)) }
            _ = try Self.sequenceSchema(name: "", checked, base: nil, current: nil, defaultType: column.type)
            guard column.notNull else {
                throw DatabaseError(.error, sqlState: SQLState.objectNotInPrerequisiteState,
                                    "column \"\(column.name)\" of relation \"\(name)\" must be declared NOT NULL before identity can be added")
            }
            if column.generated != nil {
                throw DatabaseError(.error, sqlState: SQLState.objectNotInPrerequisiteState,
                                    "column \"\(column.name)\" of relation \"\(name)\" is already an identity column")
            }
            if column.identity || column.defaultSQL != nil || column.generatedSQL != nil {
                throw DatabaseError(.error, sqlState: SQLState.objectNotInPrerequisiteState,
                                    "column \"\(column.name)\" of relation \"\(name)\" already has a default value")
            }
            var definition = ColumnDefinition(name: column.name, type: TypeName(type: column.type, modifiers: column.modifiers))
            definition.generated = generation
            definition.identityOptions = options
            var columns = [column]
            try createIdentitySequences(table: name, columns: &columns, [definition])
            column = columns[0]
            column.generated = generation
            column.identity = true
        case .setIdentity(let generation, let options):
            guard let current = column.generated else {
                throw DatabaseError(.error, sqlState: SQLState.objectNotInPrerequisiteState,
                                    "column \"\(column.name)\" of relation \"\(name)\" is not an identity column")
            }
            column.generated = generation ?? current
            if !options.isEmpty {
                guard let sequenceName = column.sequence, let sequence = catalog.sequences[sequenceName] else {
                    throw DatabaseError(.error, sqlState: SQLState.featureNotSupported,
                                        "sequence options of an identity column of a temporary table are not supported")
                }
                try alterSequence(sequence, options)
            }
        case .dropIdentity(let ifExists):
            guard column.generated != nil else {
                if ifExists { return }
                throw DatabaseError(.error, sqlState: SQLState.objectNotInPrerequisiteState,
                                    "column \"\(column.name)\" of relation \"\(name)\" is not an identity column")
            }
            if let sequenceName = column.sequence, let sequence = catalog.sequences[sequenceName] {
                try Sequences.deleteState(sequence.incarnation, in: txn)
                try Catalog.remove("sequence", sequence.name, txn)
            }
            column.generated = nil
            column.identity = false
            column.sequence = nil
        default:
            preconditionFailure("alterIdentity called for a non-identity alteration")
        }
        table.columns[position] = column
    }
}
