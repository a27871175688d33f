import Foundation

/// A position on the WGS84 ellipsoid, in degrees. Treated as a sphere for distances.
public struct GeoPoint: Sendable, Hashable {
    public var lat: Double
    public var lon: Double

    public init(lat: Double, lon: Double) {
        self.lat = lat
        self.lon = lon
    }

    /// True when both coordinates are finite and inside their ranges.
    public var isValid: Bool {
        lat.isFinite && lon.isFinite && (-90...90).contains(lat) && (-180...180).contains(lon)
    }
}

/// Great-circle distances as the contract defines them.
public enum Geo {
    /// Mean Earth radius (IUGG), the radius PROTOCOL.md prescribes for the haversine.
    public static let earthRadiusKm = 6371.0088
    /// Kilometres per degree of latitude on that sphere.
    public static let kmPerDegree = earthRadiusKm * Double.pi / 180

    /// Haversine distance in kilometres.
    @inlinable
    public static func distanceKm(_ a: GeoPoint, _ b: GeoPoint) -> Double {
        let toRad = Double.pi / 180
        let phi1 = a.lat * toRad
        let phi2 = b.lat * toRad
        let sinDPhi = sin((phi2 - phi1) / 2)
        let sinDLambda = sin((b.lon - a.lon) * toRad / 2)
        let h = sinDPhi * sinDPhi + cos(phi1) * cos(phi2) * sinDLambda * sinDLambda
        return 2 * earthRadiusKm * asin(min(1, h.squareRoot()))
    }

    /// The latitude/longitude box (in degrees) that contains every point within `radiusKm`
    /// of `center`. `lonHalfWidth` is nil when the circle reaches a pole or spans all
    /// longitudes, in which case every longitude must be searched.
    public static func boundingBox(center: GeoPoint, radiusKm: Double) -> (latLo: Double, latHi: Double, lonHalfWidth: Double?) {
        let angular = radiusKm / earthRadiusKm  // radians
        let dLat = angular * 180 / Double.pi
        // A small margin keeps points that sit exactly on the circle inside the box
        // despite rounding in the trigonometry below.
        let margin = 1e-9
        let latLo = max(-90, center.lat - dLat - margin)
        let latHi = min(90, center.lat + dLat + margin)
        if latLo <= -90 || latHi >= 90 || angular >= Double.pi / 2 {
            return (latLo, latHi, nil)
        }
        let ratio = sin(angular) / cos(center.lat * Double.pi / 180)
        if ratio >= 1 { return (latLo, latHi, nil) }
        let dLon = asin(ratio) * 180 / Double.pi + margin
        if dLon >= 180 { return (latLo, latHi, nil) }
        return (latLo, latHi, dLon)
    }
}
