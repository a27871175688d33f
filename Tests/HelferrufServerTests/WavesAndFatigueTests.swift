import Foundation
import HelferrufCore
import Testing

/// PROTOCOL.md §7 waves and fatigue limits over real sockets.
@Suite(.serialized) struct WavesAndFatigueTests {
    static let centre = (lat: 50.7753, lon: 6.0839)

    func wavesCall(_ s: LiveServer, needed: Int, radiusKm: Double, maxRadiusKm: Double? = nil, waveSeconds: Int = 60) async throws -> JSON {
        var dispatch: JSON = ["mode": "waves", "waveSeconds": waveSeconds]
        if let maxRadiusKm { dispatch["maxRadiusKm"] = maxRadiusKm }
        let r = try await s.http(.post, "/api/v1/calls", token: s.demoToken, json: [
            "title": "Sandsäcke", "location": ["lat": Self.centre.lat, "lon": Self.centre.lon], "radiusKm": radiusKm,
            "needed": needed, "endsAt": RFC3339.format(Timestamp.now.adding(seconds: 3600)), "dispatch": dispatch,
        ])
        try #require(r.status == 201, "create call: \(r.json)")
        return r.json
    }

    /// Volunteers due north of the call, `km` away each, available and connected.
    func volunteers(_ s: LiveServer, at kms: [Double]) async throws -> [WSProbe] {
        var out: [WSProbe] = []
        for (i, km) in kms.enumerated() {
            let v = try await s.volunteer("V\(i)", maxDistanceKm: 50)
            let (w, _) = try await s.availableVolunteer(token: v.token, lat: Self.centre.lat + km / 111.2, lon: Self.centre.lon)
            out.append(w)
        }
        try await Task.sleep(for: .milliseconds(200))
        return out
    }

    func alerted(_ sockets: [WSProbe]) async throws -> [Int] {
        var out: [Int] = []
        for (i, w) in sockets.enumerated() where try await w.drain(for: .milliseconds(50)).contains(where: { $0["type"] as? String == "alert" }) {
            out.append(i)
        }
        return out
    }

