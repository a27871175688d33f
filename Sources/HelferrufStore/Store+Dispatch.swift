import GRDB
import HelferrufCore

/// Reads for the dispatch extensions (PROTOCOL.md §7).
extension Store {
    /// The acceptance rate for an organisation's next wave call: the share of alerted
    /// volunteers who got a confirmation or a standby place over its last 20 cancelled or
    /// expired calls (``Waves/acceptanceRate(accepted:alerted:)``). A volunteer who was
    /// confirmed and withdrew later still counts as having got a confirmation.
    public func acceptanceRate(orgId: String) throws -> Double {
        try pool.read { db in
            let row = try Row.fetchOne(
                db,
                sql: """
                    WITH recent AS (
                        SELECT id, alerted FROM calls WHERE org_id = ? AND status IN ('cancelled','expired')
                        ORDER BY ended_at DESC, id DESC LIMIT ?
                    )
                    SELECT (SELECT COALESCE(SUM(alerted), 0) FROM recent),
                        (SELECT COUNT(*) FROM (
                            SELECT call_id, volunteer_id FROM confirmations WHERE call_id IN (SELECT id FROM recent)
                            UNION SELECT call_id, volunteer_id FROM withdrawals WHERE call_id IN (SELECT id FROM recent)
                            UNION SELECT call_id, volunteer_id FROM standby WHERE call_id IN (SELECT id FROM recent)))
                    """,
                arguments: [orgId, Waves.historyCalls])
            return Waves.acceptanceRate(accepted: row?[1] ?? 0, alerted: row?[0] ?? 0)
        }
    }

    /// A call's messages, oldest first.
    public func messages(callId: String) async throws -> [CallMessage] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM messages WHERE call_id = ? ORDER BY at, id", arguments: [callId]).map(CallMessage.init(row:))
        }
    }

    /// Everything a volunteer's new connection starts from, in one read: the calls they are
    /// confirmed for (with party sizes) or queued for, the messages of their confirmed calls
    /// still in their window, and the calls their daily alert limit dropped (the alerts it
    /// counts are the hub's, see ``recentAlertTimes(since:)``).
    public func welcomeState(volunteerId id: String, now: Timestamp) async throws -> WelcomeState {
        try await pool.read { db in
            var mine: [String: OwnPlace] = [:]
            let confirmed = try Row.fetchAll(
                db,
                sql: """
                    SELECT c.*, o.name AS org_name, x.party AS my_party,
                        (k.checked_in_at IS NOT NULL AND k.checked_out_at IS NULL) AS my_on_site
                    FROM calls c JOIN organisations o ON o.id = c.org_id
                    JOIN confirmations x ON x.call_id = c.id
                    LEFT JOIN checkins k ON k.call_id = x.call_id AND k.volunteer_id = x.volunteer_id
                    WHERE x.volunteer_id = ? AND c.status IN ('open','filled') ORDER BY c.starts_at, c.id
                    """,
                arguments: [id]
            ).map { row in
                let call = Call(row: row)
                mine[call.id] = OwnPlace(party: row["my_party"], checkedIn: row["my_on_site"])
                return call
            }
            let standby = try Row.fetchAll(
                db,
                sql: Call.selectSQL + " JOIN standby s ON s.call_id = c.id WHERE s.volunteer_id = ? AND s.left_at IS NULL AND c.status IN ('open','filled') ORDER BY s.queued_at",
                arguments: [id]
            ).map(Call.init(row:))
            let messages = try Row.fetchAll(
                db,
                sql: """
                    SELECT m.* FROM messages m
                    JOIN confirmations x ON x.call_id = m.call_id AND x.volunteer_id = ?
                    JOIN calls c ON c.id = m.call_id
                    WHERE c.ends_at + ? >= ?
                    ORDER BY m.at, m.id
                    """,
                arguments: [id, RosterSQL.messageWindowMillis, now.millis]
            ).map(CallMessage.init(row:))
            let dropped = try String.fetchAll(
                db, sql: "SELECT call_id FROM suppressions WHERE volunteer_id = ? AND reason = 'daily'", arguments: [id])
            var state = WelcomeState(confirmed: confirmed, standby: standby, messages: messages, dropped: Set(dropped))
            state.mine = mine
            return state
        }
    }
}

/// What ``Store/welcomeState(volunteerId:now:)`` reads.
public struct WelcomeState: Sendable {
    public var confirmed: [Call]
    public var standby: [Call]
    public var messages: [CallMessage]
    public var dropped: Set<String>
    /// The volunteer's own place on each confirmed call.
    public var mine: [String: OwnPlace] = [:]

    public init(confirmed: [Call] = [], standby: [Call] = [], messages: [CallMessage] = [], dropped: Set<String> = []) {
        self.confirmed = confirmed
        self.standby = standby
        self.messages = messages
        self.dropped = dropped
    }
}

/// A volunteer's own confirmation of a call: the people they bring and whether they are on site.
public struct OwnPlace: Sendable, Equatable {
    public var party: Int
    public var checkedIn: Bool
}
