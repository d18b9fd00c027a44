// PostgreSQL's regular expressions (its "advanced" flavour, ARE) on Swift's `Regex`: the two
// agree on the syntax applications write (classes, [[:alpha:]], \d \w \s, quantifiers with
// {m,n} and lazy forms, groups, back references, lookahead, embedded (?i) options). What
// differs is translated here: PostgreSQL's word anchors \m \M \y \Y, its end anchor \Z and
// [[:<:]] [[:>:]]; and its defaults (`.` and bracket negations match a newline; ^ and $
// match only at the ends) are set as options. Matching works on Unicode scalars, as
// PostgreSQL works on code points. Lookbehind, which Swift's engine lacks, is a 2201B error.
// The flags of the regexp_* functions (i c n p w s x q g) are `Options`.

import BorealisStorage
import Synchronization

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

    let regex: Regex<AnyRegexOutput>

    init(_ pattern: String, _ options: Options) throws {
        var source = options.literal ? Self.escaped(pattern) : Self.translated(pattern)
        if options.expanded && !options.literal { source = "(?x)" + source }
        do {
            var regex = try Regex(source)
                .dotMatchesNewlines(options.dotMatchesNewline)
                .anchorsMatchLineEndings(options.anchorsMatchLines)
                .ignoresCase(options.caseInsensitive)
                .matchingSemantics(.unicodeScalar)
            if options.newlineSensitive { regex = regex.anchorsMatchLineEndings(true) }
            self.regex = regex
        } catch {
            throw DatabaseError(.error, sqlState: SQLState.invalidRegularExpression, "invalid regular expression: \(error)")
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

    /// A pattern that matches `text` literally (flag `q`).
    static func escaped(_ text: String) -> String {
        var out = ""
        for c in text.unicodeScalars {
            if "\\^$.|?*+()[]{}".unicodeScalars.contains(c) { out += "\\" }
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
                if "\\^$.|?*+()[]{}".unicodeScalars.contains(c) { out += "\\" }
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
