// Checks a reopened database against the model: no acknowledged commit lost, nothing beyond
// the one in-flight transaction visible, identical contents, valid trees, valid checksums.

import Borealis

public struct StressVerdict: Sendable {
    public var lost = false
    public var corrupt = false
    public var detail = ""
    /// The id of the last transaction the database holds.
    public var lastID: UInt64 = 0
}

public enum StressVerifier {
    /// `acknowledged`: the last id whose commit returned; the model holds everything up to it.
    /// On success the model is advanced over the in-flight transaction when the database has it.
    public static func verify(engine: StorageEngine, seed: UInt64, acknowledged: UInt64, model: inout StressModel) -> StressVerdict {
        var verdict = StressVerdict()
        do {
            let checked = try engine.verifyPageChecksums()
            _ = checked
            let reader = try engine.beginRead()
            defer { reader.rollback() }
            let roots = try (0..<StressWorkload.treeCount).map { try reader.root(slot: StressWorkload.firstRootSlot + $0) }
            if roots.contains(0) {
                if acknowledged > 0 || model.trees.contains(where: { !$0.isEmpty }) {
                    verdict.lost = true
                    verdict.detail = "the trees are missing after \(acknowledged) acknowledged commits"
                }
                return verdict
            }
            let trees = roots.map(BTree.init(root:))
            let markerValue = try trees[0].get(StressWorkload.markerKey, in: reader)
            let last = markerValue.map { $0.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) } } ?? 0
            verdict.lastID = last
            var expected = model
            if last < acknowledged {
                verdict.lost = true
                verdict.detail = "the database ends at transaction \(last), but \(acknowledged) was acknowledged"
                return verdict
            }
            if last > acknowledged {
                // Only the first committing transaction after the acknowledged one may be there.
                var id = acknowledged + 1
                while StressWorkload.transaction(seed: seed, id: id).rollsBack { id += 1 }
                guard id == last else {
                    verdict.corrupt = true
                    verdict.detail = "the database holds transaction \(last), beyond the in-flight \(id)"
                    return verdict
                }
                for skipped in (acknowledged + 1)...last {
                    expected.apply(StressWorkload.transaction(seed: seed, id: skipped))
                }
            }
            _ = try reader.checkIntegrity(trees: trees)
            for (i, tree) in trees.enumerated() {
                var cursor = tree.cursor(in: reader)
                var count = 0
                var more = try cursor.first()
                while more {
                    count += 1
                    guard let want = expected.trees[i][cursor.key] else {
                        verdict.corrupt = true
                        verdict.detail = "tree \(i) holds a key the model does not"
                        return verdict
                    }
                    guard try cursor.value() == want else {
                        verdict.corrupt = true
                        verdict.detail = "tree \(i) holds a wrong value for a key"
                        return verdict
                    }
                    more = try cursor.next()
                }
                guard count == expected.trees[i].count else {
                    verdict.lost = true
                    verdict.detail = "tree \(i) holds \(count) keys, the model \(expected.trees[i].count)"
                    return verdict
                }
            }
            model = expected
        } catch {
            verdict.corrupt = true
            verdict.detail = "verification failed: \(error)"
        }
        return verdict
    }
}
