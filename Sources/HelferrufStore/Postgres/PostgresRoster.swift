import HelferrufCore
import PostgresNIO

/// The SQL of each roster change on PostgreSQL, run by ``PostgresLedger`` inside its batch's
/// transaction: the same rules, in the same order, as the SQLite ``RosterSQL``.
///
/// Several nodes write the same rows, so nothing is remembered across batches: the
/// transaction starts by locking every call row the batch touches (`FOR UPDATE`, in id
/// order, so that two nodes never deadlock) and reads them in the same statement; those rows
/// then stay current until the commit, because every writer of a call's roster holds that
/// lock. Accepts also take a transaction-scoped advisory lock per volunteer (in key order,
/// after the call rows), so that the overlap rule (`--max-overlapping`) sees the places a
/// volunteer took on another call through another node. The exactly-N rule holds in the
/// database itself: the conditional update (`confirmed + party <= needed`), the
/// (call, volunteer) primary key, and the `confirmed <= needed` CHECK constraint.
struct PostgresRoster {
    typealias Effect = RosterSQL.Effect

    let conn: PostgresConnection
    let logger: Logger
    let maxOverlapping: Int
    /// The call rows this transaction holds locked (or created), as they are now.
    private(set) var calls: [String: Call] = [:]
    /// The close-out message of a call that expired during the current change.
    private var closeout: (message: CallMessage, recipients: [String])?

    init(conn: PostgresConnection, logger: Logger, maxOverlapping: Int) {
        self.conn = conn
        self.logger = logger
        self.maxOverlapping = maxOverlapping
    }

    /// Key space of the volunteers' advisory locks ("Hv").
    static let volunteerLockSpace: Int32 = 0x4876

    /// Locks and reads the batch's calls, then the accepting volunteers' advisory locks.
    mutating func lock(for changes: [RosterChange]) async throws {
        var ids = Set<String>(), volunteers = Set<String>()
        for change in changes {
            switch change {
            case .createCall: break
            case .accept(let callId, let vid, _, _):
                ids.insert(callId)
                volunteers.insert(vid)
            case .withdraw(let callId, _), .decline(let callId, _), .recordAlerts(let callId, _), .recordWave(let callId, _, _),
                 .recordSuppressed(let callId, _, _), .funnel(let callId, _, _), .checkin(let callId, _, _),
                 .postMessage(let callId, _, _), .cancel(let callId, _), .remove(let callId, _, _), .expire(let callId):
                ids.insert(callId)
            }
        }
        if !ids.isEmpty {
            let sorted = ids.sorted()
            let rows = try await query("\(unescaped: Call.postgresSelect) WHERE c.id = ANY(\(sorted)) ORDER BY c.id FOR UPDATE OF c")
            for row in rows {
                let call = try Call(postgres: row)
                calls[call.id] = call
            }
        }
        if !volunteers.isEmpty {
            let locks = VolunteerLocksStatement(space: Self.volunteerLockSpace, volunteerIds: Array(volunteers))
            for try await _ in try await conn.execute(locks, logger: logger) {}
        }
    }

    mutating func apply(_ change: RosterChange, now: Timestamp) async throws -> Effect {
        closeout = nil
        var effect = try await effect(of: change, now: now)
        if let closeout {
            effect.message = closeout.message
            effect.recipients = closeout.recipients
        }
        return effect
    }

