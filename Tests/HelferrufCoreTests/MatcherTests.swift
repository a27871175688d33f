import Testing
@testable import HelferrufCore

/// The matcher against a brute-force reference: the eligibility rule of PROTOCOL.md §4
/// evaluated with the exact haversine for every pair.
@Suite struct MatcherTests {
    let now = Timestamp(millis: 1_800_000_000_000)
    let skillPool = ["sandbags", "first-aid", "driving", "lifting", "cooking"]

    struct Ref {
        var id: String
        var location: GeoPoint?
        var availability: Availability
        var skills: Set<String>
        var maxDistanceKm: Double
    }

    func randomPoint(_ rng: inout SeededRandom, around c: GeoPoint, spreadDeg: Double) -> GeoPoint {
        GeoPoint(
            lat: max(-90, min(90, c.lat + Double.random(in: -spreadDeg...spreadDeg, using: &rng))),
            lon: c.lon + Double.random(in: -spreadDeg...spreadDeg, using: &rng))
    }

    @Test func matchesBruteForceOnTenThousandPairs() {
        var rng = SeededRandom(seed: 42)
        let center = GeoPoint(lat: 50.9, lon: 6.6)
        var matcher = Matcher()
        var refs: [Ref] = []
        for i in 0..<500 {
            let id = "v\(i)"
            let skills = Set(skillPool.filter { _ in Bool.random(using: &rng) })
            let maxD = [0.1, 1, 5, 10, 50, 200][Int.random(in: 0..<6, using: &rng)]
            matcher.connect(id: id, skills: Array(skills), maxDistanceKm: maxD)
            var ref = Ref(id: id, location: nil, availability: .unavailable, skills: skills, maxDistanceKm: maxD)
            if i % 10 != 0 {
                let p = randomPoint(&rng, around: center, spreadDeg: [0.002, 0.05, 1.5][i % 3])
                matcher.setLocation(id, p)
                ref.location = p
            }
            switch i % 4 {
            case 0: ref.availability = .unavailable
            case 1: ref.availability = .available(until: nil)
            case 2: ref.availability = .available(until: now.adding(millis: 60_000))
            default: ref.availability = .available(until: now.adding(millis: -1))  // expired
            }
            matcher.setAvailability(id, ref.availability)
            refs.append(ref)
        }
        var checkedPairs = 0
        for j in 0..<20 {
            let radius = [0.1, 0.5, 2, 10, 50, 200][j % 6]
            let skills = Array(skillPool.filter { _ in Int.random(in: 0..<3, using: &rng) == 0 })
            let call = Matcher.MatchCall(
                id: "c\(j)", location: randomPoint(&rng, around: center, spreadDeg: 0.3), radiusKm: radius, skills: skills,
                needed: 10, confirmed: 0)
            matcher.addCall(call)
            let expected = Set(refs.filter { r in
                guard let p = r.location, r.availability.isAvailable(at: now) else { return false }
                let d = Geo.distanceKm(call.location, p)
                return d <= radius && d <= r.maxDistanceKm && Set(skills).isSubset(of: r.skills)
            }.map(\.id))
            let got = matcher.eligibleVolunteers(forCall: call.id, now: now)
            #expect(Set(got.map(\.id)) == expected, "call \(j) radius \(radius)")
            #expect(got.count == expected.count)
            checkedPairs += refs.count
        }
        // The reverse query agrees with the forward one for every volunteer.
        for r in refs {
            let calls = Set(matcher.eligibleCalls(forVolunteer: r.id, now: now).map(\.id))
            let expected = Set((0..<20).map { "c\($0)" }.filter { cid in
                matcher.eligibleVolunteers(forCall: cid, now: now).contains { $0.id == r.id }
            })
            #expect(calls == expected, "volunteer \(r.id)")
        }
        #expect(checkedPairs == 10_000)
    }

