import HelferrufCore
import PostgresNIO

extension PostgresStore: AccountRecords {
    /// One insert decides: the foreign key answers an unknown organisation and the unique
    /// index on `lower(email)` a taken address, whichever node asks.
    public func createAccount(orgId: String, email: String, passwordHash: String, now: Timestamp) async throws -> Account {
        let account = Account(id: Tokens.newId(), orgId: orgId, email: email, createdAt: now, disabled: false)
        do {
            try await database.run { [client] in
                try await client.query("""
                    INSERT INTO accounts (id, org_id, email, password_hash, created_at)
                    VALUES (\(account.id), \(orgId), \(email), \(passwordHash), \(now.millis))
                    """)
            }
        } catch StoreError.refused(let state, _) where state == "23503" {
            throw AccountError.noOrganisation
        } catch StoreError.refused(let state, _) where state == "23505" {
            throw AccountError.emailTaken
        }
        return account
    }

    public func accounts(orgId: String) async throws -> [Account] {
        try await database.run { [client] in
            try await Self.all(
                client.query("SELECT id, org_id, email, created_at, disabled FROM accounts WHERE org_id = \(orgId) ORDER BY created_at, email"),
                as: (String, String, String, Int64, Int).self
            ).map { Account(id: $0.0, orgId: $0.1, email: $0.2, createdAt: Timestamp($0.3), disabled: $0.4 != 0) }
        }
    }

    /// Disabling ends the account's sessions in the same transaction.
    public func setAccountDisabled(email: String, _ disabled: Bool) async throws -> Bool {
        let flag = disabled ? 1 : 0
        return try await database.run { [client, logger] in
            try await client.withTransaction(logger: logger) { conn -> Bool in
                let ids = try await Self.all(
                    conn.query("UPDATE accounts SET disabled = \(flag) WHERE email = \(email) RETURNING id", logger: logger), as: String.self)
                guard ids.count == 1 else { return false }
                if disabled { try await conn.query("DELETE FROM sessions WHERE account_id = \(ids[0])", logger: logger) }
                return true
            }
        }
    }

    public func loginCandidate(email: String) async throws -> (account: Account, organisation: Organisation, passwordHash: String)? {
        try await database.run { [client] in
            try await Self.all(
                client.query("""
                    SELECT a.id, a.org_id, a.email, a.created_at, a.password_hash, o.name, o.created_at
                    FROM accounts a JOIN organisations o ON o.id = a.org_id
                    WHERE a.email = \(email) AND a.disabled = 0 AND o.disabled = 0
                    """),
                as: (String, String, String, Int64, String, String, Int64).self
            ).first.map { r in
                (Account(id: r.0, orgId: r.1, email: r.2, createdAt: Timestamp(r.3), disabled: false),
                 Organisation(id: r.1, name: r.5, createdAt: Timestamp(r.6), disabled: false), r.4)
            }
        }
    }

    /// Starts a session and returns its secret; sessions that have run out go on the way.
    public func createSession(accountId: String, now: Timestamp, limits: SessionLimits) async throws -> String {
        let secret = Tokens.generate(.session)
        let hash = Tokens.hash(secret)
        let idleBefore = now.millis - limits.idleMillis, bornBefore = now.millis - limits.lifetimeMillis
        try await database.run { [client, logger] in
            try await client.withTransaction(logger: logger) { conn in
                try await conn.query("DELETE FROM sessions WHERE last_seen_at <= \(idleBefore) OR created_at <= \(bornBefore)", logger: logger)
                try await conn.query(
                    "INSERT INTO sessions (id_hash, account_id, created_at, last_seen_at) VALUES (\(hash), \(accountId), \(now.millis), \(now.millis))",
                    logger: logger)
            }
        }
        return secret
    }

    public func session(secret: String, now: Timestamp, limits: SessionLimits) async throws -> AccountSession? {
        let hash = Tokens.hash(secret)
        let found = try await database.run { [client] in
            try await Self.all(
                client.query("""
                    SELECT a.id, a.org_id, a.email, a.created_at, o.name, o.created_at, s.created_at, s.last_seen_at
                    FROM sessions s JOIN accounts a ON a.id = s.account_id JOIN organisations o ON o.id = a.org_id
                    WHERE s.id_hash = \(hash) AND a.disabled = 0 AND o.disabled = 0
                    """),
                as: (String, String, String, Int64, String, Int64, Int64, Int64).self
            ).first
        }
        guard let r = found, limits.isLive(createdAt: r.6, lastSeenAt: r.7, now: now) else { return nil }
        if now.millis - r.7 >= limits.touchMillis {
            try await database.run { [client] in
                try await client.query("UPDATE sessions SET last_seen_at = \(now.millis) WHERE id_hash = \(hash)")
            }
        }
        return AccountSession(
            account: Account(id: r.0, orgId: r.1, email: r.2, createdAt: Timestamp(r.3), disabled: false),
            organisation: Organisation(id: r.1, name: r.4, createdAt: Timestamp(r.5), disabled: false),
            createdAt: Timestamp(r.6), lastSeenAt: Timestamp(r.7))
    }

    public func enabledOrganisation(id: String) async throws -> Organisation? {
        try await database.run { [client] in
            try await Self.all(
                client.query("SELECT id, name, created_at, disabled FROM organisations WHERE id = \(id) AND disabled = 0"), as: OrganisationRow.self
            ).first.map(Self.organisation)
        }
    }

    public func deleteSession(secret: String) async throws {
        let hash = Tokens.hash(secret)
        try await database.run { [client] in
            try await client.query("DELETE FROM sessions WHERE id_hash = \(hash)")
        }
    }
}
