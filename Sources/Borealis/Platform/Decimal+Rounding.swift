// What NUMERIC needs from `Decimal` beyond FoundationEssentials: rounding to a number of
// fraction digits (full Foundation's NSDecimalRound), and conversions to Int64 and Double
// (NSDecimalNumber's int64Value/doubleValue). The engine links FoundationEssentials only, which
// has Decimal's arithmetic and its exact text form but neither of these.
//
// Rounding works on the exact digits of `description` (plain notation, no exponent), so it is
// exact for every Decimal; NUMERIC's hot paths (comparison, + − ×) never round.

import FoundationEssentials

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

extension Decimal {
    /// The value rounded to `scale` digits after the point (negative: to tens, hundreds…).
    func rounded(scale: Int, _ rule: DecimalRounding) -> Decimal {
        guard isFinite, !isZero, exponent < -scale else { return self }
        let negative = self < 0
        let text = (negative ? -self : self).description
        guard !text.contains("e"), !text.contains("E") else { return self }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        let integer = parts[0].drop { $0 == "0" }
        let digits = Array(integer.utf8) + (parts.count > 1 ? Array(parts[1].utf8) : [])
        let keep = integer.count + scale           // digits left of the rounding position
        guard keep < digits.count else { return self }
        let dropped = digits[max(0, keep)...]
        let droppedNonZero = dropped.contains { $0 != UInt8(ascii: "0") }
        let firstDropped = keep >= 0 ? dropped.first! : UInt8(ascii: "0")
        let away: Bool
        switch rule {
        case .halfAwayFromZero: away = firstDropped >= UInt8(ascii: "5")
        case .up: away = droppedNonZero && !negative
        case .down: away = droppedNonZero && negative
        case .towardZero: away = false
        }
        // The kept digits as an integer count of 10^-scale units, plus one when rounding away.
        var kept = keep > 0 ? Array(digits[..<keep]) : []
        if away {
            var i = kept.count - 1
            while i >= 0 && kept[i] == UInt8(ascii: "9") { kept[i] = UInt8(ascii: "0"); i -= 1 }
            if i >= 0 { kept[i] += 1 } else { kept.insert(UInt8(ascii: "1"), at: 0) }
        }
        guard !kept.isEmpty, kept.contains(where: { $0 != UInt8(ascii: "0") }) else { return Decimal() }
        let units = String(decoding: kept, as: UTF8.self)
        let literal = (negative ? "-" : "") + units + "e" + String(-scale)
        return Decimal(string: literal) ?? self
    }

    /// The integer part as an Int64, computed exactly as Foundation's NSDecimalNumber.int64Value
    /// (toward zero; values beyond Int64 keep the low 64 bits, as there). NUMERIC index keys
    /// (RecordCodec) store this number, so it must not change.
    var int64Value: Int64 {
        guard isFinite, !isZero, exponent >= -38, exponent <= 20, var value = mantissa else { return 0 }
        for _ in 0..<abs(exponent) {
            if exponent < 0 {
                value /= 10
            } else {
                let (product, overflow) = value.multipliedReportingOverflow(by: 10)
                if !overflow { value = product }
            }
        }
        let magnitude = UInt64(truncatingIfNeeded: value)
        if self < 0 {
            if magnitude == Int64.max.magnitude + 1 { return .min }
            if magnitude <= Int64.max.magnitude { return -Int64(magnitude) }
        }
        return Int64(bitPattern: magnitude)
    }

    /// The value as a Double, computed exactly as Foundation's NSDecimalNumber.doubleValue: the
    /// binary mantissa, then one division (or multiplication) by 10 per power of ten. That is
    /// not always the nearest Double (35553.477592 gives 35553.477591999996), but NUMERIC index
    /// keys (RecordCodec) store it and query results show it, so it must not change.
    var doubleValue: Double {
        if isNaN { return .nan }
        guard !isZero, let mantissa else { return 0 }
        var d = 0.0
        var word = (mantissa.bitWidth - mantissa.leadingZeroBitCount + 15) / 16
        while word > 0 {
            word -= 1
            d = d * 65536 + Double(UInt16(truncatingIfNeeded: mantissa >> (16 * word)))
        }
        if exponent < 0 {
            for _ in exponent..<0 { d /= 10.0 }
        } else {
            for _ in 0..<exponent { d *= 10.0 }
        }
        return self < 0 ? -d : d
    }

    /// The stored integer mantissa (value = ± mantissa × 10^exponent).
    private var mantissa: UInt128? { UInt128(significand.description) }
}
