import Foundation
import HelferrufCore
import HelferrufServer
import Testing

@Suite(.serialized) struct VolunteerSocketTests {
    @Test func alertReachesAnAvailableVolunteerInRangeOnly() async throws {
        let s = try await LiveServer.start()
        defer { Task { try? await s.stop() } }
        let near = try await s.volunteer("Near", skills: ["sandbags"])
        let far = try await s.volunteer("Far", skills: ["sandbags"])
        let unskilled = try await s.volunteer("Unskilled")
        let (wNear, welcome) = try await s.availableVolunteer(token: near.token)
        #expect(welcome["volunteerId"] as? String == near.id)
        #expect((welcome["alerts"] as? [Any])?.isEmpty == true && (welcome["confirmed"] as? [Any])?.isEmpty == true)
        let (wFar, _) = try await s.availableVolunteer(token: far.token, lat: 51.2, lon: 6.8)
        let (wUnskilled, _) = try await s.availableVolunteer(token: unskilled.token)
        try await Task.sleep(for: .milliseconds(100))
        let call = try await s.call(needed: 40, skills: ["sandbags"])
        let alert = try await wNear.receive(type: "alert")
        let alerted = try #require(alert["call"] as? JSON)
        #expect(alerted["id"] as? String == call["id"] as? String)
        #expect(alerted["title"] as? String == "Sandsäcke füllen")
        let d = try #require(alerted["distanceKm"] as? Double)
        let expected = Geo.distanceKm(GeoPoint(lat: 50.7753, lon: 6.0839), GeoPoint(lat: 50.776, lon: 6.084))
        #expect(abs(d - expected) < 0.001)
        #expect(try await wFar.drain().isEmpty)
        #expect(try await wUnskilled.drain().isEmpty)
        let stored = try await s.http(.get, "/api/v1/calls/\(call["id"] as! String)", token: s.demoToken)
        #expect(stored.json["alerted"] as? Int == 1)
        for w in [wNear, wFar, wUnskilled] { w.close() }
    }

    @Test func becomingAvailableOrMovingIntoRangeDeliversOpenCallsOncePerConnection() async throws {
        let s = try await LiveServer.start()
        defer { Task { try? await s.stop() } }
        let call = try await s.call()
        let v = try await s.volunteer()
        let tab1 = try await s.ws()
        tab1.send(["type": "hello", "token": v.token])
        _ = try await tab1.receive(type: "welcome")
        tab1.send(["type": "location", "lat": 51.5, "lon": 7.5])  // out of range
        tab1.send(["type": "availability", "status": "available"])
        #expect(try await tab1.drain().isEmpty)
        tab1.send(["type": "location", "lat": 50.776, "lon": 6.084])  // moves into range
        #expect((try await tab1.receive(type: "alert")["call"] as? JSON)?["id"] as? String == call["id"] as? String)
        // Moving again within range, or toggling availability, does not repeat the alert.
        tab1.send(["type": "location", "lat": 50.777, "lon": 6.085])
        tab1.send(["type": "availability", "status": "unavailable"])
        tab1.send(["type": "availability", "status": "available"])
        #expect(try await tab1.drain().isEmpty)
        // A second tab of the same volunteer shares the state: its welcome holds the call.
        let tab2 = try await s.ws()
        tab2.send(["type": "hello", "token": v.token])
        let welcome = try await tab2.receive(type: "welcome")
        #expect((welcome["alerts"] as? [JSON])?.first.flatMap { $0["id"] as? String } == call["id"] as? String)
        #expect((welcome["alerts"] as? [JSON])?.first?["distanceKm"] is Double)
        // A new call goes to both tabs.
        let second = try await s.call(title: "Deich sichern")
        for tab in [tab1, tab2] {
            #expect((try await tab.receive(type: "alert")["call"] as? JSON)?["id"] as? String == second["id"] as? String)
        }
        tab1.close()
        tab2.close()
    }

