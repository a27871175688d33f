import Foundation
import HelferrufCore
import Testing
@testable import HelferrufStore

/// What a committed batch tells the other nodes (PROTOCOL.md §9), and the notification
/// payloads that carry it: small whatever the batch, and read like any other input.
struct ClusterEventTests {
    private func call(_ id: String = "c1") -> Call {
        Call(
            id: id, orgId: "o", orgName: "Test", title: "Sandsäcke", description: "", address: "",
            location: GeoPoint(lat: 50.9, lon: 6.9), radiusKm: 5, needed: 3, skills: [],
            startsAt: .testNow, endsAt: Timestamp.testNow.adding(millis: 3_600_000), createdAt: .testNow)
    }

    private func outcome(
        _ change: RosterChange, _ result: RosterOutcome.Result = .done, call: Call? = nil, changed: Bool = true,
        promoted: [String] = [], message: CallMessage? = nil, recipients: [String] = []
    ) -> RosterOutcome {
        RosterOutcome(
            change: change, result: result, call: call ?? self.call(), statusChanged: false, changed: changed, promoted: promoted,
            message: message, recipients: recipients)
    }

    @Test func aBatchNamesWhatChangedAndEachCallOnceAtTheEnd() {
        let message = CallMessage(id: "m1", callId: "c1", kind: .organisation, text: "Gummistiefel", at: .testNow)
        let events = ClusterEvent.events(of: [
            outcome(.createCall(call("c2")), call: call("c2")),
            outcome(.accept(callId: "c1", volunteerId: "v1", eligible: true), .answer(.confirmed)),
            outcome(.decline(callId: "c1", volunteerId: "v2")),
            outcome(.withdraw(callId: "c1", volunteerId: "v1"), .answer(.withdrawn), promoted: ["v3"]),
            outcome(.postMessage(callId: "c1", orgId: "o", text: "Gummistiefel"), changed: false, message: message, recipients: ["v3"]),
            outcome(.remove(callId: "c1", orgId: "o", volunteerId: "v3")),
            // Nothing to tell: refused, not committed, or unchanged.
            outcome(.accept(callId: "c1", volunteerId: "v4", eligible: true), .unavailable),
            outcome(.decline(callId: "c1", volunteerId: "v5"), .notFound, changed: false),
            outcome(.funnel(callId: "c3", volunteerId: "v6", stage: .received), call: call("c3"), changed: false),
        ])
        #expect(events == [
            ClusterEvent(.created, callId: "c2"),
            ClusterEvent(.declined, callId: "c1", volunteers: ["v2"]),
            ClusterEvent(.promoted, callId: "c1", volunteers: ["v3"]),
            ClusterEvent(.message, callId: "c1", volunteers: ["v3"], messageId: "m1"),
            ClusterEvent(.removed, callId: "c1", volunteers: ["v3"]),
            ClusterEvent(.changed, callId: "c1"),
        ])
    }

    /// Accepts and withdrawals reach the planner of a deadline call on its driving node;
    /// those of other calls need nothing beyond `changed`.
    @Test func answersToADeadlineCallAreNamed() {
        var deadline = call("d1")
        deadline.dispatch = .deadline(fillBy: Timestamp.testNow.adding(millis: 600_000), confidence: 0.9, maxRadiusKm: 10)
        let events = ClusterEvent.events(of: [
            outcome(.accept(callId: "d1", volunteerId: "v1", eligible: true), .answer(.confirmed), call: deadline),
            outcome(.accept(callId: "d1", volunteerId: "v2", eligible: true), .answer(.full), call: deadline, changed: false),
            outcome(.withdraw(callId: "d1", volunteerId: "v3"), .answer(.withdrawn), call: deadline),
            outcome(.accept(callId: "d1", volunteerId: "v4", eligible: true), .unavailable, call: deadline),
            outcome(.accept(callId: "c1", volunteerId: "v5", eligible: true), .answer(.confirmed)),
        ])
        #expect(events == [
            ClusterEvent(.answered, callId: "d1", volunteers: ["v1", "v2", "v3"]),
            ClusterEvent(.changed, callId: "d1"),
            ClusterEvent(.changed, callId: "c1"),
        ])
    }

    @Test func longListsAndBigBatchesStayUnderTheNotificationLimit() throws {
        let promoted = (0..<1000).map { "volunteer-\($0)-\(UUID().uuidString)" }
        var outcomes = [outcome(.withdraw(callId: "c1", volunteerId: "v"), .answer(.withdrawn), promoted: promoted)]
        for i in 0..<256 { outcomes.append(outcome(.recordAlerts(callId: "c\(i)", volunteerIds: ["v"]), call: call("c\(i)"))) }
        let events = ClusterEvent.events(of: outcomes)
        #expect(events.filter { $0.kind == .promoted }.flatMap(\.volunteers) == promoted)
        let payloads = ClusterNotice.payloads(node: "node-a", events)
        #expect(payloads.count > 1)
        #expect(payloads.allSatisfy { $0.utf8.count < 7000 })
        // Read back, in order, nothing lost.
        let decoded = try payloads.map { try #require(ClusterNotice.decode($0)) }
        #expect(decoded.allSatisfy { $0.node == "node-a" })
        #expect(decoded.flatMap(\.events) == events)
    }

    @Test func heartbeatsBlocksAndReachTravelInNotices() throws {
        #expect(ClusterNotice.decode(#"{"n":"a"}"#) == ClusterNotice(node: "a"))
        #expect(ClusterNotice(node: "a").payload == #"{"n":"a"}"#)
        let notices = [
            ClusterNotice(node: "a", blocks: [BlockChange(orgId: "o", volunteerId: "v", blocked: true)]),
            ClusterNotice(node: "a", reach: ReachQuery(id: "q", lat: 50.77, lon: 6.08, radiusKm: 5, skills: ["boot"], orgId: "o")),
            ClusterNotice(node: "b", reached: ReachAnswer(id: "q", to: "a", available: 3, connected: 4)),
            ClusterNotice(node: "a", candidates: CandidateQuery(id: "s", callId: "c1", reachedRadiusKm: 7.5, limit: 4)),
            ClusterNotice(node: "b", offered: CandidateAnswer(id: "s", to: "a", available: 9, nearest: [Candidate(volunteerId: "v", distanceKm: 1.25)])),
            ClusterNotice(node: "b", present: ["v1", "v2"], absent: ["v3"]),
            ClusterNotice(node: "b", availability: [AvailabilityChange(volunteerId: "v1", available: true, until: 1_800_000_000_000)]),
            ClusterNotice(node: "a", order: AlertOrder(to: "b", callId: "c1", reachedRadiusKm: 7.5, volunteers: [Candidate(volunteerId: "v", distanceKm: 1.25)])),
        ]
        for notice in notices {
            #expect(ClusterNotice.decode(try #require(notice.payload)) == notice)
        }
    }

    /// The most candidates an answer or an order names fit in one notice, whatever their
    /// distances look like printed; so do the most volunteers a presence notice names.
    @Test func aFullAnswerAndAFullOrderFitInANotice() throws {
        let node = UUID().uuidString.lowercased()
        let nearest = (0..<maxCandidatesPerNotice).map { _ in
            Candidate(volunteerId: UUID().uuidString.lowercased(), distanceKm: Double.random(in: 0..<1) * 1000 + 1e-13)
        }
        let answer = ClusterNotice(node: node, offered: CandidateAnswer(id: UUID().uuidString, to: node, available: Int.max, nearest: nearest))
        let order = ClusterNotice(node: node, order: AlertOrder(to: node, callId: UUID().uuidString, reachedRadiusKm: .pi * 100, volunteers: nearest))
        #expect(ClusterNotice.decode(try #require(answer.payload)) == answer)
        #expect(ClusterNotice.decode(try #require(order.payload)) == order)
        let ids = (0..<ClusterNotice.maxPresencePerNotice).map { _ in UUID().uuidString.lowercased() }
        let presence = ClusterNotice(node: node, present: Array(ids.prefix(60)), absent: Array(ids.dropFirst(60)))
        #expect(ClusterNotice.decode(try #require(presence.payload)) == presence)
    }

    @Test(arguments: [
        "", "null", "[]", "{}", #"{"e":[]}"#, #"{"n":1,"e":[]}"#, #"{"n":"a","q":{"id":"x"}}"#, #"{"n":"a","b":[{"o":"o"}]}"#, #"{"n":"a","e":[{"k":"exploded","c":"c1","v":[]}]}"#,
        #"{"n":"a","e":[{"k":"changed","c":null,"v":[]}]}"#, String(repeating: "x", count: 9000),
    ])
    func anythingElseIsNotANotice(_ payload: String) {
        #expect(ClusterNotice.decode(payload) == nil)
    }
}
