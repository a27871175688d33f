import Logging
import PostgresNIO

/// The PostgreSQL engine's ``ClusterFeed``: one connection of the pool held for `LISTEN` on
/// ``channel``. When the connection is lost (or PostgreSQL restarts) it listens again after a
/// pause of 0.1 s growing to 2 s, and calls `resync` once it does.
struct PostgresClusterFeed: ClusterFeed {
    /// The notification channel every node's ledger announces its commits on.
    static let channel = "helferruf_events"

    let database: PostgresDatabase
    let node: String

    /// The statement that sends `payload` to every node listening.
    static func notify(_ payload: String) -> PostgresQuery {
        "SELECT pg_notify(\(channel), \(payload))"
    }

    func run(resync: @escaping @Sendable () async -> Void, receive: @escaping @Sendable (ClusterNotice) async -> Void) async {
        var pause = Duration.milliseconds(100)
        while !Task.isCancelled {
            do {
                try await database.client.withConnection { conn in
                    try await conn.listen(on: Self.channel) { notifications in
                        // LISTEN has taken effect: whatever commits from now on is heard;
                        // what committed before is read by the resync.
                        pause = .milliseconds(100)
                        await resync()
                        for try await notification in notifications {
                            guard let notice = ClusterNotice.decode(notification.payload) else {
                                database.logger.warning("cluster: a notification that is not a notice was ignored")
                                continue
                            }
                            if notice.node != node { await receive(notice) }
                        }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                database.logger.warning("cluster: listening failed, trying again", metadata: ["error": "\(String(reflecting: error))", "pause": "\(pause)"])
            }
            try? await Task.sleep(for: pause)
            pause = min(pause * 2, .seconds(2))
        }
    }

    func publish(_ notice: ClusterNotice) async throws {
        guard let payload = notice.payload else { return }
        _ = try await database.run { [client = database.client, logger = database.logger] in
            try await client.query(Self.notify(payload), logger: logger)
        }
    }

    func leaseCalls(_ callIds: [String]) async throws -> Set<String> {
        try await database.run { [client = database.client, logger = database.logger, node] in
            // Leases of nodes gone for an hour are dropped on the way.
            try await client.query(
                """
                WITH gone AS (DELETE FROM node_leases WHERE expires_at < now() - interval '1 hour')
                INSERT INTO node_leases (node, expires_at) VALUES (\(node), now() + make_interval(secs => \(callLeaseSeconds)))
                ON CONFLICT (node) DO UPDATE SET expires_at = EXCLUDED.expires_at
                """, logger: logger)
            guard !callIds.isEmpty else { return [] }
            // A call with a live holder keeps it; two nodes taking the same call over at
            // once queue on its row, and the second then sees the first alive. Rows are
            // taken in id order, so that two nodes' statements never wait on each other.
            let rows = try await client.query(
                """
                INSERT INTO call_leases (call_id, node)
                SELECT c.id, \(node) FROM calls c WHERE c.id = ANY(\(callIds)) ORDER BY c.id
                ON CONFLICT (call_id) DO UPDATE SET node = EXCLUDED.node
                WHERE call_leases.node = EXCLUDED.node
                   OR NOT EXISTS (SELECT 1 FROM node_leases n WHERE n.node = call_leases.node AND n.expires_at > now())
                RETURNING call_id
                """, logger: logger)
            var held: Set<String> = []
            for try await id in rows.decode(String.self) { held.insert(id) }
            return held
        }
    }
}
