import Testing
@testable import HelferrufCore

/// PROTOCOL.md §8: a push-reachable volunteer is matched without a connection, at their
/// alert area; while connected, at the shared location.
@Suite struct MatcherPushTests {
    let now = Timestamp(millis: 1_800_000_000_000)
    let area = GeoPoint(lat: 50.78, lon: 6.08)
    let elsewhere = GeoPoint(lat: 51.2, lon: 6.8)

    func call(_ id: String, at p: GeoPoint) -> Matcher.MatchCall {
        .init(id: id, location: p, radiusKm: 5, skills: [], needed: 1, confirmed: 0)
    }

    @Test func aPushReachableVolunteerMatchesAtTheAlertAreaWithoutAConnection() {
        var m = Matcher()
        m.addCall(call("near", at: area))
        m.addCall(call("far", at: elsewhere))
        m.setPushArea(id: "a", area, skills: [], maxDistanceKm: 10)
        #expect(m.eligibleVolunteers(forCall: "near", now: now).isEmpty, "unavailable until told")
        m.setAvailability("a", .available(until: nil))
        #expect(m.eligibleVolunteers(forCall: "near", now: now).map(\.id) == ["a"])
        #expect(m.eligibleCalls(forVolunteer: "a", now: now).map(\.id) == ["near"])
        #expect(m.reach(center: area, radiusKm: 5, skills: [], now: now) == (available: 1, connected: 0))
        // Connected and located elsewhere: the shared location counts.
        m.connect(id: "a", skills: [], maxDistanceKm: 10)
        m.setLocation("a", elsewhere)
        #expect(m.eligibleCalls(forVolunteer: "a", now: now).map(\.id) == ["far"])
        // The last socket closes: back at the alert area, and the grace sweep keeps them.
        m.disconnect(id: "a", now: now)
        #expect(m.eligibleCalls(forVolunteer: "a", now: now).map(\.id) == ["near"])
        #expect(m.forgetDisconnected(before: now.adding(millis: 1)).isEmpty)
        #expect(m.volunteer("a")?.location == area)
        m.connect(id: "a", skills: [], maxDistanceKm: 10)
        #expect(m.volunteer("a")?.location == area, "the shared location was forgotten")
        m.disconnect(id: "a", now: now)
        #expect(m.eligibleVolunteers(forCall: "near", now: now).map(\.id) == ["a"])
        // No longer push-reachable: not matched, and forgotten when the grace period ends.
        m.setPushArea(id: "a", nil, skills: [], maxDistanceKm: 10)
        #expect(m.eligibleVolunteers(forCall: "near", now: now).isEmpty)
        #expect(m.forgetDisconnected(before: now.adding(millis: 1)) == ["a"])
        // Push-reachable only, then not: forgotten at once.
        m.setPushArea(id: "b", area, skills: [], maxDistanceKm: 10)
        #expect(m.volunteer("b")?.location == area)
        m.setPushArea(id: "b", nil, skills: [], maxDistanceKm: 10)
        #expect(m.volunteer("b") == nil)
    }

    @Test func aConnectedVolunteerWithoutAnAreaStillNeedsALocation() {
        var m = Matcher()
        m.addCall(call("near", at: area))
        m.connect(id: "b", skills: [], maxDistanceKm: 10)
        m.setAvailability("b", .available(until: nil))
        #expect(m.eligibleCalls(forVolunteer: "b", now: now).isEmpty)
        m.setPushArea(id: "b", area, skills: [], maxDistanceKm: 10)
        #expect(m.eligibleCalls(forVolunteer: "b", now: now).map(\.id) == ["near"])
        #expect(m.reach(center: area, radiusKm: 5, skills: [], now: now) == (available: 1, connected: 0))
    }
}
