import Foundation
import HelferrufCore
import Testing
@testable import HelferrufStore

/// Readiness, figures and retention, on every engine (``Engine``).
@Suite struct MaintenanceRecordsTests {
    @Test(arguments: Engine.available)
    func figuresCountWhatIsStored(engine: Engine) async throws {
        try await engine.withStore { e in
            let store = e.records
            #expect(await store.isReadable())
            let org = try await store.createOrganisation(name: "THW", now: testNow).0
            _ = try await store.createVolunteer(displayName: "Anna", skills: [], maxDistanceKm: 5, contact: nil, fatigue: FatigueLimits(), now: testNow)
            _ = try await e.insertOpenCall(org.id)
            _ = try await e.insertOpenCall(org.id)
            _ = try await e.insertCall(org.id, testNow.millis)
            let s = try await store.stats()
            #expect(s.organisations == 1 && s.volunteers == 1 && s.confirmations == 0 && s.alerts == 0)
            #expect(s.callsByStatus == ["open": 2, "expired": 1])
        }
    }

    /// Calls that ended before the cutoff are marked once; open calls and later ones not.
    @Test(arguments: Engine.available)
    func retentionMarksCallsThatEndedBeforeTheCutoffOnce(engine: Engine) async throws {
        try await engine.withStore { e in
            let org = try await e.records.createOrganisation(name: "THW", now: testNow).0
            let old = try await e.insertCall(org.id, testNow.millis - 40 * 86_400_000)
            _ = try await e.insertCall(org.id, testNow.millis - 86_400_000)
            _ = try await e.insertOpenCall(org.id)
            let cutoff = testNow.adding(millis: -30 * 86_400_000)
            #expect(try await e.records.eraseContacts(endedBefore: cutoff, now: testNow) == 1)
            #expect(try await e.records.eraseContacts(endedBefore: cutoff, now: testNow) == 0)
            let marked = try await e.rows("calls").filter { !($0["contacts_erased_at"] ?? "").isEmpty && $0["contacts_erased_at"] != "<null>" }
            #expect(marked.map { $0["id"] } == [old])
        }
    }

    @Test(.enabled(if: TestPostgres.configured, "HELFERRUF_TEST_POSTGRES_URL is not set"))
    func backupAndVacuumOnPostgreSQLNameItsOwnTools() async throws {
        try await Engine.postgres.withStore { e in
            let backup = await #expect(throws: StoreError.self) { try await e.records.backup(to: "/tmp/never.sqlite") }
            #expect(backup?.description.contains("pg_dump") == true)
            #expect(backup?.description.contains(":x@") == false)
            let vacuum = await #expect(throws: StoreError.self) { try await e.records.vacuum() }
            #expect(vacuum?.description.contains("autovacuum") == true)
            #expect(!FileManager.default.fileExists(atPath: "/tmp/never.sqlite"))
        }
    }
}