    @Test func wavesAlertTheNearestInBatchesSizedByTheAcceptanceRate() async throws {
        // The server's clock is moved by hand, so the next wave comes exactly when told.
        let clock = TestClock(startingAt: .now)
        let s = try await LiveServer.start(clock: clock)
        defer { Task { try? await s.stop() } }
        // No history: rate 0.3, so one missing helper means waves of ceil(1 / 0.3) = 4.
        let sockets = try await volunteers(s, at: [3.5, 0.5, 2.5, 1.0, 4.5, 1.5])
        let call = try await wavesCall(s, needed: 1, radiusKm: 5, waveSeconds: 60)
        #expect((call["dispatch"] as? JSON)?["acceptanceRate"] as? Double == 0.3)
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await alerted(sockets) == [1, 2, 3, 5])
        // A volunteer who becomes eligible between waves waits for the next one.
        let late = try await volunteers(s, at: [0.2])
        #expect(try await alerted(late) == [])
        clock.advance(minutes: 1)
        try await Task.sleep(for: .milliseconds(400))
        #expect(try await alerted(sockets) == [0, 4])
        #expect(try await alerted(late) == [0])
        let stored = try await s.http(.get, "/api/v1/calls/\(call["id"] as! String)", token: s.demoToken).json
        #expect(stored["waves"] as? Int == 2 && stored["alerted"] as? Int == 7 && stored["radiusKm"] as? Double == 5)
        // welcome.alerts holds the call only for those a wave has alerted.
        for w in sockets + late { w.close() }
    }

    @Test func aWaveThatFindsNobodyWidensTheRadiusForTheNext() async throws {
        let clock = TestClock(startingAt: .now)
        let s = try await LiveServer.start(clock: clock)
        defer { Task { try? await s.stop() } }
        let sockets = try await volunteers(s, at: [1.3, 2.8])
        let call = try await wavesCall(s, needed: 1, radiusKm: 1, maxRadiusKm: 3)
        let empty = try await wavesCall(s, needed: 1, radiusKm: 0.2, maxRadiusKm: 0.5)
        func stored(_ c: JSON) async throws -> JSON { try await s.http(.get, "/api/v1/calls/\(c["id"] as! String)", token: s.demoToken).json }
        // The first wave finds nobody within 1 km: the radius grows to 1.5 km for the next.
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await alerted(sockets) == [])
        var first = try await stored(call)
        #expect(first["reachedRadiusKm"] as? Double == 1.5 && first["waves"] as? Int == 0 && first["radiusKm"] as? Double == 1)
        // The second wave finds the volunteer at 1.3 km, and only them.
        clock.advance(minutes: 1)
        try await Task.sleep(for: .milliseconds(400))
        #expect(try await alerted(sockets) == [0])
        first = try await stored(call)
        #expect(first["reachedRadiusKm"] as? Double == 1.5 && first["waves"] as? Int == 1)
        // Nobody anywhere: one step per wave up to the maximum, then it stays there.
        for _ in 0..<3 {
            clock.advance(minutes: 1)
            try await Task.sleep(for: .milliseconds(300))
        }
        let widened = try await stored(empty)
        #expect(widened["reachedRadiusKm"] as? Double == 0.5 && widened["waves"] as? Int == 0)
        for w in sockets { w.close() }
    }

    @Test func acceptanceRateIsLearntFromTheOrganisationsEndedCalls() async throws {
        let s = try await LiveServer.start()
        defer { Task { try? await s.stop() } }
        var tokens: [String] = []
        var sockets: [WSProbe] = []
        for i in 0..<4 {
            let v = try await s.volunteer("V\(i)")
            let (w, _) = try await s.availableVolunteer(token: v.token)
            tokens.append(v.token)
            sockets.append(w)
        }
        let first = try await s.call(needed: 10)
        let id = first["id"] as! String
        for w in sockets { _ = try await w.receive(type: "alert") }
        for w in sockets.prefix(2) {
            w.send(["type": "accept", "callId": id, "requestId": "r"])
            _ = try await w.receive(type: "accept_result")
        }
        #expect(try await s.http(.post, "/api/v1/calls/\(id)/cancel", token: s.demoToken).status == 200)
        let next = try await wavesCall(s, needed: 1, radiusKm: 5)
        #expect((next["dispatch"] as? JSON)?["acceptanceRate"] as? Double == 0.5)
        for w in sockets { w.close() }
    }

    @Test func dailyLimitDropsAlertsBeyondIt() async throws {
        let s = try await LiveServer.start()
        defer { Task { try? await s.stop() } }
        let v = try await s.volunteer("Limited")
        let patched = try await s.http(.patch, "/api/v1/volunteers/me", token: v.token, json: ["maxAlertsPerDay": 1])
        #expect(patched.status == 200 && patched.json["maxAlertsPerDay"] as? Int == 1 && patched.json["quietHours"] is NSNull)
        for bad: JSON in [["maxAlertsPerDay": 0], ["maxAlertsPerDay": 101], ["maxAlertsPerDay": 1.5], ["quietHours": ["from": "25:00", "to": "07:00"]], ["quietHours": "22-7"]] {
            #expect(try await s.http(.patch, "/api/v1/volunteers/me", token: v.token, json: bad).status == 422)
        }
        let (w, _) = try await s.availableVolunteer(token: v.token)
        let first = try await s.call(title: "Eins")
        #expect((try await w.receive(type: "alert")["call"] as? JSON)?["id"] as? String == first["id"] as? String)
        let second = try await s.call(title: "Zwei")
        #expect(try await w.drain().filter { $0["type"] as? String == "alert" }.isEmpty)
        // Dropped, not held: a new connection does not get it either.
        let again = try await s.ws()
        again.send(["type": "hello", "token": v.token])
        #expect((try await again.receive(type: "welcome")["alerts"] as? [JSON])?.map { $0["id"] as? String } == [first["id"] as? String])
        let stored = try await s.http(.get, "/api/v1/calls/\(second["id"] as! String)", token: s.demoToken).json
        #expect(stored["suppressed"] as? Int == 1 && stored["alerted"] as? Int == 0)
        // Removing the limit lets later calls through.
        #expect(try await s.http(.patch, "/api/v1/volunteers/me", token: v.token, json: ["maxAlertsPerDay": NSNull()]).status == 200)
        let third = try await s.call(title: "Drei")
        #expect((try await w.receive(type: "alert")["call"] as? JSON)?["id"] as? String == third["id"] as? String)
        for x in [w, again] { x.close() }
    }

    /// The alerts a daily limit counts are the hub's memory, not a per-volunteer lookup: they
    /// must survive the volunteer's last socket closing and the server restarting.
    @Test func dailyLimitCountsAcrossReconnectsAndRestarts() async throws {
        let s = try await LiveServer.start()
        let v = try await s.volunteer("Limited")
        #expect(try await s.http(.patch, "/api/v1/volunteers/me", token: v.token, json: ["maxAlertsPerDay": 2]).status == 200)
        let (w, _) = try await s.availableVolunteer(token: v.token)
        let first = try await s.call(title: "Eins")
        #expect((try await w.receive(type: "alert")["call"] as? JSON)?["id"] as? String == first["id"] as? String)
        #expect(try await s.http(.post, "/api/v1/calls/\(first["id"] as! String)/cancel", token: s.demoToken).status == 200)
        w.close()
        try await Task.sleep(for: .milliseconds(200))
        // Back with no socket open in between: one alert of two is left today.
        let (w2, _) = try await s.availableVolunteer(token: v.token)
        let second = try await s.call(title: "Zwei")
        #expect((try await w2.receive(type: "alert")["call"] as? JSON)?["id"] as? String == second["id"] as? String)
        w2.close()
        try await s.stop()

        let restarted = try await LiveServer.start(dbPath: s.dbPath, demoToken: s.demoToken)
        defer { Task { try? await restarted.stop() } }
        // The open call alerted before the restart comes again once the location is known,
        // and does not count a second time.
        let (w3, _) = try await restarted.availableVolunteer(token: v.token)
        #expect((try await w3.receive(type: "alert")["call"] as? JSON)?["id"] as? String == second["id"] as? String)
        let third = try await restarted.call(title: "Drei")
        #expect(try await w3.drain().filter { $0["type"] as? String == "alert" }.isEmpty)
        let stored = try await restarted.http(.get, "/api/v1/calls/\(third["id"] as! String)", token: s.demoToken).json
        #expect(stored["suppressed"] as? Int == 1 && stored["alerted"] as? Int == 0)
        w3.close()
    }

    @Test func quietHoursHoldAlertsUntilTheyEnd() async throws {
        // 23:30 in Berlin (CET).
        let clock = TestClock(startingAt: RFC3339.parse("2026-12-01T22:30:00Z")!)
        let s = try await LiveServer.start(clock: clock)
        defer { Task { try? await s.stop() } }
        let v = try await s.volunteer("Sleepy")
        let patched = try await s.http(.patch, "/api/v1/volunteers/me", token: v.token, json: ["quietHours": ["from": "22:00", "to": "07:00"]])
        #expect((patched.json["quietHours"] as? JSON)?["from"] as? String == "22:00")
        let (w, _) = try await s.availableVolunteer(token: v.token)
        let r = try await s.http(.post, "/api/v1/calls", token: s.demoToken, json: [
            "title": "Nachtschicht", "location": ["lat": 50.7753, "lon": 6.0839], "radiusKm": 5, "needed": 3,
            "endsAt": RFC3339.format(clock.now().adding(seconds: 24 * 3600)),
        ])
        #expect(r.status == 201)
        #expect(try await w.drain().filter { $0["type"] as? String == "alert" }.isEmpty)
        let held = try await s.http(.get, "/api/v1/calls/\(r.json["id"] as! String)", token: s.demoToken).json
        #expect(held["suppressed"] as? Int == 1)
        // 07:30 the next morning: the held alert goes out.
        clock.advance(minutes: 8 * 60)
        let alert = try await w.receive(type: "alert", timeout: .seconds(3))
        #expect((alert["call"] as? JSON)?["id"] as? String == r.json["id"] as? String)
        w.close()
    }
}
