import Foundation
import HTTPTypes
import HelferrufCore
import HelferrufServer
import Testing

/// PROTOCOL.md §11 over the wire, with real sockets and a real SQLite file.
@Suite(.serialized) struct DenialTests {
    private let registration = #"{"displayName":"Anna","skills":[]}"#

    @Test func twentyFirstRegistrationInABurstFromOneAddressGets429() async throws {
        // The defaults (100/h:20); a trusted proxy on loopback lets the test speak for a
        // second client address through X-Forwarded-For.
        let s = try await LiveServer.start {
            $0.limits.registrations = RateLimitSettings().registrations
            $0.trustedProxies = ["127.0.0.1"]
        }
        defer { Task { try? await s.stop() } }
        #expect(RateLimitSettings().registrations.description == "100/h:20")
        let first: HTTPFields = [HTTPField.Name("X-Forwarded-For")!: "203.0.113.7"]
        for i in 0..<20 {
            #expect(try await s.httpText(.post, "/api/v1/volunteers", body: registration, headers: first).status == 201, "registration \(i + 1)")
        }
        let refused = try await s.httpText(.post, "/api/v1/volunteers", body: registration, headers: first)
        #expect(refused.status == 429 && refused.text.contains(#""code":"rate_limited""#))
        // The next token comes after 36 s (100 an hour).
        let wait = try #require(refused.headers[.retryAfter].flatMap { Int($0) })
        #expect((1...36).contains(wait), "Retry-After \(wait)")
        let second: HTTPFields = [HTTPField.Name("X-Forwarded-For")!: "198.51.100.4"]
        #expect(try await s.httpText(.post, "/api/v1/volunteers", body: registration, headers: second).status == 201)
        let metrics = try await s.httpText(.get, "/metrics").text
        #expect(metrics.contains("helferruf_volunteers_registered_total 21"))
        #expect(metrics.contains(#"helferruf_rate_limited_total{limit="registrations"} 1"#))
    }

