// A sqllogictest runner (the format of SQLite's corpus; see ../shared/slt/README.md). Each file
// runs against a fresh database; the engine name for skipif/onlyif is "postgresql".

import Borealis
import Foundation

public struct SLTFileResult: Sendable {
    public var path: String
    public var passed = 0
    public var failed = 0
    public var skipped = 0
    public var failures: [String] = []
}

public enum SLTRunner {
    public static let engineName = "postgresql"

    /// Every .test file under `root`, sorted.
    public static func files(under root: String) -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: root) else { return [] }
        return walker.compactMap { ($0 as? String).flatMap { $0.hasSuffix(".test") ? root + "/" + $0 : nil } }.sorted()
    }

    struct Record {
        var conditions: [(skip: Bool, engine: String)] = []
        var lines: [String] = []
        var lineNumber = 0
    }

    public static func run(file path: String, scratch: String, maxFailuresKept: Int = 5, limit: Int? = nil) -> SLTFileResult {
        var result = SLTFileResult(path: path)
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            result.failed = 1
            result.failures.append("cannot read \(path)")
            return result
        }
        try? FileManager.default.removeItem(atPath: scratch)
        try? FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var options = StorageOptions()
        options.synchronous = .off
        options.cacheBytes = 16 << 20
        options.continuousArchive = false // the files test SQL, not history
        let db: Database
        do { db = try Database(path: scratch + "/db", options: options) } catch {
            result.failed = 1
            result.failures.append("cannot open a database: \(error)")
            return result
        }
        defer { try? db.close() }
        var hashThreshold = 0
        var records: [Record] = []
        var current = Record()
        // Some files end lines with CRLF (one Character in Swift), others with LF.
        for (number, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated() {
            let line = String(rawLine)
            if line.trimmingCharacters(in: .whitespaces).isEmpty {
                if !current.lines.isEmpty { records.append(current) }
                current = Record()
                continue
            }
            if line.hasPrefix("#") { continue }
            if current.lines.isEmpty { current.lineNumber = number + 1 }
            current.lines.append(line)
        }
        if !current.lines.isEmpty { records.append(current) }

        var executed = 0
        for var record in records {
            if let limit, executed >= limit { break }
            // Leading skipif/onlyif lines.
            while let first = record.lines.first, first.hasPrefix("skipif ") || first.hasPrefix("onlyif ") {
                let words = first.split(separator: " ")
                record.conditions.append((first.hasPrefix("skipif"), words.count > 1 ? String(words[1]) : ""))
                record.lines.removeFirst()
            }
            guard let head = record.lines.first else { continue }
            let words = head.split(separator: " ").map(String.init)
            let skip = record.conditions.contains { ($0.skip && $0.engine == engineName) || (!$0.skip && $0.engine != engineName) }
            switch words.first {
            case "hash-threshold":
                hashThreshold = words.count > 1 ? Int(words[1]) ?? 0 : 0
                continue
            case "halt":
                if skip { continue }
                return result
            case "statement", "query":
                break
            default:
                continue
            }
            if skip {
                result.skipped += 1
                continue
            }
            executed += 1
            let where_ = "\(path):\(record.lineNumber)"
            if words[0] == "statement" {
                let sql = record.lines.dropFirst().joined(separator: "\n")
                let expectError = words.count > 1 && words[1] == "error"
                // `statement error 2200H`: the error must carry that SQLSTATE.
                let expectedState = expectError && words.count > 2 && words[2].count == 5 ? String(words[2]) : nil
                do {
                    _ = try db.execute(sql)
                    if expectError { fail(&result, "\(where_): statement should have failed: \(sql)", maxFailuresKept) } else { result.passed += 1 }
                } catch {
                    if !expectError {
                        fail(&result, "\(where_): \(error): \(sql)", maxFailuresKept)
                    } else if let expectedState, (error as? DatabaseError)?.sqlState != expectedState {
                        fail(&result, "\(where_): expected SQLSTATE \(expectedState), got \(error): \(sql)", maxFailuresKept)
                    } else {
                        result.passed += 1
                    }
                }
                continue
            }
            // query <types> [sort] [label]
            let types = words.count > 1 ? Array(words[1]) : []
            let sort = words.count > 2 ? words[2] : "nosort"
            let body = record.lines.dropFirst()
            let separator = body.firstIndex(of: "----")
            let sql = (separator.map { body[body.startIndex..<$0] } ?? body[...]).joined(separator: "\n")
            let expected = separator.map { Array(body[($0 + 1)...]) } ?? []
            do {
                let output = try db.execute(sql)
                var rows = output.rows.map { row in row.enumerated().map { format($0.element, type: $0.offset < types.count ? types[$0.offset] : "T") } }
                if types.count != output.columns.count && !output.columns.isEmpty {
                    fail(&result, "\(where_): \(output.columns.count) columns, expected \(types.count): \(sql)", maxFailuresKept)
                    continue
                }
                var values: [String]
                switch sort {
                case "rowsort":
                    rows.sort { $0.lexicographicallyPrecedes($1) }
                    values = rows.flatMap { $0 }
                case "valuesort":
                    values = rows.flatMap { $0 }.sorted()
                default:
                    values = rows.flatMap { $0 }
                }
                let actual: [String]
                if expected.count == 1, expected[0].contains(" values hashing to ") {
                    actual = ["\(values.count) values hashing to \(MD5.hex(Array(values.map { $0 + "\n" }.joined().utf8)))"]
                } else if hashThreshold > 0 && values.count > hashThreshold && expected.count != values.count {
                    actual = ["\(values.count) values hashing to \(MD5.hex(Array(values.map { $0 + "\n" }.joined().utf8)))"]
                } else {
                    actual = values
                }
                // Some files print a whole row per line, separated by spaces.
                let expectedValues = expected.count == actual.count ? expected : expected.flatMap { $0.split(separator: " ").map(String.init) }
                if actual == expectedValues || actual == expected {
                    result.passed += 1
                } else {
                    fail(&result, "\(where_): got \(actual.prefix(8)), expected \(expected.prefix(8)): \(sql)", maxFailuresKept)
                }
            } catch {
                fail(&result, "\(where_): \(error): \(sql)", maxFailuresKept)
            }
        }
        return result
    }

    private static func fail(_ result: inout SLTFileResult, _ message: String, _ keep: Int) {
        result.failed += 1
        if result.failures.count < keep { result.failures.append(message) }
    }

    /// Prints a value the way the corpus expects for a column of type I, R or T.
    static func format(_ value: Value, type: Character) -> String {
        if value.isNull { return "NULL" }
        switch type {
        case "I":
            switch value {
            case .integer(let v): return String(v)
            case .double(let d): return d.isFinite ? String(Int64(d.rounded(.towardZero))) : "0"
            case .numeric(let n): return String(Int64(n.doubleValue.rounded(.towardZero)))
            case .boolean(let b): return b ? "1" : "0"
            case .text(let s):
                let digits = s.trimmingCharacters(in: .whitespaces).prefix { $0.isNumber || $0 == "-" || $0 == "+" }
                return String(Int64(digits) ?? 0)
            default: return "0"
            }
        case "R":
            switch value {
            case .integer(let v): return String(format: "%.3f", Double(v))
            case .double(let d): return String(format: "%.3f", d)
            case .numeric(let n): return String(format: "%.3f", n.doubleValue)
            case .text(let s): return String(format: "%.3f", Double(s) ?? 0)
            case .boolean(let b): return b ? "1.000" : "0.000"
            default: return "0.000"
            }
        default:
            let text = value.description
            if text.isEmpty { return "(empty)" }
            // One @ per code point outside printable ASCII, as scripts/slt-expect-from-postgres
            // renders PostgreSQL's (a letter with a combining mark is two).
            var rendered = String.UnicodeScalarView()
            for scalar in text.unicodeScalars { rendered.append((32..<127).contains(scalar.value) ? scalar : "@") }
            return String(rendered)
        }
    }
}
