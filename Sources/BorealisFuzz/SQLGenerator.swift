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
            switch input.below(22) {
            case 0: return "(\(e(k)) \(input.pick(["+", "-", "*", "/", "%", "&", "|", "<<", ">>"])) \(e(k)))"
            case 1: return "abs(\(e(k)))"
            case 2: return "-\(e(k))"
            case 3: return "length(\(e(.text)))"
            case 4: return "strpos(\(e(.text)), \(e(.text)))"
            case 5: return "array_length(\(e(.intArray)), \(e(.int)))"
            case 6: return "(\(e(.date)) - \(e(.date)))"
            case 7: return "extract(\(input.pick(["year", "epoch", "dow", "julian", "microseconds", "century"])) FROM \(e(.timestamp)))::\(k == .int ? "int" : "bigint")"
            case 8: return "\(e(.numeric))::\(k == .int ? "int" : "bigint")"
            case 9: return "\(e(.float))::\(k == .int ? "int4" : "int8")"
            case 10: return "\(e(.text))::int"
            case 11: return "\(e(.intArray))[\(e(.int))]"
            case 12: return "width_bucket(\(e(.float)), \(e(.float)), \(e(.float)), \(e(.int)))"
            case 13: return "get_byte(\(e(.bytea)), \(e(.int)))"
            case 14: return "ascii(\(e(.text)))"
            case 15: return "gcd(\(e(k)), \(e(k)))"
            case 16: return "lcm(\(e(k)), \(e(k)))"
            case 17: return "factorial(\(e(.int)))::bigint"
            case 18: return "div(\(e(.numeric)), \(e(.numeric)))::bigint"
            case 19: return "array_position(\(e(.intArray)), \(e(.int)))"
            case 20: return "(\(e(.jsonb)) ->> \(e(.int)))::int"
            default: return "jsonb_array_length(\(e(.jsonb)))"
            }
        case .numeric:
            switch input.below(18) {
            case 0: return "(\(e(.numeric)) \(input.pick(["+", "-", "*", "/", "%", "^"])) \(e(.numeric)))"
            case 1: return "round(\(e(.numeric)), \(e(.int)))"
            case 2: return "trunc(\(e(.numeric)), \(e(.int)))"
            case 3: return "power(\(e(.numeric)), \(e(.numeric)))"
            case 4: return "sqrt(\(e(.numeric)))"
            case 5: return "exp(\(e(.numeric)))"
            case 6: return "ln(\(e(.numeric)))"
            case 7: return "log(\(e(.numeric)), \(e(.numeric)))"
            case 8: return "mod(\(e(.numeric)), \(e(.numeric)))"
            case 9: return "\(e(.bigint))::numeric"
            case 10: return "\(e(.float))::numeric"
            case 11: return "\(e(.text))::numeric"
            case 12: return "scale(\(e(.numeric)))::numeric"
            case 13: return "\(e(.numeric))::numeric(\(input.below(40)), \(input.below(40)))"
            case 14: return "to_number(\(e(.text)), \(e(.text)))"
            case 15: return "extract(epoch FROM \(e(.interval)))"
            case 16: return "sum(\(e(.numeric))) OVER ()"
            default: return "factorial(\(e(.int)))"
            }
        case .float:
            switch input.below(12) {
            case 0: return "(\(e(.float)) \(input.pick(["+", "-", "*", "/", "^"])) \(e(.float)))"
            case 1: return "power(\(e(.float)), \(e(.float)))"
            case 2: return "exp(\(e(.float)))"
            case 3: return "ln(\(e(.float)))"
            case 4: return "sqrt(\(e(.float)))"
            case 5: return "\(e(.bigint))::float8"
            case 6: return "\(e(.numeric))::float8"
            case 7: return "\(e(.text))::float4"
            case 8: return "cbrt(\(e(.float)))"
            case 9: return "atan2(\(e(.float)), \(e(.float)))"
            case 10: return "random()"
            default: return "date_part('epoch', \(e(.timestamp)))"
            }
        case .text:
            switch input.below(28) {
            case 0: return "(\(e(.text)) || \(e(input.pick(Kind.allCases))))"
            case 1: return "substr(\(e(.text)), \(e(.int)), \(e(.int)))"
            case 2: return "lpad(\(e(.text)), \(e(.int)) % 100000, \(e(.text)))"
            case 3: return "repeat(\(e(.text)), \(e(.int)) % 10000)"
            case 4: return "upper(\(e(.text)))"
            case 5: return "replace(\(e(.text)), \(e(.text)), \(e(.text)))"
            case 6: return "split_part(\(e(.text)), \(e(.text)), \(e(.int)))"
            case 7: return "to_char(\(e(.timestamp)), \(e(.text)))"
            case 8: return "to_char(\(e(.numeric)), \(e(.text)))"
            case 9: return "regexp_replace(\(e(.text)), \(e(.text)), \(e(.text)), 'g')"
            case 10: return "format('%s|%I|%L|%3$s', \(e(.text)), \(e(.text)), \(e(.int)))"
            case 11: return "left(\(e(.text)), \(e(.int)))"
            case 12: return "right(\(e(.text)), \(e(.int)))"
            case 13: return "overlay(\(e(.text)) PLACING \(e(.text)) FROM \(e(.int)) FOR \(e(.int)))"
            case 14: return "translate(\(e(.text)), \(e(.text)), \(e(.text)))"
            case 15: return "chr(\(e(.int)))"
            case 16: return "to_hex(\(e(.bigint)))"
            case 17: return "\(e(.jsonb)) ->> \(e(.text))"
            case 18: return "array_to_string(\(e(.intArray)), \(e(.text)))"
            case 19: return "md5(\(e(.text)))"
            case 20: return "encode(\(e(.bytea)), \(input.pick(["'hex'", "'base64'", "'escape'"])))"
            case 21: return "\(e(input.pick(Kind.allCases)))::text"
            case 22: return "substring(\(e(.text)) FROM \(e(.int)) FOR \(e(.int)))"
            case 23: return "initcap(\(e(.text)))"
            case 24: return "reverse(\(e(.text)))"
            case 25: return "string_agg(\(e(.text)), \(e(.text))) OVER ()"
            case 26: return "to_char(\(e(.interval)), \(e(.text)))"
            default: return "quote_literal(\(e(.text)))"
            }
        case .bool:
            let k = input.pick(Kind.allCases)
            switch input.below(14) {
            case 0: return "(\(e(k)) \(input.pick(["=", "<>", "<", ">=", "IS DISTINCT FROM"])) \(e(k)))"
            case 1: return "(\(e(.bool)) \(input.pick(["AND", "OR"])) \(e(.bool)))"
            case 2: return "NOT \(e(.bool))"
            case 3: return "\(e(.text)) LIKE \(e(.text))"
            case 4: return "\(e(.text)) ~ \(e(.text))"
            case 5: return "\(e(k)) IS NULL"
            case 6: return "\(e(.int)) IN (\(e(.int)), \(e(.int)))"
            case 7: return "\(e(.int)) BETWEEN \(e(.int)) AND \(e(.int))"
            case 8: return "\(e(.jsonb)) @> \(e(.jsonb))"
            case 9: return "\(e(.intArray)) && \(e(.intArray))"
            case 10: return "isfinite(\(e(.date)))"
            case 11: return "\(e(.int)) = ANY(\(e(.intArray)))"
            case 12: return "EXISTS (SELECT 1 FROM u WHERE u.w = \(e(.int)))"
            default: return "\(e(.jsonb)) ? \(e(.text))"
            }
        case .date:
            switch input.below(7) {
            case 0: return "(\(e(.date)) + \(e(.int)))"
            case 1: return "(\(e(.date)) - \(e(.int)))"
            case 2: return "make_date(\(e(.int)), \(e(.int)), \(e(.int)))"
            case 3: return "to_date(\(e(.text)), \(e(.text)))"
            case 4: return "date_trunc(\(input.pick(["'month'", "'week'", "'millennium'"])), \(e(.timestamp)))::date"
            case 5: return "\(e(.text))::date"
            default: return "\(e(.timestamp))::date"
            }
        case .timestamp:
            switch input.below(8) {
            case 0: return "(\(e(.timestamp)) + \(e(.interval)))"
            case 1: return "(\(e(.date)) + \(e(.interval)))"
            case 2: return "make_timestamp(\(e(.int)), \(e(.int)), \(e(.int)), \(e(.int)), \(e(.int)), \(e(.float)))"
            case 3: return "date_trunc(\(input.pick(["'hour'", "'quarter'", "'decade'"])), \(e(.timestamp)))"
            case 4: return "to_timestamp(\(e(.float)))::timestamp"
            case 5: return "\(e(.text))::timestamp"
            case 6: return "to_timestamp(\(e(.text)), \(e(.text)))::timestamp"
            default: return "date_bin(\(e(.interval)), \(e(.timestamp)), \(e(.timestamp)))"
            }
        case .interval:
            switch input.below(12) {
            case 0: return "(\(e(.interval)) * \(e(.float)))"
            case 1: return "(\(e(.interval)) / \(e(.float)))"
            case 2: return "(\(e(.interval)) + \(e(.interval)))"
            case 3: return "-\(e(.interval))"
            case 4: return "(\(e(.timestamp)) - \(e(.timestamp)))"
            case 5: return "age(\(e(.timestamp)), \(e(.timestamp)))"
            case 6: return "justify_hours(\(e(.interval)))"
            case 7: return "justify_days(\(e(.interval)))"
            case 8: return "make_interval(\(e(.int)), \(e(.int)), \(e(.int)), \(e(.int)), \(e(.int)), \(e(.int)), \(e(.float)))"
            case 9: return "(\(e(.interval)) * \(e(.int)))"
            case 10: return "\(e(.text))::interval"
            default: return "(\(e(.int)) * INTERVAL '1 second')"
            }
        case .jsonb:
            switch input.below(10) {
            case 0: return "jsonb_build_object(\(e(.text)), \(e(input.pick(Kind.allCases))))"
            case 1: return "\(e(.jsonb)) -> \(e(.text))"
            case 2: return "\(e(.jsonb)) -> \(e(.int))"
            case 3: return "jsonb_set(\(e(.jsonb)), '{g}', to_jsonb(\(e(.int))))"
            case 4: return "to_jsonb(\(e(input.pick(Kind.allCases))))"
            case 5: return "\(e(.text))::jsonb"
            case 6: return "\(e(.jsonb)) || \(e(.jsonb))"
            case 7: return "\(e(.jsonb)) - \(e(.text))"
            case 8: return "\(e(.jsonb)) #> '{a,b,0}'"
            default: return "jsonb_agg(\(e(.int))) OVER ()"
            }
        case .intArray:
            switch input.below(9) {
            case 0: return "ARRAY[\(e(.int)), \(e(.int))]"
            case 1: return "array_append(\(e(.intArray)), \(e(.int)))"
            case 2: return "array_cat(\(e(.intArray)), \(e(.intArray)))"
            case 3: return "\(e(.intArray))[\(e(.int)):\(e(.int))]"
            case 4: return "array_fill(\(e(.int)), ARRAY[\(e(.int)) % 1000])"
            case 5: return "string_to_array(\(e(.text)), ',')::int[]"
            case 6: return "array_remove(\(e(.intArray)), \(e(.int)))"
            case 7: return "array_agg(\(e(.int))) OVER (ORDER BY id)"
            default: return "\(e(.text))::int[]"
            }
        case .bytea:
            switch input.below(6) {
            case 0: return "decode(\(e(.text)), \(input.pick(["'hex'", "'base64'", "'escape'"])))"
            case 1: return "set_byte(\(e(.bytea)), \(e(.int)), \(e(.int)))"
            case 2: return "substring(\(e(.bytea)) FROM \(e(.int)) FOR \(e(.int)))"
            case 3: return "sha256(\(e(.bytea)))"
            case 4: return "(\(e(.bytea)) || \(e(.bytea)))"
            default: return "\(e(.text))::bytea"
            }
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
