/// The life cycle of a call for helpers.
public enum CallStatus: String, Sendable, CaseIterable, Codable {
    case open, filled, cancelled, expired

    /// Cancelled or expired: nothing about the roster changes any more.
    public var isEnded: Bool { self == .cancelled || self == .expired }
}

/// A call for helpers as the organisation posted it, with its running figures.
public struct Call: Sendable, Equatable {
    public var id: String
    public var orgId: String
    public var orgName: String
    public var title: String
    public var description: String
    public var address: String
    public var location: GeoPoint
    public var radiusKm: Double
    public var needed: Int
    public var skills: [String]
    public var startsAt: Timestamp
    public var endsAt: Timestamp
    public var createdAt: Timestamp
    public var status: CallStatus
    public var confirmed: Int
    public var alerted: Int
    public var declined: Int
    public var endedAt: Timestamp?

    // PROTOCOL.md §7, with their v1 defaults.
    public var dispatch: DispatchMode = .broadcast
    /// The acceptance rate that sizes the waves, learnt when the call was posted.
    public var acceptanceRate = Waves.defaultAcceptanceRate
    /// Accepts that do not fit are queued (the input's `standby: true`).
    public var standbyEnabled = false
    /// The radius waves have reached so far; `radiusKm` in broadcast mode.
    public var reachedRadiusKm = 0.0
    /// Waves that alerted at least one volunteer.
    public var waves = 0
    /// Distinct alerted volunteers whose client reported the alert received, and shown.
    public var delivered = 0
    public var seen = 0
    /// Volunteers on site now: checked in and not checked out.
    public var checkedIn = 0
    /// Entries on the standby list.
    public var standby = 0
    /// Distinct volunteers whose alert was held back by their fatigue limits.
    public var suppressed = 0

    // PROTOCOL.md §10.
    /// The delays from alert to accept a `deadline` call plans with, learnt when it was posted.
    public var delayModel = DelayModel.default
    /// A `deadline` call's live plan; nil until its first step (and for other modes).
    public var plan: DeadlinePlan?

    public init(
        id: String, orgId: String, orgName: String, title: String, description: String, address: String,
        location: GeoPoint, radiusKm: Double, needed: Int, skills: [String], startsAt: Timestamp, endsAt: Timestamp,
        createdAt: Timestamp, status: CallStatus = .open, confirmed: Int = 0, alerted: Int = 0, declined: Int = 0,
        endedAt: Timestamp? = nil
    ) {
        self.id = id
        self.orgId = orgId
        self.orgName = orgName
        self.title = title
        self.description = description
        self.address = address
        self.location = location
        self.radiusKm = radiusKm
        self.needed = needed
        self.skills = skills
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.createdAt = createdAt
        self.status = status
        self.confirmed = confirmed
        self.alerted = alerted
        self.declined = declined
        self.endedAt = endedAt
        self.reachedRadiusKm = radiusKm
    }

    /// The largest radius the call may reach.
    public var maxRadiusKm: Double {
        switch dispatch {
        case .broadcast: radiusKm
        case .waves(let max, _), .deadline(_, _, let max): max
        }
    }

    /// The model a `deadline` call plans with.
    public var deadlineModel: DeadlineModel { DeadlineModel(acceptanceRate: acceptanceRate, delay: delayModel) }
}

/// A call as posted, before validation. Optional fields take their defaults in ``validate(now:)``.
public struct CallDraft: Sendable {
    public var title: String
    public var description: String?
    public var address: String?
    public var lat: Double
    public var lon: Double
    public var radiusKm: Double
    public var needed: Int
    public var skills: [String]?
    public var startsAt: String?
    public var endsAt: String
    /// `dispatch.mode`: "broadcast" (default), "waves" or "deadline".
    public var dispatchMode: String?
    public var maxRadiusKm: Double?
    public var waveSeconds: Double?
    /// `dispatch.fillBy` and `dispatch.confidence` of a `deadline` call.
    public var fillBy: String?
    public var confidence: Double?
    public var standby: Bool?

    public init(
        title: String, description: String?, address: String?, lat: Double, lon: Double, radiusKm: Double, needed: Int,
        skills: [String]?, startsAt: String?, endsAt: String, dispatchMode: String? = nil, maxRadiusKm: Double? = nil,
        waveSeconds: Double? = nil, fillBy: String? = nil, confidence: Double? = nil, standby: Bool? = nil
    ) {
        self.title = title
        self.description = description
        self.address = address
        self.lat = lat
        self.lon = lon
        self.radiusKm = radiusKm
        self.needed = needed
        self.skills = skills
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.dispatchMode = dispatchMode
        self.maxRadiusKm = maxRadiusKm
        self.waveSeconds = waveSeconds
        self.fillBy = fillBy
        self.confidence = confidence
        self.standby = standby
    }

