// `fuzz-file` (issue 19): damaged copies of real databases, the damage chosen by the input —
// zeroed blocks, flipped bytes, truncated, deleted and swapped files (DamageHarness.damage,
// with the input as its source of choices). Three bases are built once per process: two at the
// storage level (one closed cleanly, one abandoned as a killed process leaves it) and one SQL
// database with a catalog, an index and a view, closed cleanly. Opening a copy must either fail
// with a DatabaseError or give back every acknowledged row unchanged (or fail reading it); a
// storage copy gets the storage half of the integrity check and is judged exactly as
// `borealis-stress damage` judges it (DamageHarness.judge); an SQL copy gets the whole
// integrity check, and its table, index and view must answer as the base did or fail with an
// SQLSTATE. No file of the copy may stay open afterwards.

import Borealis
import BorealisStorage
import BorealisStress
import Foundation

public final class FileFuzzer: FuzzDriver {
    private let folder: String
    private let storageBases: [(directory: String, base: DamageHarness.Base)]
    private let sqlBase: String
    private static let sqlRows = 300

    public init() throws {
        folder = temporaryPath("borealis-fuzz-file")
        let fm = FileManager.default
        var bases: [(String, DamageHarness.Base)] = []
        var rng = SplitMix64(seed: 19)
        // One closed and one killed base (buildBase chooses which from the generator).
        while bases.count < 2 {
            let directory = folder + "/storage\(bases.count)"
            try? fm.removeItem(atPath: directory)
            try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let base = try DamageHarness.buildBase(at: directory + "/db", rng: &rng)
            if base.clean == (bases.count == 0) { bases.append((directory, base)) }
        }
        storageBases = bases
        sqlBase = folder + "/sql"
        try fm.createDirectory(atPath: sqlBase, withIntermediateDirectories: true)
        var options = StorageOptions()
        options.segmentCapacity = 64 << 10
        let db = try Database(path: sqlBase + "/db", options: options)
        try db.execute("CREATE TABLE t (id int PRIMARY KEY, k int, v text); CREATE INDEX t_k ON t (k); CREATE VIEW tv AS SELECT k, count(*) AS n FROM t GROUP BY k")
        for start in stride(from: 1, through: Self.sqlRows, by: 10) {
            try db.execute("INSERT INTO t SELECT g, g % 17, repeat(chr(65 + g % 26), g % 300) FROM generate_series(\(start), \(start + 9)) AS g")
        }
        try db.close()
    }

    deinit { try? FileManager.default.removeItem(atPath: folder) }

    /// The input's bytes as the damage's random choices: 32 bits per draw, zeros once spent.
    private struct InputGenerator: RandomNumberGenerator {
        var input: FuzzInput
        mutating func next() -> UInt64 {
            UInt64(input.byte()) << 24 | UInt64(input.byte()) << 16 | UInt64(input.byte()) << 8 | UInt64(input.byte())
        }
    }

    public func run(_ bytes: [UInt8]) {
        // An open that fails must close what it opened (30,000 refused opens used to end in EMFILE).
        defer {
            let leaked = openFiles(containing: folder)
            if !leaked.isEmpty { fatalError("fuzz-file: files left open: \(leaked.sorted())") }
        }
        var input = FuzzInput(bytes)
        let which = input.below(3)
        let damageCount = 1 + input.below(3)
        let source = which < 2 ? storageBases[which].directory : sqlBase
        let copy = folder + "/copy"
        let fm = FileManager.default
        // libFuzzer's timeout alarm can interrupt a copy (EINTR, which FileManager does not
        // retry): a few attempts.
        for attempt in 1...5 {
            do {
                try? fm.removeItem(atPath: copy)
                try fm.copyItem(atPath: source, toPath: copy)
                break
            } catch {
                if attempt == 5 { fatalError("fuzz-file: copying the base failed: \(error)") }
            }
        }
        defer { try? fm.removeItem(atPath: copy) }
        var generator = InputGenerator(input: input)
        var damages: [String] = []
        for _ in 0..<damageCount {
            do {
                damages.append(try DamageHarness.damage(copy + "/db", rng: &generator))
            } catch {
                fatalError("fuzz-file: damaging the copy failed: \(error)")
            }
        }
        if which < 2 {
            checkStorage(copy + "/db", damages)
            if case .lost(let message) = DamageHarness.judge(copy + "/db", base: storageBases[which].base, damages: damages) {
                fatalError("fuzz-file: \(damages.joined(separator: "; ")): \(message)")
            }
        } else {
            checkSQL(copy + "/db", damages)
        }
    }

    /// The storage half of the integrity check (page checksums, the log up to the snapshot)
    /// on a copy that opens: it reports damage as problems, never traps or throws anything but
    /// a DatabaseError.
    private func checkStorage(_ path: String, _ damages: [String]) {
        let engine: StorageEngine
        do {
            engine = try StorageEngine(path: path, options: DamageHarness.options())
        } catch {
            requireSQLState(error, "fuzz-file: \(damages.joined(separator: "; "))")
            return
        }
        defer { try? engine.close() }
        do {
            let reader = try engine.beginRead()
            defer { reader.rollback() }
            var report = IntegrityReport()
            engine.checkPageChecksums(into: &report)
            engine.checkLog(through: reader.snapshot, into: &report)
        } catch {
            requireSQLState(error, "fuzz-file: \(damages.joined(separator: "; "))")
        }
    }

    private func checkSQL(_ path: String, _ damages: [String]) {
        let what = damages.joined(separator: "; ")
        func expect(_ error: any Error) { requireSQLState(error, "fuzz-file: \(damages.joined(separator: "; "))") }
        var options = StorageOptions()
        options.createIfMissing = false
        options.busyTimeoutMilliseconds = 100
        let db: Database
        do {
            db = try Database(path: path, options: options)
        } catch {
            expect(error)
            return
        }
        defer { try? db.close() }
        do {
            _ = try db.checkIntegrity()
        } catch {
            expect(error)
        }
        do {
            let rows = try db.query("SELECT id, k, length(v) FROM t ORDER BY id")
            guard rows.count == Self.sqlRows else { fatalError("fuzz-file: \(what): \(rows.count) rows, not \(Self.sqlRows)") }
            for (i, row) in rows.enumerated() {
                let id = Int64(i + 1)
                guard row[0] == .integer(id), row[1] == .integer(id % 17), row[2] == .integer(id % 300) else {
                    fatalError("fuzz-file: \(what): row \(i + 1) reads \(row)")
                }
            }
        } catch {
            expect(error)
        }
        do {
            let rows = try db.query("SELECT count(*) FROM t WHERE k = 5")
            guard rows.first?[0] == .integer(Int64((1...Self.sqlRows).filter { $0 % 17 == 5 }.count)) else {
                fatalError("fuzz-file: \(what): the index finds \(String(describing: rows.first?[0])) rows with k = 5")
            }
            let view = try db.query("SELECT sum(n) FROM tv")
            guard view.first?[0] == .integer(Int64(Self.sqlRows)) else {
                fatalError("fuzz-file: \(what): the view counts \(String(describing: view.first?[0])) rows")
            }
        } catch {
            expect(error)
        }
    }
}
