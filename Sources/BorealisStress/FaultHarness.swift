// `borealis-stress faults`: the same verification over `FaultInjectingFileSystem`. Each case
// runs the workload in-process, arms one fault at the N-th mutating I/O (N sweeps over the
// whole run, case by case): a crash, a torn write, an fsync failure or ENOSPC. It checks that
// the engine reports the failure as an error (and, after a failed fsync, refuses writes), then
// simulates a power cut, reopens, and verifies that no acknowledged commit is lost.

import Borealis

public struct FaultReport: Sendable {
    public var cases = 0
    public var commits = 0
    public var lost = 0
    public var corrupt = 0
    public var failures: [String] = []

    public var summary: String { "fault-cases=\(cases) lost=\(lost) corrupt=\(corrupt)" }
}

public enum FaultHarness {
    static let transactionsBefore = 8
    static let transactionsUnderFault = 40

    static func options(_ fs: FaultInjectingFileSystem) -> StorageOptions {
        var options = StorageOptions()
        options.fileSystem = fs
        options.segmentCapacity = 64 << 10
        options.materializeThresholdBytes = 32 << 10
        options.cacheBytes = 1 << 20
        options.transactionMemoryBytes = 16 * options.pageSize
        options.commitStreamChunkBytes = 32 << 10
        options.backgroundMaterializer = false
        options.busyTimeoutMilliseconds = 100
        return options
    }

    enum Kind: CaseIterable {
        case crash, tornWrite, syncFailure, noSpace
    }

    /// Runs the faulted part of the workload; returns the acknowledged id and whether the engine
    /// behaved (a failure after a failed fsync must make it refuse writes).
    static func workload(_ engine: StorageEngine, trees: [BTree], seed: UInt64, from start: UInt64, count: Int,
                         acknowledged: inout UInt64, model: inout StressModel, commits: inout Int) -> DatabaseError? {
        for id in start..<(start + UInt64(count)) {
            let transaction = StressWorkload.transaction(seed: seed, id: id)
            do {
                if try StressWorkload.run(transaction, on: engine, trees: trees) {
                    // Everything before it was applied already; this one is acknowledged.
                    model.apply(transaction)
                    acknowledged = id
                    commits += 1
                } else {
                    model.apply(transaction) // a rollback: no effect, keeps the replay in step
                }
                if id % 5 == 0 { try engine.materializeNow() }
            } catch let error as DatabaseError {
                return error
            } catch {
                return DatabaseError(.internal, sqlState: SQLState.internalError, "\(error)")
            }
        }
        return nil
    }

    /// `only`: run just the case of that index (to reproduce a failure).
    public static func run(cases: Int, seed: UInt64, only: Int? = nil, log: (String) -> Void = { _ in }) -> FaultReport {
        var report = FaultReport()
        // A clean run measures how many I/O operations the faulted phase performs.
        let span = max(1, measureOperations(seed: seed))
        let kinds = Kind.allCases
        for index in 0..<cases where only == nil || only == index {
            let kind = kinds[index % kinds.count]
            let operation = 1 + (index / kinds.count) % span
            let caseSeed = seed &+ UInt64(index) &* 7919
            let verdict = runCase(kind: kind, operation: operation, seed: caseSeed, report: &report)
            report.cases += 1
            if let verdict {
                report.failures.append("case \(index) (\(kind) at I/O \(operation), seed \(caseSeed)): \(verdict)")
                log(report.failures.last!)
                if report.failures.count >= 10 { break }
            }
        }
        return report
    }

    static func measureOperations(seed: UInt64) -> Int {
        let fs = FaultInjectingFileSystem()
        do {
            let engine = try StorageEngine(path: "/db", options: options(fs))
            let trees = try StressWorkload.trees(engine)
            var acknowledged: UInt64 = 0
            var model = StressModel()
            var commits = 0
            _ = workload(engine, trees: trees, seed: seed, from: 1, count: transactionsBefore,
                         acknowledged: &acknowledged, model: &model, commits: &commits)
            fs.arm(nil)
            _ = workload(engine, trees: trees, seed: seed, from: UInt64(transactionsBefore) + 1, count: transactionsUnderFault,
                         acknowledged: &acknowledged, model: &model, commits: &commits)
            let count = fs.operationCount
            try engine.close()
            return count
        } catch {
            return 200
        }
    }

    /// One case; nil when it passed, else what went wrong.
    static func runCase(kind: Kind, operation: Int, seed: UInt64, report: inout FaultReport) -> String? {
        let fs = FaultInjectingFileSystem()
        var model = StressModel()
        var acknowledged: UInt64 = 0
        var workloadSeed = SplitMix64(seed: seed)
        let stressSeed = workloadSeed.next()
        do {
            let engine = try StorageEngine(path: "/db", options: options(fs))
            let trees = try StressWorkload.trees(engine)
            if let error = workload(engine, trees: trees, seed: stressSeed, from: 1, count: transactionsBefore,
                                    acknowledged: &acknowledged, model: &model, commits: &report.commits) {
                return "the clean phase failed: \(error)"
            }
            switch kind {
            case .crash: fs.arm(.crash(atOperation: operation))
            case .tornWrite: fs.arm(.tornWrite(atOperation: operation, fraction: Double(workloadSeed.next() % 1000) / 1000))
            case .syncFailure: fs.arm(.syncFailure(atSync: 1 + operation / 4))
            case .noSpace: fs.arm(.noSpace(atOperation: operation))
            }
            let error = workload(engine, trees: trees, seed: stressSeed, from: UInt64(transactionsBefore) + 1,
                                 count: transactionsUnderFault, acknowledged: &acknowledged, model: &model, commits: &report.commits)
            if let error {
                if error.code == .internal || error.code == .corrupt || error.code == .misuse {
                    return "the fault surfaced as the wrong error: \(error)"
                }
                if kind == .syncFailure && error.message.contains("fdatasync") {
                    // After a failed fsync the database must refuse writes.
                    do {
                        let txn = try engine.beginWrite()
                        txn.rollback()
                        return "a write transaction began after a failed fsync"
                    } catch {}
                    // Reads still work.
                    let reader = try engine.beginRead()
                    reader.rollback()
                }
            }
            // The model holds everything up to the acknowledged transaction; transactions after it
            // that never committed must not be replayed.
            try? engine.close()
            fs.crash(seed: seed)
        } catch {
            return "unexpected error outside the faulted phase: \(error)"
        }
        // Reopen after the power cut.
        do {
            var reopened = options(fs)
            reopened.fileSystem = fs
            let engine = try StorageEngine(path: "/db", options: reopened)
            var verifyModel = model
            let verdict = StressVerifier.verify(engine: engine, seed: stressSeed, acknowledged: acknowledged, model: &verifyModel)
            if verdict.lost { report.lost += 1 }
            if verdict.corrupt { report.corrupt += 1 }
            if verdict.lost || verdict.corrupt { return verdict.detail }
            // The reopened database accepts writes again.
            let trees = try StressWorkload.trees(engine)
            var id = max(verdict.lastID, acknowledged) + 1
            var commits = 0
            if let error = workload(engine, trees: trees, seed: stressSeed, from: id, count: 3,
                                    acknowledged: &id, model: &verifyModel, commits: &commits) {
                report.corrupt += 1
                return "the reopened database fails writes: \(error)"
            }
            try engine.close()
        } catch {
            report.corrupt += 1
            return "reopening after the fault failed: \(error)"
        }
        return nil
    }
}
