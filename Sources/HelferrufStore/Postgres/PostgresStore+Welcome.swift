import HelferrufCore
import PostgresNIO

/// A volunteer's new connection and data export on PostgreSQL: several queries in one
/// read-only snapshot (REPEATABLE READ), as the SQLite store reads them in one `pool.read`.
extension PostgresStore {
    /// Runs `body` in a read-only transaction that sees one snapshot.
    func snapshot<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> T) async throws -> T {
        try await database.run { [client, logger] in
            try await client.withTransaction(logger: logger) { conn in
                try await conn.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", logger: logger)
                return try await body(conn, logger)
            }
        }
    }

    public func welcomeState(volunteerId id: String, now: Timestamp) async throws -> WelcomeState {
        let window = RosterSQL.messageWindowMillis
        return try await snapshot { conn, logger in
            var mine: [String: OwnPlace] = [:]
            var confirmed: [Call] = []
            for r in try await Self.rows(conn.query("""
                SELECT c.*, o.name AS org_name, x.party AS my_party,
                    (k.checked_in_at IS NOT NULL AND k.checked_out_at IS NULL) AS my_on_site
                FROM calls c JOIN organisations o ON o.id = c.org_id
                JOIN confirmations x ON x.call_id = c.id
                LEFT JOIN checkins k ON k.call_id = x.call_id AND k.volunteer_id = x.volunteer_id
                WHERE x.volunteer_id = \(id) AND c.status IN ('open','filled') ORDER BY c.starts_at, c.id
                """, logger: logger)) {
                let call = try Call(postgres: r)
                mine[call.id] = OwnPlace(party: try r.value("my_party"), checkedIn: try r.value("my_on_site"))
                confirmed.append(call)
            }
            let standby = try await Self.calls(conn.query("""
                \(unescaped: Call.postgresSelect) JOIN standby s ON s.call_id = c.id
                WHERE s.volunteer_id = \(id) AND s.left_at IS NULL AND c.status IN ('open','filled') ORDER BY s.queued_at
                """, logger: logger))
            let messages = try await Self.all(
                conn.query("""
                    SELECT \(unescaped: CallMessage.postgresColumns) FROM messages m
                    JOIN confirmations x ON x.call_id = m.call_id AND x.volunteer_id = \(id)
                    JOIN calls c ON c.id = m.call_id
                    WHERE c.ends_at + \(window) >= \(now.millis)
                    ORDER BY m.at, m.id
                    """, logger: logger),
                as: (String, String, String, String, Int64).self
            ).map(CallMessage.postgres)
            let dropped = try await Self.all(
                conn.query("SELECT call_id FROM suppressions WHERE volunteer_id = \(id) AND reason = 'daily'", logger: logger), as: String.self)
            var state = WelcomeState(confirmed: confirmed, standby: standby, messages: messages, dropped: Set(dropped))
            state.mine = mine
            return state
        }
    }

    /// The export's event queries after `SELECT`, the volunteer bound as `$1`, in the order of
    /// ``VolunteerExport``'s lists: the same as the SQLite store's.
    private static let exportEvents: [String] = [
        "a.call_id, c.title, a.alerted_at AS at FROM alerts a JOIN calls c ON c.id = a.call_id WHERE a.volunteer_id = $1 ORDER BY at",
        "x.call_id, c.title, x.confirmed_at AS at FROM confirmations x JOIN calls c ON c.id = x.call_id WHERE x.volunteer_id = $1 ORDER BY at",
        "x.call_id, c.title, x.declined_at AS at FROM declines x JOIN calls c ON c.id = x.call_id WHERE x.volunteer_id = $1 ORDER BY at",
        "x.call_id, c.title, x.withdrawn_at AS at FROM withdrawals x JOIN calls c ON c.id = x.call_id WHERE x.volunteer_id = $1 ORDER BY at",
        "x.call_id, c.title, x.removed_at AS at FROM removals x JOIN calls c ON c.id = x.call_id WHERE x.volunteer_id = $1 ORDER BY at",
        "x.call_id, c.title, x.checked_in_at AS at FROM checkins x JOIN calls c ON c.id = x.call_id WHERE x.volunteer_id = $1 ORDER BY at",
        "x.call_id, c.title, x.checked_out_at AS at FROM checkins x JOIN calls c ON c.id = x.call_id WHERE x.volunteer_id = $1 AND x.checked_out_at IS NOT NULL ORDER BY at",
        "x.call_id, c.title, x.queued_at AS at FROM standby x JOIN calls c ON c.id = x.call_id WHERE x.volunteer_id = $1 ORDER BY at",
        "x.call_id, c.title || ' (' || x.stage || ')' AS title, x.at FROM funnel x JOIN calls c ON c.id = x.call_id WHERE x.volunteer_id = $1 ORDER BY x.at, x.stage",
        "x.call_id, c.title || ' (' || x.reason || ')' AS title, x.at FROM suppressions x JOIN calls c ON c.id = x.call_id WHERE x.volunteer_id = $1 ORDER BY x.at",
    ]

    public func export(volunteerId id: String) async throws -> VolunteerExport? {
        try await snapshot { conn, logger in
            guard let profile = try await Self.all(
                conn.query("SELECT \(unescaped: Self.profileColumns) FROM volunteers WHERE id = \(id)", logger: logger), as: ProfileRow.self
            ).first.map(Self.profile) else { return nil }
            var events: [[VolunteerExport.Event]] = []
            for sql in Self.exportEvents {
                var query = PostgresQuery(unsafeSQL: "SELECT " + sql)
                try query.binds.append(id, context: .default)
                events.append(try await Self.all(conn.query(query, logger: logger), as: (String, String, Int64).self).map {
                    VolunteerExport.Event(callId: $0.0, callTitle: $0.1, at: Timestamp($0.2))
                })
            }
            let subscriptions = try await Self.all(
                conn.query("SELECT endpoint, created_at FROM push_subscriptions WHERE volunteer_id = \(id) ORDER BY seq", logger: logger),
                as: (String, Int64).self)
            return VolunteerExport(
                profile: profile, alerts: events[0], confirmations: events[1], declines: events[2], withdrawals: events[3],
                removals: events[4], checkIns: events[5], checkOuts: events[6], standby: events[7], funnel: events[8], heldBack: events[9],
                pushSubscriptions: subscriptions.map { (endpoint: $0.0, createdAt: Timestamp($0.1)) })
        }
    }
}
