// PostgreSQL's regular expressions (its "advanced" flavour, ARE) on two engines. Most patterns
// are POSIX extended expressions once PostgreSQL's escapes are spelled as glibc spells them
// (\d → [0-9], \w → [[:alnum:]_], \m → \<, …): those run on glibc's regcomp/regexec, in
// the C.UTF-8 locale so that a character is a code point. Its matcher does not backtrack
// (a pattern like `^(a+)+$` takes linear time, where a backtracking engine takes forever and
// cannot be interrupted) and it finds the leftmost-longest match, which is PostgreSQL's rule
// for patterns whose first quantifier is greedy. What POSIX lacks (lazy quantifiers, lookahead,
// back references, `(?…)` groups and options, the flags p, w and x) runs on Swift's `Regex`,
// whose syntax agrees with PostgreSQL's for the rest; PostgreSQL's defaults (`.` matches a
// newline; ^ and $ match only at the ends) are set as its options, and lookbehind, which it
// lacks, is a 2201B error like any invalid pattern.
// The flags of the regexp_* functions (i c n p w s x q g) are `Options`.

import BorealisStorage
import Glibc
import Synchronization

/// One match: the whole match's range, then each group's.
struct RegexMatch {
    let range: Range<String.Index>
    /// Group 0 (the whole match) first.
    let groups: [Range<String.Index>?]
}

struct RegularExpression: @unchecked Sendable {
    struct Options: Equatable, Hashable, Sendable {
        var caseInsensitive = false
        /// `n`: `.` and [^…] do not match a newline, ^ and $ match at lines.
        var newlineSensitive = false
        /// `p`/`w`: half of `n` each.
        var anchorsMatchLines = false
        var dotMatchesNewline = true
        var expanded = false
        var literal = false
        var global = false

        /// Reads PostgreSQL's flag letters; `allowGlobal` is false where `g` makes no sense.
        init(flags: String = "", function: String, allowGlobal: Bool = false) throws {
            for flag in flags {
                switch flag {
                case "i": caseInsensitive = true
                case "c": caseInsensitive = false
                case "n", "m": dotMatchesNewline = false; anchorsMatchLines = true
                case "p": dotMatchesNewline = false; anchorsMatchLines = false
                case "w": dotMatchesNewline = true; anchorsMatchLines = true
                case "s": dotMatchesNewline = true; anchorsMatchLines = false
                case "x": expanded = true
                case "t": expanded = false
                case "q": literal = true
                case "g" where allowGlobal: global = true
                case "g":
                    throw DatabaseError(.error, sqlState: SQLState.invalidParameterValue,
                                        "\(function)() does not support the \"global\" option")
                case "b", "e":
                    throw DatabaseError(.error, sqlState: SQLState.featureNotSupported,
                                        "basic and extended regular expressions (flag \"\(flag)\") are not supported")
                default:
                    throw DatabaseError(.error, sqlState: SQLState.invalidParameterValue,
                                        "invalid regular expression option: \"\(flag)\"")
                }
            }
        }
    }

    private enum Engine {
        case posix(PosixExpression)
        case swift(Regex<AnyRegexOutput>)
    }
    private let engine: Engine

    init(_ pattern: String, _ options: Options) throws {
        if let posix = try PosixExpression(pattern, options) {
            engine = .posix(posix)
            return
        }
        var source = options.literal ? Self.escaped(pattern) : Self.translated(pattern)
        if options.expanded && !options.literal { source = "(?x)" + source }
        do {
            var regex = try Regex(source)
                .dotMatchesNewlines(options.dotMatchesNewline)
                .anchorsMatchLineEndings(options.anchorsMatchLines)
                .ignoresCase(options.caseInsensitive)
                .matchingSemantics(.unicodeScalar)
            if options.newlineSensitive { regex = regex.anchorsMatchLineEndings(true) }
            engine = .swift(regex)
        } catch {
            throw DatabaseError(.error, sqlState: SQLState.invalidRegularExpression, "invalid regular expression: \(error)")
        }
    }

    /// Whether the pattern matches anywhere in `s`.
    func contains(_ s: String) -> Bool {
        switch engine {
        case .posix(let posix): return s.withCString { posix.firstMatch(in: $0, length: s.utf8.count, from: 0, notBeginning: false) } != nil
        case .swift(let regex): return s.contains(regex)
        }
    }

