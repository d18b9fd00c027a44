// The fuzz targets of issue 19 (docs/robustness.md, "Fuzzing"), one libFuzzer binary
// (`borealis-fuzz`, built by scripts/fuzz) that runs the target named by BOREALIS_FUZZ_TARGET.
// The same drivers replay the committed corpora and every crash input in `swift test`.

import BorealisStorage
import Foundation

public enum FuzzTarget: String, CaseIterable, Sendable {
    case sql, capi, file

    /// Whether this process is the fuzzer (BOREALIS_FUZZ_TARGET set), with nothing else in
    /// it: process-wide checks (files left open) are made only then.
    static let aloneInProcess = ProcessInfo.processInfo.environment["BOREALIS_FUZZ_TARGET"] != nil

    /// The driver of this target, made once per process (each builds its database on first use).
    public func makeDriver() throws -> any FuzzDriver {
        switch self {
        case .sql: return try SQLFuzzer()
        case .capi: return try CAPIFuzzer()
        case .file: return try FileFuzzer()
        }
    }
}

public protocol FuzzDriver: AnyObject {
    /// Runs one input; traps (libFuzzer then saves the input) when an invariant breaks.
    func run(_ bytes: [UInt8])
}

/// The files this process holds open whose paths contain `fragment`, each as "fd → path"
/// (from /proc/self/fd): what an input left open that it should have closed.
func openFiles(containing fragment: String) -> Set<String> {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
    return Set(names.compactMap { name -> String? in
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + name),
              target.contains(fragment) else { return nil }
        return "\(name) → \(target)"
    })
}

/// Traps (libFuzzer keeps the input) unless `error` is a DatabaseError with an SQLSTATE:
/// anything else escaping the library is a finding. `context` names the target and what ran.
package func requireSQLState(_ error: any Error, _ context: @autoclosure () -> String) {
    guard let error = error as? DatabaseError else {
        fatalError("\(context()): an error that is not a DatabaseError: \(error)")
    }
    guard error.sqlState.utf8.count == 5, error.sqlState != "00000" else {
        fatalError("\(context()): an error without an SQLSTATE: \(error)")
    }
}
