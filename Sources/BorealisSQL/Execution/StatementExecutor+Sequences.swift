// CREATE / ALTER / DROP SEQUENCE, the owned sequences of identity and serial columns, and
// TRUNCATE … RESTART IDENTITY (docs/sql.md, "Sequences"). Options are checked as PostgreSQL 15
// checks them (init_params), with its messages; values are Sequences.swift's.

import FoundationEssentials
import BorealisStorage

extension StatementExecutor {
    func executeSequenceStatement(_ statement: SequenceStatement) throws -> QueryResult {
        if temporaryTarget { throw DatabaseError(.error, sqlState: SQLState.featureNotSupported, "temporary sequences are not supported") }
        switch statement {
        case .create(let name, let ifNotExists, let options, let temporary):
            if temporary { throw DatabaseError(.error, sqlState: SQLState.featureNotSupported, "temporary sequences are not supported") }
            if own.relationExists(name) {
                if ifNotExists {
                    var result = QueryResult()
                    result.notice = "relation \"\(name)\" already exists, skipping"
                    return result
                }
                throw DatabaseError(.error, sqlState: SQLState.duplicateTable, "relation \"\(name)\" already exists")
            }
            _ = try createSequence(name, options, defaultType: .bigint)
        case .alter(let name, let ifExists, let options):
            guard let sequence = try existingSequence(name, ifExists: ifExists) else {
                var result = QueryResult()
                result.notice = "relation \"\(name)\" does not exist, skipping"
                return result
            }
            try alterSequence(sequence, options)
        case .drop(let names, let ifExists, let cascade):
            var skipped: [String] = []
            for name in names {
                guard let sequence = try existingSequence(name, ifExists: ifExists, kind: "sequence") else {
                    skipped.append(name)
                    continue
                }
                try dropSequence(sequence, cascade: cascade)
            }
            var result = QueryResult()
            if let first = skipped.first { result.notice = "sequence \"\(first)\" does not exist, skipping" }
            return result
        }
        return QueryResult()
    }

    /// The sequence `name`; nil when it does not exist and `ifExists`; 42809 for another relation.
    private func existingSequence(_ name: String, ifExists: Bool, kind: String = "relation") throws -> SequenceSchema? {
        if let sequence = catalog.sequences[name] { return sequence }
        if catalog.relationExists(name) {
            throw DatabaseError(.error, sqlState: SQLState.wrongObjectType, "\"\(name)\" is not a sequence")
        }
        if ifExists { return nil }
        throw DatabaseError(.error, sqlState: SQLState.undefinedTable, "\(kind) \"\(name)\" does not exist")
    }

    /// Creates sequence `name` (its name checked free by the caller).
    func createSequence(_ name: String, _ options: [SequenceOption], defaultType: SQLType,
                        owner: (table: String, column: String)? = nil) throws -> SequenceSchema {
        var sequence = try Self.sequenceSchema(name: name, options, base: nil, current: nil, defaultType: defaultType)
        if let owner {
            sequence.ownerTable = owner.table
            sequence.ownerColumn = owner.column
        } else if case .ownedBy(let target)? = options.first(where: { $0.kind == "owned" }), let target {
            try checkOwner(target)
            sequence.ownerTable = target.table
            sequence.ownerColumn = target.column
        }
        try Catalog.put("sequence", name, sequence, txn)
        try Sequences.createState(sequence, in: txn)
        return sequence
    }

    private func checkOwner(_ target: (table: String, column: String)) throws {
        guard let table = catalog.tables[target.table] else {
            throw DatabaseError(.error, sqlState: SQLState.undefinedTable, "relation \"\(target.table)\" does not exist")
        }
        if table.isTemporary {
            throw DatabaseError(.error, sqlState: SQLState.featureNotSupported, "a sequence cannot be owned by a temporary table")
        }
        guard table.columnIndex(target.column) != nil else {
            throw DatabaseError(.error, sqlState: SQLState.undefinedColumn, "column \"\(target.column)\" of relation \"\(target.table)\" does not exist")
        }
    }