    /// The successive matches in `s` from `start` on, each its whole range then its groups'
    /// (nil for a group that took no part).
    func matches(in s: String, from start: String.Index) -> [RegexMatch] {
        switch engine {
        case .posix(let posix):
            var found: [RegexMatch] = []
            let utf8 = s.utf8
            var offset = utf8.distance(from: utf8.startIndex, to: start)
            // One C string for the whole search: each match resumes where the last one ended.
            let spans = s.withCString { text -> [[Range<Int>?]] in
                var spans: [[Range<Int>?]] = []
                while offset <= utf8.count, let groups = posix.firstMatch(in: text, length: utf8.count, from: offset, notBeginning: offset > 0) {
                    guard let whole = groups.first ?? nil else { break }
                    spans.append(groups)
                    if whole.isEmpty {
                        // An empty match: step one character past it.
                        guard whole.upperBound < utf8.count else { break }
                        let next = utf8.index(utf8.startIndex, offsetBy: whole.upperBound)
                        offset = utf8.distance(from: utf8.startIndex, to: s.unicodeScalars.index(after: next))
                    } else {
                        offset = whole.upperBound
                    }
                }
                return spans
            }
            for groups in spans {
                let ranges = groups.map { g in g.map { utf8.index(utf8.startIndex, offsetBy: $0.lowerBound)..<utf8.index(utf8.startIndex, offsetBy: $0.upperBound) } }
                guard let wholeRange = ranges.first ?? nil else { break }
                found.append(RegexMatch(range: wholeRange, groups: ranges))
            }
            return found
        case .swift(let regex):
            return s[start...].matches(of: regex).map { m in RegexMatch(range: m.range, groups: (0..<m.output.count).map { m.output[$0].range }) }
        }
    }

