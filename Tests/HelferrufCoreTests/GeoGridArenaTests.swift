import Testing

@testable import HelferrufCore

/// The arena's log and cleaner (`GeoGrid+Arena.swift`): bookkeeping stays consistent, moves
/// never lay the arena out anew, and queries stay exact through crowding, wrap-around and
/// growth.
@Suite struct GeoGridArenaTests {
    /// Moves, crowding into one cell and dispersal, removals and re-insertions on a loaded
    /// index: the arena keeps its size (no O(n) rewrite) while the cleaner laps it.
    @Test func movesNeverRewriteTheArena() {
        var rng = SeededRandom(seed: 31)
        let n = 20_000
        var points = (0..<n).map { _ in GeoGridPropertyTests.Region.city.point(&rng) }
        var grid = GeoGrid()
        grid.load(slots: (0..<UInt32(n)).map { $0 }, points: points)
        let size = grid.arenaSize
        var present = [Bool](repeating: true, count: n)
        var tailLaps = 0, lastTail = grid.tail
        for step in 0..<60_000 {
            let k = Int.random(in: 0..<n, using: &rng)
            switch step % 20_000 {
            case 5_000..<5_500:
                // 500 volunteers (2.5%) gather in one cell, then disperse.
                points[k] = GeoPoint(lat: 50.9405, lon: 6.9605)
            default:
                if Int.random(in: 0..<10, using: &rng) == 0 {
                    if present[k] { grid.remove(UInt32(k)) }
                    present[k].toggle()
                    if !present[k] { continue }
                } else {
                    let p = points[k]
                    points[k] = GeoPoint(lat: p.lat + .random(in: -0.005...0.005, using: &rng),
                                         lon: p.lon + .random(in: -0.005...0.005, using: &rng))
                }
            }
            present[k] = true
            grid.update(UInt32(k), to: points[k])
            if grid.tail < lastTail { tailLaps += 1 }
            lastTail = grid.tail
            #expect(grid.arenaSize == size, "step \(step): arena laid out anew")
            if step % 2_000 == 0 {
                #expect(grid.arenaViolation() == nil, "step \(step): \(grid.arenaViolation() ?? "")")
                let center = GeoGridPropertyTests.Region.city.point(&rng), r = GeoGridPropertyTests.radius(&rng)
                let model = Dictionary(uniqueKeysWithValues: (0..<n).filter { present[$0] }.map { (UInt32($0), points[$0]) })
                #expect(GeoGridPropertyTests.indexed(grid, center, r) == GeoGridPropertyTests.bruteForce(model, center, r))
            }
        }
        #expect(grid.arenaViolation() == nil)
        #expect(tailLaps >= 2, "the cleaner should have lapped the arena")
    }

    /// A crowd whose cell's run outgrows the arena's slack (10% of everyone in one cell)
    /// grows the arena once, not again when it disperses and gathers anew.
    @Test func aHugeCrowdGrowsTheArenaOnce() {
        var rng = SeededRandom(seed: 5)
        let n = 10_000
        let points = (0..<n).map { _ in GeoGridPropertyTests.Region.city.point(&rng) }
        var grid = GeoGrid()
        grid.load(slots: (0..<UInt32(n)).map { $0 }, points: points)
        var sizes = [grid.arenaSize]
        for round in 0..<3 {
            for k in 0..<1_000 { grid.update(UInt32(k), to: GeoPoint(lat: 50.9405, lon: 6.9605)) }
            for k in 0..<1_000 { grid.update(UInt32(k), to: points[k]) }
            #expect(grid.arenaViolation() == nil, "round \(round)")
            if sizes.last != grid.arenaSize { sizes.append(grid.arenaSize) }
        }
        #expect(sizes.count == 2, "sizes \(sizes)")
        let center = GeoPoint(lat: 50.9405, lon: 6.9605)
        let model = Dictionary(uniqueKeysWithValues: (0..<n).map { (UInt32($0), points[$0]) })
        #expect(GeoGridPropertyTests.indexed(grid, center, 5) == GeoGridPropertyTests.bruteForce(model, center, 5))
    }

    /// The matcher's path: volunteers arrive one by one into an empty index, which grows;
    /// moves and removals interleave, and every query is exact.
    @Test func incrementalBuildGrowsAndStaysExact() {
        var rng = SeededRandom(seed: 77)
        var grid = GeoGrid()
        var points: [UInt32: GeoPoint] = [:]
        var sizes: Set<Int> = []
        for step in 0..<30_000 {
            let slot = UInt32(step < 20_000 ? step : Int.random(in: 0..<20_000, using: &rng))
            if step >= 20_000 && step % 5 == 0 {
                grid.remove(slot)
                points[slot] = nil
            } else {
                let p = GeoGridPropertyTests.Region.allCases.randomElement(using: &rng)!.point(&rng)
                grid.update(slot, to: p)
                points[slot] = p
            }
            sizes.insert(grid.arenaSize)
            if step % 1_000 == 999 {
                #expect(grid.arenaViolation() == nil, "step \(step): \(grid.arenaViolation() ?? "")")
                let center = GeoGridPropertyTests.Region.city.point(&rng), r = GeoGridPropertyTests.radius(&rng)
                #expect(GeoGridPropertyTests.indexed(grid, center, r) == GeoGridPropertyTests.bruteForce(points, center, r))
            }
        }
        #expect(grid.count == points.count)
        #expect(sizes.count < 20, "the arena grows geometrically, not per insertion")
    }
}

extension GeoGrid {
    /// The first broken rule of the arena's bookkeeping, or nil.
    func arenaViolation() -> String? {
        var owner = [Int](repeating: -1, count: arenaSize)
        var capacities = 0, points = 0, needed = 0
        for (c, cell) in cells.enumerated() {
            guard cell.capacity > 0 else {
                if cell.count != 0 { return "cell \(c) has points but no run" }
                continue
            }
            if cell.count == 0 { return "empty cell \(c) keeps a run" }
            if cell.count > cell.capacity { return "cell \(c) overfull" }
            capacities += Int(cell.capacity)
            points += Int(cell.count)
            needed += Self.runLength(Int(cell.count))
            for k in Int(cell.start)..<Int(cell.start + cell.capacity) {
                if k >= arenaSize || owner[k] >= 0 { return "run of cell \(c) overlaps another or the end" }
                owner[k] = c
                // Every run lies in the log: among the `used` entries before the tail.
                if (tail - 1 - k + 2 * arenaSize) % arenaSize >= used { return "run of cell \(c) outside the log" }
            }
            for k in Int(cell.start)..<Int(cell.start + cell.count) {
                let slot = Int(slotsAt[k] & Self.slotMask)
                if positions[slot] != UInt32(k) { return "slot \(slot) does not point back at entry \(k)" }
                if cellIdIfPresent(row(lats[k]), column(lons[k])) != c { return "entry \(k) in the wrong cell" }
            }
        }
        if capacities != live { return "live \(live) but runs hold \(capacities)" }
        if points != count { return "count \(count) but cells hold \(points)" }
        if needed != need { return "need \(need) but runs of the counts make \(needed)" }
        if used < live || used > arenaSize { return "used \(used) out of range" }
        return nil
    }
}
