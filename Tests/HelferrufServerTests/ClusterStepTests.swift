import Foundation
import HelferrufCore
import Testing

/// The steps of `waves` calls over several nodes (PROTOCOL.md §9): exactly one node drives
/// each call, over the volunteers of every node, and another takes over when it stops.
@Suite(.serialized, .enabled(if: FreshPostgres.configured, "HELFERRUF_TEST_POSTGRES_URL is not set"))
struct ClusterStepTests {
    static let centre = (lat: 50.7753, lon: 6.0839)

    /// Volunteers due north of the centre, `km` away each, the i-th on `nodes[i % count]`.
    private func volunteers(on nodes: [LiveServer], at kms: [Double]) async throws -> [WSProbe] {
        var out: [WSProbe] = []
        for (i, km) in kms.enumerated() {
            let node = nodes[i % nodes.count]
            let v = try await node.volunteer("V\(i)", maxDistanceKm: 50)
            out.append(try await node.availableVolunteer(token: v.token, lat: Self.centre.lat + km / 111.2, lon: Self.centre.lon).0)
        }
        // Every node has heard every other's heartbeat (one a second) before a call is posted.
        try await Task.sleep(for: .milliseconds(2500))
        return out
    }

    private func wavesCall(_ s: LiveServer, needed: Int) async throws -> String {
        let r = try await s.http(.post, "/api/v1/calls", token: s.demoToken, json: [
            "title": "Sandsäcke", "location": ["lat": Self.centre.lat, "lon": Self.centre.lon], "radiusKm": 5, "needed": needed,
            "endsAt": RFC3339.format(Timestamp.now.adding(seconds: 3600)), "dispatch": ["mode": "waves", "waveSeconds": 60],
        ])
        try #require(r.status == 201, "create call: \(r.json)")
        return try #require(r.json["id"] as? String)
    }

    private func alerted(_ sockets: [WSProbe]) async throws -> [Int] {
        var out: [Int] = []
        for (i, w) in sockets.enumerated() where try await w.drain(for: .milliseconds(50)).contains(where: { $0["type"] as? String == "alert" }) {
            out.append(i)
        }
        return out
    }

    /// One missing helper at the rate of 0.3 makes waves of four: the four nearest of the
    /// six volunteers spread over three nodes, not four per node.
    @Test func oneNodeDrivesTheWavesOverTheVolunteersOfEveryNode() async throws {
        try await FreshPostgres.withDatabase { url in
            let n = try await ClusterTests.nodes(url)
            let sockets = try await volunteers(on: n, at: [3.5, 0.5, 2.5, 1.0, 4.5, 1.5])
            let id = try await wavesCall(n[0], needed: 1)
            try await Task.sleep(for: .milliseconds(1500))
            #expect(try await alerted(sockets) == [1, 2, 3, 5])
            let stored = try await n[2].http(.get, "/api/v1/calls/\(id)", token: n[0].demoToken).json
            #expect(stored["waves"] as? Int == 1 && stored["alerted"] as? Int == 4, "\(stored)")
            for w in sockets { w.close() }
            await ClusterTests.stop(n)
        }
    }

    /// The node a waves call was posted on stops: within the lease's seconds another node
    /// drives the call and runs its next wave at once, to those not alerted yet.
    @Test func anotherNodeTakesOverTheWavesOfANodeThatStopped() async throws {
        try await FreshPostgres.withDatabase { url in
            let n = try await ClusterTests.nodes(url)
            let sockets = try await volunteers(on: Array(n[1...]), at: [0.5, 1.0, 1.5, 2.0, 2.5, 3.0])
            _ = try await wavesCall(n[0], needed: 1)
            try await Task.sleep(for: .milliseconds(1500))
            #expect(try await alerted(sockets) == [0, 1, 2, 3])
            let stopped = ContinuousClock.now
            try await n[0].stop()
            for w in sockets[4...] { _ = try await w.receive(type: "alert", timeout: .seconds(20)) }
            // The contract's 10 s, with the next heartbeat's second and this machine's load.
            #expect(ContinuousClock.now - stopped < .seconds(12))
            #expect(try await alerted(Array(sockets[..<4])) == [])
            for w in sockets { w.close() }
            await ClusterTests.stop(Array(n[1...]))
        }
    }

    /// A deadline call posted on one node: its planner there picks over every node's
    /// volunteers, and from `fillBy` on every node alerts everyone eligible on its own. The
    /// late volunteer arrives on C after the planner's first step; the driving node's step at
    /// `fillBy` alerts only its own sockets, so only C's own `fillBy` reaches them.
    @Test func fromFillByEveryNodeAlertsEveryoneEligible() async throws {
        try await FreshPostgres.withDatabase { url in
            let n = try await ClusterTests.nodes(url)
            let sockets = try await volunteers(on: Array(n[1...]), at: [0.5, 1.0, 1.5, 2.0, 2.5, 3.0])
            let fillBy = Timestamp.now.adding(seconds: 5)
            let r = try await n[0].http(.post, "/api/v1/calls", token: n[0].demoToken, json: [
                "title": "Deiche", "location": ["lat": Self.centre.lat, "lon": Self.centre.lon], "radiusKm": 5, "needed": 8,
                "endsAt": RFC3339.format(Timestamp.now.adding(seconds: 3600)), "dispatch": ["mode": "deadline", "fillBy": RFC3339.format(fillBy)],
            ])
            try #require(r.status == 201, "create call: \(r.json)")
            let id = try #require(r.json["id"] as? String)
            try await Task.sleep(for: .seconds(1))
            let late = try await n[2].volunteer("Spät", maxDistanceKm: 50)
            let (w, _) = try await n[2].availableVolunteer(token: late.token, lat: Self.centre.lat + 0.2 / 111.2, lon: Self.centre.lon)
            let alert = try await w.receive(type: "alert", timeout: .seconds(15))
            #expect((alert["call"] as? JSON)?["id"] as? String == id)
            #expect(Timestamp.now >= fillBy.adding(millis: -500), "alerted before fillBy: the planner, not fillBy, reached them")
            for s in sockets { _ = try await s.receive(type: "alert", timeout: .seconds(15)) }
            let stored = try await n[1].http(.get, "/api/v1/calls/\(id)", token: n[0].demoToken).json
            #expect((stored["plan"] as? JSON)?["expected"] != nil, "\(stored)")
            for s in sockets + [w] { s.close() }
            await ClusterTests.stop(n)
        }
    }
}