    /// PostgreSQL's escapes that Swift spells differently, rewritten outside and inside brackets.
    static func translated(_ pattern: String) -> String {
        var out = ""
        var chars = pattern.unicodeScalars.makeIterator()
        var pendingBracket = ""
        while let c = chars.next() {
            if !pendingBracket.isEmpty || c == "[" {
                pendingBracket.unicodeScalars.append(c)
                if pendingBracket == "[[:<:]]" { out += #"\b(?=\w)"#; pendingBracket = ""; continue }
                if pendingBracket == "[[:>:]]" { out += #"\b(?!\w)"#; pendingBracket = ""; continue }
                if !"[[:<:]]".hasPrefix(pendingBracket) && !"[[:>:]]".hasPrefix(pendingBracket) {
                    out += pendingBracket
                    pendingBracket = ""
                }
                continue
            }
            guard c == "\\", let e = chars.next() else { out.unicodeScalars.append(c); continue }
            switch e {
            case "m": out += #"\b(?=\w)"#
            case "M": out += #"\b(?!\w)"#
            case "y": out += #"\b"#
            case "Y": out += #"\B"#
            case "Z": out += #"\z"#
            default:
                out.unicodeScalars.append(c)
                out.unicodeScalars.append(e)
            }
        }
        return out + pendingBracket
    }

    /// The characters both engines read as operators.
    static let metacharacters = Set("\\^$.|?*+()[]{}".unicodeScalars)

    /// A pattern that matches `text` literally (flag `q`), in either engine's syntax.
    static func escaped(_ text: String) -> String {
        var out = ""
        for c in text.unicodeScalars {
            if metacharacters.contains(c) { out += "\\" }
            out.unicodeScalars.append(c)
        }
        return out
    }

    /// PostgreSQL's similar_to_escape: a SIMILAR TO pattern as an anchored regular expression
    /// (`%` any text, `_` any character, the escape character, default `\`, quoting the next one).
    static func similarToRegex(_ pattern: String, escape: String?) throws -> String {
        let escapeCharacter: Unicode.Scalar?
        if let escape {
            guard escape.unicodeScalars.count <= 1 else {
                throw DatabaseError(.error, sqlState: SQLState.invalidEscapeSequence,
                                    "invalid escape string: escape string must be empty or one character")
            }
            escapeCharacter = escape.unicodeScalars.first
        } else {
            escapeCharacter = "\\"
        }
        var out = "^(?:"
        var quoted = false, inBracket = false
        for c in pattern.unicodeScalars {
            if quoted {
                if metacharacters.contains(c) { out += "\\" }
                out.unicodeScalars.append(c)
                quoted = false
            } else if c == escapeCharacter {
                quoted = true
            } else if inBracket {
                if c == "]" { inBracket = false }
                if c == "\\" { out += "\\" }
                out.unicodeScalars.append(c)
            } else {
                switch c {
                case "%": out += ".*"
                case "_": out += "."
                case "[": inBracket = true; out += "["
                case ".", "^", "$", "\\": out += "\\"; out.unicodeScalars.append(c)
                default: out.unicodeScalars.append(c)
                }
            }
        }
        if quoted {
            throw DatabaseError(.error, sqlState: SQLState.invalidEscapeSequence, "invalid escape string: the pattern ends with the escape character")
        }
        return out + ")$"
    }
}

/// The last regular expression a call compiled, kept for the next row: a column matched against
/// a constant pattern compiles it once.
final class RegularExpressionCache: Sendable {
    private struct Entry {
        var pattern: String
        var options: RegularExpression.Options
        var expression: RegularExpression
    }
    private let last = Mutex<Entry?>(nil)

    func expression(_ pattern: String, _ options: RegularExpression.Options) throws -> RegularExpression {
        if let entry = last.withLock({ $0 }), entry.pattern == pattern, entry.options == options { return entry.expression }
        let expression = try RegularExpression(pattern, options)
        last.withLock { $0 = Entry(pattern: pattern, options: options, expression: expression) }
        return expression
    }
}

/// A pattern compiled by glibc (POSIX extended syntax), freed with the object.
final class PosixExpression: @unchecked Sendable {
    private let compiled: UnsafeMutablePointer<regex_t>
    private let groupCount: Int

    /// The C.UTF-8 locale regcomp and regexec run in (a character is a code point); nil where
    /// the system lacks it, and then every pattern runs on Swift's engine.
    nonisolated(unsafe) private static let utf8Locale: locale_t? = newlocale(Int32(LC_CTYPE_MASK), "C.UTF-8", nil)

    /// Compiles `pattern` when glibc can run it as PostgreSQL would; nil when it needs Swift's
    /// engine (or the locale is missing). An invalid pattern is 2201B.
    init?(_ pattern: String, _ options: RegularExpression.Options) throws {
        guard let locale = Self.utf8Locale, !options.expanded, options.anchorsMatchLines == !options.dotMatchesNewline else { return nil }
        guard let source = options.literal ? RegularExpression.escaped(pattern) : Self.extended(pattern) else { return nil }
        var flags = REG_EXTENDED
        if options.caseInsensitive { flags |= REG_ICASE }
        if !options.dotMatchesNewline { flags |= REG_NEWLINE }
        compiled = .allocate(capacity: 1)
        let previous = uselocale(locale)
        let status = regcomp(compiled, source, flags)
        uselocale(previous)
        guard status == 0 else {
            var message = [CChar](repeating: 0, count: 256)
            regerror(status, compiled, &message, message.count)
            compiled.deallocate()
            throw DatabaseError(.error, sqlState: SQLState.invalidRegularExpression,
                                "invalid regular expression: \(String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))")
        }
        groupCount = compiled.pointee.re_nsub + 1
    }

    deinit {
        regfree(compiled)
        compiled.deallocate()
    }

    /// The first match in the C string `text` (`length` bytes) at or after UTF-8 offset `from`:
    /// its ranges in UTF-8 offsets.
    func firstMatch(in text: UnsafePointer<CChar>, length: Int, from: Int, notBeginning: Bool) -> [Range<Int>?]? {
        guard let locale = Self.utf8Locale else { return nil }
        var groups = [regmatch_t](repeating: regmatch_t(), count: groupCount)
        groups[0].rm_so = regoff_t(from)
        groups[0].rm_eo = regoff_t(length)
        let previous = uselocale(locale)
        let status = regexec(compiled, text, groupCount, &groups, REG_STARTEND | (notBeginning ? REG_NOTBOL : 0))
        uselocale(previous)
        guard status == 0 else { return nil }
        return groups.map { $0.rm_so < 0 ? nil : Int($0.rm_so)..<Int($0.rm_eo) }
    }

    /// PostgreSQL's pattern in glibc's extended syntax, or nil when it uses what that syntax
    /// lacks: lazy quantifiers, `(?` groups and options, back references, class escapes inside
    /// brackets that have no POSIX spelling, or an escape glibc reads differently.
    static func extended(_ pattern: String) -> String? {
        let chars = Array(pattern.unicodeScalars)
        var out = ""
        var i = 0
        var inBracket = false
        while i < chars.count {
            let c = chars[i]
            if inBracket {
                if c == "]" && !(out.hasSuffix("[") || out.hasSuffix("[^")) { inBracket = false; out += "]"; i += 1; continue }
                if c == "[", i + 1 < chars.count, chars[i + 1] == ":" || chars[i + 1] == "." || chars[i + 1] == "=" {
                    // A class like [:alpha:] inside the bracket: copied whole.
                    let close: Unicode.Scalar = chars[i + 1]
                    var j = i + 2
                    while j + 1 < chars.count, !(chars[j] == close && chars[j + 1] == "]") { j += 1 }
                    guard j + 1 < chars.count else { return nil }
                    for k in i...(j + 1) { out.unicodeScalars.append(chars[k]) }
                    i = j + 2
                    continue
                }
                if c == "\\" {
                    guard i + 1 < chars.count else { return nil }
                    switch chars[i + 1] {
                    case "d": out += "0-9"
                    case "w": out += "[:alnum:]_"
                    case "s": out += "[:space:]"
                    case "n": out += "\n"
                    case "t": out += "\t"
                    case "\\", "]", "[", "-", "^": out.unicodeScalars.append(chars[i + 1])
                    default: return nil
                    }
                    i += 2
                    continue
                }
                out.unicodeScalars.append(c)
                i += 1
                continue
            }
            switch c {
            case "[":
                // chars[i...], not the string's scalars dropped to i: that walked i scalars at every
                // bracket (quadratic in a long pattern of brackets).
                if chars[i...].starts(with: "[[:<:]]".unicodeScalars) { out += "\\<"; i += 7; continue }
                if chars[i...].starts(with: "[[:>:]]".unicodeScalars) { out += "\\>"; i += 7; continue }
                inBracket = true
                out += "["
                i += 1
                if i < chars.count, chars[i] == "^" { out += "^"; i += 1 }
                // A leading ] is a member, as POSIX reads it.
                if i < chars.count, chars[i] == "]" { out += "]"; i += 1 }
            case "(":
                if i + 1 < chars.count, chars[i + 1] == "?" { return nil }
                out += "("
                i += 1
            case "*", "+", "?", "}":
                out.unicodeScalars.append(c)
                i += 1
                if i < chars.count, chars[i] == "?" { return nil }   // lazy
            case "{":
                // PostgreSQL reads a { not followed by a digit as text ({,n} included).
                if i + 1 >= chars.count || !("0"..."9").contains(chars[i + 1]) {
                    out += "\\{"
                    i += 1
                    continue
                }
                out += "{"
                i += 1
            case "\\":
                guard i + 1 < chars.count else { return nil }
                let e = chars[i + 1]
                switch e {
                case "d": out += "[0-9]"
                case "D": out += "[^0-9]"
                case "w": out += "[[:alnum:]_]"
                case "W": out += "[^[:alnum:]_]"
                case "s": out += "[[:space:]]"
                case "S": out += "[^[:space:]]"
                case "m": out += "\\<"
                case "M": out += "\\>"
                case "y": out += "\\b"
                case "Y": out += "\\B"
                case "A": out += "\\`"
                case "Z": out += "\\'"
                case "n": out += "\n"
                case "t": out += "\t"
                case "r": out += "\r"
                case "f": out += "\u{c}"
                case "v": out += "\u{b}"
                case ".", "*", "+", "?", "(", ")", "[", "]", "{", "}", "|", "^", "$", "\\", "/", "-", " ", "'", "\"", "#", "%", "&", "~", "=", "<", ">", ",", ":", ";", "@", "!", "_":
                    out += "\\"
                    out.unicodeScalars.append(e)
                default:
                    return nil   // back references, \x, \u, …: Swift's engine
                }
                i += 2
            default:
                out.unicodeScalars.append(c)
                i += 1
            }
        }
        return inBracket ? nil : out
    }
}
