/// The schema on PostgreSQL: the same tables, columns and rules as the SQLite schema
/// (``Schema``; `PostgresSchemaTests` compares the two), written in its final form because
/// no PostgreSQL database predates it: `v1` here is SQLite's `v1` … `v6-deadline`. A later
/// change is a new migration in both files.
///
/// Types map one to one: INTEGER millisecond times become BIGINT, REAL becomes DOUBLE
/// PRECISION, BLOB becomes BYTEA; flags stay INTEGER 0/1 so that both engines read the same
/// values. As on SQLite, a volunteer's precise location has no column: only the alert area
/// they chose (rounded) and their standing availability (PROTOCOL.md §8).
enum PostgresSchema {
    struct Migration: Sendable {
        var id: String
        /// One statement each: the extended query protocol takes one at a time.
        var statements: [String]
    }

    static let migrations: [Migration] = [Migration(id: "v1", statements: v1), Migration(id: "v2-leases", statements: v2Leases)]

    /// The tables about the nodes, not the service's data: a migration from SQLite neither
    /// has nor copies them.
    static let nodeTables: Set<String> = ["node_leases", "call_leases"]

    /// PostgreSQL only (one SQLite file has one node): which node drives each call, and
    /// until when each node's claim holds (``PostgresClusterFeed/leaseCalls(_:)``). The
    /// times are the database's clock, so the nodes' clocks need not agree.
    static let v2Leases = [
        "CREATE TABLE node_leases (node TEXT PRIMARY KEY, expires_at TIMESTAMPTZ NOT NULL)",
        "CREATE TABLE call_leases (call_id TEXT PRIMARY KEY REFERENCES calls(id) ON DELETE CASCADE, node TEXT NOT NULL)",
    ]

