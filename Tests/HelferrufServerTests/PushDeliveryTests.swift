import Foundation
import HelferrufCore
import HelferrufPush
@testable import HelferrufServer
import Testing

/// PROTOCOL.md §8 "When a push is sent", "The message", "Retraction", "Push service
/// answers": what the hub hands to the push gateway, over real sockets and HTTP.
@Suite(.serialized) struct PushDeliveryTests {
    static let base64URL = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")

    @Test func aPushReachableVolunteerWithoutASocketIsPushedAndCounted() async throws {
        let gateway = RecordingGateway()
        let s = try await LiveServer.start(gateway: gateway)
        defer { Task { try? await s.stop() } }
        let v = try await s.pushVolunteer()
        let reach = try await s.http(.get, "/api/v1/reach?lat=50.7753&lon=6.0839&radiusKm=5", token: s.demoToken).json
        #expect(reach["available"] as? Int == 1 && reach["connected"] as? Int == 0)
        let call = try await s.call(endsIn: 3600, title: "Sandsäcke füllen")
        let id = call["id"] as! String
        let job = try #require(try await gateway.wait(for: 1).first)
        #expect(job.endpoint == PushFixture.endpoint())
        #expect(job.p256dh == Base64URL.decode(PushFixture.p256dh) && job.auth == Base64URL.decode(PushFixture.auth))
        #expect(job.urgency == .high)
        #expect((3590...3600).contains(job.ttlSeconds))
        #expect(!job.topic.isEmpty && job.topic.count <= 32 && job.topic.allSatisfy { Self.base64URL.contains($0) })
        #expect(job.stillWanted())
        let m = job.json
        #expect(m["type"] as? String == "alert" && m["callId"] as? String == id)
        #expect(m["title"] as? String == "Sandsäcke füllen" && m["orgName"] as? String == "Demo" && m["address"] as? String == "")
        #expect(m["startsAt"] as? String == call["startsAt"] as? String && m["endsAt"] as? String == call["endsAt"] as? String)
        #expect(m["needed"] as? Int == 10 && m["confirmed"] as? Int == 0)
        let distance = try #require(m["distanceKm"] as? Double)
        #expect(abs(distance - Geo.distanceKm(GeoPoint(lat: 50.7753, lon: 6.0839), GeoPoint(lat: 50.78, lon: 6.08))) < 0.001)
        #expect(job.plaintext.count <= 3000)
        try await Task.sleep(for: .milliseconds(200))
        #expect(try await s.callObject(id)["alerted"] as? Int == 1)
        // Pushed once per (volunteer, call, subscription): becoming available again repeats nothing.
        #expect(try await s.http(.put, "/api/v1/volunteers/me/availability", token: v.token, json: ["status": "unavailable"]).status == 200)
        #expect(try await s.http(.put, "/api/v1/volunteers/me/availability", token: v.token, json: ["status": "available"]).status == 200)
        try await Task.sleep(for: .milliseconds(300))
        #expect(gateway.jobs.count == 1)
        // A second subscription added later gets nothing for a call already alerted.
        #expect(try await s.http(.post, "/api/v1/volunteers/me/push", token: v.token, json: PushFixture.subscription(PushFixture.endpoint(2))).status == 201)
        try await Task.sleep(for: .milliseconds(300))
        #expect(gateway.jobs.count == 1)
        // The same call's later messages share the topic; another call has its own.
        _ = try await s.call(title: "Zweiter Einsatz")
        let both = try await gateway.wait(for: 3)
        #expect(Set(both.map(\.topic)).count == 2)
    }

