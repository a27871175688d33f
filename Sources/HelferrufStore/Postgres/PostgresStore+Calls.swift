import HelferrufCore
import PostgresNIO

/// The call reads on PostgreSQL: the same queries and orders as the SQLite store's (Store.swift,
/// Store+Dispatch.swift, Store+Deadline.swift), each one statement, so each sees one snapshot.
extension PostgresStore: RecordStore {
    public func makeLedger(clock: @escaping @Sendable () -> Timestamp, maxOverlapping: Int) -> any RosterLedger {
        PostgresLedger(database: database, clock: clock, maxOverlapping: maxOverlapping, node: node)
    }

    public func call(id: String) async throws -> Call? {
        try await database.run { [client] in
            try await Self.calls(client.query("\(unescaped: Call.postgresSelect) WHERE c.id = \(id)")).first
        }
    }

    public func calls(orgId: String, status: CallStatus?) async throws -> [Call] {
        let status = status?.rawValue
        return try await database.run { [client] in
            try await Self.calls(client.query("""
                \(unescaped: Call.postgresSelect) WHERE c.org_id = \(orgId) AND (\(status)::text IS NULL OR c.status = \(status))
                ORDER BY c.created_at DESC, c.id DESC
                """))
        }
    }

    public func allCalls(status: CallStatus?) async throws -> [Call] {
        let status = status?.rawValue
        return try await database.run { [client] in
            try await Self.calls(client.query("""
                \(unescaped: Call.postgresSelect) WHERE (\(status)::text IS NULL OR c.status = \(status)) ORDER BY c.created_at DESC, c.id DESC
                """))
        }
    }

    public func dashboardCalls(orgId: String, endedSince: Timestamp) async throws -> [Call] {
        try await database.run { [client] in
            try await Self.calls(client.query("""
                \(unescaped: Call.postgresSelect) WHERE c.org_id = \(orgId) AND (c.status IN ('open','filled') OR c.ended_at >= \(endedSince.millis))
                ORDER BY c.created_at DESC, c.id DESC
                """))
        }
    }

    /// In one statement: the live calls with their alerted and declined (or removed)
    /// volunteers as arrays.
    public func activeCalls() async throws -> [(call: Call, alerted: Set<String>, declined: Set<String>)] {
        let pairs = try await database.run { [client] in
            let rows = try await Self.rows(client.query("""
                SELECT c.*, o.name AS org_name,
                    ARRAY(SELECT volunteer_id FROM alerts a WHERE a.call_id = c.id) AS alerted_ids,
                    ARRAY(SELECT volunteer_id FROM declines d WHERE d.call_id = c.id
                          UNION SELECT volunteer_id FROM removals r WHERE r.call_id = c.id) AS declined_ids
                FROM calls c JOIN organisations o ON o.id = c.org_id
                WHERE c.status IN ('open','filled') ORDER BY c.created_at, c.id
                """))
            return try rows.map { r in
                (try Call(postgres: r), try r.value("alerted_ids", as: [String].self), try r.value("declined_ids", as: [String].self))
            }
        }
        return pairs.map { (call: $0.0, alerted: Set($0.1), declined: Set($0.2)) }
    }

    public func recentAlertTimes(since: Timestamp) async throws -> [String: [Timestamp]] {
        try await database.run { [client] in
            var times: [String: [Timestamp]] = [:]
            let rows = try await client.query("""
                SELECT a.volunteer_id, a.alerted_at FROM calls c JOIN alerts a ON a.call_id = c.id
                WHERE (c.ended_at IS NULL OR c.ended_at > \(since.millis)) AND a.alerted_at > \(since.millis)
                """)
            for try await (volunteer, at) in rows.decode((String, Int64).self) {
                times[volunteer, default: []].append(Timestamp(millis: at))
            }
            return times
        }
    }

