import HelferrufCore
import Synchronization

/// One way to own the live index while location updates and fan-out queries run
/// concurrently. Every design answers the same operations on the same data.
public protocol IndexOwner: Sendable {
    var name: String { get }
    func move(_ slot: UInt32, to point: GeoPoint) async
    /// Runs a filtered radius query and returns how many slots it found.
    func query(_ center: GeoPoint, radiusKm: Double) async -> Int
}

/// What the server's `Hub` does today: the whole index behind one `Mutex`.
public final class MutexOwner: IndexOwner {
    public let name = "mutex"
    private let grid: Mutex<GeoGrid>
    private let filter: SlotFilter

    public init(_ grid: GeoGrid, filter: SlotFilter) {
        self.grid = Mutex(grid)
        self.filter = filter
    }

    public func move(_ slot: UInt32, to point: GeoPoint) async {
        grid.withLock { $0.update(slot, to: point) }
    }

    public func query(_ center: GeoPoint, radiusKm: Double) async -> Int {
        let out = SlotBuffer(capacity: 4096)
        grid.withLock { $0.query(center, radiusKm: radiusKm, into: out, filter: filter) }
        return out.count
    }
}

/// The index owned by an actor: every operation is a hop onto its executor.
public actor ActorOwner: IndexOwner {
    public nonisolated let name = "actor"
    private var grid: GeoGrid
    private let filter: SlotFilter

    public init(_ grid: GeoGrid, filter: SlotFilter) {
        self.grid = grid
        self.filter = filter
    }

    public func move(_ slot: UInt32, to point: GeoPoint) {
        grid.update(slot, to: point)
    }

    public func query(_ center: GeoPoint, radiusKm: Double) -> Int {
        let out = SlotBuffer(capacity: 4096)
        grid.query(center, radiusKm: radiusKm, into: out, filter: filter)
        return out.count
    }
}

/// The index split into stripes of longitude, each behind its own `Mutex`: writers in
/// different stripes never contend; a query locks the stripes its circle overlaps, one
/// after the other. A move across stripes is a remove and an insert.
public final class ShardedOwner: IndexOwner {
    public let name: String
    private final class Shard: Sendable {
        let grid: Mutex<GeoGrid>
        init(_ grid: GeoGrid) { self.grid = Mutex(grid) }
    }

    private let shards: [Shard]
    private let stripeDegrees: Double
    private let west: Double
    private let filter: SlotFilter

    public init(_ slots: [UInt32], _ points: [GeoPoint], tags: [UInt8], shards count: Int, filter: SlotFilter) {
        name = "sharded-\(count)"
        west = points.map(\.lon).min() ?? 0
        let east = points.map(\.lon).max() ?? 0
        stripeDegrees = max(1e-6, (east - west) / Double(count))
        var parts = [[Int]](repeating: [], count: count)
        for k in points.indices { parts[Self.stripe(points[k].lon, west, stripeDegrees, count)].append(k) }
        shards = parts.map { ks in
            var g = GeoGrid()
            g.load(slots: ks.map { slots[$0] }, points: ks.map { points[$0] }, tags: ks.map { tags[$0] })
            return Shard(g)
        }
        self.filter = filter
    }

    private static func stripe(_ lon: Double, _ west: Double, _ width: Double, _ count: Int) -> Int {
        min(count - 1, max(0, Int((lon - west) / width)))
    }

    private func stripe(_ lon: Double) -> Int { Self.stripe(lon, west, stripeDegrees, shards.count) }

    public func move(_ slot: UInt32, to point: GeoPoint) async {
        let target = stripe(point.lon)
        // The old stripe is unknown without a slot table; the neighbours suffice for moves
        // of 500 m, and a stripe is far wider than that.
        for s in max(0, target - 1)...min(shards.count - 1, target + 1) where s != target {
            shards[s].grid.withLock { $0.remove(slot) }
        }
        shards[target].grid.withLock { $0.update(slot, to: point) }
    }

    public func query(_ center: GeoPoint, radiusKm: Double) async -> Int {
        let half = Geo.boundingBox(center: center, radiusKm: radiusKm).lonHalfWidth ?? 180
        let out = SlotBuffer(capacity: 4096)
        for s in stripe(center.lon - half)...stripe(center.lon + half) {
            shards[s].grid.withLock { $0.query(center, radiusKm: radiusKm, into: out, filter: filter) }
        }
        return out.count
    }
}

/// Runs `writers` tasks of location updates and `readers` tasks of 5 km filtered queries
/// against one owner at the same time, each task a fixed number of operations.
public struct ContentionResult: Sendable {
    public var owner: String
    public var seconds: Double
    public var updatesPerSecond: Double
    public var queriesPerSecond: Double
    public var queryP50Micros: Double
    public var queryP99Micros: Double
}

public func runContention(
    _ owner: any IndexOwner, moves: [(slot: UInt32, to: GeoPoint)], centres: [GeoPoint],
    writers: Int, readers: Int, queriesPerReader: Int
) async -> ContentionResult {
    let perWriter = moves.count / writers
    let start = nowNanos()
    let latencies = await withTaskGroup(of: [UInt64].self) { group in
        for w in 0..<writers {
            group.addTask {
                for k in w * perWriter..<(w + 1) * perWriter {
                    await owner.move(moves[k].slot, to: moves[k].to)
                    if k & 255 == 0 { await Task.yield() }
                }
                return []
            }
        }
        for r in 0..<readers {
            group.addTask {
                var times: [UInt64] = []
                for q in 0..<queriesPerReader {
                    let t0 = nowNanos()
                    _ = await owner.query(centres[(r * 7919 + q) % centres.count], radiusKm: 5)
                    times.append(nowNanos() - t0)
                    if q & 7 == 0 { await Task.yield() }
                }
                return times
            }
        }
        var all: [UInt64] = []
        for await t in group { all += t }
        return all
    }
    let seconds = Double(nowNanos() - start) / 1e9
    return ContentionResult(
        owner: owner.name, seconds: seconds,
        updatesPerSecond: Double(perWriter * writers) / seconds,
        queriesPerSecond: Double(readers * queriesPerReader) / seconds,
        queryP50Micros: Double(median(latencies)) / 1000, queryP99Micros: Double(percentile(latencies, 99)) / 1000)
}
