import GRDB
import HelferrufCore

/// The SQL of each roster change, run by the ledger's writer inside its transaction.
///
/// The exactly-N rule holds three times over in the database itself: the (call, volunteer)
/// primary key of `confirmations`, a conditional count update
/// (`... WHERE confirmed + party <= needed`), and the `confirmed <= needed` CHECK constraint.
///
/// To keep the writer cheap per accept, it remembers each call's row between batches
/// (``calls``) instead of selecting it again, and uses cached prepared statements. That is
/// sound because the ledger is the only writer of `calls`; the cache only steers which
/// statements run, while the conditional update and the constraints decide. The ledger
/// drops the cache whenever a transaction rolls back.
struct RosterSQL {
    /// What one change did, before the ledger pairs it with the change.
    struct Effect {
        var result: RosterOutcome.Result
        var call: Call?
        var statusChanged: Bool
        var changed: Bool
        var promoted: [String] = []
        var message: CallMessage?
        var recipients: [String] = []

        static let notFound = Effect(result: .notFound, call: nil, statusChanged: false, changed: false)

        static func unchanged(_ result: RosterOutcome.Result, _ call: Call, expired: Bool) -> Effect {
            Effect(result: result, call: call, statusChanged: expired, changed: expired)
        }
    }

    /// Committed (or, inside the current transaction, about to be committed) call rows.
    private var calls: [String: Call] = [:]
    /// Beyond this many calls the cache starts over, so memory stays bounded.
    private let cacheLimit = 20_000
    /// The close-out message of a call that expired during the current change.
    var closeout: (message: CallMessage, recipients: [String])?
    /// The most confirmations and standby places a volunteer may hold on overlapping calls.
    let maxOverlapping: Int

    init(maxOverlapping: Int = Ledger.defaultMaxOverlapping) {
        self.maxOverlapping = maxOverlapping
    }

    /// Forgets every remembered row: after a rollback they may be ahead of the database.
    mutating func forgetCalls() { calls.removeAll(keepingCapacity: true) }

    mutating func apply(_ change: RosterChange, db: Database, now: Timestamp) throws -> Effect {
        closeout = nil
        var effect = try effect(of: change, db: db, now: now)
        if let closeout {
            effect.message = closeout.message
            effect.recipients = closeout.recipients
        }
        return effect
    }

    private mutating func effect(of change: RosterChange, db: Database, now: Timestamp) throws -> Effect {
        switch change {
        case .createCall(let call):
            try insert(call, db: db)
            remember(call)
            return Effect(result: .done, call: call, statusChanged: true, changed: true)
        case .accept(let callId, let volunteerId, let eligible, let party):
            return try accept(callId, volunteerId, eligible: eligible, party: party, db: db, now: now)
        case .withdraw(let callId, let volunteerId):
            return try withdraw(callId, volunteerId, db: db, now: now)
        case .decline(let callId, let volunteerId):
            guard var call = try fetch(callId, db) else { return .notFound }
            try db.cachedStatement(sql: "INSERT OR IGNORE INTO declines (call_id, volunteer_id, declined_at) VALUES (?, ?, ?)")
                .execute(arguments: [callId, volunteerId, now.millis])
            guard db.changesCount == 1 else { return Effect(result: .done, call: call, statusChanged: false, changed: false) }
            call.declined = try updateCount("declined", by: 1, callId, db)
            remember(call)
            return Effect(result: .done, call: call, statusChanged: false, changed: true)
        case .recordAlerts(let callId, let volunteerIds):
            return try recordAlerts(callId, volunteerIds, wave: nil, db: db, now: now)
        case .recordWave(let callId, let reached, let volunteerIds):
            return try recordAlerts(callId, volunteerIds, wave: reached, db: db, now: now)
        case .recordSuppressed(let callId, let volunteerIds, let reason):
            return try recordSuppressed(callId, volunteerIds, reason: reason, db: db, now: now)
        case .funnel(let callId, let volunteerId, let stage):
            guard let (call, counted) = try funnel(callId, [volunteerId], stage: stage, db: db, now: now) else { return .notFound }
            return Effect(result: .done, call: call, statusChanged: false, changed: !counted.isEmpty)
        case .checkin(let callId, let volunteerId, let arrived):
            return try checkin(callId, volunteerId, arrived: arrived, db: db, now: now)
        case .postMessage(let callId, let orgId, let text):
            return try postMessage(callId, orgId: orgId, text: text, db: db, now: now)
        case .cancel(let callId, let orgId):
            guard var call = try fetch(callId, db), call.orgId == orgId else { return .notFound }
            if call.status == .cancelled { return Effect(result: .done, call: call, statusChanged: false, changed: false) }
            let expired = try expireIfDue(&call, db: db, now: now)
            if call.status == .expired { return Effect(result: .conflict, call: call, statusChanged: expired, changed: expired) }
            try db.cachedStatement(sql: "UPDATE calls SET status = 'cancelled', ended_at = ? WHERE id = ?").execute(arguments: [now.millis, callId])
            call.status = .cancelled
            call.endedAt = now
            remember(call)
            return Effect(result: .done, call: call, statusChanged: true, changed: true)
        case .remove(let callId, let orgId, let volunteerId):
            return try remove(callId, orgId: orgId, volunteerId, db: db, now: now)
        case .expire(let callId):
            guard var call = try fetch(callId, db) else { return .notFound }
            let expired = try expireIfDue(&call, db: db, now: now)
            return Effect(result: .done, call: call, statusChanged: expired, changed: expired)
        }
    }

