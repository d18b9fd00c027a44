// The array types: one case of SQLType per scalar type, whose raw value (what the catalog
// stores) is the element's followed by `[]`, so catalogs written before arrays existed read
// unchanged. These properties pair each array type with its element type.

import BorealisStorage

extension SQLType {
    private static let elementTypes: [SQLType: SQLType] = {
        var table: [SQLType: SQLType] = [:]
        for type in SQLType.allCases where type.rawValue.hasSuffix("[]") {
            if let element = SQLType(rawValue: String(type.rawValue.dropLast(2))) { table[type] = element }
        }
        return table
    }()

    private static let arrayTypes: [SQLType: SQLType] = {
        var table: [SQLType: SQLType] = [:]
        for (array, element) in elementTypes { table[element] = array }
        return table
    }()

    /// The type of an array's elements; nil for a scalar type.
    package var elementType: SQLType? { SQLType.elementTypes[self] }

    /// The array type whose elements are of this type; nil for an array type (no arrays of arrays:
    /// a multi-dimensional array has the same type as a one-dimensional one).
    package var arrayType: SQLType? { SQLType.arrayTypes[self] }

    package var isArray: Bool { elementType != nil }
}
