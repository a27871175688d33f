import HelferrufCore
import PostgresNIO

/// The §7 and §11 changes on PostgreSQL, as ``RosterSQL`` and its extensions apply them on
/// SQLite: standby list, alert and wave records, suppressions, funnel, check-in, messages,
/// the close-out summary, removals, blocks and the overlap limit.
extension PostgresRoster {
    /// In one statement: whether the call's organisation blocked the volunteer or removed
    /// them from this call, and whether they already hold ``maxOverlapping`` places
    /// (confirmations and standby entries) on other live calls whose window overlaps this
    /// call's (windows that only touch do not overlap).
    func rules(_ vid: String, _ call: Call, now: Timestamp) async throws -> (barred: Bool, overLimit: Bool) {
        let (id, from, to) = (call.id, call.startsAt.millis, call.endsAt.millis)
        let rows = try await query("""
            SELECT EXISTS (SELECT 1 FROM blocks WHERE org_id = \(call.orgId) AND volunteer_id = \(vid))
                    OR EXISTS (SELECT 1 FROM removals WHERE call_id = \(id) AND volunteer_id = \(vid)),
                (SELECT COUNT(*) FROM confirmations x JOIN calls c ON c.id = x.call_id
                    WHERE x.volunteer_id = \(vid) AND x.call_id <> \(id) AND c.status IN ('open','filled')
                      AND c.starts_at < \(to) AND c.ends_at > \(from) AND c.ends_at > \(now.millis))
                + (SELECT COUNT(*) FROM standby s JOIN calls c ON c.id = s.call_id
                    WHERE s.volunteer_id = \(vid) AND s.left_at IS NULL AND s.call_id <> \(id) AND c.status IN ('open','filled')
                      AND c.starts_at < \(to) AND c.ends_at > \(from) AND c.ends_at > \(now.millis))
            """)
        guard let row = rows.first else { return (false, false) }
        return (try row[0].decode(Bool.self), try row[1].decode(Int.self) >= maxOverlapping)
    }

    /// The organisation removes a confirmed helper: the confirmation ends as if withdrawn
    /// and the removal bars the helper from this call (``RosterSQL/remove``).
    mutating func remove(_ callId: String, orgId: String, _ vid: String, now: Timestamp) async throws -> Effect {
        guard var call = try await fetch(callId), call.orgId == orgId else { return .notFound }
        let expired = try await expireIfDue(&call, now: now)
        guard !call.status.isEnded else {
            return try await exists("confirmations", callId, vid)
                ? .unchanged(.conflict, call, expired: expired)
                : Effect(result: .notFound, call: nil, statusChanged: false, changed: false)
        }
        let before = call.status
        guard let promoted = try await release(&call, vid, now: now) else { return .notFound }
        try await exec("INSERT INTO removals (call_id, volunteer_id, removed_at) VALUES (\(callId), \(vid), \(now.millis))")
        return Effect(result: .done, call: call, statusChanged: call.status != before || expired, changed: true, promoted: promoted)
    }

    // MARK: Standby

    func onStandby(_ callId: String, _ vid: String) async throws -> Bool {
        try await query("SELECT 1 FROM standby WHERE call_id = \(callId) AND volunteer_id = \(vid) AND left_at IS NULL").count == 1
    }

    /// Queues a volunteer's party at the end of the call's standby list.
    mutating func enqueue(_ call: inout Call, _ vid: String, party: Int, expired: Bool, now: Timestamp) async throws -> Effect {
        let id = call.id
        call.standby = try await int("""
            WITH queued AS (
                INSERT INTO standby (call_id, volunteer_id, party, seq, queued_at, left_at)
                VALUES (\(id), \(vid), \(party), (SELECT COALESCE(MAX(seq), 0) + 1 FROM standby WHERE call_id = \(id)), \(now.millis), NULL)
                ON CONFLICT (call_id, volunteer_id) DO UPDATE
                    SET party = excluded.party, seq = excluded.seq, queued_at = excluded.queued_at, left_at = NULL
                RETURNING 1)
            UPDATE calls SET standby = standby + 1 WHERE id = \(id) AND EXISTS (SELECT 1 FROM queued) RETURNING standby
            """) ?? call.standby
        remember(call)
        return Effect(result: .answer(.standby), call: call, statusChanged: expired, changed: true)
    }

