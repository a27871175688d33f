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

    @Test func theVAPIDKeyIsCreatedOnceAndKeptAs32RawBytes() throws {
        let db = try TestDatabase()
        let key = try db.store.vapidPrivateKey(now: .testNow)
        #expect(key.count == 32)
        #expect(try db.store.vapidPrivateKey(now: .testNow) == key)
        let stored = try db.store.pool.read { try Data.fetchOne($0, sql: "SELECT private_key FROM vapid_key") }
        #expect(stored.map { [UInt8]($0) } == key)
    }

    @Test func subscriptionsUpsertAndTheSixthReplacesTheOldest() async throws {
        let db = try TestDatabase()
        let (v, _) = try await db.store.createVolunteer(displayName: "Anna", skills: [], maxDistanceKm: 10, contact: nil, now: .testNow)
        #expect(try await db.store.upsertPushSubscription(volunteerId: v.id, subscription("https://a/1")) == .created(replaced: []))
        #expect(try await db.store.upsertPushSubscription(volunteerId: v.id, subscription("https://a/1")) == .updated)
        for n in 2...5 { _ = try await db.store.upsertPushSubscription(volunteerId: v.id, subscription("https://a/\(n)")) }
        #expect(try await db.store.upsertPushSubscription(volunteerId: v.id, subscription("https://a/6")) == .created(replaced: ["https://a/1"]))
        #expect(try await db.store.pushSubscriptions(volunteerId: v.id).map(\.endpoint) == (2...6).map { "https://a/\($0)" })
        #expect(try await db.store.upsertPushSubscription(volunteerId: "nobody", subscription("https://a/1")) == .noVolunteer)
    }

    @Test func standingAvailabilityAndPushRecordsAreReadBackAtStart() async throws {
        let db = try TestDatabase()
        let ledger = db.ledger()
        let call = try await db.postCall(ledger, needed: 2)
        var (v, _) = try await db.store.createVolunteer(displayName: "Anna", skills: [], maxDistanceKm: 10, contact: nil, now: .testNow)
        v.alertArea = GeoPoint(lat: 50.78, lon: 6.08)
        #expect(try await db.store.updateVolunteer(v))
        _ = try await db.store.upsertPushSubscription(volunteerId: v.id, subscription("https://a/1"))
        let until = Timestamp.testNow.adding(seconds: 3600)
        try await db.store.setStandingAvailability(volunteerId: v.id, .available(until: until))
        try await db.store.recordPushes(callId: call, [(v.id, "https://a/1")], now: .testNow)
        try await db.store.recordPushes(callId: call, [(v.id, "https://a/1"), ("gone-volunteer", "https://x")], now: .testNow)
        let loaded = try db.store.pushVolunteers(now: .testNow)
        #expect(loaded.count == 1)
        #expect(loaded.first?.availability == .available(until: until) && loaded.first?.profile.alertArea == v.alertArea)
        #expect(try db.store.activePushes() == [call: [v.id: ["https://a/1"]]])
        try await db.store.setStandingAvailability(volunteerId: v.id, nil)
        #expect(try db.store.pushVolunteers(now: .testNow).first?.availability == nil)
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
