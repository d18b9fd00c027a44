// COPY over the wire, from a simple Query or from Execute.
//
// FROM STDIN: CopyInResponse, then the client's CopyData are parsed as they arrive and each
// complete row is inserted through one prepared INSERT (text values, cast by the engine to the
// columns' types); CopyDone answers `COPY n`. Outside a transaction block the rows go in one
// transaction of their own, so a bad row leaves nothing behind. Sync and Flush during copy-in
// are ignored (postgres-nio sends a Sync before its data); an error or CopyFail ends copy-in
// with an ErrorResponse — then a simple Query's remaining statements are dropped and
// ReadyForQuery follows, while an extended-protocol COPY skips until Sync; CopyData, CopyDone
// and CopyFail arriving after that are dropped, as in PostgreSQL.
//
// TO STDOUT: CopyOutResponse, one CopyData per row, CopyDone, `COPY n`.

import NIOCore
import Borealis

/// A COPY FROM STDIN in progress.
final class CopyIn {
    let command: CopyCommand
    let insert: PreparedStatement
    let columnCount: Int
    /// The simple Query's statements after the COPY (nil: the COPY came from Execute).
    let remaining: ArraySlice<String>?
    let implicit: Bool
    /// The COPY began a transaction of its own (none was open).
    let ownTransaction: Bool
    var pending: [UInt8] = []
    var rows = 0
    var headerSkipped = false
    var ended = false
    var csv: CSVReader?

    init(command: CopyCommand, insert: PreparedStatement, columnCount: Int, remaining: ArraySlice<String>?, implicit: Bool, ownTransaction: Bool) {
        self.command = command
        self.insert = insert
        self.columnCount = columnCount
        self.remaining = remaining
        self.implicit = implicit
        self.ownTransaction = ownTransaction
        headerSkipped = !command.header
        if command.csv { csv = CSVReader(command) }
    }
}

extension Session {
    /// Starts COPY FROM STDIN: CopyInResponse, and the session waits for CopyData.
    func beginCopyIn(_ command: CopyCommand, remaining: ArraySlice<String>?, implicit: Bool) throws {
        guard let db, let table = command.table else { throw WireError(sqlState: SQLState.connectionDoesNotExist, message: "no connection") }
        var columns = command.columns
        if columns.isEmpty {
            columns = try db.makeStatement("SELECT * FROM \(table) LIMIT 0").columnNames.map(Self.quoted)
        }
        guard !columns.isEmpty else { throw WireError(sqlState: SQLState.syntaxError, message: "COPY needs at least one column") }
        let placeholders = (1...columns.count).map { "$\($0)" }.joined(separator: ", ")
        // COPY writes the values it is given into identity columns too, GENERATED ALWAYS ones
        // included (PostgreSQL's rule: as INSERT … OVERRIDING SYSTEM VALUE).
        let insert = try db.makeStatement("INSERT INTO \(table) (\(columns.joined(separator: ", "))) OVERRIDING SYSTEM VALUE VALUES (\(placeholders))")
        let own = db.transactionStatus == .idle
        if own { try db.execute("BEGIN") }
        copyIn = CopyIn(command: command, insert: insert, columnCount: columns.count, remaining: remaining,
                        implicit: implicit, ownTransaction: own)
        out.writeMessage(UInt8(ascii: "G")) { b in
            b.writeInteger(UInt8(0))
            b.writeInteger(Int16(truncatingIfNeeded: columns.count))
            for _ in columns { b.writeInteger(Int16(0)) }
        }
        flush()
    }

    static func quoted(_ name: String) -> String {
        "\"" + name.replacing("\"", with: "\"\"") + "\""
    }

