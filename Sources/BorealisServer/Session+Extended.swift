// The extended query protocol: Parse, Bind, Describe, Execute, Close, Sync — and running one
// statement for either protocol.
//
// A prepared statement (named, or the unnamed one that the next Parse replaces) is a Borealis
// `PreparedStatement`, a session command (SET, SHOW, …), or empty. A portal is a statement with
// its parameter values and result formats; its statement runs at its first Execute (or at a
// Describe of a read-only portal, so the row description can take its types from the values)
// and its rows are handed out `maxRows` at a time, PortalSuspended between. Once a statement
// has been described (Describe S), its portals keep that description's types so a client that
// cached it decodes what it was told. Portals end at Sync outside a transaction block, as
// PostgreSQL's end with the implicit transaction.

import NIOCore
import Borealis
import BorealisSQL

/// A parsed statement of the session.
final class Prepared {
    enum Kind {
        case empty
        case command(SessionCommand)
        case copy(CopyCommand)
        case engine(PreparedStatement)
    }
    let sql: String
    let kind: Kind
    /// The parameter types the client gave (0 or missing: unknown).
    var parameterTypes: [UInt32] = []
    /// The column types a Describe S reported, kept for the statement's portals.
    var describedTypes: [UInt32]?

    init(sql: String, session: Session) throws {
        self.sql = sql
        if SQLText.split(sql).isEmpty {
            kind = .empty
        } else if let command = SessionCommand.recognize(sql) {
            kind = .command(command)
        } else if let copy = try CopyCommand.recognize(sql) {
            kind = .copy(copy)
        } else {
            guard let db = session.db else { throw WireError(sqlState: SQLState.connectionDoesNotExist, message: "no connection") }
            kind = .engine(try db.makeStatement(Self.spelledForEngine(sql)))
        }
    }

    /// END and ABORT are COMMIT and ROLLBACK; START TRANSACTION is BEGIN.
    private static func spelledForEngine(_ sql: String) -> String {
        let words = SQLText.words(sql, 2)
        switch words.first {
        case "end": return "COMMIT"
        case "abort": return "ROLLBACK"
        case "start" where words.count > 1 && words[1] == "transaction":
            // The words before TRANSACTION are ASCII, so offsets in the lowercased text hold.
            guard let range = sql.lowercased().utf8.firstRange(of: "transaction".utf8) else { return sql }
            let offset = sql.lowercased().utf8.distance(from: sql.lowercased().utf8.startIndex, to: range.upperBound)
            return "BEGIN" + String(decoding: sql.utf8.dropFirst(offset), as: UTF8.self)
        default: return sql
        }
    }

    var parameterCount: Int {
        if case .engine(let statement) = kind { return statement.parameterCount }
        return 0
    }

    /// Output columns and their declared types, known before running.
    var columns: (names: [String], declared: [String?]) {
        switch kind {
        case .engine(let statement): return (statement.columnNames, statement.declaredTypes)
        default: return ([], [])
        }
    }

    var isReadOnly: Bool {
        switch kind {
        case .engine(let statement): return statement.isReadOnly && statement.commandVerb == "SELECT"
        default: return false
        }
    }
}

/// What running a statement produced.
struct Outcome {
    var columns: [String] = []
    var declared: [String?] = []
    var rows: [[Value]] = []
    var tag: String
    var notice: String?

    /// Column type OIDs: the declared type, else the first non-NULL value's, else text.
    func types(declared described: [UInt32]?) -> [UInt32] {
        if let described { return described }
        return columns.indices.map { i in
            if i < declared.count, let name = declared[i], let oid = OID.of(declared: name) { return oid }
            for row in rows where i < row.count {
                if let oid = OID.of(value: row[i]) { return oid }
            }
            return OID.text
        }
    }
}

/// A statement bound to parameter values.
final class Portal {
    let prepared: Prepared
    let parameters: [Value]
    let resultFormats: [Int16]
    var outcome: Outcome?
    var position = 0
    var types: [UInt32]?

    init(prepared: Prepared, parameters: [Value], resultFormats: [Int16]) {
        self.prepared = prepared
        self.parameters = parameters
        self.resultFormats = resultFormats
    }
}

extension Session {
    // MARK: Running a statement

    func run(_ prepared: Prepared, parameters: [Value]) throws -> Outcome {
        switch prepared.kind {
        case .empty, .copy:
            return Outcome(tag: "")
        case .command(let command):
            return try runCommand(command)
        case .engine(let statement):
            let result: QueryResult
            do {
                result = try statement.execute(parameters)
            } catch {
                reportChangedParameters()
                throw error
            }
            reportChangedParameters()
            let verb = statement.commandVerb
            let tag: String
            switch verb {
            // CREATE TABLE AS / SELECT INTO: PostgreSQL's tag counts the rows stored.
            case "SELECT": tag = "SELECT \(result.rows.isEmpty ? result.changes : result.rows.count)"
            case "INSERT": tag = "INSERT 0 \(result.changes)"
            case "UPDATE", "DELETE": tag = "\(verb) \(result.changes)"
            default: tag = verb
            }
            return Outcome(columns: result.columns, declared: result.declaredTypes, rows: result.rows,
                           tag: tag, notice: result.notice)
        }
    }