    func alterSequence(_ old: SequenceSchema, _ options: [SequenceOption]) throws {
        let current = try Sequences.current(old, in: txn)
        var sequence = try Self.sequenceSchema(name: old.name, options, base: old, current: current, defaultType: old.type)
        if case .ownedBy(let target)? = options.first(where: { $0.kind == "owned" }) {
            if let table = old.ownerTable, let column = old.ownerColumn, let owner = catalog.tables[table],
               let i = owner.columnIndex(column), owner.columns[i].sequence == old.name, owner.columns[i].generated != nil {
                throw DatabaseError(.error, sqlState: SQLState.featureNotSupported, "cannot change ownership of identity sequence")
            }
            if let target { try checkOwner(target) }
            sequence.ownerTable = target?.table
            sequence.ownerColumn = target?.column
        }
        if options.contains(where: { $0.kind == "restart" }) {
            // A new incarnation: transactional, as PostgreSQL's RESTART is.
            try Sequences.deleteState(old.incarnation, in: txn)
            sequence.incarnation = Self.newIncarnation()
            try Sequences.createState(sequence, in: txn)
        }
        try Catalog.put("sequence", old.name, sequence, txn)
    }

    func dropSequence(_ sequence: SequenceSchema, cascade: Bool) throws {
        if let tableName = sequence.ownerTable, let column = sequence.ownerColumn, var table = catalog.tables[tableName],
           let i = table.columnIndex(column), table.columns[i].sequence == sequence.name {
            if table.columns[i].generated != nil {
                throw DatabaseError(.error, sqlState: SQLState.dependentObjectsStillExist,
                                    "cannot drop sequence \(sequence.name) because column \(column) of table \(tableName) requires it")
            }
            guard cascade else {
                throw DatabaseError(.error, sqlState: SQLState.dependentObjectsStillExist,
                                    "cannot drop sequence \(sequence.name) because other objects depend on it")
            }
            // CASCADE drops the serial column's default.
            table.columns[i].sequence = nil
            table.columns[i].identity = false
            try Catalog.put("table", tableName, table, txn)
        }
        try Sequences.deleteState(sequence.incarnation, in: txn)
        try Catalog.remove("sequence", sequence.name, txn)
    }

    /// DROP TABLE (or DROP COLUMN): the sequences the table (the column) owns go with it.
    func dropOwnedSequences(of table: String, column: String? = nil) throws {
        if temporaryTarget { return }
        for sequence in catalog.sequences.values where sequence.ownerTable == table && (column == nil || sequence.ownerColumn == column) {
            try Sequences.deleteState(sequence.incarnation, in: txn)
            try Catalog.remove("sequence", sequence.name, txn)
        }
    }

    /// TRUNCATE … RESTART IDENTITY: the sequences the table owns start again (a new incarnation
    /// at the start value, so a rollback keeps the old one).
    func restartOwnedSequences(of table: String) throws {
        for var sequence in catalog.sequences.values.sorted(by: { $0.name < $1.name }) where sequence.ownerTable == table {
            try Sequences.deleteState(sequence.incarnation, in: txn)
            sequence.incarnation = Self.newIncarnation()
            sequence.restart = sequence.start
            try Catalog.put("sequence", sequence.name, sequence, txn)
            try Sequences.createState(sequence, in: txn)
        }
    }

    /// RENAME TABLE / RENAME COLUMN: the owned sequences follow (their names stay).
    func renameSequenceOwner(table: String, column: String, to newTable: String, _ newColumn: String) throws {
        if temporaryTarget { return }
        for var sequence in catalog.sequences.values where sequence.ownerTable == table && sequence.ownerColumn == column {
            sequence.ownerTable = newTable
            sequence.ownerColumn = newColumn
            try Catalog.put("sequence", sequence.name, sequence, txn)
        }
    }

    // MARK: Identity columns

    /// CREATE TABLE: each identity or serial column gets its owned sequence, named as PostgreSQL
    /// names it (`t_id_seq`, then `t_id_seq1`, … when taken). Temporary tables get none.
    func createIdentitySequences(table: String, columns: inout [ColumnSchema], _ definitions: [ColumnDefinition]) throws {
        for (i, d) in definitions.enumerated() {
            let isIdentity = d.type.serial || d.generated != nil || d.autoIncrement
            if d.generated != nil || d.type.serial {
                guard [.smallint, .integer, .bigint].contains(d.type.type) else {
                    throw DatabaseError(.error, sqlState: SQLState.invalidParameterValue,
                                        "identity column type must be smallint, integer, or bigint")
                }
                if d.defaultValue != nil {
                    throw DatabaseError(.error, sqlState: SQLState.syntaxError, d.type.serial
                        ? "multiple default values specified for column \"\(d.name)\" of table \"\(table)\""
                        : "both default and identity specified for column \"\(d.name)\" of table \"\(table)\"")
                }
            }
            guard isIdentity, !temporaryTarget, d.type.type.isInteger else { continue }
            var options = d.identityOptions
            var name = Self.sequenceName(table: table, column: d.name)
            if case .sequenceName(let given)? = options.first(where: { $0.kind == "name" }) {
                name = given
                options.removeAll { $0.kind == "name" }
                if own.relationExists(name) {
                    throw DatabaseError(.error, sqlState: SQLState.duplicateTable, "relation \"\(name)\" already exists")
                }
            } else {
                var n = 0
                let base = name
                while own.relationExists(name) || catalog.relationExists(name) {
                    n += 1
                    name = Self.truncatedName(base, suffix: "\(n)")
                }
            }
            let type: SQLType = [.smallint, .integer, .bigint].contains(d.type.type) ? d.type.type : .bigint
            if !options.contains(where: { $0.kind == "as" }) { options.append(.type(type)) }
            _ = try createSequence(name, options, defaultType: type, owner: (table, d.name))
            columns[i].sequence = name
            columns[i].generated = d.generated
            columns[i].notNull = true
        }
    }

