// How coding keys and column names correspond when records are encoded into rows and rows
// decoded into records: as they are, snake_case columns for camelCase keys (the conversions of
// JSONEncoder's convertToSnakeCase and JSONDecoder's convertFromSnakeCase), or a function.

/// How columns become coding keys when rows are decoded.
///
/// ```swift
/// struct Player: Decodable { var firstName: String }       // column first_name
/// let players = try db.query(Player.self, "SELECT first_name FROM player",
///                            columnDecodingStrategy: .convertFromSnakeCase)
/// ```
import BorealisSQL
import BorealisStorage

public enum DatabaseColumnDecodingStrategy: Sendable {
    /// A column decodes the key of the same name.
    case useDefaultKeys
    /// `first_name` decodes `firstName` (JSONDecoder's rule: the first word lowercased, each later
    /// word capitalized, leading and trailing underscores kept).
    case convertFromSnakeCase
    /// The key name a column name decodes.
    case custom(@Sendable (String) -> String)

    /// The key name of each column.
    func keys(for columns: [String]) -> [String] {
        switch self {
        case .useDefaultKeys: return columns
        case .convertFromSnakeCase: return columns.map(Self.camelCase)
        case .custom(let transform): return columns.map(transform)
        }
    }

    static func camelCase(_ name: String) -> String {
        guard name.contains("_") else { return name }
        let characters = Array(name)
        guard let first = characters.firstIndex(where: { $0 != "_" }) else { return name }
        let last = characters.lastIndex(where: { $0 != "_" })!
        let words = String(characters[first...last]).split(separator: "_")
        let joined = words.enumerated().map { i, word in
            i == 0 ? word.lowercased() : word.prefix(1).uppercased() + word.dropFirst().lowercased()
        }.joined()
        return String(characters[..<first]) + joined + String(characters[(last + 1)...])
    }
}

/// How coding keys become columns when records are encoded (`insert`, `update`, `save`).
///
/// ```swift
/// struct Player: Encodable { var firstName: String }        // column first_name
/// try db.insert(player, into: "player", columnEncodingStrategy: .convertToSnakeCase)
/// ```
public enum DatabaseColumnEncodingStrategy: Sendable {
    /// A key encodes the column of the same name.
    case useDefaultKeys
    /// `firstName` encodes `first_name`, `imageURL` encodes `image_url` (JSONEncoder's rule).
    case convertToSnakeCase
    /// The column name a key name encodes.
    case custom(@Sendable (String) -> String)

    func column(for key: String) -> String {
        switch self {
        case .useDefaultKeys: return key
        case .convertToSnakeCase: return Self.snakeCase(key)
        case .custom(let transform): return transform(key)
        }
    }

    /// Words start at an uppercase letter after a lowercase one or a digit, and at the last
    /// uppercase letter of a run followed by a lowercase one (`URLValue` → `url_value`).
    static func snakeCase(_ key: String) -> String {
        let characters = Array(key)
        var result = ""
        for (i, c) in characters.enumerated() {
            if c.isUppercase && i > 0 {
                let previous = characters[i - 1]
                let nextIsLower = i + 1 < characters.count && characters[i + 1].isLowercase
                if previous.isLowercase || previous.isNumber || (previous.isUppercase && nextIsLower) { result.append("_") }
            }
            result += c.lowercased()
        }
        return result
    }
}
