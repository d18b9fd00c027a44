// The FROM clause as operators (docs/query-engine.md §"Join planning"): each FROM item becomes
// a source; inner and cross joins, comma-separated or written `JOIN … ON`, are flattened into
// one set of sources plus conditions for the join planner (JoinPlanner.swift), while outer joins
// stay single sources planned here with their ON condition.

/// A FROM item, or the join of several, ready to produce rows.
import BorealisStorage

struct SourcePlan {
    var op: PhysicalOperator
    /// What expressions see, in the order of the operator's row values (a USING join's
    /// duplicate columns are hidden here).
    var columns: [ScopeColumn]
    /// Set for a base table: the join planner may give it an access path or probe it.
    var table: TableSchema?
    var alias = ""
    /// For a base table: the columns its query references (the others decode as NULL).
    var usage: ColumnUsage?
    /// For a base table: the WHERE conjuncts about it alone (already applied by `op`).
    var localConjuncts: [Expr] = []
    /// For an outer join: the same join with WHERE conjuncts about it alone applied, those
    /// about its preserved side pushed into that side.
    var restricting: (([Expr]) throws -> SourcePlan)?

    init(op: PhysicalOperator, columns: [ScopeColumn]) {
        self.op = op
        self.columns = columns
    }

    var estimatedRows: Double { op.estimatedRows }

    func open(_ ctx: ExecutionContext) throws -> RowStream { try op.stream(ctx) }
}

extension Planner {
    /// FROM items with a WHERE clause, as one source (UPDATE … FROM and DELETE … USING).
    func planSource(_ items: [FromItem], filter: Expr?, parent: Scope?) throws -> SourcePlan {
        try planFrom(items, conjuncts: filter.map(Planner.conjuncts) ?? [], parent: parent)
    }

    func planFrom(_ items: [FromItem], conjuncts: [Expr], parent: Scope?) throws -> SourcePlan {
        if items.isEmpty {
            let compiler = ExpressionCompiler(scope: Scope(columns: [], parent: parent), planner: self, aggregation: nil, clause: "WHERE")
            return SourcePlan(op: OneRowOperator(conditions: try conjuncts.map { try compiler.compile($0) }, conditionSQL: conjuncts.map(\.sql)),
                              columns: [])
        }
        var leaves: [SourcePlan] = []
        var pool = conjuncts
        var merges: [(name: String, left: Int, right: Int)] = []
        for item in items { try flatten(item, into: &leaves, conjuncts: &pool, merges: &merges, parent: parent) }
        var joins = JoinPlanner(planner: self, leaves: leaves, conjuncts: pool, parent: parent)
        var source = try joins.plan()
        if !merges.isEmpty {
            // The USING columns of inner joins, once each, first (as SELECT * shows them).
            source.op = UsingMergeOperator(input: source.op, kind: .inner, pairs: merges.map { ($0.left, $0.right) })
            source.columns = merges.map { ScopeColumn(table: nil, name: $0.name) } + source.columns
            source.table = nil
        }
        return source
    }

