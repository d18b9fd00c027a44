// Array expressions: the ARRAY[…] and ARRAY(SELECT …) constructors, subscripts and slices,
// `x op ANY/ALL (array)`, and the array operators `||`, `@>`, `<@`, `&&` (dispatched here by
// the operands' static types; jsonb's `@>` and `<@` stay in ExpressionCompiler+JSON).
// PostgreSQL's rules: the constructor's element type is the common type of its items (42804
// when they have none), a subscript out of range or with a NULL is NULL, a slice is clipped to
// the array, ANY/ALL use three-valued logic over the elements.

import BorealisStorage

extension ExpressionCompiler {
    /// Whether an item of an ARRAY[…] constructor has no type of its own (a string literal,
    /// NULL, a parameter): it takes the others' type, as PostgreSQL's unknown literals do.
    private func isUntyped(_ e: Expr) -> Bool {
        switch e {
        case .literal(.text), .literal(.null), .parameter: return true
        default: return false
        }
    }

    /// The element type of ARRAY[items]: the common type of the typed items (a sub-array item
    /// counts with its element type); text when none is typed. 42804 when they do not resolve.
    func arrayElementType(_ items: [Expr]) throws -> SQLType {
        var types: [SQLType] = []
        for item in items where !isUntyped(item) {
            guard let type = staticType(item) else { continue }
            types.append(type.elementType ?? type)
        }
        for type in types.dropFirst() where !type.resolves(with: types[0]) {
            throw DatabaseError(.error, sqlState: SQLState.datatypeMismatch,
                                "ARRAY types \(types[0].displayName) and \(type.displayName) cannot be matched")
        }
        return SQLType.common(types) ?? .text
    }

    /// The static type of an array expression, or of `||` over arrays.
    func arrayStaticType(_ e: Expr) -> SQLType? {
        switch e {
        case .array(let items):
            return (try? arrayElementType(items))?.arrayType
        case .arraySubquery(let query):
            // The type of the subquery's one column, when planning tells it.
            let childParent = aggregation.map { agg in Scope(columns: [], parent: agg.inputScope.parent) } ?? scope
            guard let plan = try? planner.plan(query, parent: childParent), plan.declaredTypes.count == 1 else { return nil }
            return plan.declaredTypes[0].flatMap { $0.elementType == nil ? $0.arrayType : $0 }
        case .subscripted(let base, let subscripts):
            guard let type = staticType(base) else { return nil }
            return subscripts.contains(where: \.isSlice) ? type : type.elementType
        case .quantifiedArray:
            return .boolean
        default:
            return nil
        }
    }

    func compileArrayNode(_ expr: Expr) throws -> Evaluator {
        switch expr {
        case .array(let items):
            return try compileArrayConstructor(items)
        case .arraySubquery(let query):
            let values = try compileSubqueryValues(query, requireOneColumn: true)
            return { ctx in
                let rows = try values(ctx)
                try ArrayValue.checkSize(rows.count)
                return try ArrayValue.accumulated(rows.map { $0[0] })
            }
        case .subscripted(let base, let subscripts):
            return try compileSubscript(base, subscripts)
        case .quantifiedArray(let op, let e, let arrayExpr, let all):
            return try compileQuantifiedArray(op, e, arrayExpr, all: all)
        default:
            throw DatabaseError.internalError("not an array expression")
        }
    }

    private func compileArrayConstructor(_ items: [Expr]) throws -> Evaluator {
        let element = try arrayElementType(items)
        let nested = items.contains { item in
            if case .array = item { return true }
            return staticType(item)?.isArray ?? false
        }
        let evaluators = try items.map { item -> Evaluator in
            let e = try compile(item)
            // Items of another type are cast to the element type ('1' → 1, 1 → 1.0 in numeric[]).
            if nested || staticType(item) == element { return e }
            return { ctx in try e(ctx).cast(to: element) }
        }
        if !nested {
            return { ctx in .array(ArrayValue(try evaluators.map { try $0(ctx) })) }
        }
        return { ctx in
            // ARRAY[ARRAY[1,2], ARRAY[3,4]]: sub-arrays of one shape make one more dimension.
            var shape: [Int]? = nil
            var elements: [Value] = []
            for evaluator in evaluators {
                let v = try evaluator(ctx)
                guard case .array(let sub) = v else {
                    if v.isNull { continue }
                    throw DatabaseError(.error, sqlState: SQLState.arraySubscriptError,
                                        "multidimensional arrays must have array expressions with matching dimensions")
                }
                if let shape, shape != sub.dimensions {
                    throw DatabaseError(.error, sqlState: SQLState.arraySubscriptError,
                                        "multidimensional arrays must have array expressions with matching dimensions")
                }
                shape = sub.dimensions
                try ArrayValue.checkSize(elements.count + sub.elements.count)
                elements.append(contentsOf: sub.elements)
            }
            guard let shape, !shape.isEmpty else { return .array(ArrayValue([])) }
            if shape.count + 1 > ArrayValue.maxDimensions { throw ArrayValue.tooManyDimensions(shape.count + 1) }
            return .array(ArrayValue(elements: elements, dimensions: [elements.count / shape.reduce(1, *)] + shape))
        }
    }