    @Test func distanceIsInclusiveAtTheRadiusAndUsesTheMinimumOfBothLimits() {
        var m = Matcher()
        let c = GeoPoint(lat: 50, lon: 7)
        let p = GeoPoint(lat: 50.0449, lon: 7)
        let d = Geo.distanceKm(c, p)
        m.connect(id: "a", skills: [], maxDistanceKm: 200)
        m.setLocation("a", p)
        m.setAvailability("a", .available(until: nil))
        m.addCall(.init(id: "exact", location: c, radiusKm: d, skills: [], needed: 1, confirmed: 0))
        m.addCall(.init(id: "short", location: c, radiusKm: d - 1e-9, skills: [], needed: 1, confirmed: 0))
        #expect(m.eligibleVolunteers(forCall: "exact", now: now).map(\.id) == ["a"])
        #expect(m.eligibleVolunteers(forCall: "short", now: now).isEmpty)
        m.updateProfile("a", skills: [], maxDistanceKm: d - 0.001)
        #expect(m.eligibleVolunteers(forCall: "exact", now: now).isEmpty)
    }

    @Test func connectionsDeclinesAndForgetting() {
        var m = Matcher()
        let c = GeoPoint(lat: 51, lon: 7)
        m.connect(id: "a", skills: ["x"], maxDistanceKm: 10)
        m.setLocation("a", c)
        m.setAvailability("a", .available(until: nil))
        m.addCall(.init(id: "c", location: c, radiusKm: 1, skills: ["x"], needed: 1, confirmed: 0))
        #expect(m.eligibleCalls(forVolunteer: "a", now: now).map(\.id) == ["c"])
        m.disconnect(id: "a", now: now)
        #expect(m.eligibleCalls(forVolunteer: "a", now: now).isEmpty)
        #expect(m.eligibleVolunteers(forCall: "c", now: now).isEmpty)
        // Reconnecting within the grace period keeps place and availability.
        m.connect(id: "a", skills: ["x"], maxDistanceKm: 10)
        #expect(m.eligibleCalls(forVolunteer: "a", now: now).map(\.id) == ["c"])
        m.recordDecline("c", volunteer: "a")
        #expect(m.eligibleCalls(forVolunteer: "a", now: now).isEmpty)
        m.disconnect(id: "a", now: now)
        #expect(m.forgetDisconnected(before: now.adding(millis: -1)).isEmpty)
        #expect(m.forgetDisconnected(before: now) == ["a"])
        #expect(m.volunteer("a") == nil)
    }

    @Test func urgencyOrdersByMissingShareThenDistance() {
        var m = Matcher()
        let p = GeoPoint(lat: 50, lon: 8)
        m.connect(id: "a", skills: [], maxDistanceKm: 100)
        m.setLocation("a", p)
        m.setAvailability("a", .available(until: nil))
        m.addCall(.init(id: "half", location: GeoPoint(lat: 50.01, lon: 8), radiusKm: 50, skills: [], needed: 10, confirmed: 5))
        m.addCall(.init(id: "emptyFar", location: GeoPoint(lat: 50.2, lon: 8), radiusKm: 50, skills: [], needed: 4, confirmed: 0))
        m.addCall(.init(id: "emptyNear", location: GeoPoint(lat: 50.1, lon: 8), radiusKm: 50, skills: [], needed: 40, confirmed: 0))
        #expect(m.eligibleCalls(forVolunteer: "a", now: now).map(\.id) == ["emptyNear", "emptyFar", "half"])
    }

    @Test func reachCountsAvailableAndConnected() {
        var m = Matcher()
        let c = GeoPoint(lat: 50.77, lon: 6.08)
        for (i, available) in [true, false, true].enumerated() {
            m.connect(id: "v\(i)", skills: i == 2 ? ["boat"] : [], maxDistanceKm: 10)
            m.setLocation("v\(i)", c)
            m.setAvailability("v\(i)", available ? .available(until: nil) : .unavailable)
        }
        let r = m.reach(center: c, radiusKm: 5, skills: ["boat"], now: now)
        #expect(r.available == 1 && r.connected == 3)
        #expect(m.reach(center: c, radiusKm: 5, skills: [], now: now).available == 2)
        // Volunteers the organisation blocked would not be alerted: not available (§11).
        let blocked = m.reach(center: c, radiusKm: 5, skills: [], now: now, excluding: ["v0"])
        #expect(blocked.available == 1 && blocked.connected == 3)
    }
}
