// docs/backup.md's C example, compiled from the document's own text against the C library of
// this build and run twice in a fresh folder: the example a new user copies must work as
// written. Needs a C compiler (`cc`) and the debug build's libBorealisC.so beside the tests.

import Foundation
import Testing

@Suite struct BackupDocExampleTests {
    /// The folder of the build holding libBorealisC.so (beside the test bundle).
    static var libraryFolder: String? {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        for _ in 0..<4 {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("libBorealisC.so").path) { return dir.path }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }

    static var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    @discardableResult
    static func run(_ arguments: [String], in directory: String) throws -> (status: Int32, out: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func theCExampleOfBackupMdCompilesAndRuns() throws {
        let library = try #require(Self.libraryFolder, "build the C library first (swift build)")
        let doc = try String(contentsOf: Self.repository.appendingPathComponent("docs/backup.md"), encoding: .utf8)
        let start = try #require(doc.range(of: "```c\n"))
        let end = try #require(doc.range(of: "```", range: start.upperBound..<doc.endIndex))
        let code = String(doc[start.upperBound..<end.lowerBound])
        let dir = NSTemporaryDirectory() + "borealis-doc-example-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try code.write(toFile: dir + "/backup_example.c", atomically: true, encoding: .utf8)
        let include = Self.repository.appendingPathComponent("Include").path
        let compiled = try Self.run(["cc", "-std=c11", "-Wall", "-Werror", "-I", include, "backup_example.c", "-L", library, "-lBorealisC",
                                     "-Wl,-rpath," + library, "-o", "backup_example"], in: dir)
        #expect(compiled.status == 0, "\(compiled.out)")
        for _ in 0..<2 {
            let ran = try Self.run(["./backup_example"], in: dir)
            #expect(ran.status == 0, "\(ran.out)")
            #expect(ran.out.contains("check shop.db: ok: "))
            #expect(ran.out.contains("backup shop.bbk: ok (LSN "))
            #expect(ran.out.contains("2 rows"))
        }
    }
}
