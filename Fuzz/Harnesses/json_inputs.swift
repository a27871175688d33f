import Foundation

/// HTTP JSON bodies: every input type the API decodes, then the call rules. A body must be
/// refused with a clean failure or yield values inside the contract's ranges.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    if case .success(let v) = JSONInput.decode(VolunteerCreateInput.self, from: bytes) {
        if let name = try? Rules.displayName(v.displayName) {
            check(Rules.displayNameLength.contains(name.count) && name == name.trimmingWhitespace(), "display name out of range")
        }
        if let d = try? Rules.maxDistance(v.maxDistanceKm ?? Rules.defaultMaxDistanceKm) {
            check(d.isFinite && Rules.distanceRangeKm.contains(d), "distance out of range")
        }
    }
    _ = JSONInput.decode(VolunteerPatchInput.self, from: bytes)
    if case .success(let input) = JSONInput.decode(CallCreateInput.self, from: bytes) {
        let now = Timestamp(millis: 1_795_000_000_000)
        if let draft = try? input.draft(), let call = try? draft.validate(now: now) {
            check(Rules.neededRange.contains(call.needed), "needed out of range")
            check(Rules.titleLength.contains(call.title.count), "title out of range")
            check(call.description.count <= Rules.descriptionMaxLength && call.address.count <= Rules.addressMaxLength, "text too long")
            check(call.location.lat.isFinite && abs(call.location.lat) <= 90 && abs(call.location.lon) <= 180, "location out of range")
            check(Rules.distanceRangeKm.contains(call.radiusKm), "radius out of range")
            check(call.endsAt.millis > call.startsAt.millis && call.endsAt.millis > now.millis, "end not after start and now")
            check(call.endsAt.millis - call.startsAt.millis <= Rules.maxCallDurationMillis, "call longer than 7 days")
            check(call.skills.count <= Rules.maxSkills && call.skills.allSatisfy(Rules.isSkillSlug), "bad skills")
        }
    }
    return 0
}

func check(_ condition: Bool, _ what: String) {
    if !condition { fatalError("invariant broken: \(what)") }
}
