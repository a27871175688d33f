import GRDB
import HelferrufCore

/// The SQL of each roster change, run by the ledger's writer inside its transaction.
///
/// The exactly-N rule holds three times over in the database itself: the (call, volunteer)
/// primary key of `confirmations`, a conditional count update
/// (`... WHERE confirmed < needed`), and the `confirmed <= needed` CHECK constraint.
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

        static let notFound = Effect(result: .notFound, call: nil, statusChanged: false, changed: false)
    }

    /// Committed (or, inside the current transaction, about to be committed) call rows.
    private var calls: [String: Call] = [:]
    /// Beyond this many calls the cache starts over, so memory stays bounded.
    private let cacheLimit = 20_000

    /// Forgets every remembered row: after a rollback they may be ahead of the database.
    mutating func forgetCalls() { calls.removeAll(keepingCapacity: true) }

    mutating func apply(_ change: RosterChange, db: Database, now: Timestamp) throws -> Effect {
        switch change {
        case .createCall(let call):
            try insert(call, db: db)
            remember(call)
            return Effect(result: .done, call: call, statusChanged: true, changed: true)
        case .accept(let callId, let volunteerId, let eligible):
            return try accept(callId, volunteerId, eligible: eligible, db: db, now: now)
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
            guard var call = try fetch(callId, db) else { return .notFound }
            let statement = try db.cachedStatement(sql: "INSERT OR IGNORE INTO alerts (call_id, volunteer_id, alerted_at) VALUES (?, ?, ?)")
            var added = 0
            for vid in volunteerIds {
                try statement.execute(arguments: [callId, vid, now.millis])
                added += db.changesCount
            }
            guard added > 0 else { return Effect(result: .done, call: call, statusChanged: false, changed: false) }
            call.alerted = try updateCount("alerted", by: added, callId, db)
            remember(call)
            return Effect(result: .done, call: call, statusChanged: false, changed: true)
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
        case .expire(let callId):
            guard var call = try fetch(callId, db) else { return .notFound }
            let expired = try expireIfDue(&call, db: db, now: now)
            return Effect(result: .done, call: call, statusChanged: expired, changed: expired)
        }
    }

    /// Decides an accept in the contract's order (``FillRules/decideAccept``). The common
    /// case (an eligible volunteer, an open call with room) costs one insert and one update.
    private mutating func accept(_ callId: String, _ vid: String, eligible: Bool, db: Database, now: Timestamp) throws -> Effect {
        guard var call = try fetch(callId, db) else { return .notFound }
        let expired = try expireIfDue(&call, db: db, now: now)
        let likelyRoom = eligible && call.status == .open && call.confirmed < call.needed
        if !likelyRoom {
            let already = try exists("confirmations", callId, vid, db)
            let alerted = try eligible || (!already && !call.status.isEnded && exists("alerts", callId, vid, db))
            let decision = FillRules.decideAccept(
                alreadyConfirmed: already, status: call.status, eligibleOrAlerted: alerted, confirmed: call.confirmed, needed: call.needed)
            guard decision == .confirmed, !already else {
                return Effect(result: .answer(decision), call: call, statusChanged: expired, changed: expired)
            }
        }
        try db.cachedStatement(sql: "INSERT OR IGNORE INTO confirmations (call_id, volunteer_id, confirmed_at) VALUES (?, ?, ?)")
            .execute(arguments: [callId, vid, now.millis])
        guard db.changesCount == 1 else {
            // The key says this volunteer is confirmed already.
            return Effect(result: .answer(.confirmed), call: call, statusChanged: expired, changed: expired)
        }
        let row = try Row.fetchOne(
            db.cachedStatement(sql: """
                UPDATE calls SET confirmed = confirmed + 1,
                    status = CASE WHEN confirmed + 1 >= needed THEN 'filled' ELSE status END
                WHERE id = ? AND status = 'open' AND confirmed < needed
                RETURNING confirmed, status
                """),
            arguments: [callId])
        guard let row else {
            // The database refused the place: take the confirmation back and answer from
            // the row as stored.
            try db.cachedStatement(sql: "DELETE FROM confirmations WHERE call_id = ? AND volunteer_id = ?").execute(arguments: [callId, vid])
            calls[callId] = nil
            guard let stored = try fetch(callId, db) else { return .notFound }
            let decision = FillRules.decideAccept(
                alreadyConfirmed: false, status: stored.status, eligibleOrAlerted: true, confirmed: stored.confirmed, needed: stored.needed)
            return Effect(result: .answer(decision == .confirmed ? .full : decision), call: stored, statusChanged: expired, changed: expired)
        }
        let before = call.status
        call.confirmed = row[0]
        call.status = CallStatus(rawValue: row[1]) ?? .open
        remember(call)
        return Effect(result: .answer(.confirmed), call: call, statusChanged: call.status != before || expired, changed: true)
    }

    private mutating func withdraw(_ callId: String, _ vid: String, db: Database, now: Timestamp) throws -> Effect {
        guard var call = try fetch(callId, db) else { return .notFound }
        let expired = try expireIfDue(&call, db: db, now: now)
        guard FillRules.decideWithdraw(status: call.status) == .withdrawn else {
            return Effect(result: .answer(.closed), call: call, statusChanged: expired, changed: expired)
        }
        try db.cachedStatement(sql: "DELETE FROM confirmations WHERE call_id = ? AND volunteer_id = ?").execute(arguments: [callId, vid])
        guard db.changesCount == 1 else {
            return Effect(result: .answer(.withdrawn), call: call, statusChanged: false, changed: false)
        }
        let row = try Row.fetchOne(
            db.cachedStatement(sql: """
                UPDATE calls SET confirmed = confirmed - 1, status = CASE WHEN status = 'filled' THEN 'open' ELSE status END
                WHERE id = ? RETURNING confirmed, status
                """),
            arguments: [callId])
        try db.cachedStatement(sql: "INSERT INTO withdrawals (call_id, volunteer_id, withdrawn_at) VALUES (?, ?, ?)")
            .execute(arguments: [callId, vid, now.millis])
        let before = call.status
        if let row {
            call.confirmed = row[0]
            call.status = CallStatus(rawValue: row[1]) ?? .open
        }
        remember(call)
        return Effect(result: .answer(.withdrawn), call: call, statusChanged: call.status != before, changed: true)
    }

    /// Marks an open or filled call expired when its end time has passed; true when it did.
    private mutating func expireIfDue(_ call: inout Call, db: Database, now: Timestamp) throws -> Bool {
        guard !call.status.isEnded, call.endsAt <= now else { return false }
        try db.cachedStatement(sql: "UPDATE calls SET status = 'expired', ended_at = ? WHERE id = ?").execute(arguments: [call.endsAt.millis, call.id])
        call.status = .expired
        call.endedAt = call.endsAt
        remember(call)
        return true
    }

    /// Adds to one of the call's counters and returns its new value.
    private func updateCount(_ column: String, by n: Int, _ callId: String, _ db: Database) throws -> Int {
        try Int.fetchOne(
            db.cachedStatement(sql: "UPDATE calls SET \(column) = \(column) + ? WHERE id = ? RETURNING \(column)"),
            arguments: [n, callId]) ?? 0
    }

    private func exists(_ table: String, _ callId: String, _ vid: String, _ db: Database) throws -> Bool {
        try Bool.fetchOne(
            db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM \(table) WHERE call_id = ? AND volunteer_id = ?)"),
            arguments: [callId, vid]) ?? false
    }

    private mutating func remember(_ call: Call) {
        if calls.count >= cacheLimit, calls[call.id] == nil { calls.removeAll(keepingCapacity: true) }
        calls[call.id] = call
    }

    private mutating func fetch(_ id: String, _ db: Database) throws -> Call? {
        if let call = calls[id] { return call }
        guard let call = try Row.fetchOne(db.cachedStatement(sql: Call.selectSQL + " WHERE c.id = ?"), arguments: [id]).map(Call.init(row:)) else {
            return nil
        }
        remember(call)
        return call
    }

    private func insert(_ c: Call, db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO calls (id, org_id, title, description, address, lat, lon, radius_km, needed, skills,
                starts_at, ends_at, created_at, status, confirmed, alerted, declined, ended_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [
                c.id, c.orgId, c.title, c.description, c.address, c.location.lat, c.location.lon, c.radiusKm, c.needed,
                SkillList.encode(c.skills), c.startsAt.millis, c.endsAt.millis, c.createdAt.millis, c.status.rawValue,
                c.confirmed, c.alerted, c.declined, c.endedAt?.millis,
            ])
    }
}
