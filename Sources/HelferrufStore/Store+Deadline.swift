import GRDB
import HelferrufCore

/// Reads for deadline-aware dispatch (PROTOCOL.md §10).
extension Store {
    /// The delays from alert to accept an organisation's next deadline call plans with: a
    /// log-normal fitted to the accepts (confirmations and standby places) on its last 20
    /// cancelled or expired calls, the same calls the acceptance rate looks at
    /// (``DelayModel/fit(delaysSeconds:)``; the defaults with fewer than 10 accepts).
    /// Accepts answered "full" on a call without standby are not stored, so the fit leans
    /// a little towards the quick; the clamps bound it.
    public func delayModel(orgId: String) throws -> DelayModel {
        try pool.read { db in
            let millis = try Int64.fetchAll(
                db,
                sql: """
                    WITH recent AS (
                        SELECT id FROM calls WHERE org_id = ? AND status IN ('cancelled','expired')
                        ORDER BY ended_at DESC, id DESC LIMIT ?
                    ), accepts AS (
                        SELECT call_id, volunteer_id, confirmed_at AS at FROM confirmations WHERE call_id IN (SELECT id FROM recent)
                        UNION ALL SELECT call_id, volunteer_id, queued_at FROM standby WHERE call_id IN (SELECT id FROM recent)
                    )
                    SELECT MIN(x.at) - a.alerted_at FROM accepts x
                    JOIN alerts a ON a.call_id = x.call_id AND a.volunteer_id = x.volunteer_id
                    GROUP BY x.call_id, x.volunteer_id
                    """,
                arguments: [orgId, Waves.historyCalls])
            return DelayModel.fit(delaysSeconds: millis.map { Double($0) / 1000 })
        }
    }

    /// What a deadline call's planner needs after a restart: when each alerted volunteer
    /// was alerted, and who has answered (accepted, queued, withdrawn or declined).
    public func deadlineProgress(callId: String) throws -> (alertedAt: [String: Timestamp], answered: Set<String>) {
        try pool.read { db in
            var alertedAt: [String: Timestamp] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT volunteer_id, alerted_at FROM alerts WHERE call_id = ?", arguments: [callId]) {
                alertedAt[row[0]] = Timestamp(millis: row[1])
            }
            let answered = try String.fetchAll(
                db,
                sql: """
                    SELECT volunteer_id FROM confirmations WHERE call_id = ?1 UNION SELECT volunteer_id FROM standby WHERE call_id = ?1
                    UNION SELECT volunteer_id FROM withdrawals WHERE call_id = ?1 UNION SELECT volunteer_id FROM declines WHERE call_id = ?1
                    """,
                arguments: [callId])
            return (alertedAt, Set(answered))
        }
    }
}
