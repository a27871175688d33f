import Foundation
import HelferrufCore
import PostgresNIO
import Testing
@testable import HelferrufStore

/// The fill ledger on PostgreSQL where more than one node writes: two ledgers (each with its
/// own connection pool, as two server processes have) on one database.
@Suite(.enabled(if: TestPostgres.configured, "HELFERRUF_TEST_POSTGRES_URL is not set"))
struct PostgresLedgerTests {
    @Test func exactlyNUnderConcurrentAcceptsOnTwoNodes() async throws {
        try await Engine.postgres.withRig { t in
            let (otherStore, otherLedger) = try #require(try await t.otherNode?())
            let ledger = t.ledger()
            let cid = try await t.postCall(ledger, needed: 10)
            // 60 volunteers, half through each node, all at once.
            let results = await withTaskGroup(of: (String, RosterOutcome.Result).self) { group in
                for i in 0..<60 {
                    let node = i % 2 == 0 ? ledger : otherLedger
                    group.addTask { ("v\(i)", await node.submit(.accept(callId: cid, volunteerId: "v\(i)", eligible: true)).result) }
                }
                var all: [(String, RosterOutcome.Result)] = []
                for await r in group { all.append(r) }
                return all
            }
            let confirmed = confirmedSet(results)
            #expect(confirmed.count == 10)
            #expect(results.filter { $0.1 == .answer(.full) }.count == 50)
            #expect(try await t.confirmedVolunteers(cid) == confirmed)
            let stored = try #require(try await otherStore.call(id: cid))
            #expect(stored.confirmed == 10 && stored.status == .filled)
            #expect(ledger.statistics.failedBatches == 0 && otherLedger.statistics.failedBatches == 0)
        }
    }

    /// The overlap limit is decided in the database: four overlapping calls accepted by one
    /// volunteer through two nodes at once give three places and one `limit`.
    @Test func theOverlapLimitHoldsAcrossNodes() async throws {
        try await Engine.postgres.withRig { t in
            let (_, otherLedger) = try #require(try await t.otherNode?())
            let ledger = t.ledger()
            var calls: [String] = []
            for _ in 0..<4 { calls.append(try await t.postCall(ledger, needed: 5, from: 0, to: 3)) }
            let results = await withTaskGroup(of: RosterOutcome.Result.self) { group in
                for (i, cid) in calls.enumerated() {
                    let node = i % 2 == 0 ? ledger : otherLedger
                    group.addTask { await node.submit(.accept(callId: cid, volunteerId: "v", eligible: true)).result }
                }
                var all: [RosterOutcome.Result] = []
                for await r in group { all.append(r) }
                return all
            }
            #expect(results.filter { $0 == .answer(.confirmed) }.count == 3)
            #expect(results.filter { $0 == .answer(.limit) }.count == 1)
            #expect(try await t.execute("SELECT COUNT(*) FROM confirmations WHERE volunteer_id = 'v'", []) == ["3"])
        }
    }

    /// A withdrawal on one node promotes the standby list that an accept on the other node
    /// joined: the rows are read again in every batch, never remembered.
    @Test func eachNodeSeesTheOthersCommits() async throws {
        try await Engine.postgres.withRig { t in
            let (_, otherLedger) = try #require(try await t.otherNode?())
            let ledger = t.ledger()
            let cid = try await t.postCall(ledger, needed: 1, standby: true)
            #expect(await ledger.submit(.accept(callId: cid, volunteerId: "a", eligible: true)).result == .answer(.confirmed))
            #expect(await otherLedger.submit(.accept(callId: cid, volunteerId: "b", eligible: true)).result == .answer(.standby))
            let withdrawn = await ledger.submit(.withdraw(callId: cid, volunteerId: "a"))
            #expect(withdrawn.result == .answer(.withdrawn) && withdrawn.promoted == ["b"])
            #expect(withdrawn.call?.confirmed == 1 && withdrawn.call?.status == .filled && withdrawn.call?.standby == 0)
            let again = await otherLedger.submit(.accept(callId: cid, volunteerId: "b", eligible: true))
            #expect(again.result == .answer(.confirmed) && again.call?.confirmed == 1)
        }
    }