    @Test func rateLimitsOffLiftsTheRegistrationLimitButNotTheOverlapRule() async throws {
        let s = try await LiveServer.start {
            $0.limits.registrations = RateLimitSettings().registrations
            $0.rateLimits = false
        }
        defer { Task { try? await s.stop() } }
        for _ in 0..<25 { #expect(try await s.httpText(.post, "/api/v1/volunteers", body: registration).status == 201) }
        let v = try await s.volunteer()
        let (w, _) = try await s.availableVolunteer(token: v.token)
        var results: [String] = []
        for i in 0..<4 {
            let call = try await s.call(title: "Einsatz \(i)")
            _ = try await w.receive(type: "alert")
            w.send(["type": "accept", "callId": call["id"] as! String, "requestId": "r\(i)"])
            results.append(try await w.receive(type: "accept_result")["result"] as? String ?? "?")
        }
        #expect(results == ["confirmed", "confirmed", "confirmed", "limit"])
        w.close()
    }

    @Test func fourSimultaneousAcceptsFromTwoSocketsGiveThreeConfirmedAndOneLimit() async throws {
        let s = try await LiveServer.start()
        defer { Task { try? await s.stop() } }
        let v = try await s.volunteer()
        let (tab1, _) = try await s.availableVolunteer(token: v.token)
        let (tab2, _) = try await s.availableVolunteer(token: v.token)
        try await Task.sleep(for: .milliseconds(200))
        var ids: [String] = []
        for i in 0..<4 { ids.append(try await s.call(title: "Einsatz \(i)")["id"] as! String) }
        for tab in [tab1, tab2] {
            for _ in 0..<4 { _ = try await tab.receive(type: "alert") }
        }
        for (i, id) in ids.enumerated() { (i % 2 == 0 ? tab1 : tab2).send(["type": "accept", "callId": id, "requestId": "r\(i)"]) }
        var results: [String: Int] = [:]
        for (i, _) in ids.enumerated() {
            let tab = i % 2 == 0 ? tab1 : tab2
            let answer = try await tab.receive(type: "accept_result")
            results[answer["result"] as? String ?? "?", default: 0] += 1
        }
        #expect(results == ["confirmed": 3, "limit": 1])
        var stored = 0
        for id in ids { stored += (try await s.http(.get, "/api/v1/calls/\(id)", token: s.demoToken).json["confirmed"] as? Int) ?? 0 }
        #expect(stored == 3)
        // Over HTTP the limit answers the same, and a call at another time is not limited.
        let limited = try #require(try await firstUnconfirmed(s, ids))
        let http = try await s.http(.post, "/api/v1/calls/\(limited)/accept", token: v.token)
        #expect(http.status == 200 && http.json["result"] as? String == "limit")
        let later = try await s.http(.post, "/api/v1/calls", token: s.demoToken, json: [
            "title": "Morgen", "location": ["lat": 50.7753, "lon": 6.0839], "radiusKm": 5, "needed": 5,
            "startsAt": RFC3339.format(Timestamp.now.adding(seconds: 86_400)), "endsAt": RFC3339.format(Timestamp.now.adding(seconds: 90_000)),
        ])
        let laterId = try #require(later.json["id"] as? String)
        _ = try await tab1.receive(type: "alert")
        #expect(try await s.http(.post, "/api/v1/calls/\(laterId)/accept", token: v.token).json["result"] as? String == "confirmed")
        let metrics = try await s.httpText(.get, "/metrics").text
        #expect(metrics.contains("helferruf_accepts_limited_total 2"))
        tab1.close()
        tab2.close()
    }

    private func firstUnconfirmed(_ s: LiveServer, _ ids: [String]) async throws -> String? {
        for id in ids where (try await s.http(.get, "/api/v1/calls/\(id)/confirmations", token: s.demoToken).json["confirmations"] as? [JSON])?.isEmpty == true {
            return id
        }
        return nil
    }

    @Test func removingAHelperReopensThePlacePromotesStandbyAndTellsThem() async throws {
        let s = try await LiveServer.start()
        defer { Task { try? await s.stop() } }
        let fake = try await s.volunteer("Fake")
        let real = try await s.volunteer("Real")
        let (fw, _) = try await s.availableVolunteer(token: fake.token)
        let (rw, _) = try await s.availableVolunteer(token: real.token)
        let d = try await s.ws("/ws/dashboard")
        d.send(["type": "hello", "token": s.demoToken])
        _ = try await d.receive(type: "snapshot")
        try await Task.sleep(for: .milliseconds(200))
        let created = try await s.http(.post, "/api/v1/calls", token: s.demoToken, json: [
            "title": "Deich", "location": ["lat": 50.7753, "lon": 6.0839], "radiusKm": 5, "needed": 1, "standby": true,
            "endsAt": RFC3339.format(Timestamp.now.adding(seconds: 3600)),
        ])
        let id = try #require(created.json["id"] as? String)
        _ = try await fw.receive(type: "alert")
        _ = try await rw.receive(type: "alert")
        fw.send(["type": "accept", "callId": id, "requestId": "f"])
        #expect(try await fw.receive(type: "accept_result")["result"] as? String == "confirmed")
        rw.send(["type": "accept", "callId": id, "requestId": "r"])
        #expect(try await rw.receive(type: "accept_result")["result"] as? String == "standby")

        // Only the call's own organisation may remove; only a confirmed helper is found.
        let other = try s.store.createOrganisation(name: "Andere", now: .now).token
        #expect(try await s.http(.post, "/api/v1/calls/\(id)/confirmations/\(fake.id)/remove", token: other).status == 404)
        #expect(try await s.http(.post, "/api/v1/calls/\(id)/confirmations/\(fake.id)/remove", token: fake.token).status == 403)
        #expect(try await s.http(.post, "/api/v1/calls/\(id)/confirmations/\(fake.id)/remove").status == 401)
        #expect(try await s.http(.post, "/api/v1/calls/\(id)/confirmations/nobody/remove", token: s.demoToken).status == 404)
        #expect(try await s.http(.post, "/api/v1/calls/\(id)/confirmations/\(real.id)/remove", token: s.demoToken).status == 404)
        #expect(try await s.http(.get, "/api/v1/calls/\(id)/confirmations/\(fake.id)/remove", token: s.demoToken).status == 405)

        let removed = try await s.http(.post, "/api/v1/calls/\(id)/confirmations/\(fake.id)/remove", token: s.demoToken)
        #expect(removed.status == 200 && removed.json["id"] as? String == id)
        #expect(removed.json["confirmed"] as? Int == 1 && removed.json["status"] as? String == "filled" && removed.json["standby"] as? Int == 0)
        // The removed helper is told on their socket; the promoted one too.
        var told: JSON?
        while told == nil {
            let m = try await fw.receive(type: "call_update")
            if m["removed"] as? Bool == true { told = m }
        }
        #expect(told?["callId"] as? String == id && told?["needed"] as? Int == 1 && told?["confirmed"] as? Int == 1)
        let promoted = try await rw.receive(type: "accept_result")
        #expect(promoted["promoted"] as? Bool == true && promoted["result"] as? String == "confirmed")
        let helpers = try await s.http(.get, "/api/v1/calls/\(id)/confirmations", token: s.demoToken).json["confirmations"] as? [JSON]
        #expect(helpers?.map { $0["volunteerId"] as? String } == [real.id])
        #expect(helpers?.first?["noShows"] as? Int == 0 && helpers?.first?["checkedIn"] as? Bool == false)
        // The dashboard follows.
        var last: JSON?
        let deadline = ContinuousClock.now + .seconds(3)
        while ContinuousClock.now < deadline, (last?["standby"] as? Int) != 0 || (last?["confirmed"] as? Int) != 1 {
            for m in try await d.drain(for: .milliseconds(100)) where (m["call"] as? JSON)?["id"] as? String == id { last = m["call"] as? JSON }
        }
        #expect(last?["confirmed"] as? Int == 1 && last?["standby"] as? Int == 0 && last?["status"] as? String == "filled")
        // The removed helper cannot take the call again.
        _ = try await s.http(.post, "/api/v1/calls/\(id)/withdraw", token: real.token)
        fw.send(["type": "accept", "callId": id, "requestId": "again"])
        #expect(try await fw.receive(type: "accept_result")["result"] as? String == "not_eligible")
        let export = try await s.http(.get, "/api/v1/volunteers/me/export", token: fake.token).json
        #expect((export["removals"] as? [JSON])?.count == 1)
        for w in [fw, rw, d] { w.close() }
    }

    @Test func aBlockedVolunteerIsNotAlertedByThatOrganisationButByOthers() async throws {
        let s = try await LiveServer.start()
        defer { Task { try? await s.stop() } }
        let other = try s.store.createOrganisation(name: "Andere", now: .now).token
        let mallory = try await s.volunteer("Mallory")
        let (w, _) = try await s.availableVolunteer(token: mallory.token)
        try await Task.sleep(for: .milliseconds(200))
        let before = try await s.call(title: "Vorher")
        _ = try await w.receive(type: "alert")

        // Bad input first: wrong types, unknown volunteers, the wrong kind of token.
        #expect(try await s.http(.post, "/api/v1/blocks", token: s.demoToken, body: "[]").status == 400)
        let wrongType = try await s.http(.post, "/api/v1/blocks", token: s.demoToken, json: ["volunteerId": 42])
        #expect(wrongType.status == 422 && (wrongType.json["error"] as? JSON)?["field"] as? String == "volunteerId")
        #expect(try await s.http(.post, "/api/v1/blocks", token: s.demoToken, json: ["volunteerId": ""]).status == 422)
        #expect(try await s.http(.post, "/api/v1/blocks", token: s.demoToken, json: ["volunteerId": "no-such-volunteer"]).status == 404)
        #expect(try await s.http(.post, "/api/v1/blocks", token: mallory.token, json: ["volunteerId": mallory.id]).status == 403)
        #expect(try await s.http(.get, "/api/v1/blocks").status == 401)

        let blocked = try await s.http(.post, "/api/v1/blocks", token: s.demoToken, json: ["volunteerId": mallory.id])
        #expect(blocked.status == 201 && blocked.json["volunteerId"] as? String == mallory.id && blocked.json["displayName"] as? String == "Mallory")
        #expect(try await s.http(.post, "/api/v1/blocks", token: s.demoToken, json: ["volunteerId": mallory.id]).json["blockedAt"] as? String
            == blocked.json["blockedAt"] as? String)
        // The reach preview no longer counts the blocked volunteer; another organisation's does.
        let reachPath = "/api/v1/reach?lat=50.7753&lon=6.0839&radiusKm=5"
        #expect(try await s.http(.get, reachPath, token: s.demoToken).json["available"] as? Int == 0)
        #expect(try await s.http(.get, reachPath, token: other).json["available"] as? Int == 1)
        let list = try await s.http(.get, "/api/v1/blocks", token: s.demoToken).json["blocks"] as? [JSON]
        #expect(list?.map { $0["volunteerId"] as? String } == [mallory.id])
        #expect((try await s.http(.get, "/api/v1/blocks", token: other).json["blocks"] as? [JSON])?.isEmpty == true)

        // No alert for this organisation's next call, and its accepts answer not_eligible,
        // also for the call alerted before the block.
        let mine = try await s.call(title: "Gesperrt")
        let theirs = try await s.call(token: other, title: "Andere Organisation")
        let alert = try await w.receive(type: "alert")
        #expect((alert["call"] as? JSON)?["id"] as? String == theirs["id"] as? String)
        #expect(try await w.drain(for: .milliseconds(300)).allSatisfy { $0["type"] as? String != "alert" })
        for call in [mine, before] {
            w.send(["type": "accept", "callId": call["id"] as! String, "requestId": "m"])
            #expect(try await w.receive(type: "accept_result")["result"] as? String == "not_eligible")
        }
        w.send(["type": "accept", "callId": theirs["id"] as! String, "requestId": "t"])
        #expect(try await w.receive(type: "accept_result")["result"] as? String == "confirmed")
        // A new connection's welcome leaves the organisation's calls out.
        let (again, welcome) = try await s.availableVolunteer(token: mallory.token)
        let welcomed = (welcome["alerts"] as? [JSON])?.compactMap { ($0["call"] as? JSON)?["id"] as? String } ?? []
        #expect(!welcomed.contains(mine["id"] as! String) && !welcomed.contains(before["id"] as! String))

        // Unblocking: 204, then 404 (nothing left to lift); the volunteer is alerted again.
        #expect(try await s.http(.delete, "/api/v1/blocks/\(mallory.id)", token: other).status == 404)
        #expect(try await s.http(.delete, "/api/v1/blocks/\(mallory.id)", token: s.demoToken).status == 204)
        #expect(try await s.http(.delete, "/api/v1/blocks/\(mallory.id)", token: s.demoToken).status == 404)
        var realerted: Set<String> = []
        while realerted.count < 2 {
            let m = try await again.receive(type: "alert")
            realerted.insert((m["call"] as? JSON)?["id"] as? String ?? "")
        }
        #expect(realerted == [mine["id"] as! String, before["id"] as! String])
        w.close()
        again.close()
    }