    /// ParameterStatus for each reported setting whose value changed (a SET, a RESET, a
    /// rolled-back block restoring one), as PostgreSQL sends it before the command completes.
    func reportChangedParameters() {
        for (name, value) in db?.session.reported ?? [] where reportedParameters[name] != value {
            parameterStatus(name, value)
        }
    }

    private func runCommand(_ command: SessionCommand) throws -> Outcome {
        switch command {
        case .ignored(let tag):
            return Outcome(tag: tag)
        case .deallocate(let name):
            // The protocol's statements and SQL PREPARE's share one namespace, as in PostgreSQL:
            // a name the protocol did not prepare is the engine's (Database+PreparedSQL).
            if let name {
                if statements.removeValue(forKey: name) == nil {
                    try db?.execute("DEALLOCATE " + quoteIdentifier(name))
                }
            } else {
                statements = [:]
                try db?.execute("DEALLOCATE ALL")
            }
            return Outcome(tag: name == nil ? "DEALLOCATE ALL" : "DEALLOCATE")
        }
    }

    // MARK: Messages

    /// Parse: name, query, Int16 count, Int32 parameter type OIDs.
    func parse(_ body: inout ByteBuffer) throws {
        guard let name = body.readCString(), let sql = body.readCString(),
              let count = body.readInteger(as: Int16.self), count >= 0 else { throw malformed("Parse") }
        var types: [UInt32] = []
        for _ in 0..<Int(count) {
            guard let oid = body.readInteger(as: UInt32.self) else { throw malformed("Parse") }
            types.append(oid)
        }
        if !name.isEmpty, statements[name] != nil {
            throw WireError(sqlState: SQLState.duplicatePreparedStatement, message: "prepared statement \"\(name)\" already exists")
        }
        if SQLText.split(sql).count > 1 {
            throw WireError(sqlState: SQLState.syntaxError, message: "cannot insert multiple commands into a prepared statement")
        }
        let prepared = try Prepared(sql: sql, session: self)
        prepared.parameterTypes = types
        if case .engine(let statement) = prepared.kind {
            // A parameter the client left untyped (OID 0) takes the type the engine infers from
            // where it appears (`WHERE id = $1`: the type of id), as PostgreSQL's do: Bind then
            // decodes it as that type and ParameterDescription reports it.
            let inferred = statement.parameterTypes
            prepared.parameterTypes = (0..<statement.parameterCount).map { i in
                let given = i < types.count ? types[i] : 0
                guard given == 0 || given == OID.unknown, i < inferred.count else { return given }
                return OID.of(declared: inferred[i]) ?? given
            }
        }
        statements[name] = prepared
        out.writeMessage(Backend.parseComplete) { _ in }
    }

    /// Bind: portal, statement, formats of the parameters, the parameters, formats of the results.
    func bind(_ body: inout ByteBuffer) throws {
        guard let portalName = body.readCString(), let statementName = body.readCString() else { throw malformed("Bind") }
        let formats = try readFormats(&body)
        guard let count = body.readInteger(as: Int16.self), count >= 0 else { throw malformed("Bind") }
        guard let prepared = statements[statementName] else {
            throw WireError(sqlState: SQLState.invalidSQLStatementName, message: "prepared statement \"\(statementName)\" does not exist")
        }
        guard Int(count) == prepared.parameterCount else {
            throw WireError(sqlState: SQLState.protocolViolation, message: "bind message supplies \(count) parameters, but prepared statement \"\(statementName)\" requires \(prepared.parameterCount)")
        }
        guard formats.count <= 1 || formats.count == Int(count) else { throw malformed("Bind") }
        var values: [Value] = []
        for i in 0..<Int(count) {
            guard let length = body.readInteger(as: Int32.self) else { throw malformed("Bind") }
            var bytes: ByteBuffer?
            if length >= 0 {
                guard let slice = body.readSlice(length: Int(length)) else { throw malformed("Bind") }
                bytes = slice
            }
            let oid = i < prepared.parameterTypes.count ? prepared.parameterTypes[i] : 0
            values.append(try WireCodec.parameter(bytes, oid: oid, binary: Self.format(formats, i) == 1))
        }
        let resultFormats = try readFormats(&body)
        if !portalName.isEmpty, portals[portalName] != nil {
            throw WireError(sqlState: SQLState.duplicateCursor, message: "cursor \"\(portalName)\" already exists")
        }
        portals[portalName] = Portal(prepared: prepared, parameters: values, resultFormats: resultFormats)
        out.writeMessage(Backend.bindComplete) { _ in }
    }

    private func readFormats(_ body: inout ByteBuffer) throws -> [Int16] {
        guard let count = body.readInteger(as: Int16.self), count >= 0 else { throw malformed("Bind") }
        var formats: [Int16] = []
        for _ in 0..<Int(count) {
            guard let format = body.readInteger(as: Int16.self), format == 0 || format == 1 else {
                throw WireError(sqlState: SQLState.invalidParameterValue, message: "unsupported format code")
            }
            formats.append(format)
        }
        return formats
    }

