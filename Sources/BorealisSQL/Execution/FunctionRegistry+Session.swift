// The functions that read the session rather than their arguments: its configuration
// parameters (current_setting, set_config), who and where it is (current_user,
// current_database(), current_schema), and what it is talking to (version()).

import BorealisStorage
import Glibc

extension FunctionRegistry {
    static let session: [ScalarFunction] = [
        ScalarFunction(["current_setting"], arity: 1...2, result: .fixed(.text), parameters: [.text, .boolean], volatility: .stable) { _, args in
            { ctx in
                guard let name = try Functions.text(try args[0](ctx)) else { return .null }
                let missingOK = args.count == 2 ? try args[1](ctx).truth() == true : false
                if let value = ctx.session?.value(name) { return .text(value) }
                if missingOK { return .null }
                throw DatabaseError(.error, sqlState: SQLState.undefinedObject, "unrecognized configuration parameter \"\(name)\"")
            }
        },
        ScalarFunction(["set_config"], arity: 3...3, result: .fixed(.text), parameters: [.text, .text, .boolean], volatility: .volatile) { _, args in
            { ctx in
                guard let name = try Functions.text(try args[0](ctx)) else {
                    throw DatabaseError(.error, sqlState: SQLState.nullValueNotAllowed, "SET requires parameter name")
                }
                guard let session = ctx.session else { throw DatabaseError.internalError("set_config outside a session") }
                let value = try Functions.text(try args[1](ctx))
                try session.set(name, value, local: try args[2](ctx).truth() == true)
                return session.value(name).map(Value.text) ?? .null
            }
        },
        ScalarFunction(["version"], arity: 0...0, result: .fixed(.text), parameters: [], volatility: .stable) { _, _ in
            { ctx in
                let server = ctx.session?.value("server_version") ?? "15.0"
                return .text("PostgreSQL \(server) on x86_64-pc-linux-gnu, compiled by swiftc, 64-bit")
            }
        },
        ScalarFunction(["current_database", "current_catalog"], arity: 0...0, result: .fixed(.text), parameters: [], volatility: .stable) { _, _ in
            { ctx in .text(ctx.session?.database ?? "borealis") }
        },
        ScalarFunction(["current_user", "session_user", "current_role", "user"], arity: 0...0, result: .fixed(.text), parameters: [],
                       volatility: .stable) { _, _ in
            { ctx in .text(ctx.session?.user ?? "borealis") }
        },
        // Borealis has one schema, public (schemas are a later step: docs/sql.md).
        ScalarFunction(["current_schema"], arity: 0...0, result: .fixed(.text), parameters: [], volatility: .stable) { _, _ in
            { _ in .text("public") }
        },
        ScalarFunction(["pg_backend_pid"], arity: 0...0, result: .fixed(.integer), parameters: [], volatility: .stable) { _, _ in
            { _ in .integer(Int64(getpid())) }
        },
    ]
}
