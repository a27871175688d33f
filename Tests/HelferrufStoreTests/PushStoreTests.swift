import Foundation
import GRDB
import HelferrufCore
import Testing
@testable import HelferrufStore

/// The store's side of PROTOCOL.md §8: the VAPID key, subscriptions, standing availability,
/// push records, and erasure of all of it down to the bytes of the file.
@Suite struct PushStoreTests {
    static let point = [UInt8](Base64URL.decode("BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4") ?? [])

    func subscription(_ endpoint: String) -> PushSubscription {
        PushSubscription(endpoint: endpoint, p256dh: Self.point, auth: [UInt8](repeating: 7, count: 16), createdAt: .testNow)
    }

    /// Created once, also when several nodes ask at the same moment.
    @Test(arguments: Engine.available)
    func theVAPIDKeyIsCreatedOnceAndKeptAs32RawBytes(engine: Engine) async throws {
        try await engine.withStore { e in
            let keys = try await withThrowingTaskGroup(of: [UInt8].self) { group in
                for _ in 0..<4 { group.addTask { try await e.records.vapidPrivateKey(now: .testNow) } }
                var all: Set<[UInt8]> = []
                for try await key in group { all.insert(key) }
                return all
            }
            #expect(keys.count == 1)
            let key = try #require(keys.first)
            #expect(key.count == 32)
            #expect(try await e.records.vapidPrivateKey(now: .testNow) == key)
            #expect(try await e.rows("vapid_key").count == 1)
        }
    }

    @Test(arguments: Engine.available)
    func subscriptionsUpsertAndTheSixthReplacesTheOldest(engine: Engine) async throws {
        try await engine.withStore { e in
            let store = e.records
            let (v, _) = try await store.createVolunteer(displayName: "Anna", skills: [], maxDistanceKm: 10, contact: nil, fatigue: FatigueLimits(), now: .testNow)
            #expect(try await store.upsertPushSubscription(volunteerId: v.id, subscription("https://a/1")) == .created(replaced: []))
            #expect(try await store.upsertPushSubscription(volunteerId: v.id, subscription("https://a/1")) == .updated)
            for n in 2...5 { _ = try await store.upsertPushSubscription(volunteerId: v.id, subscription("https://a/\(n)")) }
            #expect(try await store.upsertPushSubscription(volunteerId: v.id, subscription("https://a/6")) == .created(replaced: ["https://a/1"]))
            #expect(try await store.pushSubscriptions(volunteerId: v.id).map(\.endpoint) == (2...6).map { "https://a/\($0)" })
            #expect(try await store.pushSubscriptions(volunteerId: v.id).allSatisfy { $0.p256dh == Self.point && $0.auth.count == 16 })
            #expect(try await store.upsertPushSubscription(volunteerId: "nobody", subscription("https://a/1")) == .noVolunteer)
            #expect(try await store.deletePushSubscription(volunteerId: v.id, endpoint: "https://a/6"))
            #expect(try await !store.deletePushSubscription(volunteerId: v.id, endpoint: "https://a/6"))
        }
    }

    @Test(arguments: Engine.available)
    func standingAvailabilityAndPushRecordsAreReadBackAtStart(engine: Engine) async throws {
        try await engine.withStore { e in
            let store = e.records
            let org = try await store.createOrganisation(name: "THW", now: .testNow).0
            let call = try await e.insertOpenCall(org.id)
            var (v, _) = try await store.createVolunteer(displayName: "Anna", skills: [], maxDistanceKm: 10, contact: nil, fatigue: FatigueLimits(), now: .testNow)
            v.alertArea = GeoPoint(lat: 50.78, lon: 6.08)
            #expect(try await store.updateVolunteer(v))
            _ = try await store.upsertPushSubscription(volunteerId: v.id, subscription("https://a/1"))
            let until = Timestamp.testNow.adding(seconds: 3600)
            try await store.setStandingAvailability(volunteerId: v.id, .available(until: until))
            try await store.recordPushes(callId: call, [(v.id, "https://a/1")], now: .testNow)
            try await store.recordPushes(callId: call, [(v.id, "https://a/1"), ("gone-volunteer", "https://x")], now: .testNow)
            let loaded = try await store.pushVolunteers()
            #expect(loaded.count == 1)
            #expect(loaded.first?.availability == .available(until: until) && loaded.first?.profile.alertArea == v.alertArea)
            #expect(try await store.pushVolunteer(id: v.id)?.subscriptions.map(\.endpoint) == ["https://a/1"])
            #expect(try await store.activePushes() == [call: [v.id: ["https://a/1"]]])
            try await store.setStandingAvailability(volunteerId: v.id, .unavailable)
            #expect(try await store.pushVolunteers().first?.availability == .unavailable)
            try await store.setStandingAvailability(volunteerId: v.id, nil)
            #expect(try await store.pushVolunteers().first?.availability == nil)
            // Erasure takes subscriptions and push records along.
            try await store.deleteVolunteer(id: v.id)
            #expect(try await store.pushVolunteers().isEmpty)
            #expect(try await store.activePushes().isEmpty)
        }
    }

    @Test func erasureRemovesSubscriptionsAreaAndRecordsFromTheFile() async throws {
        let db = try TestDatabase()
        let ledger = db.ledger()
        let call = try await db.postCall(ledger, needed: 2)
        let marker = "https://fcm.googleapis.com/fcm/send/erase-me-\(UUID().uuidString.prefix(8))"
        var (v, _) = try await db.store.createVolunteer(displayName: "Anna", skills: [], maxDistanceKm: 10, contact: nil, now: .testNow)
        v.alertArea = GeoPoint(lat: 50.78, lon: 6.08)
        #expect(try await db.store.updateVolunteer(v))
        _ = try await db.store.upsertPushSubscription(volunteerId: v.id, subscription(marker))
        try await db.store.recordPushes(callId: call, [(v.id, marker)], now: .testNow)
        #expect(try await db.store.export(volunteerId: v.id)?.pushSubscriptions.map(\.endpoint) == [marker])
        try await db.store.deleteVolunteer(id: v.id)
        #expect(try await db.store.pushSubscriptions(volunteerId: v.id).isEmpty)
        #expect(try db.store.activePushes().isEmpty)
        var bytes = Data()
        for suffix in ["", "-wal"] where FileManager.default.fileExists(atPath: db.path + suffix) {
            bytes.append(try Data(contentsOf: URL(fileURLWithPath: db.path + suffix)))
        }
        #expect(bytes.range(of: Data(marker.utf8)) == nil, "the erased endpoint is still in the database file or WAL")
    }
}
