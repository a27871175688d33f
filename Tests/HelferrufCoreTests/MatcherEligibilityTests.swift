import Testing

@testable import HelferrufCore

/// The matcher against the rule of PROTOCOL.md §4, written out independently here and
/// applied to every (volunteer, call) pair.
@Suite struct MatcherEligibilityTests {
    struct Person {
        var id: String
        var skills: [String]
        var maxDistanceKm: Double
        var connections: Int
        var location: GeoPoint?
        var availability: Availability
    }

    static let now = Timestamp(millis: 1_800_000_000_000)

    static func reference(_ v: Person, _ c: Matcher.MatchCall) -> Double? {
        guard v.connections > 0, let p = v.location else { return nil }
        switch v.availability {
        case .unavailable: return nil
        case .available(let until): if let until, until <= now { return nil }
        }
        let d = Geo.distanceKm(c.location, p)
        guard d <= c.radiusKm, d <= v.maxDistanceKm, c.skills.allSatisfy(v.skills.contains), !c.declined.contains(v.id) else { return nil }
        return d
    }

    static func near(_ rng: inout SeededRandom) -> GeoPoint {
        GeoPoint(lat: 51.2 + .random(in: -0.25...0.25, using: &rng), lon: 7.2 + .random(in: -0.35...0.35, using: &rng))
    }

    /// Builds a random population through the matcher's own operations, then compares both
    /// directions of matching with the reference for every pair.
    func check(seed: UInt64, slugs: [String]) {
        var rng = SeededRandom(seed: seed)
        var m = Matcher()
        var people: [String: Person] = [:]
        for k in 0..<150 {
            let id = "v\(k)"
            let skills = slugs.filter { _ in Int.random(in: 0..<3, using: &rng) == 0 }
            var v = Person(id: id, skills: skills, maxDistanceKm: [0.1, 5, 10, 200].randomElement(using: &rng)!,
                           connections: 1, location: nil, availability: .unavailable)
            m.connect(id: id, skills: skills, maxDistanceKm: v.maxDistanceKm)
            if Int.random(in: 0..<6, using: &rng) > 0 {
                v.location = Self.near(&rng)
                m.setLocation(id, v.location!)
            }
            v.availability = [
                .unavailable, .available(until: nil), .available(until: Self.now.adding(millis: -1)),
                .available(until: Self.now), .available(until: Self.now.adding(millis: 60_000)),
            ].randomElement(using: &rng)!
            m.setAvailability(id, v.availability)
            if Int.random(in: 0..<8, using: &rng) == 0 {
                m.disconnect(id: id, now: Self.now)
                v.connections = 0
            }
            if Int.random(in: 0..<8, using: &rng) == 0 {
                // A later profile edit must reach the prefilter too.
                v.skills = slugs.filter { _ in Bool.random(using: &rng) }
                m.updateProfile(id, skills: v.skills, maxDistanceKm: v.maxDistanceKm)
            }
            people[id] = v
        }
        var calls: [String: Matcher.MatchCall] = [:]
        for k in 0..<60 {
            let skills = slugs.filter { _ in Int.random(in: 0...slugs.count, using: &rng) == 0 }
            var c = Matcher.MatchCall(id: "c\(k)", location: Self.near(&rng), radiusKm: [0.1, 2, 10, 30, 200].randomElement(using: &rng)!,
                                      skills: skills, needed: 3, confirmed: 0)
            m.addCall(c)
            if k % 4 == 0, let who = people.keys.randomElement(using: &rng) {
                m.recordDecline(c.id, volunteer: who)
                c.declined.insert(who)
            }
            calls[c.id] = c
        }
        // Some calls close again; their radii must stop widening the reverse search.
        for k in stride(from: 0, to: 60, by: 5) {
            m.removeCall("c\(k)")
            calls["c\(k)"] = nil
        }
        var pairs = 0
        for c in calls.values {
            let expected = people.values.compactMap { v in Self.reference(v, c).map { Match(id: v.id, distanceKm: $0) } }
            let got = m.eligibleVolunteers(forCall: c.id, now: Self.now)
            #expect(got.sorted { $0.id < $1.id } == expected.sorted { $0.id < $1.id }, "call \(c.id)")
            pairs += expected.count
        }
        for v in people.values {
            let expected = Set(calls.values.compactMap { c in Self.reference(v, c).map { _ in c.id } })
            let got = m.eligibleCalls(forVolunteer: v.id, now: Self.now)
            #expect(Set(got.map(\.id)) == expected, "volunteer \(v.id)")
            #expect(got.count == expected.count)
            for c in calls.values {
                #expect(m.eligibility(volunteer: v.id, call: c.id, now: Self.now) == Self.reference(v, c))
            }
        }
        #expect(pairs > 0, "the scenario should produce matches")
    }

    @Test(arguments: UInt64(1)...5)
    func matchesReferenceWithFewSkills(seed: UInt64) {
        check(seed: seed, slugs: ["first-aid", "driving", "lifting", "cooking", "sign-language"])
    }

    /// More slugs than filter bits: the matcher must fall back to exact skill sets.
    @Test func matchesReferenceWithMoreSlugsThanBits() {
        check(seed: 77, slugs: (0..<70).map { "skill-\($0)" })
    }

    @Test func forgottenVolunteersLeaveBothIndexes() {
        var m = Matcher()
        let here = GeoPoint(lat: 51, lon: 7)
        m.connect(id: "a", skills: [], maxDistanceKm: 10)
        m.setLocation("a", here)
        m.setAvailability("a", .available(until: nil))
        m.addCall(.init(id: "c", location: here, radiusKm: 1, skills: [], needed: 1, confirmed: 0))
        #expect(m.eligibleVolunteers(forCall: "c", now: Self.now).map(\.id) == ["a"])
        m.disconnect(id: "a", now: Self.now)
        #expect(m.forgetDisconnected(before: Self.now) == ["a"])
        #expect(m.volunteer("a") == nil)
        #expect(m.eligibleVolunteers(forCall: "c", now: Self.now).isEmpty)
        // The slot is reused by the next volunteer without inheriting anything.
        m.connect(id: "b", skills: [], maxDistanceKm: 10)
        #expect(m.eligibleVolunteers(forCall: "c", now: Self.now).isEmpty)
        #expect(m.reach(center: here, radiusKm: 1, skills: [], now: Self.now) == (0, 0))
    }
}
