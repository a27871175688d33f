import Crypto
import Foundation
import HelferrufCore
import PostgresNIO

extension PostgresStore: PushRecords {
    /// The first node to ask creates the key; ON CONFLICT lets any other keep the stored one.
    public func vapidPrivateKey(now: Timestamp) async throws -> [UInt8] {
        let candidate = P256.Signing.PrivateKey().rawRepresentation
        return try await database.run { [client] in
            try await client.query(
                "INSERT INTO vapid_key (id, private_key, created_at) VALUES (1, \(candidate), \(now.millis)) ON CONFLICT (id) DO NOTHING")
            guard let key = try await Self.all(client.query("SELECT private_key FROM vapid_key WHERE id = 1"), as: Data.self).first else {
                throw StoreError.unavailable("VAPID key missing after insert")
            }
            return [UInt8](key)
        }
    }

    /// In one transaction with the volunteer's row locked, so that two tabs subscribing at
    /// once on different nodes still keep at most ``Store/maxPushSubscriptions``.
    public func upsertPushSubscription(volunteerId id: String, _ sub: PushSubscription) async throws -> SubscriptionUpsert {
        let (p256dh, auth) = (Data(sub.p256dh), Data(sub.auth))
        return try await database.run { [client, logger] in
            try await client.withTransaction(logger: logger) { conn -> SubscriptionUpsert in
                guard try await !Self.all(conn.query("SELECT id FROM volunteers WHERE id = \(id) FOR UPDATE", logger: logger), as: String.self).isEmpty
                else { return .noVolunteer }
                let refreshed = try await Self.all(
                    conn.query("""
                        UPDATE push_subscriptions SET p256dh = \(p256dh), auth = \(auth)
                        WHERE volunteer_id = \(id) AND endpoint = \(sub.endpoint) RETURNING endpoint
                        """, logger: logger),
                    as: String.self)
                if !refreshed.isEmpty { return .updated }
                let existing = try await Self.all(
                    conn.query("SELECT endpoint FROM push_subscriptions WHERE volunteer_id = \(id) ORDER BY seq", logger: logger), as: String.self)
                let replaced = Array(existing.prefix(max(0, existing.count - Store.maxPushSubscriptions + 1)))
                for endpoint in replaced {
                    try await conn.query("DELETE FROM push_subscriptions WHERE volunteer_id = \(id) AND endpoint = \(endpoint)", logger: logger)
                }
                try await conn.query("""
                    INSERT INTO push_subscriptions (volunteer_id, endpoint, p256dh, auth, created_at, seq)
                    SELECT \(id), \(sub.endpoint), \(p256dh), \(auth), \(sub.createdAt.millis),
                           COALESCE(MAX(seq), 0) + 1 FROM push_subscriptions WHERE volunteer_id = \(id)
                    """, logger: logger)
                return .created(replaced: replaced)
            }
        }
    }

    @discardableResult
    public func deletePushSubscription(volunteerId id: String, endpoint: String) async throws -> Bool {
        try await database.run { [client] in
            try await !Self.all(
                client.query("DELETE FROM push_subscriptions WHERE volunteer_id = \(id) AND endpoint = \(endpoint) RETURNING endpoint"),
                as: String.self
            ).isEmpty
        }
    }

    public func pushSubscriptions(volunteerId id: String) async throws -> [PushSubscription] {
        try await database.run { [client] in try await Self.subscriptions(client, volunteerId: id) }
    }

    private static func subscriptions(_ client: PostgresClient, volunteerId id: String) async throws -> [PushSubscription] {
        try await all(
            client.query("SELECT endpoint, p256dh, auth, created_at FROM push_subscriptions WHERE volunteer_id = \(id) ORDER BY seq"),
            as: (String, Data, Data, Int64).self
        ).map { PushSubscription(endpoint: $0.0, p256dh: [UInt8]($0.1), auth: [UInt8]($0.2), createdAt: Timestamp($0.3)) }
    }

    public func setStandingAvailability(volunteerId id: String, _ availability: Availability?) async throws {
        let (available, until) = StandingAvailability.columns(availability)
        try await database.run { [client] in
            try await client.query("UPDATE volunteers SET standing_available = \(available), standing_until = \(until) WHERE id = \(id)")
        }
    }

    public func pushVolunteers() async throws -> [PushVolunteer] {
        try await database.run { [client] in
            let rows = try await Self.all(
                client.query("""
                    SELECT \(unescaped: Self.profileColumns), standing_available, standing_until FROM volunteers
                    WHERE id IN (SELECT DISTINCT volunteer_id FROM push_subscriptions)
                    """),
                as: (String, String, String, Double, String?, Int64, Int?, Int?, Int?, Double?, Double?, Int?, Int64?).self)
            var out: [PushVolunteer] = []
            for r in rows { out.append(try await Self.pushVolunteer(r, client)) }
            return out
        }
    }

    public func pushVolunteer(id: String) async throws -> PushVolunteer? {
        try await database.run { [client] in
            guard let r = try await Self.all(
                client.query("""
                    SELECT \(unescaped: Self.profileColumns), standing_available, standing_until FROM volunteers
                    WHERE id = \(id) AND EXISTS (SELECT 1 FROM push_subscriptions WHERE volunteer_id = \(id))
                    """),
                as: (String, String, String, Double, String?, Int64, Int?, Int?, Int?, Double?, Double?, Int?, Int64?).self
            ).first else { return nil }
            return try await Self.pushVolunteer(r, client)
        }
    }

    private static func pushVolunteer(
        _ r: (String, String, String, Double, String?, Int64, Int?, Int?, Int?, Double?, Double?, Int?, Int64?), _ client: PostgresClient
    ) async throws -> PushVolunteer {
        let profile = profile((r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8, r.9, r.10))
        let availability = StandingAvailability.read(available: r.11, until: r.12)
        let dropped = try await all(
            client.query("SELECT call_id FROM suppressions WHERE volunteer_id = \(profile.id) AND reason = 'daily'"), as: String.self)
        return PushVolunteer(
            profile: profile, subscriptions: try await subscriptions(client, volunteerId: profile.id),
            availability: availability, dropped: Set(dropped))
    }

    /// One statement per push, all in one transaction; a push for a volunteer erased
    /// meanwhile is not recorded.
    public func recordPushes(callId: String, _ sent: [(volunteerId: String, endpoint: String)], now: Timestamp) async throws {
        guard !sent.isEmpty else { return }
        try await database.run { [client, logger] in
            try await client.withTransaction(logger: logger) { conn in
                for s in sent {
                    try await conn.query("""
                        INSERT INTO push_sent (call_id, volunteer_id, endpoint, sent_at)
                        SELECT \(callId), \(s.volunteerId), \(s.endpoint), \(now.millis) WHERE EXISTS (SELECT 1 FROM volunteers WHERE id = \(s.volunteerId))
                        ON CONFLICT DO NOTHING
                        """, logger: logger)
                }
            }
        }
    }

    public func activePushes() async throws -> [String: [String: Set<String>]] {
        try await database.run { [client] in
            var out: [String: [String: Set<String>]] = [:]
            let rows = try await Self.all(
                client.query(
                    "SELECT p.call_id, p.volunteer_id, p.endpoint FROM push_sent p JOIN calls c ON c.id = p.call_id WHERE c.status IN ('open','filled')"),
                as: (String, String, String).self)
            for (call, volunteer, endpoint) in rows { out[call, default: [:]][volunteer, default: []].insert(endpoint) }
            return out
        }
    }
}
