// Trimming blanks around SQL input text (casts of '  42 ', dates, NUMERIC literals), as
// Foundation's trimmingCharacters(in: .whitespaces) did: spaces (Unicode category Zs) and tabs,
// not newlines. Local because the engine links FoundationEssentials only; `package` so the C
// ABI shims (BorealisC) use it too without making it public API.

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs.
    package func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        func blank(_ s: Unicode.Scalar) -> Bool { s == "\t" || s.properties.generalCategory == .spaceSeparator }
        guard let first = scalars.firstIndex(where: { !blank($0) }) else { return "" }
        let last = scalars.lastIndex(where: { !blank($0) })!
        return String(String.UnicodeScalarView(scalars[first...last]))
    }
}

extension String {
    /// Zero-padded on the left to `width` characters (hex digests, date fields).
    package func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
