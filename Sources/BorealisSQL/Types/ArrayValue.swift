// PostgreSQL arrays as values: the elements in row-major order and the length of each
// dimension (lower bounds are always 1). Keeps these invariants: the product of `dimensions`
// is `elements.count`; an empty array has no dimensions; at most `maxDimensions` dimensions
// (PostgreSQL's MAXDIM); elements are scalar values (never arrays: a multi-dimensional array
// is one value with several dimensions). The text form is PostgreSQL's array_out and array_in
// (docs/arrays.md); comparison is element by element (NULL above every value, two NULLs
// equal), then by the number of dimensions, then by their lengths.

import BorealisStorage

/// An array value: `Value.array`. Build one-dimensional arrays with `ArrayValue([...])`;
/// its `text` is PostgreSQL's form.
///
/// ```swift
/// try db.execute("INSERT INTO posts (tags) VALUES ($1)", [.array(ArrayValue([.text("swift"), .text("sql")]))])
/// if case .array(let tags) = try db.query("SELECT tags FROM posts")[0][0] { print(tags.elements.count) }
/// ```
public struct ArrayValue: Sendable, Hashable {
    /// The elements in row-major order.
    public internal(set) var elements: [Value]
    /// The length of each dimension; empty for the empty array `{}`. (Set only with the
    /// elements, so that their counts always agree.)
    public internal(set) var dimensions: [Int]

    /// PostgreSQL's MAXDIM.
    static let maxDimensions = 6

    /// The most elements an array may hold: 2^24 (PostgreSQL allows 2^27 of a 1 GB value; a
    /// Value takes more room than a Datum, and doubling `a || a` must stop well before memory runs out).
    static let maxElements = 1 << 24

    /// 54000 when an array would hold more than `maxElements`.
    static func checkSize(_ count: Int) throws {
        if count > maxElements {
            throw DatabaseError(.range, sqlState: SQLState.programLimitExceeded,
                                "array size exceeds the maximum allowed (\(maxElements))")
        }
    }

    /// A one-dimensional array (the empty array when `elements` is empty).
    public init(_ elements: [Value]) {
        self.elements = elements
        self.dimensions = elements.isEmpty ? [] : [elements.count]
    }

    init(elements: [Value], dimensions: [Int]) {
        self.elements = elements
        self.dimensions = elements.isEmpty ? [] : dimensions
    }

    var isEmpty: Bool { elements.isEmpty }

    // MARK: Text form (array_out)

    /// `{1,2,NULL}`, `{{1,2},{3,4}}`, text elements quoted as array_out quotes them.
    public var text: String {
        if elements.isEmpty { return "{}" }
        var out = ""
        var index = 0
        func write(_ dimension: Int) {
            out.append("{")
            for i in 0..<dimensions[dimension] {
                if i > 0 { out.append(",") }
                if dimension + 1 < dimensions.count {
                    write(dimension + 1)
                } else {
                    out.append(ArrayValue.elementText(elements[index]))
                    index += 1
                }
            }
            out.append("}")
        }
        write(0)
        return out
    }

