// The full integrity check's walk of the page space (docs/backup.md §1, items 3 and 4): every
// tree's invariants, and that every page from 1 to the page count belongs to exactly one tree,
// the meta page or the free list. Unlike `BTree.verify`, which throws at the first broken rule,
// this walk records each problem in an `IntegrityReport` and goes on: a broken subtree is
// reported and skipped, the rest is still checked. Nothing read from a page is trusted before
// it is bounds-checked (child page numbers, slot offsets, chain lengths).

import Glibc

/// A tree to walk: its name in reports ("table t", "index i", "catalog") and its root page.
package struct IntegrityTree {
    package var name: String
    package var root: PageNumber

    package init(name: String, root: PageNumber) {
        self.name = name
        self.root = root
    }
}

/// What the walk found of one tree.
package struct IntegrityTreeSummary {
    package var entries = 0
    /// No structural problem was found in it (its entries can be trusted by later checks).
    package var sound = true
}

extension StorageTransaction {
    /// Walks `trees` and the free list at this transaction's snapshot; adds every problem to
    /// `report`. Returns a summary per tree, in the order given.
    package func checkPageSpace(trees: [IntegrityTree], into report: inout IntegrityReport) throws -> [IntegrityTreeSummary] {
        let meta = try page(MetaPage.pageNumber)
        let pageCount = MetaPage.pageCount(meta)
        let freeCount = MetaPage.freeCount(meta)
        // One owner per page, as an index into `names` (0: nobody). A meta page counting more
        // pages than any database could hold is itself the problem; the walk then stops there.
        guard pageCount >= 2, pageCount <= 1 << 36 else {
            report.add(IntegrityProblem(.freeList, page: MetaPage.pageNumber, object: "meta page", "the meta page counts \(pageCount) pages"))
            return trees.map { _ in IntegrityTreeSummary(entries: 0, sound: false) }
        }
        var owners = [UInt32](repeating: 0, count: Int(pageCount))
        var names = ["", "meta page"]
        owners[Int(MetaPage.pageNumber)] = 1
        var summaries: [IntegrityTreeSummary] = []
        let pageSize = self.pageSize
        for tree in trees {
            names.append(tree.name)
            let id = UInt32(names.count - 1)
            var summary = IntegrityTreeSummary()
            var walker = TreeWalker(txn: self, tree: tree, id: id, pageCount: pageCount, pageSize: pageSize)
            walker.visit(tree.root, lower: nil, upper: nil, depth: 0, owners: &owners, names: names, report: &report, summary: &summary)
            summaries.append(summary)
            report.trees += 1
        }
        // The free list.
        names.append("free list")
        let freeID = UInt32(names.count - 1)
        var next = MetaPage.freeListHead(meta)
        var walked: UInt64 = 0
        while next != 0 {
            guard next < pageCount, next > MetaPage.pageNumber else {
                report.add(IntegrityProblem(.freeList, page: next, object: "free list", "free-list page \(next) is outside 2..<\(pageCount)"))
                break
            }
            if owners[Int(next)] != 0 {
                report.add(IntegrityProblem(.pageOwnedTwice, page: next, object: "free list", "free page \(next) also belongs to \(names[Int(owners[Int(next)])])"))
                break // a cycle, or a chain into a tree: either way nothing after it is the free list
            }
            owners[Int(next)] = freeID
            walked += 1
            do {
                let image = try page(next)
                guard MetaPage.isFreePage(image) else {
                    report.add(IntegrityProblem(.freeList, page: next, object: "free list", "page \(next) is on the free list but not marked free"))
                    break
                }
                next = MetaPage.nextFree(image)
            } catch {
                report.add(IntegrityProblem(.freeList, page: next, object: "free list", "free page \(next) cannot be read: \(Self.text(of: error))"))
                break
            }
        }
        if walked != freeCount {
            report.add(IntegrityProblem(.freeList, page: MetaPage.pageNumber, object: "free list", "the free list holds \(walked) pages, the meta page counts \(freeCount)"))
        }
        // Lost pages.
        for number in 2..<Int(pageCount) where owners[number] == 0 {
            report.add(IntegrityProblem(.pageLost, page: UInt64(number), "page \(number) belongs to no tree and is not on the free list"))
        }
        return summaries
    }

    package static func text(of error: Error) -> String {
        (error as? DatabaseError)?.message ?? "\(error)"
    }
}

/// The recursive walk of one tree (depth ≤ 64).
private struct TreeWalker {
    let txn: StorageTransaction
    let tree: IntegrityTree
    let id: UInt32
    let pageCount: UInt64
    let pageSize: Int
    var leafDepth: Int?

    init(txn: StorageTransaction, tree: IntegrityTree, id: UInt32, pageCount: UInt64, pageSize: Int) {
        self.txn = txn
        self.tree = tree
        self.id = id
        self.pageCount = pageCount
        self.pageSize = pageSize
    }

    private func problem(_ kind: IntegrityProblem.Kind, _ page: PageNumber, _ message: String) -> IntegrityProblem {
        IntegrityProblem(kind, page: page, object: tree.name, message)
    }