    private func compileSubscript(_ base: Expr, _ subscripts: [ArraySubscript]) throws -> Evaluator {
        if let type = staticType(base), !type.isArray {
            throw DatabaseError(.error, sqlState: SQLState.datatypeMismatch,
                                "cannot subscript type \(type.displayName) because it does not support subscripting")
        }
        if subscripts.count > ArrayValue.maxDimensions {
            throw DatabaseError(.error, sqlState: SQLState.programLimitExceeded,
                                "number of array dimensions (\(subscripts.count)) exceeds the maximum allowed (\(ArrayValue.maxDimensions))")
        }
        let a = try compile(base)
        let slice = subscripts.contains(where: \.isSlice)
        func bound(_ e: Expr?) throws -> Evaluator? {
            guard let e else { return nil }
            if let type = staticType(e), !type.isInteger, !isUntyped(e) {
                throw DatabaseError(.error, sqlState: SQLState.datatypeMismatch, "array subscript must have type integer")
            }
            return try compile(e)
        }
        let bounds = try subscripts.map { (lower: try bound($0.lower), upper: try bound($0.upper)) }
        /// A subscript's value: nil for NULL (the whole result is then NULL).
        func index(_ v: Value) throws -> Int64? {
            // Subscripts are int4: past it is 22003, as PostgreSQL's int8 → int4 conversion.
            switch v {
            case .null: return nil
            case .integer(let i):
                guard Int32(exactly: i) != nil else { throw Value.overflow("integer") }
                return i
            default:
                guard case .integer(let i) = try v.cast(to: .integer) else { return nil }
                return i
            }
        }
        return { ctx in
            let v = try a(ctx)
            guard case .array(let array) = v else {
                if v.isNull { return .null }
                throw DatabaseError(.error, sqlState: SQLState.datatypeMismatch, "cannot subscript type \(v.typeName) because it does not support subscripting")
            }
            if !slice {
                var offset = 0
                var stride = array.elements.count
                if bounds.count != array.dimensions.count { 
                    for b in bounds { if let u = b.upper, try index(try u(ctx)) == nil { return .null } }
                    return .null
                }
                for (k, b) in bounds.enumerated() {
                    guard let u = b.upper, let i = try index(try u(ctx)) else { return .null }
                    let length = array.dimensions[k]
                    guard i >= 1, i <= Int64(length) else { return .null }
                    stride /= length
                    offset += (Int(i) - 1) * stride
                }
                return offset < array.elements.count ? array.elements[offset] : .null
            }
            // A slice: each dimension clipped to the array; a plain [i] among slices is [1:i].
            var ranges: [ClosedRange<Int>] = []
            var empty = false
            for (k, b) in bounds.enumerated() {
                var lower: Int64 = 1, upper: Int64 = k < array.dimensions.count ? Int64(array.dimensions[k]) : 0
                if let l = b.lower { guard let x = try index(try l(ctx)) else { return .null }; lower = x }
                if let u = b.upper { guard let x = try index(try u(ctx)) else { return .null }; upper = x }
                guard k < array.dimensions.count else { empty = true; continue }
                lower = max(lower, 1)
                upper = min(upper, Int64(array.dimensions[k]))
                if lower > upper { empty = true } else { ranges.append(Int(lower)...Int(upper)) }
            }
            if empty || array.isEmpty { return .array(ArrayValue([])) }
            for k in ranges.count..<array.dimensions.count { ranges.append(1...array.dimensions[k]) }
            var strides = [Int](repeating: 1, count: array.dimensions.count)
            for k in stride(from: array.dimensions.count - 2, through: 0, by: -1) { strides[k] = strides[k + 1] * array.dimensions[k + 1] }
            var elements: [Value] = []
            func gather(_ k: Int, _ offset: Int) {
                for i in ranges[k] {
                    let o = offset + (i - 1) * strides[k]
                    if k + 1 == ranges.count { elements.append(array.elements[o]) } else { gather(k + 1, o) }
                }
            }
            gather(0, 0)
            return .array(ArrayValue(elements: elements, dimensions: ranges.map(\.count)))
        }
    }

