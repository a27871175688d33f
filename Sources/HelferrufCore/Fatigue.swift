/// A volunteer's limits on alerts (PROTOCOL.md §7 "Fatigue limits").
public struct FatigueLimits: Sendable, Equatable {
    public static let alertsPerDayRange = 1...100
    /// Alerts within any rolling 24 hours; nil: no limit.
    public var maxAlertsPerDay: Int?
    public var quietHours: QuietHours?

    public init(maxAlertsPerDay: Int? = nil, quietHours: QuietHours? = nil) {
        self.maxAlertsPerDay = maxAlertsPerDay
        self.quietHours = quietHours
    }

    public var isUnlimited: Bool { maxAlertsPerDay == nil && quietHours == nil }

    /// What to do with a new alert (one for a call not alerted to this volunteer before).
    public enum Decision: Sendable, Equatable {
        case send
        /// Quiet hours: send when they end, if the call is still open then.
        case hold(until: Timestamp)
        /// Over the daily limit: never sent.
        case drop
    }

    /// Decides a new alert given how many alerts the volunteer got in the last 24 hours.
    /// Quiet hours are checked first: an alert held through the night is decided again, with
    /// the count of that moment, when they end.
    public func decide(now: Timestamp, alertsInLastDay: Int) -> Decision {
        if let quiet = quietHours, quiet.contains(now) { return .hold(until: quiet.end(after: now)) }
        if let max = maxAlertsPerDay, alertsInLastDay >= max { return .drop }
        return .send
    }
}

/// The alert times of one volunteer over the rolling day that the daily limit counts.
public struct AlertWindow: Sendable, Equatable {
    public static let windowMillis: Int64 = 24 * 3600 * 1000
    private var times: [Timestamp]

    public init(times: [Timestamp] = []) {
        self.times = times.sorted()
    }

    /// Alerts after `now - 24 h`, forgetting older ones.
    public mutating func count(now: Timestamp) -> Int {
        let cutoff = now.millis - Self.windowMillis
        if let keep = times.firstIndex(where: { $0.millis > cutoff }) {
            times.removeFirst(keep)
        } else {
            times.removeAll()
        }
        return times.count
    }

    public mutating func record(_ t: Timestamp) { times.append(t) }
}
