import Testing

@testable import HelferrufCore

/// The index against a brute-force haversine scan: same set of slots, always.
@Suite struct GeoGridPropertyTests {
    /// Where a scenario puts its points and query centres.
    enum Region: CaseIterable {
        case city, cellBorders, northPole, southPole, antimeridian, world

        func point(_ rng: inout SeededRandom) -> GeoPoint {
            switch self {
            case .city:
                return GeoPoint(lat: 50.9375 + .random(in: -0.3...0.3, using: &rng), lon: 6.9603 + .random(in: -0.4...0.4, using: &rng))
            case .cellBorders:
                // Exactly on 0.01° lines (as exact as Double allows), and a hair either side.
                let lat = 51.0 + Double(Int.random(in: -30...30, using: &rng)) * 0.01
                let lon = 7.0 + Double(Int.random(in: -30...30, using: &rng)) * 0.01
                let nudge = [0, 1e-12, -1e-12, 0.005].randomElement(using: &rng)!
                return GeoPoint(lat: lat + nudge, lon: lon - nudge)
            case .northPole:
                return GeoPoint(lat: [90.0, 89.999, .random(in: 84...90, using: &rng)].randomElement(using: &rng)!,
                                lon: .random(in: -180...180, using: &rng))
            case .southPole:
                return GeoPoint(lat: [-90.0, -89.999, .random(in: -90 ... -84, using: &rng)].randomElement(using: &rng)!,
                                lon: .random(in: -180...180, using: &rng))
            case .antimeridian:
                let lon = [180.0, -180.0, .random(in: 179...180, using: &rng), .random(in: -180 ... -179, using: &rng)].randomElement(using: &rng)!
                return GeoPoint(lat: .random(in: -60...60, using: &rng), lon: lon)
            case .world:
                return GeoPoint(lat: .random(in: -90...90, using: &rng), lon: .random(in: -180...180, using: &rng))
            }
        }
    }

    static func radius(_ rng: inout SeededRandom) -> Double {
        [0.1, 200, 0.005, .random(in: 0.1...5, using: &rng), .random(in: 5...200, using: &rng), 25, 1].randomElement(using: &rng)!
    }

    static func bruteForce(_ points: [UInt32: GeoPoint], _ center: GeoPoint, _ radiusKm: Double) -> [UInt32] {
        points.filter { Geo.distanceKm(center, $0.value) <= radiusKm }.map(\.key).sorted()
    }

    static func indexed(_ grid: GeoGrid, _ center: GeoPoint, _ radiusKm: Double) -> [UInt32] {
        let out = SlotBuffer(capacity: 16)
        grid.query(center, radiusKm: radiusKm, into: out)
        return out.slots.sorted()
    }

    /// 6 regions × 3 seeds × 100 queries, plus 6 × 3 × 100 queries whose radius is the exact
    /// distance to an indexed point (which must then be found): 3,600 static cases.
    @Test(arguments: Region.allCases)
    func staticPointsMatchBruteForce(region: Region) {
        for seed in UInt64(1)...3 {
            var rng = SeededRandom(seed: seed &* 7919 &+ UInt64(Region.allCases.firstIndex(of: region)!))
            var grid = GeoGrid()
            var points: [UInt32: GeoPoint] = [:]
            for slot in UInt32(0)..<300 {
                // Every fifth point duplicates an earlier position.
                let p = slot % 5 == 4 ? points[slot - 1]! : region.point(&rng)
                points[slot] = p
                grid.update(slot, to: p)
            }
            for q in 0..<200 {
                let center = region.point(&rng)
                var r = Self.radius(&rng)
                if q % 2 == 1 {
                    let target = points[UInt32.random(in: 0..<300, using: &rng)]!
                    r = Geo.distanceKm(center, target)
                    let found = Self.indexed(grid, center, r)
                    #expect(found.contains { points[$0] == target }, "point on the circle missing, r=\(r)")
                }
                let expected = Self.bruteForce(points, center, r)
                #expect(Self.indexed(grid, center, r) == expected, "center \(center) r \(r)")
            }
        }
    }