    /// Claims `page` for this tree; false (and the problem reported) when it is out of range
    /// or already owned.
    private func claim(_ page: PageNumber, from parent: PageNumber?, owners: inout [UInt32], names: [String], report: inout IntegrityReport) -> Bool {
        guard page > MetaPage.pageNumber, page < pageCount else {
            let whence = parent.map { "page \($0) points to" } ?? "the root is"
            report.add(problem(.treeStructure, parent ?? page, "\(whence) page \(page), outside 2..<\(pageCount)"))
            return false
        }
        let current = owners[Int(page)]
        guard current == 0 else {
            let other = current == id ? "this tree already" : names[Int(current)]
            report.add(problem(.pageOwnedTwice, page, "page \(page) is reached again: it belongs to \(other)"))
            return false
        }
        owners[Int(page)] = id
        return true
    }

    mutating func visit(_ page: PageNumber, lower: [UInt8]?, upper: [UInt8]?, depth: Int, owners: inout [UInt32], names: [String],
                        report: inout IntegrityReport, summary: inout IntegrityTreeSummary, parent: PageNumber? = nil) {
        guard depth < 64 else {
            report.add(problem(.treeStructure, page, "the tree is deeper than 64 levels"))
            summary.sound = false
            return
        }
        guard claim(page, from: parent, owners: &owners, names: names, report: &report) else {
            summary.sound = false
            return
        }
        let node: Node
        do {
            node = try BTree(root: tree.root).node(page, txn)
        } catch {
            report.add(problem(.treeStructure, page, StorageTransaction.text(of: error)))
            summary.sound = false
            return
        }
        let count = node.count
        // Every slot must point into the content area, far enough from the end to hold a cell.
        let minimumCell = node.isLeaf ? 2 : 9
        for i in 0..<count {
            let slot = node.slot(i)
            guard slot >= node.contentStart, slot + minimumCell <= pageSize else {
                report.add(problem(.treeStructure, page, "cell \(i) starts at byte \(slot), outside the content area \(node.contentStart)..<\(pageSize)"))
                summary.sound = false
                return
            }
        }
        var ordered = true
        for i in 0..<count {
            let key = node.keyArray(i)
            if i > 0, key.withUnsafeBytes({ node.compareKey(i - 1, $0) >= 0 }) {
                report.add(problem(.treeStructure, page, "keys out of order at cell \(i)"))
                ordered = false
                break
            }
            if let lower, key.withUnsafeBytes({ k in lower.withUnsafeBytes { compareKeys(k, $0) < 0 } }) {
                report.add(problem(.treeStructure, page, "key at cell \(i) is below its parent's bound"))
                ordered = false
                break
            }
            if let upper, key.withUnsafeBytes({ k in upper.withUnsafeBytes { compareKeys(k, $0) >= 0 } }) {
                report.add(problem(.treeStructure, page, "key at cell \(i) is not below its parent's bound"))
                ordered = false
                break
            }
        }
        if !ordered { summary.sound = false }
        if node.isLeaf {
            if let leafDepth, leafDepth != depth {
                report.add(problem(.treeStructure, page, "leaf at depth \(depth), other leaves at \(leafDepth)"))
                summary.sound = false
            }
            if leafDepth == nil { leafDepth = depth }
            summary.entries += count
            for i in 0..<count {
                let value = node.valueShape(i)
                var next = value.overflow
                var total = value.localLength
                var previous = page
                while next != 0 {
                    guard claim(next, from: previous, owners: &owners, names: names, report: &report) else {
                        summary.sound = false
                        break
                    }
                    do {
                        let overflow = try txn.page(next)
                        guard overflow.bytes[24] == NodeType.overflow.rawValue else {
                            report.add(problem(.treeStructure, next, "page \(next) is in an overflow chain but is not an overflow page"))
                            summary.sound = false
                            break
                        }
                        let raw = UnsafeRawBufferPointer(overflow.bytes)
                        total += Int(raw.littleEndian(at: 40, as: UInt32.self))
                        previous = next
                        next = raw.littleEndian(at: 32, as: UInt64.self)
                    } catch {
                        report.add(problem(.treeStructure, next, StorageTransaction.text(of: error)))
                        summary.sound = false
                        break
                    }
                }
                if summary.sound, total != value.totalLength {
                    report.add(problem(.treeStructure, page, "value at cell \(i) is \(value.totalLength) bytes, its pages hold \(total)"))
                    summary.sound = false
                }
            }
        } else {
            for i in 0...count {
                let low = i == 0 ? lower : node.keyArray(i - 1)
                let high = i == count ? upper : node.keyArray(i)
                visit(node.child(i), lower: low, upper: high, depth: depth + 1, owners: &owners, names: names,
                      report: &report, summary: &summary, parent: page)
            }
        }
    }
}

/// memcmp order, shorter first on a common prefix (the order the trees keep).
package func compareKeys(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
    let common = min(a.count, b.count)
    if common > 0, let pa = a.baseAddress, let pb = b.baseAddress {
        let c = memcmp(pa, pb, common)
        if c != 0 { return Int(c) }
    }
    return a.count - b.count
}