    private mutating func effect(of change: RosterChange, now: Timestamp) async throws -> Effect {
        switch change {
        case .createCall(let call):
            try await insert(call)
            calls[call.id] = call
            return Effect(result: .done, call: call, statusChanged: true, changed: true)
        case .accept(let callId, let volunteerId, let eligible, let party):
            return try await accept(callId, volunteerId, eligible: eligible, party: party, now: now)
        case .withdraw(let callId, let volunteerId):
            return try await withdraw(callId, volunteerId, now: now)
        case .decline(let callId, let vid):
            guard var call = try await fetch(callId) else { return .notFound }
            let count = try await int("""
                WITH ins AS (
                    INSERT INTO declines (call_id, volunteer_id, declined_at) VALUES (\(callId), \(vid), \(now.millis))
                    ON CONFLICT DO NOTHING RETURNING 1)
                UPDATE calls SET declined = declined + 1 WHERE id = \(callId) AND EXISTS (SELECT 1 FROM ins) RETURNING declined
                """)
            guard let count else { return Effect(result: .done, call: call, statusChanged: false, changed: false) }
            call.declined = count
            remember(call)
            return Effect(result: .done, call: call, statusChanged: false, changed: true)
        case .recordAlerts(let callId, let volunteerIds):
            return try await recordAlerts(callId, volunteerIds, wave: nil, now: now)
        case .recordWave(let callId, let reached, let volunteerIds):
            return try await recordAlerts(callId, volunteerIds, wave: reached, now: now)
        case .recordSuppressed(let callId, let volunteerIds, let reason):
            return try await recordSuppressed(callId, volunteerIds, reason: reason, now: now)
        case .funnel(let callId, let volunteerId, let stage):
            return try await funnel(callId, volunteerId, stage: stage, now: now)
        case .checkin(let callId, let volunteerId, let arrived):
            return try await checkin(callId, volunteerId, arrived: arrived, now: now)
        case .postMessage(let callId, let orgId, let text):
            return try await postMessage(callId, orgId: orgId, text: text, now: now)
        case .cancel(let callId, let orgId):
            guard var call = try await fetch(callId), call.orgId == orgId else { return .notFound }
            if call.status == .cancelled { return Effect(result: .done, call: call, statusChanged: false, changed: false) }
            let expired = try await expireIfDue(&call, now: now)
            if call.status == .expired { return Effect(result: .conflict, call: call, statusChanged: expired, changed: expired) }
            try await exec("UPDATE calls SET status = 'cancelled', ended_at = \(now.millis) WHERE id = \(callId)")
            call.status = .cancelled
            call.endedAt = now
            remember(call)
            return Effect(result: .done, call: call, statusChanged: true, changed: true)
        case .remove(let callId, let orgId, let volunteerId):
            return try await remove(callId, orgId: orgId, volunteerId, now: now)
        case .expire(let callId):
            guard var call = try await fetch(callId) else { return .notFound }
            let expired = try await expireIfDue(&call, now: now)
            return Effect(result: .done, call: call, statusChanged: expired, changed: expired)
        }
    }

    /// Decides an accept in the contract's order (``FillRules/decideAccept``) with the §11
    /// rules read in the same transaction, as ``RosterSQL`` does. The common case (an
    /// eligible volunteer, an open call with room and nobody on standby) costs two round
    /// trips: the §11 checks in one statement, the places and the confirmation in another.
    private mutating func accept(_ callId: String, _ vid: String, eligible: Bool, party: Int, now: Timestamp) async throws -> Effect {
        guard var call = try await fetch(callId) else { return .notFound }
        let expired = try await expireIfDue(&call, now: now)
        let checks = call.status.isEnded ? (barred: false, overLimit: false) : try await rules(vid, call, now: now)
        let barred = checks.barred
        let likelyRoom = !barred && eligible && call.status == .open && call.confirmed + party <= call.needed && call.standby == 0
        if !likelyRoom || checks.overLimit {
            let already = try await exists("confirmations", callId, vid)
            var queued = false
            if !already && call.standby > 0 { queued = try await onStandby(callId, vid) }
            var alerted = !barred && eligible
            if !barred && !eligible && !already && !call.status.isEnded { alerted = try await exists("alerts", callId, vid) }
            let overLimit = !already && !queued && alerted && !call.status.isEnded && checks.overLimit
            let decision = FillRules.decideAccept(
                alreadyConfirmed: already, onStandby: queued, status: call.status, eligibleOrAlerted: alerted, overLimit: overLimit,
                confirmed: call.confirmed, needed: call.needed, party: party, standbyEnabled: call.standbyEnabled)
            if decision == .standby && !queued { return try await enqueue(&call, vid, party: party, expired: expired, now: now) }
            guard decision == .confirmed, !already else { return .unchanged(.answer(decision), call, expired: expired) }
        }
        switch try await confirm(&call, vid, party: party, now: now) {
        case .confirmed(let before):
            return Effect(result: .answer(.confirmed), call: call, statusChanged: call.status != before || expired, changed: true)
        case .alreadyConfirmed:
            return .unchanged(.answer(.confirmed), call, expired: expired)
        case .noRoom:
            // The database refused the places: answer from the row as stored.
            calls[callId] = nil
            guard var stored = try await fetch(callId) else { return .notFound }
            let decision = FillRules.decideAccept(
                alreadyConfirmed: false, status: stored.status, eligibleOrAlerted: true, confirmed: stored.confirmed,
                needed: stored.needed, party: party, standbyEnabled: stored.standbyEnabled)
            if decision == .standby { return try await enqueue(&stored, vid, party: party, expired: expired, now: now) }
            return .unchanged(.answer(decision == .confirmed ? .full : decision), stored, expired: expired)
        }
    }

