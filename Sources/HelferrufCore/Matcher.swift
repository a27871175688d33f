/// One call a volunteer is eligible for, or one volunteer eligible for a call.
public struct Match: Sendable, Equatable {
    public var id: String
    public var distanceKm: Double

    public init(id: String, distanceKm: Double) {
        self.id = id
        self.distanceKm = distanceKm
    }
}

/// The live matching state: connected volunteers with their position and availability,
/// and the open calls, each in its own spatial index.
///
/// Eligibility (PROTOCOL.md §4, widened by §8): the call is open, the volunteer is connected
/// or push-reachable, available (and any `until` lies in the future), has a location (for
/// a push-reachable volunteer without a socket: their alert area) within
/// `min(call.radiusKm, volunteer.maxDistanceKm)` of the call, holds every skill the call
/// needs, and has not declined it.
///
/// Volunteers live in slots (small integers) so that the ``GeoGrid`` of their positions
/// and a filter word per slot (``SkillBits``: available, skills) can find the volunteers
/// for a call without hashing or allocating per candidate; only those that pass the word
/// are checked in full. Calls live in a second grid by their centre: the calls a volunteer
/// may match lie within the volunteer's `maxDistanceKm` (and the largest open radius).
/// The type is a plain value with no locking: its owner serialises access.
public struct Matcher: Sendable {
    private var slots: [String: UInt32] = [:]
    private var live: [LiveVolunteer?] = []
    /// Per volunteer slot: ``SkillBits/available`` when connected, available (ignoring
    /// `until`, which is checked in full) and located, plus the skill bits.
    private var words: [UInt64] = []
    private var freeSlots: [UInt32] = []
    private var grid = GeoGrid()
    private var skillBits = SkillBits()
    /// Slugs that got no bit: while any volunteer holds one, skill sets are checked in full.
    private var skillsComplete = true
    /// Push-reachable volunteers by slot (PROTOCOL.md §8): their alert area, and the
    /// location their sockets shared. Their ``LiveVolunteer/location`` is whichever of the
    /// two counts now, so that matching reads one field for everyone.
    private var pushPlaces: [UInt32: PushPlace] = [:]

    private struct PushPlace {
        var area: GeoPoint
        var shared: GeoPoint?
    }

    private var callSlots: [String: UInt32] = [:]
    private var callAt: [MatchCall?] = []
    /// Per call slot: the bits the call requires, and whether they say everything.
    private var callMasks: [(mask: UInt64, complete: Bool)] = []
    private var freeCallSlots: [UInt32] = []
    /// Calls by centre. Cells of 0.05°: a volunteer's search (10 km by default) spans a
    /// handful of them.
    private var callGrid = GeoGrid(cellDegrees: 0.05)
    /// How many open calls have each radius; the largest bounds the reverse search.
    private var callRadii: [Double: Int] = [:]
    private var maxCallRadius = 0.0

    /// What the matcher needs of an open call.
    public struct MatchCall: Sendable, Equatable {
        public var id: String
        public var location: GeoPoint
        public var radiusKm: Double
        public var skills: Set<String>
        public var needed: Int
        public var confirmed: Int
        public var declined: Set<String>

        public init(id: String, location: GeoPoint, radiusKm: Double, skills: [String], needed: Int, confirmed: Int, declined: Set<String> = []) {
            self.id = id
            self.location = location
            self.radiusKm = radiusKm
            self.skills = Set(skills)
            self.needed = needed
            self.confirmed = confirmed
            self.declined = declined
        }

        /// Share of places still missing, for urgency order.
        var missingShare: Double { Double(max(0, needed - confirmed)) / Double(max(1, needed)) }
    }

    public init() {}

    // MARK: Volunteers

    public func volunteer(_ id: String) -> LiveVolunteer? { slots[id].flatMap { live[Int($0)] } }

    public var volunteerCount: Int { slots.count }