    @Test func aSocketAlertWithoutReceivedIsPushedAfterTheFallback() async throws {
        let gateway = RecordingGateway()
        let s = try await LiveServer.start(gateway: gateway, fallbackSeconds: 1.5)
        defer { Task { try? await s.stop() } }
        // Two volunteers with a socket and a subscription; only the second answers `received`.
        let quiet = try await s.volunteer("Still")
        let answering = try await s.volunteer("Antwort")
        for (n, v) in [quiet, answering].enumerated() {
            #expect(try await s.http(.post, "/api/v1/volunteers/me/push", token: v.token, json: PushFixture.subscription(PushFixture.endpoint(n))).status == 201)
        }
        let (ws1, _) = try await s.availableVolunteer(token: quiet.token)
        let (ws2, _) = try await s.availableVolunteer(token: answering.token)
        defer { ws1.close(); ws2.close() }
        try await Task.sleep(for: .milliseconds(200))
        let posting = ContinuousClock.now
        let call = try await s.call()
        let id = call["id"] as! String
        _ = try await ws1.receive(type: "alert")
        _ = try await ws2.receive(type: "alert")
        ws2.send(["type": "received", "callId": id])
        let jobs = try await gateway.wait(for: 1)
        #expect(jobs.map(\.endpoint) == [PushFixture.endpoint(0)])
        // Measured against the clock rather than by looking early, which a loaded machine
        // can make late: the push waited for the fallback time after the alert.
        #expect(try #require(gateway.arrivals.first) - posting >= .milliseconds(1500), "nothing before the fallback time")
        #expect(jobs[0].json["callId"] as? String == id && jobs[0].urgency == .high)
        try await Task.sleep(for: .milliseconds(800))
        #expect(gateway.jobs.count == 1, "no push after a timely received, and none twice")
        #expect(try await s.callObject(id)["alerted"] as? Int == 2)
    }

    @Test func retractionsFollowFillCancelAndExpiry() async throws {
        let gateway = RecordingGateway()
        let s = try await LiveServer.start(gateway: gateway)
        defer { Task { try? await s.stop() } }
        let v = try await s.pushVolunteer()
        // Filled: the pushed volunteer accepts over HTTP (alerted, so eligible).
        let filled = try await s.call(needed: 1)["id"] as! String
        let alert = try #require(try await gateway.wait(for: 1).first)
        let accepted = try await s.http(.post, "/api/v1/calls/\(filled)/accept", token: v.token)
        #expect(accepted.json["result"] as? String == "confirmed")
        let fill = try #require(try await gateway.wait(for: 1, where: { $0.type == "call_update" }).first)
        #expect(fill.topic == alert.topic && fill.urgency == .normal && fill.endpoint == alert.endpoint)
        #expect(fill.json["callId"] as? String == filled && fill.json["status"] as? String == "filled")
        #expect(fill.json["confirmed"] as? Int == 1 && fill.json["needed"] as? Int == 1)
        #expect(!alert.stillWanted(), "the alert is not wanted once the call is filled")
        // Cancelled.
        let cancelled = try await s.call()["id"] as! String
        _ = try await gateway.wait(for: 1, where: { $0.json["callId"] as? String == cancelled })
        #expect(try await s.http(.post, "/api/v1/calls/\(cancelled)/cancel", token: s.demoToken).status == 200)
        let cancel = try await gateway.wait(for: 1, where: { $0.type == "call_update" && $0.json["callId"] as? String == cancelled })
        #expect(cancel[0].json["status"] as? String == "cancelled")
        // Expired.
        let expiring = try await s.call(endsIn: 1.5)["id"] as! String
        let short = try await gateway.wait(for: 1, where: { $0.json["callId"] as? String == expiring })
        #expect(short[0].ttlSeconds <= 2)
        let expiry = try await gateway.wait(for: 1, timeout: .seconds(6), where: { $0.type == "call_update" && $0.json["callId"] as? String == expiring })
        #expect(expiry[0].json["status"] as? String == "expired")
        // A call that was never pushed to anyone retracts nothing.
        let elsewhere = try await s.call(lat: 52.52, lon: 13.40)["id"] as! String
        #expect(try await s.http(.post, "/api/v1/calls/\(elsewhere)/cancel", token: s.demoToken).status == 200)
        try await Task.sleep(for: .milliseconds(300))
        #expect(!gateway.jobs.contains { $0.json["callId"] as? String == elsewhere })
    }

    @Test func aGoneSubscriptionIsDeletedAtOnce() async throws {
        let gateway = RecordingGateway(answer: .gone)
        let s = try await LiveServer.start(gateway: gateway)
        defer { Task { try? await s.stop() } }
        let v = try await s.pushVolunteer()
        _ = try await s.call()
        _ = try await gateway.wait(for: 1)
        let deadline = ContinuousClock.now + .seconds(3)
        while try await !s.store.pushSubscriptions(volunteerId: v.id).isEmpty, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(try await s.store.pushSubscriptions(volunteerId: v.id).isEmpty)
        // No longer push-reachable: a new call alerts nobody.
        try await Task.sleep(for: .milliseconds(100))
        let reach = try await s.http(.get, "/api/v1/reach?lat=50.7753&lon=6.0839&radiusKm=5", token: s.demoToken).json
        #expect(reach["available"] as? Int == 0)
        let metrics = try await s.httpText(.get, "/metrics").text
        #expect(metrics.contains("helferruf_push_sent_total{result=\"gone\"} 1"))
    }

