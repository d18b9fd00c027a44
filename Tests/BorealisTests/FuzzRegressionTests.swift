// The fuzz targets' committed inputs, replayed through the same drivers libFuzzer runs
// (BorealisFuzz; scripts/fuzz, docs/robustness.md "Fuzzing"): every seed of the corpora and
// every input that once crashed a target (Tests/Fuzz/regressions/TARGET/). A driver traps when
// an invariant breaks, so a regression here ends the test process with the input's name last
// on standard error.

import BorealisFuzz
import Foundation
import Testing

@Suite(.serialized) struct FuzzRegressionTests {
    static let fuzzRoot = SQLLogicTests.packageRoot + "/Tests/Fuzz"

    static func inputs(_ target: FuzzTarget, in kind: String) -> [String] {
        let folder = "\(fuzzRoot)/\(kind)/\(target.rawValue)"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { "\(folder)/\($0)" }
    }

    static func replay(_ target: FuzzTarget) throws -> Int {
        let driver = try target.makeDriver()
        var count = 0
        for kind in ["regressions", "corpus"] {
            for path in inputs(target, in: kind) {
                let bytes = try #require(FileManager.default.contents(atPath: path))
                FileHandle.standardError.write(Data("fuzz-\(target.rawValue) replays \(path)\n".utf8))
                driver.run(Array(bytes))
                count += 1
            }
        }
        return count
    }

    @Test(arguments: FuzzTarget.allCases)
    func committedInputsRunCleanly(_ target: FuzzTarget) throws {
        let seeds = Self.inputs(target, in: "corpus").count
        #expect(seeds >= 16, "the corpus of fuzz-\(target.rawValue) is missing")
        #expect(try Self.replay(target) >= seeds)
    }
}