    /// Withdrawing without a confirmation: leaves the standby list if queued.
    mutating func leaveStandby(_ call: inout Call, _ vid: String, now: Timestamp) async throws -> Effect {
        guard call.standby > 0 else { return .unchanged(.answer(.withdrawn), call, expired: false) }
        let id = call.id
        guard let count = try await int("""
            WITH quit AS (
                UPDATE standby SET left_at = \(now.millis) WHERE call_id = \(id) AND volunteer_id = \(vid) AND left_at IS NULL RETURNING 1)
            UPDATE calls SET standby = standby - 1 WHERE id = \(id) AND EXISTS (SELECT 1 FROM quit) RETURNING standby
            """)
        else { return .unchanged(.answer(.withdrawn), call, expired: false) }
        call.standby = count
        remember(call)
        return Effect(result: .answer(.withdrawn), call: call, statusChanged: false, changed: true)
    }

    /// Confirms, in queue order, every standby entry whose party fits the places now free
    /// (``FillRules/promotions(parties:free:)``), passing over volunteers the organisation
    /// blocked since they queued (§11). Returns the promoted volunteers.
    mutating func promote(_ call: inout Call, now: Timestamp) async throws -> [String] {
        guard call.standby > 0, call.status == .open, call.confirmed < call.needed else { return [] }
        let queue = try await PostgresStore.all(
            conn.query("""
                SELECT volunteer_id, party FROM standby s WHERE call_id = \(call.id) AND left_at IS NULL
                    AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.org_id = \(call.orgId) AND b.volunteer_id = s.volunteer_id)
                ORDER BY seq
                """, logger: logger),
            as: (String, Int).self)
        let picks = FillRules.promotions(parties: queue.map(\.1), free: call.needed - call.confirmed)
        var promoted: [String] = []
        for i in picks {
            let vid = queue[i].0
            guard case .confirmed = try await confirm(&call, vid, party: queue[i].1, now: now) else { continue }
            try await exec("UPDATE standby SET left_at = \(now.millis) WHERE call_id = \(call.id) AND volunteer_id = \(vid)")
            promoted.append(vid)
        }
        if !promoted.isEmpty {
            call.standby = try await int("UPDATE calls SET standby = standby - \(promoted.count) WHERE id = \(call.id) RETURNING standby") ?? 0
        }
        remember(call)
        return promoted
    }

    // MARK: Alerts, waves, suppressions

    /// Stores first alerts and adds them to the call's count, in one statement; for a wave
    /// also the radius reached and, when it alerted anyone, one more wave.
    mutating func recordAlerts(_ callId: String, _ volunteerIds: [String], wave reached: Double?, now: Timestamp) async throws -> Effect {
        guard var call = try await fetch(callId) else { return .notFound }
        let moreWaves = reached != nil && !volunteerIds.isEmpty ? 1 : 0
        let rows = try await query("""
            WITH added AS (
                INSERT INTO alerts (call_id, volunteer_id, alerted_at)
                SELECT \(callId), v, \(now.millis) FROM (SELECT DISTINCT v FROM unnest(\(volunteerIds)::text[]) AS v ORDER BY v) AS ids
                ON CONFLICT DO NOTHING RETURNING 1)
            UPDATE calls SET alerted = alerted + (SELECT COUNT(*) FROM added),
                reached_radius_km = COALESCE(\(reached)::double precision, reached_radius_km), waves = waves + \(moreWaves)
            WHERE id = \(callId) RETURNING alerted, reached_radius_km, waves, (SELECT COUNT(*) FROM added) AS added
            """)
        guard let row = rows.first else { return .notFound }
        let added: Int = try row.value("added")
        if reached == nil && added == 0 { return Effect(result: .done, call: call, statusChanged: false, changed: false) }
        call.alerted = try row.value("alerted")
        call.reachedRadiusKm = try row.value("reached_radius_km", as: Double?.self) ?? call.radiusKm
        call.waves = try row.value("waves")
        remember(call)
        return Effect(result: .done, call: call, statusChanged: false, changed: true)
    }

