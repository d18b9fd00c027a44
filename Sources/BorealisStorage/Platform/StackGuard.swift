// Stack depth as PostgreSQL's check_stack_depth() sees it: recursive passes over a statement
// (parsing, compiling expressions, planning subqueries, views and CTEs, materializing CTEs)
// ask before each level how much of the calling thread's real stack is left, and fail with
// 54001 while a margin remains, so a hostile statement ends in an error instead of a SIGSEGV
// that kills the host process. The parser's nesting limit (Limits.maxNestingDepth) bounds the
// passes that cannot fail (printing, rewriting, releasing a syntax tree) to what the margin holds.

import CBorealisSupport

package enum StackGuard {
    /// What must be left when a checked level starts: enough for the unchecked work below it
    /// (a debug build's expression compiler frame alone is ~9 KiB). docs/robustness.md.
    package static let margin = 256 * 1024

    /// Stack a level of a syntax tree may take in the passes that walk it without checking
    /// (finding aggregates, printing, rewriting, releasing it): the parser reserves this much
    /// per level of nesting it accepts, so a tree it returns can be walked on this thread.
    /// Measured: a debug build's tree walk takes ~1.5 KiB a level, a release build's far less.
    #if DEBUG
    package static let bytesPerLevel = 2048
    #else
    package static let bytesPerLevel = 512
    #endif

    /// Throws 54001 when less than `margin` + `reserving` bytes of the thread's stack are left.
    @inline(__always)
    package static func check(reserving: Int = 0) throws {
        if borealis_stack_remaining() < margin + reserving {
            throw DatabaseError(.error, sqlState: SQLState.statementTooComplex,
                                "stack depth limit exceeded: the statement nests too deeply for this thread's stack")
        }
    }
}
