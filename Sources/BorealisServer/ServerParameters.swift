// The session parameters a client sees: the 13 PostgreSQL reports in ParameterStatus at
// startup (and again when SET changes one), their values as drivers require them
// (client_encoding UTF8, DateStyle "ISO, MDY", standard_conforming_strings "on", a
// server_version of the form "15.x (Borealis …)"), and what SHOW answers for the rest.
// Borealis speaks UTF-8 and prints dates in ISO and times in UTC whatever a client sets, so
// those three keep their values.

import Borealis

enum ServerParameters {
    static let serverVersion = "15.0 (Borealis \(borealisVersion))"

    /// Reported at startup, in this order.
    static let reported = [
        "application_name", "client_encoding", "DateStyle", "default_transaction_read_only",
        "in_hot_standby", "integer_datetimes", "IntervalStyle", "is_superuser", "server_encoding",
        "server_version", "session_authorization", "standard_conforming_strings", "TimeZone",
    ]

    /// Settings a session starts with (keys lowercased).
    static let defaults: [String: String] = [
        "application_name": "",
        "client_encoding": "UTF8",
        "datestyle": "ISO, MDY",
        "default_transaction_read_only": "off",
        "in_hot_standby": "off",
        "integer_datetimes": "on",
        "intervalstyle": "postgres",
        "is_superuser": "on",
        "server_encoding": "UTF8",
        "server_version": serverVersion,
        "server_version_num": "150000",
        "standard_conforming_strings": "on",
        "timezone": "UTC",
        "transaction_isolation": "serializable",
        "default_transaction_isolation": "serializable",
        "search_path": "\"$user\", public",
        "extra_float_digits": "1",
        "statement_timeout": "0",
        "lock_timeout": "0",
        "idle_in_transaction_session_timeout": "0",
        "max_identifier_length": "63",
        "synchronous_commit": "on",
        "client_min_messages": "notice",
        "lc_messages": "C",
        "lc_monetary": "C",
        "lc_numeric": "C",
        "lc_time": "C",
    ]

    /// The reported spelling of `name`, when SET of it must be reported.
    static func reportedName(_ name: String) -> String? {
        let lower = name.lowercased()
        return reported.first { $0.lowercased() == lower }
    }

    /// The value a reported parameter has: fixed for those Borealis does not change.
    static func reportedValue(_ name: String, settings: [String: String], server: ServerState) -> String {
        switch name.lowercased() {
        case "client_encoding", "server_encoding": return "UTF8"
        case "datestyle": return "ISO, MDY"
        case "timezone": return "UTC"
        case "integer_datetimes", "standard_conforming_strings": return "on"
        case "server_version": return serverVersion
        case "default_transaction_read_only": return server.database.isReadOnly ? "on" : "off"
        default: return settings[name.lowercased()] ?? ""
        }
    }

    /// SHOW name: nil for a parameter nobody has set and Borealis does not know.
    static func show(_ name: String, settings: [String: String], server: ServerState) -> String? {
        let lower = name.lowercased()
        if reportedName(lower) != nil { return reportedValue(lower, settings: settings, server: server) }
        return settings[lower]
    }
}
