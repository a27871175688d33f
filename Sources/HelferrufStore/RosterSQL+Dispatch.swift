import Foundation
import GRDB
import HelferrufCore

/// The §7 changes: standby list, alert and wave records, suppressions, funnel, check-in,
/// messages and the close-out summary.
extension RosterSQL {
    /// How long after a call's end its messages are still delivered and accepted.
    static let messageWindowMillis: Int64 = 24 * 3600 * 1000

    // MARK: Standby

    func onStandby(_ callId: String, _ vid: String, _ db: Database) throws -> Bool {
        try Bool.fetchOne(
            db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM standby WHERE call_id = ? AND volunteer_id = ? AND left_at IS NULL)"),
            arguments: [callId, vid]) ?? false
    }

    /// Queues a volunteer's party at the end of the call's standby list.
    mutating func enqueue(_ call: inout Call, _ vid: String, party: Int, expired: Bool, db: Database, now: Timestamp) throws -> Effect {
        try db.cachedStatement(sql: """
            INSERT INTO standby (call_id, volunteer_id, party, seq, queued_at, left_at)
            VALUES (?1, ?2, ?3, (SELECT COALESCE(MAX(seq), 0) + 1 FROM standby WHERE call_id = ?1), ?4, NULL)
            ON CONFLICT (call_id, volunteer_id) DO UPDATE
                SET party = excluded.party, seq = excluded.seq, queued_at = excluded.queued_at, left_at = NULL
            """).execute(arguments: [call.id, vid, party, now.millis])
        call.standby = try updateCount("standby", by: 1, call.id, db)
        remember(call)
        return Effect(result: .answer(.standby), call: call, statusChanged: expired, changed: true)
    }

    /// Withdrawing without a confirmation: leaves the standby list if queued.
    mutating func leaveStandby(_ call: inout Call, _ vid: String, db: Database, now: Timestamp) throws -> Effect {
        guard call.standby > 0 else { return .unchanged(.answer(.withdrawn), call, expired: false) }
        try db.cachedStatement(sql: "UPDATE standby SET left_at = ? WHERE call_id = ? AND volunteer_id = ? AND left_at IS NULL")
            .execute(arguments: [now.millis, call.id, vid])
        guard db.changesCount == 1 else { return .unchanged(.answer(.withdrawn), call, expired: false) }
        call.standby = try updateCount("standby", by: -1, call.id, db)
        remember(call)
        return Effect(result: .answer(.withdrawn), call: call, statusChanged: false, changed: true)
    }

    /// Confirms, in queue order, every standby entry whose party fits the places now free
    /// (``FillRules/promotions(parties:free:)``). Returns the promoted volunteers. Entries
    /// of volunteers the organisation blocked since they queued are passed over (§11).
    mutating func promote(_ call: inout Call, db: Database, now: Timestamp) throws -> [String] {
        guard call.standby > 0, call.status == .open, call.confirmed < call.needed else { return [] }
        let queue = try Row.fetchAll(
            db.cachedStatement(sql: """
                SELECT volunteer_id, party FROM standby s WHERE call_id = ? AND left_at IS NULL
                    AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.org_id = ? AND b.volunteer_id = s.volunteer_id)
                ORDER BY seq
                """),
            arguments: [call.id, call.orgId])
        let picks = FillRules.promotions(parties: queue.map { $0["party"] }, free: call.needed - call.confirmed)
        var promoted: [String] = []
        for i in picks {
            let vid: String = queue[i]["volunteer_id"]
            guard case .confirmed = try confirm(&call, vid, party: queue[i]["party"], db: db, now: now) else { continue }
            try db.cachedStatement(sql: "UPDATE standby SET left_at = ? WHERE call_id = ? AND volunteer_id = ?")
                .execute(arguments: [now.millis, call.id, vid])
            promoted.append(vid)
        }
        if !promoted.isEmpty { call.standby = try updateCount("standby", by: -promoted.count, call.id, db) }
        remember(call)
        return promoted
    }

    // MARK: Alerts, waves, suppressions

    /// Stores first alerts; for a wave also the radius reached and, when it alerted anyone,
    /// one more wave.
    mutating func recordAlerts(_ callId: String, _ volunteerIds: [String], wave reached: Double?, db: Database, now: Timestamp) throws -> Effect {
        guard var call = try fetch(callId, db) else { return .notFound }
        let statement = try db.cachedStatement(sql: "INSERT OR IGNORE INTO alerts (call_id, volunteer_id, alerted_at) VALUES (?, ?, ?)")
        var added = 0
        // In key order: the call's rows then fill its part of the table page by page.
        for vid in volunteerIds.sorted() {
            try statement.execute(arguments: [callId, vid, now.millis])
            added += db.changesCount
        }
        if let reached {
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "UPDATE calls SET reached_radius_km = ?, waves = waves + ? WHERE id = ? RETURNING reached_radius_km, waves"),
                arguments: [reached, volunteerIds.isEmpty ? 0 : 1, callId])
            if let row { (call.reachedRadiusKm, call.waves) = (row[0], row[1]) }
        } else if added == 0 {
            return Effect(result: .done, call: call, statusChanged: false, changed: false)
        }
        if added > 0 { call.alerted = try updateCount("alerted", by: added, callId, db) }
        remember(call)
        return Effect(result: .done, call: call, statusChanged: false, changed: true)
    }

    mutating func recordSuppressed(_ callId: String, _ volunteerIds: [String], reason: SuppressionReason, db: Database, now: Timestamp) throws -> Effect {
        guard var call = try fetch(callId, db) else { return .notFound }
        let statement = try db.cachedStatement(sql: "INSERT OR IGNORE INTO suppressions (call_id, volunteer_id, reason, at) VALUES (?, ?, ?, ?)")
        var added = 0
        for vid in volunteerIds {
            try statement.execute(arguments: [callId, vid, reason.rawValue, now.millis])
            added += db.changesCount
        }
        guard added > 0 else { return Effect(result: .done, call: call, statusChanged: false, changed: false) }
        call.suppressed = try updateCount("suppressed", by: added, callId, db)
        remember(call)
        return Effect(result: .done, call: call, statusChanged: false, changed: true)
    }

    // MARK: Funnel and check-in

    /// Counts `received` or `seen` answers to one call, each once per volunteer and only
    /// from alerted volunteers: one insert for all of them and one counter update, however
    /// many answered (a call brings one or two per recipient within a second). Returns the
    /// call as it stands after them and the volunteers that counted now; nil for an unknown
    /// call.
    mutating func funnel(_ callId: String, _ volunteerIds: [String], stage: FunnelStage, db: Database, now: Timestamp) throws
        -> (call: Call, counted: Set<String>)? {
        guard var call = try fetch(callId, db) else { return nil }
        let ids = String(decoding: try JSONEncoder().encode(volunteerIds), as: UTF8.self)
        let counted = try Set(String.fetchAll(db.cachedStatement(sql: """
            INSERT OR IGNORE INTO funnel (call_id, volunteer_id, stage, at)
            SELECT ?1, j.value, ?2, ?3 FROM json_each(?4) j
            WHERE EXISTS (SELECT 1 FROM alerts WHERE call_id = ?1 AND volunteer_id = j.value)
            RETURNING volunteer_id
            """), arguments: [callId, stage.rawValue, now.millis, ids]))
        guard !counted.isEmpty else { return (call, []) }
        let count = try updateCount(stage.column, by: counted.count, callId, db)
        if stage == .received { call.delivered = count } else { call.seen = count }
        remember(call)
        return (call, counted)
    }

    /// Check-in needs a confirmation and a call that has not ended; checking in twice, or
    /// out twice, changes nothing.
    mutating func checkin(_ callId: String, _ vid: String, arrived: Bool, db: Database, now: Timestamp) throws -> Effect {
        guard var call = try fetch(callId, db) else { return .notFound }
        let expired = try expireIfDue(&call, db: db, now: now)
        if !arrived {
            let before = call.checkedIn
            try checkOut(&call, vid, db: db, now: now)
            let known = try call.checkedIn != before || exists("checkins", callId, vid, db)
            guard known else {
                return .unchanged(.invalid("not checked in to this call"), call, expired: expired)
            }
            remember(call)
            return Effect(result: .done, call: call, statusChanged: expired, changed: expired || call.checkedIn != before)
        }
        guard try exists("confirmations", callId, vid, db) else {
            return .unchanged(.invalid("check-in needs a confirmation for this call"), call, expired: expired)
        }
        guard !call.status.isEnded else { return .unchanged(.invalid("the call has ended"), call, expired: expired) }
        try db.cachedStatement(sql: """
            INSERT INTO checkins (call_id, volunteer_id, checked_in_at, checked_out_at) VALUES (?, ?, ?, NULL)
            ON CONFLICT (call_id, volunteer_id) DO UPDATE SET checked_in_at = excluded.checked_in_at, checked_out_at = NULL
                WHERE checked_out_at IS NOT NULL
            """).execute(arguments: [callId, vid, now.millis])
        guard db.changesCount == 1 else { return .unchanged(.done, call, expired: expired) }
        call.checkedIn = try updateCount("checked_in", by: 1, callId, db)
        remember(call)
        return Effect(result: .done, call: call, statusChanged: expired, changed: true)
    }

    /// Checks a volunteer out if they are on site (also when their confirmation goes).
    mutating func checkOut(_ call: inout Call, _ vid: String, db: Database, now: Timestamp) throws {
        guard call.checkedIn > 0 else { return }
        try db.cachedStatement(sql: "UPDATE checkins SET checked_out_at = ? WHERE call_id = ? AND volunteer_id = ? AND checked_out_at IS NULL")
            .execute(arguments: [now.millis, call.id, vid])
        if db.changesCount == 1 { call.checkedIn = try updateCount("checked_in", by: -1, call.id, db) }
    }

    // MARK: Messages

    /// Stores an organisation's message while the call's message window is open, and names
    /// the confirmed helpers it goes to.
    mutating func postMessage(_ callId: String, orgId: String, text: String, db: Database, now: Timestamp) throws -> Effect {
        guard let call = try fetch(callId, db), call.orgId == orgId else { return .notFound }
        guard now.millis <= call.endsAt.millis + Self.messageWindowMillis else {
            return .unchanged(.conflict, call, expired: false)
        }
        let message = CallMessage(id: Tokens.newId(), callId: callId, kind: .organisation, text: text, at: now)
        try store(message, db: db)
        var effect = Effect(result: .done, call: call, statusChanged: false, changed: false)
        effect.message = message
        effect.recipients = try confirmedVolunteers(callId, db)
        return effect
    }

    /// The summary every confirmed helper gets when a call expires: how many came and for
    /// how long (time on site from check-ins, otherwise the call's length).
    func storeCloseout(_ call: Call, db: Database, now: Timestamp) throws -> (message: CallMessage, recipients: [String]) {
        let row = try Row.fetchOne(
            db.cachedStatement(sql: """
                SELECT COUNT(*), COALESCE(SUM(MAX(0, MIN(COALESCE(checked_out_at, ?2), ?2) - checked_in_at)), 0)
                FROM checkins WHERE call_id = ?1
                """),
            arguments: [call.id, call.endsAt.millis])
        let checkedIn: Int = row?[0] ?? 0
        let onSite: Int64 = row?[1] ?? 0
        let text = Closeout.text(title: call.title, confirmed: call.confirmed, needed: call.needed, checkedIn: checkedIn,
                                 minutes: Int((checkedIn > 0 ? onSite : call.endsAt.millis - call.startsAt.millis) / 60_000))
        let message = CallMessage(id: Tokens.newId(), callId: call.id, kind: .closeout, text: text, at: now)
        try store(message, db: db)
        return (message, try confirmedVolunteers(call.id, db))
    }

    private func store(_ m: CallMessage, db: Database) throws {
        try db.cachedStatement(sql: "INSERT INTO messages (id, call_id, kind, text, at) VALUES (?, ?, ?, ?, ?)")
            .execute(arguments: [m.id, m.callId, m.kind.rawValue, m.text, m.at.millis])
    }

    private func confirmedVolunteers(_ callId: String, _ db: Database) throws -> [String] {
        try String.fetchAll(db.cachedStatement(sql: "SELECT volunteer_id FROM confirmations WHERE call_id = ?"), arguments: [callId])
    }
}

/// The wording of the close-out message, in German like the volunteer pages' default.
enum Closeout {
    static func text(title: String, confirmed: Int, needed: Int, checkedIn: Int, minutes: Int) -> String {
        let duration = minutes >= 60 ? "\(minutes / 60) Std. \(minutes % 60) Min." : "\(minutes) Min."
        if checkedIn > 0 {
            return "Einsatz „\(title)“ ist beendet: \(checkedIn) Helfende waren vor Ort, zusammen \(duration) "
                + "(\(confirmed) von \(needed) Plätzen zugesagt). Danke für eure Hilfe!"
        }
        return "Einsatz „\(title)“ ist beendet: \(confirmed) von \(needed) Plätzen waren zugesagt, Dauer \(duration). Danke für eure Hilfe!"
    }
}