    public func confirmations(callId: String, noShowsSince: Timestamp) async throws -> [Confirmation] {
        let since = noShowsSince.millis
        return try await database.run { [client] in
            // Names and contacts show while the volunteer exists and the call's retention
            // period has not run out (eraseContacts). No-shows as Store.noShowsSQL counts them.
            try await Self.all(
                client.query("""
                    SELECT x.volunteer_id, x.confirmed_at, x.party,
                           CASE WHEN c.contacts_erased_at IS NULL THEN v.display_name END,
                           CASE WHEN c.contacts_erased_at IS NULL THEN v.contact END,
                           (k.checked_in_at IS NOT NULL AND k.checked_out_at IS NULL),
                           (SELECT COUNT(*) FROM confirmations y JOIN calls d ON d.id = y.call_id
                            WHERE y.volunteer_id = x.volunteer_id AND d.org_id = c.org_id AND d.status = 'expired' AND d.ends_at >= \(since)
                              AND EXISTS (SELECT 1 FROM checkins k2 WHERE k2.call_id = d.id)
                              AND NOT EXISTS (SELECT 1 FROM checkins k3 WHERE k3.call_id = d.id AND k3.volunteer_id = y.volunteer_id))
                    FROM confirmations x JOIN calls c ON c.id = x.call_id LEFT JOIN volunteers v ON v.id = x.volunteer_id
                    LEFT JOIN checkins k ON k.call_id = x.call_id AND k.volunteer_id = x.volunteer_id
                    WHERE x.call_id = \(callId) ORDER BY x.confirmed_at, x.volunteer_id
                    """),
                as: (String, Int64, Int, String?, String?, Bool, Int).self
            ).map {
                var c = Confirmation(volunteerId: $0.0, displayName: $0.3, contact: $0.4, confirmedAt: Timestamp($0.1))
                c.party = $0.2
                c.checkedIn = $0.5
                c.noShows = $0.6
                return c
            }
        }
    }

    public func messages(callId: String) async throws -> [CallMessage] {
        try await database.run { [client] in
            try await Self.all(
                client.query("SELECT \(unescaped: CallMessage.postgresColumns) FROM messages m WHERE m.call_id = \(callId) ORDER BY m.at, m.id"),
                as: (String, String, String, String, Int64).self
            ).map(CallMessage.postgres)
        }
    }

    public func acceptanceRate(orgId: String) async throws -> Double {
        let history = Waves.historyCalls
        return try await database.run { [client] in
            let row = try await Self.all(
                client.query("""
                    WITH recent AS (
                        SELECT id, alerted FROM calls WHERE org_id = \(orgId) AND status IN ('cancelled','expired')
                        ORDER BY ended_at DESC, id DESC LIMIT \(history)
                    )
                    SELECT (SELECT COALESCE(SUM(alerted), 0)::bigint FROM recent),
                        (SELECT COUNT(*) FROM (
                            SELECT call_id, volunteer_id FROM confirmations WHERE call_id IN (SELECT id FROM recent)
                            UNION SELECT call_id, volunteer_id FROM withdrawals WHERE call_id IN (SELECT id FROM recent)
                            UNION SELECT call_id, volunteer_id FROM standby WHERE call_id IN (SELECT id FROM recent)) AS accepted)
                    """),
                as: (Int, Int).self
            ).first
            return Waves.acceptanceRate(accepted: row?.1 ?? 0, alerted: row?.0 ?? 0)
        }
    }

    public func delayModel(orgId: String) async throws -> DelayModel {
        let history = Waves.historyCalls
        return try await database.run { [client] in
            let millis = try await Self.all(
                client.query("""
                    WITH recent AS (
                        SELECT id FROM calls WHERE org_id = \(orgId) AND status IN ('cancelled','expired')
                        ORDER BY ended_at DESC, id DESC LIMIT \(history)
                    ), accepts AS (
                        SELECT call_id, volunteer_id, confirmed_at AS at FROM confirmations WHERE call_id IN (SELECT id FROM recent)
                        UNION ALL SELECT call_id, volunteer_id, queued_at FROM standby WHERE call_id IN (SELECT id FROM recent)
                    )
                    SELECT MIN(x.at) - a.alerted_at FROM accepts x
                    JOIN alerts a ON a.call_id = x.call_id AND a.volunteer_id = x.volunteer_id
                    GROUP BY x.call_id, x.volunteer_id, a.alerted_at
                    """),
                as: Int64.self)
            return DelayModel.fit(delaysSeconds: millis.map { Double($0) / 1000 })
        }
    }

    public func deadlineProgress(callId: String) async throws -> (alertedAt: [String: Timestamp], answered: Set<String>) {
        let (alerts, answered) = try await database.run { [client] in
            let alerts = try await Self.all(
                client.query("SELECT volunteer_id, alerted_at FROM alerts WHERE call_id = \(callId)"), as: (String, Int64).self)
            let answered = try await Self.all(
                client.query("""
                    SELECT volunteer_id FROM confirmations WHERE call_id = \(callId) UNION SELECT volunteer_id FROM standby WHERE call_id = \(callId)
                    UNION SELECT volunteer_id FROM withdrawals WHERE call_id = \(callId) UNION SELECT volunteer_id FROM declines WHERE call_id = \(callId)
                    """),
                as: String.self)
            return (alerts, answered)
        }
        var alertedAt: [String: Timestamp] = [:]
        for (volunteer, at) in alerts { alertedAt[volunteer] = Timestamp(millis: at) }
        return (alertedAt, Set(answered))
    }
}
