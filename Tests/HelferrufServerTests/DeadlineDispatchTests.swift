import Foundation
import HelferrufCore
import HelferrufServer
import Testing

/// PROTOCOL.md §10 deadline-aware dispatch over real sockets, with the server's clock moved
/// by hand so that planning steps and the deadline come exactly when told.
@Suite(.serialized) struct DeadlineDispatchTests {
    static let centre = (lat: 50.7753, lon: 6.0839)

    func deadlineCall(_ s: LiveServer, clock: TestClock?, needed: Int, fillByMinutes: Double, extra: JSON = [:]) async throws -> (status: Int, json: JSON) {
        let now = clock?.now() ?? .now
        var dispatch: JSON = ["mode": "deadline", "fillBy": RFC3339.format(now.adding(seconds: fillByMinutes * 60))]
        dispatch.merge(extra) { $1 }
        return try await s.http(.post, "/api/v1/calls", token: s.demoToken, json: [
            "title": "Deiche sichern", "location": ["lat": Self.centre.lat, "lon": Self.centre.lon], "radiusKm": 5,
            "needed": needed, "endsAt": RFC3339.format(now.adding(seconds: 3600)), "dispatch": dispatch,
        ])
    }

    /// Volunteers due north of the call, `km` away each, available and connected; returns
    /// once the server counts them all (and `alreadyThere` more) as available.
    func volunteers(_ s: LiveServer, at kms: [Double], alreadyThere: Int = 0) async throws -> [WSProbe] {
        var out: [WSProbe] = []
        for (i, km) in kms.enumerated() {
            let v = try await s.volunteer("V\(i)", maxDistanceKm: 50)
            let (w, _) = try await s.availableVolunteer(token: v.token, lat: Self.centre.lat + km / 111.2, lon: Self.centre.lon)
            out.append(w)
        }
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            let reach = try await s.http(.get, "/api/v1/reach?lat=\(Self.centre.lat)&lon=\(Self.centre.lon)&radiusKm=50", token: s.demoToken)
            if reach.json["available"] as? Int == kms.count + alreadyThere { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        return out
    }

    /// The sockets that received an alert: collected until at least `count` have (or 10 s
    /// passed), then for a moment more, so that any extra alert shows too.
    func alerted(_ sockets: [WSProbe], atLeast count: Int = 0) async throws -> [Int] {
        var got = Set<Int>()
        func collect() async throws {
            for (i, w) in sockets.enumerated() where try await w.drain(for: .zero).contains(where: { $0["type"] as? String == "alert" }) {
                got.insert(i)
            }
        }
        let deadline = ContinuousClock.now + .seconds(10)
        while got.count < count, ContinuousClock.now < deadline {
            try await collect()
            try await Task.sleep(for: .milliseconds(20))
        }
        try await Task.sleep(for: .milliseconds(300))
        try await collect()
        return got.sorted()
    }

    func stored(_ s: LiveServer, _ id: String) async throws -> JSON {
        try await s.http(.get, "/api/v1/calls/\(id)", token: s.demoToken).json
    }

    @Test func aDeadlineCallAlertsFewFirstThenMoreWhenNobodyAnswersThenEveryoneAtTheDeadline() async throws {
        let clock = TestClock(startingAt: .now)
        // Thirty registrations from loopback: more than the default burst of 20 (§11).
        let s = try await LiveServer.start(clock: clock) { $0.limits.registrations = Rate(perSecond: 100, burst: 100) }
        defer { Task { try? await s.stop() } }
        let sockets = try await volunteers(s, at: (0..<30).map { 0.1 + Double($0) * 0.15 })
        let r = try await deadlineCall(s, clock: clock, needed: 2, fillByMinutes: 15)
        try #require(r.status == 201, "\(r.json)")
        let id = r.json["id"] as! String
        let dispatch = try #require(r.json["dispatch"] as? JSON)
        #expect(dispatch["mode"] as? String == "deadline" && dispatch["confidence"] as? Double == 0.95)
        #expect(dispatch["acceptanceRate"] as? Double == 0.3 && dispatch["medianDelaySeconds"] as? Double == 75 && dispatch["delaySigma"] as? Double == 0.8)
        #expect(r.json["fillBy"] as? String == dispatch["fillBy"] as? String)
        // No history: p = 0.3 and 15 minutes of time, so 14 alerts give P(≥ 2 accepts) ≥ 0.95.
        let expectedFirst = DeadlinePlanner.plan(
            DeadlineSituation(secondsLeft: 900, remaining: 2, pendingSeconds: [], available: 30, confidence: 0.95), model: DeadlineModel()).alertNow
        let first = try await alerted(sockets, atLeast: expectedFirst)
        // The nearest, and far fewer than everyone.
        #expect(first == Array(0..<expectedFirst) && first.count < 30)
        var call = try await stored(s, id)
        #expect(call["alerted"] as? Int == expectedFirst)
        let plan = try #require(call["plan"] as? JSON)
        #expect(plan["onTrack"] as? Bool == true && (plan["expected"] as? Double ?? 0) >= 2 && plan["lastAlerted"] as? Int == expectedFirst)
        // Five minutes of silence: the alerted are now unlikely to answer, so more go out.
        clock.advance(minutes: 5)
        let second = try await alerted(sockets, atLeast: 1)
        #expect(!second.isEmpty && Set(second).isDisjoint(with: first))
        call = try await stored(s, id)
        #expect((call["alerted"] as? Int ?? 0) > expectedFirst)
        // At fillBy everyone left is alerted, and so is a volunteer who turns up later.
        clock.advance(minutes: 10)
        let third = try await alerted(sockets, atLeast: 30 - first.count - second.count)
        #expect(Set(first + second + third) == Set(sockets.indices))
        let late = try await volunteers(s, at: [0.05], alreadyThere: 30)
        #expect(try await alerted(late, atLeast: 1) == [0])
        call = try await stored(s, id)
        #expect(call["alerted"] as? Int == 31 && (call["plan"] as? JSON)?["onTrack"] as? Bool == false)
        for w in sockets + late { w.close() }
    }

    @Test func theNearestAreAlertedFirstAndAnAnswerTriggersARePlan() async throws {
        let clock = TestClock(startingAt: .now)
        let s = try await LiveServer.start(clock: clock)
        defer { Task { try? await s.stop() } }
        // Ten near, ten far; one helper needed within 10 minutes: the near ones suffice.
        let near: [Double] = (0..<10).map { 0.2 + Double($0) * 0.1 }
        let far: [Double] = (0..<10).map { 4.0 + Double($0) * 0.05 }
        let sockets = try await volunteers(s, at: near + far)
        let r = try await deadlineCall(s, clock: clock, needed: 1, fillByMinutes: 10)
        try #require(r.status == 201, "\(r.json)")
        let id = r.json["id"] as! String
        let expectedFirst = DeadlinePlanner.plan(
            DeadlineSituation(secondsLeft: 600, remaining: 1, pendingSeconds: [], available: 20, confidence: 0.95), model: DeadlineModel()).alertNow
        let first = try await alerted(sockets, atLeast: expectedFirst)
        #expect(first == Array(0..<expectedFirst) && expectedFirst < 10)
        // Declines are answers: the planner no longer counts on those volunteers.
        for i in first { sockets[i].send(["type": "decline", "callId": id]) }
        let after = try await alerted(sockets, atLeast: 1)
        #expect(!after.isEmpty && Set(after).isDisjoint(with: first))
        // An accept fills the call: the plan is met and nobody else is alerted.
        let helper = try #require(after.first)
        sockets[helper].send(["type": "accept", "callId": id, "requestId": "a"])
        #expect(try await sockets[helper].receive(type: "accept_result")["result"] as? String == "confirmed")
        let call = try await stored(s, id)
        let plan = call["plan"] as? JSON
        #expect(call["status"] as? String == "filled" && plan?["onTrack"] as? Bool == true && plan?["expected"] as? Double == 1)
        clock.advance(minutes: 11)
        #expect(try await alerted(sockets).isEmpty)
        for w in sockets { w.close() }
    }

    @Test func theModelIsLearntFromTheOrganisationsEndedCalls() async throws {
        let s = try await LiveServer.start()
        defer { Task { try? await s.stop() } }
        // Twelve volunteers, ten of whom accept a broadcast call within a moment of its alert.
        let sockets = try await volunteers(s, at: (0..<12).map { 0.2 + Double($0) * 0.1 })
        let first = try await s.call(needed: 20)
        let id = first["id"] as! String
        for w in sockets { _ = try await w.receive(type: "alert") }
        for w in sockets.prefix(10) {
            w.send(["type": "accept", "callId": id, "requestId": "r"])
            #expect(try await w.receive(type: "accept_result")["result"] as? String == "confirmed")
        }
        // Before the call has ended there is nothing to learn from: the defaults.
        var r = try await deadlineCall(s, clock: nil, needed: 2, fillByMinutes: 20)
        var dispatch = r.json["dispatch"] as? JSON
        #expect(dispatch?["acceptanceRate"] as? Double == 0.3 && dispatch?["medianDelaySeconds"] as? Double == 75 && dispatch?["delaySigma"] as? Double == 0.8)
        #expect(try await s.http(.post, "/api/v1/calls/\(id)/cancel", token: s.demoToken).status == 200)
        #expect(try await s.http(.post, "/api/v1/calls/\(r.json["id"] as! String)/cancel", token: s.demoToken).status == 200)
        // Ten accepts over the alerts of both ended calls (the deadline call alerted the twelve,
        // who did not answer), each well under a second after its alert: the median is held
        // at its lower clamp.
        let alertedBefore = try await stored(s, id)["alerted"] as? Int ?? 0
        let alertedDeadline = try await stored(s, r.json["id"] as! String)["alerted"] as? Int ?? 0
        #expect(alertedBefore == 12 && alertedDeadline == 12)
        r = try await deadlineCall(s, clock: nil, needed: 2, fillByMinutes: 20)
        dispatch = r.json["dispatch"] as? JSON
        #expect(dispatch?["acceptanceRate"] as? Double == Waves.acceptanceRate(accepted: 10, alerted: alertedBefore + alertedDeadline))
        #expect(dispatch?["medianDelaySeconds"] as? Double == DelayModel.medianRange.lowerBound)
        #expect((dispatch?["delaySigma"] as? Double ?? 0) >= DelayModel.sigmaRange.lowerBound)
        for w in sockets { w.close() }
    }

    @Test func badDeadlineInputIsRefusedWithTheField() async throws {
        let s = try await LiveServer.start()
        defer { Task { try? await s.stop() } }
        let past = RFC3339.format(Timestamp.now.adding(seconds: -60))
        let afterEnd = RFC3339.format(Timestamp.now.adding(seconds: 7200))
        var cases: [(JSON, String)] = []
        cases.append((["fillBy": NSNull()], "dispatch.fillBy"))
        cases.append((["fillBy": "tomorrow"], "dispatch.fillBy"))
        cases.append((["fillBy": past], "dispatch.fillBy"))
        cases.append((["fillBy": afterEnd], "dispatch.fillBy"))
        cases.append((["confidence": 0.3], "dispatch.confidence"))
        cases.append((["confidence": 1], "dispatch.confidence"))
        cases.append((["confidence": 1e308], "dispatch.confidence"))
        cases.append((["confidence": "high"], "dispatch.confidence"))
        cases.append((["maxRadiusKm": 1], "dispatch.maxRadiusKm"))
        cases.append((["mode": "sometime"], "dispatch.mode"))
        for (extra, field) in cases {
            let r = try await deadlineCall(s, clock: nil, needed: 3, fillByMinutes: 10, extra: extra)
            #expect(r.status == 422, "\(extra)")
            #expect((r.json["error"] as? JSON)?["field"] as? String == field, "\(extra): \(r.json)")
        }
        // fillBy may be endsAt itself; a given confidence and radius come back as posted.
        let ok = try await deadlineCall(s, clock: nil, needed: 3, fillByMinutes: 60, extra: ["confidence": 0.8, "maxRadiusKm": 9])
        #expect(ok.status == 201)
        let dispatch = ok.json["dispatch"] as? JSON
        #expect(dispatch?["confidence"] as? Double == 0.8 && dispatch?["maxRadiusKm"] as? Double == 9 && ok.json["fillBy"] as? String == ok.json["endsAt"] as? String)
        // Other modes carry fillBy and plan as null.
        let plain = try await s.call()
        #expect(plain["fillBy"] is NSNull && plain["plan"] is NSNull)
    }

    @Test func aDeadlineCallSurvivesARestartWithItsModel() async throws {
        let s = try await LiveServer.start()
        let r = try await deadlineCall(s, clock: nil, needed: 3, fillByMinutes: 20, extra: ["confidence": 0.9])
        try #require(r.status == 201)
        let id = r.json["id"] as! String
        try await s.stop()
        let again = try await LiveServer.start(dbPath: s.dbPath, demoToken: s.demoToken)
        defer { Task { try? await again.stop() } }
        let call = try await stored(again, id)
        let dispatch = call["dispatch"] as? JSON
        #expect(dispatch?["mode"] as? String == "deadline" && dispatch?["confidence"] as? Double == 0.9)
        #expect(call["fillBy"] as? String == r.json["fillBy"] as? String && dispatch?["medianDelaySeconds"] as? Double == 75)
        #expect(call["plan"] is JSON)
    }
}
