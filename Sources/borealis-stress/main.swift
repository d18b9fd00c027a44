// borealis-stress: crash and fault loops over the storage engine.
//
//   borealis-stress crash  --dir D --cycles N [--seed S] [--racers R] [--backups 1] [--archive 1]
//                                                      real processes killed with SIGKILL (R processes
//                                                      racing to open each cycle; with --backups 1 the
//                                                      child also backs up and restores, BackupCrash.swift;
//                                                      with --archive 1 it keeps a continuous archive, ArchiveCrash.swift)
//   borealis-stress faults --dir D --cases N [--seed S]    fault-injecting file system
//   borealis-stress damage --dir D --copies N [--seed S]   damaged copies of a database (DamageHarness.swift)
//   borealis-stress commits --dir D [--threads T] [--transactions N]   durable commits/s, commits per fdatasync
//   borealis-stress soak   --dir D [--transactions N]      write load with one long reader: peak log folder
//   borealis-stress child  --dir D --seed S --start N      (internal: the crash loop's writer)
//
// The last line is `crash-cycles=N commits=X lost=L corrupt=C`, `fault-cases=N lost=L corrupt=C`
// or `damaged-copies=N intact=I refused=R lost=L`; the exit status is non-zero unless L and C are 0.

import Borealis
import BorealisStress
import Foundation

func usage() -> Never {
    FileHandle.standardError.write(Data("""
    usage: borealis-stress crash  --dir D --cycles N [--seed S] [--racers R] [--backups 1] [--archive 1] [--verbose]
           borealis-stress faults --dir D --cases N [--seed S] [--verbose]
           borealis-stress damage --dir D --copies N [--seed S] [--verbose]
           borealis-stress commits --dir D [--threads T] [--transactions N]
           borealis-stress soak --dir D [--transactions N]

    """.utf8))
    exit(2)
}

var arguments = Array(CommandLine.arguments.dropFirst())
guard let command = arguments.first else { usage() }
arguments.removeFirst()
var values: [String: String] = [:]
var verbose = false
while let flag = arguments.first {
    arguments.removeFirst()
    if flag == "--verbose" { verbose = true; continue }
    guard flag.hasPrefix("--"), let value = arguments.first else { usage() }
    arguments.removeFirst()
    values[String(flag.dropFirst(2))] = value
}
let directory = values["dir"] ?? "/tmp/borealis-stress"
let seed = values["seed"].flatMap(UInt64.init) ?? UInt64(Date().timeIntervalSince1970 * 1000)
let log: (String) -> Void = { line in if verbose { print(line) } }

switch command {
case "child":
    guard let start = values["start"].flatMap(UInt64.init) else { usage() }
    do {
        try CrashHarness.runChild(directory: directory, seed: seed, start: start, racing: values["racing"] != nil, backups: values["backups"] != nil,
                                  archive: values["archive"] != nil)
    } catch {
        FileHandle.standardError.write(Data("child: \(error)\n".utf8))
        exit(1)
    }
case "crash":
    guard let cycles = values["cycles"].flatMap(Int.init) else { usage() }
    try? FileManager.default.removeItem(atPath: directory)
    print("seed=\(seed)")
    do {
        let report = try CrashHarness.run(directory: directory, cycles: cycles, seed: seed, executable: "/proc/self/exe",
                                          racers: values["racers"].flatMap(Int.init) ?? 1, backups: values["backups"] == "1",
                                          archive: values["archive"] == "1", log: log)
        for failure in report.failures { print(failure) }
        print(report.summary)
        exit(report.lost == 0 && report.corrupt == 0 && report.cycles == cycles ? 0 : 1)
    } catch {
        print("crash loop failed: \(error)")
        exit(1)
    }
case "faults":
    guard let cases = values["cases"].flatMap(Int.init) else { usage() }
    print("seed=\(seed)")
    let report = FaultHarness.run(cases: cases, seed: seed, only: values["only"].flatMap(Int.init), log: log)
    for failure in report.failures { print(failure) }
    print(report.summary)
    exit(report.lost == 0 && report.corrupt == 0 && report.failures.isEmpty ? 0 : 1)
case "damage":
    guard let copies = values["copies"].flatMap(Int.init) else { usage() }
    try? FileManager.default.removeItem(atPath: directory)
    print("seed=\(seed)")
    let report = DamageHarness.run(directory: directory, copies: copies, seed: seed, log: log)
    for failure in report.failures { print(failure) }
    print(report.summary)
    try? FileManager.default.removeItem(atPath: directory)
    exit(report.lost == 0 && report.failures.isEmpty ? 0 : 1)
case "commits":
    let threads = values["threads"].flatMap(Int.init) ?? 8
    let count = values["transactions"].flatMap(Int.init) ?? 2000
    do {
        print(try LoadHarness.durableCommits(directory: directory, threads: threads, perThread: count))
    } catch {
        print("commit load failed: \(error)")
        exit(1)
    }
case "soak":
    var options = StorageOptions()
    options.segmentCapacity = 1 << 20
    options.materializeThresholdBytes = 1 << 20
    options.logSoftCapBytes = 8 << 20
    options.logHardCapBytes = 32 << 20
    do {
        let result = try LoadHarness.longReaderSoak(directory: directory, commits: values["transactions"].flatMap(Int.init) ?? 20000, options: options)
        print(result)
        exit(result.readerSawItsSnapshot && result.peakLogFolderBytes < result.hardCapBytes ? 0 : 1)
    } catch {
        print("soak failed: \(error)")
        exit(1)
    }
default:
    usage()
}
