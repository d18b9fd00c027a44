// The grammar of sequences (docs/sql.md, "Sequences"): CREATE/ALTER/DROP SEQUENCE, the
// sequence options (also inside GENERATED … AS IDENTITY ( … )), OVERRIDING … VALUE.

import BorealisStorage

extension Parser {
    /// CREATE [TEMP] SEQUENCE [IF NOT EXISTS] name [options] — after SEQUENCE.
    mutating func parseCreateSequence(temporary: Bool) throws -> Statement {
        var ifNotExists = false
        if acceptKeyword("if") {
            try expectKeyword("not")
            try expectKeyword("exists")
            ifNotExists = true
        }
        let name = try sequenceName()
        let options = try parseSequenceOptions(alter: false, identity: false)
        return .sequence(.create(name: name, ifNotExists: ifNotExists, options: options, temporary: temporary))
    }

    /// ALTER SEQUENCE [IF EXISTS] name options — after SEQUENCE.
    mutating func parseAlterSequence() throws -> Statement {
        var ifExists = false
        if acceptKeyword("if") {
            try expectKeyword("exists")
            ifExists = true
        }
        let name = try sequenceName()
        for word in ["rename", "owner", "set"] where isKeyword(word) {
            throw DatabaseError(.error, sqlState: SQLState.featureNotSupported, "ALTER SEQUENCE … \(word.uppercased()) is not supported yet")
        }
        let options = try parseSequenceOptions(alter: true, identity: false)
        return .sequence(.alter(name: name, ifExists: ifExists, options: options))
    }

    /// A sequence's name, `public.` allowed before it.
    private mutating func sequenceName() throws -> String {
        let first = try identifier("sequence name")
        if accept(.op(".")) {
            let second = try identifier("sequence name")
            guard first == "public" else {
                throw DatabaseError(.error, sqlState: SQLState.invalidSchemaName, "schema \"\(first)\" does not exist")
            }
            return second
        }
        return first
    }

    /// Sequence options until none follows; `alter` allows RESTART, `identity` SEQUENCE NAME
    /// (and stops at the closing parenthesis); `single` reads one option at most.
    mutating func parseSequenceOptions(alter: Bool, identity: Bool, single: Bool = false) throws -> [SequenceOption] {
        var options: [SequenceOption] = []
        while true {
            let option: SequenceOption
            if acceptKeyword("as") {
                let type = try parseTypeName()
                guard !type.serial, [.smallint, .integer, .bigint].contains(type.type) else {
                    throw DatabaseError(.error, sqlState: SQLState.invalidParameterValue, "sequence type must be smallint, integer, or bigint")
                }
                option = .type(type.type)
            } else if acceptKeyword("increment") {
                _ = acceptKeyword("by")
                option = .increment(try signedInteger())
            } else if acceptKeyword("minvalue") {
                option = .minValue(try signedInteger())
            } else if acceptKeyword("maxvalue") {
                option = .maxValue(try signedInteger())
            } else if acceptKeyword("start") {
                _ = acceptKeyword("with")
                option = .start(try signedInteger())
            } else if alter && acceptKeyword("restart") {
                if acceptKeyword("with") {
                    option = .restart(try signedInteger())
                } else if case .integer = peek.kind {
                    option = .restart(try signedInteger())
                } else if peek.kind == .op("-") || peek.kind == .op("+") {
                    option = .restart(try signedInteger())
                } else {
                    option = .restart(nil)
                }
            } else if acceptKeyword("cache") {
                option = .cache(try signedInteger())
            } else if acceptKeyword("cycle") {
                option = .cycle(true)
            } else if acceptKeyword("no") {
                if acceptKeyword("minvalue") {
                    option = .minValue(nil)
                } else if acceptKeyword("maxvalue") {
                    option = .maxValue(nil)
                } else if acceptKeyword("cycle") {
                    option = .cycle(false)
                } else {
                    throw error("expected MINVALUE, MAXVALUE or CYCLE after NO")
                }
            } else if !identity && acceptKeyword("owned") {
                try expectKeyword("by")
                let first = try anyName("table name")
                if first == "none" && peek.kind != .op(".") {
                    option = .ownedBy(nil)
                } else {
                    try expect(".")
                    var table = first
                    var column = try anyName("column name")
                    if accept(.op(".")) {
                        // schema.table.column
                        guard table == "public" else {
                            throw DatabaseError(.error, sqlState: SQLState.invalidSchemaName, "schema \"\(table)\" does not exist")
                        }
                        table = column
                        column = try anyName("column name")
                    }
                    option = .ownedBy((table, column))
                }
            } else if identity && acceptKeyword("sequence") {
                try expectKeyword("name")
                option = .sequenceName(try sequenceName())
            } else {
                break
            }
            if options.contains(where: { $0.kind == option.kind }) {
                throw DatabaseError(.error, sqlState: SQLState.syntaxError, "conflicting or redundant options")
            }
            options.append(option)
            if single { break }
        }
        return options
    }

    /// An integer literal with an optional sign, as a 64-bit integer (22003 beyond).
    private mutating func signedInteger() throws -> Int64 {
        var negative = false
        if accept(.op("-")) { negative = true } else { _ = accept(.op("+")) }
        guard case .integer(let digits) = peek.kind else { throw error("expected an integer") }
        _ = advance()
        guard let value = Int64((negative ? "-" : "") + digits) else {
            throw DatabaseError(.range, sqlState: SQLState.numericValueOutOfRange, "value \"\(negative ? "-" : "")\(digits)\" is out of range for type bigint")
        }
        return value
    }

    /// OVERRIDING SYSTEM VALUE | OVERRIDING USER VALUE, after INSERT's column list.
    mutating func parseOverriding() throws -> Overriding? {
        guard acceptKeyword("overriding") else { return nil }
        let kind: Overriding
        if acceptKeyword("system") { kind = .systemValue } else { try expectKeyword("user"); kind = .userValue }
        try expectKeyword("value")
        return kind
    }

    /// ALWAYS | BY DEFAULT — after GENERATED.
    mutating func parseGeneration() throws -> IdentityGeneration {
        if acceptKeyword("always") { return .always }
        try expectKeyword("by")
        try expectKeyword("default")
        return .byDefault
    }

    /// GENERATED ALWAYS | BY DEFAULT AS IDENTITY [( options )] — after GENERATED.
    mutating func parseIdentity() throws -> (IdentityGeneration, [SequenceOption]) {
        let generation = try parseGeneration()
        try expectKeyword("as")
        if !acceptKeyword("identity") {
            if peek.kind == .op("(") {
                throw DatabaseError(.error, sqlState: SQLState.featureNotSupported, "generated columns (GENERATED ALWAYS AS (…) STORED) are not supported yet")
            }
            throw error("expected IDENTITY")
        }
        var options: [SequenceOption] = []
        if accept(.op("(")) {
            options = try parseSequenceOptions(alter: false, identity: true)
            try expect(")")
        }
        return (generation, options)
    }
}
