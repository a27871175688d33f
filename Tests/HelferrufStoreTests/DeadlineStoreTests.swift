import Foundation
import GRDB
import HelferrufCore
import Testing
@testable import HelferrufStore

/// PROTOCOL.md §10 in the store: the v4 migration, deadline calls stored and read back,
/// the delay model learnt from past calls, and the planner's memory after a restart.
@Suite struct DeadlineStoreTests {
    static let folder = FileManager.default.temporaryDirectory

    func deadlineCall(_ db: LedgerRig, fillBy: Timestamp, delay: DelayModel) -> Call {
        var call = Call(
            id: UUID().uuidString, orgId: db.orgId, orgName: "Test", title: "Deich", description: "", address: "",
            location: GeoPoint(lat: 50.9, lon: 6.9), radiusKm: 5, needed: 4, skills: [],
            startsAt: .testNow, endsAt: Timestamp.testNow.adding(millis: 3_600_000), createdAt: .testNow)
        call.dispatch = .deadline(fillBy: fillBy, confidence: 0.9, maxRadiusKm: 8)
        call.acceptanceRate = 0.4
        call.delayModel = delay
        return call
    }

    @Test func aV3DatabaseMigratesWithItsCallsAndForeignKeysIntact() async throws {
        let path = Self.folder.appendingPathComponent("helferruf-v3-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let queue = try DatabaseQueue(path: path)
        try Schema.migrator.migrate(queue, upTo: "v3-push")
        try await queue.write { db in
            try db.execute(sql: "INSERT INTO organisations (id, name, token_hash, created_at) VALUES ('o', 'Alt', 'h', 0)")
            try db.execute(sql: """
                INSERT INTO calls (id, org_id, title, description, address, lat, lon, radius_km, needed, skills, starts_at, ends_at,
                    created_at, status, dispatch_mode, max_radius_km, wave_seconds, acceptance_rate, reached_radius_km, confirmed)
                VALUES ('c', 'o', 'Alt', '', '', 50.9, 6.9, 5, 3, '', 0, 3600000, 0, 'open', 'waves', 7, 30, 0.25, 5, 1)
                """)
            try db.execute(sql: "INSERT INTO alerts (call_id, volunteer_id, alerted_at) VALUES ('c', 'v', 10)")
            try db.execute(sql: "INSERT INTO confirmations (call_id, volunteer_id, confirmed_at) VALUES ('c', 'v', 20)")
        }
        try queue.close()
        let store = try Store(path: path)
        let call = try #require(try await store.call(id: "c"))
        #expect(call.dispatch == .waves(maxRadiusKm: 7, waveSeconds: 30) && call.acceptanceRate == 0.25 && call.confirmed == 1)
        try await store.pool.read { db in
            #expect(try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").isEmpty)
            let indexes = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'calls' AND sql IS NOT NULL")
            #expect(Set(indexes).isSuperset(of: ["calls_org", "calls_status", "calls_retention"]))
            // The rule of the old table is still there: no over-filled call.
            #expect(throws: DatabaseError.self) { try db.execute(sql: "UPDATE calls SET confirmed = 9 WHERE id = 'c'") }
        }
        // The alerts still point at the call.
        #expect(try store.deadlineProgress(callId: "c").alertedAt == ["v": Timestamp(millis: 10)])
    }

    @Test(arguments: Engine.available) func aDeadlineCallIsStoredWithItsModel(engine: Engine) async throws {
        try await engine.withRig { db in
            let ledger = db.ledger()
            let fillBy = Timestamp.testNow.adding(millis: 900_000)
            let call = deadlineCall(db, fillBy: fillBy, delay: DelayModel(medianSeconds: 42, sigma: 0.6))
            #expect(await ledger.submit(.createCall(call)).result == .done)
            let stored = try #require(try await db.store.call(id: call.id))
            #expect(stored.dispatch == .deadline(fillBy: fillBy, confidence: 0.9, maxRadiusKm: 8))
            #expect(stored.acceptanceRate == 0.4 && stored.delayModel == DelayModel(medianSeconds: 42, sigma: 0.6))
            // A hand-edited model is clamped on the way back.
            _ = try await db.execute("UPDATE calls SET delay_sigma = 0, delay_median_s = 1e9 WHERE id = $1", [.text(call.id)])
            #expect(try await db.store.call(id: call.id)?.delayModel == DelayModel(medianSeconds: 1800, sigma: 0.2))
        }
    }

    @Test(arguments: Engine.available) func theDelayModelIsLearntFromTheAcceptsOfEndedCalls(engine: Engine) async throws {
        try await engine.withRig { db in
            #expect(try await db.store.delayModel(orgId: db.orgId) == .default)
            let ledger = db.ledger()
            let id = try await db.postCall(ledger, needed: 40)
            // 24 accepts after 30 s to 120 s (log-mean at 60 s); 6 more alerted who never answered.
            let delays: [Double] = (0..<24).map { 60 * exp(0.5 * (Double($0 % 5) - 2) / 1.4142) }
            for (i, delay) in delays.enumerated() {
                _ = try await db.execute("INSERT INTO alerts (call_id, volunteer_id, alerted_at) VALUES ($1, $2, 1000)", [.text(id), .text("v\(i)")])
                _ = try await db.execute(
                    "INSERT INTO confirmations (call_id, volunteer_id, confirmed_at) VALUES ($1, $2, $3)", [.text(id), .text("v\(i)"), .int(1000 + Int64(delay * 1000))])
            }
            for i in 0..<6 { _ = try await db.execute("INSERT INTO alerts (call_id, volunteer_id, alerted_at) VALUES ($1, $2, 1000)", [.text(id), .text("n\(i)")]) }
            // An open call teaches nothing yet.
            #expect(try await db.store.delayModel(orgId: db.orgId) == .default)
            _ = try await db.execute("UPDATE calls SET status = 'expired', ended_at = 5000 WHERE id = $1", [.text(id)])
            let learnt = try await db.store.delayModel(orgId: db.orgId)
            let expected = DelayModel.fit(delaysSeconds: delays.map { Double(Int64($0 * 1000)) / 1000 })
            #expect(abs(learnt.medianSeconds - expected.medianSeconds) < 1e-9 && abs(learnt.sigma - expected.sigma) < 1e-9)
            #expect(abs(learnt.medianSeconds - 60) < 2 && learnt.sigma > 0.2 && learnt.sigma < 0.6)
            // Another organisation learns nothing from it.
            let other = try await db.store.createOrganisation(name: "Andere", now: .testNow).0
            #expect(try await db.store.delayModel(orgId: other.id) == .default)
        }
    }

    @Test(arguments: Engine.available) func thePlannersMemoryComesBackAfterARestart(engine: Engine) async throws {
        try await engine.withRig { db in
            let ledger = db.ledger()
            let call = deadlineCall(db, fillBy: Timestamp.testNow.adding(millis: 600_000), delay: .default)
            #expect(await ledger.submit(.createCall(call)).result == .done)
            _ = await ledger.submit(.recordWave(callId: call.id, reachedRadiusKm: 5, volunteerIds: ["a", "b", "c"]))
            _ = await ledger.submit(.decline(callId: call.id, volunteerId: "b"))
            _ = await ledger.submit(.accept(callId: call.id, volunteerId: "c", eligible: true))
            let (alertedAt, answered) = try await db.store.deadlineProgress(callId: call.id)
            #expect(alertedAt == ["a": .testNow, "b": .testNow, "c": .testNow] && answered == ["b", "c"])
        }
    }
}