    private static let v1 = [
        """
        CREATE TABLE organisations (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            token_hash TEXT NOT NULL UNIQUE,
            created_at BIGINT NOT NULL,
            disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1))
        )
        """,
        """
        CREATE TABLE volunteers (
            id TEXT PRIMARY KEY,
            token_hash TEXT NOT NULL UNIQUE,
            display_name TEXT NOT NULL,
            skills TEXT NOT NULL,
            max_distance_km DOUBLE PRECISION NOT NULL,
            contact TEXT,
            created_at BIGINT NOT NULL,
            max_alerts_per_day INTEGER,
            quiet_from INTEGER,
            quiet_to INTEGER,
            alert_lat DOUBLE PRECISION,
            alert_lon DOUBLE PRECISION,
            standing_available INTEGER CHECK (standing_available IN (0, 1)),
            standing_until BIGINT
        )
        """,
        """
        CREATE TABLE calls (
            id TEXT PRIMARY KEY,
            org_id TEXT NOT NULL REFERENCES organisations(id),
            title TEXT NOT NULL,
            description TEXT NOT NULL,
            address TEXT NOT NULL,
            lat DOUBLE PRECISION NOT NULL,
            lon DOUBLE PRECISION NOT NULL,
            radius_km DOUBLE PRECISION NOT NULL,
            needed INTEGER NOT NULL CHECK (needed >= 1),
            skills TEXT NOT NULL,
            starts_at BIGINT NOT NULL,
            ends_at BIGINT NOT NULL,
            created_at BIGINT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('open','filled','cancelled','expired')),
            confirmed INTEGER NOT NULL DEFAULT 0,
            alerted INTEGER NOT NULL DEFAULT 0,
            declined INTEGER NOT NULL DEFAULT 0,
            ended_at BIGINT,
            dispatch_mode TEXT NOT NULL DEFAULT 'broadcast' CHECK (dispatch_mode IN ('broadcast','waves','deadline')),
            max_radius_km DOUBLE PRECISION,
            wave_seconds INTEGER,
            acceptance_rate DOUBLE PRECISION,
            standby_enabled INTEGER NOT NULL DEFAULT 0,
            reached_radius_km DOUBLE PRECISION,
            waves INTEGER NOT NULL DEFAULT 0,
            delivered INTEGER NOT NULL DEFAULT 0,
            seen INTEGER NOT NULL DEFAULT 0,
            checked_in INTEGER NOT NULL DEFAULT 0,
            standby INTEGER NOT NULL DEFAULT 0,
            suppressed INTEGER NOT NULL DEFAULT 0,
            contacts_erased_at BIGINT,
            fill_by BIGINT,
            confidence DOUBLE PRECISION,
            delay_median_s DOUBLE PRECISION,
            delay_sigma DOUBLE PRECISION,
            CHECK (confirmed >= 0 AND confirmed <= needed)
        )
        """,
        "CREATE INDEX calls_org ON calls(org_id, created_at)",
        "CREATE INDEX calls_status ON calls(status)",
        "CREATE INDEX calls_retention ON calls(ended_at) WHERE contacts_erased_at IS NULL",
        """
        CREATE TABLE alerts (
            call_id TEXT NOT NULL REFERENCES calls(id),
            volunteer_id TEXT NOT NULL,
            alerted_at BIGINT NOT NULL,
            PRIMARY KEY (call_id, volunteer_id)
        )
        """,
        """
        CREATE TABLE confirmations (
            call_id TEXT NOT NULL REFERENCES calls(id),
            volunteer_id TEXT NOT NULL,
            confirmed_at BIGINT NOT NULL,
            party INTEGER NOT NULL DEFAULT 1 CHECK (party BETWEEN 1 AND 10),
            PRIMARY KEY (call_id, volunteer_id)
        )
        """,
        "CREATE INDEX confirmations_volunteer ON confirmations(volunteer_id)",
        """
        CREATE TABLE declines (
            call_id TEXT NOT NULL REFERENCES calls(id),
            volunteer_id TEXT NOT NULL,
            declined_at BIGINT NOT NULL,
            PRIMARY KEY (call_id, volunteer_id)
        )
        """,
        "CREATE INDEX declines_volunteer ON declines(volunteer_id)",
        """
        CREATE TABLE withdrawals (
            call_id TEXT NOT NULL REFERENCES calls(id),
            volunteer_id TEXT NOT NULL,
            withdrawn_at BIGINT NOT NULL
        )
        """,
        "CREATE INDEX withdrawals_call ON withdrawals(call_id, volunteer_id)",
        "CREATE INDEX withdrawals_volunteer ON withdrawals(volunteer_id)",
        """
        CREATE TABLE accounts (
            id TEXT PRIMARY KEY,
            org_id TEXT NOT NULL REFERENCES organisations(id),
            email TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1))
        )
        """,
        // SQLite's `UNIQUE COLLATE NOCASE`.
        "CREATE UNIQUE INDEX accounts_email ON accounts(lower(email))",
        "CREATE INDEX accounts_org ON accounts(org_id)",
        """
        CREATE TABLE sessions (
            id_hash TEXT PRIMARY KEY,
            account_id TEXT NOT NULL REFERENCES accounts(id),
            created_at BIGINT NOT NULL,
            last_seen_at BIGINT NOT NULL
        )
        """,
        "CREATE INDEX sessions_account ON sessions(account_id)",
        """
        CREATE TABLE vapid_key (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            private_key BYTEA NOT NULL CHECK (length(private_key) = 32),
            created_at BIGINT NOT NULL
        )
        """,
        """
        CREATE TABLE push_subscriptions (
            volunteer_id TEXT NOT NULL REFERENCES volunteers(id) ON DELETE CASCADE,
            endpoint TEXT NOT NULL,
            p256dh BYTEA NOT NULL CHECK (length(p256dh) = 65),
            auth BYTEA NOT NULL CHECK (length(auth) = 16),
            created_at BIGINT NOT NULL,
            seq BIGINT NOT NULL,
            PRIMARY KEY (volunteer_id, endpoint)
        )
        """,
        """
        CREATE TABLE push_sent (
            call_id TEXT NOT NULL REFERENCES calls(id),
            volunteer_id TEXT NOT NULL REFERENCES volunteers(id) ON DELETE CASCADE,
            endpoint TEXT NOT NULL,
            sent_at BIGINT NOT NULL,
            PRIMARY KEY (call_id, volunteer_id, endpoint)
        )
        """,
        "CREATE INDEX push_sent_volunteer ON push_sent(volunteer_id)",
        """
        CREATE TABLE funnel (
            call_id TEXT NOT NULL REFERENCES calls(id),
            volunteer_id TEXT NOT NULL,
            stage TEXT NOT NULL CHECK (stage IN ('received','seen')),
            at BIGINT NOT NULL,
            PRIMARY KEY (call_id, volunteer_id, stage)
        )
        """,
        """
        CREATE TABLE checkins (
            call_id TEXT NOT NULL REFERENCES calls(id),
            volunteer_id TEXT NOT NULL,
            checked_in_at BIGINT NOT NULL,
            checked_out_at BIGINT,
            PRIMARY KEY (call_id, volunteer_id)
        )
        """,
        "CREATE INDEX checkins_volunteer ON checkins(volunteer_id)",
        """
        CREATE TABLE standby (
            call_id TEXT NOT NULL REFERENCES calls(id),
            volunteer_id TEXT NOT NULL,
            party INTEGER NOT NULL CHECK (party BETWEEN 1 AND 10),
            seq BIGINT NOT NULL,
            queued_at BIGINT NOT NULL,
            left_at BIGINT,
            PRIMARY KEY (call_id, volunteer_id)
        )
        """,
        "CREATE INDEX standby_queue ON standby(call_id, seq) WHERE left_at IS NULL",
        "CREATE INDEX standby_volunteer ON standby(volunteer_id)",
        """
        CREATE TABLE suppressions (
            call_id TEXT NOT NULL REFERENCES calls(id),
            volunteer_id TEXT NOT NULL,
            reason TEXT NOT NULL CHECK (reason IN ('quiet','daily')),
            at BIGINT NOT NULL,
            PRIMARY KEY (call_id, volunteer_id)
        )
        """,
        "CREATE INDEX suppressions_volunteer ON suppressions(volunteer_id)",
        """
        CREATE TABLE messages (
            id TEXT PRIMARY KEY,
            call_id TEXT NOT NULL REFERENCES calls(id),
            kind TEXT NOT NULL CHECK (kind IN ('organisation','closeout')),
            text TEXT NOT NULL,
            at BIGINT NOT NULL
        )
        """,
        "CREATE INDEX messages_call ON messages(call_id, at)",
        """
        CREATE TABLE blocks (
            org_id TEXT NOT NULL REFERENCES organisations(id),
            volunteer_id TEXT NOT NULL REFERENCES volunteers(id) ON DELETE CASCADE,
            blocked_at BIGINT NOT NULL,
            PRIMARY KEY (org_id, volunteer_id)
        )
        """,
        "CREATE INDEX blocks_volunteer ON blocks(volunteer_id)",
        """
        CREATE TABLE removals (
            call_id TEXT NOT NULL REFERENCES calls(id),
            volunteer_id TEXT NOT NULL,
            removed_at BIGINT NOT NULL
        )
        """,
        "CREATE INDEX removals_call ON removals(call_id, volunteer_id)",
        "CREATE INDEX removals_volunteer ON removals(volunteer_id)",
    ]
}
