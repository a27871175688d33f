import Foundation
import GRDB
import HelferrufCore
import Synchronization
import Testing
@testable import HelferrufStore

/// Volunteers the commit handler saw confirmed.
private final class Seen: Sendable {
    let set = Mutex<Set<String>>([])
}

@Suite struct LedgerRulesTests {
    @Test(arguments: Engine.available) func firstNOfAConcurrentCrowdAreConfirmedAndNoMore(engine: Engine) async throws {
        try await engine.withRig { t in
            let ledger = t.ledger()
            let cid = try await t.postCall(ledger, needed: 25)
            // 100 volunteers, a tenth of them twice.
            var crowd = (0..<100).map { "v\($0)" }
            crowd += (0..<10).map { "v\($0 * 7)" }
            let results = await acceptAll(ledger, callId: cid, volunteers: crowd.shuffled())
            let confirmed = confirmedSet(results)
            #expect(confirmed.count == 25)
            #expect(results.allSatisfy { $0.1 == .answer(.confirmed) || $0.1 == .answer(.full) })
            #expect(try await t.confirmedVolunteers(cid) == confirmed)
            let stored = try #require(try await t.store.call(id: cid))
            #expect(stored.confirmed == 25 && stored.status == .filled)
            // Accepting again after the call filled still answers confirmed for those who hold a place.
            let again = await ledger.submit(.accept(callId: cid, volunteerId: confirmed.first!, eligible: true))
            #expect(again.result == .answer(.confirmed))
        }
    }

    @Test(arguments: Engine.available) func withdrawReopensAndTheRulesKeepTheirOrder(engine: Engine) async throws {
        try await engine.withRig { t in
            let ledger = t.ledger()
            let cid = try await t.postCall(ledger, needed: 1)
            #expect(await ledger.submit(.accept(callId: cid, volunteerId: "a", eligible: true)).result == .answer(.confirmed))
            #expect(await ledger.submit(.accept(callId: cid, volunteerId: "b", eligible: true)).result == .answer(.full))
            // Not eligible and never alerted, on an open call with room.
            let w = await ledger.submit(.withdraw(callId: cid, volunteerId: "a"))
            #expect(w.result == .answer(.withdrawn) && w.call?.status == .open && w.statusChanged)
            #expect(await ledger.submit(.accept(callId: cid, volunteerId: "c", eligible: false)).result == .answer(.notEligible))
            // A stored alert makes an accept without live eligibility valid.
            _ = await ledger.submit(.recordAlerts(callId: cid, volunteerIds: ["c"]))
            let c = await ledger.submit(.accept(callId: cid, volunteerId: "c", eligible: false))
            #expect(c.result == .answer(.confirmed) && c.call?.status == .filled)
            _ = await ledger.submit(.cancel(callId: cid, orgId: t.orgId))
            #expect(await ledger.submit(.accept(callId: cid, volunteerId: "c", eligible: true)).result == .answer(.confirmed))
            #expect(await ledger.submit(.accept(callId: cid, volunteerId: "d", eligible: true)).result == .answer(.closed))
            #expect(await ledger.submit(.withdraw(callId: cid, volunteerId: "c")).result == .answer(.closed))
            #expect(await ledger.submit(.accept(callId: "nope", volunteerId: "d", eligible: true)).result == .notFound)
            #expect(try await t.confirmedVolunteers(cid) == ["c"])
        }
    }

    @Test(arguments: Engine.available) func theDatabaseRefusesOverbookingOnItsOwn(engine: Engine) async throws {
        try await engine.withRig { t in
            let ledger = t.ledger()
            let cid = try await t.postCall(ledger, needed: 2)
            await #expect(throws: (any Error).self) { try await t.execute("UPDATE calls SET confirmed = 3 WHERE id = $1", [.text(cid)]) }
            _ = await ledger.submit(.accept(callId: cid, volunteerId: "a", eligible: true))
            await #expect(throws: (any Error).self) {
                try await t.execute("INSERT INTO confirmations (call_id, volunteer_id, confirmed_at) VALUES ($1, 'a', 0)", [.text(cid)])
            }
            #expect(try await t.store.call(id: cid)?.confirmed == 1)
        }
    }

    @Test(arguments: Engine.available) func commitHandlerSeesEachBatchBeforeAnyoneIsAnswered(engine: Engine) async throws {
        try await engine.withRig { t in
            let seen = Seen()
            let ledger = t.ledger(onCommit: { outcomes in
                seen.set.withLock { s in
                    for o in outcomes where o.result == .answer(.confirmed) {
                        if case .accept(_, let vid, _, _) = o.change { s.insert(vid) }
                    }
                }
            })
            let cid = try await t.postCall(ledger, needed: 40)
            let results = await withTaskGroup(of: Bool.self) { group in
                for i in 0..<60 {
                    group.addTask {
                        let o = await ledger.submit(.accept(callId: cid, volunteerId: "v\(i)", eligible: true))
                        // The handler ran before this answer arrived.
                        return o.result != .answer(.confirmed) || seen.set.withLock { $0.contains("v\(i)") }
                    }
                }
                return await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(results.count == 60 && results.allSatisfy { $0 })
            #expect(seen.set.withLock { $0.count } == 40)
        }
    }

    @Test func aChangeTheDatabaseRefusesDoesNotFailItsBatch() async throws {
        let t = try TestDatabase()
        let ledger = t.ledger()
        let cid = try await t.postCall(ledger, needed: 10)
        // Hold the write lock so that everything below lands in one or two batches.
        let blocker = try t.lockHolder()
        try await blocker.writeWithoutTransaction { db in try db.execute(sql: "BEGIN IMMEDIATE") }
        let orphan = Call(
            id: "orphan", orgId: "no-such-org", orgName: "", title: "x", description: "", address: "",
            location: GeoPoint(lat: 0, lon: 0), radiusKm: 1, needed: 1, skills: [], startsAt: .testNow,
            endsAt: Timestamp.testNow.adding(millis: 60_000), createdAt: .testNow)
        async let bad = ledger.submit(.createCall(orphan))
        async let good = acceptAll(ledger, callId: cid, volunteers: (0..<8).map { "v\($0)" })
        try await Task.sleep(for: .milliseconds(200))
        try await blocker.writeWithoutTransaction { db in try db.execute(sql: "COMMIT") }
        #expect(await bad.result == .unavailable)
        #expect(confirmedSet(await good).count == 8)
        #expect(try t.confirmedVolunteers(cid).count == 8)
        #expect(ledger.statistics.failedBatches == 0)
    }
}