    @Test func standingAvailabilitySurvivesARestartAndTheVolunteerIsMatchedAfterIt() async throws {
        let gateway = RecordingGateway()
        let first = try await LiveServer.start(gateway: gateway)
        let v = try await first.pushVolunteer()
        let before = try await first.call()["id"] as! String
        _ = try await gateway.wait(for: 1)
        try await Task.sleep(for: .milliseconds(300))
        try await first.stop()
        let again = RecordingGateway()
        let s = try await LiveServer.start(gateway: again, dbPath: first.dbPath, demoToken: first.demoToken)
        defer { Task { try? await s.stop() } }
        let reach = try await s.http(.get, "/api/v1/reach?lat=50.7753&lon=6.0839&radiusKm=5", token: s.demoToken).json
        #expect(reach["available"] as? Int == 1)
        let after = try await s.call()["id"] as! String
        let jobs = try await again.wait(for: 1)
        #expect(jobs.map { $0.json["callId"] as? String } == [after])
        // The call pushed before the restart is not pushed again, and its fill retracts it.
        #expect(try await s.http(.post, "/api/v1/calls/\(before)/cancel", token: s.demoToken).status == 200)
        let retraction = try await again.wait(for: 1, where: { $0.type == "call_update" })
        #expect(retraction[0].json["callId"] as? String == before)
        // Unavailable is remembered as well.
        #expect(try await s.http(.put, "/api/v1/volunteers/me/availability", token: v.token, json: ["status": "unavailable"]).status == 200)
        try await s.stop()
        let third = try await LiveServer.start(gateway: RecordingGateway(), dbPath: first.dbPath, demoToken: first.demoToken)
        defer { Task { try? await third.stop() } }
        let none = try await third.http(.get, "/api/v1/reach?lat=50.7753&lon=6.0839&radiusKm=5", token: third.demoToken).json
        #expect(none["available"] as? Int == 0)
    }

    @Test func fatigueLimitsApplyToPushes() async throws {
        let gateway = RecordingGateway()
        let s = try await LiveServer.start(gateway: gateway)
        defer { Task { try? await s.stop() } }
        _ = try await s.pushVolunteer(maxAlertsPerDay: 1)
        let first = try await s.call()["id"] as! String
        _ = try await gateway.wait(for: 1)
        let second = try await s.call()["id"] as! String
        try await Task.sleep(for: .milliseconds(400))
        #expect(gateway.jobs.map { $0.json["callId"] as? String } == [first])
        #expect(try await s.callObject(second)["suppressed"] as? Int == 1)
        #expect(try await s.callObject(second)["alerted"] as? Int == 0)
    }

    @Test func quietHoursHoldPushesBack() async throws {
        // 23:00 Berlin time in winter (UTC+1): inside quiet hours 22:00–07:00.
        let clock = TestClock(startingAt: RFC3339.parse("2026-12-07T22:00:00Z")!)
        let gateway = RecordingGateway()
        let s = try await LiveServer.start(gateway: gateway, clock: clock)
        defer { Task { try? await s.stop() } }
        let v = try await s.pushVolunteer()
        #expect(try await s.http(.patch, "/api/v1/volunteers/me", token: v.token, json: ["quietHours": ["from": "22:00", "to": "07:00"]]).status == 200)
        let r = try await s.http(.post, "/api/v1/calls", token: s.demoToken, json: [
            "title": "Nachts", "location": ["lat": 50.7753, "lon": 6.0839], "radiusKm": 5, "needed": 1,
            "endsAt": RFC3339.format(clock.now().adding(seconds: 86_400)),
        ])
        #expect(r.status == 201)
        try await Task.sleep(for: .milliseconds(400))
        #expect(gateway.jobs.isEmpty)
        clock.advance(minutes: 9 * 60)
        let jobs = try await gateway.wait(for: 1)
        #expect(jobs[0].json["callId"] as? String == r.json["id"] as? String)
    }

