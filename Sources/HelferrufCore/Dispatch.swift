/// How a call reaches volunteers (PROTOCOL.md §7 "Waves").
public enum DispatchMode: Sendable, Equatable {
    /// Everyone eligible at once, and everyone who becomes eligible later (the v1 rule).
    case broadcast
    /// The nearest eligible volunteers in waves sized by the expected acceptance rate,
    /// widening the radius up to `maxRadiusKm` when a wave finds nobody.
    case waves(maxRadiusKm: Double, waveSeconds: Int)
    /// As few of the nearest eligible volunteers as keep the estimated probability of a
    /// full call by `fillBy` at least `confidence` (PROTOCOL.md §10, ``DeadlinePlanner``),
    /// widening like waves up to `maxRadiusKm`.
    case deadline(fillBy: Timestamp, confidence: Double, maxRadiusKm: Double)

    public var isWaves: Bool {
        if case .waves = self { return true }
        return false
    }

    public var isDeadline: Bool {
        if case .deadline = self { return true }
        return false
    }

    /// The wire name of the mode.
    public var name: String {
        switch self {
        case .broadcast: "broadcast"
        case .waves: "waves"
        case .deadline: "deadline"
        }
    }
}

/// The arithmetic of wave dispatch, kept pure so that the server and the simulation agree.
public enum Waves {
    public static let defaultWaveSeconds = 60
    public static let waveSecondsRange = 1...3600
    /// The rate assumed when an organisation has no ended call to learn from.
    public static let defaultAcceptanceRate = 0.3
    public static let acceptanceRateRange = 0.05...1.0
    /// How many ended calls of the organisation the acceptance rate looks back on.
    public static let historyCalls = 20

    /// The share of alerted volunteers who got a confirmation or a standby place over the
    /// organisation's recent ended calls, clamped to 0.05–1; 0.3 without any alert to learn from.
    public static func acceptanceRate(accepted: Int, alerted: Int) -> Double {
        guard alerted > 0 else { return defaultAcceptanceRate }
        let rate = Double(accepted) / Double(alerted)
        return min(acceptanceRateRange.upperBound, max(acceptanceRateRange.lowerBound, rate))
    }

    /// `ceil(remaining / rate)`, robust against the rounding of the division (3 / 0.3 is 10,
    /// not 11).
    public static func size(remaining: Int, acceptanceRate rate: Double) -> Int {
        guard remaining > 0 else { return 0 }
        let exact = Double(remaining) / rate
        return max(1, Int((exact - 1e-9).rounded(.up)))
    }

    /// The next radius after a wave that found nobody: half the posted radius more, at most
    /// `maxRadiusKm`; nil when the radius cannot grow any more.
    public static func widened(reachedKm: Double, radiusKm: Double, maxRadiusKm: Double) -> Double? {
        guard reachedKm < maxRadiusKm else { return nil }
        return min(maxRadiusKm, reachedKm + radiusKm / 2)
    }
}

/// The funnel stages a client reports for an alert (PROTOCOL.md §7 "Funnel").
public enum FunnelStage: String, Sendable {
    case received, seen
}
