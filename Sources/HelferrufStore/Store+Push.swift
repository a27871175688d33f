import Crypto
import Foundation
import GRDB
import HelferrufCore

/// One push subscription of a volunteer (PROTOCOL.md §8): where the push service takes
/// messages, and the browser's keys for encrypting them.
public struct PushSubscription: Sendable, Equatable {
    public var endpoint: String
    /// The browser's P-256 public key, 65 bytes uncompressed.
    public var p256dh: [UInt8]
    /// The browser's authentication secret, 16 bytes.
    public var auth: [UInt8]
    public var createdAt: Timestamp

    public init(endpoint: String, p256dh: [UInt8], auth: [UInt8], createdAt: Timestamp) {
        self.endpoint = endpoint
        self.p256dh = p256dh
        self.auth = auth
        self.createdAt = createdAt
    }
}

/// What the live state needs of a volunteer with push subscriptions after a restart.
public struct PushVolunteer: Sendable {
    public var profile: VolunteerProfile
    public var subscriptions: [PushSubscription]
    /// The persisted availability, nil when none is stored.
    public var availability: Availability?
    /// Calls their daily alert limit dropped (as ``WelcomeState`` has it).
    public var dropped: Set<String>
}

/// How both engines store a push-reachable volunteer's standing availability in the
/// `volunteers` columns `standing_available` (1, 0 or NULL) and `standing_until` (millis).
enum StandingAvailability {
    static func columns(_ availability: Availability?) -> (available: Int?, until: Int64?) {
        switch availability {
        case nil: (nil, nil)
        case .unavailable: (0, nil)
        case .available(let t): (1, t?.millis)
        }
    }

    static func read(available: Int?, until: Int64?) -> Availability? {
        switch available {
        case 1: .available(until: until.map { Timestamp(millis: $0) })
        case 0: .unavailable
        default: nil
        }
    }
}

/// How storing a subscription went.
public enum SubscriptionUpsert: Sendable, Equatable {
    /// A new endpoint for this volunteer; the oldest ones that had to make room, if any.
    case created(replaced: [String])
    /// The endpoint was stored already; its keys are refreshed.
    case updated
    /// The volunteer no longer exists.
    case noVolunteer
}

extension Store {
    /// At most this many subscriptions per volunteer; a new one replaces the oldest.
    public static let maxPushSubscriptions = 5

    /// The private scalar (32 bytes) of the server's VAPID key (RFC 8292), created on first
    /// use and kept in the database. It leaves this process only in signatures; the push
    /// client's `VAPIDKey` wraps it (and never prints it).
    public func vapidPrivateKey(now: Timestamp) throws -> [UInt8] {
        try pool.write { db in
            if let raw = try Data.fetchOne(db, sql: "SELECT private_key FROM vapid_key WHERE id = 1") {
                return [UInt8](raw)
            }
            let key = P256.Signing.PrivateKey().rawRepresentation
            try db.execute(sql: "INSERT INTO vapid_key (id, private_key, created_at) VALUES (1, ?, ?)", arguments: [key, now.millis])
            return [UInt8](key)
        }
    }

    /// Stores a subscription, or refreshes the keys of one already stored for that endpoint.
    /// A sixth subscription replaces the volunteer's oldest.
    public func upsertPushSubscription(volunteerId id: String, _ sub: PushSubscription) async throws -> SubscriptionUpsert {
        try await pool.write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM volunteers WHERE id = ?", arguments: [id]) == true else { return .noVolunteer }
            try db.execute(
                sql: "UPDATE push_subscriptions SET p256dh = ?, auth = ? WHERE volunteer_id = ? AND endpoint = ?",
                arguments: [Data(sub.p256dh), Data(sub.auth), id, sub.endpoint])
            if db.changesCount == 1 { return .updated }
            let existing = try String.fetchAll(
                db, sql: "SELECT endpoint FROM push_subscriptions WHERE volunteer_id = ? ORDER BY seq", arguments: [id])
            let replaced = Array(existing.prefix(max(0, existing.count - Self.maxPushSubscriptions + 1)))
            for endpoint in replaced {
                try db.execute(sql: "DELETE FROM push_subscriptions WHERE volunteer_id = ? AND endpoint = ?", arguments: [id, endpoint])
            }
            let seq = (try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM push_subscriptions WHERE volunteer_id = ?", arguments: [id]) ?? 0) + 1
            try db.execute(
                sql: "INSERT INTO push_subscriptions (volunteer_id, endpoint, p256dh, auth, created_at, seq) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [id, sub.endpoint, Data(sub.p256dh), Data(sub.auth), sub.createdAt.millis, seq])
            return .created(replaced: replaced)
        }
    }

    /// Deletes one subscription; returns whether it existed.
    @discardableResult
    public func deletePushSubscription(volunteerId id: String, endpoint: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM push_subscriptions WHERE volunteer_id = ? AND endpoint = ?", arguments: [id, endpoint])
            return db.changesCount == 1
        }
    }

