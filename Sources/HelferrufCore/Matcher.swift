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
/// Eligibility (PROTOCOL.md §4): the call is open, the volunteer is connected, available
/// (and any `until` lies in the future), has a location within
/// `min(call.radiusKm, volunteer.maxDistanceKm)` of the call, holds every skill the call
/// needs, and has not declined it.
///
/// Volunteers are found per call through ``GeoGrid`` (never a scan of everyone); calls
/// per volunteer through a coarse grid of the open calls' circles (never a scan of every
/// call). The type is a plain value with no locking: its owner serialises access.
public struct Matcher: Sendable {
    private var volunteers: [String: LiveVolunteer] = [:]
    private var slots: [String: UInt32] = [:]
    private var ids: [String?] = []
    private var freeSlots: [UInt32] = []
    private var grid = GeoGrid()

    private var calls: [String: MatchCall] = [:]
    private var callCells: [Int: Set<String>] = [:]
    /// Calls whose circle spans too many coarse cells (near a pole or the antimeridian);
    /// checked for every volunteer.
    private var wideCalls: Set<String> = []

    /// Coarse cell edge for the call index, in degrees. Calls are few and their circles
    /// large (up to 200 km), so a coarse cell keeps registration cheap.
    private static let callCellDegrees = 0.5
    private static let callLonCells = 720

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

    public func volunteer(_ id: String) -> LiveVolunteer? { volunteers[id] }

    public var volunteerCount: Int { volunteers.count }

    /// Registers a new connection of a volunteer, creating or refreshing their live state
    /// with the stored profile.
    public mutating func connect(id: String, skills: [String], maxDistanceKm: Double) {
        var v = volunteers[id] ?? LiveVolunteer(id: id, skills: Set(skills), maxDistanceKm: maxDistanceKm)
        v.skills = Set(skills)
        v.maxDistanceKm = maxDistanceKm
        v.connections += 1
        v.disconnectedAt = nil
        volunteers[id] = v
        if slots[id] == nil {
            let slot: UInt32
            if let free = freeSlots.popLast() {
                slot = free
                ids[Int(slot)] = id
            } else {
                slot = UInt32(ids.count)
                ids.append(id)
            }
            slots[id] = slot
        }
    }

    /// Records that one of the volunteer's connections closed.
    public mutating func disconnect(id: String, now: Timestamp) {
        guard var v = volunteers[id] else { return }
        v.connections = max(0, v.connections - 1)
        if v.connections == 0 { v.disconnectedAt = now }
        volunteers[id] = v
    }

    /// Forgets the state of volunteers whose last connection closed at or before `cutoff`.
    /// Returns their ids.
    @discardableResult
    public mutating func forgetDisconnected(before cutoff: Timestamp) -> [String] {
        let gone = volunteers.values.filter { v in v.connections == 0 && (v.disconnectedAt.map { $0 <= cutoff } ?? true) }.map(\.id)
        for id in gone { forget(id) }
        return gone
    }

    /// Drops all live state of a volunteer (account erased, or grace period over).
    public mutating func forget(_ id: String) {
        volunteers[id] = nil
        if let slot = slots.removeValue(forKey: id) {
            grid.remove(slot)
            ids[Int(slot)] = nil
            freeSlots.append(slot)
        }
    }

    public mutating func setAvailability(_ id: String, _ availability: Availability) {
        volunteers[id]?.availability = availability
    }

    public mutating func setLocation(_ id: String, _ point: GeoPoint) {
        guard volunteers[id] != nil, let slot = slots[id] else { return }
        volunteers[id]!.location = point
        grid.update(slot, to: point)
    }

    public mutating func updateProfile(_ id: String, skills: [String], maxDistanceKm: Double) {
        volunteers[id]?.skills = Set(skills)
        volunteers[id]?.maxDistanceKm = maxDistanceKm
    }

    // MARK: Calls

    public func call(_ id: String) -> MatchCall? { calls[id] }

    public var openCallCount: Int { calls.count }

    /// Adds an open call to the index (or replaces it).
    public mutating func addCall(_ call: MatchCall) {
        removeCall(call.id)
        calls[call.id] = call
        if let cells = Self.callCellKeys(call.location, radiusKm: call.radiusKm) {
            for key in cells { callCells[key, default: []].insert(call.id) }
        } else {
            wideCalls.insert(call.id)
        }
    }

    /// Removes a call that is no longer open.
    public mutating func removeCall(_ id: String) {
        guard let call = calls.removeValue(forKey: id) else { return }
        if let cells = Self.callCellKeys(call.location, radiusKm: call.radiusKm) {
            for key in cells {
                callCells[key]?.remove(id)
                if callCells[key]?.isEmpty == true { callCells[key] = nil }
            }
        } else {
            wideCalls.remove(id)
        }
    }

    public mutating func setConfirmed(_ callId: String, _ confirmed: Int) {
        calls[callId]?.confirmed = confirmed
    }

    public mutating func recordDecline(_ callId: String, volunteer: String) {
        calls[callId]?.declined.insert(volunteer)
    }