    /// Registers a new connection of a volunteer, creating or refreshing their live state
    /// with the stored profile.
    public mutating func connect(id: String, skills: [String], maxDistanceKm: Double) {
        let slot = self.slot(for: id)
        var v = live[Int(slot)] ?? LiveVolunteer(id: id, skills: Set(skills), maxDistanceKm: maxDistanceKm)
        v.skills = Set(skills)
        v.maxDistanceKm = maxDistanceKm
        v.connections += 1
        v.disconnectedAt = nil
        place(&v, slot)
        store(v, at: slot, skillsChanged: true)
    }

    /// Records that one of the volunteer's connections closed.
    public mutating func disconnect(id: String, now: Timestamp) {
        guard let slot = slots[id], var v = live[Int(slot)] else { return }
        v.connections = max(0, v.connections - 1)
        if v.connections == 0 { v.disconnectedAt = now }
        place(&v, slot)
        store(v, at: slot)
    }

    /// Makes a volunteer push-reachable at `area` (PROTOCOL.md §8), creating their live
    /// state if they have none, or ends that with nil. A volunteer who is then neither
    /// connected nor within the grace period of a connection is forgotten.
    public mutating func setPushArea(id: String, _ area: GeoPoint?, skills: [String], maxDistanceKm: Double) {
        guard area != nil || slots[id] != nil else { return }
        let slot = self.slot(for: id)
        var v = live[Int(slot)] ?? LiveVolunteer(id: id, skills: Set(skills), maxDistanceKm: maxDistanceKm)
        v.skills = Set(skills)
        v.maxDistanceKm = maxDistanceKm
        if let area {
            let shared = pushPlaces[slot].map(\.shared) ?? v.location
            pushPlaces[slot] = PushPlace(area: area, shared: shared)
        } else if let old = pushPlaces.removeValue(forKey: slot) {
            v.location = old.shared
        }
        v.pushReachable = area != nil
        if area == nil && v.connections == 0 && v.disconnectedAt == nil {
            forget(id)
        } else {
            place(&v, slot)
            store(v, at: slot, skillsChanged: true)
        }
    }

    /// The volunteer's slot, allocated when they have none.
    private mutating func slot(for id: String) -> UInt32 {
        if let known = slots[id] { return known }
        let slot: UInt32
        if let free = freeSlots.popLast() {
            slot = free
        } else {
            slot = UInt32(live.count)
            live.append(nil)
            words.append(0)
        }
        slots[id] = slot
        return slot
    }

    /// Sets a push-reachable volunteer's matched location: the shared one while connected
    /// (the alert area until one is shared), else the alert area.
    private func place(_ v: inout LiveVolunteer, _ slot: UInt32) {
        guard let p = pushPlaces[slot] else { return }
        v.location = v.connections > 0 ? (p.shared ?? p.area) : p.area
    }

    /// Whether the volunteer's location is one their sockets shared (not only an alert area).
    private func sharedLocation(_ slot: UInt32) -> Bool {
        guard !pushPlaces.isEmpty, let p = pushPlaces[slot] else { return true }
        return p.shared != nil
    }

    /// Forgets the state of volunteers whose last connection closed at or before `cutoff`.
    /// Returns their ids. A push-reachable volunteer stays, at their alert area: only the
    /// location they shared is forgotten.
    @discardableResult
    public mutating func forgetDisconnected(before cutoff: Timestamp) -> [String] {
        let due = live.compactMap { v in
            v.flatMap { $0.connections == 0 && ($0.disconnectedAt.map { $0 <= cutoff } ?? true) ? $0.id : nil }
        }
        var gone: [String] = []
        for id in due {
            guard let slot = slots[id], pushPlaces[slot] != nil, var v = live[Int(slot)] else {
                forget(id)
                gone.append(id)
                continue
            }
            pushPlaces[slot]?.shared = nil
            v.disconnectedAt = nil
            place(&v, slot)
            store(v, at: slot)
        }
        return gone
    }

    /// Drops all live state of a volunteer (account erased, or grace period over).
    public mutating func forget(_ id: String) {
        guard let slot = slots.removeValue(forKey: id) else { return }
        grid.remove(slot)
        live[Int(slot)] = nil
        words[Int(slot)] = 0
        pushPlaces[slot] = nil
        freeSlots.append(slot)
    }

