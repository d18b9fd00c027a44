// libFuzzer's entry point for the targets of BorealisFuzz; scripts/fuzz builds this with
// `--sanitize=fuzzer --sanitize=address -Xswiftc -DBOREALIS_LIBFUZZER` and runs it. Built
// without that flag (as `swift build` does), it is a replayer: each argument is an input file,
// run once through the target named by BOREALIS_FUZZ_TARGET.

import BorealisFuzz
import BorealisFuzzWire
import Foundation

nonisolated(unsafe) private var driver: (any FuzzDriver)?

private func loadDriver() -> any FuzzDriver {
    if let driver { return driver }
    let name = ProcessInfo.processInfo.environment["BOREALIS_FUZZ_TARGET"] ?? ""
    // fuzz-wire's driver lives in its own module (it links the SwiftNIO listener).
    guard name == "wire" || FuzzTarget(rawValue: name) != nil else {
        FileHandle.standardError.write(Data("BOREALIS_FUZZ_TARGET must be one of: \((FuzzTarget.allCases.map(\.rawValue) + ["wire"]).joined(separator: ", "))\n".utf8))
        exit(2)
    }
    do {
        let made: any FuzzDriver = try FuzzTarget(rawValue: name)?.makeDriver() ?? WireFuzzer()
        driver = made
        return made
    } catch {
        FileHandle.standardError.write(Data("fuzz target \(name) did not start: \(error)\n".utf8))
        exit(2)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let bytes = start.map { Array(UnsafeRawBufferPointer(start: $0, count: count)) } ?? []
    loadDriver().run(bytes)
    return 0
}

#if !BOREALIS_LIBFUZZER
@main
struct Replayer {
    static func main() {
        let files = CommandLine.arguments.dropFirst()
        guard !files.isEmpty else {
            print("usage: BOREALIS_FUZZ_TARGET=sql|capi|file|wire borealis-fuzz INPUT... (scripts/fuzz runs the fuzzer)")
            exit(2)
        }
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else {
                print("cannot read \(file)")
                exit(1)
            }
            _ = data.withUnsafeBytes { fuzzOneInput($0.baseAddress, $0.count) }
            print("ran \(file)")
        }
    }
}
#endif
