/// A registered volunteer as stored. Location and availability are not part of it: they
/// live only in memory (see ``LiveVolunteer``); the chosen, coarse `alertArea` is the
/// exception.
public struct VolunteerProfile: Sendable, Equatable {
    public var id: String
    public var displayName: String
    public var skills: [String]
    public var maxDistanceKm: Double
    public var contact: String?
    public var createdAt: Timestamp
    /// `maxAlertsPerDay` and `quietHours` (PROTOCOL.md §7).
    public var fatigue = FatigueLimits()
    /// Where push alerts find the volunteer while no socket is open (PROTOCOL.md §8),
    /// rounded to two decimals (``Rules/alertArea(lat:lon:)``): the one position stored,
    /// because the volunteer chose it.
    public var alertArea: GeoPoint?

    public init(id: String, displayName: String, skills: [String], maxDistanceKm: Double, contact: String?, createdAt: Timestamp) {
        self.id = id
        self.displayName = displayName
        self.skills = skills
        self.maxDistanceKm = maxDistanceKm
        self.contact = contact
        self.createdAt = createdAt
    }
}

/// Whether a volunteer wants alerts now.
public enum Availability: Sendable, Equatable {
    case unavailable
    /// Available, optionally only until the given time.
    case available(until: Timestamp?)

    public func isAvailable(at now: Timestamp) -> Bool {
        switch self {
        case .unavailable: return false
        case .available(let until): return until.map { $0 > now } ?? true
        }
    }
}

/// What the matcher knows about a volunteer who is connected, or was within the grace period.
public struct LiveVolunteer: Sendable, Equatable {
    public var id: String
    public var skills: Set<String>
    public var maxDistanceKm: Double
    /// The position matched: the location the volunteer shared, or for a push-reachable
    /// volunteer their alert area while no socket is open (or none shared yet).
    public var location: GeoPoint?
    public var availability: Availability = .unavailable
    /// Open connections; eligibility requires at least one.
    public var connections: Int = 0
    /// When the last connection closed; the state is forgotten a grace period later.
    public var disconnectedAt: Timestamp?
    /// Push-reachable (PROTOCOL.md §8): present without a connection, at their alert area.
    public var pushReachable = false

    /// Connected, or reachable by push.
    public var isPresent: Bool { connections > 0 || pushReachable }

    public init(id: String, skills: Set<String>, maxDistanceKm: Double) {
        self.id = id
        self.skills = skills
        self.maxDistanceKm = maxDistanceKm
    }
}
