import GRDB

/// The database schema, as GRDB migrations. Volunteers' locations and availability are
/// deliberately absent: they never reach the disk.
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
        return migrator
    }
}