    public func pushSubscriptions(volunteerId id: String) async throws -> [PushSubscription] {
        try await pool.read { db in try Self.subscriptions(db, volunteerId: id) }
    }

    private static func subscriptions(_ db: Database, volunteerId id: String) throws -> [PushSubscription] {
        try Row.fetchAll(db, sql: "SELECT * FROM push_subscriptions WHERE volunteer_id = ? ORDER BY seq", arguments: [id]).map {
            PushSubscription(
                endpoint: $0["endpoint"], p256dh: [UInt8]($0["p256dh"] as Data), auth: [UInt8]($0["auth"] as Data),
                createdAt: Timestamp($0["created_at"] as Int64))
        }
    }

    /// Persists a push-reachable volunteer's availability, or clears it with nil (the
    /// volunteer is no longer push-reachable: availability lives in memory only again).
    public func setStandingAvailability(volunteerId id: String, _ availability: Availability?) async throws {
        let (available, until) = StandingAvailability.columns(availability)
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE volunteers SET standing_available = ?, standing_until = ? WHERE id = ?",
                arguments: [available, until, id])
        }
    }

    /// Every volunteer with at least one push subscription, for the live state at start.
    public func pushVolunteers() throws -> [PushVolunteer] {
        try pool.read { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT * FROM volunteers WHERE id IN (SELECT DISTINCT volunteer_id FROM push_subscriptions)")
            return try rows.map { try Self.pushVolunteer($0, db) }
        }
    }

    /// One volunteer as ``pushVolunteers()`` reads them; nil without a subscription.
    public func pushVolunteer(id: String) async throws -> PushVolunteer? {
        try await pool.read { db in
            try Row.fetchOne(
                db, sql: "SELECT * FROM volunteers WHERE id = ? AND EXISTS (SELECT 1 FROM push_subscriptions WHERE volunteer_id = ?)",
                arguments: [id, id]
            ).map { try Self.pushVolunteer($0, db) }
        }
    }

    private static func pushVolunteer(_ row: Row, _ db: Database) throws -> PushVolunteer {
        let profile = VolunteerProfile(row: row)
        let availability = StandingAvailability.read(available: row["standing_available"], until: row["standing_until"])
        let dropped = try String.fetchAll(
            db, sql: "SELECT call_id FROM suppressions WHERE volunteer_id = ? AND reason = 'daily'", arguments: [profile.id])
        return PushVolunteer(
            profile: profile, subscriptions: try Self.subscriptions(db, volunteerId: profile.id),
            availability: availability, dropped: Set(dropped))
    }

    /// Records alert pushes as sent, so that no (call, volunteer, endpoint) gets a second
    /// one, also after a restart.
    public func recordPushes(callId: String, _ sent: [(volunteerId: String, endpoint: String)], now: Timestamp) async throws {
        try await pool.write { db in
            for s in sent {
                try db.execute(
                    sql: "INSERT OR IGNORE INTO push_sent (call_id, volunteer_id, endpoint, sent_at) SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM volunteers WHERE id = ?)",
                    arguments: [callId, s.volunteerId, s.endpoint, now.millis, s.volunteerId])
            }
        }
    }

    /// The alert pushes sent for the calls that are open or filled: call → volunteer → endpoints.
    public func activePushes() throws -> [String: [String: Set<String>]] {
        try pool.read { db in
            var out: [String: [String: Set<String>]] = [:]
            let rows = try Row.fetchAll(
                db,
                sql: "SELECT p.call_id, p.volunteer_id, p.endpoint FROM push_sent p JOIN calls c ON c.id = p.call_id WHERE c.status IN ('open','filled')")
            for row in rows {
                out[row["call_id"], default: [:]][row["volunteer_id"], default: []].insert(row["endpoint"])
            }
            return out
        }
    }
}