    /// Appends the item's sources: both sides of an inner or cross join (whose ON condition, or
    /// USING equalities, join the pool of conjuncts), anything else as one source.
    private func flatten(_ item: FromItem, into leaves: inout [SourcePlan], conjuncts: inout [Expr],
                         merges: inout [(name: String, left: Int, right: Int)], parent: Scope?) throws {
        guard case .join(let leftItem, let rightItem, let kind, let on, let using, let natural) = item, kind == .inner || kind == .cross else {
            if item.mayBeLateral, !leaves.isEmpty, let lateral = try lateralJoin(item, after: leaves, conjuncts: &conjuncts, parent: parent) {
                leaves = [lateral]
                return
            }
            leaves.append(try planFromItem(item, parent: parent))
            return
        }
        let first = leaves.count
        try flatten(leftItem, into: &leaves, conjuncts: &conjuncts, merges: &merges, parent: parent)
        let middle = leaves.count
        try flatten(rightItem, into: &leaves, conjuncts: &conjuncts, merges: &merges, parent: parent)
        var left = Array(leaves[first..<middle]), right = Array(leaves[middle...])
        let names = try Self.usingNames(using: using, natural: natural, leftColumns: left.flatMap(\.columns),
                                        rightColumns: right.flatMap(\.columns))
        let condition = try Self.usingCondition(on: on, using: using, natural: natural, left: &left, right: &right)
        // Each merged column is computed once, in front (its sides are equal in an inner join);
        // both sides' own columns are hidden from `*`.
        let leftStart = leaves[..<first].reduce(0) { $0 + $1.columns.count }
        let rightStart = leftStart + left.reduce(0) { $0 + $1.columns.count }
        for name in names where !merges.contains(where: { $0.name == name }) {
            let leftColumns = left.flatMap(\.columns), rightColumns = right.flatMap(\.columns)
            guard let l = leftColumns.lastIndex(where: { $0.name == name && !$0.hidden }) ?? leftColumns.lastIndex(where: { $0.name == name }),
                  let r = rightColumns.firstIndex(where: { $0.name == name }) else { continue }
            merges.append((name, leftStart + l, rightStart + r))
            var position = l
            for s in left.indices {
                if position < left[s].columns.count {
                    left[s].columns[position].hidden = true
                    break
                }
                position -= left[s].columns.count
            }
        }
        leaves.replaceSubrange(first..., with: left + right)
        guard let condition else { return }
        // Qualified against the join's own columns (and the enclosing query's), so that a name
        // means here what it means in the ON clause wherever the condition ends up: never a
        // column of a FROM item joined later.
        let scope = Scope(columns: (left + right).flatMap(\.columns), parent: parent)
        conjuncts += try Planner.conjuncts(condition).map { try Self.qualifyOn($0, scope: scope) }
    }

    /// A function in FROM whose arguments use columns of the items before it (PostgreSQL's
    /// implicit LATERAL: `FROM docs d, jsonb_array_elements(d.body->'tags') t`), or a
    /// subquery that does (`CROSS JOIN LATERAL (SELECT … t.x …) s`): those items are joined
    /// first, with the conjuncts about them alone, and the item runs once per joined row. Nil
    /// when it uses none of them (it is an ordinary source). A subquery is taken as LATERAL
    /// whether or not it says so: one that PostgreSQL would refuse (42P01) runs instead.
    private func lateralJoin(_ item: FromItem, after leaves: [SourcePlan], conjuncts: inout [Expr], parent: Scope?) throws -> SourcePlan? {
        let earlier = leaves.flatMap(\.columns)
        let probe = Scope(columns: earlier, parent: parent)
        _ = try planFromItem(item, parent: probe)
        guard probe.referencedFromInside else { return nil }
        // The conjuncts whose every column is one of the earlier items' (or an outer query's)
        // join them now; the rest wait for the joined row.
        var mine: [Expr] = [], rest: [Expr] = []
        for conjunct in conjuncts {
            let resolvable = try !Planner.containsSubquery(conjunct) && Planner.columnReferences(conjunct).allSatisfy { table, name in
                try Scope(columns: earlier, parent: parent).resolve(table: table, name: name, markingRead: false) != nil
            }
            if resolvable { mine.append(conjunct) } else { rest.append(conjunct) }
        }
        var joins = JoinPlanner(planner: self, leaves: leaves, conjuncts: mine, parent: parent)
        let left = try joins.plan()
        conjuncts = rest
        let scope = Scope(columns: left.columns, parent: parent)
        let right = try planFromItem(item, parent: scope)
        var joined = SourcePlan(op: LateralJoinOperator(left: left.op, right: right.op), columns: left.columns + right.columns)
        joined.alias = left.alias
        return joined
    }

    /// An ON conjunct with its columns qualified: the join's own by their FROM item, outer
    /// ones by their outer FROM item; a name that is neither fails, as in PostgreSQL.
    private static func qualifyOn(_ conjunct: Expr, scope: Scope) throws -> Expr {
        let local = try Planner.qualify(conjunct, scope: scope, columns: scope.columns)
        return try local.mappingColumns { table, name in
            if let (depth, _) = try scope.resolve(table: table, name: name, markingRead: false) {
                guard depth > 0 else { return .column(table: table, name: name) }
                var outer: Scope? = scope
                for _ in 0..<depth { outer = outer?.parent }
                let label = outer.flatMap { o in o.columns.first { $0.name == name && (table == nil || $0.table == table) }?.table }
                return .column(table: label ?? table, name: name)
            }
            if let table {
                throw DatabaseError(.error, sqlState: SQLState.undefinedTable, "invalid reference to FROM-clause entry for table \"\(table)\"")
            }
            throw DatabaseError(.error, sqlState: SQLState.undefinedColumn, "column \"\(name)\" does not exist")
        }
    }

