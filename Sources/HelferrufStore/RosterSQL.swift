import GRDB
import HelferrufCore

/// The SQL of each roster change, run inside the ledger's transaction. The exactly-N rule
/// holds three times over: the (call, volunteer) primary key, a conditional count update,
/// and the `confirmed <= needed` CHECK constraint.
enum RosterSQL {
    /// What one change did, before the ledger pairs it with the change.
    struct Effect {
        var result: RosterOutcome.Result
        var call: Call?
        var statusChanged: Bool
        var changed: Bool

        static let notFound = Effect(result: .notFound, call: nil, statusChanged: false, changed: false)
    }

    static func apply(_ change: RosterChange, db: Database, now: Timestamp) throws -> Effect {
        switch change {
        case .createCall(let call):
            try insert(call, db: db)
            return Effect(result: .done, call: try fetch(call.id, db), statusChanged: true, changed: true)
        case .accept(let callId, let volunteerId, let eligible):
            return try accept(callId, volunteerId, eligible: eligible, db: db, now: now)
        case .withdraw(let callId, let volunteerId):
            return try withdraw(callId, volunteerId, db: db, now: now)
        case .decline(let callId, let volunteerId):
            guard try exists(callId, db) else { return .notFound }
            try db.execute(sql: "INSERT OR IGNORE INTO declines (call_id, volunteer_id, declined_at) VALUES (?, ?, ?)", arguments: [callId, volunteerId, now.millis])
            let added = db.changesCount == 1
            if added { try db.execute(sql: "UPDATE calls SET declined = declined + 1 WHERE id = ?", arguments: [callId]) }
            return Effect(result: .done, call: try fetch(callId, db), statusChanged: false, changed: added)
        case .recordAlerts(let callId, let volunteerIds):
            guard try exists(callId, db) else { return .notFound }
            var added = 0
            let statement = try db.cachedStatement(sql: "INSERT OR IGNORE INTO alerts (call_id, volunteer_id, alerted_at) VALUES (?, ?, ?)")
            for vid in volunteerIds {
                try statement.execute(arguments: [callId, vid, now.millis])
                added += db.changesCount
            }
            if added > 0 { try db.execute(sql: "UPDATE calls SET alerted = alerted + ? WHERE id = ?", arguments: [added, callId]) }
            return Effect(result: .done, call: try fetch(callId, db), statusChanged: false, changed: added > 0)
        case .cancel(let callId, let orgId):
            guard let call = try fetch(callId, db), call.orgId == orgId else { return .notFound }
            if call.status == .cancelled { return Effect(result: .done, call: call, statusChanged: false, changed: false) }
            if call.status == .expired || call.endsAt <= now {
                let expired = try expireIfDue(call, db: db, now: now)
                return Effect(result: .conflict, call: expired.call, statusChanged: expired.changed, changed: expired.changed)
            }
            try db.execute(sql: "UPDATE calls SET status = 'cancelled', ended_at = ? WHERE id = ?", arguments: [now.millis, callId])
            return Effect(result: .done, call: try fetch(callId, db), statusChanged: true, changed: true)
        case .expire(let callId):
            guard let call = try fetch(callId, db) else { return .notFound }
            let expired = try expireIfDue(call, db: db, now: now)
            return Effect(result: .done, call: expired.call, statusChanged: expired.changed, changed: expired.changed)
        }
    }