    mutating func recordSuppressed(_ callId: String, _ volunteerIds: [String], reason: SuppressionReason, now: Timestamp) async throws -> Effect {
        guard var call = try await fetch(callId) else { return .notFound }
        guard let count = try await int("""
            WITH added AS (
                INSERT INTO suppressions (call_id, volunteer_id, reason, at)
                SELECT \(callId), v, \(reason.rawValue), \(now.millis) FROM (SELECT DISTINCT v FROM unnest(\(volunteerIds)::text[]) AS v) AS ids
                ON CONFLICT DO NOTHING RETURNING 1)
            UPDATE calls SET suppressed = suppressed + (SELECT COUNT(*) FROM added)
            WHERE id = \(callId) AND EXISTS (SELECT 1 FROM added) RETURNING suppressed
            """)
        else { return Effect(result: .done, call: call, statusChanged: false, changed: false) }
        call.suppressed = count
        remember(call)
        return Effect(result: .done, call: call, statusChanged: false, changed: true)
    }

    // MARK: Funnel and check-in

    /// Counts a `received` or `seen` once per volunteer, and only from alerted volunteers.
    mutating func funnel(_ callId: String, _ vid: String, stage: FunnelStage, now: Timestamp) async throws -> Effect {
        guard var call = try await fetch(callId) else { return .notFound }
        guard let count = try await int("""
            WITH added AS (
                INSERT INTO funnel (call_id, volunteer_id, stage, at)
                SELECT \(callId), \(vid), \(stage.rawValue), \(now.millis)
                WHERE EXISTS (SELECT 1 FROM alerts WHERE call_id = \(callId) AND volunteer_id = \(vid))
                ON CONFLICT DO NOTHING RETURNING 1)
            UPDATE calls SET \(unescaped: stage.column) = \(unescaped: stage.column) + 1
            WHERE id = \(callId) AND EXISTS (SELECT 1 FROM added) RETURNING \(unescaped: stage.column)
            """)
        else { return Effect(result: .done, call: call, statusChanged: false, changed: false) }
        if stage == .received { call.delivered = count } else { call.seen = count }
        remember(call)
        return Effect(result: .done, call: call, statusChanged: false, changed: true)
    }

    /// Check-in needs a confirmation and a call that has not ended; checking in twice, or
    /// out twice, changes nothing.
    mutating func checkin(_ callId: String, _ vid: String, arrived: Bool, now: Timestamp) async throws -> Effect {
        guard var call = try await fetch(callId) else { return .notFound }
        let expired = try await expireIfDue(&call, now: now)
        if !arrived {
            let before = call.checkedIn
            try await checkOut(&call, vid, now: now)
            var known = call.checkedIn != before
            if !known { known = try await exists("checkins", callId, vid) }
            guard known else { return .unchanged(.invalid("not checked in to this call"), call, expired: expired) }
            remember(call)
            return Effect(result: .done, call: call, statusChanged: expired, changed: expired || call.checkedIn != before)
        }
        guard try await exists("confirmations", callId, vid) else {
            return .unchanged(.invalid("check-in needs a confirmation for this call"), call, expired: expired)
        }
        guard !call.status.isEnded else { return .unchanged(.invalid("the call has ended"), call, expired: expired) }
        guard let count = try await int("""
            WITH arrived AS (
                INSERT INTO checkins (call_id, volunteer_id, checked_in_at, checked_out_at) VALUES (\(callId), \(vid), \(now.millis), NULL)
                ON CONFLICT (call_id, volunteer_id) DO UPDATE SET checked_in_at = excluded.checked_in_at, checked_out_at = NULL
                    WHERE checkins.checked_out_at IS NOT NULL
                RETURNING 1)
            UPDATE calls SET checked_in = checked_in + 1 WHERE id = \(callId) AND EXISTS (SELECT 1 FROM arrived) RETURNING checked_in
            """)
        else { return .unchanged(.done, call, expired: expired) }
        call.checkedIn = count
        remember(call)
        return Effect(result: .done, call: call, statusChanged: expired, changed: true)
    }