    /// Describe: 'S' statement (ParameterDescription, then RowDescription or NoData) or 'P' portal.
    func describe(_ body: inout ByteBuffer) throws {
        guard let which = body.readInteger(as: UInt8.self), let name = body.readCString() else { throw malformed("Describe") }
        if which == UInt8(ascii: "S") {
            guard let prepared = statements[name] else {
                throw WireError(sqlState: SQLState.invalidSQLStatementName, message: "prepared statement \"\(name)\" does not exist")
            }
            let count = prepared.parameterCount
            out.writeMessage(Backend.parameterDescription) { b in
                b.writeInteger(Int16(truncatingIfNeeded: count))
                for i in 0..<count {
                    let oid = i < prepared.parameterTypes.count ? prepared.parameterTypes[i] : 0
                    b.writeInteger(oid == 0 || oid == OID.unknown ? OID.text : oid)
                }
            }
            let (names, declared) = prepared.columns
            if names.isEmpty {
                out.writeMessage(Backend.noData) { _ in }
            } else {
                let types = prepared.describedTypes ?? Outcome(columns: names, declared: declared, tag: "").types(declared: nil)
                prepared.describedTypes = types
                writeRowDescription(names, types: types, formats: [])
            }
        } else if which == UInt8(ascii: "P") {
            guard let portal = portals[name] else {
                throw WireError(sqlState: SQLState.invalidCursorName, message: "portal \"\(name)\" does not exist")
            }
            let (names, declared) = portal.prepared.columns
            if names.isEmpty {
                out.writeMessage(Backend.noData) { _ in }
                return
            }
            try checkFormats(portal, columns: names.count)
            if portal.outcome == nil, portal.prepared.isReadOnly, portal.prepared.describedTypes == nil {
                portal.outcome = try run(portal.prepared, parameters: portal.parameters)
            }
            let types = portal.types
                ?? (portal.outcome ?? Outcome(columns: names, declared: declared, tag: "")).types(declared: portal.prepared.describedTypes)
            portal.types = types
            writeRowDescription(names, types: types, formats: portal.resultFormats)
        } else {
            throw malformed("Describe")
        }
    }

    private func checkFormats(_ portal: Portal, columns: Int) throws {
        let count = portal.resultFormats.count
        guard count <= 1 || count == columns else {
            throw WireError(sqlState: SQLState.protocolViolation, message: "bind message has \(count) result formats but query has \(columns) columns")
        }
    }

    /// Execute: portal, Int32 maximum rows (0: all).
    func execute(_ body: inout ByteBuffer) throws {
        guard let name = body.readCString(), let maxRows = body.readInteger(as: Int32.self) else { throw malformed("Execute") }
        guard let portal = portals[name] else {
            throw WireError(sqlState: SQLState.invalidCursorName, message: "portal \"\(name)\" does not exist")
        }
        switch portal.prepared.kind {
        case .empty:
            out.writeMessage(Backend.emptyQuery) { _ in }
            return
        case .copy(let copy):
            portals[name] = nil
            if copy.direction == .from { return try beginCopyIn(copy, remaining: nil, implicit: false) }
            return try copyOut(copy)
        default:
            break
        }
        let outcome: Outcome
        if let ran = portal.outcome {
            outcome = ran
        } else {
            outcome = try run(portal.prepared, parameters: portal.parameters)
            portal.outcome = outcome
        }
        if !outcome.columns.isEmpty {
            try checkFormats(portal, columns: outcome.columns.count)
            let types = portal.types ?? outcome.types(declared: portal.prepared.describedTypes)
            portal.types = types
            let start = min(portal.position, outcome.rows.count)
            let end = maxRows > 0 ? min(outcome.rows.count, start + Int(maxRows)) : outcome.rows.count
            writeRows(outcome.rows[start..<end], types: types, formats: portal.resultFormats)
            portal.position = end
            if end < outcome.rows.count {
                out.writeMessage(Backend.portalSuspended) { _ in }
                return
            }
            if maxRows > 0, outcome.tag.hasPrefix("SELECT") {
                // PostgreSQL's tag counts the rows of this Execute.
                var last = outcome
                last.tag = "SELECT \(end - start)"
                return complete(last)
            }
        }
        complete(outcome)
    }

    /// Close: 'S' statement (and its portals) or 'P' portal; closing what does not exist is fine.
    func close(_ body: inout ByteBuffer) throws {
        guard let which = body.readInteger(as: UInt8.self), let name = body.readCString() else { throw malformed("Close") }
        if which == UInt8(ascii: "S") {
            if let prepared = statements.removeValue(forKey: name) {
                portals = portals.filter { $0.value.prepared !== prepared }
            }
        } else if which == UInt8(ascii: "P") {
            portals[name] = nil
        } else {
            throw malformed("Close")
        }
        out.writeMessage(Backend.closeComplete) { _ in }
    }

    /// Sync: the end of an extended-protocol batch.
    func sync() {
        if db?.transactionStatus != .inBlock && db?.transactionStatus != .failed { portals = [:] }
        readyForQuery()
    }
}
