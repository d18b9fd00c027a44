// borealis-bench: each workload on Borealis and on SQLite in the same invocation, alternating
// engines pair by pair, each run on a fresh database on disk: one child process builds it (the
// untimed setup), another runs the timed part and reports its ops/s and its own peak RSS.
// Prints the median ops/s of each engine, the per-pair ratio Borealis/SQLite (median, min,
// max) and each engine's peak RSS (of the timed part's process).
//
//   borealis-bench [--quick] [--workload NAME]… [--runs N] [--json FILE] [--dir D]

import Borealis
import Foundation

var arguments = Array(CommandLine.arguments.dropFirst())
var quick = false, runs = 5, jsonPath: String?, selected: [String] = []
var directory = FileManager.default.currentDirectoryPath + "/.build/bench"
var child: (EngineKind, String, String)?
var childPath = ""
// Declared before the arguments are read: top-level code runs in order, and the usage text
// lists the workloads (`--help` used to read this before it was set, and crashed).
let allWorkloads = workloads + queryWorkloads + historyWorkloads

@MainActor func usage() -> Never {
    print("usage: borealis-bench [--quick] [--workload NAME]… [--runs N] [--json FILE] [--dir D]")
    print("workloads: " + allWorkloads.map(\.name).joined(separator: ", "))
    exit(2)
}

/// The value after an option, or the usage text when there is none.
@MainActor func optionValue() -> String {
    guard !arguments.isEmpty else { usage() }
    return arguments.removeFirst()
}

while !arguments.isEmpty {
    let a = arguments.removeFirst()
    switch a {
    case "--quick": quick = true
    case "--runs": runs = Int(optionValue()) ?? 5
    case "--json": jsonPath = optionValue()
    case "--workload": selected.append(optionValue())
    case "--dir": directory = optionValue()
    case "--child":
        guard let engine = EngineKind(rawValue: optionValue()) else { exit(2) }
        child = (engine, optionValue(), optionValue())
        childPath = optionValue()
    default:
        usage()
    }
}
let sizes = quick ? Sizes.quick : Sizes.full

if let (engine, name, phase) = child {
    // One phase of one run in this process, on the database at childPath: "setup" builds it;
    // "run" times the workload and prints "ops_per_s peak_rss_kib first_row_ms [note]".
    guard let workload = allWorkloads.first(where: { $0.name == name }) else { exit(2) }
    do {
        if phase == "setup" {
            try workload.setup(engine, childPath, sizes)
            exit(0)
        }
        profilerEnable()
        let start = Date()
        let measured = try timedRun(workload, engine, childPath)
        let seconds = measured.seconds ?? Date().timeIntervalSince(start)
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let note = benchNote.withLock { $0 }
        print("\(Double(measured.ops) / seconds) \(usage.ru_maxrss) \(measured.firstRowMilliseconds ?? -1)" + (note.isEmpty ? "" : " \(note)"))
        exit(0)
    } catch {
        FileHandle.standardError.write(Data("\(engine.rawValue) \(name) \(phase): \(error)\n".utf8))
        exit(1)
    }
}

/// The timed part, in a function of its own so that `valgrind --tool=callgrind
/// --toggle-collect='*timedRun*'` counts instructions of the timed part only.
@inline(never)
func timedRun(_ workload: Workload, _ engine: EngineKind, _ path: String) throws -> Measurement {
    try workload.measure(engine, path, sizes)
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
func runChild(_ engine: EngineKind, _ workload: String, _ phase: String, _ path: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/proc/self/exe")
    process.arguments = ["--child", engine.rawValue, workload, phase, path] + (quick ? ["--quick"] : [])
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw BenchError(description: "\(engine.rawValue) \(workload) \(phase) failed (status \(process.terminationStatus))")
    }
    return output
}

/// One run: a fresh database built by one child, timed in another. Returns ops/s, the timed
/// child's peak RSS, its first-row time (or -1) and its note.
@MainActor
func run(_ engine: EngineKind, _ workload: String) throws -> (Double, Int, Double, String) {
    let dir = directory + "/\(engine.rawValue)-\(workload)-\(getpid())"
    try? FileManager.default.removeItem(atPath: dir)
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    _ = try runChild(engine, workload, "setup", dir + "/db")
    let output = try runChild(engine, workload, "run", dir + "/db")
    let parts = output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ", maxSplits: 3).map(String.init)
    guard parts.count >= 3, let ops = Double(parts[0]), let rss = Int(parts[1]), let firstRow = Double(parts[2]) else {
        throw BenchError(description: "\(engine.rawValue) \(workload): unreadable report \(output)")
    }
    return (ops, rss, firstRow, parts.count > 3 ? parts[3] : "")
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
var report: [[String: Any]] = []
var failed = false
/// The columns of the table: the first left-aligned, the others right-aligned.
func tableLine(_ cells: [String]) -> String {
    let widths = [19, 14, 14, 9, 9, 9, 10, 10]
    return zip(cells, widths).enumerated().map { i, cell in
        let padding = String(repeating: " ", count: max(0, cell.1 - cell.0.count))
        return i == 0 ? cell.0 + padding : padding + cell.0
    }.joined(separator: " ")
}
/// A rate: whole numbers from 100 up, three significant digits below.
func rateText(_ rate: Double) -> String { String(format: rate >= 100 ? "%.0f" : "%.3g", rate) }
print(tableLine(["workload", "borealis/s", "sqlite/s", "ratio", "min", "max", "rss B KiB", "rss S KiB"]))
for workload in allWorkloads where selected.isEmpty || selected.contains(workload.name) {
    var borealis: [Double] = [], sqlite: [Double] = [], ratios: [Double] = []
    var borealisRSS = 0, sqliteRSS = 0
    var firstRows: [EngineKind: [Double]] = [:]
    var notes: [String] = []
    do {
        for pair in 0..<runs {
            // Alternate which engine runs first in a pair.
            let order: [EngineKind] = pair % 2 == 0 ? [.borealis, .sqlite] : [.sqlite, .borealis]
            var result: [EngineKind: Double] = [:]
            for engine in order {
                let (ops, rss, firstRow, note) = try run(engine, workload.name)
                result[engine] = ops
                if firstRow >= 0 { firstRows[engine, default: []].append(firstRow) }
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
    let line = tableLine([workload.name, rateText(median(borealis)), rateText(median(sqlite)),
                          String(format: "%.3g", median(ratios)), String(format: "%.3g", ratios.min()!), String(format: "%.3g", ratios.max()!),
                          "\(borealisRSS)", "\(sqliteRSS)"])
    print(line)
    if let b = firstRows[.borealis], let s = firstRows[.sqlite] {
        print(String(format: "    first row: borealis %.2f ms, sqlite %.2f ms (median)", median(b), median(s)))
    }
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