    // MARK: Queries

    /// Whether volunteer `vid` is eligible for call `cid` now, and at what distance.
    public func eligibility(volunteer vid: String, call cid: String, now: Timestamp) -> Double? {
        guard let v = volunteers[vid], let c = calls[cid] else { return nil }
        return Self.distanceIfEligible(v, c, now: now)
    }

    /// Every volunteer eligible for the open call `id` now.
    public func eligibleVolunteers(forCall id: String, now: Timestamp) -> [Match] {
        guard let c = calls[id] else { return [] }
        var out: [Match] = []
        grid.forEach(within: c.radiusKm, of: c.location) { slot, d in
            guard let vid = ids[Int(slot)], let v = volunteers[vid] else { return }
            if Self.isEligible(v, c, distance: d, now: now) { out.append(Match(id: vid, distanceKm: d)) }
        }
        return out
    }

    /// Every open call volunteer `id` is eligible for now, most urgent first (largest share
    /// still missing, then nearest).
    public func eligibleCalls(forVolunteer id: String, now: Timestamp) -> [Match] {
        guard let v = volunteers[id], let p = v.location, v.connections > 0, v.availability.isAvailable(at: now) else { return [] }
        var out: [Match] = []
        let candidates = (callCells[Self.callCellKey(p)] ?? []).union(wideCalls)
        for cid in candidates {
            guard let c = calls[cid], let d = Self.distanceIfEligible(v, c, now: now) else { continue }
            out.append(Match(id: cid, distanceKm: d))
        }
        return sortedByUrgency(out)
    }

    /// Orders call matches by the share still missing (largest first), then distance, then id.
    public func sortedByUrgency(_ matches: [Match]) -> [Match] {
        matches.sorted { a, b in
            let sa = calls[a.id]?.missingShare ?? 0, sb = calls[b.id]?.missingShare ?? 0
            if sa != sb { return sa > sb }
            if a.distanceKm != b.distanceKm { return a.distanceKm < b.distanceKm }
            return a.id < b.id
        }
    }

    /// The reach of a hypothetical call (PROTOCOL.md `/reach`): `available` volunteers it
    /// would alert now, and `connected` volunteers with a location within
    /// `min(radiusKm, their maxDistanceKm)` whatever their availability and skills.
    public func reach(center: GeoPoint, radiusKm: Double, skills: [String], now: Timestamp) -> (available: Int, connected: Int) {
        let probe = MatchCall(id: "", location: center, radiusKm: radiusKm, skills: skills, needed: 1, confirmed: 0)
        var available = 0, connected = 0
        grid.forEach(within: radiusKm, of: center) { slot, d in
            guard let vid = ids[Int(slot)], let v = volunteers[vid], v.connections > 0, d <= v.maxDistanceKm else { return }
            connected += 1
            if Self.isEligible(v, probe, distance: d, now: now) { available += 1 }
        }
        return (available, connected)
    }

    static func distanceIfEligible(_ v: LiveVolunteer, _ c: MatchCall, now: Timestamp) -> Double? {
        guard let p = v.location else { return nil }
        let d = Geo.distanceKm(c.location, p)
        return isEligible(v, c, distance: d, now: now) ? d : nil
    }

    static func isEligible(_ v: LiveVolunteer, _ c: MatchCall, distance d: Double, now: Timestamp) -> Bool {
        v.connections > 0 && v.location != nil && v.availability.isAvailable(at: now)
            && d <= c.radiusKm && d <= v.maxDistanceKm && c.skills.isSubset(of: v.skills)
            && !c.declined.contains(v.id)
    }

    // MARK: Coarse call cells

    private static func callCellKey(_ p: GeoPoint) -> Int {
        let row = Int(((p.lat + 90) / callCellDegrees).rounded(.down))
        let col = ((Int(((p.lon + 180) / callCellDegrees).rounded(.down)) % callLonCells) + callLonCells) % callLonCells
        return row * callLonCells + col
    }

    /// The coarse cells a call's circle touches, or nil when it spans a pole or too many
    /// cells to list.
    private static func callCellKeys(_ center: GeoPoint, radiusKm: Double) -> [Int]? {
        let box = Geo.boundingBox(center: center, radiusKm: radiusKm)
        guard let half = box.lonHalfWidth else { return nil }
        let rowLo = Int(((box.latLo + 90) / callCellDegrees).rounded(.down))
        let rowHi = Int(((box.latHi + 90) / callCellDegrees).rounded(.down))
        let colLo = Int(((center.lon - half + 180) / callCellDegrees).rounded(.down))
        let colHi = Int(((center.lon + half + 180) / callCellDegrees).rounded(.down))
        guard (rowHi - rowLo + 1) * (colHi - colLo + 1) <= 4096 else { return nil }
        var keys: [Int] = []
        for r in rowLo...rowHi {
            for c in colLo...colHi {
                keys.append(r * callLonCells + ((c % callLonCells) + callLonCells) % callLonCells)
            }
        }
        return keys
    }
}
