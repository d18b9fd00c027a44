// The JSON set-returning functions: json(b)_array_elements(_text), json(b)_each(_text) and
// json(b)_object_keys. jsonb ones print their values normalized, json ones compactly.

import BorealisStorage

extension TableFunctions {
    static let json: [TableFunction] = {
        var functions: [TableFunction] = []
        for prefix in ["jsonb", "json"] {
            let jsonb = prefix == "jsonb"
            let documentType: SQLType = jsonb ? .jsonb : .json
            for asText in [false, true] {
                functions.append(TableFunction(names: [prefix + "_array_elements" + (asText ? "_text" : "")], arity: 1...1,
                                               parameters: [documentType], resultType: { _ in asText ? .text : documentType },
                                               values: { arguments, _ in
                    guard let document = try ExpressionCompiler.document(arguments[0]) else { return { nil } }
                    guard case .array(let items) = document else {
                        throw DatabaseError(.error, sqlState: SQLState.invalidParameterValue,
                                            document.isScalar ? "cannot extract elements from a scalar" : "cannot extract elements from an object")
                    }
                    var position = 0
                    return {
                        guard position < items.count else { return nil }
                        defer { position += 1 }
                        if asText { return items[position].unquoted(jsonb: jsonb).map(Value.text) ?? .null }
                        return .text(items[position].text(jsonb: jsonb))
                    }
                }))
                var each = TableFunction(names: [prefix + "_each" + (asText ? "_text" : "")], arity: 1...1, parameters: [documentType],
                                         resultType: { _ in nil }, values: { _, _ in { nil } })
                each.columns = [("key", .text), ("value", asText ? .text : documentType)]
                each.rows = { arguments, _ in
                    guard let document = try ExpressionCompiler.document(arguments[0]) else { return { nil } }
                    guard case .object(let members) = (jsonb ? document.normalized : document) else {
                        throw DatabaseError(.error, sqlState: SQLState.invalidParameterValue, "cannot call \(prefix)_each on a non-object")
                    }
                    var position = 0
                    return {
                        guard position < members.count else { return nil }
                        defer { position += 1 }
                        let member = members[position]
                        let value: Value = asText ? member.value.unquoted(jsonb: jsonb).map(Value.text) ?? .null : .text(member.value.text(jsonb: jsonb))
                        return [.text(member.key), value]
                    }
                }
                functions.append(each)
            }
            functions.append(TableFunction(names: [prefix + "_object_keys"], arity: 1...1, parameters: [documentType],
                                           resultType: { _ in .text }, values: { arguments, _ in
                guard let document = try ExpressionCompiler.document(arguments[0]) else { return { nil } }
                guard case .object(let members) = (jsonb ? document.normalized : document) else {
                    throw DatabaseError(.error, sqlState: SQLState.invalidParameterValue, "cannot call \(prefix)_object_keys on a non-object")
                }
                var position = 0
                return {
                    guard position < members.count else { return nil }
                    defer { position += 1 }
                    return .text(members[position].key)
                }
            }))
        }
        return functions
    }()
}