    /// One element as array_out writes it: NULL bare; quoted (with `"` and `\` escaped) when
    /// empty, spelled NULL in any case, or holding `{ } , " \` or white space.
    static func elementText(_ value: Value) -> String {
        if value.isNull { return "NULL" }
        let s: String
        if case .text(let t) = value { s = t } else { s = value.description }
        var needsQuotes = s.isEmpty || s.lowercased() == "null"
        if !needsQuotes {
            for b in s.utf8 where b == UInt8(ascii: "{") || b == UInt8(ascii: "}") || b == UInt8(ascii: ",")
                || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") || isSpace(b) {
                needsQuotes = true
                break
            }
        }
        guard needsQuotes else { return s }
        var out = "\""
        for ch in s.unicodeScalars {
            if ch == "\"" || ch == "\\" { out.append("\\") }
            out.unicodeScalars.append(ch)
        }
        out.append("\"")
        return out
    }

    /// array_isspace: the ASCII white space array_in skips and array_out quotes.
    static func isSpace(_ b: UInt8) -> Bool {
        b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || b == 0x0B || b == 0x0C
    }

    // MARK: Input (array_in)

    static func malformed(_ input: String, _ detail: String) -> DatabaseError {
        DatabaseError(.mismatch, sqlState: SQLState.invalidTextRepresentation, "malformed array literal: \"\(input)\" (\(detail))")
    }

    static func tooManyDimensions(_ n: Int) -> DatabaseError {
        DatabaseError(.range, sqlState: SQLState.programLimitExceeded,
                      "number of array dimensions (\(n)) exceeds the maximum allowed (\(maxDimensions))")
    }

    /// Reads `{…}` text into an array of `element` values (each element read as a cast of its
    /// text to that type). 22P02 for malformed text, 54000 past six dimensions, 0A000 for
    /// explicit bounds (`[2:3]={…}`), which Borealis does not keep.
    static func parse(_ input: String, element: SQLType) throws -> ArrayValue {
        var reader = TextReader(bytes: Array(input.utf8), input: input)
        reader.skipSpace()
        guard reader.i < reader.bytes.count else { throw malformed(input, "Array value must start with \"{\" or dimension information.") }
        if reader.bytes[reader.i] == UInt8(ascii: "[") {
            throw DatabaseError(.error, sqlState: SQLState.featureNotSupported,
                                "array dimension decorations (\"[1:2]=\") are not supported")
        }
        let root = try reader.list(depth: 1)
        reader.skipSpace()
        guard reader.i == reader.bytes.count else { throw malformed(input, "Junk after closing right brace.") }
        // The shape is the first path down; every other sub-array must match it.
        var dimensions: [Int] = []
        var node = root
        while case .list(let children) = node, !children.isEmpty {
            dimensions.append(children.count)
            node = children[0]
        }
        if dimensions.isEmpty { return ArrayValue([]) }
        var values: [Value] = []
        func flatten(_ node: TextReader.Node, _ level: Int) throws {
            switch node {
            case .list(let children):
                guard level < dimensions.count, children.count == dimensions[level] else {
                    throw malformed(input, "Multidimensional arrays must have sub-arrays with matching dimensions.")
                }
                for child in children { try flatten(child, level + 1) }
            case .scalar(let text):
                guard level == dimensions.count else {
                    throw malformed(input, "Multidimensional arrays must have sub-arrays with matching dimensions.")
                }
                guard let text else { values.append(.null); return }
                values.append(try Value.text(text).cast(to: element))
            }
        }
        try flatten(root, 0)
        return ArrayValue(elements: values, dimensions: dimensions)
    }

    /// The reader of array_in's syntax: nested braces (at most six deep), quoted or bare elements.
    private struct TextReader {
        indirect enum Node { case scalar(String?), list([Node]) }
        let bytes: [UInt8]
        let input: String
        var i = 0

        init(bytes: [UInt8], input: String) { self.bytes = bytes; self.input = input }

        mutating func skipSpace() { while i < bytes.count, ArrayValue.isSpace(bytes[i]) { i += 1 } }

        /// `{ … }` at the current byte.
        mutating func list(depth: Int) throws -> Node {
            if depth > ArrayValue.maxDimensions { throw ArrayValue.tooManyDimensions(depth) }
            guard i < bytes.count, bytes[i] == UInt8(ascii: "{") else {
                throw ArrayValue.malformed(input, "Array value must start with \"{\" or dimension information.")
            }
            i += 1
            skipSpace()
            var children: [Node] = []
            if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .list(children) }
            while true {
                skipSpace()
                guard i < bytes.count else { throw ArrayValue.malformed(input, "Unexpected end of input.") }
                if bytes[i] == UInt8(ascii: "{") {
                    children.append(try list(depth: depth + 1))
                } else {
                    children.append(.scalar(try scalar()))
                }
                skipSpace()
                guard i < bytes.count else { throw ArrayValue.malformed(input, "Unexpected end of input.") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "}") { i += 1; break }
                throw ArrayValue.malformed(input, "Unexpected array element.")
            }
            // Sub-arrays and scalars do not mix at one level.
            let lists = children.filter { if case .list = $0 { return true } else { return false } }.count
            if lists != 0 && lists != children.count {
                throw ArrayValue.malformed(input, "Multidimensional arrays must have sub-arrays with matching dimensions.")
            }
            return .list(children)
        }

        /// One element; nil for a bare NULL.
        mutating func scalar() throws -> String? {
            var value: [UInt8] = []
            if bytes[i] == UInt8(ascii: "\"") {
                i += 1
                while true {
                    guard i < bytes.count else { throw ArrayValue.malformed(input, "Unexpected end of input.") }
                    let b = bytes[i]
                    if b == UInt8(ascii: "\\") {
                        guard i + 1 < bytes.count else { throw ArrayValue.malformed(input, "Unexpected end of input.") }
                        value.append(bytes[i + 1])
                        i += 2
                    } else if b == UInt8(ascii: "\"") {
                        i += 1
                        return String(decoding: value, as: UTF8.self)
                    } else {
                        value.append(b)
                        i += 1
                    }
                }
            }
            var significant = 0   // the length up to the last escaped or non-space byte
            var escaped = false
            while i < bytes.count {
                let b = bytes[i]
                if b == UInt8(ascii: ",") || b == UInt8(ascii: "}") { break }
                if b == UInt8(ascii: "{") || b == UInt8(ascii: "\"") {
                    throw ArrayValue.malformed(input, "Unexpected \"\(Character(UnicodeScalar(b)))\" character.")
                }
                if b == UInt8(ascii: "\\") {
                    guard i + 1 < bytes.count else { throw ArrayValue.malformed(input, "Unexpected end of input.") }
                    value.append(bytes[i + 1])
                    i += 2
                    significant = value.count
                    escaped = true
                    continue
                }
                value.append(b)
                if !ArrayValue.isSpace(b) { significant = value.count }
                i += 1
            }
            value.removeLast(value.count - significant)
            if value.isEmpty { throw ArrayValue.malformed(input, "Unexpected \"\(i < bytes.count ? Character(UnicodeScalar(bytes[i])) : " ")\" character.") }
            let s = String(decoding: value, as: UTF8.self)
            if !escaped, s.count == 4, s.lowercased() == "null" { return nil }
            return s
        }
    }

    // MARK: Comparison

    /// array_cmp: element by element (NULL elements above all others, equal to each other),
    /// then the number of dimensions, then the length of each.
    static func compare(_ a: ArrayValue, _ b: ArrayValue) throws -> Int {
        for (x, y) in zip(a.elements, b.elements) {
            switch (x.isNull, y.isNull) {
            case (true, true): continue
            case (true, false): return 1
            case (false, true): return -1
            default:
                if let c = try Value.compare(x, y), c != 0 { return c < 0 ? -1 : 1 }
            }
        }
        if a.elements.count != b.elements.count, a.dimensions.count == b.dimensions.count, a.dimensions.count <= 1 {
            return a.elements.count < b.elements.count ? -1 : 1
        }
        if a.dimensions.count != b.dimensions.count { return a.dimensions.count < b.dimensions.count ? -1 : 1 }
        for (x, y) in zip(a.dimensions, b.dimensions) where x != y { return x < y ? -1 : 1 }
        return 0
    }

    /// Whether `a` holds every non-NULL element of `b` (`a @> b`); a NULL element of `b` is
    /// never held (PostgreSQL's array_contain_compare).
    static func contains(_ a: ArrayValue, _ b: ArrayValue) throws -> Bool {
        for y in b.elements {
            if y.isNull { return false }
            var found = false
            for x in a.elements where !x.isNull {
                if try Value.compare(x, y) == 0 { found = true; break }
            }
            if !found { return false }
        }
        return true
    }

    /// Whether the arrays share a non-NULL element (`a && b`).
    static func overlaps(_ a: ArrayValue, _ b: ArrayValue) throws -> Bool {
        for y in b.elements where !y.isNull {
            for x in a.elements where !x.isNull {
                if try Value.compare(x, y) == 0 { return true }
            }
        }
        return false
    }
}

