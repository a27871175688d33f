import Foundation
import GRDB
import Testing
@testable import HelferrufStore

/// Another connection holds the write lock for 3 s while a crowd accepts. Every accept
/// either commits after the lock is released or is told `unavailable`; nobody hears
/// `confirmed` without being in the database.
@Suite struct LockHeldTests {
    /// Runs the scenario and returns the answers given during the lock.
    private func acceptsWhileLocked(busyTimeout: TimeInterval) async throws -> (TestDatabase, Ledger, String, [(String, RosterOutcome.Result)]) {
        let t = try TestDatabase(busyTimeout: busyTimeout)
        let ledger = t.ledger()
        let cid = try await t.postCall(ledger, needed: 50)
        let other = try t.lockHolder()
        try await other.writeWithoutTransaction { db in try db.execute(sql: "BEGIN IMMEDIATE") }
        let release = Task {
            try await Task.sleep(for: .seconds(3))
            try await other.writeWithoutTransaction { db in try db.execute(sql: "COMMIT") }
        }
        let results = await acceptAll(ledger, callId: cid, volunteers: (0..<80).map { "v\($0)" })
        try await release.value
        #expect(try t.confirmedVolunteers(cid) == confirmedSet(results))
        #expect(results.allSatisfy { [.answer(.confirmed), .answer(.full), .unavailable].contains($0.1) })
        return (t, ledger, cid, results)
    }

    @Test func aLongerTimeoutWaitsForTheLockAndCommits() async throws {
        let started = ContinuousClock.now
        let (t, _, cid, results) = try await acceptsWhileLocked(busyTimeout: 6)
        #expect(ContinuousClock.now - started >= .seconds(3))
        #expect(confirmedSet(results).count == 50)
        #expect(try t.storedCount(cid).confirmed == 50)
    }

    @Test func aShorterTimeoutAnswersUnavailableThenRecovers() async throws {
        let (t, ledger, cid, results) = try await acceptsWhileLocked(busyTimeout: 1)
        #expect(results.contains { $0.1 == .unavailable })
        // The lock is gone: the same ledger takes work again, and retries fill the call.
        let retried = await acceptAll(ledger, callId: cid, volunteers: results.filter { $0.1 == .unavailable }.map(\.0))
        let all = confirmedSet(results).union(confirmedSet(retried))
        #expect(all.count == 50)
        #expect(try t.confirmedVolunteers(cid) == all)
    }

    @Test func detachedChangesOfAFailedBatchAreRetried() async throws {
        let t = try TestDatabase(busyTimeout: 0.5)
        let ledger = t.ledger()
        let cid = try await t.postCall(ledger, needed: 5)
        let other = try t.lockHolder()
        try await other.writeWithoutTransaction { db in try db.execute(sql: "BEGIN IMMEDIATE") }
        // Nobody waits for alert records: they must survive the failed commit.
        ledger.submitDetached(.recordAlerts(callId: cid, volunteerIds: ["a", "b"]))
        let refused = await ledger.submit(.accept(callId: cid, volunteerId: "c", eligible: true))
        #expect(refused.result == .unavailable)
        #expect(ledger.statistics.failedBatches >= 1)
        try await other.writeWithoutTransaction { db in try db.execute(sql: "COMMIT") }
        let deadline = ContinuousClock.now + .seconds(10)
        var stored = 0
        while ContinuousClock.now < deadline {
            stored = try await t.store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM alerts WHERE call_id = ?", arguments: [cid]) ?? 0 }
            if stored == 2 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(stored == 2)
        #expect(try t.storedCount(cid).confirmed == 0)
    }
}