    @Test func blocksAndRemovalsSurviveARestart() async throws {
        let s = try await LiveServer.start()
        let mallory = try await s.volunteer("Mallory")
        let rita = try await s.volunteer("Rita")
        #expect(try await s.http(.post, "/api/v1/blocks", token: s.demoToken, json: ["volunteerId": mallory.id]).status == 201)
        let (rw, _) = try await s.availableVolunteer(token: rita.token)
        let removedFrom = try await s.call(title: "Entfernt")["id"] as! String
        _ = try await rw.receive(type: "alert")
        rw.send(["type": "accept", "callId": removedFrom, "requestId": "r"])
        #expect(try await rw.receive(type: "accept_result")["result"] as? String == "confirmed")
        #expect(try await s.http(.post, "/api/v1/calls/\(removedFrom)/confirmations/\(rita.id)/remove", token: s.demoToken).status == 200)
        rw.close()
        try await s.stop()

        let again = try await LiveServer.start(dbPath: s.dbPath, demoToken: s.demoToken)
        defer { Task { try? await again.stop() } }
        let (w, _) = try await again.availableVolunteer(token: mallory.token)
        let (rw2, _) = try await again.availableVolunteer(token: rita.token)
        try await Task.sleep(for: .milliseconds(200))
        let fresh = try await again.call(title: "Nach dem Neustart")["id"] as! String
        #expect(try await w.drain(for: .milliseconds(500)).allSatisfy { $0["type"] as? String != "alert" })
        // Rita is alerted for the new call, never again for the one she was removed from.
        let alerted = try await rw2.drain(for: .milliseconds(500)).filter { $0["type"] as? String == "alert" }
            .compactMap { ($0["call"] as? JSON)?["id"] as? String }
        #expect(alerted == [fresh])
        w.close()
        rw2.close()
    }
}
