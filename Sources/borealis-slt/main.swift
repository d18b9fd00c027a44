// borealis-slt: runs sqllogictest files (or every .test file under folders) and prints
// passed/failed/skipped per file and in total.
//
//   borealis-slt [--failures N] PATH…

import BorealisSLT
import Foundation

var arguments = Array(CommandLine.arguments.dropFirst())
var keep = 3
if arguments.first == "--failures", arguments.count > 1 {
    keep = Int(arguments[1]) ?? 3
    arguments.removeFirst(2)
}
guard !arguments.isEmpty else {
    FileHandle.standardError.write(Data("usage: borealis-slt [--failures N] FILE-OR-FOLDER…\n".utf8))
    exit(2)
}
var files: [String] = []
for path in arguments {
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
        files += SLTRunner.files(under: path)
    } else {
        files.append(path)
    }
}
var passed = 0, failed = 0, skipped = 0
let scratch = NSTemporaryDirectory() + "borealis-slt-\(getpid())"
for file in files {
    let result = SLTRunner.run(file: file, scratch: scratch, maxFailuresKept: keep)
    passed += result.passed
    failed += result.failed
    skipped += result.skipped
    print("\(file): passed=\(result.passed) failed=\(result.failed) skipped=\(result.skipped)")
    for failure in result.failures { print("  " + failure) }
}
let rate = passed + failed == 0 ? 1.0 : Double(passed) / Double(passed + failed)
print(String(format: "total: passed=%d failed=%d skipped=%d pass-rate=%.4f", passed, failed, skipped, rate))
exit(failed == 0 ? 0 : 1)
