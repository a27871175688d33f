import GRDB
import HelferrufCore

/// A person who signs in to the console for an organisation. The password is stored only
/// as a bcrypt hash, and never leaves the store except for checking a login.
public struct Account: Sendable, Equatable {
    public var id: String
    public var orgId: String
    public var email: String
    public var createdAt: Timestamp
    public var disabled: Bool
}

/// A signed-in session as found by its secret.
public struct AccountSession: Sendable {
    public var account: Account
    public var organisation: Organisation
    public var createdAt: Timestamp
    public var lastSeenAt: Timestamp
}

/// How long sessions live: `idle` after the last use, `lifetime` after the login whatever
/// the use. Both in milliseconds.
public struct SessionLimits: Sendable {
    public var idleMillis: Int64
    public var lifetimeMillis: Int64
    /// A session's last use is written at most this often, so that reads stay reads.
    public var touchMillis: Int64 = 5 * 60 * 1000

    public init(idleMillis: Int64, lifetimeMillis: Int64) {
        self.idleMillis = idleMillis
        self.lifetimeMillis = lifetimeMillis
    }

    func isLive(createdAt: Int64, lastSeenAt: Int64, now: Timestamp) -> Bool {
        now.millis - lastSeenAt < idleMillis && now.millis - createdAt < lifetimeMillis
    }
}

public enum AccountError: Error, CustomStringConvertible {
    case emailTaken
    case noOrganisation

    public var description: String {
        switch self {
        case .emailTaken: return "an account with this e-mail address exists already"
        case .noOrganisation: return "no such organisation"
        }
    }
}

extension Account {
    init(row: Row) {
        self.init(
            id: row["id"], orgId: row["org_id"], email: row["email"], createdAt: Timestamp(row["created_at"] as Int64),
            disabled: (row["disabled"] as Int64) != 0)
    }
}

extension Store {
    /// Creates an account; `email` must already be normalised (``Rules/email(_:field:)``).
    public func createAccount(orgId: String, email: String, passwordHash: String, now: Timestamp) throws -> Account {
        let account = Account(id: Tokens.newId(), orgId: orgId, email: email, createdAt: now, disabled: false)
        try pool.write { db in
            guard try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM organisations WHERE id = ?", arguments: [orgId]) == 1 else {
                throw AccountError.noOrganisation
            }
            guard try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM accounts WHERE email = ?", arguments: [email]) == 0 else {
                throw AccountError.emailTaken
            }
            try db.execute(
                sql: "INSERT INTO accounts (id, org_id, email, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [account.id, orgId, email, passwordHash, now.millis])
        }
        return account
    }

    /// An organisation's accounts, oldest first.
    public func accounts(orgId: String) throws -> [Account] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM accounts WHERE org_id = ? ORDER BY created_at, email", arguments: [orgId])
                .map(Account.init(row:))
        }
    }

    /// Disables (or enables) an account; disabling ends its sessions at once. Returns false
    /// when there is no such account.
    public func setAccountDisabled(email: String, _ disabled: Bool) throws -> Bool {
        try pool.write { db in
            try db.execute(sql: "UPDATE accounts SET disabled = ? WHERE email = ?", arguments: [disabled ? 1 : 0, email])
            guard db.changesCount == 1 else { return false }
            if disabled {
                try db.execute(
                    sql: "DELETE FROM sessions WHERE account_id IN (SELECT id FROM accounts WHERE email = ?)", arguments: [email])
            }
            return true
        }
    }

    /// What a login checks the password against: the enabled account with this (normalised)
    /// address in an enabled organisation, or nil.
    public func loginCandidate(email: String) async throws -> (account: Account, organisation: Organisation, passwordHash: String)? {
        try await pool.read { db in
            let sql = """
                SELECT a.*, o.name AS org_name, o.created_at AS org_created_at FROM accounts a
                JOIN organisations o ON o.id = a.org_id
                WHERE a.email = ? AND a.disabled = 0 AND o.disabled = 0
                """
            return try Row.fetchOne(db, sql: sql, arguments: [email]).map { row -> (account: Account, organisation: Organisation, passwordHash: String) in
                (Account(row: row), Self.organisation(row), row["password_hash"])
            }
        }
    }

    /// Starts a session and returns its secret (for the cookie; only its hash is stored).
    /// Sessions that have run out are deleted on the way.
    public func createSession(accountId: String, now: Timestamp, limits: SessionLimits) async throws -> String {
        let secret = Tokens.generate(.session)
        try await pool.write { db in
            try db.execute(
                sql: "DELETE FROM sessions WHERE last_seen_at <= ? OR created_at <= ?",
                arguments: [now.millis - limits.idleMillis, now.millis - limits.lifetimeMillis])
            try db.execute(
                sql: "INSERT INTO sessions (id_hash, account_id, created_at, last_seen_at) VALUES (?, ?, ?, ?)",
                arguments: [Tokens.hash(secret), accountId, now.millis, now.millis])
        }
        return secret
    }

    /// The live session with this secret, of an enabled account in an enabled organisation,
    /// or nil. Records the use (at most every `limits.touchMillis`).
    public func session(secret: String, now: Timestamp, limits: SessionLimits) async throws -> AccountSession? {
        let hash = Tokens.hash(secret)
        let found = try await pool.read { db -> AccountSession? in
            let sql = """
                SELECT a.*, o.name AS org_name, o.created_at AS org_created_at,
                       s.created_at AS session_created_at, s.last_seen_at
                FROM sessions s JOIN accounts a ON a.id = s.account_id JOIN organisations o ON o.id = a.org_id
                WHERE s.id_hash = ? AND a.disabled = 0 AND o.disabled = 0
                """
            guard let row = try Row.fetchOne(db, sql: sql, arguments: [hash]) else { return nil }
            let created: Int64 = row["session_created_at"], seen: Int64 = row["last_seen_at"]
            guard limits.isLive(createdAt: created, lastSeenAt: seen, now: now) else { return nil }
            return AccountSession(
                account: Account(row: row), organisation: Self.organisation(row),
                createdAt: Timestamp(created), lastSeenAt: Timestamp(seen))
        }
        if let found, now.millis - found.lastSeenAt.millis >= limits.touchMillis {
            try await pool.write { db in
                try db.execute(sql: "UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?", arguments: [now.millis, hash])
            }
        }
        return found
    }

    /// The organisation with this id unless it is disabled.
    public func enabledOrganisation(id: String) async throws -> Organisation? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM organisations WHERE id = ? AND disabled = 0", arguments: [id])
                .map(Organisation.init(row:))
        }
    }

    /// Ends a session (logout).
    public func deleteSession(secret: String) async throws {
        let hash = Tokens.hash(secret)
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM sessions WHERE id_hash = ?", arguments: [hash])
        }
    }

    private static func organisation(_ row: Row) -> Organisation {
        Organisation(id: row["org_id"], name: row["org_name"], createdAt: Timestamp(row["org_created_at"] as Int64), disabled: false)
    }
}
