// The binary-string functions: sha224/sha256, encode/decode (hex, base64, escape),
// convert_to/convert_from, get_byte/set_byte, bit_length; and a few small ones PostgreSQL
// applications call: num_nulls/num_nonnulls, scale/min_scale/trim_scale, pg_sleep.

import BorealisStorage
import Glibc

extension FunctionRegistry {
    /// A bytea argument: a text one is read as bytea input (`'\x0102'`, `'abc'`).
    private static func bytes(_ v: Value) throws -> [UInt8]? {
        switch v {
        case .null: return nil
        case .blob(let b): return b
        default:
            guard case .blob(let b) = try v.cast(to: .bytea) else { return nil }
            return b
        }
    }

    private static func format(_ v: Value) throws -> String? { try Functions.text(v)?.lowercased() }

    static let bytesFunctions: [ScalarFunction] = [
        ScalarFunction(["sha256", "sha224"], arity: 1...1, result: .fixed(.bytea), parameters: [.bytea], volatility: .immutable) { name, args in
            { ctx in
                guard let b = try bytes(try args[0](ctx)) else { return .null }
                return .blob(name == "sha256" ? SHA256.sha256(b) : SHA256.sha224(b))
            }
        },
        ScalarFunction(["encode"], arity: 2...2, result: .fixed(.text), parameters: [.bytea, .text], volatility: .immutable) { _, args in
            { ctx in
                guard let b = try bytes(try args[0](ctx)), let format = try format(try args[1](ctx)) else { return .null }
                switch format {
                case "hex": return .text(hexString(b))
                case "base64": return .text(BinaryText.base64(b))
                case "escape": return .text(BinaryText.escaped(b))
                default: throw DatabaseError(.error, sqlState: SQLState.invalidParameterValue, "unrecognized encoding: \"\(format)\"")
                }
            }
        },
        ScalarFunction(["decode"], arity: 2...2, result: .fixed(.bytea), parameters: [.text, .text], volatility: .immutable) { _, args in
            { ctx in
                guard let s = try Functions.text(try args[0](ctx)), let format = try format(try args[1](ctx)) else { return .null }
                switch format {
                case "hex": return .blob(try BinaryText.fromHex(s))
                case "base64": return .blob(try BinaryText.fromBase64(s))
                case "escape": return .blob(try BinaryText.fromEscaped(s))
                default: throw DatabaseError(.error, sqlState: SQLState.invalidParameterValue, "unrecognized encoding: \"\(format)\"")
                }
            }
        },
        ScalarFunction(["convert_to"], arity: 2...2, result: .fixed(.bytea), parameters: [.text, .text], volatility: .stable) { _, args in
            { ctx in
                guard let s = try Functions.text(try args[0](ctx)), let encoding = try format(try args[1](ctx)) else { return .null }
                switch String(encoding.filter { $0 != "-" && $0 != "_" }) {
                case "utf8", "unicode", "sqlascii": return .blob(Array(s.utf8))
                case "latin1", "iso88591":
                    var out: [UInt8] = []
                    for scalar in s.unicodeScalars {
                        guard scalar.value < 256 else {
                            throw DatabaseError(.error, sqlState: SQLState.untranslatableCharacter,
                                                "character with byte sequence \(BinaryText.utf8Bytes(scalar)) in encoding \"UTF8\" has no equivalent in encoding \"LATIN1\"")
                        }
                        out.append(UInt8(scalar.value))
                    }
                    return .blob(out)
                default: throw DatabaseError(.error, sqlState: SQLState.invalidParameterValue, "invalid destination encoding name \"\(encoding)\"")
                }
            }
        },
        ScalarFunction(["convert_from"], arity: 2...2, result: .fixed(.text), parameters: [.bytea, .text], volatility: .stable) { _, args in
            { ctx in
                guard let b = try bytes(try args[0](ctx)), let encoding = try format(try args[1](ctx)) else { return .null }
                switch String(encoding.filter { $0 != "-" && $0 != "_" }) {
                case "utf8", "unicode", "sqlascii":
                    guard let s = String(validating: b, as: UTF8.self), !b.contains(0) else {
                        throw DatabaseError(.error, sqlState: SQLState.characterNotInRepertoire, "invalid byte sequence for encoding \"UTF8\"")
                    }
                    return .text(s)
                case "latin1", "iso88591":
                    if b.contains(0) { throw DatabaseError(.error, sqlState: SQLState.characterNotInRepertoire, "invalid byte sequence for encoding \"LATIN1\": 0x00") }
                    var s = String.UnicodeScalarView()
                    for byte in b { s.append(Unicode.Scalar(byte)) }
                    return .text(String(s))
                default: throw DatabaseError(.error, sqlState: SQLState.invalidParameterValue, "invalid source encoding name \"\(encoding)\"")
                }
            }
        },
        ScalarFunction(["get_byte"], arity: 2...2, result: .fixed(.integer), parameters: [.bytea, .integer], volatility: .immutable) { _, args in
            { ctx in
                guard let b = try bytes(try args[0](ctx)), case .integer(let n) = try args[1](ctx).cast(to: .integer) else { return .null }
                guard n >= 0, n < b.count else {
                    throw DatabaseError(.error, sqlState: SQLState.arraySubscriptError, "index \(n) out of valid range, 0..\(b.count - 1)")
                }
                return .integer(Int64(b[Int(n)]))
            }
        },
        ScalarFunction(["set_byte"], arity: 3...3, result: .fixed(.bytea), parameters: [.bytea, .integer, .integer], volatility: .immutable) { _, args in
            { ctx in
                guard var b = try bytes(try args[0](ctx)), case .integer(let n) = try args[1](ctx).cast(to: .integer),
                      case .integer(let value) = try args[2](ctx).cast(to: .integer) else { return .null }
                guard n >= 0, n < b.count else {
                    throw DatabaseError(.error, sqlState: SQLState.arraySubscriptError, "index \(n) out of valid range, 0..\(b.count - 1)")
                }
                b[Int(n)] = UInt8(truncatingIfNeeded: value)
                return .blob(b)
            }
        },
        ScalarFunction(["bit_length"], arity: 1...1, result: .fixed(.integer), parameters: [nil], volatility: .immutable) { _, args in
            { ctx in
                switch try args[0](ctx) {
                case .null: return .null
                case .blob(let b): return .integer(Int64(b.count) * 8)
                case let v: return .integer(Int64(try Functions.text(v)?.utf8.count ?? 0) * 8)
                }
            }
        },
        ScalarFunction(["num_nulls", "num_nonnulls"], arity: 1...100, result: .fixed(.integer), parameters: [nil], volatility: .immutable) { name, args in
            { ctx in
                var nulls = 0
                for a in args where try a(ctx).isNull { nulls += 1 }
                return .integer(Int64(name == "num_nulls" ? nulls : args.count - nulls))
            }
        },
        ScalarFunction(["scale", "min_scale"], arity: 1...1, result: .fixed(.integer), parameters: [.numeric], volatility: .immutable) { name, args in
            { ctx in
                guard case .numeric(let n) = try args[0](ctx).cast(to: .numeric) else { return .null }
                if name == "scale" { return .integer(Int64(n.scale)) }
                return .integer(Int64(BinaryText.significantScale(n)))
            }
        },
        ScalarFunction(["trim_scale"], arity: 1...1, result: .fixed(.numeric), parameters: [.numeric], volatility: .immutable) { _, args in
            { ctx in
                guard case .numeric(let n) = try args[0](ctx).cast(to: .numeric) else { return .null }
                return .numeric(n.rounded(to: BinaryText.significantScale(n)))
            }
        },
        // ROW(a, b) and (a, b) outside a comparison: the record's text, as record_out writes it.
        ScalarFunction(["row"], arity: 1...100, result: .fixed(.text), parameters: [nil], volatility: .immutable) { _, args in
            { ctx in
                var fields: [String] = []
                for a in args {
                    let v = try a(ctx)
                    guard let text = try Functions.text(v) else { fields.append(""); continue }
                    let special = text.isEmpty || text.contains(where: { "\"\\(),".contains($0) || $0.isWhitespace })
                    guard special else { fields.append(text); continue }
                    var quoted = "\""
                    for c in text {
                        if c == "\"" || c == "\\" { quoted.append(c) }
                        quoted.append(c)
                    }
                    fields.append(quoted + "\"")
                }
                return .text("(" + fields.joined(separator: ",") + ")")
            }
        },
        // Sleeps in short steps so that an interrupt or statement timeout ends it.
        ScalarFunction(["pg_sleep"], arity: 1...1, result: .fixed(.text), parameters: [.doublePrecision], volatility: .volatile) { _, args in
            { ctx in
                guard case .double(let seconds) = try args[0](ctx).cast(to: .doublePrecision) else { return .null }
                guard seconds.isFinite else { throw DatabaseError(.error, sqlState: SQLState.invalidParameterValue, "pg_sleep needs a finite number of seconds") }
                var left = max(0, seconds)
                while left > 0 {
                    try ctx.txn?.watch?.check()
                    let step = min(left, 0.01)
                    usleep(UInt32(step * 1_000_000))
                    left -= step
                }
                return .text("")
            }
        },
    ]
}
