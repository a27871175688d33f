import Foundation
import GRDB
import HelferrufCore

/// Errors the store reports to its callers.
public enum StoreError: Error, CustomStringConvertible {
    /// The database did not accept the durability settings the ledger relies on.
    case unsafeSettings(journalMode: String, synchronous: Int)
    /// The PostgreSQL server may lose or tear acknowledged commits.
    case unsafeServerSettings(fsync: String, fullPageWrites: String, synchronousCommit: String)
    /// `backup` will not overwrite a file.
    case backupExists(String)
    /// The backup copy failed `PRAGMA integrity_check`.
    case backupCorrupt(String)
    /// The operation belongs to another tool with this engine (the text says which).
    case notSupported(String)
    /// `--db` is neither a file path nor a usable `postgres://` URL.
    case invalidLocation(String)
    /// The database cannot answer now (connection lost or refused, shutting down); the
    /// server answers 503 `unavailable`, and the next request tries again.
    case unavailable(String)
    /// The database refused the statement (a constraint, by its SQLSTATE and name).
    case refused(sqlState: String, constraint: String?)
    /// `helferruf migrate` stopped; nothing was written (the text says why).
    case migrationFailed(String)

    public var description: String {
        switch self {
        case .unsafeSettings(let mode, let sync):
            return "database refuses durable settings: journal_mode=\(mode), synchronous=\(sync) (need wal and 2)"
        case .unsafeServerSettings(let fsync, let fullPages, let commit):
            return "PostgreSQL may lose acknowledged commits: fsync=\(fsync), full_page_writes=\(fullPages), synchronous_commit=\(commit) (need on, on, and not off)"
        case .backupExists(let path):
            return "backup destination already exists or cannot be created: \(path)"
        case .backupCorrupt(let report):
            return "backup copy failed its integrity check: \(report)"
        case .notSupported(let advice):
            return advice
        case .invalidLocation(let problem):
            return "--db: \(problem)"
        case .unavailable(let reason):
            return "database unavailable (\(reason))"
        case .refused(let state, let constraint):
            return "database refused the change: SQLSTATE \(state)" + (constraint.map { " (\($0))" } ?? "")
        case .migrationFailed(let reason):
            return "migration stopped, nothing was written: \(reason)"
        }
    }
}

/// The SQLite engine of ``RecordStore``, the embedded default: schema, reads, and the
/// writes that do not touch a call's roster (roster changes go through ``Ledger``).
///
/// Opens one `DatabasePool` in WAL mode and sets `synchronous=FULL` on its writer, so that
/// a commit is on disk before anyone is told about it. Startup fails unless the writer
/// reads back `journal_mode=wal` and `synchronous=2`.
public final class Store: RecordStore {
    /// One process on one file: there are no other nodes.
    public var clusterFeed: (any ClusterFeed)? { nil }

    public let pool: DatabasePool
    public let path: String

