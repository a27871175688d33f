import Foundation
import HelferrufCore
import HelferrufServer
import Testing

/// PROTOCOL.md §8 over HTTP: key, subscriptions, alert area, standing availability,
/// receipts, export and erasure.
@Suite(.serialized) struct PushAPITests {
    @Test func theKeyIsA65BytePointInBase64URLWithoutPaddingAndStaysAfterARestart() async throws {
        let s = try await LiveServer.start()
        let r = try await s.http(.get, "/api/v1/push/key")
        #expect(r.status == 200)
        let key = try #require(r.json["publicKey"] as? String)
        #expect(!key.contains("=") && !key.contains("+") && !key.contains("/"))
        #expect(Base64URL.decode(key)?.count == 65 && Base64URL.decode(key)?.first == 4)
        try await s.stop()
        let again = try await LiveServer.start(dbPath: s.dbPath)
        defer { Task { try? await again.stop() } }
        #expect(try await again.http(.get, "/api/v1/push/key").json["publicKey"] as? String == key)
    }

    static var badSubscriptions: [(JSON, String)] {
        [
            (PushFixture.subscription("https://evil.com/push"), "endpoint"),
            (PushFixture.subscription("http://169.254.169.254/latest/meta-data/"), "endpoint"),
            (PushFixture.subscription("https://fcm.googleapis.com@evil.com/x"), "endpoint"),
            (PushFixture.subscription("https://fcm.googleapis.com.evil.com/x"), "endpoint"),
            (PushFixture.subscription("http://[::1]/"), "endpoint"),
            (PushFixture.subscription("/fcm/send/relative"), "endpoint"),
            (PushFixture.subscription("https://fcm.googleapis.com/" + String(repeating: "x", count: 2100)), "endpoint"),
            (PushFixture.subscription(p256dh: "not base64!"), "keys.p256dh"),
            (PushFixture.subscription(p256dh: Base64URL.encode([UInt8](repeating: 4, count: 64))), "keys.p256dh"),
            (PushFixture.subscription(p256dh: Base64URL.encode([4] + [UInt8](repeating: 0, count: 64))), "keys.p256dh"),
            (PushFixture.subscription(auth: Base64URL.encode([UInt8](repeating: 1, count: 15))), "keys.auth"),
            (PushFixture.subscription(auth: "++++"), "keys.auth"),
            (["endpoint": PushFixture.endpoint()], "keys"),
            (["endpoint": 5, "keys": ["p256dh": PushFixture.p256dh, "auth": PushFixture.auth]], "endpoint"),
        ]
    }

    @Test func subscriptionsAreValidatedFieldByField() async throws {
        let s = try await LiveServer.start()
        defer { Task { try? await s.stop() } }
        let v = try await s.volunteer()
        for (body, field) in Self.badSubscriptions {
            let r = try await s.http(.post, "/api/v1/volunteers/me/push", token: v.token, json: body)
            #expect(r.status == 422, "\(body)")
            #expect((r.json["error"] as? JSON)?["field"] as? String == field, "\(body)")
        }
        #expect(try await s.http(.post, "/api/v1/volunteers/me/push", token: v.token, body: "[1]").status == 400)
        #expect(try await s.http(.post, "/api/v1/volunteers/me/push", token: v.token, body: "{").status == 400)
        // Wrong token kind, no token.
        #expect(try await s.http(.post, "/api/v1/volunteers/me/push", token: s.demoToken, json: PushFixture.subscription()).status == 403)
        #expect(try await s.http(.post, "/api/v1/volunteers/me/push", json: PushFixture.subscription()).status == 401)
        #expect(try await s.http(.put, "/api/v1/volunteers/me/availability", token: s.demoToken, json: ["status": "available"]).status == 403)
        // Padding is optional on the keys.
        let padded = PushFixture.subscription(auth: PushFixture.auth + "==")
        #expect(try await s.http(.post, "/api/v1/volunteers/me/push", token: v.token, json: padded).status == 201)
    }

