// Set-returning functions over arrays: unnest(array) (every element, in storage order, of
// any number of dimensions), unnest(a, b, …) in FROM (one column per array, as many rows as
// the longest, the shorter ones padded with NULL), and regexp_matches(s, pattern [, flags])
// (a text[] per match: the first match, or every one with the `g` flag).

import BorealisStorage

extension TableFunctions {
    static let arrays: [TableFunction] = [
        TableFunction(names: ["unnest"], arity: 1...Limits.maxFunctionArguments, parameters: [nil],
                      resultType: { types in (types.first ?? nil)?.elementType },
                      values: { arguments, _ in
                          guard let array = try FunctionRegistry.arrayArgument(arguments[0], "unnest") else { return { nil } }
                          var position = 0
                          return {
                              guard position < array.elements.count else { return nil }
                              defer { position += 1 }
                              return array.elements[position]
                          }
                      },
                      rows: { arguments, _ in
                          let arrays = try arguments.map { try FunctionRegistry.arrayArgument($0, "unnest")?.elements ?? [] }
                          let count = arrays.map(\.count).max() ?? 0
                          var position = 0
                          return {
                              guard position < count else { return nil }
                              defer { position += 1 }
                              return arrays.map { position < $0.count ? $0[position] : .null }
                          }
                      },
                      columnsFor: { types in
                          // One array: the single column named as the function (or its alias).
                          // Several: PostgreSQL names each `unnest`; here the second is
                          // `unnest_2` and so on, as columns are found by name.
                          guard types.count > 1 else { return nil }
                          return types.enumerated().map { ($0.offset == 0 ? "unnest" : "unnest_\($0.offset + 1)", $0.element?.elementType) }
                      }),
        TableFunction(names: ["regexp_matches"], arity: 2...3, parameters: [.text],
                      resultType: { _ in .textArray },
                      values: { arguments, _ in
                          var texts: [String] = []
                          for a in arguments {
                              guard let t = try Functions.text(a) else { return { nil } }
                              texts.append(t)
                          }
                          let options = try RegularExpression.Options(flags: texts.count > 2 ? texts[2] : "", function: "regexp_matches",
                                                                      allowGlobal: true)
                          let s = texts[0]
                          var matches = try RegularExpression(texts[1], options).matches(in: s, from: s.startIndex)
                          if !options.global { matches = Array(matches.prefix(1)) }
                          var position = 0
                          return {
                              guard position < matches.count else { return nil }
                              defer { position += 1 }
                              return .array(FunctionRegistry.matchArray(matches[position], in: s))
                          }
                      }),
    ]
}
