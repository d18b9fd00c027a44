// Time zones for AT TIME ZONE and timezone(zone, ts) (docs/sql.md, "Time zones"): UTC and its
// spellings, PostgreSQL's common abbreviations (EST, PST, CET, …) as fixed offsets, POSIX-style
// offsets ('+05' is five hours *west* of Greenwich, as PostgreSQL reads it), and the IANA
// zones of the system's tz database (/usr/share/zoneinfo, TZif files read here; no ICU).
// A zone is parsed once and kept; its rules are transitions (UTC seconds) and the offset from
// each. Past a file's last transition its last offset holds (Debian's files list transitions
// to 2037).

import BorealisStorage
import Glibc

struct TimeZoneRules: Sendable {
    /// Transition instants, UTC seconds, ascending; `offsets[i]` holds from `transitions[i]`.
    var transitions: [Int64] = []
    var offsets: [Int64] = []
    /// The offset before the first transition (or always, for a fixed zone), seconds east.
    var initial: Int64
    /// The TZif footer's POSIX rule, for instants past the last transition.
    var rule: PosixZoneRule?

    /// Seconds east of UTC at the UTC instant `seconds`.
    func offset(atUTC seconds: Int64) -> Int64 {
        if let rule, let last = transitions.last, seconds >= last { return rule.offset(atUTC: seconds) }
        if let rule, transitions.isEmpty { return rule.offset(atUTC: seconds) }
        var low = 0, high = transitions.count
        while low < high {
            let mid = (low + high) / 2
            if transitions[mid] <= seconds { low = mid + 1 } else { high = mid }
        }
        return low == 0 ? initial : offsets[low - 1]
    }

    /// The UTC instant of local time `local` (seconds), as PostgreSQL resolves it: in a
    /// spring-forward gap the offset before the transition, in a fall-back overlap the one after.
    func utc(ofLocal local: Int64) -> Int64 {
        let before = offset(atUTC: local &- 86_400), after = offset(atUTC: local &+ 86_400)
        if before == after { return local &- before }
        let beforeValid = offset(atUTC: local &- before) == before
        let afterValid = offset(atUTC: local &- after) == after
        if afterValid { return local &- after }
        if beforeValid { return local &- before }
        return local &- before
    }
}

enum TimeZones {
    private static let cache = Locked([String: TimeZoneRules]())
    private static let directory = "/usr/share/zoneinfo"

    /// PostgreSQL's default abbreviations that Borealis knows, in seconds east of UTC.
    private static let abbreviations: [String: Int64] = [
        "utc": 0, "gmt": 0, "z": 0, "zulu": 0, "ut": 0, "universal": 0, "wet": 0,
        "est": -5 * 3600, "edt": -4 * 3600, "cst": -6 * 3600, "cdt": -5 * 3600, "mst": -7 * 3600, "mdt": -6 * 3600,
        "pst": -8 * 3600, "pdt": -7 * 3600, "akst": -9 * 3600, "akdt": -8 * 3600, "hst": -10 * 3600,
        "cet": 3600, "cest": 2 * 3600, "west": 3600, "bst": 3600, "eet": 2 * 3600, "eest": 3 * 3600, "msk": 3 * 3600,
        "ist": 2 * 3600, "jst": 9 * 3600, "kst": 9 * 3600, "hkt": 8 * 3600, "sgt": 8 * 3600,
        "aest": 10 * 3600, "aedt": 11 * 3600, "acst": 34_200, "awst": 8 * 3600, "nzst": 12 * 3600, "nzdt": 13 * 3600,
    ]

    /// The rules of the zone `name`, or 22023 `time zone "…" not recognized`.
    static func rules(_ name: String) throws -> TimeZoneRules {
        let key = name.trimmingWhitespace()
        if let known = cache.withLock({ $0[key] }) { return known }
        let rules = try parse(key, original: name)
        cache.withLock { if $0.count > 256 { $0.removeAll() }; $0[key] = rules }
        return rules
    }

