/// A rule of the contract that an input broke. `field` names the offending field with
/// dots for nesting (`location.lat`), as the API's error shape requires.
public struct ValidationError: Error, Sendable, Equatable {
    public var field: String
    public var message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }
}

/// The field rules of PROTOCOL.md §3, shared by the HTTP API and the WebSocket handlers.
public enum Rules {
    public static let displayNameLength = 1...60
    public static let contactMaxLength = 200
    public static let maxSkills = 20
    public static let distanceRangeKm = 0.1...200.0
    public static let defaultMaxDistanceKm = 10.0
    public static let titleLength = 1...120
    public static let descriptionMaxLength = 2000
    public static let addressMaxLength = 200
    public static let neededRange = 1...10_000
    public static let maxCallDurationMillis: Int64 = 7 * 24 * 3600 * 1000
    public static let organisationNameLength = 1...100

    /// Trims white space and checks the length of a display name.
    public static func displayName(_ raw: String, field: String = "displayName") throws(ValidationError) -> String {
        let trimmed = raw.trimmingWhitespace()
        guard displayNameLength.contains(trimmed.count) else {
            throw ValidationError(field: field, message: "must be 1 to 60 characters after trimming")
        }
        return trimmed
    }

    public static func contact(_ raw: String) throws(ValidationError) -> String {
        guard raw.count <= contactMaxLength else {
            throw ValidationError(field: "contact", message: "must be at most 200 characters")
        }
        return raw
    }

    public static func maxDistance(_ value: Double) throws(ValidationError) -> Double {
        try distance(value, field: "maxDistanceKm")
    }

    public static func distance(_ value: Double, field: String) throws(ValidationError) -> Double {
        guard value.isFinite, distanceRangeKm.contains(value) else {
            throw ValidationError(field: field, message: "must be a number from 0.1 to 200")
        }
        return value
    }

    /// Checks every slug and drops duplicates, keeping the first occurrence's order.
    public static func skills(_ raw: [String], field: String = "skills") throws(ValidationError) -> [String] {
        guard raw.count <= maxSkills else {
            throw ValidationError(field: field, message: "at most 20 skills")
        }
        var seen = Set<String>()
        var out: [String] = []
        for (i, slug) in raw.enumerated() {
            guard isSkillSlug(slug) else {
                throw ValidationError(field: "\(field).\(i)", message: "must match ^[a-z0-9][a-z0-9-]{0,31}$")
            }
            if seen.insert(slug).inserted { out.append(slug) }
        }
        return out
    }

    public static func isSkillSlug(_ s: String) -> Bool {
        let bytes = s.utf8
        guard let first = bytes.first, bytes.count <= 32 else { return false }
        func alnum(_ c: UInt8) -> Bool { (c >= 97 && c <= 122) || (c >= 48 && c <= 57) }
        return alnum(first) && bytes.dropFirst().allSatisfy { alnum($0) || $0 == 45 }
    }

    public static func location(lat: Double, lon: Double, field: String = "location") throws(ValidationError) -> GeoPoint {
        guard lat.isFinite, (-90...90).contains(lat) else {
            throw ValidationError(field: field.isEmpty ? "lat" : "\(field).lat", message: "must be a number from -90 to 90")
        }
        guard lon.isFinite, (-180...180).contains(lon) else {
            throw ValidationError(field: field.isEmpty ? "lon" : "\(field).lon", message: "must be a number from -180 to 180")
        }
        return GeoPoint(lat: lat, lon: lon)
    }

    /// An alert area (PROTOCOL.md §8): a valid position, rounded to two decimals (about
    /// 1 km) before anything stores or returns it.
    public static func alertArea(lat: Double, lon: Double) throws(ValidationError) -> GeoPoint {
        let p = try location(lat: lat, lon: lon, field: "alertArea")
        return GeoPoint(lat: (p.lat * 100).rounded() / 100, lon: (p.lon * 100).rounded() / 100)
    }

    /// A JSON number that must be a whole number within `range` (NaN, infinities and
    /// fractions are not); nil when it is not.
    public static func wholeNumber(_ value: Double, in range: ClosedRange<Int>) -> Int? {
        Int(exactly: value).flatMap { range.contains($0) ? $0 : nil }
    }

    public static func organisationName(_ raw: String) throws(ValidationError) -> String {
        let trimmed = raw.trimmingWhitespace()
        guard organisationNameLength.contains(trimmed.count) else {
            throw ValidationError(field: "name", message: "must be 1 to 100 characters")
        }
        return trimmed
    }
}

extension String {
    /// The string without leading and trailing white space and newlines.
    public func trimmingWhitespace() -> String {
        var scalars = Substring(self).unicodeScalars
        while let f = scalars.first, f.properties.isWhitespace { scalars.removeFirst() }
        while let l = scalars.last, l.properties.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