    /// Takes a party's places with the conditional count update and inserts its
    /// confirmation, in one statement; nothing changes when the volunteer is already
    /// confirmed or the database finds no room.
    mutating func confirm(_ call: inout Call, _ vid: String, party: Int, now: Timestamp) async throws -> RosterSQL.ConfirmResult {
        let id = call.id
        let rows = try await query("""
            WITH upd AS (
                UPDATE calls SET confirmed = confirmed + \(party),
                    status = CASE WHEN confirmed + \(party) >= needed THEN 'filled' ELSE status END
                WHERE id = \(id) AND status = 'open' AND confirmed + \(party) <= needed
                  AND NOT EXISTS (SELECT 1 FROM confirmations WHERE call_id = \(id) AND volunteer_id = \(vid))
                RETURNING confirmed, status
            ), ins AS (
                INSERT INTO confirmations (call_id, volunteer_id, confirmed_at, party) SELECT \(id), \(vid), \(now.millis), \(party) FROM upd
            )
            SELECT u.confirmed, u.status,
                EXISTS (SELECT 1 FROM confirmations WHERE call_id = \(id) AND volunteer_id = \(vid)) AS already
            FROM (SELECT 1) AS one LEFT JOIN upd u ON true
            """)
        guard let row = rows.first else { return .noRoom }
        if let confirmed = try row.value("confirmed", as: Int?.self) {
            let before = call.status
            call.confirmed = confirmed
            call.status = CallStatus(rawValue: try row.value("status")) ?? .open
            remember(call)
            return .confirmed(statusBefore: before)
        }
        return try row.value("already", as: Bool.self) ? .alreadyConfirmed : .noRoom
    }

    private mutating func withdraw(_ callId: String, _ vid: String, now: Timestamp) async throws -> Effect {
        guard var call = try await fetch(callId) else { return .notFound }
        let expired = try await expireIfDue(&call, now: now)
        guard FillRules.decideWithdraw(status: call.status) == .withdrawn else {
            return .unchanged(.answer(.closed), call, expired: expired)
        }
        let before = call.status
        guard let promoted = try await release(&call, vid, now: now) else {
            return try await leaveStandby(&call, vid, now: now)
        }
        try await exec("INSERT INTO withdrawals (call_id, volunteer_id, withdrawn_at) VALUES (\(callId), \(vid), \(now.millis))")
        return Effect(result: .answer(.withdrawn), call: call, statusChanged: call.status != before, changed: true, promoted: promoted)
    }

    /// Ends a volunteer's confirmation on a call that has not ended: frees its places
    /// (deleting the confirmation and reopening a filled call in one statement), checks the
    /// volunteer out and promotes from the standby list. Returns the promoted volunteers, or
    /// nil when there was no confirmation.
    mutating func release(_ call: inout Call, _ vid: String, now: Timestamp) async throws -> [String]? {
        let id = call.id
        let rows = try await query("""
            WITH gone AS (DELETE FROM confirmations WHERE call_id = \(id) AND volunteer_id = \(vid) RETURNING party)
            UPDATE calls SET confirmed = confirmed - (SELECT party FROM gone), status = CASE WHEN status = 'filled' THEN 'open' ELSE status END
            WHERE id = \(id) AND EXISTS (SELECT 1 FROM gone) RETURNING confirmed, status
            """)
        guard let row = rows.first else { return nil }
        call.confirmed = try row.value("confirmed")
        call.status = CallStatus(rawValue: try row.value("status")) ?? .open
        try await checkOut(&call, vid, now: now)
        let promoted = try await promote(&call, now: now)
        remember(call)
        return promoted
    }