    @Test func aSubscriptionIsCreatedOnceAndTheSixthReplacesTheOldest() async throws {
        let s = try await LiveServer.start()
        defer { Task { try? await s.stop() } }
        let v = try await s.volunteer()
        let first = try await s.http(.post, "/api/v1/volunteers/me/push", token: v.token, json: PushFixture.subscription(PushFixture.endpoint(1)))
        #expect(first.status == 201 && first.json["endpoint"] as? String == PushFixture.endpoint(1))
        #expect(try await s.http(.post, "/api/v1/volunteers/me/push", token: v.token, json: PushFixture.subscription(PushFixture.endpoint(1))).status == 200)
        for n in 2...6 {
            #expect(try await s.http(.post, "/api/v1/volunteers/me/push", token: v.token, json: PushFixture.subscription(PushFixture.endpoint(n))).status == 201)
        }
        let stored = try await s.store.pushSubscriptions(volunteerId: v.id).map(\.endpoint)
        #expect(stored == (2...6).map { PushFixture.endpoint($0) })
        // Another volunteer's endpoint of the same name is theirs alone.
        let other = try await s.volunteer("Otto")
        #expect(try await s.http(.post, "/api/v1/volunteers/me/push", token: other.token, json: PushFixture.subscription(PushFixture.endpoint(2))).status == 201)
        #expect(try await s.store.pushSubscriptions(volunteerId: v.id).count == 5)
        // Deleting answers 204, also for an endpoint that is not stored.
        #expect(try await s.http(.delete, "/api/v1/volunteers/me/push", token: v.token, json: ["endpoint": PushFixture.endpoint(2)]).status == 204)
        #expect(try await s.http(.delete, "/api/v1/volunteers/me/push", token: v.token, json: ["endpoint": "https://nowhere.example/x"]).status == 204)
        #expect(try await s.store.pushSubscriptions(volunteerId: v.id).count == 4)
        #expect(try await s.store.pushSubscriptions(volunteerId: other.id).count == 1)
        let bad = try await s.http(.delete, "/api/v1/volunteers/me/push", token: v.token, json: [:])
        #expect(bad.status == 422 && (bad.json["error"] as? JSON)?["field"] as? String == "endpoint")
        let get = try await s.httpText(.get, "/api/v1/volunteers/me/push", token: v.token)
        #expect(get.status == 405 && get.headers[.allow] == "POST, DELETE")
    }

    @Test func theAlertAreaIsRoundedToTwoDecimalsAndCanBeRemoved() async throws {
        let s = try await LiveServer.start()
        defer { Task { try? await s.stop() } }
        let v = try await s.volunteer()
        #expect(try await s.http(.get, "/api/v1/volunteers/me", token: v.token).json["alertArea"] is NSNull)
        let r = try await s.http(.patch, "/api/v1/volunteers/me", token: v.token, json: ["alertArea": ["lat": 50.77649, "lon": 6.0851]])
        #expect(r.status == 200)
        let area = try #require(r.json["alertArea"] as? JSON)
        #expect(area["lat"] as? Double == 50.78 && area["lon"] as? Double == 6.09)
        let stored = try await s.store.volunteer(id: v.id)
        #expect(stored?.alertArea == GeoPoint(lat: 50.78, lon: 6.09))
        let bad = try await s.http(.patch, "/api/v1/volunteers/me", token: v.token, json: ["alertArea": ["lat": 91, "lon": 6]])
        #expect(bad.status == 422 && (bad.json["error"] as? JSON)?["field"] as? String == "alertArea.lat")
        let badLon = try await s.http(.patch, "/api/v1/volunteers/me", token: v.token, json: ["alertArea": ["lat": 50, "lon": "east"]])
        #expect(badLon.status == 422 && (badLon.json["error"] as? JSON)?["field"] as? String == "alertArea.lon")
        let cleared = try await s.http(.patch, "/api/v1/volunteers/me", token: v.token, json: ["alertArea": NSNull()])
        #expect(cleared.status == 200 && cleared.json["alertArea"] is NSNull)
        #expect(try await s.store.volunteer(id: v.id)?.alertArea == nil)
    }