    /// The names a USING or NATURAL join merges.
    private static func usingNames(using: [String], natural: Bool, leftColumns: [ScopeColumn], rightColumns: [ScopeColumn]) throws -> [String] {
        guard natural else { return using }
        let leftNames = Set(leftColumns.filter { !$0.hidden }.map(\.name))
        return rightColumns.filter { leftNames.contains($0.name) }.map(\.name)
    }

    /// The join condition of ON, USING or NATURAL; hides the right side's USING columns (the
    /// column is visible once, unqualified, from the left side).
    private static func usingCondition(on: Expr?, using: [String], natural: Bool, left: inout [SourcePlan], right: inout [SourcePlan]) throws -> Expr? {
        var names = using
        let leftColumns = left.flatMap(\.columns)
        if natural {
            let leftNames = Set(leftColumns.filter { !$0.hidden }.map(\.name))
            names = right.flatMap(\.columns).filter { !$0.hidden && leftNames.contains($0.name) }.map(\.name)
        }
        guard !names.isEmpty else { return on }
        var equalities: [Expr] = []
        for name in names {
            guard let l = leftColumns.lastIndex(where: { $0.name == name && !$0.hidden }) ?? leftColumns.lastIndex(where: { $0.name == name }),
                  let r = right.flatMap(\.columns).firstIndex(where: { $0.name == name && !$0.hidden })
                    ?? right.flatMap(\.columns).firstIndex(where: { $0.name == name }) else {
                throw DatabaseError(.error, sqlState: SQLState.undefinedColumn, "column \"\(name)\" specified in USING clause does not exist in both tables")
            }
            let rightColumn = right.flatMap(\.columns)[r]
            equalities.append(.binary(.equal, .column(table: leftColumns[l].table, name: name), .column(table: rightColumn.table, name: name)))
        }
        for s in right.indices {
            for c in right[s].columns.indices where names.contains(right[s].columns[c].name) { right[s].columns[c].hidden = true }
        }
        return equalities.dropFirst().reduce(equalities[0]) { .binary(.and, $0, $1) }
    }

