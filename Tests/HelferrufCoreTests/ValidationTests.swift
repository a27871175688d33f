import Testing
@testable import HelferrufCore

@Suite struct ValidationTests {
    let now = RFC3339.parse("2026-11-29T08:00:00Z")!

    func draft(
        title: String = "Sandsäcke füllen", description: String? = nil, address: String? = nil, lat: Double = 50.77,
        lon: Double = 6.08, radiusKm: Double = 5, needed: Int = 40, skills: [String]? = nil, startsAt: String? = nil,
        endsAt: String = "2026-11-29T12:00:00Z"
    ) -> CallDraft {
        CallDraft(
            title: title, description: description, address: address, lat: lat, lon: lon, radiusKm: radiusKm,
            needed: needed, skills: skills, startsAt: startsAt, endsAt: endsAt)
    }

    func field(_ d: CallDraft) -> String? {
        do {
            _ = try d.validate(now: now)
            return nil
        } catch {
            return error.field
        }
    }

    @Test func acceptsAValidCallWithDefaults() throws {
        let v = try draft(title: "  Deich  ", skills: ["a", "b", "a"]).validate(now: now)
        #expect(v.title == "Deich")
        #expect(v.startsAt == now)
        #expect(v.skills == ["a", "b"])
        #expect(v.description == "" && v.address == "")
    }

    @Test func everyCallRuleNamesItsField() {
        #expect(field(draft(title: "   ")) == "title")
        #expect(field(draft(title: String(repeating: "x", count: 121))) == "title")
        #expect(field(draft(description: String(repeating: "x", count: 2001))) == "description")
        #expect(field(draft(address: String(repeating: "x", count: 201))) == "address")
        #expect(field(draft(lat: 90.5)) == "location.lat")
        #expect(field(draft(lat: .nan)) == "location.lat")
        #expect(field(draft(lon: -180.01)) == "location.lon")
        #expect(field(draft(lon: .infinity)) == "location.lon")
        #expect(field(draft(radiusKm: 0.09)) == "radiusKm")
        #expect(field(draft(radiusKm: 200.01)) == "radiusKm")
        #expect(field(draft(needed: 0)) == "needed")
        #expect(field(draft(needed: 10_001)) == "needed")
        #expect(field(draft(skills: ["Bad"])) == "skills.0")
        #expect(field(draft(skills: Array(repeating: "a", count: 21))) == "skills")
        #expect(field(draft(startsAt: "tomorrow")) == "startsAt")
        #expect(field(draft(endsAt: "soon")) == "endsAt")
        #expect(field(draft(endsAt: "2026-11-29T07:00:00Z")) == "endsAt")
        #expect(field(draft(startsAt: "2026-11-29T13:00:00Z", endsAt: "2026-11-29T12:00:00Z")) == "endsAt")
        #expect(field(draft(startsAt: "2026-11-29T08:00:00Z", endsAt: "2026-12-06T08:00:01Z")) == "endsAt")
    }

    @Test func boundariesAreInclusive() {
        #expect(field(draft(title: String(repeating: "x", count: 120), description: String(repeating: "y", count: 2000), radiusKm: 0.1, needed: 1)) == nil)
        #expect(field(draft(lat: -90, lon: 180, radiusKm: 200, needed: 10_000)) == nil)
        #expect(field(draft(startsAt: "2026-11-20T08:00:00Z", endsAt: "2026-11-27T08:00:01Z")) == "endsAt")
        #expect(field(draft(startsAt: "2026-11-28T08:00:00Z", endsAt: "2026-12-05T08:00:00Z")) == nil)
    }

    @Test func volunteerRules() throws {
        #expect(try Rules.displayName("  Anna  ") == "Anna")
        #expect(throws: ValidationError.self) { try Rules.displayName(" \n ") }
        #expect(throws: ValidationError.self) { try Rules.displayName(String(repeating: "é", count: 61)) }
        #expect(try Rules.displayName(String(repeating: "é", count: 60)).count == 60)
        #expect(throws: ValidationError.self) { try Rules.contact(String(repeating: "x", count: 201)) }
        #expect(throws: ValidationError.self) { try Rules.maxDistance(0.05) }
        #expect(throws: ValidationError.self) { try Rules.maxDistance(.nan) }
        #expect(Rules.isSkillSlug("first-aid") && Rules.isSkillSlug("a") && Rules.isSkillSlug("9x"))
        #expect(!Rules.isSkillSlug("-a") && !Rules.isSkillSlug("") && !Rules.isSkillSlug("A") && !Rules.isSkillSlug("a_b"))
        #expect(!Rules.isSkillSlug(String(repeating: "a", count: 33)) && Rules.isSkillSlug(String(repeating: "a", count: 32)))
    }
}
