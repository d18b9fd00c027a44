// The grammar-aware half of `fuzz-sql`: builds valid-looking statements from an input's bytes,
// so that mutations reach the planner and executor instead of the parser's first error. Names
// are the fuzz database's (SQLFuzzer.schema), functions come from the registry with their
// arities, and integers come often from the edges (0, ±1, ±2^31, ±2^63, lengths near Int32.max).

import BorealisSQL

struct SQLGenerator {
    private var input: FuzzInput
    private var depth = 0
    private static let maxDepth = 6

    init(_ input: FuzzInput) { self.input = input }

    /// One to four statements separated by semicolons.
    mutating func script() -> String {
        var statements: [String] = []
        repeat {
            statements.append(statement())
        } while statements.count < 4 && !input.isExhausted && input.chance(2)
        return statements.joined(separator: ";\n")
    }

    // MARK: Names

    private struct Table {
        let name: String
        let columns: [String]
        let writable: [String]
    }

    private static let tables = [
        Table(name: "t", columns: ["id", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o"],
              writable: ["id", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o"]),
        Table(name: "u", columns: ["id", "t_id", "v", "w", "x"], writable: ["t_id", "v", "w", "x"]),
        Table(name: "p", columns: ["id", "parent", "name", "tags", "doc", "total"], writable: ["parent", "name", "tags", "doc"]),
        Table(name: "tv", columns: ["a", "n", "s"], writable: []),
    ]

    private static let types = [
        "int2", "int4", "int8", "numeric", "numeric(5,2)", "numeric(38,0)", "float4", "float8", "text", "varchar(3)",
        "char(2)", "date", "timestamp", "timestamptz", "time", "interval", "boolean", "bytea", "json", "jsonb", "uuid",
        "int[]", "text[]", "numeric[]", "regclass", "oid", "\"char\"", "name",
    ]

    private static let literals = [
        "NULL", "true", "false", "''", "'abc'", "'ABC def'", "'%'", "'_x\\\\'", "' 12 '", "'NaN'", "'-Infinity'",
        "'infinity'", "0.5", "-0.0", "1e308", "1e-320", "123456789012345678901234567890.123456789",
        "99999999999999999999999999999999999999", "'2020-02-29'", "'epoch'", "'0001-01-01 BC'", "'294276-12-31'",
        "'1 day 2 hours'", "'-178000000 years'", "'{1,2,NULL}'", "'{}'", "'{\"a\": [1, {\"b\": null}]}'", "'[1, 2, 3]'",
        "'\\x00ff'", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", "'t'", "'10:30:00'", "'{{1,2},{3,4}}'", "'[1:2]={5,6}'",
        "E'\\\\x41'", "U&'\\0041'", "'\u{00e9}\u{4e2d}\u{1F600}'", "'.*'", "'(a|b)+$'", "'[[:alpha:]]'", "'('",
    ]

    private static let operators = [
        "+", "-", "*", "/", "%", "||", "=", "<>", "<", "<=", ">", ">=", "AND", "OR", "~", "~*", "!~", "LIKE", "ILIKE",
        "@>", "<@", "&&", "->", "->>", "#>", "#>>", "?", "IS DISTINCT FROM", "^", "&", "|", "#", "<<", ">>",
    ]

    private static let aggregates = [
        "count", "sum", "avg", "min", "max", "string_agg", "array_agg", "bool_and", "bool_or", "every", "json_agg",
        "jsonb_agg", "stddev", "variance", "var_pop", "bit_and", "bit_or", "jsonb_object_agg", "corr", "regr_slope",
    ]

    private static let windows = [
        "row_number()", "rank()", "dense_rank()", "percent_rank()", "cume_dist()", "ntile(%)", "lag(%, %)",
        "lead(%, %, %)", "first_value(%)", "last_value(%)", "nth_value(%, %)",
    ]

    private static let tableFunctions = [
        "generate_series(%, %)", "generate_series(%, %, %)", "unnest(%)", "jsonb_each(%)", "json_array_elements(%)",
        "regexp_split_to_table(%, %)", "jsonb_array_elements_text(%)", "string_to_table(%, %)",
        "generate_subscripts(%, 1)", "jsonb_to_record(%) AS r(a int, b text)",
    ]

    private static let functions = FunctionRegistry.signatures

    // MARK: Statements

    private mutating func statement() -> String {
        // Half typed (most bind and run), half from the whole grammar and registry (most fail early).
        if input.chance(2) { return typedStatement() }
        switch input.below(16) {
        case 0, 1, 2, 3, 4, 5: return select()
        case 6: return "INSERT INTO \(insertTarget())"
        case 7:
            let table = input.pick(Array(Self.tables.prefix(3)))
            return "UPDATE \(table.name) SET \(input.pick(table.writable)) = \(expression(table)) WHERE \(expression(table))"
                + (input.chance(2) ? " RETURNING *" : "")
        case 8:
            let table = input.pick(Array(Self.tables.prefix(3)))
            return "DELETE FROM \(table.name) WHERE \(expression(table))" + (input.chance(2) ? " RETURNING \(expression(table))" : "")
        case 9:
            return "WITH RECURSIVE r(x) AS (SELECT \(literal()) UNION\(input.chance(2) ? " ALL" : "") SELECT x + 1 FROM r WHERE x < \(input.edgeInteger())) "
                + "SELECT \(input.pick(Self.aggregates))(x) FROM r"
        case 10: return "\(select()) \(input.pick(["UNION", "UNION ALL", "INTERSECT", "EXCEPT ALL", "EXCEPT"])) \(select())"
        case 11: return alter()
        case 12:
            let table = input.pick(Array(Self.tables.prefix(3)))
            return "CREATE \(input.chance(2) ? "UNIQUE " : "")INDEX ON \(table.name) (\(expression(table)))"
                + (input.chance(2) ? " WHERE \(expression(table))" : "")
        case 13: return "EXPLAIN \(input.chance(2) ? "ANALYZE " : "")\(select())"
        case 14: return "SELECT * FROM \(input.pick(Self.tableFunctions).replacingPercent { expression(nil) }) AS f"
        default:
            return "VALUES (\(expression(nil)), \(expression(nil))), (\(expression(nil)), \(expression(nil)))"
        }
    }

    private mutating func select() -> String {
        guard input.below(5) != 0 else { return "SELECT \(expression(nil)), \(expression(nil))" }
        let table = input.pick(Self.tables)
        var from = "\(table.name)"
        if input.chance(3) {
            let other = input.pick(Self.tables)
            from += " \(input.pick(["JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN"])) \(other.name) AS o ON \(expression(table)) = o.\(input.pick(other.columns))"
        }
        var sql = "SELECT \(input.chance(5) ? "DISTINCT " : "")"
        let grouped = input.chance(3)
        var items: [String] = []
        for _ in 0...input.below(3) {
            switch input.below(4) {
            case 0 where !grouped: items.append(window(table))
            case 1: items.append("\(input.pick(Self.aggregates))(\(input.chance(4) ? "DISTINCT " : "")\(expression(table)))")
            default: items.append(grouped ? input.pick(table.columns) : expression(table))
            }
        }
        sql += items.joined(separator: ", ") + " FROM \(from)"
        if input.chance(2) { sql += " WHERE \(expression(table))" }
        if grouped {
            sql += " GROUP BY \(items.indices.map { "\($0 + 1)" }.prefix(1).joined()), \(input.pick(table.columns))"
            if input.chance(2) { sql += " HAVING count(*) > \(input.edgeInteger())" }
        }
        if input.chance(2) { sql += " ORDER BY \(input.below(items.count) + 1)\(input.chance(2) ? " DESC" : "")" }
        if input.chance(3) { sql += " LIMIT \(input.edgeInteger())" }
        if input.chance(5) { sql += " OFFSET \(input.edgeInteger())" }
        return sql
    }

    private mutating func window(_ table: Table) -> String {
        let call = input.pick(Self.windows).replacingPercent { input.chance(2) ? "\(input.edgeInteger())" : input.pick(table.columns) }
        var spec = "PARTITION BY \(input.pick(table.columns)) ORDER BY \(input.pick(table.columns))"
        if input.chance(2) {
            let bound = { (input: inout FuzzInput) -> String in
                input.pick(["UNBOUNDED PRECEDING", "CURRENT ROW", "UNBOUNDED FOLLOWING", "\(input.edgeInteger()) PRECEDING",
                            "\(input.edgeInteger()) FOLLOWING"])
            }
            spec += " \(input.pick(["ROWS", "RANGE", "GROUPS"])) BETWEEN \(bound(&input)) AND \(bound(&input))"
        }
        return "\(call) OVER (\(spec))"
    }

    private mutating func insertTarget() -> String {
        let table = input.pick(Array(Self.tables.prefix(3)))
        let count = 1 + input.below(table.writable.count)
        let columns = Array(table.writable.prefix(count))
        var sql = "\(table.name) (\(columns.joined(separator: ", "))) "
        if input.chance(3) {
            sql += "SELECT \(columns.map { _ in expression(table) }.joined(separator: ", ")) FROM \(table.name)"
        } else {
            sql += "VALUES (\(columns.map { _ in expression(nil) }.joined(separator: ", ")))"
        }
        if input.chance(3) {
            sql += " ON CONFLICT \(input.chance(2) ? "DO NOTHING" : "(id) DO UPDATE SET \(input.pick(table.writable)) = excluded.\(input.pick(table.writable))")"
        }
        if input.chance(2) { sql += " RETURNING *" }
        return sql
    }

    private mutating func alter() -> String {
        let table = input.pick(Array(Self.tables.prefix(3)))
        let column = input.pick(table.columns)
        switch input.below(7) {
        case 0: return "ALTER TABLE \(table.name) ADD COLUMN z \(input.pick(Self.types)) DEFAULT \(expression(nil))"
        case 1: return "ALTER TABLE \(table.name) ALTER COLUMN \(column) TYPE \(input.pick(Self.types)) USING \(expression(table))"
        case 2: return "ALTER TABLE \(table.name) ADD CONSTRAINT k CHECK (\(expression(table)))"
        case 3: return "ALTER TABLE \(table.name) DROP COLUMN \(column)\(input.chance(2) ? " CASCADE" : "")"
        case 4: return "ALTER TABLE \(table.name) ALTER COLUMN \(column) SET DEFAULT \(expression(nil))"
        case 5: return "ALTER TABLE \(table.name) RENAME COLUMN \(column) TO renamed"
        default: return "CREATE TABLE x AS SELECT \(expression(table)) AS y FROM \(table.name)"
        }
    }


    // MARK: Typed expressions

    /// The types the typed generator builds expressions of, with the fuzz table's columns of each.
    enum Kind: CaseIterable {
        case int, bigint, numeric, float, text, bool, date, timestamp, interval, jsonb, intArray, bytea

        var columns: [String] {
            switch self {
            case .int: return ["id", "a"]
            case .bigint: return ["b"]
            case .numeric: return ["d"]
            case .float: return ["e"]
            case .text: return ["c", "m", "o"]
            case .bool: return ["i"]
            case .date: return ["f"]
            case .timestamp: return ["g"]
            case .interval: return ["h"]
            case .jsonb: return ["j"]
            case .intArray: return ["k"]
            case .bytea: return ["l"]
            }
        }
    }

    private mutating func int() -> String { "\(input.edgeInteger())" }

    private mutating func typedLiteral(_ kind: Kind) -> String {
        switch kind {
        case .int, .bigint: return int()
        case .numeric: return input.pick(["0.5", "-1.25", "99999999999999999999999999999999999999", "1e-30", "'NaN'::numeric", "123.456", "\(input.edgeInteger()).\(input.below(1000))"])
        case .float: return input.pick(["1e308", "-1e308", "5e-324", "'NaN'::float8", "'Infinity'::float8", "0.1", "-0.0", "\(input.edgeInteger())::float8"])
        case .text: return input.pick(["''", "'abc'", "'x,y,,z'", "' 12 '", "'héllo'", "'%_\\\\'", "'YYYY-MM-DD HH24:MI:SS'", "'9999999999'", "'(a)(b)?'", "'{1,2}'", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'"])
        case .bool: return input.pick(["true", "false", "NULL::boolean"])
        case .date: return input.pick(["DATE '2020-02-29'", "DATE '4713-01-01 BC'", "DATE '5874897-12-31'", "'infinity'::date", "'-infinity'::date", "DATE 'epoch'"])
        case .timestamp: return input.pick(["TIMESTAMP '2020-02-29 23:59:59.999999'", "TIMESTAMP '294276-12-31 23:59:59'", "TIMESTAMP '4713-01-01 00:00:00 BC'", "'infinity'::timestamp"])
        case .interval: return input.pick(["INTERVAL '1 day'", "INTERVAL '-178000000 years'", "INTERVAL '2147483647 days'", "INTERVAL '1 month -1 microsecond'", "INTERVAL '9223372036854 seconds'", "make_interval(days => \(int()))"])
        case .jsonb: return input.pick(["'{}'::jsonb", "'[1, [2, [3]]]'::jsonb", "'{\"g\": 1e400}'::jsonb", "'null'::jsonb", "'\"x\"'::jsonb", "'{\"a\": {\"b\": [true, null]}}'::jsonb"])
        case .intArray: return input.pick(["'{}'::int[]", "ARRAY[1, NULL, 3]", "'{{1,2},{3,4}}'::int[]", "'[-5:-3]={1,2,3}'::int[]", "ARRAY[\(int()), \(int())]"])
        case .bytea: return input.pick(["'\\x'::bytea", "'\\x00ff10'::bytea", "'abc'::bytea"])
        }
    }

    /// An expression of `kind` over the columns of t (when `withColumns`), valid for the binder
    /// far more often than not, so that mutations reach evaluation with edge values.
    private mutating func typed(_ kind: Kind, _ withColumns: Bool = true) -> String {
        depth += 1
        defer { depth -= 1 }
        if depth > Self.maxDepth || input.chance(3) {
            return withColumns && input.chance(2) ? input.pick(kind.columns) : typedLiteral(kind)
        }
        func e(_ k: Kind) -> String { typed(k, withColumns) }
        switch kind {
        case .int, .bigint:
            let k: Kind = kind
            return input.pick([
                "(\(e(k)) \(input.pick(["+", "-", "*", "/", "%", "&", "|", "<<", ">>"])) \(e(k)))", "abs(\(e(k)))", "-\(e(k))",
                "length(\(e(.text)))", "strpos(\(e(.text)), \(e(.text)))", "array_length(\(e(.intArray)), \(e(.int)))",
                "(\(e(.date)) - \(e(.date)))", "extract(\(input.pick(["year", "epoch", "dow", "julian", "microseconds", "century"])) FROM \(e(.timestamp)))::\(k == .int ? "int" : "bigint")",
                "\(e(.numeric))::\(k == .int ? "int" : "bigint")", "\(e(.float))::\(k == .int ? "int4" : "int8")", "\(e(.text))::int",
                "\(e(.intArray))[\(e(.int))]", "width_bucket(\(e(.float)), \(e(.float)), \(e(.float)), \(e(.int)))", "get_byte(\(e(.bytea)), \(e(.int)))",
                "ascii(\(e(.text)))", "gcd(\(e(k)), \(e(k)))", "lcm(\(e(k)), \(e(k)))", "factorial(\(e(.int)))::bigint", "div(\(e(.numeric)), \(e(.numeric)))::bigint",
                "array_position(\(e(.intArray)), \(e(.int)))", "(\(e(.jsonb)) ->> \(e(.int)))::int", "jsonb_array_length(\(e(.jsonb)))",
            ])
        case .numeric:
            return input.pick([
                "(\(e(.numeric)) \(input.pick(["+", "-", "*", "/", "%", "^"])) \(e(.numeric)))", "round(\(e(.numeric)), \(e(.int)))",
                "trunc(\(e(.numeric)), \(e(.int)))", "power(\(e(.numeric)), \(e(.numeric)))", "sqrt(\(e(.numeric)))", "exp(\(e(.numeric)))",
                "ln(\(e(.numeric)))", "log(\(e(.numeric)), \(e(.numeric)))", "mod(\(e(.numeric)), \(e(.numeric)))", "\(e(.bigint))::numeric",
                "\(e(.float))::numeric", "\(e(.text))::numeric", "scale(\(e(.numeric)))::numeric", "\(e(.numeric))::numeric(\(input.below(40)), \(input.below(40)))",
                "to_number(\(e(.text)), \(e(.text)))", "extract(epoch FROM \(e(.interval)))", "sum(\(e(.numeric))) OVER ()", "factorial(\(e(.int)))",
            ])
        case .float:
            return input.pick([
                "(\(e(.float)) \(input.pick(["+", "-", "*", "/", "^"])) \(e(.float)))", "power(\(e(.float)), \(e(.float)))", "exp(\(e(.float)))",
                "ln(\(e(.float)))", "sqrt(\(e(.float)))", "\(e(.bigint))::float8", "\(e(.numeric))::float8", "\(e(.text))::float4",
                "cbrt(\(e(.float)))", "atan2(\(e(.float)), \(e(.float)))", "random()", "date_part('epoch', \(e(.timestamp)))",
            ])
        case .text:
            return input.pick([
                "(\(e(.text)) || \(e(input.pick(Kind.allCases))))", "substr(\(e(.text)), \(e(.int)), \(e(.int)))", "lpad(\(e(.text)), \(e(.int)) % 100000, \(e(.text)))",
                "repeat(\(e(.text)), \(e(.int)) % 10000)", "upper(\(e(.text)))", "replace(\(e(.text)), \(e(.text)), \(e(.text)))",
                "split_part(\(e(.text)), \(e(.text)), \(e(.int)))", "to_char(\(e(.timestamp)), \(e(.text)))", "to_char(\(e(.numeric)), \(e(.text)))",
                "regexp_replace(\(e(.text)), \(e(.text)), \(e(.text)), 'g')", "format('%s|%I|%L|%3$s', \(e(.text)), \(e(.text)), \(e(.int)))",
                "left(\(e(.text)), \(e(.int)))", "right(\(e(.text)), \(e(.int)))", "overlay(\(e(.text)) PLACING \(e(.text)) FROM \(e(.int)) FOR \(e(.int)))",
                "translate(\(e(.text)), \(e(.text)), \(e(.text)))", "chr(\(e(.int)))", "to_hex(\(e(.bigint)))", "\(e(.jsonb)) ->> \(e(.text))",
                "array_to_string(\(e(.intArray)), \(e(.text)))", "md5(\(e(.text)))", "encode(\(e(.bytea)), \(input.pick(["'hex'", "'base64'", "'escape'"])))",
                "\(e(input.pick(Kind.allCases)))::text", "substring(\(e(.text)) FROM \(e(.int)) FOR \(e(.int)))", "initcap(\(e(.text)))", "reverse(\(e(.text)))",
                "string_agg(\(e(.text)), \(e(.text))) OVER ()", "to_char(\(e(.interval)), \(e(.text)))", "quote_literal(\(e(.text)))",
            ])
        case .bool:
            let k = input.pick(Kind.allCases)
            return input.pick([
                "(\(e(k)) \(input.pick(["=", "<>", "<", ">=", "IS DISTINCT FROM"])) \(e(k)))", "(\(e(.bool)) \(input.pick(["AND", "OR"])) \(e(.bool)))",
                "NOT \(e(.bool))", "\(e(.text)) LIKE \(e(.text))", "\(e(.text)) ~ \(e(.text))", "\(e(k)) IS NULL", "\(e(.int)) IN (\(e(.int)), \(e(.int)))",
                "\(e(.int)) BETWEEN \(e(.int)) AND \(e(.int))", "\(e(.jsonb)) @> \(e(.jsonb))", "\(e(.intArray)) && \(e(.intArray))", "isfinite(\(e(.date)))",
                "\(e(.int)) = ANY(\(e(.intArray)))", "EXISTS (SELECT 1 FROM u WHERE u.w = \(e(.int)))", "\(e(.jsonb)) ? \(e(.text))",
            ])
        case .date:
            return input.pick([
                "(\(e(.date)) + \(e(.int)))", "(\(e(.date)) - \(e(.int)))", "make_date(\(e(.int)), \(e(.int)), \(e(.int)))", "to_date(\(e(.text)), \(e(.text)))",
                "date_trunc(\(input.pick(["'month'", "'week'", "'millennium'"])), \(e(.timestamp)))::date", "\(e(.text))::date", "\(e(.timestamp))::date",
            ])
        case .timestamp:
            return input.pick([
                "(\(e(.timestamp)) + \(e(.interval)))", "(\(e(.date)) + \(e(.interval)))", "make_timestamp(\(e(.int)), \(e(.int)), \(e(.int)), \(e(.int)), \(e(.int)), \(e(.float)))",
                "date_trunc(\(input.pick(["'hour'", "'quarter'", "'decade'"])), \(e(.timestamp)))", "to_timestamp(\(e(.float)))::timestamp",
                "\(e(.text))::timestamp", "to_timestamp(\(e(.text)), \(e(.text)))::timestamp", "date_bin(\(e(.interval)), \(e(.timestamp)), \(e(.timestamp)))",
            ])
        case .interval:
            return input.pick([
                "(\(e(.interval)) * \(e(.float)))", "(\(e(.interval)) / \(e(.float)))", "(\(e(.interval)) + \(e(.interval)))", "-\(e(.interval))",
                "(\(e(.timestamp)) - \(e(.timestamp)))", "age(\(e(.timestamp)), \(e(.timestamp)))", "justify_hours(\(e(.interval)))",
                "justify_days(\(e(.interval)))", "make_interval(\(e(.int)), \(e(.int)), \(e(.int)), \(e(.int)), \(e(.int)), \(e(.int)), \(e(.float)))",
                "(\(e(.interval)) * \(e(.int)))", "\(e(.text))::interval", "(\(e(.int)) * INTERVAL '1 second')",
            ])
        case .jsonb:
            return input.pick([
                "jsonb_build_object(\(e(.text)), \(e(input.pick(Kind.allCases))))", "\(e(.jsonb)) -> \(e(.text))", "\(e(.jsonb)) -> \(e(.int))",
                "jsonb_set(\(e(.jsonb)), '{g}', to_jsonb(\(e(.int))))", "to_jsonb(\(e(input.pick(Kind.allCases))))", "\(e(.text))::jsonb",
                "\(e(.jsonb)) || \(e(.jsonb))", "\(e(.jsonb)) - \(e(.text))", "\(e(.jsonb)) #> '{a,b,0}'", "jsonb_agg(\(e(.int))) OVER ()",
            ])
        case .intArray:
            return input.pick([
                "ARRAY[\(e(.int)), \(e(.int))]", "array_append(\(e(.intArray)), \(e(.int)))", "array_cat(\(e(.intArray)), \(e(.intArray)))",
                "\(e(.intArray))[\(e(.int)):\(e(.int))]", "array_fill(\(e(.int)), ARRAY[\(e(.int)) % 1000])", "string_to_array(\(e(.text)), ',')::int[]",
                "array_remove(\(e(.intArray)), \(e(.int)))", "array_agg(\(e(.int))) OVER (ORDER BY id)", "\(e(.text))::int[]",
            ])
        case .bytea:
            return input.pick([
                "decode(\(e(.text)), \(input.pick(["'hex'", "'base64'", "'escape'"])))", "set_byte(\(e(.bytea)), \(e(.int)), \(e(.int)))",
                "substring(\(e(.bytea)) FROM \(e(.int)) FOR \(e(.int)))", "sha256(\(e(.bytea)))", "(\(e(.bytea)) || \(e(.bytea)))", "\(e(.text))::bytea",
            ])
        }
    }

    /// A typed SELECT or write over t, most of which binds and runs.
    private mutating func typedStatement() -> String {
        let kind = input.pick(Kind.allCases)
        switch input.below(8) {
        case 0: return "SELECT \(typed(kind, false))"
        case 1: return "UPDATE t SET \(input.pick(kind.columns)) = \(typed(kind)) WHERE \(typed(.bool))"
        case 2: return "INSERT INTO t (id, \(input.pick(kind.columns))) VALUES (\(typed(.int, false)), \(typed(kind, false)))"
        case 3: return "SELECT \(input.pick(["sum", "avg", "min", "max", "count"]))(\(typed(input.pick([Kind.int, .bigint, .numeric, .float]))))\(input.chance(2) ? " OVER (PARTITION BY a ORDER BY id \(input.pick(["ROWS", "RANGE", "GROUPS"])) BETWEEN \(int()) PRECEDING AND \(int()) FOLLOWING)" : "") FROM t"
        case 4: return "SELECT \(typed(kind)), \(input.pick(["lag", "lead"]))(\(input.pick(kind.columns)), \(int())) OVER (ORDER BY \(typed(.int))) FROM t ORDER BY 1 LIMIT \(int())"
        case 5: return "SELECT * FROM t WHERE \(typed(.bool)) ORDER BY \(typed(kind)) \(input.pick(["", "DESC", "NULLS FIRST"])) LIMIT \(int()) OFFSET \(int())"
        case 6: return "SELECT \(typed(kind)) AS x, count(*) FROM t GROUP BY 1 HAVING \(typed(.bool))"
        default: return "SELECT * FROM generate_series(\(typed(.bigint, false)), \(typed(.bigint, false)), \(typed(.bigint, false))) LIMIT 100"
        }
    }

    // MARK: Expressions

    private mutating func expression(_ table: Table?) -> String {
        depth += 1
        defer { depth -= 1 }
        if depth > Self.maxDepth { return leaf(table) }
        switch input.below(14) {
        case 0, 1, 2: return leaf(table)
        case 3, 4: return "(\(expression(table)) \(input.pick(Self.operators)) \(expression(table)))"
        case 5, 6:
            let (name, arity) = input.pick(Self.functions)
            let count = arity.lowerBound + input.below(min(arity.upperBound, arity.lowerBound + 3) - arity.lowerBound + 1)
            return "\(name)(\((0..<count).map { _ in expression(table) }.joined(separator: ", ")))"
        case 7: return "CAST(\(expression(table)) AS \(input.pick(Self.types)))"
        case 8: return "\(expression(table))::\(input.pick(Self.types))"
        case 9: return "CASE WHEN \(expression(table)) THEN \(expression(table)) ELSE \(expression(table)) END"
        case 10:
            let inner = input.pick(Array(Self.tables.prefix(3)))
            return input.pick(["(SELECT %)", "EXISTS (SELECT % )", "% IN (SELECT %)", "ARRAY(SELECT %)"])
                .replacingPercent { "\(expression(inner)) FROM \(inner.name)\(input.chance(2) ? " WHERE \(expression(inner))" : "") LIMIT 3" }
        case 11: return "ARRAY[\(expression(table)), \(expression(table))]\(input.chance(2) ? "[\(input.edgeInteger())]" : "")"
        case 12:
            return "\(expression(table)) \(input.pick(["IS NULL", "IS NOT TRUE", "BETWEEN 1 AND 2", "IN (1, NULL)", "= ANY(ARRAY[1, 2])", "NOT IN (SELECT 1)"]))"
        default: return "\(input.pick(["-", "NOT ", "+", "~", "@"]))\(expression(table))"
        }
    }

    private mutating func leaf(_ table: Table?) -> String {
        switch input.below(4) {
        case 0: if let table { return input.pick(table.columns) } else { fallthrough }
        case 1: return "\(input.edgeInteger())"
        default: return literal()
        }
    }

    private mutating func literal() -> String {
        let value = input.pick(Self.literals)
        return input.chance(3) ? "\(value)::\(input.pick(Self.types))" : value
    }
}

private extension String {
    /// Each `%` replaced by a fresh `make()`.
    func replacingPercent(_ make: () -> String) -> String {
        var result = ""
        for character in self {
            if character == "%" { result += make() } else { result.append(character) }
        }
        return result
    }
}