    func planFromItem(_ item: FromItem, parent: Scope?) throws -> SourcePlan {
        switch item {
        case .table(let name, let alias):
            let label = alias ?? name
            if let binding = cteBinding(name) {
                let columns = zip(binding.columns, binding.plan.declaredTypes).map { ScopeColumn(table: label, name: $0, type: $1) }
                return SourcePlan(op: SubqueryScanOperator(label: "CTE Scan on \(name)" + (label == name ? "" : " \(label)"), columns: columns,
                                                           plan: binding.plan), columns: columns)
            }
            if let names = InformationSchema.columns(name) {
                let label = alias ?? String(name.dropFirst("information_schema.".count))
                let columns = names.map { ScopeColumn(table: label, name: $0, type: Self.informationSchemaType($0)) }
                return SourcePlan(op: CatalogViewOperator(name: name, columns: columns, catalog: catalog), columns: columns)
            }
            if catalog.tables[name] == nil, catalog.views[name] == nil, let definition = PgCatalog.columns(name) {
                let columns = definition.map { ScopeColumn(table: label, name: $0.name, type: $0.type) }
                return SourcePlan(op: CatalogViewOperator(name: name, columns: columns, catalog: catalog), columns: columns)
            }
            if let view = catalog.views[name] {
                if view.temporary == true { readsTemporary = true }
                guard case .select(let query)? = try Parser.parseAll(view.sql).first?.0 else {
                    throw DatabaseError.corrupt("view \(name) has an unparsable definition")
                }
                // A view over a view…: each is planned inside the other (54001 past the limit).
                viewDepth += 1
                defer { viewDepth -= 1 }
                if viewDepth > Limits.maxNestingDepth { throw Limits.tooComplex() }
                var plan = try self.plan(query, parent: nil)
                if !view.columns.isEmpty && plan.columns.count > view.columns.count {
                    // A `*` of the view reads columns added since: PostgreSQL expanded it when
                    // the view was created, so the view keeps its first columns only.
                    let inner = plan.columns.indices.map { "\u{1}c\($0)" }
                    var core = SelectCore()
                    core.items = view.columns.indices.map { .expression(.column(table: "\u{1}v", name: inner[$0]), alias: view.columns[$0]) }
                    core.from = [.subquery(query, alias: "\u{1}v", columns: inner)]
                    plan = try self.plan(SelectStatement(body: .core(core)), parent: nil)
                }
                let names = view.columns.isEmpty ? plan.columns : view.columns
                let columns = zip(names, plan.declaredTypes).map { ScopeColumn(table: label, name: $0, type: $1) }
                return SourcePlan(op: SubqueryScanOperator(label: "View Scan on \(name)" + (label == name ? "" : " \(label)"), columns: columns,
                                                           plan: plan), columns: columns)
            }
            if let sequence = catalog.sequences[name] {
                // SELECT * FROM a sequence: its one row (Sequences.swift).
                let plan = try self.plan(try Sequences.relationQuery(sequence), parent: nil)
                let columns = zip(plan.columns, plan.declaredTypes).map { ScopeColumn(table: label, name: $0, type: $1) }
                return SourcePlan(op: SubqueryScanOperator(label: "Seq Scan on \(name)", columns: columns, plan: plan), columns: columns)
            }
            let table = try catalog.table(name)
            if table.isTemporary { readsTemporary = true }
            let usage = ColumnUsage(columns: table.columns.count)
            let columns = table.columns.enumerated().map { i, column in
                var c = ScopeColumn(table: label, name: column.name, type: column.type)
                if column.type == .char, let n = column.modifiers.first { c.padding = n }
                c.usage = usage
                c.ordinal = i
                return c
            }
            let scan = ScanOperator(table: table, alias: label, columns: columns,
                                    path: AccessPath(kind: .fullScan, description: "full scan of \(name)"),
                                    usage: usage, estimatedRows: statistics.rowCount(table))
            var source = SourcePlan(op: scan, columns: columns)
            source.table = table
            source.alias = label
            source.usage = usage
            return source
        case .subquery(let query, let alias, let names):
            let plan = try self.plan(query, parent: parent)
            guard names.count <= plan.columns.count else {
                throw DatabaseError(.error, sqlState: SQLState.invalidColumnReference, "table \"\(alias)\" has \(plan.columns.count) columns available but \(names.count) columns specified")
            }
            let columns = zip(names + plan.columns.dropFirst(names.count), plan.declaredTypes).map { ScopeColumn(table: alias, name: $0, type: $1) }
            return SourcePlan(op: SubqueryScanOperator(label: "Subquery Scan on \(alias)", columns: columns, plan: plan), columns: columns)
        case .function(let name, let args, let alias, let names, let ordinality):
            return try planFunctionScan(name, args, alias: alias, names: names, ordinality: ordinality, parent: parent)
        case .join(let leftItem, let rightItem, let kind, let on, let using, let natural):
            if kind == .inner || kind == .cross { return try planFrom([item], conjuncts: [], parent: parent) }
            var source = try planOuterJoin(leftItem, rightItem, kind: kind, on: on, using: using, natural: natural, conjuncts: [], parent: parent)
            source.restricting = { [unowned self] conjuncts in
                try self.planOuterJoin(leftItem, rightItem, kind: kind, on: on, using: using, natural: natural, conjuncts: conjuncts, parent: parent)
            }
            return source
        }
    }