extension Value {
    /// CAST(self AS element[]): text is read as array_in reads it, an array has each element cast.
    func castToArray(of element: SQLType, _ type: SQLType) throws -> Value {
        switch self {
        case .null: return .null
        case .array(let a):
            return .array(ArrayValue(elements: try a.elements.map { try $0.cast(to: element) }, dimensions: a.dimensions))
        case .text(let s):
            return .array(try ArrayValue.parse(s, element: element))
        default:
            throw DatabaseError(.mismatch, sqlState: SQLState.cannotCoerce, "cannot cast type \(typeName) to \(type.displayName)")
        }
    }
}

extension ArrayValue {
    /// The values as the elements of an array (ARRAY(SELECT …)), or, when they are arrays, as
    /// the rows of an array of one more dimension (2202E when their shapes differ or one is
    /// empty, 22004 when one is NULL).
    static func accumulated(_ items: [Value]) throws -> Value {
        guard case .array? = items.first(where: { !$0.isNull }) else { return .array(ArrayValue(items)) }
        var shape: [Int]? = nil
        var elements: [Value] = []
        for item in items {
            guard case .array(let a) = item else {
                throw DatabaseError(.error, sqlState: SQLState.nullValueNotAllowed, "cannot accumulate null arrays")
            }
            if a.isEmpty { throw DatabaseError(.error, sqlState: SQLState.arraySubscriptError, "cannot accumulate empty arrays") }
            if let shape, shape != a.dimensions {
                throw DatabaseError(.error, sqlState: SQLState.arraySubscriptError, "cannot accumulate arrays of different dimensionality")
            }
            if a.dimensions.count >= maxDimensions { throw tooManyDimensions(a.dimensions.count + 1) }
            try checkSize(elements.count + a.elements.count)
            shape = a.dimensions
            elements.append(contentsOf: a.elements)
        }
        guard let shape else { return .array(ArrayValue([])) }
        return .array(ArrayValue(elements: elements, dimensions: [items.count] + shape))
    }
}

