import HelferrufCore
import PostgresNIO

extension PostgresStore: OrganisationRecords {
    public func createOrganisation(name: String, now: Timestamp) async throws -> (Organisation, token: String) {
        let org = Organisation(id: Tokens.newId(), name: name, createdAt: now, disabled: false)
        let token = Tokens.generate(.organisation)
        let hash = Tokens.hash(token)
        try await database.run { [client] in
            try await client.query(
                "INSERT INTO organisations (id, name, token_hash, created_at) VALUES (\(org.id), \(name), \(hash), \(now.millis))")
        }
        return (org, token)
    }

    /// Under a transaction-scoped advisory lock: nodes starting together on an empty
    /// database create one Demo organisation, not one each.
    public func createDemoOrganisationIfEmpty(now: Timestamp) async throws -> (Organisation, token: String)? {
        let org = Organisation(id: Tokens.newId(), name: "Demo", createdAt: now, disabled: false)
        let token = Tokens.generate(.organisation)
        let hash = Tokens.hash(token)
        let created = try await database.run { [client, logger] in
            try await client.withTransaction(logger: logger) { conn -> Bool in
                try await conn.query("SELECT pg_advisory_xact_lock(\(PostgresDatabase.demoLock))", logger: logger)
                var found = false
                for try await _ in try await conn.query("SELECT 1 FROM organisations LIMIT 1", logger: logger) { found = true }
                if found { return false }
                try await conn.query(
                    "INSERT INTO organisations (id, name, token_hash, created_at) VALUES (\(org.id), \(org.name), \(hash), \(now.millis))",
                    logger: logger)
                return true
            }
        }
        return created ? (org, token) : nil
    }

    public func organisation(token: String) async throws -> Organisation? {
        let hash = Tokens.hash(token)
        return try await database.run { [client] in
            try await Self.all(
                client.query("SELECT id, name, created_at, disabled FROM organisations WHERE token_hash = \(hash) AND disabled = 0"),
                as: OrganisationRow.self
            ).first.map(Self.organisation)
        }
    }

    public func organisations() async throws -> [Organisation] {
        try await database.run { [client] in
            try await Self.all(
                client.query("SELECT id, name, created_at, disabled FROM organisations ORDER BY created_at, id"), as: OrganisationRow.self
            ).map(Self.organisation)
        }
    }

    public func setOrganisationDisabled(id: String, _ disabled: Bool) async throws -> Bool {
        let flag = disabled ? 1 : 0
        return try await database.run { [client] in
            try await Self.all(client.query("UPDATE organisations SET disabled = \(flag) WHERE id = \(id) RETURNING id"), as: String.self).count == 1
        }
    }

    public func rotateOrganisationToken(id: String) async throws -> String? {
        let token = Tokens.generate(.organisation)
        let hash = Tokens.hash(token)
        let changed = try await database.run { [client] in
            try await Self.all(client.query("UPDATE organisations SET token_hash = \(hash) WHERE id = \(id) RETURNING id"), as: String.self).count == 1
        }
        return changed ? token : nil
    }
}
