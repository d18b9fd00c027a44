// The library version, shared by the shell and the C ABI's borealis_libversion.

/// Borealis's version, "MAJOR.MINOR.PATCH".
import BorealisSQL
import BorealisStorage

public let borealisVersion = "0.2.0"
