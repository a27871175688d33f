import HelferrufCore
import PostgresNIO

extension PostgresStore: MaintenanceRecords {
    public func isReadable() async -> Bool {
        (try? await database.run { [client] in try await Self.all(client.query("SELECT 1"), as: Int.self).first }) == 1
    }

    @discardableResult
    public func eraseContacts(endedBefore cutoff: Timestamp, now: Timestamp) async throws -> Int {
        try await database.run { [client] in
            try await Self.all(
                client.query("""
                    UPDATE calls SET contacts_erased_at = \(now.millis)
                    WHERE contacts_erased_at IS NULL AND ended_at IS NOT NULL AND ended_at < \(cutoff.millis) RETURNING id
                    """),
                as: String.self
            ).count
        }
    }

    /// The figures of one snapshot (one statement).
    public func stats() async throws -> StoreStats {
        try await database.run { [client] in
            let counts = try await Self.all(
                client.query("""
                    SELECT (SELECT COUNT(*) FROM organisations), (SELECT COUNT(*) FROM volunteers),
                           (SELECT COUNT(*) FROM confirmations), (SELECT COUNT(*) FROM alerts)
                    """),
                as: (Int, Int, Int, Int).self)
            var byStatus: [String: Int] = [:]
            for (status, n) in try await Self.all(client.query("SELECT status, COUNT(*) FROM calls GROUP BY status"), as: (String, Int).self) {
                byStatus[status] = n
            }
            let c = counts.first ?? (0, 0, 0, 0)
            return StoreStats(organisations: c.0, volunteers: c.1, callsByStatus: byStatus, confirmations: c.2, alerts: c.3)
        }
    }

    public func backup(to destination: String) async throws -> BackupSummary {
        throw StoreError.notSupported(
            "backup copies an SQLite file; on PostgreSQL use its own tools: pg_dump (e.g. pg_dump -Fc -f helferruf.dump \(database.location.redacted)) or continuous archiving (docs/OPERATIONS.md)")
    }

    public func vacuum() async throws {
        throw StoreError.notSupported(
            "vacuum rebuilds an SQLite file; PostgreSQL reclaims space itself (autovacuum), or run VACUUM with psql (docs/OPERATIONS.md)")
    }
}
