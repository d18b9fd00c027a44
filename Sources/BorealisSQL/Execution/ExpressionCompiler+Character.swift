// character(n) / char(n) / bpchar semantics, as PostgreSQL has them: a value reads blank-padded
// to n; trailing blanks are insignificant when two char values (or a char value and a string
// literal) are compared, and where the value becomes text: a cast to text or varchar, `||`,
// and the arguments of text functions (length() counts no trailing blanks); a cast to char(n)
// pads (or cuts) to n.
//
// Where the padding happens: a base table's char(n) column is padded when the query reads it
// (ScopeColumn.padding, set by FromPlanner), so rows stored before (unpadded) and rows stored
// now read the same. Comparisons are rewritten before compilation: the char side becomes
// `CAST(x AS text)` (which strips), a string literal on the other side `CAST(CAST('…' AS
// char) AS text)`, as PostgreSQL resolves the literal to bpchar; a text or varchar expression
// on the other side is compared as text against the stripped char value (PostgreSQL's
// implicit bpchar → text cast).

import BorealisStorage

extension ExpressionCompiler {
    static let comparisonOperators: Set<BinaryOperator> = [.equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual,
                                                           .isDistinctFrom, .isNotDistinctFrom]

    /// `value` blank-padded to `n` characters (cut to `n` when longer, as an explicit cast does).
    static func paddedCharacter(_ value: String, _ n: Int) -> String {
        let count = value.count
        if count == n { return value }
        if count > n { return String(value.prefix(n)) }
        return value + String(repeating: " ", count: n - count)
    }

    /// `value` without its trailing blanks (char → text).
    static func strippedCharacter(_ value: String) -> String {
        guard value.last == " " else { return value }
        var s = Substring(value)
        while s.last == " " { s.removeLast() }
        return String(s)
    }

    /// Whether `e` is of type char, judged without descending into it: a column, a parameter,
    /// a cast, or a call that returns its argument's type over a column. Deep expressions
    /// (`a || b || …` a thousand levels down) must not pay a walk per level: that was quadratic
    /// and overflowed a small stack (HostileSQLTests).
    func isCharacter(_ e: Expr) -> Bool {
        switch e {
        case .column, .parameter: return staticType(e) == .char
        case .cast(_, let type): return type.type == .char && !type.serial
        case .function(let name, let args, _, _) where Self.characterPreservingFunctions.contains(name) || name == "min" || name == "max":
            return args.contains { if case .column = $0 { return staticType($0) == .char } else { return false } }
        default: return false
        }
    }

    /// The operands of a comparison with bpchar semantics where one side is of type char.
    func comparedAsCharacter(_ op: BinaryOperator, _ l: Expr, _ r: Expr) -> (Expr, Expr) {
        guard Self.comparisonOperators.contains(op), isCharacter(l) || isCharacter(r) else { return (l, r) }
        let left = staticType(l), right = staticType(r)
        guard left == .char || right == .char, left?.isText ?? true, right?.isText ?? true else { return (l, r) }
        return (characterOperand(l, left), characterOperand(r, right))
    }

    /// One operand of a char comparison: a char value or a string literal without its
    /// trailing blanks; anything else as it is.
    func characterOperand(_ e: Expr, _ type: SQLType?) -> Expr {
        let text = TypeName(type: .text)
        if type == .char { return .cast(e, text) }
        if case .literal(.text) = e { return .cast(.cast(e, TypeName(type: .char)), text) }
        return e
    }

    /// Functions whose char arguments keep their blanks (PostgreSQL has bpchar versions of
    /// them, or they return their argument's type).
    static let characterPreservingFunctions: Set<String> = ["octet_length", "coalesce", "nullif", "greatest", "least", "pg_typeof",
                                                            // PostgreSQL's "any" arguments: the value as it prints.
                                                            "concat", "concat_ws", "format", "to_json", "to_jsonb", "json_build_array",
                                                            "jsonb_build_array", "json_build_object", "jsonb_build_object"]

    /// The arguments of a function call: a char argument without its trailing blanks, as
    /// PostgreSQL's implicit bpchar → text cast gives it to a text function (length() of a
    /// char(n) value counts no trailing blanks, upper() returns none).
    func characterArguments(_ name: String, _ args: [Expr]) -> [Expr] {
        guard !Self.characterPreservingFunctions.contains(name) else { return args }
        return args.map { isCharacter($0) ? .cast($0, TypeName(type: .text)) : $0 }
    }

    /// A cast of a char value to text or varchar, or of anything to char(n): nil for other casts.
    func compileCharacterCast(_ e: Expr, _ a: @escaping Evaluator, to type: TypeName) -> Evaluator? {
        let target = type.type
        let length = type.modifiers.first
        if target == .char {
            let fromCharacter = isCharacter(e)
            return { ctx in
                guard case .text(var s) = try a(ctx).cast(to: .text) else { return .null }
                if fromCharacter { s = Self.strippedCharacter(s) }
                guard let length else { return .text(s) }
                return .text(Self.paddedCharacter(s, length))
            }
        }
        guard target == .text || target == .varchar, isCharacter(e) else { return nil }
        return { ctx in
            guard case .text(let s) = try a(ctx) else { return try a(ctx).cast(to: target) }
            let stripped = Self.strippedCharacter(s)
            if let length { return .text(String(stripped.prefix(length))) }
            return .text(stripped)
        }
    }

    /// Whether `e` reads a char(n) column of `scope` (or of a scope outside it). Such a
    /// condition is not used to key an index probe or a hash join: stored values may lack the
    /// padding or carry blanks the comparison ignores, so only the compiled comparison, which
    /// strips them, decides.
    static func readsCharacterColumn(_ e: Expr, _ scope: Scope) -> Bool {
        var any = false
        var s: Scope? = scope
        while let current = s, !any {
            any = current.columns.contains { $0.padding != nil }
            s = current.parent
        }
        guard any else { return false }
        return Planner.columnReferences(e).contains { table, name in
            guard let (depth, index) = try? scope.resolve(table: table, name: name, markingRead: false) else { return false }
            return scope.column(depth: depth, index: index)?.padding != nil
        }
    }
}