    /// Decides an accept in the contract's order (``FillRules/decideAccept``), with the §11
    /// rules read in the same transaction: a volunteer the call's organisation blocked, or
    /// removed from this call, counts as not eligible; one already holding the most
    /// overlapping places gets `limit`. The common case (an eligible volunteer, an open
    /// call with room and nobody on standby) costs two lookups, one insert and one update.
    private mutating func accept(_ callId: String, _ vid: String, eligible: Bool, party: Int, db: Database, now: Timestamp) throws -> Effect {
        guard var call = try fetch(callId, db) else { return .notFound }
        let expired = try expireIfDue(&call, db: db, now: now)
        let barred = try !call.status.isEnded && isBarred(vid, from: call, db)
        let likelyRoom = !barred && eligible && call.status == .open && call.confirmed + party <= call.needed && call.standby == 0
        if try !likelyRoom || holdsMostOverlapping(vid, besides: call, db, now: now) {
            let already = try exists("confirmations", callId, vid, db)
            let queued = try !already && call.standby > 0 && onStandby(callId, vid, db)
            let alerted = try !barred && (eligible || (!already && !call.status.isEnded && exists("alerts", callId, vid, db)))
            let overLimit = try !already && !queued && alerted && !call.status.isEnded && holdsMostOverlapping(vid, besides: call, db, now: now)
            let decision = FillRules.decideAccept(
                alreadyConfirmed: already, onStandby: queued, status: call.status, eligibleOrAlerted: alerted, overLimit: overLimit,
                confirmed: call.confirmed, needed: call.needed, party: party, standbyEnabled: call.standbyEnabled)
            if decision == .standby && !queued { return try enqueue(&call, vid, party: party, expired: expired, db: db, now: now) }
            guard decision == .confirmed, !already else { return .unchanged(.answer(decision), call, expired: expired) }
        }
        switch try confirm(&call, vid, party: party, db: db, now: now) {
        case .confirmed(let before):
            return Effect(result: .answer(.confirmed), call: call, statusChanged: call.status != before || expired, changed: true)
        case .alreadyConfirmed:
            return .unchanged(.answer(.confirmed), call, expired: expired)
        case .noRoom:
            // The database refused the places: answer from the row as stored.
            calls[callId] = nil
            guard var stored = try fetch(callId, db) else { return .notFound }
            let decision = FillRules.decideAccept(
                alreadyConfirmed: false, status: stored.status, eligibleOrAlerted: true, confirmed: stored.confirmed,
                needed: stored.needed, party: party, standbyEnabled: stored.standbyEnabled)
            if decision == .standby { return try enqueue(&stored, vid, party: party, expired: expired, db: db, now: now) }
            return .unchanged(.answer(decision == .confirmed ? .full : decision), stored, expired: expired)
        }
    }

    enum ConfirmResult {
        case confirmed(statusBefore: CallStatus)
        case alreadyConfirmed
        case noRoom
    }

    /// Inserts a confirmation for a party and takes its places with the conditional count
    /// update; takes the confirmation back when the database finds no room.
    mutating func confirm(_ call: inout Call, _ vid: String, party: Int, db: Database, now: Timestamp) throws -> ConfirmResult {
        try db.cachedStatement(sql: "INSERT OR IGNORE INTO confirmations (call_id, volunteer_id, confirmed_at, party) VALUES (?, ?, ?, ?)")
            .execute(arguments: [call.id, vid, now.millis, party])
        guard db.changesCount == 1 else { return .alreadyConfirmed }
        let row = try Row.fetchOne(
            db.cachedStatement(sql: """
                UPDATE calls SET confirmed = confirmed + ?1,
                    status = CASE WHEN confirmed + ?1 >= needed THEN 'filled' ELSE status END
                WHERE id = ?2 AND status = 'open' AND confirmed + ?1 <= needed
                RETURNING confirmed, status
                """),
            arguments: [party, call.id])
        guard let row else {
            try db.cachedStatement(sql: "DELETE FROM confirmations WHERE call_id = ? AND volunteer_id = ?").execute(arguments: [call.id, vid])
            return .noRoom
        }
        let before = call.status
        call.confirmed = row[0]
        call.status = CallStatus(rawValue: row[1]) ?? .open
        remember(call)
        return .confirmed(statusBefore: before)
    }

