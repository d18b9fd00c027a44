// The engine links FoundationEssentials only; Platform/ replaces what it used from full
// Foundation. The tests link full Foundation, so they check each replacement against the
// original: NUMERIC's rounding and conversions bit for bit (index keys store them), number
// formatting, trimming, the temporary folder, the recursive lock.

import Testing
import Foundation
@testable import Borealis
@testable import BorealisSQL
@testable import BorealisStorage

@Suite struct FoundationReplacementTests {
    /// A Decimal of 1–38 digits, with a point, an exponent and a sign at random, sometimes the
    /// result of arithmetic (whose mantissas are not what parsing gives).
    private func randomDecimal(_ rng: inout SplitMix64) -> Decimal {
        func one(_ rng: inout SplitMix64) -> Decimal {
            let count = Int.random(in: 1...38, using: &rng)
            var text = String((0..<count).map { _ in "0123456789".randomElement(using: &rng)! })
            if Bool.random(using: &rng) {
                text.insert(".", at: text.index(text.startIndex, offsetBy: Int.random(in: 0...count, using: &rng)))
                if text.hasPrefix(".") { text = "0" + text }
            }
            if Int.random(in: 0..<5, using: &rng) == 0 { text += "e\(Int.random(in: -40...40, using: &rng))" }
            if Bool.random(using: &rng) { text = "-" + text }
            return Decimal(string: text) ?? 0
        }
        let a = one(&rng)
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: return a * one(&rng)
        case 1: let b = one(&rng); return b.isZero ? a : a / b
        case 2: return a + one(&rng)
        default: return a
        }
    }

    @Test func decimalRoundingAndConversionsMatchFoundationBitForBit() {
        var rng = SplitMix64(seed: 14)
        let rules: [(NSDecimalNumber.RoundingMode, DecimalRounding)] = [(.plain, .halfAwayFromZero), (.up, .up), (.down, .down)]
        for _ in 0..<20_000 {
            let d = randomDecimal(&rng)
            if d.isNaN { continue }
            #expect(d.doubleValue.bitPattern == NSDecimalNumber(decimal: d).doubleValue.bitPattern, "\(d)")
            #expect(d.int64Value == NSDecimalNumber(decimal: d).int64Value, "\(d)")
            let scale = Int.random(in: -6...25, using: &rng)
            for (mode, rule) in rules {
                var source = d, expected = Decimal()
                NSDecimalRound(&expected, &source, scale, mode)
                let actual = d.rounded(scale: scale, rule)
                #expect(actual == expected, "\(d) to \(scale) \(rule)")
                #expect(actual.description == NSDecimalNumber(decimal: expected).stringValue)
                // The same mantissa and exponent, so later conversions agree too (zero aside).
                if !expected.isZero {
                    #expect(actual.exponent == expected.exponent && actual.significand == expected.significand, "\(d) to \(scale) \(rule)")
                }
            }
            var source = d, truncated = Decimal()
            NSDecimalRound(&truncated, &source, 0, d < 0 ? .up : .down)
            #expect(d.rounded(scale: 0, .towardZero) == truncated)
        }
    }

    @Test func numberFormattingMatchesStringFormat() {
        var rng = SplitMix64(seed: 15)
        for _ in 0..<2_000 {
            let d = Double(bitPattern: rng.next())
            guard d.isFinite else { continue }
            #expect(cFormat("%.15g", d) == String(format: "%.15g", d))
            let seconds = Double(rng.next() % 10_000_000) / 1_000
            #expect(cFormat("%.6f", seconds) == String(format: "%.6f", seconds))
        }
        #expect(cFormat("%.6f", 1e300).count > 300)
        let bytes = (0..<256).map { UInt8($0) }
        #expect(hexString(bytes) == bytes.map { String(format: "%02x", $0) }.joined())
    }

    @Test func trimmingWhitespaceMatchesFoundation() {
        let blanks = [" ", "\t", "\u{00A0}", "\u{2003}", "\u{3000}", "\n", "\r\n", "\u{0B}", ""]
        for left in blanks {
            for right in blanks {
                for core in ["", "42", " a b ", "é\u{301}", "x\ny"] {
                    let text = left + core + right
                    #expect(text.trimmingWhitespace() == text.trimmingCharacters(in: .whitespaces), "\(Array(text.unicodeScalars))")
                }
            }
        }
    }

    @Test func temporaryDirectoryMatchesFoundation() {
        #expect(temporaryDirectory() == NSTemporaryDirectory())
        #expect(temporaryPath("x") != temporaryPath("x"))
    }

    @Test func recursiveLockIsReentrantAndExcludesOtherThreads() async {
        final class Counter: @unchecked Sendable { var value = 0 }  // guarded by `lock` only
        let lock = RecursiveLock()
        let counter = Counter()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    for _ in 0..<10_000 {
                        lock.withLock { lock.withLock { counter.value += 1 } }
                    }
                }
            }
        }
        #expect(counter.value == 40_000)
    }
}
