import CBorealisABICheck
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
