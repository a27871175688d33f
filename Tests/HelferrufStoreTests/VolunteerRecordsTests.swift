import Foundation
import HelferrufCore
import Testing
@testable import HelferrufStore

/// Volunteers' profiles and organisations' blocks, on every engine (``Engine``).
@Suite struct VolunteerRecordsTests {
    @Test(arguments: Engine.available)
    func profilesRoundTripAndErasureTakesThemAway(engine: Engine) async throws {
        try await engine.withStore { e in
            let store = e.records
            let limits = FatigueLimits(maxAlertsPerDay: 3, quietHours: QuietHours(from: 22 * 60, to: 6 * 60))
            let (created, token) = try await store.createVolunteer(
                displayName: "Jana 'Robert'); --", skills: ["first_aid", "driver_c"], maxDistanceKm: 12.5, contact: "+49 221 1234",
                fatigue: limits, now: testNow)
            #expect(try await store.volunteer(token: token) == created)
            #expect(try await store.volunteer(id: created.id) == created)
            #expect(try await store.volunteer(token: token + "x") == nil)
            // Only the token's hash is stored.
            let row = try #require(try await e.rows("volunteers").first)
            #expect(row.values.allSatisfy { !$0.contains(String(token.dropFirst(4))) })

            var changed = created
            changed.displayName = "Jana"
            changed.skills = []
            changed.contact = nil
            changed.fatigue = FatigueLimits()
            changed.alertArea = GeoPoint(lat: 50.94, lon: 6.96)
            #expect(try await store.updateVolunteer(changed))
            #expect(try await store.volunteer(token: token) == changed)
            var ghost = changed
            ghost.id = "nobody"
            #expect(try await !store.updateVolunteer(ghost))

            try await store.deleteVolunteer(id: created.id)
            #expect(try await store.volunteer(token: token) == nil)
            #expect(try await store.volunteer(id: created.id) == nil)
            #expect(try await e.rows("volunteers").isEmpty)
        }
    }

    @Test(arguments: Engine.available)
    func blocksKeepTheirFirstTimeAndGoWithTheVolunteer(engine: Engine) async throws {
        try await engine.withStore { e in
            let store = e.records
            let org = try await store.createOrganisation(name: "THW", now: testNow).0
            let other = try await store.createOrganisation(name: "DRK", now: testNow).0
            func volunteer(_ name: String) async throws -> String {
                try await store.createVolunteer(displayName: name, skills: [], maxDistanceKm: 5, contact: nil, fatigue: FatigueLimits(), now: testNow).0.id
            }
            let anna = try await volunteer("Anna"), ben = try await volunteer("Ben")
            #expect(try await store.block(orgId: org.id, volunteerId: "nobody", now: testNow) == nil)
            let first = try #require(try await store.block(orgId: org.id, volunteerId: anna, now: testNow))
            #expect(first == Block(volunteerId: anna, displayName: "Anna", blockedAt: testNow))
            // Blocking again keeps the first time.
            #expect(try await store.block(orgId: org.id, volunteerId: anna, now: testNow.adding(millis: 60_000))?.blockedAt == testNow)
            _ = try await store.block(orgId: org.id, volunteerId: ben, now: testNow.adding(millis: 1000))
            _ = try await store.block(orgId: other.id, volunteerId: ben, now: testNow)
            #expect(try await store.blocks(orgId: org.id).map(\.volunteerId) == [ben, anna])
            #expect(try await store.allBlocks() == [org.id: [anna, ben], other.id: [ben]])
            #expect(try await store.unblock(orgId: org.id, volunteerId: anna))
            #expect(try await !store.unblock(orgId: org.id, volunteerId: anna))
            // An erased volunteer's blocks go with them.
            try await store.deleteVolunteer(id: ben)
            #expect(try await store.allBlocks().isEmpty)
        }
    }
}
