/// Bit positions for the skill slugs in use, so that the matcher's prefilter ("available,
/// and holds every skill the call needs") is one AND per candidate, with no allocation.
///
/// Bit 0 means available; slugs get bits 1…63 in the order they are first seen, for the
/// life of the matcher. A slug seen after all 63 are taken gets none: masks that involve
/// it are incomplete, and the matcher then checks the skill sets exactly.
public struct SkillBits: Sendable {
    public static let available: UInt64 = 1
    private var bits: [String: UInt64] = [:]

    public init() {}

    public var slugsWithBits: Int { bits.count }

    /// The mask of `skills`, assigning bits to unseen slugs while any are left; `complete`
    /// is false when a slug has no bit.
    public mutating func mask(for skills: some Sequence<String>) -> (mask: UInt64, complete: Bool) {
        var mask: UInt64 = 0
        var complete = true
        for slug in skills {
            if let bit = bits[slug] {
                mask |= bit
            } else if bits.count < 63 {
                let bit = UInt64(1) << UInt64(bits.count + 1)
                bits[slug] = bit
                mask |= bit
            } else {
                complete = false
            }
        }
        return (mask, complete)
    }
}