    private mutating func withdraw(_ callId: String, _ vid: String, db: Database, now: Timestamp) throws -> Effect {
        guard var call = try fetch(callId, db) else { return .notFound }
        let expired = try expireIfDue(&call, db: db, now: now)
        guard FillRules.decideWithdraw(status: call.status) == .withdrawn else {
            return .unchanged(.answer(.closed), call, expired: expired)
        }
        let before = call.status
        guard let promoted = try release(&call, vid, db: db, now: now) else {
            return try leaveStandby(&call, vid, db: db, now: now)
        }
        try db.cachedStatement(sql: "INSERT INTO withdrawals (call_id, volunteer_id, withdrawn_at) VALUES (?, ?, ?)")
            .execute(arguments: [callId, vid, now.millis])
        return Effect(result: .answer(.withdrawn), call: call, statusChanged: call.status != before, changed: true, promoted: promoted)
    }

    /// Ends a volunteer's confirmation on a call that has not ended: frees its places,
    /// reopens a filled call, checks the volunteer out and promotes from the standby list.
    /// Returns the promoted volunteers, or nil when there was no confirmation.
    mutating func release(_ call: inout Call, _ vid: String, db: Database, now: Timestamp) throws -> [String]? {
        let party = try Int.fetchOne(
            db.cachedStatement(sql: "DELETE FROM confirmations WHERE call_id = ? AND volunteer_id = ? RETURNING party"),
            arguments: [call.id, vid])
        guard let party else { return nil }
        let row = try Row.fetchOne(
            db.cachedStatement(sql: """
                UPDATE calls SET confirmed = confirmed - ?, status = CASE WHEN status = 'filled' THEN 'open' ELSE status END
                WHERE id = ? RETURNING confirmed, status
                """),
            arguments: [party, call.id])
        if let row {
            call.confirmed = row[0]
            call.status = CallStatus(rawValue: row[1]) ?? .open
        }
        try checkOut(&call, vid, db: db, now: now)
        let promoted = try promote(&call, db: db, now: now)
        remember(call)
        return promoted
    }

    /// Marks an open or filled call expired when its end time has passed; true when it did.
    /// An expiry stores the close-out message for the call's confirmed helpers.
    mutating func expireIfDue(_ call: inout Call, db: Database, now: Timestamp) throws -> Bool {
        guard !call.status.isEnded, call.endsAt <= now else { return false }
        try db.cachedStatement(sql: "UPDATE calls SET status = 'expired', ended_at = ? WHERE id = ?").execute(arguments: [call.endsAt.millis, call.id])
        call.status = .expired
        call.endedAt = call.endsAt
        remember(call)
        closeout = try storeCloseout(call, db: db, now: now)
        return true
    }

    /// Adds to one of the call's counters and returns its new value.
    func updateCount(_ column: String, by n: Int, _ callId: String, _ db: Database) throws -> Int {
        try Int.fetchOne(
            db.cachedStatement(sql: "UPDATE calls SET \(column) = \(column) + ? WHERE id = ? RETURNING \(column)"),
            arguments: [n, callId]) ?? 0
    }

    func exists(_ table: String, _ callId: String, _ vid: String, _ db: Database) throws -> Bool {
        try Bool.fetchOne(
            db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM \(table) WHERE call_id = ? AND volunteer_id = ?)"),
            arguments: [callId, vid]) ?? false
    }

    mutating func remember(_ call: Call) {
        if calls.count >= cacheLimit, calls[call.id] == nil { calls.removeAll(keepingCapacity: true) }
        calls[call.id] = call
    }

    mutating func fetch(_ id: String, _ db: Database) throws -> Call? {
        if let call = calls[id] { return call }
        guard let call = try Row.fetchOne(db.cachedStatement(sql: Call.selectSQL + " WHERE c.id = ?"), arguments: [id]).map(Call.init(row:)) else {
            return nil
        }
        remember(call)
        return call
    }

    private func insert(_ c: Call, db: Database) throws {
        var maxRadius: Double?, waveSeconds: Int?, fillBy: Int64?, confidence: Double?, delay: DelayModel?
        switch c.dispatch {
        case .broadcast: break
        case .waves(let m, let s): (maxRadius, waveSeconds) = (m, s)
        case .deadline(let f, let k, let m): (maxRadius, fillBy, confidence, delay) = (m, f.millis, k, c.delayModel)
        }
        try db.cachedStatement(sql: """
            INSERT INTO calls (id, org_id, title, description, address, lat, lon, radius_km, needed, skills,
                starts_at, ends_at, created_at, status, confirmed, alerted, declined, ended_at,
                dispatch_mode, max_radius_km, wave_seconds, acceptance_rate, standby_enabled, reached_radius_km,
                fill_by, confidence, delay_median_s, delay_sigma)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [
                c.id, c.orgId, c.title, c.description, c.address, c.location.lat, c.location.lon, c.radiusKm, c.needed,
                SkillList.encode(c.skills), c.startsAt.millis, c.endsAt.millis, c.createdAt.millis, c.status.rawValue,
                c.confirmed, c.alerted, c.declined, c.endedAt?.millis,
                c.dispatch.name, maxRadius, waveSeconds, c.dispatch == .broadcast ? nil : c.acceptanceRate, c.standbyEnabled ? 1 : 0,
                c.reachedRadiusKm, fillBy, confidence, delay?.medianSeconds, delay?.sigma,
            ])
    }
}