    /// Checks a volunteer out if they are on site (also when their confirmation goes).
    mutating func checkOut(_ call: inout Call, _ vid: String, now: Timestamp) async throws {
        guard call.checkedIn > 0 else { return }
        let id = call.id
        if let count = try await int("""
            WITH quit AS (
                UPDATE checkins SET checked_out_at = \(now.millis)
                WHERE call_id = \(id) AND volunteer_id = \(vid) AND checked_out_at IS NULL RETURNING 1)
            UPDATE calls SET checked_in = checked_in - 1 WHERE id = \(id) AND EXISTS (SELECT 1 FROM quit) RETURNING checked_in
            """) {
            call.checkedIn = count
        }
    }

    // MARK: Messages

    /// Stores an organisation's message while the call's message window is open, and names
    /// the confirmed helpers it goes to.
    mutating func postMessage(_ callId: String, orgId: String, text: String, now: Timestamp) async throws -> Effect {
        guard let call = try await fetch(callId), call.orgId == orgId else { return .notFound }
        guard now.millis <= call.endsAt.millis + RosterSQL.messageWindowMillis else {
            return .unchanged(.conflict, call, expired: false)
        }
        let message = CallMessage(id: Tokens.newId(), callId: callId, kind: .organisation, text: text, at: now)
        var effect = Effect(result: .done, call: call, statusChanged: false, changed: false)
        effect.message = message
        effect.recipients = try await store(message)
        return effect
    }

    /// The summary every confirmed helper gets when a call expires: how many came and for
    /// how long (time on site from check-ins, otherwise the call's length).
    func storeCloseout(_ call: Call, now: Timestamp) async throws -> (message: CallMessage, recipients: [String]) {
        let ends = call.endsAt.millis
        let row = try await PostgresStore.all(
            conn.query("""
                SELECT COUNT(*), COALESCE(SUM(GREATEST(0, LEAST(COALESCE(checked_out_at, \(ends)), \(ends)) - checked_in_at)), 0)::bigint
                FROM checkins WHERE call_id = \(call.id)
                """, logger: logger),
            as: (Int, Int64).self
        ).first ?? (0, Int64(0))
        let text = Closeout.text(title: call.title, confirmed: call.confirmed, needed: call.needed, checkedIn: row.0,
                                 minutes: Int((row.0 > 0 ? row.1 : call.endsAt.millis - call.startsAt.millis) / 60_000))
        let message = CallMessage(id: Tokens.newId(), callId: call.id, kind: .closeout, text: text, at: now)
        return (message, try await store(message))
    }

    /// Stores a message and returns the call's confirmed volunteers, in one statement.
    private func store(_ m: CallMessage) async throws -> [String] {
        try await PostgresStore.all(
            conn.query("""
                WITH stored AS (
                    INSERT INTO messages (id, call_id, kind, text, at) VALUES (\(m.id), \(m.callId), \(m.kind.rawValue), \(m.text), \(m.at.millis)))
                SELECT volunteer_id FROM confirmations WHERE call_id = \(m.callId)
                """, logger: logger),
            as: String.self)
    }
}
