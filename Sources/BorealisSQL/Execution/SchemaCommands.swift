// CREATE SCHEMA and DROP SCHEMA (docs/sql.md, "Schemas and information_schema"). Borealis
// has the built-in schemas only — public (every relation), pg_temp, pg_catalog and
// information_schema — so these answer as PostgreSQL does about those (a migration's `CREATE
// SCHEMA IF NOT EXISTS public` is a notice) and refuse any other schema with 0A000 naming it,
// never a misleading syntax error.

import BorealisStorage

enum SchemaCommands {
    static func execute(names: [String], create: Bool, ifClause: Bool) throws -> QueryResult {
        var result = QueryResult()
        var notices: [String] = []
        for name in names {
            let exists = ObjectDirectory.namespaces.contains { $0.name == name }
            if create {
                if exists {
                    guard ifClause else { throw DatabaseError(.error, sqlState: SQLState.duplicateSchema, "schema \"\(name)\" already exists") }
                    notices.append("NOTICE: schema \"\(name)\" already exists, skipping")
                } else if name.hasPrefix("pg_") {
                    throw DatabaseError(.error, sqlState: SQLState.reservedName, "unacceptable schema name \"\(name)\": the prefix \"pg_\" is reserved for system schemas")
                } else {
                    throw DatabaseError(.error, sqlState: SQLState.featureNotSupported,
                                        "CREATE SCHEMA \(name) is not supported: every relation lives in schema public")
                }
            } else {
                if !exists {
                    guard ifClause else { throw DatabaseError(.error, sqlState: SQLState.invalidSchemaName, "schema \"\(name)\" does not exist") }
                    notices.append("NOTICE: schema \"\(name)\" does not exist, skipping")
                } else {
                    throw DatabaseError(.error, sqlState: SQLState.featureNotSupported,
                                        "DROP SCHEMA \(name) is not supported: Borealis's built-in schemas cannot be dropped")
                }
            }
        }
        if !notices.isEmpty { result.notice = notices.joined(separator: "\n") }
        return result
    }
}
