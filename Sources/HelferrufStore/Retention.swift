import GRDB
import HelferrufCore

/// Storage limitation (GDPR Art. 5(1)(e)) and erasure that leaves nothing on disk.
///
/// A confirmation does not copy the helper's name or contact: the organisation's list
/// joins the volunteer's current profile. Retention therefore marks the call
/// (`calls.contacts_erased_at`) once it ended more than the retention period ago, and from
/// then on its confirmations list `displayName` and `contact` as null; the confirmation
/// itself (who was there, when) stays for the figures and for the volunteer's own export.
/// The profile is the volunteer's to keep, change or erase (`DELETE /volunteers/me`).
extension Store {
    /// Marks every call that ended before `cutoff` as past retention; returns how many
    /// calls were newly marked.
    @discardableResult
    public func eraseContacts(endedBefore cutoff: Timestamp, now: Timestamp) async throws -> Int {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE calls SET contacts_erased_at = ? WHERE contacts_erased_at IS NULL AND ended_at IS NOT NULL AND ended_at < ?",
                arguments: [now.millis, cutoff.millis])
            return db.changesCount
        }
    }

    /// Makes erased rows physically gone after a delete or overwrite: `secure_delete`
    /// (set on every connection) zeroes the freed bytes in the pages, and a truncating
    /// checkpoint copies those pages into the database file and empties the WAL, which
    /// still holds the earlier page images. Returns false when a reader kept the
    /// checkpoint from completing within the busy timeout (the next one finishes the job).
    @discardableResult
    public func flushErasures() async throws -> Bool {
        try await pool.writeWithoutTransaction { db in
            let row = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)")
            return (row?[0] as Int?) == 0
        }
    }

    /// Whether deleted content is zeroed (`PRAGMA secure_delete`), as the writer reports it.
    public func secureDeleteEnabled() throws -> Bool {
        try pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA secure_delete") == 1 }
    }
}