    private func compileQuantifiedArray(_ op: BinaryOperator, _ e: Expr, _ arrayExpr: Expr, all: Bool) throws -> Evaluator {
        let arrayType = staticType(arrayExpr)
        if let arrayType, !arrayType.isArray, !isUntyped(arrayExpr) {
            throw DatabaseError(.error, sqlState: SQLState.wrongObjectType, "op ANY/ALL (array) requires array on right side")
        }
        let element = arrayType?.elementType ?? staticType(e) ?? .text
        let a = try compile(e), b = try compile(arrayExpr)
        let test = try compileBinary(op, { ctx in ctx.frames[ctx.frames.count - 1][0] }, { ctx in ctx.frames[ctx.frames.count - 1][1] })
        return { ctx in
            let v = try a(ctx)
            let elements: [Value]
            switch try b(ctx) {
            case .null: return .null
            case .array(let array): elements = array.elements
            case .text(let s): elements = try ArrayValue.parse(s, element: element).elements
            case let other:
                throw DatabaseError(.error, sqlState: SQLState.wrongObjectType, "op ANY/ALL (array) requires array on right side, not \(other.typeName)")
            }
            var sawNull = false
            for item in elements {
                switch try ctx.withFrame([v, item], { try test(ctx).truth() }) {
                case nil: sawNull = true
                case true?: if !all { return .boolean(true) }
                case false?: if all { return .boolean(false) }
                }
            }
            return sawNull ? .null : .boolean(all)
        }
    }

    /// `||`, `@>`, `<@` and `&&` when an operand is an array (nil otherwise).
    func compileArrayOperator(_ op: BinaryOperator, _ l: Expr, _ r: Expr) throws -> Evaluator? {
        switch op {
        case .concat, .jsonContains, .jsonContainedBy, .overlaps: break
        case .jsonHasAnyKey, .jsonHasAllKeys:
            let a = try compile(l), b = try compile(r)
            let all = op == .jsonHasAllKeys
            return { ctx in
                guard let document = try Self.document(try a(ctx)),
                      case .array(let keys) = try Self.arrayOperand(try b(ctx), .text) else { return .null }
                // NULL keys are ignored, as in PostgreSQL.
                for case .text(let k) in keys.elements {
                    let found: Bool
                    switch document {
                    case .object(let members): found = members.contains { $0.key == k }
                    case .array(let items): found = items.contains(.string(k))
                    case .string(let s): found = s == k
                    default: found = false
                    }
                    if found != all { return .boolean(found) }
                }
                return .boolean(all)
            }
        case .equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual, .isDistinctFrom, .isNotDistinctFrom:
            // Arrays compare only with arrays of their own type (PostgreSQL's anyarray).
            if let left = staticType(l), let right = staticType(r), left.isArray || right.isArray, left != right, !isUntyped(l), !isUntyped(r) {
                throw DatabaseError(.error, sqlState: SQLState.undefinedFunction,
                                    "operator does not exist: \(left.displayName) \(op.rawValue) \(right.displayName)")
            }
            return nil
        default: return nil
        }
        if op == .concat && !concatenatesArray(.binary(.concat, l, r)) { return nil }
        let left = staticType(l), right = staticType(r)
        let leftArray = left?.isArray ?? false, rightArray = right?.isArray ?? false
        if op != .concat, leftArray, rightArray, let left, let right, left != right {
            throw DatabaseError(.error, sqlState: SQLState.undefinedFunction,
                                "operator does not exist: \(left.displayName) \(op.rawValue) \(right.displayName)")
        }
        guard leftArray || rightArray else {
            if op == .overlaps {
                throw DatabaseError(.error, sqlState: SQLState.undefinedFunction,
                                    "operator does not exist: \(left?.displayName ?? "unknown") && \(right?.displayName ?? "unknown")")
            }
            return nil
        }
        // `||` resolves to the common type of both sides (PostgreSQL's anycompatible).
        let element = op == .concat ? concatElementType(left, right, l, r) : (leftArray ? left : right)?.elementType ?? .text
        let a = try compile(l), b = try compile(r)
        if op == .concat {
            // array || array, array || element, element || array; an untyped operand next to an
            // array is an array ('{2,3}', NULL), as PostgreSQL resolves it.
            let leftIsElement = !leftArray && !isUntyped(l), rightIsElement = !rightArray && !isUntyped(r)
            if leftArray && !rightIsElement || rightArray && !leftIsElement {
                return { ctx in
                    try Self.concatenate(try Self.arrayOperand(try a(ctx), element), try Self.arrayOperand(try b(ctx), element))
                }
            }
            if leftArray {
                return { ctx in
                    let x = try Self.arrayOperand(try a(ctx), element)
                    return try Self.concatenate(x, .array(ArrayValue([try b(ctx).cast(to: element)])))
                }
            }
            return { ctx in
                let y = try Self.arrayOperand(try b(ctx), element)
                return try Self.concatenate(.array(ArrayValue([try a(ctx).cast(to: element)])), y)
            }
        }
        return { ctx in
            guard case .array(let x) = try Self.arrayOperand(try a(ctx), element),
                  case .array(let y) = try Self.arrayOperand(try b(ctx), element) else { return .null }
            switch op {
            case .jsonContains: return .boolean(try ArrayValue.contains(x, y))
            case .jsonContainedBy: return .boolean(try ArrayValue.contains(y, x))
            default: return .boolean(try ArrayValue.overlaps(x, y))
            }
        }
    }