    @Test func socketAvailabilityIsStandingAndOutlivesTheSocket() async throws {
        let gateway = RecordingGateway()
        let s = try await LiveServer.start(gateway: gateway)
        defer { Task { try? await s.stop() } }
        let v = try await s.volunteer()
        #expect(try await s.http(.post, "/api/v1/volunteers/me/push", token: v.token, json: PushFixture.subscription()).status == 201)
        #expect(try await s.http(.patch, "/api/v1/volunteers/me", token: v.token, json: ["alertArea": ["lat": 50.776, "lon": 6.084]]).status == 200)
        // Available through the socket's message, then every socket closes.
        let (ws, _) = try await s.availableVolunteer(token: v.token, lat: 51.2, lon: 6.8)
        try await Task.sleep(for: .milliseconds(200))
        ws.close()
        try await Task.sleep(for: .milliseconds(300))
        // Matched at the alert area, not at the last shared location.
        let id = try await s.call()["id"] as! String
        let job = try await gateway.wait(for: 1)
        #expect(job[0].json["callId"] as? String == id)
        #expect((job[0].json["distanceKm"] as? Double ?? 99) < 1)
    }

    @Test func aWaveReachesPushReachableVolunteersToo() async throws {
        let gateway = RecordingGateway()
        let s = try await LiveServer.start(gateway: gateway)
        defer { Task { try? await s.stop() } }
        _ = try await s.pushVolunteer()
        let r = try await s.http(.post, "/api/v1/calls", token: s.demoToken, json: [
            "title": "Welle", "location": ["lat": 50.7753, "lon": 6.0839], "radiusKm": 5, "needed": 1,
            "endsAt": RFC3339.format(Timestamp.now.adding(seconds: 3600)), "dispatch": ["mode": "waves"],
        ])
        #expect(r.status == 201)
        let jobs = try await gateway.wait(for: 1)
        #expect(jobs[0].json["callId"] as? String == r.json["id"] as? String)
        try await Task.sleep(for: .milliseconds(200))
        let call = try await s.callObject(r.json["id"] as! String)
        #expect(call["alerted"] as? Int == 1 && call["waves"] as? Int == 1)
    }

    @Test func aGatewayThatRefusesHasItsJobsCounted() async throws {
        let s = try await LiveServer.start { $0.push.makeGateway = { _ in DroppingPushGateway() } }
        defer { Task { try? await s.stop() } }
        _ = try await s.pushVolunteer()
        _ = try await s.call()
        try await Task.sleep(for: .milliseconds(300))
        let metrics = try await s.httpText(.get, "/metrics").text
        #expect(metrics.contains("helferruf_push_sent_total{result=\"refused\"} 1"))
        #expect(metrics.contains("helferruf_alerts_pushed_total 1"))
        #expect(metrics.contains("helferruf_push_queue_depth 0"))
    }

    @Test func theDefaultGatewayIsTheWebPushClientAndRefusesJobsOnceShutDown() async throws {
        let context = PushGatewayContext(
            vapidKey: .generate(), subject: "mailto:ops@example.org", endpoints: .standard, logLevel: .warning)
        let gateway = try #require(ServerConfiguration().push.makeGateway(context) as? WebPushGateway)
        #expect(gateway.queueDepth == 0)
        await gateway.shutdown(gracePeriod: .zero)
        let job = PushJob(
            endpoint: PushFixture.endpoint(), p256dh: try #require(Base64URL.decode(PushFixture.p256dh)),
            auth: try #require(Base64URL.decode(PushFixture.auth)), plaintext: Array("{}".utf8), ttlSeconds: 60, urgency: .high,
            topic: "dG9waWM", stillWanted: { true }, completion: { _ in Issue.record("a refused job is not completed") })
        #expect(!gateway.submit(job))
    }

    @Test func thePushClientsResultsMapOntoTheServersOutcomes() {
        let expected: [PushResult.Outcome: PushJobOutcome] = [
            .delivered: .delivered, .gone: .gone, .rejected: .rejected, .failed: .failed, .refused: .refused,
            .abandoned: .abandoned, .dropped: .abandoned,
        ]
        for outcome in PushResult.Outcome.allCases { #expect(WebPushGateway.outcome(outcome) == expected[outcome]) }
    }
}