    private static func parse(_ name: String, original: String) throws -> TimeZoneRules {
        let unrecognized = DatabaseError(.error, sqlState: SQLState.invalidParameterValue, "time zone \"\(original)\" not recognized")
        let lower = name.lowercased()
        if let offset = abbreviations[lower] { return TimeZoneRules(initial: offset) }
        if let offset = posixOffset(lower) { return TimeZoneRules(initial: offset) }
        // An IANA name: letters, digits, '_', '-', '+' and '/' parts, no '..'.
        let allowed = name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "_-+/".unicodeScalars.contains($0)) }
        guard allowed, !name.isEmpty, !name.hasPrefix("/"), !name.contains(".."), name.utf8.count < 128 else { throw unrecognized }
        guard let bytes = readFile(directory + "/" + name) ?? caseInsensitiveFile(name), let rules = tzif(bytes) else { throw unrecognized }
        return rules
    }

    /// `+05`, `-8`, `+05:30`, `UTC+3`: POSIX's sign, hours west of Greenwich.
    private static func posixOffset(_ text: String) -> Int64? {
        var s = Substring(text)
        for prefix in ["utc", "gmt"] where s.hasPrefix(prefix) && s.count > prefix.count { s = s.dropFirst(prefix.count) }
        guard let sign = s.first, sign == "+" || sign == "-" else { return nil }
        let parts = s.dropFirst().split(separator: ":", omittingEmptySubsequences: false)
        guard (1...3).contains(parts.count), parts.allSatisfy({ !$0.isEmpty && $0.count <= 2 && $0.allSatisfy(\.isNumber) }),
              let hours = Int64(parts[0]), hours <= 15 else { return nil }
        let minutes = parts.count > 1 ? Int64(parts[1]) ?? 0 : 0
        let seconds = parts.count > 2 ? Int64(parts[2]) ?? 0 : 0
        guard minutes < 60, seconds < 60 else { return nil }
        let west = hours * 3600 + minutes * 60 + seconds
        return sign == "+" ? -west : west
    }

    private static func readFile(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            if n <= 0 { break }
            bytes += buffer[0..<n]
            if bytes.count > 1 << 20 { return nil }
        }
        return bytes
    }

    /// `america/new_york` finds `America/New_York`, as PostgreSQL matches zone names.
    private static func caseInsensitiveFile(_ name: String) -> [UInt8]? {
        var path = directory
        for part in name.split(separator: "/") {
            guard let entries = listDirectory(path), let match = entries.first(where: { $0.lowercased() == part.lowercased() }) else { return nil }
            path += "/" + match
        }
        return readFile(path)
    }

    private static func listDirectory(_ path: String) -> [String]? {
        guard let dir = opendir(path) else { return nil }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// A TZif file's rules (RFC 8536): the version 2+ block with 64-bit times when present.
    static func tzif(_ bytes: [UInt8]) -> TimeZoneRules? {
        func u32(_ at: Int) -> Int64? {
            guard at >= 0, at + 4 <= bytes.count else { return nil }
            return Int64(UInt32(bytes[at]) << 24 | UInt32(bytes[at + 1]) << 16 | UInt32(bytes[at + 2]) << 8 | UInt32(bytes[at + 3]))
        }
        func i32(_ at: Int) -> Int64? { u32(at).map { Int64(Int32(truncatingIfNeeded: $0)) } }
        func i64(_ at: Int) -> Int64? {
            guard let high = u32(at), let low = u32(at + 4) else { return nil }
            return Int64(bitPattern: UInt64(high) << 32 | UInt64(low))
        }
        func header(_ at: Int) -> (isut: Int, isstd: Int, leap: Int, time: Int, type: Int, char: Int)? {
            guard bytes.count >= at + 44, bytes[at..<(at + 4)].elementsEqual("TZif".utf8) else { return nil }
            guard let a = u32(at + 20), let b = u32(at + 24), let c = u32(at + 28), let d = u32(at + 32), let e = u32(at + 36), let f = u32(at + 40),
                  a < 1 << 16, b < 1 << 16, c < 1 << 16, d < 1 << 20, e < 256, e > 0, f < 1 << 16 else { return nil }
            return (Int(a), Int(b), Int(c), Int(d), Int(e), Int(f))
        }
        guard let first = header(0) else { return nil }
        var at = 44
        var counts = first
        var timeSize = 4
        if bytes[4] >= UInt8(ascii: "2") {
            // Skip the version 1 block to the 64-bit one.
            at += first.time * 4 + first.time + first.type * 6 + first.char + first.leap * 8 + first.isstd + first.isut
            guard let second = header(at) else { return nil }
            counts = second
            at += 44
            timeSize = 8
        }
        var transitions: [Int64] = []
        for i in 0..<counts.time {
            guard let t = timeSize == 8 ? i64(at + i * 8) : i32(at + i * 4) else { return nil }
            transitions.append(t)
        }
        let indexStart = at + counts.time * timeSize
        let typeStart = indexStart + counts.time
        guard typeStart + counts.type * 6 <= bytes.count else { return nil }
        var typeOffsets: [Int64] = []
        var firstStandard: Int64?
        for k in 0..<counts.type {
            guard let offset = i32(typeStart + k * 6) else { return nil }
            typeOffsets.append(offset)
            if firstStandard == nil, bytes[typeStart + k * 6 + 4] == 0 { firstStandard = offset }
        }
        var offsets: [Int64] = []
        for i in 0..<counts.time {
            let index = Int(bytes[indexStart + i])
            guard index < typeOffsets.count else { return nil }
            offsets.append(typeOffsets[index])
        }
        // Before the first transition: type 0 (RFC 8536's rule for version 2+ files). After
        // the last: the footer's POSIX rule (version 2+), between newlines after the data.
        var rule: PosixZoneRule?
        if timeSize == 8 {
            let footer = typeStart + counts.type * 6 + counts.char + counts.leap * 12 + counts.isstd + counts.isut
            if footer < bytes.count, bytes[footer] == UInt8(ascii: "\n"),
               let close = bytes[(footer + 1)...].firstIndex(of: UInt8(ascii: "\n")) {
                rule = PosixZoneRule(String(decoding: bytes[(footer + 1)..<close], as: UTF8.self))
            }
        }
        return TimeZoneRules(transitions: transitions, offsets: offsets, initial: typeOffsets.first ?? firstStandard ?? 0, rule: rule)
    }

    /// timestamptz → the zone's local time (a timestamp).
    static func localTime(ofUTC micros: Int64, in rules: TimeZoneRules) throws -> Int64 {
        let seconds = micros >= 0 ? micros / 1_000_000 : -((-(micros + 1)) / 1_000_000) - 1
        let (local, overflow) = micros.addingReportingOverflow(rules.offset(atUTC: seconds) * 1_000_000)
        guard !overflow else { throw DateTime.timestampOutOfRange() }
        return try DateTime.checkedTimestamp(local)
    }

    /// A timestamp read as the zone's local time → timestamptz.
    static func utc(ofLocal micros: Int64, in rules: TimeZoneRules) throws -> Int64 {
        let seconds = micros >= 0 ? micros / 1_000_000 : -((-(micros + 1)) / 1_000_000) - 1
        let offset = seconds &- rules.utc(ofLocal: seconds)
        let (utc, overflow) = micros.subtractingReportingOverflow(offset * 1_000_000)
        guard !overflow else { throw DateTime.timestampOutOfRange() }
        return try DateTime.checkedTimestamp(utc)
    }
}