    /// Marks an open or filled call expired when its end time has passed; true when it did.
    /// An expiry stores the close-out message for the call's confirmed helpers.
    mutating func expireIfDue(_ call: inout Call, now: Timestamp) async throws -> Bool {
        guard !call.status.isEnded, call.endsAt <= now else { return false }
        try await exec("UPDATE calls SET status = 'expired', ended_at = \(call.endsAt.millis) WHERE id = \(call.id)")
        call.status = .expired
        call.endedAt = call.endsAt
        remember(call)
        closeout = try await storeCloseout(call, now: now)
        return true
    }

    /// The call as this transaction holds it; one the batch did not lock (created by
    /// another node since, or unknown) is read and locked now.
    mutating func fetch(_ id: String) async throws -> Call? {
        if let call = calls[id] { return call }
        guard let row = try await query("\(unescaped: Call.postgresSelect) WHERE c.id = \(id) FOR UPDATE OF c").first else { return nil }
        let call = try Call(postgres: row)
        remember(call)
        return call
    }

    mutating func remember(_ call: Call) { calls[call.id] = call }

    private func insert(_ c: Call) async throws {
        var maxRadius: Double?, waveSeconds: Int?, fillBy: Int64?, confidence: Double?, delay: DelayModel?
        switch c.dispatch {
        case .broadcast: break
        case .waves(let m, let s): (maxRadius, waveSeconds) = (m, s)
        case .deadline(let f, let k, let m): (maxRadius, fillBy, confidence, delay) = (m, f.millis, k, c.delayModel)
        }
        let (skills, rate) = (SkillList.encode(c.skills), c.dispatch == .broadcast ? nil : c.acceptanceRate)
        let (median, sigma) = (delay?.medianSeconds, delay?.sigma)
        try await exec("""
            INSERT INTO calls (id, org_id, title, description, address, lat, lon, radius_km, needed, skills,
                starts_at, ends_at, created_at, status, confirmed, alerted, declined, ended_at,
                dispatch_mode, max_radius_km, wave_seconds, acceptance_rate, standby_enabled, reached_radius_km,
                fill_by, confidence, delay_median_s, delay_sigma)
            VALUES (\(c.id), \(c.orgId), \(c.title), \(c.description), \(c.address), \(c.location.lat), \(c.location.lon), \(c.radiusKm),
                \(c.needed), \(skills), \(c.startsAt.millis), \(c.endsAt.millis), \(c.createdAt.millis), \(c.status.rawValue),
                \(c.confirmed), \(c.alerted), \(c.declined), \(c.endedAt?.millis), \(c.dispatch.name), \(maxRadius), \(waveSeconds),
                \(rate), \(c.standbyEnabled ? 1 : 0), \(c.reachedRadiusKm), \(fillBy), \(confidence), \(median), \(sigma))
            """)
    }

    // MARK: Statements

    func query(_ q: PostgresQuery) async throws -> [PostgresRandomAccessRow] {
        try await PostgresStore.rows(conn.query(q, logger: logger))
    }

    func exec(_ q: PostgresQuery) async throws {
        _ = try await query(q)
    }

    /// The first column of the first row, if any.
    func int(_ q: PostgresQuery) async throws -> Int? {
        try await query(q).first.map { try $0[0].decode(Int.self) }
    }

    func exists(_ table: String, _ callId: String, _ vid: String) async throws -> Bool {
        try await query("SELECT 1 FROM \(unescaped: table) WHERE call_id = \(callId) AND volunteer_id = \(vid)").count == 1
    }
}