    @Test func untilEndsAvailability() async throws {
        let s = try await LiveServer.start()
        defer { Task { try? await s.stop() } }
        let v = try await s.volunteer()
        let w = try await s.ws()
        w.send(["type": "hello", "token": v.token])
        _ = try await w.receive(type: "welcome")
        w.send(["type": "location", "lat": 50.776, "lon": 6.084])
        w.send(["type": "availability", "status": "available", "until": RFC3339.format(Timestamp.now.adding(seconds: 1))])
        try await Task.sleep(for: .milliseconds(1200))
        _ = try await s.call()
        #expect(try await w.drain().isEmpty)
        let reach = try await s.http(.get, "/api/v1/reach?lat=50.7753&lon=6.0839&radiusKm=5", token: s.demoToken)
        #expect(reach.json["available"] as? Int == 0 && reach.json["connected"] as? Int == 1)
        w.close()
    }

    @Test func sixtyConcurrentAcceptsOnACallNeedingTenGiveExactlyTen() async throws {
        // Sixty registrations from loopback: more than the default burst of 20 (§11).
        let s = try await LiveServer.start { $0.limits.registrations = Rate(perSecond: 100, burst: 100) }
        defer { Task { try? await s.stop() } }
        let (id, results) = try await s.sixtyAcceptsForTen()
        #expect(results == ["confirmed": 10, "full": 50])
        let confirmations = try await s.http(.get, "/api/v1/calls/\(id)/confirmations", token: s.demoToken)
        #expect((confirmations.json["confirmations"] as? [JSON])?.count == 10)
    }

    @Test func acceptDeclineWithdrawAndCallUpdates() async throws {
        let s = try await LiveServer.start()
        defer { Task { try? await s.stop() } }
        let a = try await s.volunteer("A"), b = try await s.volunteer("B")
        let (wa, _) = try await s.availableVolunteer(token: a.token)
        let (wb, _) = try await s.availableVolunteer(token: b.token)
        try await Task.sleep(for: .milliseconds(100))
        let call = try await s.call(needed: 1)
        let id = call["id"] as! String
        _ = try await wa.receive(type: "alert")
        _ = try await wb.receive(type: "alert")
        wa.send(["type": "accept", "callId": id, "requestId": "1"])
        #expect(try await wa.receive(type: "accept_result")["result"] as? String == "confirmed")
        #expect(try await wb.receive(type: "call_update")["status"] as? String == "filled")
        // A repeated accept stays confirmed; B is too late.
        wa.send(["type": "accept", "callId": id, "requestId": "2"])
        #expect(try await wa.receive(type: "accept_result")["result"] as? String == "confirmed")
        wb.send(["type": "accept", "callId": id])
        let late = try await wb.receive(type: "accept_result")
        #expect(late["result"] as? String == "full" && late["requestId"] is NSNull)
        // A decline does not withdraw; a withdraw reopens the filled call.
        wa.send(["type": "decline", "callId": id])
        wa.send(["type": "withdraw", "callId": id, "requestId": "3"])
        let withdrawn = try await wa.receive(type: "accept_result")
        #expect(withdrawn["result"] as? String == "withdrawn" && withdrawn["requestId"] as? String == "3")
        let reopened = try await wb.receive(type: "call_update")
        #expect(reopened["status"] as? String == "open" && reopened["confirmed"] as? Int == 0)
        let stored = try await s.http(.get, "/api/v1/calls/\(id)", token: s.demoToken).json
        #expect(stored["declined"] as? Int == 1 && stored["status"] as? String == "open")
        // Cancelled: everyone alerted is told, accepts are closed.
        _ = try await s.http(.post, "/api/v1/calls/\(id)/cancel", token: s.demoToken)
        #expect(try await wb.receive(type: "call_update")["status"] as? String == "cancelled")
        wb.send(["type": "accept", "callId": id])
        #expect(try await wb.receive(type: "accept_result")["result"] as? String == "closed")
        wa.send(["type": "decline", "callId": "no-such-call"])
        #expect(try await wa.receive(type: "error")["code"] as? String == "not_found")
        wa.close()
        wb.close()
    }

