// JSON functions: to_json(b), json(b)_build_object/array, json(b)_typeof,
// json(b)_array_length, jsonb_set, jsonb_insert-free editing, jsonb_strip_nulls, jsonb_pretty,
// json(b)_extract_path(_text). A value becomes JSON by its static type: a json or jsonb
// argument is embedded as the document it holds, text becomes a string, numbers numbers,
// booleans booleans, dates and timestamps ISO strings (as PostgreSQL's to_json gives them).

import BorealisStorage

extension FunctionRegistry {
    static let json: [ScalarFunction] = [
        ScalarFunction(["to_jsonb", "to_json"], arity: 1...1, result: .fixed(.jsonb), parameters: [nil], volatility: .stable) { name, args, types in
            let a = args[0], type = types.first ?? nil, jsonb = name == "to_jsonb"
            return { ctx in
                let v = try a(ctx)
                if v.isNull { return .null }
                let document = try JSONConversion.json(from: v, type: type)
                return .text(jsonb ? document.normalized.jsonbText : document.compactText)
            }
        },
        ScalarFunction(["jsonb_build_object", "json_build_object"], arity: 0...Int.max, result: .fixed(.jsonb), parameters: [.text, nil],
                       volatility: .stable) { name, args, types in
            guard args.count % 2 == 0 else {
                throw DatabaseError(.error, sqlState: SQLState.invalidParameterValue, "argument list must have even number of elements")
            }
            let jsonb = name == "jsonb_build_object"
            return { ctx in
                var members: [JSONMember] = []
                for i in stride(from: 0, to: args.count, by: 2) {
                    let key = try args[i](ctx)
                    // A key is the argument's text (a boolean's `true`, as PostgreSQL casts it).
                    guard !key.isNull, case .text(let k) = try key.cast(to: .text) else {
                        throw DatabaseError(.error, sqlState: SQLState.nullValueNotAllowed, "argument \(i + 1): key must not be null")
                    }
                    members.append(JSONMember(key: k, value: try JSONConversion.json(from: try args[i + 1](ctx), type: types[i + 1])))
                }
                let document = JSONValue.object(members)
                return .text(jsonb ? document.normalized.jsonbText : JSONConversion.spacedObjectText(document))
            }
        },
        ScalarFunction(["jsonb_build_array", "json_build_array"], arity: 0...Int.max, result: .fixed(.jsonb), parameters: [nil],
                       volatility: .stable) { name, args, types in
            let jsonb = name == "jsonb_build_array"
            return { ctx in
                var items: [JSONValue] = []
                for (i, a) in args.enumerated() { items.append(try JSONConversion.json(from: try a(ctx), type: types[i])) }
                let document = JSONValue.array(items)
                return .text(jsonb ? document.normalized.jsonbText : JSONConversion.spacedArrayText(document))
            }
        },
        ScalarFunction(["jsonb_typeof", "json_typeof"], arity: 1...1, result: .fixed(.text), parameters: [.jsonb], volatility: .immutable) { _, args in
            { ctx in try ExpressionCompiler.document(try args[0](ctx)).map { .text($0.typeName) } ?? .null }
        },
        ScalarFunction(["jsonb_array_length", "json_array_length"], arity: 1...1, result: .fixed(.integer), parameters: [.jsonb],
                       volatility: .immutable) { _, args in
            { ctx in
                guard let document = try ExpressionCompiler.document(try args[0](ctx)) else { return .null }
                guard case .array(let items) = document else {
                    throw DatabaseError(.error, sqlState: SQLState.invalidParameterValue,
                                        document.isScalar ? "cannot get array length of a scalar" : "cannot get array length of a non-array")
                }
                return .integer(Int64(items.count))
            }
        },
        ScalarFunction(["jsonb_extract_path", "jsonb_extract_path_text", "json_extract_path", "json_extract_path_text"], arity: 1...Int.max,
                       result: .fixed(.jsonb), parameters: [.jsonb, .text], volatility: .immutable) { name, args in
            let asText = name.hasSuffix("_text"), jsonb = name.hasPrefix("jsonb")
            return { ctx in
                guard let document = try ExpressionCompiler.document(try args[0](ctx)) else { return .null }
                var steps: [String] = []
                for a in args.dropFirst() {
                    guard let step = try Functions.text(try a(ctx)) else { return .null }
                    steps.append(step)
                }
                guard let node = document.following(steps) else { return .null }
                if asText { return node.unquoted(jsonb: jsonb).map(Value.text) ?? .null }
                return .text(node.text(jsonb: jsonb))
            }
        },
        ScalarFunction(["jsonb_set"], arity: 3...4, result: .fixed(.jsonb), parameters: [.jsonb, .text, .jsonb, .boolean], volatility: .immutable) { _, args in
            { ctx in
                guard let target = try ExpressionCompiler.document(try args[0](ctx)), let path = try Functions.text(try args[1](ctx)),
                      let replacement = try ExpressionCompiler.document(try args[2](ctx)) else { return .null }
                let create = args.count == 4 ? try args[3](ctx).truth() ?? true : true
                let steps = try JSONPath.steps(path)
                if target.isScalar { throw DatabaseError(.error, sqlState: SQLState.invalidParameterValue, "cannot set path in scalar") }
                // An empty path changes nothing, as in PostgreSQL.
                if steps.isEmpty { return .text(target.normalized.jsonbText) }
                return .text(try JSONConversion.setting(target, steps[...], replacement, create: create).normalized.jsonbText)
            }
        },
        ScalarFunction(["jsonb_strip_nulls", "json_strip_nulls"], arity: 1...1, result: .argument(0), parameters: [.jsonb], volatility: .immutable) { name, args in
            let jsonb = name.hasPrefix("jsonb")
            return { ctx in
                guard let document = try ExpressionCompiler.document(try args[0](ctx)) else { return .null }
                return .text(JSONConversion.strippingNulls(document).text(jsonb: jsonb))
            }
        },
        ScalarFunction(["jsonb_pretty"], arity: 1...1, result: .fixed(.text), parameters: [.jsonb], volatility: .immutable) { _, args in
            { ctx in try ExpressionCompiler.document(try args[0](ctx)).map { .text(JSONConversion.pretty($0.normalized)) } ?? .null }
        },
    ]
}

