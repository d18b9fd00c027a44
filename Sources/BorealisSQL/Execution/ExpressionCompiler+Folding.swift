// Constant folding that PostgreSQL's planner does before anything runs and that Borealis does
// while compiling (ExpressionCompiler.swift folds whole constant expressions; this folds an
// operator by one literal operand). docs/sql.md describes what is folded and what is not yet.

extension ExpressionCompiler {
    /// What PostgreSQL's planner simplifies before anything runs, so that the other operand is
    /// never evaluated: a strict operator (arithmetic, comparison, LIKE, regular expressions)
    /// with a NULL operand is NULL, AND with FALSE is FALSE, OR with TRUE is TRUE. `x / 0 = NULL`
    /// returns no rows there, instead of failing with 22012. Both operands are compiled first,
    /// so their errors are still reported. Only a literal operand, or a cast of one, is looked
    /// at (`NULL`, `NULL::int`, `false`): asking whether any operand is constant would walk each
    /// operand's whole subtree again. A constant in either operand that failed to fold
    /// (`'abc'::int`, `('abc'::int)::bigint + 1`: `Planner.constantsLeftFailing` counted it)
    /// stops the folding, so that its error is raised as before.
    func foldedByLiteralOperand(_ op: BinaryOperator, _ l: Expr, _ a: Evaluator, _ r: Expr, _ b: Evaluator) -> Evaluator? {
        enum Operand { case literal(Value), other, failing }
        func operand(_ e: Expr, _ evaluator: Evaluator) -> Operand {
            switch e {
            case .literal(let v): return .literal(v)
            case .cast(.literal, _):
                let folding = ExecutionContext(parameters: [], txn: nil, catalog: nil)
                folding.frames = [[]]
                guard let value = try? evaluator(folding) else { return .failing }
                return .literal(value)
            default: return .other
            }
        }
        var operands: [Value] = []
        for side in [operand(l, a), operand(r, b)] {
            switch side {
            case .literal(let v): operands.append(v)
            case .other: break
            case .failing: return nil
            }
        }
        if operands.isEmpty { return nil }
        switch op {
        case .and:
            if operands.contains(where: { (try? $0.truth()) == .some(false) }) { return { _ in .boolean(false) } }
        case .or:
            if operands.contains(where: { (try? $0.truth()) == .some(true) }) { return { _ in .boolean(true) } }
        case .add, .subtract, .multiply, .divide, .modulo, .equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual,
             .like, .notLike, .ilike, .notIlike, .regexMatch, .regexMatchInsensitive, .regexNotMatch, .regexNotMatchInsensitive:
            if operands.contains(where: \.isNull) { return { _ in .null } }
        default:
            break
        }
        return nil
    }
}
