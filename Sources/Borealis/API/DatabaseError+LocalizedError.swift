// DatabaseError as Foundation's LocalizedError, so `error.localizedDescription` (and any UI or
// log that shows it) carries the message and the SQLSTATE instead of a generic
// "The operation could not be completed".

import BorealisSQL
import BorealisStorage

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension DatabaseError: LocalizedError {
    /// The message and SQLSTATE, as `description`: `duplicate key value violates unique
    /// constraint "t_pkey" (SQLSTATE 23505)`.
    public var errorDescription: String? { description }
}