    /// LEFT, RIGHT and FULL joins: the two sides planned on their own (a LEFT join's ON
    /// conjuncts about its right side alone filter that side before the join), joined by an
    /// index nested loop, a hash join on the ON equalities, or a nested loop. `conjuncts` are
    /// WHERE conjuncts about the join alone: those about its preserved side alone filter that
    /// side, the others the joined rows.
    private func planOuterJoin(_ leftItem: FromItem, _ rightItem: FromItem, kind: JoinKind, on: Expr?, using: [String], natural: Bool,
                               conjuncts: [Expr], parent: Scope?) throws -> SourcePlan {
        if kind == .left, rightItem.mayBeLateral, using.isEmpty, !natural,
           let lateral = try leftLateralJoin(leftItem, rightItem, on: on, conjuncts: conjuncts, parent: parent) {
            return lateral
        }
        var above = conjuncts
        var pushed: [[Expr]] = [[], []]
        if !conjuncts.isEmpty && kind != .full {
            var sides = ([try planFrom([leftItem], conjuncts: [], parent: parent)], [try planFrom([rightItem], conjuncts: [], parent: parent)])
            // With the right side's USING columns hidden, as the conjuncts see them.
            _ = try Self.usingCondition(on: on, using: using, natural: natural, left: &sides.0, right: &sides.1)
            let scope = Scope(columns: sides.0[0].columns + sides.1[0].columns, parent: parent)
            let preserved = kind == .left ? 0 : 1
            for conjunct in conjuncts where !Planner.containsSubquery(conjunct) {
                let items = try Planner.referencedItems(conjunct, scope, [0, sides.0[0].columns.count])
                if items == [preserved] { pushed[preserved].append(conjunct) }
            }
            above.removeAll { e in pushed[preserved].contains { $0.sql == e.sql } }
        }
        var left = [try planFrom([leftItem], conjuncts: pushed[0], parent: parent)]
        var right = [try planFrom([rightItem], conjuncts: pushed[1], parent: parent)]
        let condition = try Self.usingCondition(on: on, using: using, natural: natural, left: &left, right: &right)
        let leftColumns = left[0].columns, rightColumns = right[0].columns
        let joinScope = Scope(columns: leftColumns + rightColumns, parent: parent)
        let offsets = [0, leftColumns.count]
        var rest = try (condition.map(Planner.conjuncts) ?? []).map { try Planner.qualify($0, scope: joinScope, columns: joinScope.columns) }
        if kind == .left {
            let rightOnly = try rest.filter { try !Planner.containsSubquery($0) && Planner.referencedItems($0, joinScope, offsets) == [1] }
            if !rightOnly.isEmpty {
                rest.removeAll { e in rightOnly.contains { $0.sql == e.sql } }
                var replanned = try planFrom([rightItem], conjuncts: rightOnly, parent: parent)
                // Keeps the USING columns hidden (the new source's columns carry its own usage).
                for c in replanned.columns.indices where c < rightColumns.count { replanned.columns[c].hidden = rightColumns[c].hidden }
                replanned.localConjuncts = rightOnly
                right[0] = replanned
            }
        }
        let l = left[0], r = right[0]
        let scope = Scope(columns: leftColumns + r.columns, parent: parent)
        let joined = JoinPlanner.Step(left: l.op, leftColumns: leftColumns, right: r, conditions: rest, kind: kind,
                                      leftMembers: [0], rightMember: 1, scope: scope, offsets: offsets)
        // Every left row (LEFT, FULL) or right row (RIGHT, FULL) at least once.
        var estimate = JoinPlanner.equalityJoinEstimate(l.estimatedRows, r.estimatedRows)
        if kind != .right { estimate = max(estimate, l.estimatedRows) }
        if kind != .left { estimate = max(estimate, r.estimatedRows) }
        var op = try JoinPlanner.join(joined, planner: self, parent: parent, estimatedRows: estimate)
        var columns = leftColumns + r.columns
        let names = try Self.usingNames(using: using, natural: natural, leftColumns: leftColumns, rightColumns: r.columns)
        if !names.isEmpty {
            // The USING columns, merged, come first (as SELECT * shows them): the left side's
            // value in a LEFT join, the right side's in a RIGHT join, the first not NULL in a FULL
            // one. Each side's own column stays reachable by its qualified name.
            var pairs: [(Int, Int)] = []
            for name in names {
                guard let l = leftColumns.lastIndex(where: { $0.name == name && !$0.hidden }),
                      let rc = r.columns.firstIndex(where: { $0.name == name }) else { continue }
                pairs.append((l, leftColumns.count + rc))
            }
            op = UsingMergeOperator(input: op, kind: kind, pairs: pairs)
            for (l, _) in pairs { columns[l].hidden = true }
            columns = names.map { ScopeColumn(table: nil, name: $0) } + columns
        }
        if !above.isEmpty {
            let whereScope = Scope(columns: columns, parent: parent)
            let compiler = ExpressionCompiler(scope: whereScope, planner: self, aggregation: nil, clause: "WHERE")
            op = FilterOperator(input: op, conditions: try above.map { try compiler.compile($0) }, conditionSQL: above.map(\.sql),
                                estimatedRows: JoinPlanner.estimate(op.estimatedRows, above, table: nil, scope: whereScope))
        }
        return SourcePlan(op: op, columns: columns)
    }