    /// The validated fields of a new call.
    public struct Valid: Sendable, Equatable {
        public var title: String
        public var description: String
        public var address: String
        public var location: GeoPoint
        public var radiusKm: Double
        public var needed: Int
        public var skills: [String]
        public var startsAt: Timestamp
        public var endsAt: Timestamp
        public var dispatch: DispatchMode = .broadcast
        public var standby = false
    }

    /// Applies the call rules of PROTOCOL.md §3 in field order.
    public func validate(now: Timestamp) throws(ValidationError) -> Valid {
        let title = self.title.trimmingWhitespace()
        guard Rules.titleLength.contains(title.count) else {
            throw ValidationError(field: "title", message: "must be 1 to 120 characters")
        }
        let description = self.description ?? ""
        guard description.count <= Rules.descriptionMaxLength else {
            throw ValidationError(field: "description", message: "must be at most 2000 characters")
        }
        let address = self.address ?? ""
        guard address.count <= Rules.addressMaxLength else {
            throw ValidationError(field: "address", message: "must be at most 200 characters")
        }
        let location = try Rules.location(lat: lat, lon: lon)
        let radius = try Rules.distance(radiusKm, field: "radiusKm")
        guard Rules.neededRange.contains(needed) else {
            throw ValidationError(field: "needed", message: "must be a whole number from 1 to 10000")
        }
        let skills = try Rules.skills(self.skills ?? [])
        var starts = now
        if let text = startsAt {
            guard let t = RFC3339.parse(text) else {
                throw ValidationError(field: "startsAt", message: "must be an RFC 3339 time")
            }
            starts = t
        }
        guard let ends = RFC3339.parse(endsAt) else {
            throw ValidationError(field: "endsAt", message: "must be an RFC 3339 time")
        }
        guard ends > starts else {
            throw ValidationError(field: "endsAt", message: "must be after startsAt")
        }
        guard ends > now else {
            throw ValidationError(field: "endsAt", message: "must be in the future")
        }
        guard ends.millis - starts.millis <= Rules.maxCallDurationMillis else {
            throw ValidationError(field: "endsAt", message: "must be at most 7 days after startsAt")
        }
        var valid = Valid(
            title: title, description: description, address: address, location: location, radiusKm: radius,
            needed: needed, skills: skills, startsAt: starts, endsAt: ends)
        valid.dispatch = try dispatch(radiusKm: radius, endsAt: ends, now: now)
        valid.standby = standby ?? false
        return valid
    }

    /// The §7 and §10 dispatch settings; each mode reads only its own fields.
    private func dispatch(radiusKm: Double, endsAt: Timestamp, now: Timestamp) throws(ValidationError) -> DispatchMode {
        switch dispatchMode ?? "broadcast" {
        case "broadcast":
            return .broadcast
        case "waves":
            let max = try maxRadius(radiusKm: radiusKm)
            guard let seconds = Rules.wholeNumber(waveSeconds ?? Double(Waves.defaultWaveSeconds), in: Waves.waveSecondsRange) else {
                throw ValidationError(field: "dispatch.waveSeconds", message: "must be a whole number of seconds from 1 to 3600")
            }
            return .waves(maxRadiusKm: max, waveSeconds: seconds)
        case "deadline":
            let max = try maxRadius(radiusKm: radiusKm)
            guard let text = fillBy, let fillBy = RFC3339.parse(text) else {
                throw ValidationError(field: "dispatch.fillBy", message: "must be an RFC 3339 time")
            }
            guard fillBy > now, fillBy <= endsAt else {
                throw ValidationError(field: "dispatch.fillBy", message: "must be after now and at most endsAt")
            }
            let confidence = self.confidence ?? DeadlinePlanner.defaultConfidence
            guard confidence.isFinite, DeadlinePlanner.confidenceRange.contains(confidence) else {
                throw ValidationError(field: "dispatch.confidence", message: "must be a number from 0.5 to 0.99")
            }
            return .deadline(fillBy: fillBy, confidence: confidence, maxRadiusKm: max)
        default:
            throw ValidationError(field: "dispatch.mode", message: "must be \"broadcast\", \"waves\" or \"deadline\"")
        }
    }

    private func maxRadius(radiusKm: Double) throws(ValidationError) -> Double {
        let max = try Rules.distance(maxRadiusKm ?? radiusKm, field: "dispatch.maxRadiusKm")
        guard max >= radiusKm else {
            throw ValidationError(field: "dispatch.maxRadiusKm", message: "must be at least radiusKm")
        }
        return max
    }
}
