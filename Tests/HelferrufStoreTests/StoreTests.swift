import Foundation
import GRDB
import HelferrufCore
import Testing
@testable import HelferrufStore

/// A fresh database file in its own temporary folder.
func temporaryDatabasePath() -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("helferruf-store-\(UUID().uuidString)")
    return dir.appendingPathComponent("helferruf.sqlite").path
}

let testNow = Timestamp(millis: 1_800_000_000_000)

func makeCall(org: Organisation, needed: Int, id: String = Tokens.newId()) -> Call {
    Call(
        id: id, orgId: org.id, orgName: org.name, title: "Sandsäcke", description: "", address: "",
        location: GeoPoint(lat: 50.77, lon: 6.08), radiusKm: 5, needed: needed, skills: [],
        startsAt: testNow, endsAt: testNow.adding(millis: 3_600_000), createdAt: testNow)
}

@Suite struct StoreTests {
    @Test func writerIsWALWithFullSync() throws {
        let store = try Store(path: temporaryDatabasePath())
        let p = try store.writerPragmas()
        #expect(p.journalMode == "wal")
        #expect(p.synchronous == 2)
    }

    @Test func demoOrganisationOnlyOnce() throws {
        let store = try Store(path: temporaryDatabasePath())
        let first = try store.createDemoOrganisationIfEmpty(now: testNow)
        #expect(first?.0.name == "Demo")
        #expect(try store.createDemoOrganisationIfEmpty(now: testNow) == nil)
        // Only the hash is stored: the token itself is nowhere in the database.
        let stored = try store.pool.read { db in try String.fetchAll(db, sql: "SELECT token_hash FROM organisations") }
        #expect(stored == [Tokens.hash(first!.token)])
    }

    @Test func tokensAreLongRandomAndPrefixed() {
        let a = Tokens.generate(.volunteer), b = Tokens.generate(.volunteer)
        #expect(a != b)
        #expect(a.hasPrefix("hrv_") && a.count == 4 + 43)
        #expect(Tokens.generate(.organisation).hasPrefix("hro_"))
    }

    @Test(arguments: Engine.available) func sixtyConcurrentAcceptsFillExactlyTen(engine: Engine) async throws {
        try await engine.withRig { t in
            let store = t.store
            let org = try #require(try await store.organisations().first)
            let ledger = t.ledger(clock: { testNow })
            let call = makeCall(org: org, needed: 10)
            #expect(await ledger.submit(.createCall(call)).result == .done)
            let results = await withTaskGroup(of: RosterOutcome.Result.self) { group in
                for i in 0..<60 {
                    group.addTask { await ledger.submit(.accept(callId: call.id, volunteerId: "v\(i % 55)", eligible: true)).result }
                }
                return await group.reduce(into: [RosterOutcome.Result]()) { $0.append($1) }
            }
            #expect(results.filter { $0 == .answer(.full) }.count + results.filter { $0 == .answer(.confirmed) }.count == 60)
            let stored = try await store.call(id: call.id)!
            #expect(stored.confirmed == 10)
            #expect(stored.status == .filled)
            #expect(try await store.confirmations(callId: call.id, noShowsSince: testNow).count == 10)
            // A repeated accept by a confirmed volunteer stays confirmed, even on the filled call.
            let someone = try await store.confirmations(callId: call.id, noShowsSince: testNow)[0].volunteerId
            #expect(await ledger.submit(.accept(callId: call.id, volunteerId: someone, eligible: false)).result == .answer(.confirmed))
            // A withdrawal reopens the call.
            let w = await ledger.submit(.withdraw(callId: call.id, volunteerId: someone))
            #expect(w.result == .answer(.withdrawn) && w.call?.status == .open && w.statusChanged)
        }
    }

