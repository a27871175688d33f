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
    }
}

/// Skill slugs are stored comma-separated: a slug never contains a comma.
enum SkillList {
    static func encode(_ skills: [String]) -> String { skills.joined(separator: ",") }
    static func decode(_ text: String) -> [String] {
        text.isEmpty ? [] : text.split(separator: ",").map(String.init)
    }
}
