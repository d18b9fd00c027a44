import Foundation
import Testing
import BorealisSLT

/// Runs every sqllogictest file of ../shared/slt (the shared corpus, when present) and of
/// Tests/SQL (our own), and fails when the pass rate falls below Tests/slt-floor.txt.
@Suite struct SQLLogicTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// Runs the files on a thread of its own: a test holds one of the cooperative pool's few
    /// threads while it runs, and these take minutes (asyncCallsWaitOffTheCooperativePool needs
    /// a free pool thread while the suite runs).
    func run(_ files: [String]) async -> (passed: Int, failed: Int, skipped: Int, failures: [String]) {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: runHere(files)) }.start()
        }
    }

    private func runHere(_ files: [String]) -> (passed: Int, failed: Int, skipped: Int, failures: [String]) {
        var totals = (passed: 0, failed: 0, skipped: 0, failures: [String]())
        let scratch = NSTemporaryDirectory() + "borealis-slt-test-\(UInt32.random(in: 0...UInt32.max))"
        for file in files {
            let result = SLTRunner.run(file: file, scratch: scratch, maxFailuresKept: 3)
            print("slt \(file): passed=\(result.passed) failed=\(result.failed) skipped=\(result.skipped)")
            totals.passed += result.passed
            totals.failed += result.failed
            totals.skipped += result.skipped
            totals.failures += result.failures
        }
        print("slt total: passed=\(totals.passed) failed=\(totals.failed) skipped=\(totals.skipped)")
        return totals
    }

    @Test func ourOwnSQLTestsAllPass() async {
        let files = SLTRunner.files(under: Self.packageRoot + "/Tests/SQL")
        #expect(!files.isEmpty)
        let totals = await run(files)
        #expect(totals.failed == 0, "\(totals.failures)")
        #expect(totals.passed > 100)
    }

    @Test func sharedCorpusPassRateStaysAboveTheFloor() async throws {
        let root = Self.packageRoot + "/../shared/slt"
        guard FileManager.default.fileExists(atPath: root) else {
            print("slt: \(root) is absent; skipping the shared corpus")
            return
        }
        let floorText = try String(contentsOfFile: Self.packageRoot + "/Tests/slt-floor.txt", encoding: .utf8)
        let floor = try #require(Double(floorText.trimmingCharacters(in: .whitespacesAndNewlines)))
        let totals = await run(SLTRunner.files(under: root))
        let rate = Double(totals.passed) / Double(max(1, totals.passed + totals.failed))
        print(String(format: "slt pass rate %.5f (floor %.5f)", rate, floor))
        #expect(totals.passed > 250_000)
        #expect(rate >= floor, "pass rate \(rate) below the floor \(floor): \(totals.failures.prefix(10))")
    }
}
