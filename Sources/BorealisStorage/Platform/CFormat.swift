// printf-style number formatting for the few places that want C's exact output (`%.15g` when a
// double becomes NUMERIC, `%.6f` for replica lag), in place of Foundation's String(format:).
// It formats in the "C" locale whatever the host program chose with setlocale(3), so the
// decimal point is always "." (uselocale is per thread, so this is thread-safe).

#if canImport(Glibc)
import Glibc
#endif

private nonisolated(unsafe) let cLocale: locale_t? = newlocale(Int32(LC_NUMERIC_MASK), "C", nil)

/// `value` formatted by the printf conversion `format` (one double argument, e.g. "%.15g").
package func cFormat(_ format: String, _ value: Double) -> String {
    let previous = cLocale.map { uselocale($0) }
    defer { if let previous { uselocale(previous) } }
    var buffer = [CChar](repeating: 0, count: 64)
    var needed = withVaList([value]) { vsnprintf(&buffer, buffer.count, format, $0) }
    if needed >= buffer.count {
        buffer = [CChar](repeating: 0, count: Int(needed) + 1)
        needed = withVaList([value]) { vsnprintf(&buffer, buffer.count, format, $0) }
    }
    guard needed >= 0 else { return "" }
    return String(decoding: buffer[..<Int(needed)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Bytes as lowercase hexadecimal, two digits each (bytea's output format).
package func hexString<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(bytes.underestimatedCount * 2)
    for byte in bytes {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 15)])
    }
    return String(decoding: out, as: UTF8.self)
}
