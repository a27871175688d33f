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
    }
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

    public init(title: String, description: String?, address: String?, lat: Double, lon: Double, radiusKm: Double, needed: Int, skills: [String]?, startsAt: String?, endsAt: String) {
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
        return Valid(
            title: title, description: description, address: address, location: location, radiusKm: radius,
            needed: needed, skills: skills, startsAt: starts, endsAt: ends)
    }
}
