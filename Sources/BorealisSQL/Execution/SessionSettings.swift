// A connection's configuration parameters (PostgreSQL's GUCs): what SET, SHOW and RESET read
// and change, current_setting() and set_config() return, and a wire-protocol listener reports
// as ParameterStatus. Borealis keeps the ones clients send and read; most change nothing in
// the engine (it always speaks UTF-8, ISO dates and UTC), and a value it cannot honour is
// refused rather than pretended (`SET TIME ZONE 'Europe/Paris'` is 0A000).
//
// As in PostgreSQL, a SET inside a transaction block is undone when the block rolls back, and
// SET LOCAL lasts until the block ends either way. Names match case-insensitively; a name with
// a dot (`myapp.mode`) is a custom parameter any SET may create.

import BorealisStorage

package final class SessionSettings: @unchecked Sendable {
    /// A parameter Borealis knows: its name as SHOW reports it, its default, and whether SET may
    /// change it.
    struct Parameter {
        let name: String
        let defaultValue: String
        var readOnly = false
        var description = ""
    }

    private let known: [String: Parameter]
    /// The session's user (session_authorization: the user a wire client connected as) and
    /// database, as current_user and current_database() name them.
    package var user: String { value("session_authorization") ?? "borealis" }
    package let database: String
    /// Session values that differ from the defaults, by lowercased name.
    private var values: [String: String] = [:] { didSet { limitsGeneration += 1 } }
    /// SET LOCAL values of the current block.
    private var local: [String: String] = [:] { didSet { limitsGeneration += 1 } }
    /// The limits every statement reads, parsed from their settings' text once per change of
    /// the settings (parsing three of them at every statement was ~7% of a prepared point
    /// select); valid while `limitsGeneration` is the one they were parsed at.
    private var limits: (generation: Int, value: StatementLimits)?
    private var limitsGeneration = 0
    /// `values` when the current block began (restored if it rolls back); nil outside one.
    private var atBlockStart: [String: String]?
    private var inBlock: Bool { atBlockStart != nil }
    private let lock = Locked(())
    /// currval() and lastval() of this session (Sequences.swift).
    package let sequenceValues = SessionSequenceValues()
    /// Set by the connection before each statement: the statement runs in a read-only
    /// transaction, database or replica, where nextval() and setval() fail with 25006.
    package var writesRefused = false

    /// `serverVersion` is Borealis's own (`0.2.0`); `user` and `database` name the session.
    package init(serverVersion: String, user: String = "borealis", database: String = "borealis") {
        let parameters: [Parameter] = [
            Parameter(name: "application_name", defaultValue: ""),
            Parameter(name: "client_encoding", defaultValue: "UTF8", description: "UTF8 only"),
            Parameter(name: "DateStyle", defaultValue: "ISO, MDY"),
            Parameter(name: "default_transaction_read_only", defaultValue: "off"),
            Parameter(name: "default_transaction_isolation", defaultValue: "repeatable read"),
            Parameter(name: "transaction_isolation", defaultValue: "repeatable read", readOnly: true),
            Parameter(name: "in_hot_standby", defaultValue: "off", readOnly: true),
            Parameter(name: "integer_datetimes", defaultValue: "on", readOnly: true),
            Parameter(name: "IntervalStyle", defaultValue: "postgres"),
            Parameter(name: "is_superuser", defaultValue: "on", readOnly: true),
            Parameter(name: "server_encoding", defaultValue: "UTF8", readOnly: true),
            Parameter(name: "server_version", defaultValue: "15.0 (Borealis \(serverVersion))", readOnly: true),
            Parameter(name: "server_version_num", defaultValue: "150000", readOnly: true),
            Parameter(name: "session_authorization", defaultValue: user),
            Parameter(name: "standard_conforming_strings", defaultValue: "on"),
            Parameter(name: "TimeZone", defaultValue: "UTC", description: "UTC only"),
            Parameter(name: "search_path", defaultValue: "\"$user\", public"),
            Parameter(name: "extra_float_digits", defaultValue: "1"),
            Parameter(name: "statement_timeout", defaultValue: "0"),
            Parameter(name: "statement_memory", defaultValue: Self.describeKilobytes(StatementMemory.defaultLimit / 1024),
                      description: "Borealis: memory a statement may hold in what cannot spill to temporary files"),
            Parameter(name: "temp_file_limit", defaultValue: "-1"),
            Parameter(name: "lock_timeout", defaultValue: "0"),
            Parameter(name: "idle_in_transaction_session_timeout", defaultValue: "0"),
            Parameter(name: "client_min_messages", defaultValue: "notice"),
            Parameter(name: "bytea_output", defaultValue: "hex"),
            Parameter(name: "synchronous_commit", defaultValue: "on"),
            Parameter(name: "max_identifier_length", defaultValue: "63", readOnly: true),
            Parameter(name: "work_mem", defaultValue: "4MB"),
            Parameter(name: "maintenance_work_mem", defaultValue: "64MB"),
            Parameter(name: "escape_string_warning", defaultValue: "on"),
            Parameter(name: "row_security", defaultValue: "on"),
            Parameter(name: "jit", defaultValue: "off"),
            Parameter(name: "lc_messages", defaultValue: "C"),
            Parameter(name: "lc_monetary", defaultValue: "C"),
            Parameter(name: "lc_numeric", defaultValue: "C"),
            Parameter(name: "lc_time", defaultValue: "C"),
            Parameter(name: "lc_collate", defaultValue: "C", readOnly: true),
            Parameter(name: "lc_ctype", defaultValue: "C", readOnly: true),
            Parameter(name: "timezone_abbreviations", defaultValue: "Default"),
            Parameter(name: "xmloption", defaultValue: "content"),
        ]
        self.database = database
        known = Dictionary(parameters.map { ($0.name.lowercased(), $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// statement_timeout in milliseconds (0: none): PostgreSQL's units (`ms`, `s`, `min`, `h`,
    /// `d`; a bare number is milliseconds).
    package var statementTimeoutMilliseconds: Int64 { statementLimits.timeoutMilliseconds }

    /// statement_memory in bytes (docs/robustness.md, "Memory").
    package var statementMemoryBytes: Int { statementLimits.memoryBytes }

    /// temp_file_limit in bytes, nil for none (-1, PostgreSQL's default).
    package var temporaryFileLimitBytes: Int? { statementLimits.temporaryFileBytes }

    struct StatementLimits {
        var timeoutMilliseconds: Int64
        var memoryBytes: Int
        var temporaryFileBytes: Int?
    }

    private var statementLimits: StatementLimits {
        let (cached, generation) = lock.withLock { _ in (limits, limitsGeneration) }
        if let cached, cached.generation == generation { return cached.value }
        var parsed = StatementLimits(timeoutMilliseconds: 0, memoryBytes: StatementMemory.defaultLimit, temporaryFileBytes: nil)
        if let text = value("statement_timeout"), text != "0" {
            parsed.timeoutMilliseconds = min(SessionSettings.milliseconds(text) ?? 0, Int64(Int32.max))   // PostgreSQL's limit
        }
        if let kB = value("statement_memory").flatMap(Self.kilobytes) { parsed.memoryBytes = kB * 1024 }
        if let kB = value("temp_file_limit").flatMap(Self.kilobytes), kB >= 0 { parsed.temporaryFileBytes = kB * 1024 }
        lock.withLock { _ in
            // Kept only if no SET came in between: a later reader parses again.
            if limitsGeneration == generation { limits = (generation, parsed) }
        }
        return parsed
    }

    /// A memory setting in kilobytes, read as PostgreSQL reads one whose unit is kB: a number
    /// (with a fraction, or negative) and a unit `B`, `kB`, `MB`, `GB` or `TB` (none: kB), rounded
    /// to the nearest kB; nil when it is not one or past ±2⁵³ kB.
    static func kilobytes(_ text: String) -> Int? {
        let trimmed = text.trimmingWhitespace()
        let number = trimmed.prefix { ($0.isASCII && $0.isNumber) || $0 == "." || $0 == "-" }
        guard let value = Double(number), value.isFinite else { return nil }
        let scale: Double
        switch trimmed.dropFirst(number.count).trimmingWhitespace() {
        case "B": scale = 1.0 / 1024
        case "", "kB": scale = 1
        case "MB": scale = 1024
        case "GB": scale = 1024 * 1024
        case "TB": scale = 1024 * 1024 * 1024
        default: return nil
        }
        let kB = (value * scale).rounded()
        guard abs(kB) <= 9.0e15 else { return nil }
        return Int(kB)
    }

    /// Kilobytes as PostgreSQL shows a memory setting: in the largest unit that divides them.
    package static func describeKilobytes(_ kB: Int) -> String {
        guard kB > 0 else { return String(kB) }
        var value = kB
        for unit in ["kB", "MB", "GB"] {
            if value % 1024 != 0 { return "\(value)\(unit)" }
            value /= 1024
        }
        return "\(value)TB"
    }

    static func milliseconds(_ text: String) -> Int64? {
        let trimmed = text.trimmingWhitespace().lowercased()
        let digits = trimmed.prefix { $0.isNumber || $0 == "." }
        guard let number = Double(digits), number >= 0 else { return nil }
        let unit = trimmed.dropFirst(digits.count).trimmingWhitespace()
        let scale: Double
        switch unit {
        case "", "ms": scale = 1
        case "s": scale = 1000
        case "min": scale = 60_000
        case "h": scale = 3_600_000
        case "d": scale = 86_400_000
        case "us": scale = 0.001
        default: return nil
        }
        let value = (number * scale).rounded()
        guard value < 9.2e15 else { return nil }
        return Int64(value)
    }

    /// The names of the parameters SHOW ALL lists, as they are spelled.
    package var names: [String] { known.values.map(\.name) }

    /// The value of `name` now, nil for an unknown parameter.
    package func value(_ name: String) -> String? {
        let key = name.lowercased()
        return lock.withLock { _ in local[key] ?? values[key] ?? known[key]?.defaultValue }
    }

    /// The parameters a wire-protocol listener reports at startup (ParameterStatus), with their
    /// current values.
    package var reported: [(name: String, value: String)] {
        ["application_name", "client_encoding", "DateStyle", "default_transaction_read_only", "in_hot_standby",
         "integer_datetimes", "IntervalStyle", "is_superuser", "server_encoding", "server_version",
         "session_authorization", "standard_conforming_strings", "TimeZone"].map { ($0, value($0) ?? "") }
    }

    /// SET, SHOW or RESET.
    package func execute(_ statement: Statement) throws -> QueryResult {
        switch statement {
        case .set(let name, let value, let isLocal):
            let inBlock = lock.withLock { _ in self.inBlock }
            try set(name, value, local: isLocal)
            var result = QueryResult()
            if isLocal && !inBlock {
                result.notice = name == "transaction_isolation" ? "WARNING: SET TRANSACTION can only be used in transaction blocks"
                    : "WARNING: SET LOCAL can only be used in transaction blocks"
            }
            return result
        case .reset(let name):
            if name == "all" {
                lock.withLock { _ in
                    values = values.filter { known[$0.key]?.readOnly ?? false }
                    local = [:]
                }
            } else {
                try set(name, nil, local: false)
            }
            return QueryResult()
        case .show(let name):
            if name == "all" {
                let rows = known.values.sorted { $0.name.lowercased() < $1.name.lowercased() }.map { parameter -> [Value] in
                    [.text(parameter.name), .text(value(parameter.name) ?? ""), .text(parameter.description)]
                }
                return QueryResult(columns: ["name", "setting", "description"], rows: rows, declaredTypes: ["text", "text", "text"])
            }
            guard let current = value(name) else { throw Self.unrecognized(name) }
            return QueryResult(columns: [known[name]?.name ?? name], rows: [[.text(current)]], declaredTypes: ["text"])
        default:
            throw DatabaseError.internalError("not a session statement")
        }
    }

    /// Sets `name` to `value` (nil: its default) for the session, or with `local` for the
    /// current block; what `set_config` does too.
    package func set(_ name: String, _ value: String?, local isLocal: Bool) throws {
        let key = name.lowercased()
        let parameter = known[key]
        guard parameter != nil || key.contains(".") else { throw Self.unrecognized(name) }
        // SET TRANSACTION ISOLATION LEVEL: accepted for the block (every level is snapshot
        // isolation with one writer, which is serializable).
        if key == "transaction_isolation" && isLocal { return }
        if let parameter, parameter.readOnly {
            throw DatabaseError(.error, sqlState: SQLState.cantChangeRuntimeParameter, "parameter \"\(parameter.name)\" cannot be changed")
        }
        let accepted = try value.map { try Self.check(key, $0) }
        lock.withLock { _ in
            if isLocal && !inBlock { return }   // PostgreSQL: a warning, and no effect
            if isLocal {
                local[key] = accepted ?? parameter?.defaultValue ?? ""
            } else {
                local[key] = nil
                values[key] = accepted
            }
        }
    }

    /// When the open transaction block began (µs since the epoch): now() within the block.
    package var blockStartTime: Int64? { lock.withLock { _ in blockStart } }
    private var blockStart: Int64?

    /// A transaction block begins: a SET in it is undone if it rolls back.
    package func blockBegins() {
        let now = wallClockMicroseconds()
        lock.withLock { _ in
            atBlockStart = values
            blockStart = now
        }
    }

    /// The block ends: SET LOCAL values lapse, and a rollback restores the session values.
    package func blockEnds(committed: Bool) {
        lock.withLock { _ in
            if !committed, let saved = atBlockStart { values = saved }
            atBlockStart = nil
            blockStart = nil
            if !local.isEmpty { local = [:] }
        }
    }

    /// `value` as the parameter keeps it, or an error for a value Borealis cannot honour.
    private static func check(_ key: String, _ value: String) throws -> String {
        switch key {
        case "timezone":
            let utc: Set<String> = ["utc", "etc/utc", "gmt", "etc/gmt", "z", "zulu", "universal", "+00", "0", "00:00", "+00:00", "utc0"]
            guard utc.contains(value.lowercased()) else {
                throw DatabaseError(.error, sqlState: SQLState.featureNotSupported,
                                    "time zone \"\(value)\" is not supported: Borealis keeps the session time zone at UTC")
            }
            return value
        case "client_encoding":
            guard ["utf8", "utf-8", "unicode"].contains(value.lowercased()) else {
                throw DatabaseError(.error, sqlState: SQLState.featureNotSupported, "client encoding \"\(value)\" is not supported: Borealis speaks UTF8 only")
            }
            return "UTF8"
        case "statement_memory", "temp_file_limit":
            // Memory settings in kB, kept as SHOW gives them: 64kB up for statement_memory,
            // -1 (none) up to PostgreSQL's INT_MAX kB for temp_file_limit.
            guard let kB = kilobytes(value) else {
                throw DatabaseError(.error, sqlState: SQLState.invalidParameterValue,
                                    "invalid value for parameter \"\(key)\": \"\(value)\" (valid units: B, kB, MB, GB, TB)")
            }
            let range = key == "statement_memory" ? 64...(Int.max / 1024) : -1...Int(Int32.max)
            guard range.contains(kB) else {
                throw DatabaseError(.error, sqlState: SQLState.invalidParameterValue,
                                    "\(kB) kB is outside the valid range for parameter \"\(key)\" (\(range.lowerBound) .. \(range.upperBound))")
            }
            return describeKilobytes(kB)
        default:
            return value
        }
    }

    private static func unrecognized(_ name: String) -> DatabaseError {
        DatabaseError(.error, sqlState: SQLState.undefinedObject, "unrecognized configuration parameter \"\(name)\"")
    }
}
