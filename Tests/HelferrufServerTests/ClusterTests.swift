import Foundation
import HelferrufCore
import HelferrufServer
import HelferrufStore
import Testing

/// Three servers on one PostgreSQL database behave as one (PROTOCOL.md §9): what is
/// committed on one node reaches the sockets and dashboards of the others through
/// `LISTEN`/`NOTIFY`. Each test runs three nodes in this process on a database of its own.
@Suite(.serialized, .enabled(if: FreshPostgres.configured, "HELFERRUF_TEST_POSTGRES_URL is not set"))
struct ClusterTests {
    /// Three nodes on `url`; the first creates the Demo organisation, the others share it.
    static func nodes(_ url: String) async throws -> [LiveServer] {
        let raised: (inout ServerConfiguration) -> Void = { $0.limits.registrations = Rate(perSecond: 100, burst: 100) }
        let a = try await LiveServer.start(dbPath: url, configure: raised)
        let b = try await LiveServer.start(dbPath: url, demoToken: a.demoToken, configure: raised)
        let c = try await LiveServer.start(dbPath: url, demoToken: a.demoToken, configure: raised)
        return [a, b, c]
    }

    static func stop(_ nodes: [LiveServer]) async {
        for node in nodes { try? await node.stop() }
    }

    @Test func aCallPostedOnOneNodeAlertsVolunteersOnTheOthersAndTheyFillIt() async throws {
        try await FreshPostgres.withDatabase { url in
            let n = try await Self.nodes(url)
            let vb = try await n[1].volunteer("Auf B"), vc = try await n[2].volunteer("Auf C")
            let (wb, _) = try await n[1].availableVolunteer(token: vb.token)
            let (wc, _) = try await n[2].availableVolunteer(token: vc.token)
            // A dashboard of the organisation on node C.
            let d = try await n[2].ws("/ws/dashboard")
            d.send(["type": "hello", "token": n[0].demoToken])
            _ = try await d.receive(type: "snapshot")
            try await Task.sleep(for: .milliseconds(200))

            let posted = try await n[0].call(needed: 2, title: "Deich")
            let id = try #require(posted["id"] as? String)
            #expect((try await wb.receive(type: "alert")["call"] as? JSON)?["id"] as? String == id)
            #expect((try await wc.receive(type: "alert")["call"] as? JSON)?["id"] as? String == id)

            // B's volunteer accepts on B, C's over HTTP on A: one ledger decides.
            wb.send(["type": "accept", "callId": id, "requestId": "b"])
            #expect(try await wb.receive(type: "accept_result")["result"] as? String == "confirmed")
            let viaA = try await n[0].http(.post, "/api/v1/calls/\(id)/accept", token: vc.token)
            #expect(viaA.json["result"] as? String == "confirmed", "\(viaA)")
            // Both nodes' sockets hear the call fill; the dashboard on C follows.
            for w in [wb, wc] {
                var update: JSON = [:]
                while update["status"] as? String != "filled" { update = try await w.receive(type: "call_update", timeout: .seconds(10)) }
                #expect(update["callId"] as? String == id && update["confirmed"] as? Int == 2)
            }
            var seen: JSON = [:]
            while !(seen["status"] as? String == "filled" && seen["confirmed"] as? Int == 2) {
                let update = try #require(try await d.receive(type: "call", timeout: .seconds(10))["call"] as? JSON)
                if update["id"] as? String == id { seen = update }
            }
            #expect(try await n[1].http(.get, "/api/v1/calls/\(id)", token: n[0].demoToken).json["confirmed"] as? Int == 2)
            for w in [wb, wc, d] { w.close() }
            await Self.stop(n)
        }
    }

    @Test func sixtyAcceptsOverThreeNodesFillExactlyTen() async throws {
        try await FreshPostgres.withDatabase { url in
            let n = try await Self.nodes(url)
            let (id, results) = try await LiveServer.sixtyAcceptsForTen(over: n)
            #expect(results == ["confirmed": 10, "full": 50], "\(results)")
            let confirmations = try await n[2].http(.get, "/api/v1/calls/\(id)/confirmations", token: n[0].demoToken)
            #expect((confirmations.json["confirmations"] as? [JSON])?.count == 10)
            await Self.stop(n)
        }
    }