    /// `LEFT JOIN LATERAL (…) s ON …` (or a set-returning function): the right side runs once
    /// per left row, and a left row it gives no row meeting ON for comes once with NULLs. Nil
    /// when the right side reads nothing of the left (an ordinary LEFT join).
    private func leftLateralJoin(_ leftItem: FromItem, _ rightItem: FromItem, on: Expr?, conjuncts: [Expr], parent: Scope?) throws -> SourcePlan? {
        let left = try planFrom([leftItem], conjuncts: [], parent: parent)
        let probe = Scope(columns: left.columns, parent: parent)
        let right = try planFromItem(rightItem, parent: probe)
        guard probe.referencedFromInside else { return nil }
        let columns = left.columns + right.columns
        let scope = Scope(columns: columns, parent: parent)
        let onCompiler = ExpressionCompiler(scope: scope, planner: self, aggregation: nil, clause: "JOIN/ON")
        let conditions = try (on.map(Planner.conjuncts) ?? []).map { try onCompiler.compile($0) }
        var op: PhysicalOperator = LateralJoinOperator(left: left.op, right: right.op, preservingLeft: true, conditions: conditions)
        if !conjuncts.isEmpty {
            let compiler = ExpressionCompiler(scope: scope, planner: self, aggregation: nil, clause: "WHERE")
            op = FilterOperator(input: op, conditions: try conjuncts.map { try compiler.compile($0) }, conditionSQL: conjuncts.map(\.sql),
                                estimatedRows: JoinPlanner.estimate(op.estimatedRows, conjuncts, table: nil, scope: scope))
        }
        return SourcePlan(op: op, columns: columns)
    }

    // MARK: Expression analysis for joins

    /// `e` with the qualifiers of its columns that `scope` holds at depth 0 removed (as an
    /// expression index's stored SQL is written).
    static func removingQualifiers(_ e: Expr, scope: Scope) throws -> Expr {
        try e.mappingColumns { table, name in
            guard table != nil, let (depth, _) = try scope.resolve(table: table, name: name, markingRead: false), depth == 0 else {
                return .column(table: table, name: name)
            }
            return .column(table: nil, name: name)
        }
    }

    static func conjuncts(_ e: Expr) -> [Expr] {
        if case .binary(.and, let a, let b) = e { return conjuncts(a) + conjuncts(b) }
        return [e]
    }

    /// The FROM items (by position) whose columns `e` uses.
    static func referencedItems(_ e: Expr, _ scope: Scope, _ offsets: [Int]) throws -> Set<Int> {
        var items = Set<Int>()
        for (table, name) in columnReferences(e) {
            guard let (depth, index) = try scope.resolve(table: table, name: name, markingRead: false), depth == 0 else { continue }
            items.insert(offsets.lastIndex(where: { $0 <= index }) ?? 0)
        }
        return items
    }
}

extension Planner {
    /// The static type of an information_schema column: its counts are integers, the rest text
    /// (PostgreSQL's domains over them: cardinal_number, sql_identifier, character_data, yes_or_no).
    static func informationSchemaType(_ column: String) -> SQLType {
        ["ordinal_position", "character_maximum_length", "character_octet_length", "numeric_precision", "numeric_precision_radix",
         "numeric_scale", "datetime_precision", "interval_precision", "maximum_cardinality", "position_in_unique_constraint"]
            .contains(column) ? .integer : .text
    }
}

extension FromItem {
    /// A set-returning function or a subquery: a FROM item that may read the items before it.
    var mayBeLateral: Bool {
        switch self {
        case .function, .subquery: return true
        default: return false
        }
    }
}
