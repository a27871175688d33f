import GRDB
import HelferrufCore

/// A volunteer an organisation blocked (PROTOCOL.md §11). `displayName` is nil once the
/// volunteer erased their account (the block goes with it then).
public struct Block: Sendable, Equatable {
    public var volunteerId: String
    public var displayName: String?
    public var blockedAt: Timestamp
}

/// Blocks and no-shows (PROTOCOL.md §11). Blocks are written outside the ledger: an accept
/// the ledger applies after a block's commit reads it in its own transaction.
extension Store {
    /// How far back no-shows count.
    public static let noShowDays = 90

    /// The no-shows of confirmation `x` (of call `c`) on `c`'s organisation's calls that
    /// expired since `?2`: a confirmation without a check-in on a call where at least one
    /// helper checked in. Cancelled calls do not count: nobody was expected any more.
    static let noShowsSQL = """
        SELECT COUNT(*) FROM confirmations y JOIN calls d ON d.id = y.call_id
        WHERE y.volunteer_id = x.volunteer_id AND d.org_id = c.org_id AND d.status = 'expired' AND d.ends_at >= ?2
          AND EXISTS (SELECT 1 FROM checkins k2 WHERE k2.call_id = d.id)
          AND NOT EXISTS (SELECT 1 FROM checkins k3 WHERE k3.call_id = d.id AND k3.volunteer_id = y.volunteer_id)
        """

    /// Blocks a volunteer for an organisation; blocking again keeps the first time. Returns
    /// the block, or nil when there is no such volunteer.
    public func block(orgId: String, volunteerId: String, now: Timestamp) async throws -> Block? {
        try await pool.write { db in
            guard let name = try String.fetchOne(db, sql: "SELECT display_name FROM volunteers WHERE id = ?", arguments: [volunteerId]) else {
                return nil
            }
            try db.execute(
                sql: "INSERT OR IGNORE INTO blocks (org_id, volunteer_id, blocked_at) VALUES (?, ?, ?)",
                arguments: [orgId, volunteerId, now.millis])
            let at = try Int64.fetchOne(
                db, sql: "SELECT blocked_at FROM blocks WHERE org_id = ? AND volunteer_id = ?", arguments: [orgId, volunteerId]) ?? now.millis
            return Block(volunteerId: volunteerId, displayName: name, blockedAt: Timestamp(at))
        }
    }

    /// Lifts a block; false when there was none.
    public func unblock(orgId: String, volunteerId: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM blocks WHERE org_id = ? AND volunteer_id = ?", arguments: [orgId, volunteerId])
            return db.changesCount == 1
        }
    }

    /// An organisation's blocks, newest first.
    public func blocks(orgId: String) async throws -> [Block] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT b.volunteer_id, b.blocked_at, v.display_name FROM blocks b LEFT JOIN volunteers v ON v.id = b.volunteer_id
                    WHERE b.org_id = ? ORDER BY b.blocked_at DESC, b.volunteer_id
                    """,
                arguments: [orgId]
            ).map { Block(volunteerId: $0["volunteer_id"], displayName: $0["display_name"], blockedAt: Timestamp($0["blocked_at"] as Int64)) }
        }
    }

    /// Every block, by organisation: what the live state needs after a restart.
    public func allBlocks() throws -> [String: Set<String>] {
        try pool.read { db in
            var byOrg: [String: Set<String>] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT org_id, volunteer_id FROM blocks") {
                byOrg[row["org_id"], default: []].insert(row["volunteer_id"])
            }
            return byOrg
        }
    }
}