    /// Notifications sent while a node does not listen are lost: once it listens again it
    /// reads what it missed from the database, and its volunteers get the call posted
    /// meanwhile.
    @Test func aNodeCutOffFromTheDatabaseCatchesUpOnWhatItMissed() async throws {
        try await FreshPostgres.withDatabase { url in
            let a = try await LiveServer.start(dbPath: url)
            var (proxy, proxied) = try await CuttableProxy.inFront(of: url)
            let b = try await LiveServer.start(dbPath: proxied, demoToken: a.demoToken)
            let v = try await b.volunteer("Auf B")
            let (w, _) = try await b.availableVolunteer(token: v.token)

            await proxy.cut()
            let id = try #require(try await a.call(needed: 2)["id"] as? String)
            await #expect(throws: TestFailure.self) { try await w.receive(type: "alert", timeout: .milliseconds(500)) }
            proxy = try await proxy.restarted()
            defer { proxy.kill() }
            #expect((try await w.receive(type: "alert", timeout: .seconds(20))["call"] as? JSON)?["id"] as? String == id)
            w.close()
            try? await b.stop()
            try? await a.stop()
        }
    }

    /// `/reach` on one node counts the volunteers connected to every node (each node tells
    /// the others it is alive every second; the first answers may take that long).
    @Test func reachCountsTheVolunteersOfEveryNode() async throws {
        try await FreshPostgres.withDatabase { url in
            let n = try await Self.nodes(url)
            var sockets: [WSProbe] = []
            for node in n {
                let v = try await node.volunteer("Hier")
                sockets.append(try await node.availableVolunteer(token: v.token).0)
            }
            let path = "/api/v1/reach?lat=50.7753&lon=6.0839&radiusKm=5"
            var reach: JSON = [:]
            for _ in 0..<100 where reach["available"] as? Int != 3 {
                reach = try await n[0].http(.get, path, token: n[0].demoToken).json
                if reach["available"] as? Int != 3 { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(reach["available"] as? Int == 3 && reach["connected"] as? Int == 3, "\(reach)")
            // Skills are asked of every node too.
            #expect(try await n[1].http(.get, path + "&skills=boot", token: n[0].demoToken).json["available"] as? Int == 0)
            for w in sockets { w.close() }
            await Self.stop(n)
        }
    }

    /// A block made on one node keeps every node from alerting the volunteer for the
    /// organisation's calls (§11); lifted, the volunteer is alerted again.
    @Test func aBlockOnOneNodeHoldsOnTheOthers() async throws {
        try await FreshPostgres.withDatabase { url in
            let n = try await Self.nodes(url)
            let v = try await n[2].volunteer("Gesperrt")
            let (w, _) = try await n[2].availableVolunteer(token: v.token)
            #expect(try await n[0].http(.post, "/api/v1/blocks", token: n[0].demoToken, json: ["volunteerId": v.id]).status == 201)
            let id = try #require(try await n[1].call(needed: 2)["id"] as? String)
            await #expect(throws: TestFailure.self) { try await w.receive(type: "alert", timeout: .seconds(1)) }
            #expect(try await n[0].httpText(.delete, "/api/v1/blocks/\(v.id)", token: n[0].demoToken).status == 204)
            #expect((try await w.receive(type: "alert", timeout: .seconds(10))["call"] as? JSON)?["id"] as? String == id)
            w.close()
            await Self.stop(n)
        }
    }

    /// A volunteer who subscribes on one node after every node started is pushed for a call
    /// posted on another: the subscription is announced, the others read it.
    @Test func aSubscriptionMadeOnOneNodeIsPushedByAnother() async throws {
        try await FreshPostgres.withDatabase { url in
            let gateway = RecordingGateway()
            let a = try await LiveServer.start(gateway: gateway, dbPath: url)
            let bGateway = RecordingGateway()
            let b = try await LiveServer.start(gateway: bGateway, dbPath: url, demoToken: a.demoToken)
            _ = try await b.pushVolunteer()
            var jobs: [PushJob] = []
            // The announcement is on its way while the call is posted: try a few calls.
            for _ in 0..<20 where jobs.isEmpty {
                let id = try #require(try await a.call()["id"] as? String)
                jobs = (try? await gateway.wait(for: 1, timeout: .milliseconds(500))) ?? []
                if jobs.isEmpty { _ = try await a.http(.post, "/api/v1/calls/\(id)/cancel", token: a.demoToken) }
            }
            #expect(jobs.map(\.endpoint) == [PushFixture.endpoint()])
            // The calls were learnt on B: their pushes are A's alone.
            #expect(bGateway.jobs.isEmpty)
            try? await b.stop()
            try? await a.stop()
        }
    }

    /// A push-reachable volunteer with a tab open on another node is alerted on that tab
    /// and not pushed by the node the call was posted on (§8: a push only without an open
    /// connection); once the tab is closed, that node pushes them.
    @Test func aVolunteerWithATabOnAnotherNodeIsAlertedThereAndNotPushed() async throws {
        try await FreshPostgres.withDatabase { url in
            let gateway = RecordingGateway()
            let a = try await LiveServer.start(gateway: gateway, dbPath: url)
            let b = try await LiveServer.start(dbPath: url, demoToken: a.demoToken)
            let v = try await b.pushVolunteer()
            let (w, _) = try await b.availableVolunteer(token: v.token, lat: PushFixture.area.lat, lon: PushFixture.area.lon)
            // Heartbeats, the subscription's and the tab's announcements reach A.
            try await Task.sleep(for: .milliseconds(2500))
            // Push-reachable and on a socket of B: counted once, by B.
            let reach = try await a.http(.get, "/api/v1/reach?lat=50.7753&lon=6.0839&radiusKm=5", token: a.demoToken).json
            #expect(reach["available"] as? Int == 1 && reach["connected"] as? Int == 1, "\(reach)")
            let first = try #require(try await a.call()["id"] as? String)
            #expect((try await w.receive(type: "alert")["call"] as? JSON)?["id"] as? String == first)
            try await Task.sleep(for: .seconds(1))
            #expect(gateway.jobs.isEmpty)

            w.close()
            try await Task.sleep(for: .seconds(1))
            let second = try #require(try await a.call()["id"] as? String)
            let jobs = try await gateway.wait(for: 1)
            #expect(jobs.map { $0.json["callId"] as? String } == [second])
            try? await b.stop()
            try? await a.stop()
        }
    }

    /// A volunteer's availability is shared by their tabs on every node: unavailable on one
    /// tab, neither tab is alerted; available again on the other, both are.
    @Test func availabilitySetOnOneTabHoldsForTheTabsOnOtherNodes() async throws {
        try await FreshPostgres.withDatabase { url in
            let n = try await Self.nodes(url)
            let v = try await n[1].volunteer("Zwei Tabs")
            let (wb, _) = try await n[1].availableVolunteer(token: v.token)
            let (wc, _) = try await n[2].availableVolunteer(token: v.token)
            // Each tab's own "available" has gone round before the change (the last one counts).
            try await Task.sleep(for: .seconds(1))
            wb.send(["type": "availability", "status": "unavailable"])
            try await Task.sleep(for: .seconds(1))
            let id = try #require(try await n[0].call(needed: 2)["id"] as? String)
            for w in [wb, wc] { await #expect(throws: TestFailure.self) { try await w.receive(type: "alert", timeout: .seconds(1)) } }
            wc.send(["type": "availability", "status": "available"])
            for w in [wb, wc] { #expect((try await w.receive(type: "alert", timeout: .seconds(10))["call"] as? JSON)?["id"] as? String == id) }
            for w in [wb, wc] { w.close() }
            await Self.stop(n)
        }
    }

    @Test func aCancelOnOneNodeRetractsTheAlertsOfTheOthers() async throws {
        try await FreshPostgres.withDatabase { url in
            let n = try await Self.nodes(url)
            let v = try await n[2].volunteer("Auf C")
            let (w, _) = try await n[2].availableVolunteer(token: v.token)
            try await Task.sleep(for: .milliseconds(200))
            let id = try #require(try await n[0].call(needed: 3)["id"] as? String)
            _ = try await w.receive(type: "alert")
            #expect(try await n[1].http(.post, "/api/v1/calls/\(id)/cancel", token: n[0].demoToken).status == 200)
            var update: JSON = [:]
            while update["status"] as? String != "cancelled" { update = try await w.receive(type: "call_update", timeout: .seconds(10)) }
            #expect(update["callId"] as? String == id)
            w.close()
            await Self.stop(n)
        }
    }
}
