// fuzz-wire's committed inputs (Tests/Fuzz/corpus/wire, Tests/Fuzz/regressions/wire), replayed
// through the driver libFuzzer runs (BorealisFuzzWire; scripts/fuzz wire): it traps when the
// listener sends a malformed frame or an error without a SQLSTATE, keeps a connection open or
// stops answering, so a regression ends the test process with the input's name last on
// standard error.

import BorealisFuzzWire
import Foundation
import Testing

@Suite(.serialized) struct WireFuzzRegressionTests {
    @Test func committedInputsRunCleanly() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().path + "/Fuzz"
        let driver = try WireFuzzer()
        var count = 0, seeds = 0
        for kind in ["regressions", "corpus"] {
            let folder = "\(root)/\(kind)/wire"
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
            if kind == "corpus" { seeds = names.count }
            for name in names {
                let bytes = try #require(FileManager.default.contents(atPath: "\(folder)/\(name)"))
                FileHandle.standardError.write(Data("fuzz-wire replays \(folder)/\(name)\n".utf8))
                driver.run(Array(bytes))
                count += 1
            }
        }
        #expect(seeds >= 16, "the corpus of fuzz-wire is missing")
        // Every 50 inputs the driver checks that a fresh client still gets an answer.
        #expect(count >= 50)
    }
}
