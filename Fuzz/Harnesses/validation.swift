/// The field rules on arbitrary text and numbers: no trap, and what passes is in range.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let text = String(decoding: bytes, as: UTF8.self)
    if let name = try? Rules.displayName(text) {
        check(Rules.displayNameLength.contains(name.count) && name.trimmingWhitespace() == name, "display name")
    }
    if let name = try? Rules.organisationName(text) { check(Rules.organisationNameLength.contains(name.count), "organisation name") }
    if let contact = try? Rules.contact(text) { check(contact.count <= Rules.contactMaxLength, "contact") }
    let slugs = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    if let skills = try? Rules.skills(slugs) {
        check(skills.count <= Rules.maxSkills && Set(skills).count == skills.count && skills.allSatisfy(Rules.isSkillSlug), "skills")
    }
    if size >= 16 {
        let a = double(bytes, 0), b = double(bytes, 8)
        if let p = try? Rules.location(lat: a, lon: b) { check(abs(p.lat) <= 90 && abs(p.lon) <= 180, "location") }
        if let d = try? Rules.distance(a, field: "radiusKm") { check(Rules.distanceRangeKm.contains(d), "distance") }
    }
    return 0
}

private func double(_ bytes: UnsafeBufferPointer<UInt8>, _ at: Int) -> Double {
    var raw: UInt64 = 0
    for b in bytes[at..<(at + 8)] { raw = raw << 8 | UInt64(b) }
    return Double(bitPattern: raw)
}

func check(_ condition: Bool, _ what: String) {
    if !condition { fatalError("invariant broken: \(what)") }
}
