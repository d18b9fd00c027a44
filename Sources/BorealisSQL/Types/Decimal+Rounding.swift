// What NUMERIC needs from `Decimal` beyond FoundationEssentials' public API: rounding to a number
// of fraction digits (full Foundation's NSDecimalRound), and conversions to Int64 and Double
// (NSDecimalNumber's int64Value/doubleValue). The engine links FoundationEssentials only, so
// that the C library carries no ICU.
//
// Invariants: results are the ones full Foundation gave, bit for bit — the same value and, when
// not zero, the same mantissa and exponent (NSDecimalRound compacts: no trailing zeros), so a
// later doubleValue is unchanged too. NUMERIC index keys (RecordCodec) store doubleValue and
// int64Value, so they must never change. FoundationReplacementTests checks all of it against
// full Foundation on random values.
//
// The conversions are FoundationEssentials' own, reached through the SPI it opens to
// swift-corelibs-foundation, whose NSDecimalNumber calls exactly these (should a toolchain drop
// them, the build fails here). Rounding divides the mantissa when it fits in 64 bits (numbers of
// up to 19 digits) and works on the digits of `description` otherwise.

@_spi(SwiftCorelibsFoundation) import FoundationEssentials

enum DecimalRounding {
    /// Half away from zero (2.5 → 3, −2.5 → −3): NSDecimalRound's `.plain`, PostgreSQL's round().
    case halfAwayFromZero
    /// Toward +∞ (ceil).
    case up
    /// Toward −∞ (floor).
    case down
    /// Toward zero (trunc).
    case towardZero
}

private let powersOfTen: [UInt64] = (0...19).map { (0..<$0).reduce(UInt64(1)) { power, _ in power * 10 } }
private let largestSmallMantissa = Decimal(UInt64.max)

extension Decimal {
    /// The value rounded to `scale` digits after the point (negative: to tens, hundreds…).
    func rounded(scale: Int, _ rule: DecimalRounding) -> Decimal {
        guard isFinite, !isZero, exponent < -scale else { return self }
        let drop = -scale - exponent               // digits of the mantissa to drop, > 0
        let negative = self < 0
        let mantissa = significand
        guard drop <= 19, -scale <= 127, mantissa <= largestSmallMantissa else {
            return roundedByDigits(scale: scale, rule, negative: negative)
        }
        let divisor = powersOfTen[drop]
        var (kept, remainder) = mantissa._uint64Value.quotientAndRemainder(dividingBy: divisor)
        if Self.roundsAway(rule, negative: negative, nonZero: remainder != 0, half: remainder >= divisor / 2) {
            kept += 1
        }
        guard kept != 0 else { return Decimal() }
        var exponent = -scale
        while kept % 10 == 0 && exponent < 127 {
            kept /= 10
            exponent += 1
        }
        return Decimal(mantissa: kept, exponent: Int16(exponent), isNegative: negative)
    }

    private static func roundsAway(_ rule: DecimalRounding, negative: Bool, nonZero: Bool, half: Bool) -> Bool {
        switch rule {
        case .halfAwayFromZero: return half
        case .up: return nonZero && !negative
        case .down: return nonZero && negative
        case .towardZero: return false
        }
    }

    /// `rounded(scale:_:)` on the decimal digits: for mantissas beyond 64 bits.
    private func roundedByDigits(scale: Int, _ rule: DecimalRounding, negative: Bool) -> Decimal {
        let text = (negative ? -self : self).description
        guard !text.contains("e"), !text.contains("E") else { return self }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        let integer = parts[0].drop { $0 == "0" }
        let digits = Array(integer.utf8) + (parts.count > 1 ? Array(parts[1].utf8) : [])
        let keep = integer.count + scale           // digits left of the rounding position
        guard keep < digits.count else { return self }
        let dropped = digits[max(0, keep)...]
        let firstDropped = keep >= 0 ? dropped.first! : UInt8(ascii: "0")
        let away = Self.roundsAway(rule, negative: negative,
                                   nonZero: dropped.contains { $0 != UInt8(ascii: "0") },
                                   half: firstDropped >= UInt8(ascii: "5"))
        // The kept digits: an integer count of 10^-scale units, plus one when rounding away.
        var kept = keep > 0 ? Array(digits[..<keep]) : []
        if away {
            var i = kept.count - 1
            while i >= 0 && kept[i] == UInt8(ascii: "9") { kept[i] = UInt8(ascii: "0"); i -= 1 }
            if i >= 0 { kept[i] += 1 } else { kept.insert(UInt8(ascii: "1"), at: 0) }
        }
        guard kept.contains(where: { $0 != UInt8(ascii: "0") }) else { return Decimal() }
        let literal = (negative ? "-" : "") + String(decoding: kept, as: UTF8.self) + "e" + String(-scale)
        return Decimal(string: literal) ?? self
    }

    /// The integer part (toward zero) as an Int64: NSDecimalNumber's int64Value (beyond Int64
    /// it keeps the low 64 bits, as there).
    var int64Value: Int64 { _int64Value }

    /// The value as a Double: NSDecimalNumber's doubleValue. Not always the nearest Double
    /// (35553.477592 gives 35553.477591999996), but index keys and query results hold it.
    var doubleValue: Double { _doubleValue }
}