/// A POSIX TZ rule (`EST5EDT,M3.2.0,M11.1.0`), as a TZif footer gives one: a standard offset
/// and, optionally, a daylight offset with the rules of its start and end each year (`Mm.w.d`,
/// `Jn`, `n`, each at a local time, 02:00 when not given).
struct PosixZoneRule: Sendable {
    struct Change: Sendable {
        enum Day: Sendable { case monthWeekDay(month: Int, week: Int, weekday: Int), julianNoLeap(Int), zeroBased(Int) }
        var day: Day
        var seconds: Int64
    }
    /// Seconds east of UTC.
    var standard: Int64
    var daylight: (offset: Int64, start: Change, end: Change)?

    init?(_ text: String) {
        var s = Substring(text)
        func name() -> Bool {
            if s.first == "<" {
                guard let close = s.firstIndex(of: ">") else { return false }
                s = s[s.index(after: close)...]
                return true
            }
            let letters = s.prefix { $0.isLetter }
            guard letters.count >= 3 else { return false }
            s = s.dropFirst(letters.count)
            return true
        }
        /// [+-]hh[:mm[:ss]] as seconds (sign as written).
        func time() -> Int64? {
            var sign: Int64 = 1
            if s.first == "+" { s = s.dropFirst() } else if s.first == "-" { sign = -1; s = s.dropFirst() }
            var parts: [Int64] = []
            while parts.count < 3 {
                let digits = s.prefix { $0.isNumber }
                guard !digits.isEmpty, digits.count <= 3, let v = Int64(digits) else { break }
                parts.append(v)
                s = s.dropFirst(digits.count)
                guard s.first == ":" else { break }
                s = s.dropFirst()
            }
            guard let hours = parts.first, hours <= 167 else { return nil }
            return sign * (hours * 3600 + (parts.count > 1 ? parts[1] * 60 : 0) + (parts.count > 2 ? parts[2] : 0))
        }
        func change() -> Change? {
            guard s.first == "," else { return nil }
            s = s.dropFirst()
            let day: Change.Day
            if s.first == "M" {
                s = s.dropFirst()
                let fields = s.prefix { $0.isNumber || $0 == "." }.split(separator: ".")
                s = s.dropFirst(s.prefix { $0.isNumber || $0 == "." }.count)
                guard fields.count == 3, let m = Int(fields[0]), let w = Int(fields[1]), let d = Int(fields[2]),
                      (1...12).contains(m), (1...5).contains(w), (0...6).contains(d) else { return nil }
                day = .monthWeekDay(month: m, week: w, weekday: d)
            } else {
                let julian = s.first == "J"
                if julian { s = s.dropFirst() }
                let digits = s.prefix { $0.isNumber }
                s = s.dropFirst(digits.count)
                guard let n = Int(digits), n <= 365 else { return nil }
                day = julian ? .julianNoLeap(max(1, n)) : .zeroBased(n)
            }
            var seconds: Int64 = 7200
            if s.first == "/" {
                s = s.dropFirst()
                guard let t = time() else { return nil }
                seconds = t
            }
            return Change(day: day, seconds: seconds)
        }
        guard name(), let west = time() else { return nil }
        standard = -west
        if s.isEmpty { daylight = nil; return }
        guard name() else { return nil }
        var daylightOffset = standard + 3600
        if let first = s.first, first != "," { guard let west = time() else { return nil }; daylightOffset = -west }
        guard let start = change(), let end = change() else { return nil }
        daylight = (daylightOffset, start, end)
    }

