// The types users see from the lower layers (`Value`, `DatabaseError`, `SQLState`,
// `StorageOptions`, …) come with `import Borealis`, as they did when the library was one module.

@_exported import BorealisSQL
@_exported import BorealisStorage
