import HelferrufCore
import PostgresNIO

extension PostgresStore: VolunteerRecords {
    /// The profile's columns, in the order of ``ProfileRow``.
    static let profileColumns = """
        id, display_name, skills, max_distance_km, contact, created_at, max_alerts_per_day, quiet_from, quiet_to, alert_lat, alert_lon
        """
    typealias ProfileRow = (String, String, String, Double, String?, Int64, Int?, Int?, Int?, Double?, Double?)

    static func profile(_ r: ProfileRow) -> VolunteerProfile {
        var p = VolunteerProfile(
            id: r.0, displayName: r.1, skills: SkillList.decode(r.2), maxDistanceKm: r.3, contact: r.4, createdAt: Timestamp(r.5))
        p.fatigue = FatigueLimits(maxAlertsPerDay: r.6, quietHours: r.7.flatMap { from in r.8.map { QuietHours(from: from, to: $0) } })
        if let lat = r.9, let lon = r.10 { p.alertArea = GeoPoint(lat: lat, lon: lon) }
        return p
    }

    public func createVolunteer(
        displayName: String, skills: [String], maxDistanceKm: Double, contact: String?, fatigue: FatigueLimits, now: Timestamp
    ) async throws -> (VolunteerProfile, token: String) {
        var profile = VolunteerProfile(
            id: Tokens.newId(), displayName: displayName, skills: skills, maxDistanceKm: maxDistanceKm, contact: contact, createdAt: now)
        profile.fatigue = fatigue
        let token = Tokens.generate(.volunteer)
        let (id, hash, skillList) = (profile.id, Tokens.hash(token), SkillList.encode(skills))
        let (perDay, quietFrom, quietTo) = (fatigue.maxAlertsPerDay, fatigue.quietHours?.from, fatigue.quietHours?.to)
        try await database.run { [client] in
            try await client.query("""
                INSERT INTO volunteers (id, token_hash, display_name, skills, max_distance_km, contact, created_at,
                    max_alerts_per_day, quiet_from, quiet_to)
                VALUES (\(id), \(hash), \(displayName), \(skillList), \(maxDistanceKm), \(contact), \(now.millis),
                    \(perDay), \(quietFrom), \(quietTo))
                """)
        }
        return (profile, token)
    }

    public func volunteer(token: String) async throws -> VolunteerProfile? {
        let hash = Tokens.hash(token)
        return try await database.run { [client] in
            try await Self.all(
                client.query("SELECT \(unescaped: Self.profileColumns) FROM volunteers WHERE token_hash = \(hash)"), as: ProfileRow.self
            ).first.map(Self.profile)
        }
    }

    public func volunteer(id: String) async throws -> VolunteerProfile? {
        try await database.run { [client] in
            try await Self.all(
                client.query("SELECT \(unescaped: Self.profileColumns) FROM volunteers WHERE id = \(id)"), as: ProfileRow.self
            ).first.map(Self.profile)
        }
    }

    public func updateVolunteer(_ p: VolunteerProfile) async throws -> Bool {
        let skills = SkillList.encode(p.skills)
        let (perDay, quietFrom, quietTo) = (p.fatigue.maxAlertsPerDay, p.fatigue.quietHours?.from, p.fatigue.quietHours?.to)
        let (lat, lon) = (p.alertArea?.lat, p.alertArea?.lon)
        return try await database.run { [client] in
            try await Self.all(
                client.query("""
                    UPDATE volunteers SET display_name = \(p.displayName), skills = \(skills), max_distance_km = \(p.maxDistanceKm),
                        contact = \(p.contact), max_alerts_per_day = \(perDay), quiet_from = \(quietFrom), quiet_to = \(quietTo),
                        alert_lat = \(lat), alert_lon = \(lon)
                    WHERE id = \(p.id) RETURNING id
                    """),
                as: String.self
            ).count == 1
        }
    }

    /// The row goes, and with it (ON DELETE CASCADE) subscriptions, blocks and push records.
    /// PostgreSQL keeps the dead row version in its pages until VACUUM reuses them; see
    /// docs/OPERATIONS.md on erasure with PostgreSQL.
    public func deleteVolunteer(id: String) async throws {
        try await database.run { [client] in
            try await client.query("DELETE FROM volunteers WHERE id = \(id)")
        }
    }
}

extension PostgresStore: DenialRecords {
    /// In one transaction: the volunteer's row is locked against an erasure meanwhile, the
    /// insert keeps an earlier block (ON CONFLICT DO NOTHING, whichever node wrote it), and
    /// the select returns the block that holds.
    public func block(orgId: String, volunteerId: String, now: Timestamp) async throws -> Block? {
        try await database.run { [client, logger] in
            try await client.withTransaction(logger: logger) { conn -> Block? in
                guard let name = try await Self.all(
                    conn.query("SELECT display_name FROM volunteers WHERE id = \(volunteerId) FOR SHARE", logger: logger), as: String.self
                ).first else { return nil }
                try await conn.query(
                    "INSERT INTO blocks (org_id, volunteer_id, blocked_at) VALUES (\(orgId), \(volunteerId), \(now.millis)) ON CONFLICT DO NOTHING",
                    logger: logger)
                let at = try await Self.all(
                    conn.query("SELECT blocked_at FROM blocks WHERE org_id = \(orgId) AND volunteer_id = \(volunteerId)", logger: logger),
                    as: Int64.self
                ).first ?? now.millis
                return Block(volunteerId: volunteerId, displayName: name, blockedAt: Timestamp(at))
            }
        }
    }

    public func unblock(orgId: String, volunteerId: String) async throws -> Bool {
        try await database.run { [client] in
            try await Self.all(
                client.query("DELETE FROM blocks WHERE org_id = \(orgId) AND volunteer_id = \(volunteerId) RETURNING volunteer_id"), as: String.self
            ).count == 1
        }
    }

    public func blocks(orgId: String) async throws -> [Block] {
        try await database.run { [client] in
            try await Self.all(
                client.query("""
                    SELECT b.volunteer_id, b.blocked_at, v.display_name FROM blocks b LEFT JOIN volunteers v ON v.id = b.volunteer_id
                    WHERE b.org_id = \(orgId) ORDER BY b.blocked_at DESC, b.volunteer_id
                    """),
                as: (String, Int64, String?).self
            ).map { Block(volunteerId: $0.0, displayName: $0.2, blockedAt: Timestamp($0.1)) }
        }
    }

    public func allBlocks() async throws -> [String: Set<String>] {
        try await database.run { [client] in
            var byOrg: [String: Set<String>] = [:]
            for (org, volunteer) in try await Self.all(client.query("SELECT org_id, volunteer_id FROM blocks"), as: (String, String).self) {
                byOrg[org, default: []].insert(volunteer)
            }
            return byOrg
        }
    }
}