    func offset(atUTC seconds: Int64) -> Int64 {
        guard let daylight else { return standard }
        let days = seconds >= 0 ? seconds / 86_400 : -((-(seconds + 1)) / 86_400) - 1
        let year = DateTime.civil(days).year
        // The start is at local standard time, the end at local daylight time.
        let start = Self.instant(daylight.start, year: year) - standard
        let end = Self.instant(daylight.end, year: year) - daylight.offset
        let inDaylight = start < end ? (seconds >= start && seconds < end) : (seconds >= start || seconds < end)
        return inDaylight ? daylight.offset : standard
    }

    /// The local instant (seconds since 1970, as if UTC) of a change in `year`.
    private static func instant(_ change: Change, year: Int) -> Int64 {
        let day: Int64
        switch change.day {
        case .monthWeekDay(let month, let week, let weekday):
            let first = DateTime.days(year: year, month: month, day: 1)
            let firstWeekday = Int(((first % 7) + 7 + 4) % 7)   // 1970-01-01 was a Thursday
            var dayOfMonth = 1 + (weekday - firstWeekday + 7) % 7 + (week - 1) * 7
            while dayOfMonth > DateTime.daysInMonth(year: year, month: month) { dayOfMonth -= 7 }
            day = first + Int64(dayOfMonth - 1)
        case .julianNoLeap(let n):
            // 1…365, February 29 never counted.
            let leap = DateTime.daysInMonth(year: year, month: 2) == 29
            day = DateTime.days(year: year, month: 1, day: 1) + Int64(n - 1) + (leap && n >= 60 ? 1 : 0)
        case .zeroBased(let n):
            day = DateTime.days(year: year, month: 1, day: 1) + Int64(n)
        }
        return day * 86_400 + change.seconds
    }
}
