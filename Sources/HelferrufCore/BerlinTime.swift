/// Wall-clock time in Europe/Berlin, computed from the EU's daylight saving rule rather
/// than the system's time-zone database, so that the domain stays deterministic and
/// independent of the machine's tzdata.
///
/// Central European Time is UTC+1; summer time (UTC+2) runs from the last Sunday of March,
/// 01:00 UTC, to the last Sunday of October, 01:00 UTC (Directive 2000/84/EC).
public enum BerlinTime {
    /// The offset from UTC in minutes at the instant `t`: 60 or 120.
    public static func utcOffsetMinutes(at t: Timestamp) -> Int {
        let days = floorDiv(t.millis, 86_400_000)
        let year = civil(fromDays: days).year
        let start = lastSunday(year: year, month: 3) * 86_400_000 + 3_600_000
        let end = lastSunday(year: year, month: 10) * 86_400_000 + 3_600_000
        return t.millis >= start && t.millis < end ? 120 : 60
    }

    /// Minutes since local midnight in Berlin at the instant `t` (0..<1440).
    public static func minuteOfDay(at t: Timestamp) -> Int {
        let localMinutes = floorDiv(t.millis, 60_000) + Int64(utcOffsetMinutes(at: t))
        return Int(((localMinutes % 1440) + 1440) % 1440)
    }

    /// Days since 1970-01-01 of the last Sunday of a month.
    static func lastSunday(year: Int64, month: Int64) -> Int64 {
        let nextMonthFirst = month == 12 ? days(fromCivil: year + 1, 1, 1) : days(fromCivil: year, month + 1, 1)
        let last = nextMonthFirst - 1
        // 1970-01-01 was a Thursday; weekday 0 = Sunday.
        let weekday = ((last + 4) % 7 + 7) % 7
        return last - weekday
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        a >= 0 ? a / b : -((-a + b - 1) / b)
    }

    /// Howard Hinnant's `days_from_civil`.
    static func days(fromCivil y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// Howard Hinnant's `civil_from_days`.
    static func civil(fromDays z0: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? yoe + era * 400 + 1 : yoe + era * 400, m, d)
    }
}

/// A volunteer's quiet hours, as Europe/Berlin wall-clock times; they may span midnight
/// (`22:00`–`07:00`).
public struct QuietHours: Sendable, Equatable {
    /// Minutes since midnight; `from != to`.
    public var from: Int
    public var to: Int

    public init(from: Int, to: Int) {
        self.from = from
        self.to = to
    }

    /// Parses `{"from":"HH:MM","to":"HH:MM"}`'s two strings.
    public static func parse(from: String, to: String) throws(ValidationError) -> QuietHours {
        guard let f = minutes(from) else { throw ValidationError(field: "quietHours.from", message: "must be a time HH:MM") }
        guard let t = minutes(to) else { throw ValidationError(field: "quietHours.to", message: "must be a time HH:MM") }
        guard f != t else { throw ValidationError(field: "quietHours.to", message: "must differ from quietHours.from") }
        return QuietHours(from: f, to: t)
    }

    static func minutes(_ s: String) -> Int? {
        let b = Array(s.utf8)
        guard b.count == 5, b[2] == UInt8(ascii: ":"), b.enumerated().allSatisfy({ $0.offset == 2 || (48...57).contains($0.element) }) else {
            return nil
        }
        let h = Int(b[0] - 48) * 10 + Int(b[1] - 48), m = Int(b[3] - 48) * 10 + Int(b[4] - 48)
        guard h < 24, m < 60 else { return nil }
        return h * 60 + m
    }

    public var fromText: String { Self.text(from) }
    public var toText: String { Self.text(to) }

    static func text(_ minutes: Int) -> String {
        let h = minutes / 60, m = minutes % 60
        return (h < 10 ? "0" : "") + String(h) + ":" + (m < 10 ? "0" : "") + String(m)
    }

    /// Whether the instant lies within the quiet hours.
    public func contains(_ t: Timestamp) -> Bool {
        let m = BerlinTime.minuteOfDay(at: t)
        return from < to ? (m >= from && m < to) : (m >= from || m < to)
    }

    /// The first whole minute at or after `t` that lies outside the quiet hours. Walking
    /// minute by minute (at most a day) stays right across the daylight saving changes.
    public func end(after t: Timestamp) -> Timestamp {
        var probe = Timestamp(millis: BerlinTime.floorDiv(t.millis + 59_999, 60_000) * 60_000)
        for _ in 0..<(25 * 60) where contains(probe) {
            probe = probe.adding(millis: 60_000)
        }
        return probe
    }
}