    @Test func checkConstraintRefusesOverfill() throws {
        let store = try Store(path: temporaryDatabasePath())
        let (org, _) = try store.createOrganisation(name: "DRK", now: testNow)
        let call = makeCall(org: org, needed: 1)
        try store.pool.write { db in
            try db.execute(
                sql: "INSERT INTO calls (id, org_id, title, description, address, lat, lon, radius_km, needed, skills, starts_at, ends_at, created_at, status) VALUES (?, ?, 't', '', '', 0, 0, 1, 1, '', 0, 1, 0, 'open')",
                arguments: [call.id, org.id])
        }
        #expect(throws: DatabaseError.self) {
            try store.pool.write { db in try db.execute(sql: "UPDATE calls SET confirmed = 2 WHERE id = ?", arguments: [call.id]) }
        }
    }

    @Test(arguments: Engine.available) func acceptRulesInsideTheTransaction(engine: Engine) async throws {
        try await engine.withRig { t in
            let store = t.store
            let org = try #require(try await store.organisations().first)
            let ledger = t.ledger(clock: { testNow })
            let call = makeCall(org: org, needed: 2)
            _ = await ledger.submit(.createCall(call))
            #expect(await ledger.submit(.accept(callId: "missing", volunteerId: "a", eligible: true)).result == .notFound)
            #expect(await ledger.submit(.accept(callId: call.id, volunteerId: "a", eligible: false)).result == .answer(.notEligible))
            _ = await ledger.submit(.recordAlerts(callId: call.id, volunteerIds: ["a", "a", "b"]))
            #expect(try await store.call(id: call.id)?.alerted == 2)
            #expect(await ledger.submit(.accept(callId: call.id, volunteerId: "a", eligible: false)).result == .answer(.confirmed))
            let d1 = await ledger.submit(.decline(callId: call.id, volunteerId: "b"))
            let d2 = await ledger.submit(.decline(callId: call.id, volunteerId: "b"))
            #expect(d1.changed && !d2.changed && d2.call?.declined == 1)
            #expect(await ledger.submit(.cancel(callId: call.id, orgId: "someone-else")).result == .notFound)
            let cancelled = await ledger.submit(.cancel(callId: call.id, orgId: org.id))
            #expect(cancelled.call?.status == .cancelled && cancelled.call?.endedAt == testNow)
            #expect(await ledger.submit(.accept(callId: call.id, volunteerId: "b", eligible: true)).result == .answer(.closed))
            #expect(await ledger.submit(.accept(callId: call.id, volunteerId: "a", eligible: true)).result == .answer(.confirmed))
            #expect(await ledger.submit(.withdraw(callId: call.id, volunteerId: "a")).result == .answer(.closed))
        }
    }

    @Test(arguments: Engine.available) func callsExpireAtTheirEnd(engine: Engine) async throws {
        try await engine.withRig { t in
            let org = try #require(try await t.store.organisations().first)
            let clock = ManualClock(testNow)
            let ledger = t.ledger(clock: { clock.now })
            let call = makeCall(org: org, needed: 3)
            _ = await ledger.submit(.createCall(call))
            #expect(await ledger.submit(.expire(callId: call.id)).changed == false)
            clock.now = call.endsAt
            let expired = await ledger.submit(.expire(callId: call.id))
            #expect(expired.statusChanged && expired.call?.status == .expired && expired.call?.endedAt == call.endsAt)
            #expect(await ledger.submit(.cancel(callId: call.id, orgId: org.id)).result == .conflict)
        }
    }

    @Test func restartKeepsCallsAndConfirmationsAndErasedNamesBecomeNull() async throws {
        let path = temporaryDatabasePath()
        let callId: String
        let volunteerId: String
        do {
            let store = try Store(path: path)
            let (org, _) = try store.createOrganisation(name: "Stadt", now: testNow)
            let (v, _) = try await store.createVolunteer(displayName: "Anna", skills: [], maxDistanceKm: 10, contact: "0171", now: testNow)
            let ledger = Ledger(store: store, clock: { testNow })
            let call = makeCall(org: org, needed: 3)
            _ = await ledger.submit(.createCall(call))
            #expect(await ledger.submit(.accept(callId: call.id, volunteerId: v.id, eligible: true)).result == .answer(.confirmed))
            callId = call.id
            volunteerId = v.id
        }
        let reopened = try Store(path: path)
        #expect(try await reopened.call(id: callId)?.confirmed == 1)
        #expect(try await reopened.confirmations(callId: callId).first?.displayName == "Anna")
        #expect(try reopened.activeCalls().first?.call.id == callId)
        try await reopened.deleteVolunteer(id: volunteerId)
        let after = try await reopened.confirmations(callId: callId)
        #expect(after.count == 1 && after[0].displayName == nil && after[0].contact == nil)
    }
}

/// A clock the test moves by hand.
final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Timestamp

    init(_ start: Timestamp) { value = start }

    var now: Timestamp {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue } }
    }
}
