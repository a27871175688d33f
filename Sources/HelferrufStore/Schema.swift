import Foundation
import GRDB

/// The database schema, as GRDB migrations. Volunteers' locations and availability are
/// deliberately absent: they never reach the disk, except the alert area a volunteer chose
/// and the standing availability of push-reachable volunteers (PROTOCOL.md §8).
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE organisations (
                    id TEXT PRIMARY KEY NOT NULL,
                    name TEXT NOT NULL,
                    token_hash TEXT NOT NULL UNIQUE,
                    created_at INTEGER NOT NULL,
                    disabled INTEGER NOT NULL DEFAULT 0
                ) STRICT;
                CREATE TABLE volunteers (
                    id TEXT PRIMARY KEY NOT NULL,
                    token_hash TEXT NOT NULL UNIQUE,
                    display_name TEXT NOT NULL,
                    skills TEXT NOT NULL,
                    max_distance_km REAL NOT NULL,
                    contact TEXT,
                    created_at INTEGER NOT NULL
                ) STRICT;
                CREATE TABLE calls (
                    id TEXT PRIMARY KEY NOT NULL,
                    org_id TEXT NOT NULL REFERENCES organisations(id),
                    title TEXT NOT NULL,
                    description TEXT NOT NULL,
                    address TEXT NOT NULL,
                    lat REAL NOT NULL,
                    lon REAL NOT NULL,
                    radius_km REAL NOT NULL,
                    needed INTEGER NOT NULL CHECK (needed >= 1),
                    skills TEXT NOT NULL,
                    starts_at INTEGER NOT NULL,
                    ends_at INTEGER NOT NULL,
                    created_at INTEGER NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('open','filled','cancelled','expired')),
                    confirmed INTEGER NOT NULL DEFAULT 0,
                    alerted INTEGER NOT NULL DEFAULT 0,
                    declined INTEGER NOT NULL DEFAULT 0,
                    ended_at INTEGER,
                    CHECK (confirmed >= 0 AND confirmed <= needed)
                ) STRICT;
                CREATE INDEX calls_org ON calls(org_id, created_at);
                CREATE INDEX calls_status ON calls(status);
                CREATE TABLE alerts (
                    call_id TEXT NOT NULL REFERENCES calls(id),
                    volunteer_id TEXT NOT NULL,
                    alerted_at INTEGER NOT NULL,
                    PRIMARY KEY (call_id, volunteer_id)
                ) STRICT, WITHOUT ROWID;
                CREATE INDEX alerts_volunteer ON alerts(volunteer_id);
                CREATE TABLE confirmations (
                    call_id TEXT NOT NULL REFERENCES calls(id),
                    volunteer_id TEXT NOT NULL,
                    confirmed_at INTEGER NOT NULL,
                    PRIMARY KEY (call_id, volunteer_id)
                ) STRICT, WITHOUT ROWID;
                CREATE INDEX confirmations_volunteer ON confirmations(volunteer_id);
                CREATE TABLE declines (
                    call_id TEXT NOT NULL REFERENCES calls(id),
                    volunteer_id TEXT NOT NULL,
                    declined_at INTEGER NOT NULL,
                    PRIMARY KEY (call_id, volunteer_id)
                ) STRICT, WITHOUT ROWID;
                CREATE INDEX declines_volunteer ON declines(volunteer_id);
                CREATE TABLE withdrawals (
                    call_id TEXT NOT NULL REFERENCES calls(id),
                    volunteer_id TEXT NOT NULL,
                    withdrawn_at INTEGER NOT NULL
                ) STRICT;
                CREATE INDEX withdrawals_call ON withdrawals(call_id, volunteer_id);
                CREATE INDEX withdrawals_volunteer ON withdrawals(volunteer_id);
                """)
        }
        migrator.registerMigration("v2-dispatch") { db in
            try db.execute(sql: dispatchSQL)
        }
        migrator.registerMigration("v2-retention") { db in
            // When a call's confirmations stopped showing helpers' names and contacts
            // (Store.eraseContacts, docs/SECURITY.md "Retention").
            try db.execute(sql: """
                ALTER TABLE calls ADD COLUMN contacts_erased_at INTEGER;
                CREATE INDEX calls_retention ON calls(ended_at) WHERE contacts_erased_at IS NULL;
                """)
        }
        migrator.registerMigration("v2-accounts") { db in
            // People who sign in to the console. E-mail addresses are stored normalised
            // (trimmed, lower case); a session is stored only as the SHA-256 of its secret.
            try db.execute(sql: """
                CREATE TABLE accounts (
                    id TEXT PRIMARY KEY NOT NULL,
                    org_id TEXT NOT NULL REFERENCES organisations(id),
                    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
                    password_hash TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    disabled INTEGER NOT NULL DEFAULT 0
                ) STRICT;
                CREATE INDEX accounts_org ON accounts(org_id);
                CREATE TABLE sessions (
                    id_hash TEXT PRIMARY KEY NOT NULL,
                    account_id TEXT NOT NULL REFERENCES accounts(id),
                    created_at INTEGER NOT NULL,
                    last_seen_at INTEGER NOT NULL
                ) STRICT, WITHOUT ROWID;
                CREATE INDEX sessions_account ON sessions(account_id);
                """)
        }
        migrator.registerMigration("v3-push") { db in
            try db.execute(sql: pushSQL)
        }
        migrator.registerMigration("v4-alert-writes") { db in
            try db.execute(sql: alertWritesSQL)
        }
        migrator.registerMigration("v5-denial") { db in
            try db.execute(sql: denialSQL)
        }
        // GRDB runs a migration with foreign keys off and checks them at its end, which the
        // table rebuild needs.
        migrator.registerMigration("v6-deadline") { db in
            try allowDeadlineMode(db)
            try db.execute(sql: deadlineSQL)
        }
        return migrator
    }

    /// The per-volunteer indexes of alerts and funnel answers go (docs/BENCHMARKS.md, "Where
    /// the kernel time goes"): a fan-out to 5,000 volunteers inserted 5,000 entries at random
    /// places of `alerts_volunteer`, one dirty page each, about 4,500 page writes (and as many
    /// reads) per call, most of the server's extra kernel time against nchan. Rows keyed by
    /// call stay in order. What read them by volunteer: the fatigue windows, which the hub now
    /// keeps in memory and loads once at start (``Store/recentAlertTimes(since:)``), and a
    /// volunteer's data export, which scans instead.
    static let alertWritesSQL = """
        DROP INDEX alerts_volunteer;
        DROP INDEX funnel_volunteer;
        """

    /// PROTOCOL.md §11: an organisation's blocks (they go with the volunteer's row when the
    /// volunteer erases their account) and the confirmations an organisation removed (kept,
    /// keyed by the anonymous id like withdrawals, so that a removed helper cannot take the
    /// same call again). `blocks_volunteer` serves the cascade when a volunteer is erased;
    /// the overlapping-confirmations rule needs no new index (it reads a volunteer's
    /// confirmations and standby entries through their existing per-volunteer indexes).
    static let denialSQL = """
        CREATE TABLE blocks (
            org_id TEXT NOT NULL REFERENCES organisations(id),
            volunteer_id TEXT NOT NULL REFERENCES volunteers(id) ON DELETE CASCADE,
            blocked_at INTEGER NOT NULL,
            PRIMARY KEY (org_id, volunteer_id)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX blocks_volunteer ON blocks(volunteer_id);
        CREATE TABLE removals (
            call_id TEXT NOT NULL REFERENCES calls(id),
            volunteer_id TEXT NOT NULL,
            removed_at INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX removals_call ON removals(call_id, volunteer_id);
        CREATE INDEX removals_volunteer ON removals(volunteer_id);
        """

    /// PROTOCOL.md §10: a `deadline` call's `fillBy`, confidence and the delay model it
    /// plans with (learnt when it was posted; its acceptance rate goes in `acceptance_rate`).
    static let deadlineSQL = """
        ALTER TABLE calls ADD COLUMN fill_by INTEGER;
        ALTER TABLE calls ADD COLUMN confidence REAL;
        ALTER TABLE calls ADD COLUMN delay_median_s REAL;
        ALTER TABLE calls ADD COLUMN delay_sigma REAL;
        """

    /// Widens the `dispatch_mode` CHECK of `calls` to admit `deadline`. SQLite cannot alter
    /// a CHECK, so the table is rebuilt the documented way (new table, copy, drop, rename,
    /// indexes again), from its own stored definition so that every column any earlier
    /// migration added comes along.
    static func allowDeadlineMode(_ db: Database) throws {
        let old = "CHECK (dispatch_mode IN ('broadcast','waves'))"
        guard let definition = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'calls'"),
              definition.contains(old), definition.hasPrefix("CREATE TABLE calls")
        else {
            throw DatabaseError(message: "v6-deadline: unexpected definition of the calls table")
        }
        let indexes = try String.fetchAll(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'calls' AND sql IS NOT NULL")
        let rebuilt = "CREATE TABLE calls_v4" + definition.dropFirst("CREATE TABLE calls".count)
            .replacingOccurrences(of: old, with: "CHECK (dispatch_mode IN ('broadcast','waves','deadline'))")
        try db.execute(sql: rebuilt)
        try db.execute(sql: "INSERT INTO calls_v4 SELECT * FROM calls; DROP TABLE calls; ALTER TABLE calls_v4 RENAME TO calls;")
        for index in indexes { try db.execute(sql: index) }
    }

    /// PROTOCOL.md §8 (Web Push): the server's VAPID key, volunteers' push subscriptions,
    /// their alert area (rounded to two decimals before it gets here) and standing
    /// availability, and the alert pushes sent, so that each (call, volunteer, endpoint)
    /// gets at most one across restarts and a retraction knows whom to tell. Everything
    /// about a volunteer goes with the volunteer's row.
    static let pushSQL = """
        CREATE TABLE vapid_key (
            id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
            private_key BLOB NOT NULL CHECK (length(private_key) = 32),
            created_at INTEGER NOT NULL
        ) STRICT;
        CREATE TABLE push_subscriptions (
            volunteer_id TEXT NOT NULL REFERENCES volunteers(id) ON DELETE CASCADE,
            endpoint TEXT NOT NULL,
            p256dh BLOB NOT NULL CHECK (length(p256dh) = 65),
            auth BLOB NOT NULL CHECK (length(auth) = 16),
            created_at INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            PRIMARY KEY (volunteer_id, endpoint)
        ) STRICT, WITHOUT ROWID;
        CREATE TABLE push_sent (
            call_id TEXT NOT NULL REFERENCES calls(id),
            volunteer_id TEXT NOT NULL REFERENCES volunteers(id) ON DELETE CASCADE,
            endpoint TEXT NOT NULL,
            sent_at INTEGER NOT NULL,
            PRIMARY KEY (call_id, volunteer_id, endpoint)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX push_sent_volunteer ON push_sent(volunteer_id);
        ALTER TABLE volunteers ADD COLUMN alert_lat REAL;
        ALTER TABLE volunteers ADD COLUMN alert_lon REAL;
        ALTER TABLE volunteers ADD COLUMN standing_available INTEGER CHECK (standing_available IN (0, 1));
        ALTER TABLE volunteers ADD COLUMN standing_until INTEGER;
        """

    /// PROTOCOL.md §7: dispatch settings and funnel counters on calls, party sizes, fatigue
    /// limits, and the funnel, check-in, standby, suppression and message records.
    /// `standby` rows stay after they leave the queue (`left_at`), so that the acceptance
    /// rate of later wave calls can count who got a standby place.
    static let dispatchSQL = """
        ALTER TABLE calls ADD COLUMN dispatch_mode TEXT NOT NULL DEFAULT 'broadcast' CHECK (dispatch_mode IN ('broadcast','waves'));
        ALTER TABLE calls ADD COLUMN max_radius_km REAL;
        ALTER TABLE calls ADD COLUMN wave_seconds INTEGER;
        ALTER TABLE calls ADD COLUMN acceptance_rate REAL;
        ALTER TABLE calls ADD COLUMN standby_enabled INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE calls ADD COLUMN reached_radius_km REAL;
        ALTER TABLE calls ADD COLUMN waves INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE calls ADD COLUMN delivered INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE calls ADD COLUMN seen INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE calls ADD COLUMN checked_in INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE calls ADD COLUMN standby INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE calls ADD COLUMN suppressed INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE confirmations ADD COLUMN party INTEGER NOT NULL DEFAULT 1 CHECK (party BETWEEN 1 AND 10);
        ALTER TABLE volunteers ADD COLUMN max_alerts_per_day INTEGER;
        ALTER TABLE volunteers ADD COLUMN quiet_from INTEGER;
        ALTER TABLE volunteers ADD COLUMN quiet_to INTEGER;
        CREATE TABLE funnel (
            call_id TEXT NOT NULL REFERENCES calls(id),
            volunteer_id TEXT NOT NULL,
            stage TEXT NOT NULL CHECK (stage IN ('received','seen')),
            at INTEGER NOT NULL,
            PRIMARY KEY (call_id, volunteer_id, stage)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX funnel_volunteer ON funnel(volunteer_id);
        CREATE TABLE checkins (
            call_id TEXT NOT NULL REFERENCES calls(id),
            volunteer_id TEXT NOT NULL,
            checked_in_at INTEGER NOT NULL,
            checked_out_at INTEGER,
            PRIMARY KEY (call_id, volunteer_id)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX checkins_volunteer ON checkins(volunteer_id);
        CREATE TABLE standby (
            call_id TEXT NOT NULL REFERENCES calls(id),
            volunteer_id TEXT NOT NULL,
            party INTEGER NOT NULL CHECK (party BETWEEN 1 AND 10),
            seq INTEGER NOT NULL,
            queued_at INTEGER NOT NULL,
            left_at INTEGER,
            PRIMARY KEY (call_id, volunteer_id)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX standby_queue ON standby(call_id, seq) WHERE left_at IS NULL;
        CREATE INDEX standby_volunteer ON standby(volunteer_id);
        CREATE TABLE suppressions (
            call_id TEXT NOT NULL REFERENCES calls(id),
            volunteer_id TEXT NOT NULL,
            reason TEXT NOT NULL CHECK (reason IN ('quiet','daily')),
            at INTEGER NOT NULL,
            PRIMARY KEY (call_id, volunteer_id)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX suppressions_volunteer ON suppressions(volunteer_id);
        CREATE TABLE messages (
            id TEXT PRIMARY KEY NOT NULL,
            call_id TEXT NOT NULL REFERENCES calls(id),
            kind TEXT NOT NULL CHECK (kind IN ('organisation','closeout')),
            text TEXT NOT NULL,
            at INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX messages_call ON messages(call_id, at);
        """
}
