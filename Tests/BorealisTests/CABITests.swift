import CBorealisABICheck
@testable import BorealisC
import BorealisStorage
import Testing

/// Runs the C program of Sources/CBorealisABICheck, which includes Include/borealis.h and
/// calls every function (misuse cases included).
@Suite struct CABITests {
    @Test func everyHeaderFunctionBehavesFromC() {
        let dir = TemporaryDirectory()
        var report = [CChar](repeating: 0, count: 4096)
        let failures = borealis_abi_check(dir.path, &report, Int32(report.count))
        let text = String(decoding: report.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        #expect(failures == 0, "\(text)")
    }
}

/// The registry of live handles against Set<UInt>, through inserts, removals and the rebuilds
/// they cause (removed slots must not hide the keys after them).
@Suite struct HandleSetTests {
    @Test func agreesWithASetThroughInsertsRemovalsAndRebuilds() {
        var handles = HandleSet()
        var reference = Set<UInt>()
        var rng = SplitMix64(seed: 9)
        // Aligned addresses, as objects have, from a small range so that keys come back.
        for _ in 0..<20_000 {
            let key = UInt(16 + (rng.next() % 3_000) * 16)
            if rng.next() % 3 == 0 {
                #expect(handles.remove(key) == (reference.remove(key) != nil))
            } else {
                #expect(handles.insert(key) == reference.insert(key).inserted)
            }
            let probe = UInt(16 + (rng.next() % 3_000) * 16)
            #expect(handles.contains(probe) == reference.contains(probe))
        }
        #expect(handles.count == reference.count)
        for key in reference { #expect(handles.contains(key)) }
        // The two reserved values are never handles, with empty and removed slots about.
        #expect(!handles.insert(0) && !handles.insert(1))
        #expect(!handles.contains(0) && !handles.contains(1))
    }
}