    /// Moves, removals and re-insertions interleaved with queries: 6 regions × 1,100 steps,
    /// a query every step (6,600 cases). A slot can move between regions.
    @Test(arguments: Region.allCases)
    func updatesInterleavedWithQueries(region: Region) {
        var rng = SeededRandom(seed: 4242 &+ UInt64(Region.allCases.firstIndex(of: region)!))
        var grid = GeoGrid()
        var points: [UInt32: GeoPoint] = [:]
        for step in 0..<1100 {
            let slot = UInt32.random(in: 0..<300, using: &rng)
            switch Int.random(in: 0..<10, using: &rng) {
            case 0..<2:
                grid.remove(slot)
                points[slot] = nil
            case 2..<4 where points[slot] != nil:
                // A short move, usually within the same or a neighbouring cell.
                let p = points[slot]!
                let q = GeoPoint(lat: min(90, max(-90, p.lat + .random(in: -0.004...0.004, using: &rng))),
                                 lon: min(180, max(-180, p.lon + .random(in: -0.004...0.004, using: &rng))))
                grid.update(slot, to: q)
                points[slot] = q
            default:
                let p = (step % 7 == 0 ? Region.world : region).point(&rng)
                grid.update(slot, to: p)
                points[slot] = p
            }
            #expect(grid.count == points.count)
            let center = region.point(&rng), r = Self.radius(&rng)
            #expect(Self.indexed(grid, center, r) == Self.bruteForce(points, center, r), "step \(step)")
        }
        for (slot, p) in points { #expect(grid.position(of: slot) == p) }
    }

    /// A bulk load gives the same answers as single updates, and survives the moves that
    /// make full cells relocate and the arena compact.
    @Test func loadThenManyMovesMatchBruteForce() {
        var rng = SeededRandom(seed: 99)
        let n = 5000
        let slots = (0..<UInt32(n)).map { $0 }
        var points = (0..<n).map { _ in Region.city.point(&rng) }
        var grid = GeoGrid()
        grid.load(slots: slots, points: points)
        #expect(grid.count == n)
        for round in 0..<4 {
            // Crowd everyone into a few cells, then spread them out again.
            for k in 0..<n {
                let p = round % 2 == 0
                    ? GeoPoint(lat: 50.9 + Double(k % 3) * 0.01 + 0.001, lon: 6.9 + 0.001)
                    : Region.city.point(&rng)
                points[k] = p
                grid.update(UInt32(k), to: p)
            }
            let model = Dictionary(uniqueKeysWithValues: zip(slots, points))
            for _ in 0..<50 {
                let center = Region.city.point(&rng), r = Self.radius(&rng)
                #expect(Self.indexed(grid, center, r) == Self.bruteForce(model, center, r), "round \(round)")
            }
        }
        #expect(grid.memoryBytes > 0)
    }

    @Test func filterKeepsOnlySlotsWithRequiredBits() {
        var rng = SeededRandom(seed: 7)
        var grid = GeoGrid()
        var points: [UInt32: GeoPoint] = [:]
        var words = [UInt64](repeating: 0, count: 500)
        for slot in UInt32(0)..<500 {
            let p = Region.city.point(&rng)
            points[slot] = p
            grid.update(slot, to: p)
            // Low 8 bits are mirrored in the tag, higher ones only in the words.
            words[Int(slot)] = UInt64.random(in: 0..<1024, using: &rng)
            grid.setTag(slot, UInt8(truncatingIfNeeded: words[Int(slot)]))
        }
        for _ in 0..<200 {
            let center = Region.city.point(&rng), r = Self.radius(&rng)
            let required = UInt64.random(in: 0..<16, using: &rng) | (Bool.random(using: &rng) ? 1 << UInt64.random(in: 8..<10, using: &rng) : 0)
            let out = SlotBuffer(capacity: 16)
            grid.query(center, radiusKm: r, into: out, filter: SlotFilter(words: words, required: required))
            let expected = Self.bruteForce(points, center, r).filter { words[Int($0)] & required == required }
            #expect(out.slots.sorted() == expected)
        }
    }
}