extension ArrayValue {
    /// The name UPDATE's `SET a[i] = v` is rewritten to (no SQL can spell it).
    static let assignFunction = "\u{1}array_assign"

    /// The array with the element at `indexes` replaced by `value`: within the array, or, for a
    /// one-dimensional (or empty) array, past its end (the gap filled with NULL). Subscripts
    /// below 1 would move the lower bound, which Borealis does not keep (0A000); a subscript
    /// outside a multi-dimensional array is 2202E, as PostgreSQL's.
    static func assigning(_ array: ArrayValue, _ value: Value, at indexes: [Int64]) throws -> ArrayValue {
        if array.isEmpty || array.dimensions.count == 1 {
            guard indexes.count == 1 || array.isEmpty else {
                throw DatabaseError(.error, sqlState: SQLState.arraySubscriptError, "wrong number of array subscripts")
            }
            guard indexes.count == 1, let i = indexes.first else {
                throw DatabaseError(.error, sqlState: SQLState.featureNotSupported, "assigning to an element of an empty multidimensional array is not supported")
            }
            guard i >= 1 else {
                throw DatabaseError(.error, sqlState: SQLState.featureNotSupported, "array subscripts below 1 are not supported (arrays start at 1)")
            }
            guard i <= Int64(maxElements) else { try checkSize(Int(clamping: i)); return array }
            var elements = array.elements
            let position = Int(i)
            if position > elements.count {
                try checkSize(position)
                elements += [Value](repeating: .null, count: position - elements.count)
            }
            elements[position - 1] = value
            return ArrayValue(elements)
        }
        guard indexes.count == array.dimensions.count else {
            throw DatabaseError(.error, sqlState: SQLState.arraySubscriptError, "wrong number of array subscripts")
        }
        var offset = 0
        for (k, i) in indexes.enumerated() {
            guard i >= 1, i <= Int64(array.dimensions[k]) else {
                throw DatabaseError(.error, sqlState: SQLState.arraySubscriptError, "array subscript out of range")
            }
            offset = offset * array.dimensions[k] + Int(i) - 1
        }
        var elements = array.elements
        elements[offset] = value
        return ArrayValue(elements: elements, dimensions: array.dimensions)
    }
}