    /// The type of `l || r` when a side is an array.
    func concatArrayType(_ left: SQLType?, _ right: SQLType?, _ l: Expr, _ r: Expr) -> SQLType? {
        concatElementType(left, right, l, r).arrayType
    }

    /// Whether a chain of `||` has an array operand, found along its left spine without
    /// recursion (a chain of thousands of `||` must not nest that deep).
    private func concatenatesArray(_ e: Expr) -> Bool {
        var node = e
        while case .binary(.concat, let left, let right) = node {
            if staticType(right)?.isArray == true { return true }
            node = left
        }
        return staticType(node)?.isArray == true
    }

    /// The element type of `l || r` with an array on one side: the common type of the
    /// arrays' elements and of an element operand (an untyped operand takes the other's).
    private func concatElementType(_ left: SQLType?, _ right: SQLType?, _ l: Expr, _ r: Expr) -> SQLType {
        var types: [SQLType?] = []
        if !isUntyped(l) { types.append(left.map { $0.elementType ?? $0 }) }
        if !isUntyped(r) { types.append(right.map { $0.elementType ?? $0 }) }
        return SQLType.common(types) ?? .text
    }

    /// An operand read as an array: text (an untyped literal) as array_in reads it.
    static func arrayOperand(_ v: Value, _ element: SQLType) throws -> Value {
        switch v {
        case .null, .array: return v
        case .text(let s): return .array(try ArrayValue.parse(s, element: element))
        default:
            throw DatabaseError(.error, sqlState: SQLState.undefinedFunction, "operator does not exist: \(v.typeName) || array")
        }
    }

    /// array_cat: NULL on one side gives the other; arrays of the same number of dimensions
    /// join along the first, one of a dimension fewer is added as one more row.
    static func concatenate(_ x: Value, _ y: Value) throws -> Value {
        guard case .array(let a) = x else { return y }
        guard case .array(let b) = y else { return x }
        if a.isEmpty { return y }
        if b.isEmpty { return x }
        try ArrayValue.checkSize(a.elements.count + b.elements.count)
        let incompatible = DatabaseError(.error, sqlState: SQLState.arraySubscriptError, "cannot concatenate incompatible arrays")
        if a.dimensions.count == b.dimensions.count {
            guard a.dimensions.dropFirst() == b.dimensions.dropFirst() else { throw incompatible }
            return .array(ArrayValue(elements: a.elements + b.elements, dimensions: [a.dimensions[0] + b.dimensions[0]] + a.dimensions.dropFirst()))
        }
        if a.dimensions.count == b.dimensions.count + 1, Array(a.dimensions.dropFirst()) == b.dimensions {
            return .array(ArrayValue(elements: a.elements + b.elements, dimensions: [a.dimensions[0] + 1] + b.dimensions))
        }
        if b.dimensions.count == a.dimensions.count + 1, Array(b.dimensions.dropFirst()) == a.dimensions {
            return .array(ArrayValue(elements: a.elements + b.elements, dimensions: [b.dimensions[0] + 1] + a.dimensions))
        }
        throw incompatible
    }
}
