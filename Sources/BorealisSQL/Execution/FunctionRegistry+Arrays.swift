// Array functions (docs/arrays.md): array_length, cardinality, array_lower/upper, array_dims,
// array_ndims, array_position(s), array_append/prepend/cat/remove/replace, array_to_string,
// string_to_array, and the regular expression functions that return arrays: regexp_match and
// regexp_split_to_array. PostgreSQL's rules: a NULL array gives NULL (array_cat and
// array_append treat it as empty), a dimension out of range gives NULL, searching and removing
// are for one-dimensional arrays (0A000 otherwise), and elements compare as IS NOT DISTINCT
// FROM (a NULL finds a NULL).

import BorealisStorage

extension FunctionRegistry {
    /// The array an argument holds; nil for NULL; text (an untyped literal) read as text[].
    static func arrayArgument(_ v: Value, _ name: String, element: SQLType? = nil) throws -> ArrayValue? {
        switch v {
        case .null: return nil
        case .array(let a): return a
        case .text(let s): return try ArrayValue.parse(s, element: element ?? .text)
        default:
            throw DatabaseError(.error, sqlState: SQLState.undefinedFunction, "function \(name)(\(v.typeName)) does not exist")
        }
    }

    /// A dimension argument (1-based) as an index into `dimensions`; nil when out of range.
    private static func dimension(_ v: Value, _ array: ArrayValue) -> Int? {
        guard case .integer(let d) = v, d >= 1, d <= Int64(array.dimensions.count) else { return nil }
        return Int(d) - 1
    }

    /// Whether two elements are the same for searching (IS NOT DISTINCT FROM).
    private static func same(_ x: Value, _ y: Value) throws -> Bool {
        if x.isNull || y.isNull { return x.isNull && y.isNull }
        return try Value.compare(x, y) == 0
    }

    /// 42704 for array_fill of an array (PostgreSQL has no array-of-array type).
    private static func noArrayType(of type: SQLType?) -> DatabaseError {
        DatabaseError(.error, sqlState: SQLState.undefinedObject, "could not find array type for data type \(type?.rawValue ?? "an array")")
    }

    private static func oneDimensional(_ array: ArrayValue, _ what: String) throws {
        if array.dimensions.count > 1 {
            throw DatabaseError(.error, sqlState: SQLState.featureNotSupported, "\(what) in multidimensional arrays is not supported")
        }
    }

