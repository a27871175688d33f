import Foundation
import HelferrufCore

/// A populated index with its query centres: what every matching benchmark starts from.
public struct World: Sendable {
    public let population: Population
    public var grid: GeoGrid
    /// 1,000 query centres drawn from the population's own distribution.
    public let centres: [GeoPoint]
    public let slots: [UInt32]

    public init(volunteers: Int, cellDegrees: Double = 0.01, townsPath: String = Town.defaultPath, seed: UInt64 = 1) throws {
        var population = Population(towns: try Town.load(townsPath))
        population.generate(count: volunteers, seed: seed)
        self.population = population
        slots = (0..<UInt32(volunteers)).map { $0 }
        grid = GeoGrid(cellDegrees: cellDegrees)
        grid.load(slots: slots, points: population.points, tags: population.tags)
        centres = population.sample(count: 1000, seed: seed &+ 1000)
    }

    /// The filter of the filtered queries: available, with first aid.
    public var filter: SlotFilter { SlotFilter(words: population.words, required: Population.filteredRequirement) }

    /// `count` moves of random volunteers, each up to 500 m from where the previous moves
    /// left them.
    public func moves(count: Int, seed: UInt64) -> [(slot: UInt32, to: GeoPoint)] {
        var rng = SplitMix64(seed: seed)
        var at = population.points
        return (0..<count).map { _ in
            let slot = Int.random(in: 0..<at.count, using: &rng)
            let distance = Double.random(in: 0...0.5, using: &rng), bearing = Double.random(in: 0..<(2 * Double.pi), using: &rng)
            at[slot] = Population.offset(at[slot], northKm: distance * cos(bearing), eastKm: distance * sin(bearing))
            return (UInt32(slot), at[slot])
        }
    }
}