    /// ALTER TABLE … ADD COLUMN of an identity or serial column: its sequence, and a value
    /// from it for every row already there (in row-id order).
    func addIdentityColumn(_ definition: ColumnDefinition, to table: inout TableSchema) throws {
        if temporaryTarget {
            throw DatabaseError(.error, sqlState: SQLState.featureNotSupported, "ADD COLUMN of an identity or serial column to a temporary table is not supported")
        }
        var columns = [ColumnSchema(name: definition.name, type: definition.type.type, modifiers: definition.type.modifiers,
                                    notNull: true, identity: true)]
        try createIdentitySequences(table: table.name, columns: &columns, [definition])
        guard let name = columns[0].sequence,
              let tree = try Catalog.tree(txn), let raw = try tree.get(Array("sequence:\(name)".utf8), in: txn) else {
            throw DatabaseError(.error, sqlState: SQLState.featureNotSupported, "ADD COLUMN of a non-integer identity column is not supported")
        }
        let sequence = try JSONDecoder().decode(SequenceSchema.self, from: Data(raw))
        let ctx = context()
        table.columns.append(columns[0])
        try rewriteRows(table) { $0 + [.integer(try Sequences.next(sequence, ctx))] }
    }

    /// PostgreSQL's ChooseRelationName for `<table>_<column>_seq`: within 63 bytes, the
    /// longer of the two names shortened first.
    static func sequenceName(table: String, column: String) -> String {
        var t = Array(table.utf8), c = Array(column.utf8)
        let limit = 63 - "_seq".utf8.count - 1
        while t.count + c.count > limit {
            if t.count > c.count { t.removeLast() } else { c.removeLast() }
        }
        return String(decoding: t, as: UTF8.self) + "_" + String(decoding: c, as: UTF8.self) + "_seq"
    }

    private static func truncatedName(_ base: String, suffix: String) -> String {
        var bytes = Array(base.utf8)
        while bytes.count + suffix.utf8.count > 63 { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self) + suffix
    }

    static func newIncarnation() -> UInt64 { UInt64.random(in: 1...UInt64.max) }

    // MARK: Options