    public init(path: String, busyTimeout: TimeInterval = 5) throws {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        var config = Configuration()
        config.busyMode = .timeout(busyTimeout)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA foreign_keys = ON")
            // Deleted and overwritten content is zeroed, not left in free space: an erased
            // contact must not be recoverable from the file (see flushErasures()).
            try db.execute(sql: "PRAGMA secure_delete = ON")
            // Readers serve token lookups and reports, which touch a few pages each; the
            // operating system caches the file anyway, so SQLite's default 2 MiB per reader
            // (five readers) would mostly duplicate it. The writer keeps the default.
            if db.configuration.readonly { try db.execute(sql: "PRAGMA cache_size = -512") }
        }
        self.path = path
        pool = try DatabasePool(path: path, configuration: config)
        // DatabasePool sets synchronous=NORMAL on its writer after prepareDatabase;
        // NORMAL can lose the last commits on power loss.
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        let pragmas = try writerPragmas()
        guard pragmas.journalMode == "wal", pragmas.synchronous == 2 else {
            throw StoreError.unsafeSettings(journalMode: pragmas.journalMode, synchronous: pragmas.synchronous)
        }
        try Schema.migrator.migrate(pool)
    }

    /// `journal_mode` and `synchronous` as the writer connection reports them.
    public func writerPragmas() throws -> (journalMode: String, synchronous: Int) {
        try pool.writeWithoutTransaction { db in
            let mode = try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? ""
            let sync = try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1
            return (mode.lowercased(), sync)
        }
    }

    /// Writes a consistent copy of the database to `destination` while the server keeps
    /// running, with SQLite's online backup API on a reader's snapshot (writers are not
    /// blocked). The copy is built beside the destination and renamed into place only once
    /// complete and checked, so a half-written backup never carries the final name.
    /// Refuses to overwrite an existing file.
    public func backup(to destination: String) throws -> BackupSummary {
        let fm = FileManager.default
        guard !fm.fileExists(atPath: destination) else { throw StoreError.backupExists(destination) }
        let partial = destination + ".partial"
        try? fm.removeItem(atPath: partial)
        do {
            let copy = try DatabaseQueue(path: partial)
            try pool.backup(to: copy)
            let summary = try copy.read { db in
                let check = try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? ""
                guard check == "ok" else { throw StoreError.backupCorrupt(check) }
                return BackupSummary(
                    path: destination,
                    calls: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM calls") ?? 0,
                    confirmations: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM confirmations") ?? 0)
            }
            try copy.close()
            try fm.moveItem(atPath: partial, toPath: destination)
            return summary
        } catch {
            try? fm.removeItem(atPath: partial)
            throw error
        }
    }

    public func makeLedger(clock: @escaping @Sendable () -> Timestamp, maxOverlapping: Int) -> any RosterLedger {
        Ledger(store: self, clock: clock, maxOverlapping: maxOverlapping)
    }

    /// Whether the database answers a trivial query.
    public func isReadable() async -> Bool {
        (try? await pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") }) == 1
    }

    // MARK: Organisations

    /// Creates an organisation and returns it with its new token (shown once, never stored).
    public func createOrganisation(name: String, now: Timestamp) throws -> (Organisation, token: String) {
        let org = Organisation(id: Tokens.newId(), name: name, createdAt: now, disabled: false)
        let token = Tokens.generate(.organisation)
        try pool.write { db in
            try db.execute(
                sql: "INSERT INTO organisations (id, name, token_hash, created_at) VALUES (?, ?, ?, ?)",
                arguments: [org.id, org.name, Tokens.hash(token), now.millis])
        }
        return (org, token)
    }

    /// Creates the "Demo" organisation when the database has none yet; returns it with its
    /// token, or nil when an organisation already exists.
    public func createDemoOrganisationIfEmpty(now: Timestamp) throws -> (Organisation, token: String)? {
        let token = Tokens.generate(.organisation)
        let org = Organisation(id: Tokens.newId(), name: "Demo", createdAt: now, disabled: false)
        let created = try pool.write { db -> Bool in
            guard try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM organisations") == 0 else { return false }
            try db.execute(
                sql: "INSERT INTO organisations (id, name, token_hash, created_at) VALUES (?, ?, ?, ?)",
                arguments: [org.id, org.name, Tokens.hash(token), now.millis])
            return true
        }
        return created ? (org, token) : nil
    }

    public func organisation(token: String) async throws -> Organisation? {
        let hash = Tokens.hash(token)
        return try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM organisations WHERE token_hash = ? AND disabled = 0", arguments: [hash])
                .map(Organisation.init(row:))
        }
    }

    public func organisations() throws -> [Organisation] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM organisations ORDER BY created_at").map(Organisation.init(row:))
        }
    }

    /// Disables an organisation: its token stops working; its calls stay. Returns false
    /// when there is no such organisation.
    public func setOrganisationDisabled(id: String, _ disabled: Bool) throws -> Bool {
        try pool.write { db in
            try db.execute(sql: "UPDATE organisations SET disabled = ? WHERE id = ?", arguments: [disabled ? 1 : 0, id])
            return db.changesCount == 1
        }
    }

    /// Replaces an organisation's token; the old one stops working at once. Returns the new
    /// token, or nil when there is no such organisation.
    public func rotateOrganisationToken(id: String) throws -> String? {
        let token = Tokens.generate(.organisation)
        let changed = try pool.write { db -> Bool in
            try db.execute(sql: "UPDATE organisations SET token_hash = ? WHERE id = ?", arguments: [Tokens.hash(token), id])
            return db.changesCount == 1
        }
        return changed ? token : nil
    }

    // MARK: Administration

    public func stats() throws -> StoreStats {
        try pool.read { db in
            var byStatus: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT status, COUNT(*) AS n FROM calls GROUP BY status") {
                byStatus[row["status"]] = row["n"]
            }
            return StoreStats(
                organisations: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM organisations") ?? 0,
                volunteers: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM volunteers") ?? 0,
                callsByStatus: byStatus,
                confirmations: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM confirmations") ?? 0,
                alerts: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM alerts") ?? 0)
        }
    }

    /// Every call of every organisation (or one status), newest first, for `calls list`.
    public func allCalls(status: CallStatus?) throws -> [Call] {
        try pool.read { db in
            if let status {
                return try Row.fetchAll(db, sql: Call.selectSQL + " WHERE c.status = ? ORDER BY c.created_at DESC", arguments: [status.rawValue]).map(Call.init(row:))
            }
            return try Row.fetchAll(db, sql: Call.selectSQL + " ORDER BY c.created_at DESC").map(Call.init(row:))
        }
    }

    /// Rebuilds the database file to reclaim space and truncates the WAL.
    public func vacuum() throws {
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "VACUUM")
            try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
        }
    }

    // MARK: Volunteers

    public func createVolunteer(
        displayName: String, skills: [String], maxDistanceKm: Double, contact: String?, fatigue: FatigueLimits = FatigueLimits(), now: Timestamp
    ) async throws -> (VolunteerProfile, token: String) {
        var profile = VolunteerProfile(
            id: Tokens.newId(), displayName: displayName, skills: skills, maxDistanceKm: maxDistanceKm,
            contact: contact, createdAt: now)
        profile.fatigue = fatigue
        let id = profile.id
        let token = Tokens.generate(.volunteer)
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO volunteers (id, token_hash, display_name, skills, max_distance_km, contact, created_at,
                        max_alerts_per_day, quiet_from, quiet_to)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [id, Tokens.hash(token), displayName, SkillList.encode(skills), maxDistanceKm, contact, now.millis,
                            fatigue.maxAlertsPerDay, fatigue.quietHours?.from, fatigue.quietHours?.to])
        }
        return (profile, token)
    }

    public func volunteer(token: String) async throws -> VolunteerProfile? {
        let hash = Tokens.hash(token)
        return try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM volunteers WHERE token_hash = ?", arguments: [hash]).map(VolunteerProfile.init(row:))
        }
    }

    public func volunteer(id: String) async throws -> VolunteerProfile? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM volunteers WHERE id = ?", arguments: [id]).map(VolunteerProfile.init(row:))
        }
    }

    /// Stores a changed profile; returns false when the volunteer no longer exists. A
    /// replaced name or contact is erased from the file (``flushErasures()``).
    public func updateVolunteer(_ p: VolunteerProfile) async throws -> Bool {
        let (updated, replaced) = try await pool.write { db -> (Bool, Bool) in
            let old = try Row.fetchOne(db, sql: "SELECT display_name, contact FROM volunteers WHERE id = ?", arguments: [p.id])
            try db.execute(
                sql: """
                    UPDATE volunteers SET display_name = ?, skills = ?, max_distance_km = ?, contact = ?,
                        max_alerts_per_day = ?, quiet_from = ?, quiet_to = ?, alert_lat = ?, alert_lon = ?
                    WHERE id = ?
                    """,
                arguments: [p.displayName, SkillList.encode(p.skills), p.maxDistanceKm, p.contact,
                            p.fatigue.maxAlertsPerDay, p.fatigue.quietHours?.from, p.fatigue.quietHours?.to,
                            p.alertArea?.lat, p.alertArea?.lon, p.id])
            let replaced = old.map { ($0["display_name"] as String?) != p.displayName || ($0["contact"] as String?) != p.contact } ?? false
            return (db.changesCount == 1, replaced)
        }
        if replaced { try await flushErasures() }
        return updated
    }

    /// Erases a volunteer's profile and contact, physically (``flushErasures()``), with
    /// their push subscriptions, alert area and push records (PROTOCOL.md §8).
    /// Confirmations, alerts and declines stay, keyed by the now anonymous id.
    public func deleteVolunteer(id: String) async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM volunteers WHERE id = ?", arguments: [id])
        }
        try await flushErasures()
    }

    /// Everything held about a volunteer, for the data export.
    public func export(volunteerId id: String) async throws -> VolunteerExport? {
        try await pool.read { db in
            guard let profile = try Row.fetchOne(db, sql: "SELECT * FROM volunteers WHERE id = ?", arguments: [id]).map(VolunteerProfile.init(row:)) else {
                return nil
            }
            func events(_ sql: String) throws -> [VolunteerExport.Event] {
                try Row.fetchAll(db, sql: sql, arguments: [id]).map {
                    VolunteerExport.Event(callId: $0["call_id"], callTitle: $0["title"], at: Timestamp($0["at"] as Int64))
                }
            }
            return VolunteerExport(
                profile: profile,
                alerts: try events("SELECT a.call_id, c.title, a.alerted_at AS at FROM alerts a JOIN calls c ON c.id = a.call_id WHERE a.volunteer_id = ? ORDER BY at"),
                confirmations: try events("SELECT x.call_id, c.title, x.confirmed_at AS at FROM confirmations x JOIN calls c ON c.id = x.call_id WHERE x.volunteer_id = ? ORDER BY at"),
                declines: try events("SELECT x.call_id, c.title, x.declined_at AS at FROM declines x JOIN calls c ON c.id = x.call_id WHERE x.volunteer_id = ? ORDER BY at"),
                withdrawals: try events("SELECT x.call_id, c.title, x.withdrawn_at AS at FROM withdrawals x JOIN calls c ON c.id = x.call_id WHERE x.volunteer_id = ? ORDER BY at"),
                removals: try events("SELECT x.call_id, c.title, x.removed_at AS at FROM removals x JOIN calls c ON c.id = x.call_id WHERE x.volunteer_id = ? ORDER BY at"),
                checkIns: try events("SELECT x.call_id, c.title, x.checked_in_at AS at FROM checkins x JOIN calls c ON c.id = x.call_id WHERE x.volunteer_id = ? ORDER BY at"),
                checkOuts: try events("SELECT x.call_id, c.title, x.checked_out_at AS at FROM checkins x JOIN calls c ON c.id = x.call_id WHERE x.volunteer_id = ? AND x.checked_out_at IS NOT NULL ORDER BY at"),
                standby: try events("SELECT x.call_id, c.title, x.queued_at AS at FROM standby x JOIN calls c ON c.id = x.call_id WHERE x.volunteer_id = ? ORDER BY at"),
                funnel: try events("SELECT x.call_id, c.title || ' (' || x.stage || ')' AS title, x.at FROM funnel x JOIN calls c ON c.id = x.call_id WHERE x.volunteer_id = ? ORDER BY x.at"),
                heldBack: try events("SELECT x.call_id, c.title || ' (' || x.reason || ')' AS title, x.at FROM suppressions x JOIN calls c ON c.id = x.call_id WHERE x.volunteer_id = ? ORDER BY x.at"),
                pushSubscriptions: try Row.fetchAll(
                    db, sql: "SELECT endpoint, created_at FROM push_subscriptions WHERE volunteer_id = ? ORDER BY seq", arguments: [id]
                ).map { (endpoint: $0["endpoint"], createdAt: Timestamp($0["created_at"] as Int64)) })
        }
    }

    // MARK: Calls

    public func call(id: String) async throws -> Call? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: Call.selectSQL + " WHERE c.id = ?", arguments: [id]).map(Call.init(row:))
        }
    }

    /// An organisation's calls, newest first, optionally of one status.
    public func calls(orgId: String, status: CallStatus?) async throws -> [Call] {
        try await pool.read { db in
            var sql = Call.selectSQL + " WHERE c.org_id = ?"
            var args: StatementArguments = [orgId]
            if let status {
                sql += " AND c.status = ?"
                args += [status.rawValue]
            }
            return try Row.fetchAll(db, sql: sql + " ORDER BY c.created_at DESC, c.id DESC", arguments: args).map(Call.init(row:))
        }
    }

    /// The calls a dashboard shows: open or filled, or ended since `endedSince`.
    public func dashboardCalls(orgId: String, endedSince: Timestamp) async throws -> [Call] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: Call.selectSQL + " WHERE c.org_id = ? AND (c.status IN ('open','filled') OR c.ended_at >= ?) ORDER BY c.created_at DESC, c.id DESC",
                arguments: [orgId, endedSince.millis]
            ).map(Call.init(row:))
        }
    }

    /// Every call that is open or filled, with the volunteers alerted for and declining
    /// (or removed from) each: what the live state needs after a restart.
    public func activeCalls() throws -> [(call: Call, alerted: Set<String>, declined: Set<String>)] {
        try pool.read { db in
            let calls = try Row.fetchAll(db, sql: Call.selectSQL + " WHERE c.status IN ('open','filled') ORDER BY c.created_at").map(Call.init(row:))
            return try calls.map { call in
                let alerted = try String.fetchAll(db, sql: "SELECT volunteer_id FROM alerts WHERE call_id = ?", arguments: [call.id])
                // A helper the organisation removed is not alerted for the call again (§11).
                let declined = try String.fetchAll(
                    db, sql: "SELECT volunteer_id FROM declines WHERE call_id = ?1 UNION SELECT volunteer_id FROM removals WHERE call_id = ?1",
                    arguments: [call.id])
                return (call, Set(alerted), Set(declined))
            }
        }
    }

    /// Every volunteer's alert times after `since`, for the fatigue windows the hub keeps in
    /// memory: read once at start, so that a new connection needs no per-volunteer lookup
    /// (and alerts need no per-volunteer index, see `Schema.alertWritesSQL`). Only calls that
    /// had not ended by `since` can hold such alerts, and their alerts are found by call.
    public func recentAlertTimes(since: Timestamp) throws -> [String: [Timestamp]] {
        try pool.read { db in
            var times: [String: [Timestamp]] = [:]
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT a.volunteer_id, a.alerted_at FROM calls c JOIN alerts a ON a.call_id = c.id
                    WHERE (c.ended_at IS NULL OR c.ended_at > ?1) AND a.alerted_at > ?1
                    """,
                arguments: [since.millis])
            while let row = try rows.next() {
                times[row[0] as String, default: []].append(Timestamp(millis: row[1]))
            }
            return times
        }
    }

    /// A call's confirmations, each with the volunteer's no-shows on the organisation's
    /// calls that ended since `noShowsSince` (PROTOCOL.md §11: a confirmation without a
    /// check-in on an expired call where someone else checked in).
    public func confirmations(callId: String, noShowsSince: Timestamp = Timestamp(millis: 0)) async throws -> [Confirmation] {
        try await pool.read { db in
            // Names and contacts show while the volunteer exists and the call's retention
            // period has not run out (eraseContacts).
            try Row.fetchAll(
                db,
                sql: """
                    SELECT x.volunteer_id, x.confirmed_at, x.party,
                           CASE WHEN c.contacts_erased_at IS NULL THEN v.display_name END AS display_name,
                           CASE WHEN c.contacts_erased_at IS NULL THEN v.contact END AS contact,
                           (k.checked_in_at IS NOT NULL AND k.checked_out_at IS NULL) AS on_site,
                           (\(Store.noShowsSQL)) AS no_shows
                    FROM confirmations x JOIN calls c ON c.id = x.call_id LEFT JOIN volunteers v ON v.id = x.volunteer_id
                    LEFT JOIN checkins k ON k.call_id = x.call_id AND k.volunteer_id = x.volunteer_id
                    WHERE x.call_id = ?1 ORDER BY x.confirmed_at, x.volunteer_id
                    """,
                arguments: [callId, noShowsSince.millis]
            ).map {
                var c = Confirmation(
                    volunteerId: $0["volunteer_id"], displayName: $0["display_name"], contact: $0["contact"],
                    confirmedAt: Timestamp($0["confirmed_at"] as Int64))
                c.party = $0["party"]
                c.checkedIn = $0["on_site"]
                c.noShows = $0["no_shows"]
                return c
            }
        }
    }
}

/// What `Store.backup(to:)` copied.
public struct BackupSummary: Sendable {
    public var path: String
    public var calls: Int
    public var confirmations: Int
}

/// All data held about one volunteer (GDPR Art. 15 export).
public struct VolunteerExport: Sendable {
    public struct Event: Sendable {
        public var callId: String
        public var callTitle: String
        public var at: Timestamp
    }

    public var profile: VolunteerProfile
    public var alerts: [Event]
    public var confirmations: [Event]
    public var declines: [Event]
    public var withdrawals: [Event]
    /// Confirmations an organisation removed (PROTOCOL.md §11).
    public var removals: [Event]
    public var checkIns: [Event]
    public var checkOuts: [Event]
    public var standby: [Event]
    /// Alerts the volunteer's client reported received or seen (the stage in the title).
    public var funnel: [Event]
    /// Alerts held back by fatigue limits (the reason in the title).
    public var heldBack: [Event]
    /// Push subscriptions: only the endpoint and when it was stored (never the keys).
    public var pushSubscriptions: [(endpoint: String, createdAt: Timestamp)]
}
