import Testing
@testable import HelferrufCore

@Suite struct GeoGridTests {
    /// Random points in awkward places (poles, the antimeridian, cell borders, duplicates)
    /// with interleaved moves and removals; every query equals the brute-force set.
    @Test func queriesEqualBruteForceEverywhere() {
        var rng = SeededRandom(seed: 99)
        var grid = GeoGrid()
        var points: [UInt32: GeoPoint] = [:]
        let anchors = [
            GeoPoint(lat: 50.94, lon: 6.96), GeoPoint(lat: 89.9, lon: 0), GeoPoint(lat: -89.95, lon: 120),
            GeoPoint(lat: 10, lon: 179.99), GeoPoint(lat: -5, lon: -179.995), GeoPoint(lat: 0.01, lon: 0.02),
        ]
        func point() -> GeoPoint {
            let a = anchors[Int.random(in: 0..<anchors.count, using: &rng)]
            if Int.random(in: 0..<5, using: &rng) == 0 { return a }  // duplicates, exactly on a cell border
            var lon = a.lon + Double.random(in: -1...1, using: &rng)
            if lon > 180 { lon -= 360 }
            if lon < -180 { lon += 360 }
            return GeoPoint(lat: max(-90, min(90, a.lat + Double.random(in: -0.5...0.5, using: &rng))), lon: lon)
        }
        for slot in UInt32(0)..<2000 {
            let p = point()
            grid.update(slot, to: p)
            points[slot] = p
        }
        for round in 0..<200 {
            for _ in 0..<20 {
                let slot = UInt32.random(in: 0..<2000, using: &rng)
                if Bool.random(using: &rng) {
                    let p = point()
                    grid.update(slot, to: p)
                    points[slot] = p
                } else {
                    grid.remove(slot)
                    points[slot] = nil
                }
            }
            let center = point()
            let radius = [0.1, 1, 5, 25, 120, 200][round % 6]
            var got: [UInt32: Double] = [:]
            grid.forEach(within: radius, of: center) { slot, d in got[slot] = d }
            let expected = points.filter { Geo.distanceKm(center, $0.value) <= radius }
            #expect(Set(got.keys) == Set(expected.keys), "round \(round) radius \(radius) at \(center)")
            #expect(grid.count == points.count)
        }
    }

    @Test func moveWithinAndAcrossCellsAndRemove() {
        var grid = GeoGrid()
        grid.update(1, to: GeoPoint(lat: 50, lon: 7))
        grid.update(2, to: GeoPoint(lat: 50, lon: 7))
        grid.update(1, to: GeoPoint(lat: 50.001, lon: 7.001))
        #expect(grid.position(of: 1) == GeoPoint(lat: 50.001, lon: 7.001))
        grid.update(1, to: GeoPoint(lat: 52, lon: 9))
        var found: [UInt32] = []
        grid.forEach(within: 1, of: GeoPoint(lat: 50, lon: 7)) { s, _ in found.append(s) }
        #expect(found == [2])
        grid.remove(2)
        grid.remove(2)
        #expect(grid.count == 1)
        #expect(grid.position(of: 2) == nil)
    }
}