    /// A message during copy-in.
    func copyMessage(_ type: UInt8, _ body: ByteBuffer) {
        guard let copy = copyIn else { return }
        do {
            switch type {
            case UInt8(ascii: "d"):
                try copyData(copy, body.readableBytesView)
            case UInt8(ascii: "c"):
                try copyData(copy, [][...], last: true)
                copyIn = nil
                if copy.ownTransaction { try db?.execute("COMMIT") }
                out.writeMessage(Backend.commandComplete) { $0.writeCString("COPY \(copy.rows)") }
                if let remaining = copy.remaining { continueQuery(remaining, implicit: copy.implicit) }
            case UInt8(ascii: "f"):
                var body = body
                let reason = body.readCString() ?? ""
                throw WireError(sqlState: SQLState.queryCanceled, message: "COPY from stdin failed: \(reason)")
            case UInt8(ascii: "S"), UInt8(ascii: "H"):
                break
            default:
                throw WireError(sqlState: SQLState.protocolViolation, message: "unexpected message type 0x\(String(type, radix: 16)) during COPY from stdin")
            }
        } catch {
            copyIn = nil
            write(error)
            if copy.ownTransaction || copy.implicit { _ = try? db?.execute("ROLLBACK") }
            if copy.remaining != nil { readyForQuery() } else { skipping = true }
        }
    }

    private func copyData(_ copy: CopyIn, _ bytes: some Collection<UInt8>, last: Bool = false) throws {
        if copy.ended { return }
        if var reader = copy.csv {
            defer { copy.csv = reader }
            let record: ([String?]) throws -> Void = { fields in try self.copyRow(copy, fields) }
            try reader.feed(Array(bytes)[...], record)
            if last { try reader.finish(record) }
            return
        }
        copy.pending += bytes
        guard copy.pending.count <= FrameDecoder.maximumFrameLength else {
            throw WireError(sqlState: SQLState.programLimitExceeded, message: "COPY line is longer than 1 GiB")
        }
        var start = 0
        while let newline = copy.pending[start...].firstIndex(of: 10) {
            var line = copy.pending[start..<newline]
            if line.last == 13 { line = line.dropLast() }
            start = newline + 1
            if line.elementsEqual("\\.".utf8) {
                copy.ended = true
                break
            }
            try copyRow(copy, copy.command.textFields(line))
        }
        copy.pending.removeFirst(start)
        if last, !copy.ended, !copy.pending.isEmpty {
            try copyRow(copy, copy.command.textFields(copy.pending[...]))
            copy.pending = []
        }
    }

    private func copyRow(_ copy: CopyIn, _ fields: [String?]) throws {
        if copy.ended { return }
        if !copy.headerSkipped {
            copy.headerSkipped = true
            return
        }
        if fields.count == 1, fields[0] == "\\." {
            copy.ended = true
            return
        }
        guard fields.count >= copy.columnCount else {
            throw WireError(sqlState: SQLState.badCopyFileFormat, message: "missing data for column \(fields.count + 1) (COPY line \(copy.rows + 1))")
        }
        guard fields.count == copy.columnCount else {
            throw WireError(sqlState: SQLState.badCopyFileFormat, message: "extra data after last expected column (COPY line \(copy.rows + 1))")
        }
        try copy.insert.execute(fields.map { $0.map(Value.text) ?? .null })
        copy.rows += 1
    }

    /// COPY … TO STDOUT: the rows as CopyData.
    func copyOut(_ command: CopyCommand) throws {
        guard let db else { throw WireError(sqlState: SQLState.connectionDoesNotExist, message: "no connection") }
        let sql = command.query ?? "SELECT \(command.columns.isEmpty ? "*" : command.columns.joined(separator: ", ")) FROM \(command.table ?? "")"
        let result = try db.makeStatement(sql).execute()
        out.writeMessage(UInt8(ascii: "H")) { b in
            b.writeInteger(UInt8(0))
            b.writeInteger(Int16(truncatingIfNeeded: result.columns.count))
            for _ in result.columns { b.writeInteger(Int16(0)) }
        }
        var line: [UInt8] = []
        if command.header {
            command.textLine(result.columns.map(Value.text), into: &line)
            out.writeMessage(UInt8(ascii: "d")) { $0.writeBytes(line) }
        }
        for row in result.rows {
            line.removeAll(keepingCapacity: true)
            command.textLine(row, into: &line)
            out.writeMessage(UInt8(ascii: "d")) { $0.writeBytes(line) }
            if out.readableBytes > 1 << 18 { flush() }
        }
        out.writeMessage(UInt8(ascii: "c")) { _ in }
        out.writeMessage(Backend.commandComplete) { $0.writeCString("COPY \(result.rows.count)") }
    }
}