    @Test func declinedCallsAreNotAlertedAgain() async throws {
        let s = try await LiveServer.start()
        defer { Task { try? await s.stop() } }
        let v = try await s.volunteer()
        let call = try await s.call()
        let (w, welcome) = try await s.availableVolunteer(token: v.token)
        #expect((welcome["alerts"] as? [Any])?.isEmpty == true)
        _ = try await w.receive(type: "alert")
        w.send(["type": "decline", "callId": call["id"] as! String])
        try await Task.sleep(for: .milliseconds(200))
        w.close()
        let (w2, welcome2) = try await s.availableVolunteer(token: v.token)
        #expect((welcome2["alerts"] as? [Any])?.isEmpty == true)
        #expect(try await w2.drain().isEmpty)
        w2.close()
    }

    @Test func badMessagesGetErrorsAndTheSocketStaysOpen() async throws {
        let s = try await LiveServer.start()
        defer { Task { try? await s.stop() } }
        let v = try await s.volunteer()
        let (w, _) = try await s.availableVolunteer(token: v.token)
        let cases: [(String, String)] = [
            ("not json", "bad_json"),
            ("[1,2,3]", "bad_json"),
            (#"{"type":"dance"}"#, "unknown_type"),
            (#"{"no":"type"}"#, "unknown_type"),
            (#"{"type":"hello","token":"x"}"#, "unknown_type"),
            (#"{"type":"location","lat":"50","lon":6}"#, "validation_failed"),
            (#"{"type":"location","lat":95,"lon":6}"#, "validation_failed"),
            (#"{"type":"location","lat":50}"#, "validation_failed"),
            (#"{"type":"availability","status":"maybe"}"#, "validation_failed"),
            (#"{"type":"availability","status":"available","until":"later"}"#, "validation_failed"),
            (#"{"type":"accept"}"#, "validation_failed"),
            (#"{"type":"accept","callId":42,"requestId":"q"}"#, "validation_failed"),
            (#"{"type":"accept","callId":"nope","requestId":"q"}"#, "not_found"),
            (#"{"type":"withdraw","callId":"nope"}"#, "not_found"),
        ]
        for (text, code) in cases {
            w.send(text: text)
            let e = try await w.receive(type: "error")
            #expect(e["code"] as? String == code, "\(text)")
        }
        w.send(text: #"{"type":"accept","callId":"nope","requestId":"q"}"#)
        #expect(try await w.receive(type: "error")["requestId"] as? String == "q")
        // Still open and working.
        _ = try await s.call()
        _ = try await w.receive(type: "alert")
        w.close()
    }

    @Test func closeCodes() async throws {
        let s = try await LiveServer.start { $0.helloTimeout = .milliseconds(500) }
        defer { Task { try? await s.stop() } }
        let v = try await s.volunteer()

        let wrongToken = try await s.ws()
        wrongToken.send(["type": "hello", "token": "hrv_wrong"])
        #expect(try await wrongToken.closeCode() == 4401)

        let orgTokenOnVolunteerSocket = try await s.ws()
        orgTokenOnVolunteerSocket.send(["type": "hello", "token": s.demoToken])
        #expect(try await orgTokenOnVolunteerSocket.closeCode() == 4401)

        let badHello = try await s.ws()
        badHello.send(text: #"{"type":"location","lat":1,"lon":2}"#)
        #expect(try await badHello.closeCode() == 4400)

        let garbage = try await s.ws()
        garbage.send(text: "garbage")
        #expect(try await garbage.closeCode() == 4400)

        let silent = try await s.ws()
        #expect(try await silent.closeCode() == 4408)

        let huge = try await s.ws()
        huge.send(["type": "hello", "token": v.token])
        _ = try await huge.receive(type: "welcome")
        huge.send(text: String(repeating: "x", count: 64 * 1024))
        #expect(try await huge.closeCode() == 1009)

        // Erasing the account closes the volunteer's sockets with 4401.
        let (w, _) = try await s.availableVolunteer(token: v.token)
        #expect(try await s.http(.delete, "/api/v1/volunteers/me", token: v.token).status == 204)
        #expect(try await w.closeCode() == 4401)
    }

    @Test func gracefulShutdownClosesWith1001() async throws {
        let s = try await LiveServer.start()
        let v = try await s.volunteer()
        let (w, _) = try await s.availableVolunteer(token: v.token)
        let d = try await s.ws("/ws/dashboard")
        d.send(["type": "hello", "token": s.demoToken])
        _ = try await d.receive(type: "snapshot")
        try await s.stop()
        #expect(try await w.closeCode() == 1001)
        #expect(try await d.closeCode() == 1001)
    }

    @Test func restartKeepsCallsConfirmationsAndAlertsAndMatchesAgain() async throws {
        let s = try await LiveServer.start()
        let a = try await s.volunteer("A"), b = try await s.volunteer("B")
        let (wa, _) = try await s.availableVolunteer(token: a.token)
        try await Task.sleep(for: .milliseconds(100))
        let call = try await s.call(needed: 5)
        let id = call["id"] as! String
        _ = try await wa.receive(type: "alert")
        wa.send(["type": "accept", "callId": id])
        #expect(try await wa.receive(type: "accept_result")["result"] as? String == "confirmed")
        try await s.stop()

        let restarted = try await LiveServer.start(dbPath: s.dbPath, demoToken: s.demoToken)
        defer { Task { try? await restarted.stop() } }
        let stored = try await restarted.http(.get, "/api/v1/calls/\(id)", token: s.demoToken).json
        #expect(stored["confirmed"] as? Int == 1 && stored["alerted"] as? Int == 1 && stored["status"] as? String == "open")
        // A reconnects: the open call is in welcome.alerts once available again, and in confirmed.
        let wa2 = try await restarted.ws()
        wa2.send(["type": "hello", "token": a.token])
        let welcome = try await wa2.receive(type: "welcome")
        #expect((welcome["confirmed"] as? [JSON])?.first?["id"] as? String == id)
        // Alert records survived: A may accept over HTTP without a socket in range.
        #expect(try await restarted.http(.post, "/api/v1/calls/\(id)/accept", token: a.token).json["result"] as? String == "confirmed")
        // B, new in range after the restart, is matched to the open call.
        let (wb, _) = try await restarted.availableVolunteer(token: b.token)
        #expect((try await wb.receive(type: "alert")["call"] as? JSON)?["id"] as? String == id)
        wa.close()
        wa2.close()
        wb.close()
    }

    @Test func callsExpireAtEndsAtAndAlertedVolunteersAreTold() async throws {
        let s = try await LiveServer.start()
        defer { Task { try? await s.stop() } }
        let v = try await s.volunteer()
        let (w, _) = try await s.availableVolunteer(token: v.token)
        try await Task.sleep(for: .milliseconds(100))
        let call = try await s.call(endsIn: 1.2)
        _ = try await w.receive(type: "alert")
        let update = try await w.receive(type: "call_update", timeout: .seconds(5))
        #expect(update["status"] as? String == "expired" && update["callId"] as? String == call["id"] as? String)
        let stored = try await s.http(.get, "/api/v1/calls/\(call["id"] as! String)", token: s.demoToken).json
        #expect(stored["status"] as? String == "expired" && stored["endedAt"] is String)
        w.send(["type": "accept", "callId": call["id"] as! String])
        #expect(try await w.receive(type: "accept_result")["result"] as? String == "closed")
        w.close()
    }
}
