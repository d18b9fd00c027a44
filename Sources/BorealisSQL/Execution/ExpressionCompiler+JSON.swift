// jsonb's and json's operators (docs/sql.md, "JSON"): `->` `->>` `#>` `#>>` reach into a
// document by key, index or path; `@>` `<@` test containment; `?` tests for a key; `||`
// merges two jsonb documents and `-` removes a key or an element. The documents travel as
// text (JSON.swift): each operator parses its operands and prints what it returns in the form of
// the left operand's type (jsonb normalized, json compact).

import BorealisStorage

extension ExpressionCompiler {
    /// The evaluator of a JSON operator, or nil when `op` on these operands is not one (`||` and
    /// `-` are JSON operators only with a jsonb operand).
    func compileJSON(_ op: BinaryOperator, _ l: Expr, _ r: Expr) throws -> Evaluator? {
        // Typing walks the operands: only for the operators it concerns (an `a + b + …` chain
        // of thousands of terms must not be typed once per term).
        switch op {
        case .jsonGet, .jsonGetText, .jsonPath, .jsonPathText, .jsonContains, .jsonContainedBy, .jsonHasKey, .concat, .subtract: break
        case .equal, .notEqual:
            // jsonb = jsonb compares values (`'1.0'::jsonb = '1'` is true), not their text.
            guard staticType(l) == .jsonb || staticType(r) == .jsonb else { return nil }
            let a = try compile(l), b = try compile(r)
            let negated = op == .notEqual
            return { ctx in
                let x = try a(ctx), y = try b(ctx)
                guard let s = try Functions.text(x), let t = try Functions.text(y) else { return .null }
                if s == t { return .boolean(!negated) }
                return .boolean(try JSONValue.parse(s, type: "jsonb").sameValue(try JSONValue.parse(t, type: "jsonb")) != negated)
            }
        default: return nil
        }
        // `||` and `-` chains are typed along their left spine without recursion: a chain of
        // thousands of `||` must not type its left operand once per term, nor nest that deep.
        if op == .subtract && spineType(l, .subtract) != .jsonb { return nil }
        if op == .concat && !concatenatesJSONB(.binary(.concat, l, r)) { return nil }
        let leftType = op == .concat || op == .subtract ? SQLType.jsonb : staticType(l)
        let rightType: SQLType? = op == .concat ? .jsonb : nil
        let jsonb = leftType != .json
        switch op {
        case .jsonGet, .jsonGetText:
            let a = try compile(l), b = try compile(r)
            let asText = op == .jsonGetText
            return { ctx in
                let x = try a(ctx), key = try b(ctx)
                if x.isNull || key.isNull { return .null }
                guard let found = try Self.document(x).flatMap({ try Self.reach($0, key) }) else { return .null }
                if asText { return found.unquoted(jsonb: jsonb).map(Value.text) ?? .null }
                return .text(found.text(jsonb: jsonb))
            }
        case .jsonPath, .jsonPathText:
            let a = try compile(l), b = try compile(r)
            let asText = op == .jsonPathText
            return { ctx in
                let x = try a(ctx), p = try b(ctx)
                if x.isNull || p.isNull { return .null }
                guard let document = try Self.document(x), let pathText = try Functions.text(p),
                      let node = document.following(try JSONPath.steps(pathText)) else { return .null }
                if asText { return node.unquoted(jsonb: jsonb).map(Value.text) ?? .null }
                return .text(node.text(jsonb: jsonb))
            }
        case .jsonContains, .jsonContainedBy:
            let a = try compile(l), b = try compile(r)
            let flipped = op == .jsonContainedBy
            return { ctx in
                let x = try a(ctx), y = try b(ctx)
                guard let first = try Self.document(x), let second = try Self.document(y) else { return .null }
                return .boolean(flipped ? second.normalized.contains(first.normalized) : first.normalized.contains(second.normalized))
            }
        case .jsonHasKey:
            let a = try compile(l), b = try compile(r)
            return { ctx in
                let x = try a(ctx), key = try b(ctx)
                guard let document = try Self.document(x), let k = try Functions.text(key) else { return .null }
                switch document {
                case .object(let members): return .boolean(members.contains { $0.key == k })
                case .array(let items): return .boolean(items.contains(.string(k)))
                case .string(let s): return .boolean(s == k)
                default: return .boolean(false)
                }
            }
        case .concat where leftType == .jsonb || rightType == .jsonb:
            let a = try compile(l), b = try compile(r)
            return { ctx in
                guard let x = try Self.document(try a(ctx)), let y = try Self.document(try b(ctx)) else { return .null }
                return .text(Self.concatenated(x, y).normalized.jsonbText)
            }
        case .subtract where leftType == .jsonb:
            let a = try compile(l), b = try compile(r)
            return { ctx in
                let x = try a(ctx), key = try b(ctx)
                guard let document = try Self.document(x), !key.isNull else { return .null }
                return .text(try Self.removing(key, from: document).jsonbText)
            }
        default:
            return nil
        }
    }

