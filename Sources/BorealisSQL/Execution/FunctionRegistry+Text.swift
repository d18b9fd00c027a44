// Text functions beyond the basic ones: PostgreSQL's regular expression functions (regexp_like,
// regexp_replace, regexp_count, regexp_instr, regexp_substr, similar_to_escape; the operators
// ~ ~* !~ !~* and SIMILAR TO compile here too), format() with its %s %I %L specifiers, the
// quote_* family, starts_with, translate and to_hex. Character positions count code points,
// as PostgreSQL's do.

import BorealisStorage

extension FunctionRegistry {
    static let text: [ScalarFunction] = [
        // overlay(s PLACING r FROM start [FOR count]) (the parser's special form) and
        // overlay(s, r, start [, count]), of text or bytea: the part of s before start, r, then s
        // from start + count (count defaults to r's length), as PostgreSQL computes it: start
        // below 1 is 22011, start + count past int4 is 22003, a negative count repeats text.
        ScalarFunction(["overlay"], arity: 3...4, result: .argument(0), parameters: [.text, .text, .integer, .integer],
                       volatility: .immutable) { _, args in
            { ctx in
                let values = try args.map { try $0(ctx) }
                if values.contains(where: \.isNull) { return .null }
                func int4(_ value: Value) throws -> Int {
                    guard case .integer(let n) = try value.cast(to: .integer) else { return 0 }
                    return Int(n)
                }
                let start = try int4(values[2])
                if case .blob(let subject) = values[0] {
                    guard case .blob(let placing) = try values[1].cast(to: .bytea) else { return .null }
                    let count = values.count == 4 ? try int4(values[3]) : placing.count
                    let (head, tail) = try overlaySplit(subject.count, start: start, count: count)
                    return .blob(Array(subject[..<head]) + placing + Array(subject[tail...]))
                }
                guard let subject = try Functions.text(values[0]), let placing = try Functions.text(values[1]) else { return .null }
                let characters = Array(subject)
                let count = values.count == 4 ? try int4(values[3]) : placing.count
                let (head, tail) = try overlaySplit(characters.count, start: start, count: count)
                return .text(String(characters[..<head]) + placing + String(characters[tail...]))
            }
        },
        ScalarFunction(["similar_to_escape"], arity: 1...2, result: .fixed(.text), parameters: [.text], volatility: .immutable) { _, args in
            { ctx in
                guard let pattern = try Functions.text(try args[0](ctx)) else { return .null }
                var escape: String?
                if args.count == 2 {
                    guard let e = try Functions.text(try args[1](ctx)) else { return .null }
                    escape = e
                }
                return .text(try RegularExpression.similarToRegex(pattern, escape: escape))
            }
        },
        ScalarFunction(["regexp_like"], arity: 2...3, result: .fixed(.boolean), parameters: [.text], volatility: .immutable) { name, args in
            let cache = RegularExpressionCache()
            return { ctx in
                guard let (s, expression) = try regexArguments(ctx, args, flagsAt: 2, cache, name) else { return .null }
                return .boolean(expression.contains(s))
            }
        },
        ScalarFunction(["regexp_replace"], arity: 3...6, result: .fixed(.text), parameters: [.text, .text, .text, .integer, .integer, .text],
                       volatility: .immutable) { name, args in
            let cache = RegularExpressionCache()
            return { ctx in
                var values: [Value] = []
                for a in args { values.append(try a(ctx)) }
                if values.contains(where: \.isNull) { return .null }
                guard let s = try Functions.text(values[0]), let pattern = try Functions.text(values[1]),
                      let replacement = try Functions.text(values[2]) else { return .null }
                // (s, p, r, flags) or (s, p, r, start [, n [, flags]]).
                var start = 1, occurrence = 1, flags = ""
                var rest = values.dropFirst(3)
                if case .text(let f)? = rest.first, values.count == 4, Int(f) == nil {
                    flags = f
                } else if let first = rest.popFirst() {
                    start = try positive(first, "start")
                    if let n = rest.popFirst() { occurrence = try nonNegative(n, "n") }
                    if let f = rest.popFirst() { flags = try Functions.text(f) ?? "" }
                }
                let options = try RegularExpression.Options(flags: flags, function: name, allowGlobal: true)
                if options.global { occurrence = 0 }
                let expression = try cache.expression(pattern, options)
                return .text(try replacing(s, expression, replacement, start: start, occurrence: occurrence))
            }
        },
        ScalarFunction(["regexp_count"], arity: 2...4, result: .fixed(.integer), parameters: [.text, .text, .integer, .text], volatility: .immutable) { name, args in
            let cache = RegularExpressionCache()
            return { ctx in
                guard let (values, expression) = try regexCall(ctx, args, flagsAt: 3, cache, name) else { return .null }
                let start = values.count > 2 ? try positive(values[2], "start") : 1
                return .integer(Int64(matches(values[0], expression, from: start).count))
            }
        },
        ScalarFunction(["regexp_instr"], arity: 2...7, result: .fixed(.integer), parameters: [.text, .text, .integer, .integer, .integer, .text, .integer],
                       volatility: .immutable) { name, args in
            let cache = RegularExpressionCache()
            return { ctx in
                guard let (values, expression) = try regexCall(ctx, args, flagsAt: 5, cache, name) else { return .null }
                let s = values[0]
                let start = values.count > 2 ? try positive(values[2], "start") : 1
                let n = values.count > 3 ? try positive(values[3], "n") : 1
                let endOption = values.count > 4 ? try nonNegative(values[4], "endoption") : 0
                guard endOption <= 1 else {
                    throw DatabaseError(.error, sqlState: SQLState.invalidParameterValue, "invalid value for parameter \"endoption\": \(endOption)")
                }
                let group = values.count > 6 ? try nonNegative(values[6], "subexpr") : 0
                let found = matches(s, expression, from: start)
                guard n <= found.count, let range = groupRange(found[n - 1], group) else { return .integer(0) }
                let offset = s.unicodeScalars.distance(from: s.startIndex, to: endOption == 1 ? range.upperBound : range.lowerBound)
                return .integer(Int64(offset + 1))
            }
        },
        ScalarFunction(["regexp_substr"], arity: 2...6, result: .fixed(.text), parameters: [.text, .text, .integer, .integer, .text, .integer],
                       volatility: .immutable) { name, args in
            let cache = RegularExpressionCache()
            return { ctx in
                guard let (values, expression) = try regexCall(ctx, args, flagsAt: 4, cache, name) else { return .null }
                let s = values[0]
                let start = values.count > 2 ? try positive(values[2], "start") : 1
                let n = values.count > 3 ? try positive(values[3], "n") : 1
                let group = values.count > 5 ? try nonNegative(values[5], "subexpr") : 0
                let found = matches(s, expression, from: start)
                guard n <= found.count, let range = groupRange(found[n - 1], group) else { return .null }
                return .text(String(s[range]))
            }
        },
        ScalarFunction(["format"], arity: 1...Int.max, result: .fixed(.text), parameters: [.text, nil], volatility: .stable) { _, args in
            { ctx in
                guard let format = try Functions.text(try args[0](ctx)) else { return .null }
                var values: [Value] = []
                for a in args.dropFirst() { values.append(try a(ctx)) }
                return .text(try formatted(format, values))
            }
        },
        ScalarFunction(["quote_ident"], arity: 1...1, result: .fixed(.text), parameters: [.text], volatility: .immutable) { _, args in
            { ctx in try Functions.text(try args[0](ctx)).map { .text(quotedIdentifier($0)) } ?? .null }
        },
        ScalarFunction(["quote_literal"], arity: 1...1, result: .fixed(.text), parameters: [.text], volatility: .immutable) { _, args in
            { ctx in try Functions.text(try args[0](ctx)).map { .text(quotedLiteral($0)) } ?? .null }
        },
        ScalarFunction(["quote_nullable"], arity: 1...1, result: .fixed(.text), parameters: [.text], volatility: .immutable) { _, args in
            { ctx in .text(try Functions.text(try args[0](ctx)).map(quotedLiteral) ?? "NULL") }
        },
        ScalarFunction(["starts_with"], arity: 2...2, result: .fixed(.boolean), parameters: [.text], volatility: .immutable) { _, args in
            { ctx in
                guard let s = try Functions.text(try args[0](ctx)), let prefix = try Functions.text(try args[1](ctx)) else { return .null }
                return .boolean(s.unicodeScalars.starts(with: prefix.unicodeScalars))
            }
        },
        ScalarFunction(["translate"], arity: 3...3, result: .fixed(.text), parameters: [.text], volatility: .immutable) { _, args in
            { ctx in
                guard let s = try Functions.text(try args[0](ctx)), let from = try Functions.text(try args[1](ctx)),
                      let to = try Functions.text(try args[2](ctx)) else { return .null }
                let targets = Array(to.unicodeScalars)
                var map: [Unicode.Scalar: Unicode.Scalar?] = [:]
                for (i, c) in from.unicodeScalars.enumerated() where map[c] == nil {
                    map[c] = i < targets.count ? targets[i] : Optional<Unicode.Scalar>.none
                }
                var out = String.UnicodeScalarView()
                for c in s.unicodeScalars {
                    if let mapped = map[c] { if let m = mapped { out.append(m) } } else { out.append(c) }
                }
                return .text(String(out))
            }
        },
        ScalarFunction(["gen_random_uuid"], arity: 0...0, result: .fixed(.uuid), parameters: [], volatility: .volatile) { _, _ in
            { _ in
                // Version 4: 122 random bits, the version nibble 4 and the variant bits 10.
                var g = SystemRandomNumberGenerator()
                var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &g) }
                bytes[6] = (bytes[6] & 0x0f) | 0x40
                bytes[8] = (bytes[8] & 0x3f) | 0x80
                let hex = bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
                return .text(Value.canonicalUUID(hex) ?? hex)
            }
        },
        ScalarFunction(["to_hex"], arity: 1...1, result: .fixed(.text), parameters: [.bigint], volatility: .immutable) { _, args in
            { ctx in
                guard case .integer(let v) = try args[0](ctx).cast(to: .bigint) else { return .null }
                return .text(String(UInt64(bitPattern: v), radix: 16))
            }
        },
    ]

    // MARK: Regular expression calls

    /// The subject and compiled pattern of a call whose flags (if given) are argument `flagsAt`;
    /// nil when an argument is NULL.
    private static func regexArguments(_ ctx: ExecutionContext, _ args: [Evaluator], flagsAt: Int, _ cache: RegularExpressionCache,
                                       _ name: String) throws -> (String, RegularExpression)? {
        guard let (values, expression) = try regexCall(ctx, args, flagsAt: flagsAt, cache, name) else { return nil }
        return (values[0], expression)
    }

    /// Where overlay cuts a value of `length` characters or bytes: the end of the part kept
    /// before the replacement and the start of the part kept after it.
    static func overlaySplit(_ length: Int, start: Int, count: Int) throws -> (head: Int, tail: Int) {
        guard start >= 1 else { throw DatabaseError(.error, sqlState: SQLState.substringError, "negative substring length not allowed") }
        let after = start + count
        guard after >= Int(Int32.min), after <= Int(Int32.max) else {
            throw DatabaseError(.range, sqlState: SQLState.numericValueOutOfRange, "integer out of range")
        }
        return (min(start - 1, length), min(max(after - 1, 0), length))
    }

    /// Every argument as text (the numbers too, read again by the caller) and the compiled
    /// pattern; nil when an argument is NULL.
    static func regexCall(_ ctx: ExecutionContext, _ args: [Evaluator], flagsAt: Int, _ cache: RegularExpressionCache,
                          _ name: String) throws -> ([String], RegularExpression)? {
        guard let values = try Functions.texts(args, ctx) else { return nil }
        let options = try RegularExpression.Options(flags: values.count > flagsAt ? values[flagsAt] : "", function: name)
        return (values, try cache.expression(values[1], options))
    }

    private static func positive(_ text: String, _ parameter: String) throws -> Int {
        let n = try nonNegative(text, parameter)
        guard n > 0 else { throw DatabaseError(.error, sqlState: SQLState.invalidParameterValue, "invalid value for parameter \"\(parameter)\": \(n)") }
        return n
    }

    private static func positive(_ value: Value, _ parameter: String) throws -> Int {
        try positive(try Functions.text(value) ?? "", parameter)
    }

    private static func nonNegative(_ value: Value, _ parameter: String) throws -> Int {
        try nonNegative(try Functions.text(value) ?? "", parameter)
    }

    private static func nonNegative(_ text: String, _ parameter: String) throws -> Int {
        guard case .integer(let v) = try Value.text(text).cast(to: .integer) else {
            throw DatabaseError(.error, sqlState: SQLState.invalidParameterValue, "invalid value for parameter \"\(parameter)\": \(text)")
        }
        guard v >= 0 else { throw DatabaseError(.error, sqlState: SQLState.invalidParameterValue, "invalid value for parameter \"\(parameter)\": \(v)") }
        return Int(v)
    }

    /// The matches in `s` from code point `start` (1-based) on.
    private static func matches(_ s: String, _ expression: RegularExpression, from start: Int) -> [RegexMatch] {
        guard let from = s.unicodeScalars.index(s.startIndex, offsetBy: start - 1, limitedBy: s.endIndex) else { return [] }
        return expression.matches(in: s, from: from)
    }

    /// The range of group `group` of a match (0: the whole match); nil when it did not take part.
    private static func groupRange(_ match: RegexMatch, _ group: Int) -> Range<String.Index>? {
        guard group < match.groups.count else { return nil }
        return match.groups[group]
    }

    /// regexp_replace: the `occurrence`-th match from `start` replaced (0: every match), `\1`…`\9`
    /// and `\&` in the replacement standing for the groups and the whole match.
    private static func replacing(_ s: String, _ expression: RegularExpression, _ replacement: String, start: Int, occurrence: Int) throws -> String {
        let found = matches(s, expression, from: start)
        var out = ""
        var copied = s.startIndex
        for (i, match) in found.enumerated() where occurrence == 0 || i + 1 == occurrence {
            out += s[copied..<match.range.lowerBound]
            var chars = replacement.unicodeScalars.makeIterator()
            while let c = chars.next() {
                guard c == "\\" else { out.unicodeScalars.append(c); continue }
                guard let e = chars.next() else { out += "\\"; break }
                if e == "&" {
                    out += s[match.range]
                } else if let digit = Int(String(e)), digit >= 1 {
                    if let range = groupRange(match, digit) { out += s[range] }
                } else if e == "\\" {
                    out += "\\"
                } else {
                    // Any other escape is copied as written (`\0` stays `\0`), as PostgreSQL does.
                    out += "\\"
                    out.unicodeScalars.append(e)
                }
                if out.utf8.count > Limits.maxValueBytes { throw Limits.valueTooLarge() }
            }
            copied = match.range.upperBound
        }
        out += s[copied...]
        return out
    }

    // MARK: format() and quoting

    static func quotedIdentifier(_ name: String) -> String {
        let plain = name.unicodeScalars.first.map { $0 == "_" || ("a"..."z").contains($0) } ?? false
            && name.unicodeScalars.allSatisfy { $0 == "_" || ("a"..."z").contains($0) || ("0"..."9").contains($0) }
        if plain && !keywords.contains(name) { return name }
        return "\"" + name.replacing("\"", with: "\"\"") + "\""
    }

    /// PostgreSQL 15's keywords that an identifier must quote (every category but unreserved:
    /// `pg_get_keywords() WHERE catcode <> 'U'`).
    private static let keywords: Set<String> = [
        "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "authorization", "between",
        "bigint", "binary", "bit", "boolean", "both", "case", "cast", "char", "character", "check", "coalesce",
        "collate", "collation", "column", "concurrently", "constraint", "create", "cross", "current_catalog",
        "current_date", "current_role", "current_schema", "current_time", "current_timestamp", "current_user", "dec",
        "decimal", "default", "deferrable", "desc", "distinct", "do", "else", "end", "except", "exists", "extract",
        "false", "fetch", "float", "for", "foreign", "freeze", "from", "full", "grant", "greatest", "group", "grouping",
        "having", "ilike", "in", "initially", "inner", "inout", "int", "integer", "intersect", "interval", "into", "is",
        "isnull", "join", "lateral", "leading", "least", "left", "like", "limit", "localtime", "localtimestamp",
        "national", "natural", "nchar", "none", "normalize", "not", "notnull", "null", "nullif", "numeric", "offset",
        "on", "only", "or", "order", "out", "outer", "overlaps", "overlay", "placing", "position", "precision",
        "primary", "real", "references", "returning", "right", "row", "select", "session_user", "setof", "similar",
        "smallint", "some", "substring", "symmetric", "table", "tablesample", "then", "time", "timestamp", "to",
        "trailing", "treat", "trim", "true", "union", "unique", "user", "using", "values", "varchar", "variadic",
        "verbose", "when", "where", "window", "with", "xmlattributes", "xmlconcat", "xmlelement", "xmlexists",
        "xmlforest", "xmlnamespaces", "xmlparse", "xmlpi", "xmlroot", "xmlserialize", "xmltable"
    ]

    static func quotedLiteral(_ text: String) -> String {
        var out = text.contains("\\") ? "E'" : "'"
        for c in text.unicodeScalars {
            if c == "'" || c == "\\" { out.unicodeScalars.append(c) }
            out.unicodeScalars.append(c)
        }
        return out + "'"
    }

    /// format(): `%[n$][-][width]type` with s (text), I (identifier), L (literal) and %%; the
    /// width may be `*` or `*n$` (taken from an argument, negative meaning left-aligned).
    static func formatted(_ format: String, _ values: [Value]) throws -> String {
        func failure(_ message: String) -> DatabaseError {
            DatabaseError(.error, sqlState: SQLState.invalidParameterValue, message)
        }
        let chars = Array(format.unicodeScalars)
        var out = ""
        var i = 0, nextArgument = 0
        /// Digits at i, then the character after them; nil when there are none.
        func number() throws -> Int? {
            var n = 0, any = false
            while i < chars.count, let d = Int(String(chars[i])), ("0"..."9").contains(chars[i]) {
                let (m, o1) = n.multipliedReportingOverflow(by: 10)
                let (s, o2) = m.addingReportingOverflow(d)
                if o1 || o2 || s > Int(Int32.max) { throw failure("number is out of range") }
                n = s; any = true; i += 1
            }
            return any ? n : nil
        }
        func argument(_ position: Int) throws -> Value {
            guard position < values.count else { throw failure("too few arguments for format()") }
            return values[position]
        }
        while i < chars.count {
            let c = chars[i]
            i += 1
            guard c == "%" else { out.unicodeScalars.append(c); continue }
            guard i < chars.count else { throw failure("unterminated format() type specifier") }
            if chars[i] == "%" { out += "%"; i += 1; continue }
            // An explicit argument position: digits followed by $.
            let mark = i
            var valuePositioned = false
            if let n = try number(), i < chars.count, chars[i] == "$" {
                guard n > 0 else { throw failure("format specifies argument 0, but arguments are numbered from 1") }
                nextArgument = n - 1
                valuePositioned = true
                i += 1
            } else {
                i = mark
            }
            var leftAligned = false
            while i < chars.count, chars[i] == "-" { leftAligned = true; i += 1 }
            var width = 0
            if i < chars.count, chars[i] == "*" {
                i += 1
                var widthArgument = nextArgument
                let star = i
                if let n = try number(), i < chars.count, chars[i] == "$" {
                    guard n > 0 else { throw failure("format specifies argument 0, but arguments are numbered from 1") }
                    widthArgument = n - 1
                    // Without its own position, the value is the argument after the width's.
                    if !valuePositioned { nextArgument = n }
                    i += 1
                } else {
                    i = star
                    nextArgument += 1
                }
                let w = try argument(widthArgument)
                if !w.isNull {
                    guard case .integer(let v) = try w.cast(to: .integer) else { throw failure("width argument must be an integer") }
                    if v < 0 { leftAligned = true }
                    width = Int(v.magnitude)
                }
            } else if let n = try number() {
                width = n
            }
            guard i < chars.count else { throw failure("unterminated format() type specifier") }
            let type = chars[i]
            i += 1
            let value = try argument(nextArgument)
            nextArgument += 1
            let text: String
            switch type {
            case "s": text = try Functions.text(value) ?? ""
            case "I":
                guard let s = try Functions.text(value) else {
                    throw DatabaseError(.error, sqlState: SQLState.nullValueNotAllowed, "null values cannot be formatted as an SQL identifier")
                }
                text = quotedIdentifier(s)
            case "L": text = try Functions.text(value).map(quotedLiteral) ?? "NULL"
            default: throw failure("unrecognized format() type specifier \"\(Character(type))\"")
            }
            let padding = max(0, width - text.unicodeScalars.count)
            if padding > Limits.maxValueBytes { throw Limits.valueTooLarge() }
            if padding + text.utf8.count + out.utf8.count > Limits.maxValueBytes { throw Limits.valueTooLarge() }
            if !leftAligned { out += String(repeating: " ", count: padding) }
            out += text
            if leftAligned { out += String(repeating: " ", count: padding) }
        }
        return out
    }
}