extension JSONValue {
    /// The element a path of keys and array indexes reaches (`#>`, json(b)_extract_path);
    /// nil when a step finds nothing.
    func following(_ steps: [String]) -> JSONValue? {
        var node = self
        for step in steps {
            if case .array = node {
                guard let index = Int64(step), let next = node.element(index) else { return nil }
                node = next
            } else {
                guard let next = node.member(step) else { return nil }
                node = next
            }
        }
        return node
    }

    var isScalar: Bool {
        switch self {
        case .array, .object: return false
        default: return true
        }
    }
}

/// Values into JSON and the editing functions.
enum JSONConversion {
    /// A SQL value as JSON, by its static type (nil: by the value alone).
    static func json(from v: Value, type: SQLType?) throws -> JSONValue {
        if type == .json || type == .jsonb, case .text(let s) = v { return try JSONValue.parse(s, type: type?.name ?? "json") }
        switch v {
        case .null: return .null
        case .boolean(let b): return .bool(b)
        case .integer(let i): return .number(String(i))
        case .numeric(let n): return .number(n.description)
        case .double(let d): return d.isFinite ? .number(v.description) : .string(v.description)
        case .text(let s): return .string(s)
        case .date: return .string(v.description)
        case .timestamp(let t) where DateTime.isInfinite(timestamp: t): return .string(v.description)
        case .timestamptz(let t) where DateTime.isInfinite(timestamp: t): return .string(v.description)
        case .timestamp(let t): return .string(DateTime.formatTimestamp(t, zone: false).replacingFirstSpace())
        case .timestamptz(let t): return .string(DateTime.formatTimestamp(t, zone: true).replacingFirstSpace() + ":00")
        case .array(let a):
            // A JSON array per dimension, the elements converted as their type is.
            let element = type?.elementType
            var items = try a.elements.map { try json(from: $0, type: element) }
            for length in a.dimensions.dropFirst().reversed() {
                items = stride(from: 0, to: items.count, by: length).map { .array(Array(items[$0..<min($0 + length, items.count)])) }
            }
            return .array(items)
        default: return .string(v.description)
        }
    }