    /// The type of the leftmost operand under a left-deep chain of `op`.
    private func spineType(_ e: Expr, _ op: BinaryOperator) -> SQLType? {
        var node = e
        while case .binary(op, let left, _) = node { node = left }
        return staticType(node)
    }

    /// Whether a chain of `||` has a jsonb operand (then it is jsonb concatenation).
    private func concatenatesJSONB(_ e: Expr) -> Bool {
        var node = e
        while case .binary(.concat, let left, let right) = node {
            if staticType(right) == .jsonb { return true }
            node = left
        }
        return staticType(node) == .jsonb
    }

    /// The document a json or jsonb value holds; nil for NULL.
    static func document(_ v: Value) throws -> JSONValue? {
        switch v {
        case .null: return nil
        case .text(let s): return try JSONValue.parse(s)
        default:
            throw DatabaseError(.mismatch, sqlState: SQLState.undefinedFunction, "operator does not exist: \(v.typeName) -> unknown")
        }
    }

    /// `->`'s step: an integer indexes an array, text names an object's key.
    private static func reach(_ document: JSONValue, _ key: Value) throws -> JSONValue? {
        switch key {
        case .integer(let i): return document.element(i)
        case .text(let k): return document.member(k)
        default: return try Functions.text(key).flatMap { document.member($0) }
        }
    }

    /// jsonb `||`: two objects merge (the right one's keys win), arrays concatenate, and a
    /// scalar or object beside an array joins it as an element.
    static func concatenated(_ x: JSONValue, _ y: JSONValue) -> JSONValue {
        switch (x, y) {
        case (.object(let a), .object(let b)): return .object(a + b)
        case (.array(let a), .array(let b)): return .array(a + b)
        case (.array(let a), _): return .array(a + [y])
        case (_, .array(let b)): return .array([x] + b)
        default: return .array([x, y])
        }
    }

    /// jsonb `-`: a key (text) out of an object or matching strings out of an array; an
    /// element (integer, negative from the end) out of an array.
    private static func removing(_ key: Value, from document: JSONValue) throws -> JSONValue {
        switch (document, key) {
        case (.object(let members), .text(let k)): return .object(members.filter { $0.key != k }).normalized
        case (.array(let items), .text(let k)): return .array(items.filter { $0 != .string(k) }).normalized
        case (.array(let items), .integer(let i)):
            let index = i < 0 ? Int64(items.count) + i : i
            guard index >= 0, index < Int64(items.count) else { return document.normalized }
            var kept = items
            kept.remove(at: Int(index))
            return .array(kept).normalized
        case (.object, .integer):
            throw DatabaseError(.error, sqlState: SQLState.invalidParameterValue, "cannot delete from object using integer index")
        case (_, _) where !isContainer(document):
            throw DatabaseError(.error, sqlState: SQLState.invalidParameterValue, "cannot delete from scalar")
        default:
            return document.normalized
        }
    }

    private static func isContainer(_ v: JSONValue) -> Bool {
        switch v {
        case .array, .object: return true
        default: return false
        }
    }
}

/// The text[] a `#>` path is written as: `'{a,0,"b c"}'`.
enum JSONPath {
    static func steps(_ text: String) throws -> [String] {
        let trimmed = text.trimmingWhitespace()
        guard trimmed.hasPrefix("{"), trimmed.hasSuffix("}") else {
            throw DatabaseError(.mismatch, sqlState: SQLState.invalidTextRepresentation,
                                "malformed array literal: \"\(text)\" (a path is written '{key,index,…}')")
        }
        let body = Array(trimmed.dropFirst().dropLast())
        if body.allSatisfy({ $0 == " " }) { return [] }
        var steps: [String] = []
        var current = "", quoted = false, i = 0
        while i < body.count {
            let c = body[i]
            if quoted {
                if c == "\\", i + 1 < body.count { current.append(body[i + 1]); i += 2; continue }
                if c == "\"" { quoted = false } else { current.append(c) }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                steps.append(current.trimmingWhitespace())
                current = ""
            } else {
                current.append(c)
            }
            i += 1
        }
        steps.append(quoted ? current : current.trimmingWhitespace())
        return steps
    }
}
