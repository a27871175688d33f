import GRDB
import HelferrufCore

/// The §11 rules (denial of help) inside the ledger's transaction: blocks, removals and the
/// overlapping-confirmations limit. Deciding them here, with every other accept rule, is
/// what makes them hold under concurrent accepts: the ledger applies one change after the
/// other, so a fourth accept sees the third one's confirmation.
extension RosterSQL {
    /// The call's organisation blocked the volunteer, or removed them from this call.
    func isBarred(_ vid: String, from call: Call, _ db: Database) throws -> Bool {
        try Bool.fetchOne(
            db.cachedStatement(sql: """
                SELECT EXISTS (SELECT 1 FROM blocks WHERE org_id = ?1 AND volunteer_id = ?2)
                    OR EXISTS (SELECT 1 FROM removals WHERE call_id = ?3 AND volunteer_id = ?2)
                """),
            arguments: [call.orgId, vid, call.id]) ?? false
    }

    /// Whether the volunteer already holds ``maxOverlapping`` places (confirmations and
    /// standby entries) on other live calls whose `startsAt`–`endsAt` window overlaps this
    /// call's. Live means open or filled and not yet past its end; windows that only touch
    /// (one ends when the other starts) do not overlap.
    func holdsMostOverlapping(_ vid: String, besides call: Call, _ db: Database, now: Timestamp) throws -> Bool {
        let held = try Int.fetchOne(
            db.cachedStatement(sql: """
                SELECT (SELECT COUNT(*) FROM confirmations x JOIN calls c ON c.id = x.call_id
                        WHERE x.volunteer_id = ?1 AND x.call_id <> ?2 AND c.status IN ('open','filled')
                          AND c.starts_at < ?4 AND c.ends_at > ?3 AND c.ends_at > ?5)
                     + (SELECT COUNT(*) FROM standby s JOIN calls c ON c.id = s.call_id
                        WHERE s.volunteer_id = ?1 AND s.left_at IS NULL AND s.call_id <> ?2 AND c.status IN ('open','filled')
                          AND c.starts_at < ?4 AND c.ends_at > ?3 AND c.ends_at > ?5)
                """),
            arguments: [vid, call.id, call.startsAt.millis, call.endsAt.millis, now.millis]) ?? 0
        return held >= maxOverlapping
    }

    /// The organisation removes a confirmed helper: the confirmation ends as if withdrawn
    /// (places freed, standby promoted) and the removal is recorded, which bars the helper
    /// from this call. Not found for another organisation's call or a volunteer without a
    /// confirmation; a conflict once the call has ended (its roster is history then).
    mutating func remove(_ callId: String, orgId: String, _ vid: String, db: Database, now: Timestamp) throws -> Effect {
        guard var call = try fetch(callId, db), call.orgId == orgId else { return .notFound }
        let expired = try expireIfDue(&call, db: db, now: now)
        guard !call.status.isEnded else {
            return try exists("confirmations", callId, vid, db)
                ? .unchanged(.conflict, call, expired: expired)
                : Effect(result: .notFound, call: nil, statusChanged: false, changed: false)
        }
        let before = call.status
        guard let promoted = try release(&call, vid, db: db, now: now) else { return .notFound }
        try db.cachedStatement(sql: "INSERT INTO removals (call_id, volunteer_id, removed_at) VALUES (?, ?, ?)")
            .execute(arguments: [callId, vid, now.millis])
        return Effect(result: .done, call: call, statusChanged: call.status != before || expired, changed: true, promoted: promoted)
    }
}