    @Test func standingAvailabilityIsValidatedAndAnswered() async throws {
        let s = try await LiveServer.start()
        defer { Task { try? await s.stop() } }
        let v = try await s.volunteer()
        let until = RFC3339.format(Timestamp.now.adding(seconds: 3600))
        let r = try await s.http(.put, "/api/v1/volunteers/me/availability", token: v.token, json: ["status": "available", "until": until])
        #expect(r.status == 200 && r.json["status"] as? String == "available" && r.json["until"] as? String == until)
        let off = try await s.http(.put, "/api/v1/volunteers/me/availability", token: v.token, json: ["status": "unavailable"])
        #expect(off.status == 200 && off.json["status"] as? String == "unavailable" && off.json["until"] is NSNull)
        for (body, field) in [(["status": "maybe"], "status"), (["status": "available", "until": "tomorrow"], "until"), ([:], "status")] as [(JSON, String)] {
            let bad = try await s.http(.put, "/api/v1/volunteers/me/availability", token: v.token, json: body)
            #expect(bad.status == 422 && (bad.json["error"] as? JSON)?["field"] as? String == field, "\(body)")
        }
    }

    @Test func receiptsCountInTheFunnelLikeTheSocketMessages() async throws {
        let gateway = RecordingGateway()
        let s = try await LiveServer.start(gateway: gateway)
        defer { Task { try? await s.stop() } }
        let v = try await s.pushVolunteer()
        let call = try await s.call()
        let id = call["id"] as! String
        _ = try await gateway.wait(for: 1)
        try await Task.sleep(for: .milliseconds(200))
        #expect(try await s.http(.post, "/api/v1/calls/\(id)/receipts", token: v.token, json: ["stage": "received"]).status == 204)
        #expect(try await s.http(.post, "/api/v1/calls/\(id)/receipts", token: v.token, json: ["stage": "received"]).status == 204)
        #expect(try await s.http(.post, "/api/v1/calls/\(id)/receipts", token: v.token, json: ["stage": "seen"]).status == 204)
        let after = try await s.callObject(id)
        #expect(after["delivered"] as? Int == 1 && after["seen"] as? Int == 1 && after["alerted"] as? Int == 1)
        // From a volunteer who was never alerted it is ignored.
        let stranger = try await s.volunteer("Fremd")
        #expect(try await s.http(.post, "/api/v1/calls/\(id)/receipts", token: stranger.token, json: ["stage": "seen"]).status == 204)
        #expect(try await s.callObject(id)["seen"] as? Int == 1)
        let bad = try await s.http(.post, "/api/v1/calls/\(id)/receipts", token: v.token, json: ["stage": "read"])
        #expect(bad.status == 422 && (bad.json["error"] as? JSON)?["field"] as? String == "stage")
        #expect(try await s.http(.post, "/api/v1/calls/no-such-call/receipts", token: v.token, json: ["stage": "seen"]).status == 404)
        #expect(try await s.http(.post, "/api/v1/calls/\(id)/receipts", token: s.demoToken, json: ["stage": "seen"]).status == 403)
    }

    @Test func theExportShowsEndpointsAndAreaAndErasureRemovesThem() async throws {
        let gateway = RecordingGateway()
        let s = try await LiveServer.start(gateway: gateway)
        defer { Task { try? await s.stop() } }
        let v = try await s.pushVolunteer()
        let export = try await s.http(.get, "/api/v1/volunteers/me/export", token: v.token).json
        let subs = try #require(export["pushSubscriptions"] as? [JSON])
        #expect(subs.count == 1 && subs[0]["endpoint"] as? String == PushFixture.endpoint() && subs[0]["createdAt"] is String)
        #expect(subs[0]["keys"] == nil)
        let area = (export["profile"] as? JSON)?["alertArea"] as? JSON
        #expect(area?["lat"] as? Double == 50.78 && area?["lon"] as? Double == 6.08)
        #expect(try await s.http(.delete, "/api/v1/volunteers/me", token: v.token).status == 204)
        #expect(try await s.store.pushSubscriptions(volunteerId: v.id).isEmpty)
        #expect(try await s.store.volunteer(id: v.id) == nil)
        // Nobody is pushed any more.
        _ = try await s.call()
        try await Task.sleep(for: .milliseconds(400))
        #expect(gateway.jobs.isEmpty)
    }
}