    /// PostgreSQL's init_params: the options applied to `base` (nil: CREATE), checked.
    static func sequenceSchema(name: String, _ options: [SequenceOption], base: SequenceSchema?, current: SequenceValue?,
                               defaultType: SQLType) throws -> SequenceSchema {
        func option(_ kind: String) -> SequenceOption? { options.first { $0.kind == kind } }
        func invalid(_ message: String) -> DatabaseError {
            DatabaseError(.error, sqlState: SQLState.invalidParameterValue, message)
        }
        func bounds(_ type: SQLType) -> (Int64, Int64) {
            switch type {
            case .smallint: return (Int64(Int16.min), Int64(Int16.max))
            case .integer: return (Int64(Int32.min), Int64(Int32.max))
            default: return (Int64.min, Int64.max)
            }
        }
        var type = base?.type ?? defaultType
        var typeChanged = false
        if case .type(let t)? = option("as") {
            typeChanged = base != nil && t != type
            type = t
        }
        let (typeMin, typeMax) = bounds(type)
        var increment = base?.increment ?? 1
        if case .increment(let i)? = option("increment") {
            guard i != 0 else { throw invalid("INCREMENT must not be zero") }
            increment = i
        }
        let oldBounds = base.map { bounds($0.type) }
        var maxValue: Int64
        switch option("maxvalue") {
        case .maxValue(let v?)?: maxValue = v
        case .maxValue(nil)?: maxValue = increment > 0 ? typeMax : -1
        default:
            if let base {
                maxValue = typeChanged && base.maxValue == oldBounds?.1 ? typeMax : base.maxValue
            } else {
                maxValue = increment > 0 ? typeMax : -1
            }
        }
        var minValue: Int64
        switch option("minvalue") {
        case .minValue(let v?)?: minValue = v
        case .minValue(nil)?: minValue = increment > 0 ? 1 : typeMin
        default:
            if let base {
                minValue = typeChanged && base.minValue == oldBounds?.0 ? typeMin : base.minValue
            } else {
                minValue = increment > 0 ? 1 : typeMin
            }
        }
        let typeName = type.displayName
        if maxValue < typeMin || maxValue > typeMax {
            throw invalid("MAXVALUE (\(maxValue)) is out of range for sequence data type \(typeName)")
        }
        if minValue < typeMin || minValue > typeMax {
            throw invalid("MINVALUE (\(minValue)) is out of range for sequence data type \(typeName)")
        }
        guard minValue < maxValue else { throw invalid("MINVALUE (\(minValue)) must be less than MAXVALUE (\(maxValue))") }
        var start = base?.start ?? (increment > 0 ? minValue : maxValue)
        if case .start(let s)? = option("start") { start = s }
        if start < minValue { throw invalid("START value (\(start)) cannot be less than MINVALUE (\(minValue))") }
        if start > maxValue { throw invalid("START value (\(start)) cannot be greater than MAXVALUE (\(maxValue))") }
        // The value the sequence stands at: RESTART's, else the current one, else the start.
        var restart: Int64
        if case .restart(let r)? = option("restart") {
            restart = r ?? start
        } else {
            restart = current?.last ?? base?.firstValue ?? start
        }
        if restart < minValue { throw invalid("RESTART value (\(restart)) cannot be less than MINVALUE (\(minValue))") }
        if restart > maxValue { throw invalid("RESTART value (\(restart)) cannot be greater than MAXVALUE (\(maxValue))") }
        if option("restart") == nil, let base { restart = base.firstValue }
        var cache = base?.cache ?? 1
        if case .cache(let c)? = option("cache") {
            guard c > 0 else { throw invalid("CACHE (\(c)) must be greater than zero") }
            cache = c
        }
        var cycle = base?.cycle ?? false
        if case .cycle(let c)? = option("cycle") { cycle = c }
        return SequenceSchema(name: name, incarnation: base?.incarnation ?? newIncarnation(), type: type, increment: increment,
                              minValue: minValue, maxValue: maxValue, start: start, restart: restart, cache: cache, cycle: cycle,
                              ownerTable: base?.ownerTable, ownerColumn: base?.ownerColumn)
    }
}

extension StatementExecutor {
    /// INSERT's rules for identity columns given a value: 428C9 for a GENERATED ALWAYS column
    /// unless OVERRIDING SYSTEM VALUE; with OVERRIDING USER VALUE the values given to identity
    /// columns are ignored — their positions in the target list are returned.
    func identityTargets(_ w: TableWriter, _ targets: [Int], _ source: InsertSource, _ overriding: Overriding?) throws -> [Int] {
        var ignored: [Int] = []
        for (k, i) in targets.enumerated() {
            let column = w.schema.columns[i]
            if column.generatedSQL != nil {
                // A generated column takes no value, whatever OVERRIDING says (PostgreSQL).
                let explicit: Bool
                switch source {
                case .values(let rows): explicit = rows.contains { k < $0.count && $0[k] != nil }
                case .select: explicit = true
                case .defaultValues: explicit = false
                }
                if explicit {
                    throw DatabaseError(.error, sqlState: SQLState.generatedAlways, "cannot insert a non-DEFAULT value into column \"\(column.name)\"")
                }
                ignored.append(k)
                continue
            }
            guard let generated = column.generated else { continue }
            if overriding == .userValue {
                ignored.append(k)
                continue
            }
            guard generated == .always && overriding != .systemValue else { continue }
            let explicit: Bool
            switch source {
            case .values(let rows): explicit = rows.contains { k < $0.count && $0[k] != nil }
            case .select: explicit = true
            case .defaultValues: explicit = false
            }
            if explicit {
                throw DatabaseError(.error, sqlState: SQLState.generatedAlways, "cannot insert a non-DEFAULT value into column \"\(column.name)\"")
            }
        }
        return ignored
    }
}