    /// A change the database refuses (a call of an organisation that does not exist) is
    /// answered `unavailable`; the rest of its batch commits. A transaction elsewhere holds
    /// the call's row meanwhile, so that everything lands in one batch.
    @Test func aChangeTheDatabaseRefusesDoesNotFailItsBatch() async throws {
        try await Engine.postgres.withRig { t in
            let ledger = t.ledger()
            let cid = try await t.postCall(ledger, needed: 10)
            let store = try #require(t.store as? PostgresStore)
            let locked = AsyncStream<Void>.makeStream()
            let holder = Task {
                try await store.database.client.withTransaction(logger: store.database.logger) { conn in
                    try await conn.query("SELECT id FROM calls WHERE id = \(cid) FOR UPDATE", logger: store.database.logger)
                    locked.continuation.yield()
                    try await Task.sleep(for: .milliseconds(300))
                }
            }
            for await _ in locked.stream { break }
            let orphan = Call(
                id: "orphan", orgId: "no-such-org", orgName: "", title: "x", description: "", address: "",
                location: GeoPoint(lat: 0, lon: 0), radiusKm: 1, needed: 1, skills: [], startsAt: .testNow,
                endsAt: Timestamp.testNow.adding(millis: 60_000), createdAt: .testNow)
            async let first = acceptAll(ledger, callId: cid, volunteers: ["v0"])
            try await Task.sleep(for: .milliseconds(50))
            async let bad = ledger.submit(.createCall(orphan))
            async let good = acceptAll(ledger, callId: cid, volunteers: (1..<8).map { "v\($0)" })
            try await holder.value
            let (badResult, firstResults, goodResults) = await (bad.result, first, good)
            #expect(badResult == .unavailable)
            #expect(confirmedSet(firstResults).count == 1 && confirmedSet(goodResults).count == 7)
            #expect(try await t.confirmedVolunteers(cid).count == 8)
            #expect(ledger.statistics.failedBatches == 0)
            #expect(try await store.call(id: "orphan") == nil)
        }
    }

    /// Without its database the ledger answers `unavailable` and stores nothing; detached
    /// changes wait for their retry.
    @Test func aLostDatabaseAnswersUnavailable() async throws {
        try await Engine.postgres.withRig { t in
            let (otherStore, otherLedger) = try #require(try await t.otherNode?())
            let cid = try await t.postCall(t.ledger(), needed: 3)
            await (otherStore as! PostgresStore).database.close()
            let outcome = await otherLedger.submit(.accept(callId: cid, volunteerId: "v", eligible: true))
            #expect(outcome.result == .unavailable && outcome.call == nil)
            #expect(otherLedger.statistics.failedBatches == 1)
            #expect(try await t.confirmedVolunteers(cid).isEmpty)
        }
    }

    /// Calls, confirmations and the live state's reads survive a restart: a new store on the
    /// same database reads what the first one's ledger committed.
    @Test func aRestartKeepsCallsAndConfirmations() async throws {
        try await Engine.postgres.withRig { t in
            let ledger = t.ledger()
            let (v, _) = try await t.store.createVolunteer(
                displayName: "Anna", skills: [], maxDistanceKm: 10, contact: "0171", fatigue: FatigueLimits(), now: .testNow)
            let cid = try await t.postCall(ledger, needed: 3)
            _ = await ledger.submit(.recordAlerts(callId: cid, volunteerIds: [v.id, "b"]))
            _ = await ledger.submit(.decline(callId: cid, volunteerId: "b"))
            #expect(await ledger.submit(.accept(callId: cid, volunteerId: v.id, eligible: true)).result == .answer(.confirmed))
            let (reopened, _) = try #require(try await t.otherNode?())
            #expect(try await reopened.call(id: cid)?.confirmed == 1)
            #expect(try await reopened.confirmations(callId: cid, noShowsSince: .testNow).first?.displayName == "Anna")
            let active = try await reopened.activeCalls()
            #expect(active.count == 1 && active[0].call.id == cid && active[0].alerted == [v.id, "b"] && active[0].declined == ["b"])
            #expect(try await reopened.recentAlertTimes(since: Timestamp(millis: 0)) == [v.id: [.testNow], "b": [.testNow]])
            try await reopened.deleteVolunteer(id: v.id)
            let after = try await reopened.confirmations(callId: cid, noShowsSince: .testNow)
            #expect(after.count == 1 && after[0].displayName == nil && after[0].contact == nil)
        }
    }
}