    static let arrays: [ScalarFunction] = [
        ScalarFunction(["array_length"], arity: 2...2, result: .fixed(.integer), parameters: [nil, .integer], volatility: .immutable) { name, args in
            { ctx in
                guard let a = try arrayArgument(try args[0](ctx), name), let d = dimension(try args[1](ctx), a) else { return .null }
                return .integer(Int64(a.dimensions[d]))
            }
        },
        ScalarFunction(["array_lower", "array_upper"], arity: 2...2, result: .fixed(.integer), parameters: [nil, .integer], volatility: .immutable) { name, args in
            let upper = name == "array_upper"
            return { ctx in
                guard let a = try arrayArgument(try args[0](ctx), name), let d = dimension(try args[1](ctx), a) else { return .null }
                return .integer(upper ? Int64(a.dimensions[d]) : 1)
            }
        },
        ScalarFunction(["cardinality"], arity: 1...1, result: .fixed(.integer), parameters: [nil], volatility: .immutable) { name, args in
            { ctx in
                guard let a = try arrayArgument(try args[0](ctx), name) else { return .null }
                return .integer(Int64(a.elements.count))
            }
        },
        ScalarFunction(["array_ndims"], arity: 1...1, result: .fixed(.integer), parameters: [nil], volatility: .immutable) { name, args in
            { ctx in
                guard let a = try arrayArgument(try args[0](ctx), name), !a.isEmpty else { return .null }
                return .integer(Int64(a.dimensions.count))
            }
        },
        ScalarFunction(["array_dims"], arity: 1...1, result: .fixed(.text), parameters: [nil], volatility: .immutable) { name, args in
            { ctx in
                guard let a = try arrayArgument(try args[0](ctx), name), !a.isEmpty else { return .null }
                return .text(a.dimensions.map { "[1:\($0)]" }.joined())
            }
        },
        ScalarFunction(["array_position"], arity: 2...3, result: .fixed(.integer), parameters: [nil, nil, .integer], volatility: .immutable) { name, args in
            { ctx in
                guard let a = try arrayArgument(try args[0](ctx), name) else { return .null }
                try oneDimensional(a, "searching for elements")
                let target = try args[1](ctx)
                var start = 0
                if args.count > 2 {
                    let s = try args[2](ctx)
                    guard case .integer(let i) = s else {
                        throw DatabaseError(.error, sqlState: SQLState.nullValueNotAllowed, "initial position must not be null")
                    }
                    if i > Int64(a.elements.count) { return .null }
                    start = Int(max(i, 1)) - 1
                }
                for i in start..<max(start, a.elements.count) where try same(a.elements[i], target) { return .integer(Int64(i + 1)) }
                return .null
            }
        },
        ScalarFunction(["array_positions"], arity: 2...2, result: .fixed(.integerArray), parameters: [nil], volatility: .immutable) { name, args in
            { ctx in
                guard let a = try arrayArgument(try args[0](ctx), name) else { return .null }
                try oneDimensional(a, "searching for elements")
                let target = try args[1](ctx)
                var found: [Value] = []
                for (i, element) in a.elements.enumerated() where try same(element, target) { found.append(.integer(Int64(i + 1))) }
                return .array(ArrayValue(found))
            }
        },
        ScalarFunction(["array_append"], arity: 2...2, result: .argument(0), parameters: [nil], volatility: .immutable) { name, args, types in
            let arrayType: SQLType? = types.first ?? nil, valueType: SQLType? = types.count > 1 ? types[1] : nil
            let element = arrayType?.elementType ?? valueType
            return { ctx in
                let a = try arrayArgument(try args[0](ctx), name, element: element) ?? ArrayValue([])
                try oneDimensional(a, "appending")
                try ArrayValue.checkSize(a.elements.count + 1)
                let x = try args[1](ctx)
                return .array(ArrayValue(a.elements + [try element.map { try x.cast(to: $0) } ?? x]))
            }
        },
        ScalarFunction(["array_prepend"], arity: 2...2, result: .argument(1), parameters: [nil], volatility: .immutable) { name, args, types in
            let valueType: SQLType? = types.first ?? nil, arrayType: SQLType? = types.count > 1 ? types[1] : nil
            let element = arrayType?.elementType ?? valueType
            return { ctx in
                let a = try arrayArgument(try args[1](ctx), name, element: element) ?? ArrayValue([])
                try oneDimensional(a, "prepending")
                try ArrayValue.checkSize(a.elements.count + 1)
                let x = try args[0](ctx)
                return .array(ArrayValue([try element.map { try x.cast(to: $0) } ?? x] + a.elements))
            }
        },
        ScalarFunction(["array_cat"], arity: 2...2, result: .common, parameters: [nil], volatility: .immutable) { name, args, types in
            let element = SQLType.common(types)?.elementType
            return { ctx in
                let x = try arrayArgument(try args[0](ctx), name, element: element).map(Value.array) ?? .null
                let y = try arrayArgument(try args[1](ctx), name, element: element).map(Value.array) ?? .null
                return try ExpressionCompiler.concatenate(x, y)
            }
        },
        // array_fill(value, dimensions[, lower bounds]): PostgreSQL's checks in its order (a
        // NULL dimension array 22004, one of several dimensions 2202E, NULL lengths 22004,
        // MAXDIM and size 54000); lower bounds other than 1 are 0A000 as everywhere here.
        ScalarFunction(["array_fill"], arity: 2...3, result: .arrayOf(0), parameters: [nil, .integerArray, .integerArray],
                       volatility: .immutable) { name, args, types in
            let element: SQLType? = types.first ?? nil
            if let element, element.isArray { throw noArrayType(of: element) }
            return { ctx in
                let value = try args[0](ctx)
                // Elements are scalars: an array of arrays is one of more dimensions (42704 as
                // PostgreSQL says it, for a value whose type was not known when compiling).
                if case .array = value { throw noArrayType(of: nil) }
                let dimensions = try arrayArgument(try args[1](ctx), name, element: .integer)
                let lowerBounds = args.count > 2 ? try arrayArgument(try args[2](ctx), name, element: .integer) : nil
                guard let dimensions, args.count == 2 || lowerBounds != nil else {
                    throw DatabaseError(.error, sqlState: SQLState.nullValueNotAllowed, "dimension array or low bound array cannot be null")
                }
                if dimensions.dimensions.count > 1 || (lowerBounds?.dimensions.count ?? 0) > 1 {
                    throw DatabaseError(.error, sqlState: SQLState.arraySubscriptError, "wrong number of array subscripts (a dimension or low bound array must be one-dimensional)")
                }
                if let lowerBounds, lowerBounds.elements.count != dimensions.elements.count {
                    throw DatabaseError(.error, sqlState: SQLState.arraySubscriptError, "wrong number of array subscripts (the low bound array has a different size than the dimension array)")
                }
                func integers(_ array: ArrayValue) throws -> [Int64] {
                    try array.elements.map { v in
                        if v.isNull { throw DatabaseError(.error, sqlState: SQLState.nullValueNotAllowed, "dimension values cannot be null") }
                        guard case .integer(let i) = try v.cast(to: .integer) else { throw DatabaseError.internalError("array_fill: a dimension is not an integer") }
                        return i
                    }
                }
                let lengths = try integers(dimensions)
                if let lowerBounds, try integers(lowerBounds).contains(where: { $0 != 1 }) {
                    throw DatabaseError(.error, sqlState: SQLState.featureNotSupported, "array lower bounds other than 1 are not supported")
                }
                if lengths.count > ArrayValue.maxDimensions {
                    throw DatabaseError(.range, sqlState: SQLState.programLimitExceeded,
                                        "number of array dimensions (\(lengths.count)) exceeds the maximum allowed (\(ArrayValue.maxDimensions))")
                }
                var total = 1
                for length in lengths {
                    // A negative or too large length is too large an array; with every factor at
                    // most the limit and the product capped just past it, nothing overflows.
                    try ArrayValue.checkSize(length < 0 ? .max : Int(clamping: length))
                    total = min(total * Int(length), ArrayValue.maxElements + 1)
                }
                try ArrayValue.checkSize(total)
                if lengths.isEmpty || total == 0 { return .array(ArrayValue([])) }
                let filled = try element.map { try value.cast(to: $0) } ?? value
                // Its elements share one copy in memory, but not when stored or sent: the
                // array may not exceed the largest value (a 100 MB text a thousand times).
                let (bytes, overflow) = total.multipliedReportingOverflow(by: filled.memoryFootprint)
                if overflow || bytes > Limits.maxValueBytes { throw Limits.valueTooLarge() }
                return .array(ArrayValue(elements: Array(repeating: filled, count: total), dimensions: lengths.map { Int($0) }))
            }
        },
        // trim_array(a, n): the array without its last n elements (of the first dimension).
        ScalarFunction(["trim_array"], arity: 2...2, result: .argument(0), parameters: [nil, .integer], volatility: .immutable) { name, args, types in
            let element: SQLType? = (types.first ?? nil)?.elementType
            return { ctx in
                guard let a = try arrayArgument(try args[0](ctx), name, element: element) else { return .null }
                let count = try args[1](ctx)
                if count.isNull { return .null }
                guard case .integer(let n) = try count.cast(to: .integer) else { return .null }
                let length = a.dimensions.first ?? 0
                guard n >= 0, n <= Int64(length) else {
                    throw DatabaseError(.error, sqlState: SQLState.arraySubscriptError, "number of elements to trim must be between 0 and \(length)")
                }
                let kept = length - Int(n)
                if kept == 0 { return .array(ArrayValue([])) }
                let stride = a.elements.count / length
                return .array(ArrayValue(elements: Array(a.elements.prefix(kept * stride)), dimensions: [kept] + a.dimensions.dropFirst()))
            }
        },
        ScalarFunction(["array_remove"], arity: 2...2, result: .argument(0), parameters: [nil], volatility: .immutable) { name, args in
            { ctx in
                guard let a = try arrayArgument(try args[0](ctx), name) else { return .null }
                try oneDimensional(a, "removing elements")
                let target = try args[1](ctx)
                return .array(ArrayValue(try a.elements.filter { try !same($0, target) }))
            }
        },
        ScalarFunction(["array_replace"], arity: 3...3, result: .argument(0), parameters: [nil], volatility: .immutable) { name, args in
            { ctx in
                guard let a = try arrayArgument(try args[0](ctx), name) else { return .null }
                let target = try args[1](ctx), replacement = try args[2](ctx)
                return .array(ArrayValue(elements: try a.elements.map { try same($0, target) ? replacement : $0 }, dimensions: a.dimensions))
            }
        },
        ScalarFunction(["array_to_string"], arity: 2...3, result: .fixed(.text), parameters: [nil, .text, .text], volatility: .stable) { name, args in
            { ctx in
                guard let a = try arrayArgument(try args[0](ctx), name), let separator = try Functions.text(try args[1](ctx)) else { return .null }
                let nullText = args.count > 2 ? try Functions.text(try args[2](ctx)) : nil
                var pieces: [String] = []
                var length = 0
                for element in a.elements {
                    let piece: String
                    if element.isNull {
                        guard let nullText else { continue }
                        piece = nullText
                    } else {
                        piece = try Functions.text(element) ?? ""
                    }
                    length += piece.utf8.count + separator.utf8.count
                    if length > Limits.maxValueBytes { throw Limits.valueTooLarge() }
                    pieces.append(piece)
                }
                return .text(pieces.joined(separator: separator))
            }
        },
        ScalarFunction(["string_to_array"], arity: 2...3, result: .fixed(.textArray), parameters: [.text], volatility: .immutable) { _, args in
            { ctx in
                guard let s = try Functions.text(try args[0](ctx)) else { return .null }
                let separator = try Functions.text(try args[1](ctx))
                let nullText = args.count > 2 ? try Functions.text(try args[2](ctx)) : nil
                if s.isEmpty { return .array(ArrayValue([])) }
                let pieces: [String]
                switch separator {
                case nil: pieces = s.map { String($0) }          // each character
                case ""?: pieces = [s]                            // the whole string
                case let sep?: pieces = s.split(separator: sep, omittingEmptySubsequences: false).map(String.init)
                }
                return .array(ArrayValue(pieces.map { $0 == nullText ? .null : .text($0) }))
            }
        },
        ScalarFunction(["array_to_json"], arity: 1...2, result: .fixed(.json), parameters: [nil, .boolean], volatility: .stable) { name, args, types in
            let type = types.first ?? nil
            return { ctx in
                let v = try args[0](ctx)
                if v.isNull { return .null }
                guard case .array = v else {
                    throw DatabaseError(.error, sqlState: SQLState.undefinedFunction, "function \(name)(\(v.typeName)) does not exist")
                }
                return .text(try JSONConversion.json(from: v, type: type).compactText)
            }
        },
        // UPDATE … SET a[i] = v (the parser's rewriting; no query can name it).
        ScalarFunction([ArrayValue.assignFunction], arity: 3...8, result: .argument(0), parameters: [nil], volatility: .immutable) { _, args, types in
            let element = (types.first ?? nil)?.elementType
            return { ctx in
                var indexes: [Int64] = []
                for i in args.dropFirst(2) {
                    guard case .integer(let n) = try i(ctx).cast(to: .integer) else {
                        throw DatabaseError(.error, sqlState: SQLState.nullValueNotAllowed, "array subscript in assignment must not be null")
                    }
                    indexes.append(n)
                }
                let value = try args[1](ctx)
                return .array(try ArrayValue.assigning(try arrayArgument(try args[0](ctx), "array assignment", element: element) ?? ArrayValue([]),
                                                       try element.map { try value.cast(to: $0) } ?? value, at: indexes))
            }
        },
        ScalarFunction(["regexp_match"], arity: 2...3, result: .fixed(.textArray), parameters: [.text], volatility: .immutable) { name, args in
            let cache = RegularExpressionCache()
            return { ctx in
                guard let (texts, expression) = try regexCall(ctx, args, flagsAt: 2, cache, name) else { return .null }
                let s = texts[0]
                guard let match = try expression.matches(in: s, from: s.startIndex).first else { return .null }
                return .array(matchArray(match, in: s))
            }
        },
        ScalarFunction(["regexp_split_to_array"], arity: 2...3, result: .fixed(.textArray), parameters: [.text], volatility: .immutable) { name, args in
            let cache = RegularExpressionCache()
            return { ctx in
                guard let (texts, expression) = try regexCall(ctx, args, flagsAt: 2, cache, name) else { return .null }
                let pieces = TableFunctions.splitting(texts[0], by: expression)
                return .array(ArrayValue(pieces.map(Value.text)))
            }
        },
    ]

    /// A match as regexp_match(es) returns it: the groups' texts (NULL for a group that took
    /// no part), or the whole match when the pattern has no groups.
    static func matchArray(_ match: RegexMatch, in s: String) -> ArrayValue {
        if match.groups.count <= 1 { return ArrayValue([.text(String(s[match.range]))]) }
        return ArrayValue(match.groups.dropFirst().map { range in range.map { .text(String(s[$0])) } ?? .null })
    }
}
