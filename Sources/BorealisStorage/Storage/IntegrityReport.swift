// What a full integrity check found (docs/backup.md §1): a list of problems, each naming the
// page, tree, table or index it concerns, and counts of what was checked. The checks that fill
// it live in `IntegrityCheck+Storage.swift` (page and log checksums), `Access/IntegrityCheck+
// Report.swift` (trees, page ownership) and `API/Database+Integrity.swift` (catalog, indexes).
// A check never stops at the first problem, and never traps on a damaged file.

/// One problem found by `Database.checkIntegrity()`.
public struct IntegrityProblem: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// A page of the page file fails its checksum or holds another page's number.
        case pageChecksum
        /// A log segment's header or records are damaged, or the log ends before the last commit.
        case logChecksum
        /// A B+tree breaks an invariant: key order, parent bounds, depth, overflow chain, node header.
        case treeStructure
        /// A page belongs to two trees, or to a tree and the free list.
        case pageOwnedTwice
        /// A page belongs to nothing (neither a tree nor the free list).
        case pageLost
        /// The free list is damaged or its length disagrees with the meta page.
        case freeList
        /// An index does not hold exactly one entry per row of its table.
        case indexMismatch
        /// A catalog entry does not decode, or names something that does not exist.
        case catalog
    }

    public var kind: Kind
    /// The page concerned, when there is one.
    public var page: UInt64?
    /// The tree, table or index concerned ("table t", "index t_pkey", "catalog", "free list"…).
    public var object: String?
    public var message: String

    public init(_ kind: Kind, page: UInt64? = nil, object: String? = nil, _ message: String) {
        self.kind = kind
        self.page = page
        self.object = object
        self.message = message
    }

    public var description: String {
        var prefix = "\(kind.rawValue)"
        if let object { prefix += " [\(object)]" }
        if let page { prefix += " page \(page)" }
        return "\(prefix): \(message)"
    }
}

/// The result of `Database.checkIntegrity()`: sound when `problems` is empty.
///
/// ```swift
/// let report = try db.checkIntegrity()
/// if !report.isSound { for problem in report.problems { print(problem) } }
/// ```
public struct IntegrityReport: Sendable, CustomStringConvertible {
    /// At most `maximumProblems` problems are kept; `omittedProblems` counts the rest.
    public static let maximumProblems = 1000

    public private(set) var problems: [IntegrityProblem] = []
    public private(set) var omittedProblems = 0
    /// The snapshot the check read the database at.
    public var lsn: UInt64 = 0
    /// Pages of the page file whose checksum was verified.
    public var pagesChecked = 0
    /// Bytes of log whose record checksums were verified.
    public var logBytesChecked: UInt64 = 0
    /// B+trees walked (the catalog, tables, indexes, other root slots).
    public var trees = 0
    public var rows = 0
    public var indexEntries = 0

    public init() {}

    public var isSound: Bool { problems.isEmpty && omittedProblems == 0 }

    public mutating func add(_ problem: IntegrityProblem) {
        if problems.count < Self.maximumProblems { problems.append(problem) } else { omittedProblems += 1 }
    }

    public func problems(of kind: IntegrityProblem.Kind) -> [IntegrityProblem] { problems.filter { $0.kind == kind } }

    /// One line per problem, or one "ok" line with the counts.
    public var description: String {
        let counts = "\(pagesChecked) pages, \(logBytesChecked) log bytes, \(trees) trees, \(rows) rows, \(indexEntries) index entries at LSN \(lsn)"
        if isSound { return "ok: \(counts)\n" }
        var text = problems.map { $0.description + "\n" }.joined()
        if omittedProblems > 0 { text += "… and \(omittedProblems) more problems\n" }
        text += "\(problems.count + omittedProblems) problems (\(counts))\n"
        return text
    }
}