    /// json_build_object's text, `{"a" : 1, "b" : 2}`, as PostgreSQL spaces it; `padded`,
    /// json_object_agg's, `{ "a" : 1, "b" : 2 }`.
    static func spacedObjectText(_ document: JSONValue, padded: Bool = false) -> String {
        guard case .object(let members) = document else { return document.compactText }
        return (padded ? "{ " : "{") + members.map { member -> String in
            var key = ""
            JSONValue.writeString(member.key, to: &key)
            return key + " : " + member.value.compactText
        }.joined(separator: ", ") + (padded ? " }" : "}")
    }

    /// json_build_array's text: `[1, 2]`.
    static func spacedArrayText(_ document: JSONValue) -> String {
        guard case .array(let items) = document else { return document.compactText }
        return "[" + items.map(\.compactText).joined(separator: ", ") + "]"
    }

    /// jsonb_set: the value at `path` replaced (or added, with `create`, when only its last
    /// step is missing); a path through a scalar changes nothing.
    static func setting(_ target: JSONValue, _ path: ArraySlice<String>, _ replacement: JSONValue, create: Bool) throws -> JSONValue {
        guard let step = path.first else { return replacement }
        let rest = path.dropFirst()
        switch target {
        case .object(var members):
            if let i = members.lastIndex(where: { $0.key == step }) {
                members[i].value = try setting(members[i].value, rest, replacement, create: create)
            } else if rest.isEmpty && create {
                members.append(JSONMember(key: step, value: replacement))
            }
            return .object(members)
        case .array(var items):
            guard let index = Int(step) else {
                throw DatabaseError(.mismatch, sqlState: SQLState.invalidTextRepresentation,
                                    "path element at position \(path.startIndex + 1) is not an integer: \"\(step)\"")
            }
            let i = index < 0 ? items.count + index : index
            if i >= 0 && i < items.count {
                items[i] = try setting(items[i], rest, replacement, create: create)
            } else if rest.isEmpty && create {
                if i < 0 { items.insert(replacement, at: 0) } else { items.append(replacement) }
            }
            return .array(items)
        default:
            return target
        }
    }

    static func strippingNulls(_ v: JSONValue) -> JSONValue {
        switch v {
        case .object(let members): return .object(members.filter { $0.value != .null }.map { JSONMember(key: $0.key, value: strippingNulls($0.value)) })
        case .array(let items): return .array(items.map(strippingNulls))
        default: return v
        }
    }

    /// jsonb_pretty: four spaces per level, one member or element per line.
    static func pretty(_ v: JSONValue, level: Int = 0) -> String {
        let indent = String(repeating: "    ", count: level + 1), closing = String(repeating: "    ", count: level)
        switch v {
        case .object(let members) where members.isEmpty:
            return "{\n" + closing + "}"   // as PostgreSQL prints an empty object
        case .object(let members):
            return "{\n" + members.map { member -> String in
                var key = ""
                JSONValue.writeString(member.key, to: &key)
                return indent + key + ": " + pretty(member.value, level: level + 1)
            }.joined(separator: ",\n") + "\n" + closing + "}"
        case .array(let items) where items.isEmpty:
            return "[\n" + closing + "]"
        case .array(let items):
            return "[\n" + items.map { indent + pretty($0, level: level + 1) }.joined(separator: ",\n") + "\n" + closing + "]"
        default:
            return v.jsonbText
        }
    }
}

private extension String {
    /// ISO 8601's `T` between date and time, as to_json writes timestamps.
    func replacingFirstSpace() -> String {
        guard let space = firstIndex(of: " ") else { return self }
        return self[..<space] + "T" + self[index(after: space)...]
    }
}
