import Foundation
import GRDB
import Testing
@testable import HelferrufStore

@Suite struct BackupTests {
    /// A backup taken while accepts commit is consistent, and restoring it (copying the
    /// file into place, as docs/OPERATIONS.md says) gives a working database.
    @Test func onlineBackupIsConsistentAndRestores() async throws {
        let t = try TestDatabase()
        let ledger = t.ledger()
        let cid = try await t.postCall(ledger, needed: 400)
        _ = await acceptAll(ledger, callId: cid, volunteers: (0..<100).map { "early\($0)" })
        let writing = Task { await acceptAll(ledger, callId: cid, volunteers: (0..<300).map { "late\($0)" }) }
        let backupPath = t.folder.appendingPathComponent("backup.sqlite").path
        let summary = try t.store.backup(to: backupPath)
        _ = await writing.value
        #expect(summary.calls == 1)
        #expect(summary.confirmations >= 100 && summary.confirmations <= 400)

        #expect(throws: StoreError.self) { try t.store.backup(to: backupPath) }

        let restoredPath = t.folder.appendingPathComponent("restored/helferruf.sqlite").path
        try FileManager.default.createDirectory(atPath: (restoredPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: backupPath, toPath: restoredPath)
        let restored = try Store(path: restoredPath)
        #expect(try restored.writerPragmas().synchronous == 2)
        let (count, stored, check) = try await restored.pool.read { db in
            (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM confirmations WHERE call_id = ?", arguments: [cid]) ?? -1,
             try Int.fetchOne(db, sql: "SELECT confirmed FROM calls WHERE id = ?", arguments: [cid]) ?? -1,
             try String.fetchOne(db, sql: "PRAGMA integrity_check"))
        }
        #expect(count == summary.confirmations && stored == count && check == "ok")
        // Everything in the backup is also in the live database.
        let live = try t.confirmedVolunteers(cid)
        let copied = try await restored.pool.read { db in
            Set(try String.fetchAll(db, sql: "SELECT volunteer_id FROM confirmations WHERE call_id = ?", arguments: [cid]))
        }
        #expect(copied.isSubset(of: live))
        // The restored database takes new work.
        let again = Ledger(store: restored, clock: { .testNow })
        #expect(await again.submit(.accept(callId: cid, volunteerId: "after-restore", eligible: true)).result == .answer(.confirmed))
    }
}