    public mutating func setAvailability(_ id: String, _ availability: Availability) {
        guard let slot = slots[id], var v = live[Int(slot)] else { return }
        v.availability = availability
        store(v, at: slot)
    }

    public mutating func setLocation(_ id: String, _ point: GeoPoint) {
        guard let slot = slots[id], var v = live[Int(slot)] else { return }
        if pushPlaces[slot] != nil {
            pushPlaces[slot]?.shared = point
            place(&v, slot)
        } else {
            v.location = point
        }
        store(v, at: slot)
    }

    public mutating func updateProfile(_ id: String, skills: [String], maxDistanceKm: Double) {
        guard let slot = slots[id], var v = live[Int(slot)] else { return }
        v.skills = Set(skills)
        v.maxDistanceKm = maxDistanceKm
        store(v, at: slot, skillsChanged: true)
    }

    /// Stores a volunteer's state and refreshes their filter word; the skill bits only when
    /// the skills may have changed (a location update hashes no strings).
    /// The grid holds each volunteer at their ``LiveVolunteer/location``.
    private mutating func store(_ v: LiveVolunteer, at slot: UInt32, skillsChanged: Bool = false) {
        if live[Int(slot)]?.location != v.location {
            if let p = v.location { grid.update(slot, to: p) } else { grid.remove(slot) }
        }
        live[Int(slot)] = v
        var word = words[Int(slot)] & ~SkillBits.available
        if skillsChanged {
            let skills = skillBits.mask(for: v.skills)
            if !skills.complete { skillsComplete = false }
            word = skills.mask
        }
        let ready = v.isPresent && v.location != nil && v.availability != .unavailable
        word |= ready ? SkillBits.available : 0
        words[Int(slot)] = word
        grid.setTag(slot, UInt8(truncatingIfNeeded: word))
    }

    // MARK: Calls

    public func call(_ id: String) -> MatchCall? { callSlots[id].flatMap { callAt[Int($0)] } }

    public var openCallCount: Int { callSlots.count }

    /// Adds an open call to the index (or replaces it).
    public mutating func addCall(_ call: MatchCall) {
        removeCall(call.id)
        let slot: UInt32
        if let free = freeCallSlots.popLast() {
            slot = free
        } else {
            slot = UInt32(callAt.count)
            callAt.append(nil)
            callMasks.append((0, true))
        }
        callSlots[call.id] = slot
        callAt[Int(slot)] = call
        callMasks[Int(slot)] = skillBits.mask(for: call.skills)
        callGrid.update(slot, to: call.location)
        callRadii[call.radiusKm, default: 0] += 1
        maxCallRadius = max(maxCallRadius, call.radiusKm)
    }

    /// Removes a call that is no longer open.
    public mutating func removeCall(_ id: String) {
        guard let slot = callSlots.removeValue(forKey: id), let call = callAt[Int(slot)] else { return }
        callAt[Int(slot)] = nil
        callGrid.remove(slot)
        freeCallSlots.append(slot)
        callRadii[call.radiusKm]! -= 1
        if callRadii[call.radiusKm] == 0 {
            callRadii[call.radiusKm] = nil
            if call.radiusKm == maxCallRadius { maxCallRadius = callRadii.keys.max() ?? 0 }
        }
    }

    public mutating func setConfirmed(_ callId: String, _ confirmed: Int) {
        guard let slot = callSlots[callId] else { return }
        callAt[Int(slot)]?.confirmed = confirmed
    }

    public mutating func recordDecline(_ callId: String, volunteer: String) {
        guard let slot = callSlots[callId] else { return }
        callAt[Int(slot)]?.declined.insert(volunteer)
    }

    // MARK: Queries

    /// Whether volunteer `vid` is eligible for call `cid` now, and at what distance.
    public func eligibility(volunteer vid: String, call cid: String, now: Timestamp) -> Double? {
        guard let v = volunteer(vid), let c = call(cid) else { return nil }
        return Self.distanceIfEligible(v, c, now: now)
    }