    private static func accept(_ callId: String, _ vid: String, eligible: Bool, db: Database, now: Timestamp) throws -> Effect {
        guard var call = try fetch(callId, db) else { return .notFound }
        let expired = try expireIfDue(call, db: db, now: now)
        call = expired.call
        let already = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM confirmations WHERE call_id = ? AND volunteer_id = ?)", arguments: [callId, vid]) ?? false
        var alerted = eligible
        if !alerted && !already && !call.status.isEnded {
            alerted = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM alerts WHERE call_id = ? AND volunteer_id = ?)", arguments: [callId, vid]) ?? false
        }
        let decision = FillRules.decideAccept(
            alreadyConfirmed: already, status: call.status, eligibleOrAlerted: alerted, confirmed: call.confirmed, needed: call.needed)
        guard decision == .confirmed, !already else {
            return Effect(result: .answer(decision), call: call, statusChanged: expired.changed, changed: expired.changed)
        }
        try db.execute(
            sql: """
                UPDATE calls SET confirmed = confirmed + 1,
                    status = CASE WHEN confirmed + 1 >= needed THEN 'filled' ELSE status END
                WHERE id = ? AND status = 'open' AND confirmed < needed
                """,
            arguments: [callId])
        guard db.changesCount == 1 else {
            return Effect(result: .answer(.full), call: call, statusChanged: false, changed: false)
        }
        try db.execute(sql: "INSERT INTO confirmations (call_id, volunteer_id, confirmed_at) VALUES (?, ?, ?)", arguments: [callId, vid, now.millis])
        let after = try fetch(callId, db)!
        return Effect(result: .answer(.confirmed), call: after, statusChanged: after.status != call.status, changed: true)
    }

    private static func withdraw(_ callId: String, _ vid: String, db: Database, now: Timestamp) throws -> Effect {
        guard let found = try fetch(callId, db) else { return .notFound }
        let expired = try expireIfDue(found, db: db, now: now)
        let call = expired.call
        guard FillRules.decideWithdraw(status: call.status) == .withdrawn else {
            return Effect(result: .answer(.closed), call: call, statusChanged: expired.changed, changed: expired.changed)
        }
        try db.execute(sql: "DELETE FROM confirmations WHERE call_id = ? AND volunteer_id = ?", arguments: [callId, vid])
        guard db.changesCount == 1 else {
            return Effect(result: .answer(.withdrawn), call: call, statusChanged: false, changed: false)
        }
        try db.execute(
            sql: "UPDATE calls SET confirmed = confirmed - 1, status = CASE WHEN status = 'filled' THEN 'open' ELSE status END WHERE id = ?",
            arguments: [callId])
        try db.execute(sql: "INSERT INTO withdrawals (call_id, volunteer_id, withdrawn_at) VALUES (?, ?, ?)", arguments: [callId, vid, now.millis])
        let after = try fetch(callId, db)!
        return Effect(result: .answer(.withdrawn), call: after, statusChanged: after.status != call.status, changed: true)
    }

    /// Marks an open or filled call expired when its end time has passed.
    private static func expireIfDue(_ call: Call, db: Database, now: Timestamp) throws -> (call: Call, changed: Bool) {
        guard !call.status.isEnded, call.endsAt <= now else { return (call, false) }
        try db.execute(sql: "UPDATE calls SET status = 'expired', ended_at = ? WHERE id = ?", arguments: [call.endsAt.millis, call.id])
        var after = call
        after.status = .expired
        after.endedAt = call.endsAt
        return (after, true)
    }

    private static func insert(_ c: Call, db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO calls (id, org_id, title, description, address, lat, lon, radius_km, needed, skills,
                    starts_at, ends_at, created_at, status, confirmed, alerted, declined, ended_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                c.id, c.orgId, c.title, c.description, c.address, c.location.lat, c.location.lon, c.radiusKm, c.needed,
                SkillList.encode(c.skills), c.startsAt.millis, c.endsAt.millis, c.createdAt.millis, c.status.rawValue,
                c.confirmed, c.alerted, c.declined, c.endedAt?.millis,
            ])
    }

    private static func exists(_ id: String, _ db: Database) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM calls WHERE id = ?)", arguments: [id]) ?? false
    }

    static func fetch(_ id: String, _ db: Database) throws -> Call? {
        try Row.fetchOne(db, sql: Call.selectSQL + " WHERE c.id = ?", arguments: [id]).map(Call.init(row:))
    }
}
