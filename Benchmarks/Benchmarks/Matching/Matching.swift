// ordo-one/benchmark suite of the matching engine:
//   cd Benchmarks && swift package --allow-writing-to-package-directory benchmark --target Matching
// HELFERRUF_VOLUNTEERS sets the population (default 1,000,000). Every sample is one
// operation; the query centres cycle through the 1,000-centre population-weighted mix.
import Benchmark
import Foundation
import HelferrufCore
import MatchingWorkload

let volunteers = Int(ProcessInfo.processInfo.environment["HELFERRUF_VOLUNTEERS"] ?? "") ?? 1_000_000
let world = try! World(volunteers: volunteers)
nonisolated(unsafe) var movingGrid = world.grid
nonisolated(unsafe) var results = SlotBuffer(capacity: 1 << 20)
let moves = world.moves(count: 100_000, seed: 7)

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal], timeUnits: .microseconds, warmupIterations: 20,
        maxDuration: .seconds(3), maxIterations: 3000)

    for radius in [1.0, 5, 25] {
        let places: [(String, @Sendable (Int) -> GeoPoint)] = [
            ("mix", { world.centres[$0 % world.centres.count] }),
            ("Cologne", { _ in Population.cologne }),
            ("rural", { _ in Population.rural }),
        ]
        for (place, centre) in places {
            for filtered in [false, true] {
                let filter = filtered ? world.filter : nil
                Benchmark("query \(Int(radius)) km \(place)\(filtered ? " filtered" : "")") { benchmark in
                    results.removeAll()
                    world.grid.query(centre(benchmark.currentIteration), radiusKm: radius, into: results, filter: filter)
                    blackHole(results.count)
                }
            }
        }
    }

    Benchmark("update (move up to 500 m)", configuration: .init(timeUnits: .nanoseconds, maxIterations: 100_000)) { benchmark in
        let m = moves[benchmark.currentIteration % moves.count]
        movingGrid.update(m.slot, to: m.to)
    }

    Benchmark("remove and re-insert", configuration: .init(timeUnits: .nanoseconds, maxIterations: 100_000)) { benchmark in
        let slot = UInt32(benchmark.currentIteration * 7919 % volunteers)
        movingGrid.remove(slot)
        movingGrid.update(slot, to: world.population.points[Int(slot)])
    }

    Benchmark("build (bulk load)", configuration: .init(timeUnits: .milliseconds, warmupIterations: 1, maxIterations: 10)) { _ in
        var g = GeoGrid()
        g.load(slots: world.slots, points: world.population.points, tags: world.population.tags)
        blackHole(g.count)
    }
}