    /// Every volunteer eligible for the open call `id` now.
    public func eligibleVolunteers(forCall id: String, now: Timestamp) -> [Match] {
        guard let slot = callSlots[id], let c = callAt[Int(slot)] else { return [] }
        let skills = callMasks[Int(slot)]
        let found = SlotBuffer()
        grid.query(c.location, radiusKm: c.radiusKm, into: found,
                   filter: SlotFilter(words: words, required: skills.mask | SkillBits.available))
        let exactSkills = !(skills.complete && skillsComplete)
        var out: [Match] = []
        for s in found.slots {
            guard let v = live[Int(s)], let p = v.location else { continue }
            let d = Geo.distanceKm(c.location, p)
            if d <= v.maxDistanceKm && v.availability.isAvailable(at: now) && !c.declined.contains(v.id)
                && (!exactSkills || c.skills.isSubset(of: v.skills)) {
                out.append(Match(id: v.id, distanceKm: d))
            }
        }
        return out
    }

    /// Every open call volunteer `id` is eligible for now, most urgent first (largest share
    /// still missing, then nearest).
    public func eligibleCalls(forVolunteer id: String, now: Timestamp) -> [Match] {
        guard let v = volunteer(id), let p = v.location, v.isPresent, v.availability.isAvailable(at: now) else { return [] }
        // Widened a little: the exact test below, from the call's side, decides.
        let reach = min(v.maxDistanceKm, maxCallRadius) * (1 + 1e-9) + 1e-9
        let found = SlotBuffer(capacity: 64)
        callGrid.query(p, radiusKm: reach, into: found)
        var out: [Match] = []
        for s in found.slots {
            guard let c = callAt[Int(s)], let d = Self.distanceIfEligible(v, c, now: now) else { continue }
            out.append(Match(id: c.id, distanceKm: d))
        }
        return sortedByUrgency(out)
    }

    /// Orders call matches by the share still missing (largest first), then distance, then id.
    public func sortedByUrgency(_ matches: [Match]) -> [Match] {
        matches.sorted { a, b in
            let sa = call(a.id)?.missingShare ?? 0, sb = call(b.id)?.missingShare ?? 0
            if sa != sb { return sa > sb }
            if a.distanceKm != b.distanceKm { return a.distanceKm < b.distanceKm }
            return a.id < b.id
        }
    }

    /// The reach of a hypothetical call (PROTOCOL.md `/reach`): `available` volunteers it
    /// would alert now (push-reachable volunteers included), and `connected` volunteers with
    /// a location within `min(radiusKm, their maxDistanceKm)` whatever their availability and
    /// skills.
    /// `excluding`: volunteers a call there would never alert (the organisation blocked them),
    /// left out of `available`. `connectedOnly`: push-reachable volunteers without a socket
    /// left out too (what one node of several counts for another: every node knows them).
    public func reach(
        center: GeoPoint, radiusKm: Double, skills: [String], now: Timestamp, excluding: Set<String> = [], connectedOnly: Bool = false
    ) -> (available: Int, connected: Int) {
        let probe = MatchCall(id: "", location: center, radiusKm: radiusKm, skills: skills, needed: 1, confirmed: 0, declined: excluding)
        var available = 0, connected = 0
        grid.forEach(within: radiusKm, of: center) { slot, d in
            guard let v = live[Int(slot)], d <= v.maxDistanceKm else { return }
            if v.connections > 0 && sharedLocation(slot) { connected += 1 }
            if (!connectedOnly || v.connections > 0) && Self.isEligible(v, probe, distance: d, now: now) { available += 1 }
        }
        return (available, connected)
    }

    static func distanceIfEligible(_ v: LiveVolunteer, _ c: MatchCall, now: Timestamp) -> Double? {
        guard let p = v.location else { return nil }
        let d = Geo.distanceKm(c.location, p)
        return isEligible(v, c, distance: d, now: now) ? d : nil
    }

    static func isEligible(_ v: LiveVolunteer, _ c: MatchCall, distance d: Double, now: Timestamp) -> Bool {
        v.isPresent && v.location != nil && v.availability.isAvailable(at: now)
            && d <= c.radiusKm && d <= v.maxDistanceKm && c.skills.isSubset(of: v.skills)
            && !c.declined.contains(v.id)
    }
}
