// borealis-bench: each workload on Borealis and on SQLite in the same invocation, alternating
// engines pair by pair, each run in a fresh child process on a database on disk; prints the
// median ops/s of each engine, the per-pair ratio Borealis/SQLite (median, min, max) and each
// engine's peak RSS.
//
//   borealis-bench [--quick] [--workload NAME]… [--runs N] [--json FILE] [--dir D]

import Borealis
import Foundation

var arguments = Array(CommandLine.arguments.dropFirst())
var quick = false, runs = 5, jsonPath: String?, selected: [String] = []
var directory = FileManager.default.currentDirectoryPath + "/.build/bench"
var child: (EngineKind, String)?
while !arguments.isEmpty {
    let a = arguments.removeFirst()
    switch a {
    case "--quick": quick = true
    case "--runs": runs = Int(arguments.removeFirst()) ?? 5
    case "--json": jsonPath = arguments.removeFirst()
    case "--workload": selected.append(arguments.removeFirst())
    case "--dir": directory = arguments.removeFirst()
    case "--child":
        guard let engine = EngineKind(rawValue: arguments.removeFirst()) else { exit(2) }
        child = (engine, arguments.removeFirst())
    default:
        print("usage: borealis-bench [--quick] [--workload NAME]… [--runs N] [--json FILE] [--dir D]")
        print("workloads: " + workloads.map(\.name).joined(separator: ", "))
        exit(2)
    }
}
let sizes = quick ? Sizes.quick : Sizes.full

if let (engine, name) = child {
    // One timed run in this process: "ops_per_s peak_rss_kib".
    guard let workload = workloads.first(where: { $0.name == name }) else { exit(2) }
    let dir = directory + "/\(engine.rawValue)-\(name)-\(getpid())"
    try? FileManager.default.removeItem(atPath: dir)
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    do {
        let path = dir + "/db"
        try workload.setup(engine, path, sizes)
        if ProcessInfo.processInfo.environment["BOREALIS_BENCH_VERBOSE"] != nil {
            var setupUsage = rusage()
            getrusage(RUSAGE_SELF.rawValue, &setupUsage)
            FileHandle.standardError.write(Data("peak RSS after setup: \(setupUsage.ru_maxrss) KiB\n".utf8))
        }
        profilerEnable()
        let start = Date()
        let ops = try timedRun(workload, engine, path)
        let seconds = Date().timeIntervalSince(start)
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let note = benchNote.withLock { $0 }
        print("\(Double(ops) / seconds) \(usage.ru_maxrss)" + (note.isEmpty ? "" : " \(note)"))
        try? FileManager.default.removeItem(atPath: dir)
        exit(0)
    } catch {
        FileHandle.standardError.write(Data("\(engine.rawValue) \(name): \(error)\n".utf8))
        try? FileManager.default.removeItem(atPath: dir)
        exit(1)
    }
}

/// The timed part, in a function of its own so that `valgrind --tool=callgrind
/// --toggle-collect='*timedRun*'` counts instructions of the timed part only.
@inline(never)
func timedRun(_ workload: Workload, _ engine: EngineKind, _ path: String) throws -> Int {
    try workload.run(engine, path, sizes)
}

/// `perf record -D -1 --control fifo:CTL` starts disabled; with BOREALIS_BENCH_PERF_CTL=CTL the
/// child enables it after the untimed setup, so a profile holds only the timed part.
func profilerEnable() {
    guard let fifo = ProcessInfo.processInfo.environment["BOREALIS_BENCH_PERF_CTL"],
          let handle = FileHandle(forWritingAtPath: fifo) else { return }
    handle.write(Data("enable\n".utf8))
    try? handle.close()
}

@MainActor
func runChild(_ engine: EngineKind, _ workload: String) throws -> (Double, Int, String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/proc/self/exe")
    process.arguments = ["--child", engine.rawValue, workload, "--dir", directory] + (quick ? ["--quick"] : [])
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    let parts = output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ", maxSplits: 2).map(String.init)
    guard process.terminationStatus == 0, parts.count >= 2, let ops = Double(parts[0]), let rss = Int(parts[1]) else {
        throw BenchError(description: "\(engine.rawValue) \(workload) failed (status \(process.terminationStatus))")
    }
    return (ops, rss, parts.count > 2 ? parts[2] : "")
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
var report: [[String: Any]] = []
var failed = false
print(String(format: "%-18@ %14@ %14@ %8@ %8@ %8@ %10@ %10@", "workload" as NSString, "borealis/s" as NSString, "sqlite/s" as NSString,
             "ratio" as NSString, "min" as NSString, "max" as NSString, "rss B KiB" as NSString, "rss S KiB" as NSString))
for workload in workloads where selected.isEmpty || selected.contains(workload.name) {
    var borealis: [Double] = [], sqlite: [Double] = [], ratios: [Double] = []
    var borealisRSS = 0, sqliteRSS = 0
    var notes: [String] = []
    do {
        for pair in 0..<runs {
            // Alternate which engine runs first in a pair.
            let order: [EngineKind] = pair % 2 == 0 ? [.borealis, .sqlite] : [.sqlite, .borealis]
            var result: [EngineKind: Double] = [:]
            for engine in order {
                let (ops, rss, note) = try runChild(engine, workload.name)
                result[engine] = ops
                if engine == .borealis && !note.isEmpty { notes.append(note) }
                if engine == .borealis { borealisRSS = max(borealisRSS, rss) } else { sqliteRSS = max(sqliteRSS, rss) }
            }
            borealis.append(result[.borealis]!)
            sqlite.append(result[.sqlite]!)
            ratios.append(result[.borealis]! / result[.sqlite]!)
        }
    } catch {
        print("\(workload.name): \(error)")
        failed = true
        continue
    }
    let line = String(format: "%-18@ %14.0f %14.0f %8.2f %8.2f %8.2f %10d %10d", workload.name as NSString, median(borealis), median(sqlite),
                      median(ratios), ratios.min()!, ratios.max()!, borealisRSS, sqliteRSS)
    print(line)
    for note in notes { print("    borealis: \(note)") }
    report.append(["name": workload.name, "borealis_ops_per_s": median(borealis), "sqlite_ops_per_s": median(sqlite),
                   "ratio_median": median(ratios), "ratio_min": ratios.min()!, "ratio_max": ratios.max()!,
                   "borealis_peak_rss_kib": borealisRSS, "sqlite_peak_rss_kib": sqliteRSS, "pairs": runs, "borealis_notes": notes])
}
if let jsonPath {
    let data = try JSONSerialization.data(withJSONObject: ["workloads": report], options: [.prettyPrinted, .sortedKeys])
    try data.write(to: URL(fileURLWithPath: jsonPath))
}
exit(failed ? 1 : 0)
