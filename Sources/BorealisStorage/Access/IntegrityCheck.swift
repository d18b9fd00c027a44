// Structural verification of B+trees and of the whole page space, used by tests, the stress
// tool and (later) the shell. Every failure is a `corrupt` error that names the page and the
// rule broken.

/// What `BTree.verify(in:)` found: entries, depth and pages of a structurally valid tree.
///
/// ```swift
/// let report = try tree.verify(in: txn)
/// print(report.entries, report.depth)
/// ```
public struct TreeReport: Sendable {
    public var entries = 0
    public var depth = 0
    /// Every page of the tree, overflow pages included.
    public var pages: [UInt64] = []
}

extension BTree {
    /// Checks the tree's invariants (see BTree.swift) and returns its pages and entry count.
    public func verify(in txn: StorageTransaction) throws -> TreeReport {
        var report = TreeReport()
        var leafDepth: Int?
        var seen = Set<PageNumber>()
        func visit(_ page: PageNumber, lower: [UInt8]?, upper: [UInt8]?, depth: Int) throws {
            guard seen.insert(page).inserted else { throw DatabaseError.corrupt("page \(page) appears twice in tree \(root)") }
            guard depth < 64 else { throw DatabaseError.corrupt("tree \(root) is deeper than 64 levels") }
            report.pages.append(page)
            let node = try self.node(page, txn)
            var previous: [UInt8]? = nil
            for i in 0..<node.count {
                let key = node.keyArray(i)
                if let previous, !(previous.lexicographicallyPrecedes(key)) {
                    throw DatabaseError.corrupt("page \(page): keys out of order at cell \(i)")
                }
                if let lower, key.lexicographicallyPrecedes(lower) {
                    throw DatabaseError.corrupt("page \(page): key at cell \(i) is below its parent's bound")
                }
                if let upper, !key.lexicographicallyPrecedes(upper) {
                    throw DatabaseError.corrupt("page \(page): key at cell \(i) is not below its parent's bound")
                }
                previous = key
            }
            if node.isLeaf {
                if let leafDepth, leafDepth != depth { throw DatabaseError.corrupt("page \(page): leaf at depth \(depth), others at \(leafDepth)") }
                leafDepth = depth
                report.depth = depth + 1
                report.entries += node.count
                for i in 0..<node.count {
                    let value = node.valueShape(i)
                    var next = value.overflow
                    var total = value.localLength
                    while next != 0 {
                        guard seen.insert(next).inserted else { throw DatabaseError.corrupt("overflow page \(next) appears twice") }
                        report.pages.append(next)
                        let overflow = try txn.page(next)
                        guard overflow.bytes[24] == NodeType.overflow.rawValue else { throw DatabaseError.corrupt("page \(next) is not an overflow page") }
                        total += Int(UnsafeRawBufferPointer(overflow.bytes).littleEndian(at: 40, as: UInt32.self))
                        next = UnsafeRawBufferPointer(overflow.bytes).littleEndian(at: 32, as: UInt64.self)
                    }
                    guard total == value.totalLength else {
                        throw DatabaseError.corrupt("page \(page): value at cell \(i) is \(value.totalLength) bytes, its pages hold \(total)")
                    }
                }
            } else {
                for i in 0...node.count {
                    let low = i == 0 ? lower : node.keyArray(i - 1)
                    let high = i == node.count ? upper : node.keyArray(i)
                    try visit(node.child(i), lower: low, upper: high, depth: depth + 1)
                }
            }
        }
        try visit(root, lower: nil, upper: nil, depth: 0)
        return report
    }
}

extension StorageTransaction {
    /// Checks that the given trees, the free list and the meta page account for every page
    /// exactly once, and that every tree is structurally valid. Returns the tree reports.
    public func checkIntegrity(trees: [BTree]) throws -> [TreeReport] {
        let (pageCount, freeCount) = try pageCounts()
        var owner = [UInt64: String]()
        owner[MetaPage.pageNumber] = "meta"
        var reports: [TreeReport] = []
        for tree in trees {
            let report = try tree.verify(in: self)
            for page in report.pages {
                if let other = owner[page] { throw DatabaseError.corrupt("page \(page) belongs to tree \(tree.root) and to \(other)") }
                owner[page] = "tree \(tree.root)"
            }
            reports.append(report)
        }
        var next = MetaPage.freeListHead(try page(MetaPage.pageNumber))
        var free: UInt64 = 0
        while next != 0 {
            guard next < pageCount else { throw DatabaseError.corrupt("free-list page \(next) is past the page count \(pageCount)") }
            if let other = owner[next] { throw DatabaseError.corrupt("free page \(next) also belongs to \(other)") }
            owner[next] = "free list"
            let image = try page(next)
            guard MetaPage.isFreePage(image) else { throw DatabaseError.corrupt("page \(next) is on the free list but not marked free") }
            next = MetaPage.nextFree(image)
            free += 1
        }
        guard free == freeCount else { throw DatabaseError.corrupt("free list holds \(free) pages, the meta page counts \(freeCount)") }
        let accounted = UInt64(owner.count)
        guard accounted == pageCount - 1 else {
            let missing = (1..<pageCount).filter { owner[$0] == nil }.prefix(5)
            throw DatabaseError.corrupt("\(pageCount - 1 - accounted) pages belong to nothing (first: \(Array(missing)))")
        }
        return reports
    }
}

extension StorageEngine {
    /// Reads every materialized page of the page file and checks its checksum and page number.
    /// Returns the number of pages checked. Pages past the materialized page count are not
    /// checked: the file holds no committed image of them (a round that did not finish may have
    /// left them torn; their redo rebuilds them, docs/storage.md §5).
    public func verifyPageChecksums() throws -> Int {
        let pages = min(pageFile.pagesInFile, cache.materializedPages)
        var checked = 0
        if pages > 1 {
            for number in 1..<pages {
                let image = try pageFile.read(number)
                guard image.isValid(as: number) else {
                    throw DatabaseError.corrupt("page \(number): checksum mismatch in the page file")
                }
                checked += 1
            }
        }
        return checked
    }
}
