import Foundation
import HelferrufCore
import Testing

@Suite(.serialized) struct DashboardSocketTests {
    @Test func snapshotThenCoalescedUpdatesWithCurrentFigures() async throws {
        let s = try await LiveServer.start()
        defer { Task { try? await s.stop() } }
        let existing = try await s.call(title: "Vorher")
        let d = try await s.ws("/ws/dashboard")
        d.send(["type": "hello", "token": s.demoToken])
        let snapshot = try await d.receive(type: "snapshot")
        #expect((snapshot["calls"] as? [JSON])?.map { $0["id"] as? String } == [existing["id"] as? String])

        var sockets: [WSProbe] = []
        for i in 0..<5 {
            let v = try await s.volunteer("V\(i)")
            sockets.append(try await s.availableVolunteer(token: v.token).0)
        }
        try await Task.sleep(for: .milliseconds(1100))
        _ = try await d.drain(for: .milliseconds(10))
        let started = ContinuousClock.now
        let call = try await s.call(needed: 40)
        let id = call["id"] as! String
        for w in sockets {
            _ = try await w.receive(type: "alert")
            w.send(["type": "accept", "callId": id])
        }
        for w in sockets { _ = try await w.receive(type: "accept_result") }
        // Collect updates for this call for a little over a second.
        var updates: [(Duration, JSON)] = []
        while ContinuousClock.now - started < .milliseconds(2500) {
            for m in try await d.drain(for: .milliseconds(50)) where (m["call"] as? JSON)?["id"] as? String == id {
                updates.append((ContinuousClock.now - started, m["call"] as! JSON))
            }
        }
        let last = try #require(updates.last?.1)
        #expect(last["confirmed"] as? Int == 5 && last["alerted"] as? Int == 5 && last["status"] as? String == "open")
        // At most one update per call per second (receipt times jitter on a loaded machine,
        // so the spacing is checked with a margin and the count over the whole window).
        for (a, b) in zip(updates, updates.dropFirst()) {
            #expect(b.0 - a.0 >= .milliseconds(250), "updates \(a.0) and \(b.0) too close")
        }
        #expect(updates.count <= 4)
        for w in sockets { w.close() }
    }

    @Test func dashboardHelloRules() async throws {
        // Long enough that a malformed hello is answered before it even under a sanitizer
        // with every test running at once (CI's ThreadSanitizer run saw 4408 at 400 ms).
        let s = try await LiveServer.start { $0.helloTimeout = .seconds(2) }
        defer { Task { try? await s.stop() } }
        let v = try await s.volunteer()
        let volunteerToken = try await s.ws("/ws/dashboard")
        volunteerToken.send(["type": "hello", "token": v.token])
        #expect(try await volunteerToken.closeCode() == 4401)
        let noHello = try await s.ws("/ws/dashboard")
        #expect(try await noHello.closeCode() == 4408)
        let bad = try await s.ws("/ws/dashboard")
        bad.send(text: "{}")
        #expect(try await bad.closeCode() == 4400)
        let other = try s.store.createOrganisation(name: "Other", now: .now).token
        let call = try await s.call()
        let d = try await s.ws("/ws/dashboard")
        d.send(["type": "hello", "token": other])
        #expect((try await d.receive(type: "snapshot")["calls"] as? [Any])?.isEmpty == true)
        _ = try await s.http(.post, "/api/v1/calls/\(call["id"] as! String)/cancel", token: s.demoToken)
        #expect(try await d.drain(for: .milliseconds(1200)).isEmpty)
        d.send(["type": "hello", "token": other])
        #expect(try await d.receive(type: "error")["code"] as? String == "unknown_type")
        d.close()
    }
}
