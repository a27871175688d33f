import GRDB
import HelferrufCore

/// An organisation that posts calls. Its token is never stored, only a hash of it.
public struct Organisation: Sendable, Equatable {
    public var id: String
    public var name: String
    public var createdAt: Timestamp
    public var disabled: Bool
}

/// One confirmed helper of a call, as the organisation sees it. `displayName` and
/// `contact` are nil once the volunteer erased their account.
public struct Confirmation: Sendable, Equatable {
    public var volunteerId: String
    public var displayName: String?
    public var contact: String?
    public var confirmedAt: Timestamp
    /// People the volunteer brings, themselves included.
    public var party = 1
    /// On site now: checked in and not checked out.
    public var checkedIn = false
    /// The volunteer's no-shows on this organisation's calls in the period asked for.
    public var noShows = 0
}

extension Timestamp {
    init(_ value: Int64) { self.init(millis: value) }
}

extension Organisation {
    init(row: Row) {
        self.init(
            id: row["id"], name: row["name"], createdAt: Timestamp(row["created_at"] as Int64),
            disabled: (row["disabled"] as Int64) != 0)
    }
}

extension VolunteerProfile {
    init(row: Row) {
        self.init(
            id: row["id"], displayName: row["display_name"], skills: SkillList.decode(row["skills"]),
            maxDistanceKm: row["max_distance_km"], contact: row["contact"],
            createdAt: Timestamp(row["created_at"] as Int64))
        let from: Int? = row["quiet_from"], to: Int? = row["quiet_to"]
        fatigue = FatigueLimits(
            maxAlertsPerDay: row["max_alerts_per_day"],
            quietHours: from.flatMap { f in to.map { QuietHours(from: f, to: $0) } })
        if let lat: Double = row["alert_lat"], let lon: Double = row["alert_lon"] { alertArea = GeoPoint(lat: lat, lon: lon) }
    }
}

extension Call {
    /// The columns every call query selects: the call and its organisation's name.
    static let selectSQL = "SELECT c.*, o.name AS org_name FROM calls c JOIN organisations o ON o.id = c.org_id"

    init(row: Row) {
        self.init(
            id: row["id"], orgId: row["org_id"], orgName: row["org_name"], title: row["title"],
            description: row["description"], address: row["address"],
            location: GeoPoint(lat: row["lat"], lon: row["lon"]), radiusKm: row["radius_km"],
            needed: row["needed"], skills: SkillList.decode(row["skills"]),
            startsAt: Timestamp(row["starts_at"] as Int64), endsAt: Timestamp(row["ends_at"] as Int64),
            createdAt: Timestamp(row["created_at"] as Int64),
            status: CallStatus(rawValue: row["status"]) ?? .open,
            confirmed: row["confirmed"], alerted: row["alerted"], declined: row["declined"],
            endedAt: (row["ended_at"] as Int64?).map { Timestamp(millis: $0) })
        switch row["dispatch_mode"] as String? {
        case "waves":
            dispatch = .waves(maxRadiusKm: row["max_radius_km"] ?? radiusKm, waveSeconds: row["wave_seconds"] ?? Waves.defaultWaveSeconds)
        case "deadline":
            dispatch = .deadline(
                fillBy: Timestamp(millis: row["fill_by"] ?? endsAt.millis), confidence: row["confidence"] ?? DeadlinePlanner.defaultConfidence,
                maxRadiusKm: row["max_radius_km"] ?? radiusKm)
            delayModel = DelayModel(
                medianSeconds: row["delay_median_s"] ?? DelayModel.default.medianSeconds, sigma: row["delay_sigma"] ?? DelayModel.default.sigma
            ).clamped
        default:
            break
        }
        acceptanceRate = row["acceptance_rate"] ?? Waves.defaultAcceptanceRate
        standbyEnabled = (row["standby_enabled"] as Int64? ?? 0) != 0
        reachedRadiusKm = row["reached_radius_km"] ?? radiusKm
        waves = row["waves"] ?? 0
        delivered = row["delivered"] ?? 0
        seen = row["seen"] ?? 0
        checkedIn = row["checked_in"] ?? 0
        standby = row["standby"] ?? 0
        suppressed = row["suppressed"] ?? 0
    }
}

/// A message to a call's confirmed helpers: from the organisation, or the summary the
/// server sends when the call expires.
public struct CallMessage: Sendable, Equatable {
    public enum Kind: String, Sendable { case organisation, closeout }

    public var id: String
    public var callId: String
    public var kind: Kind
    public var text: String
    public var at: Timestamp

    public init(id: String, callId: String, kind: Kind, text: String, at: Timestamp) {
        self.id = id
        self.callId = callId
        self.kind = kind
        self.text = text
        self.at = at
    }

    init(row: Row) {
        self.init(
            id: row["id"], callId: row["call_id"], kind: Kind(rawValue: row["kind"]) ?? .organisation, text: row["text"],
            at: Timestamp(row["at"] as Int64))
    }
}

/// Skill slugs are stored comma-separated: a slug never contains a comma.
enum SkillList {
    static func encode(_ skills: [String]) -> String { skills.joined(separator: ",") }
    static func decode(_ text: String) -> [String] {
        text.isEmpty ? [] : text.split(separator: ",").map(String.init)
    }
}

/// Why an alert was held back (PROTOCOL.md §7 "Fatigue limits").
public enum SuppressionReason: String, Sendable {
    case quiet, daily
}

extension FunnelStage {
    /// The `alerts` column the stage sets.
    var column: String { self == .received ? "delivered" : "seen" }
}
