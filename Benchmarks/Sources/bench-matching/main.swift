// Measures the matching engine on a population-weighted NRW population and prints one JSON
// object (figures by name). `scripts/bench-matching` runs it next to the Redis baseline.
//
//   bench-matching [--volunteers N] [--export DIR] [--cell-sweep] [--concurrency]
//
// --export writes the points and the query set for the Redis baseline (same data).
import Foundation
import HelferrufCore
import MatchingWorkload

var volunteers = 1_000_000
var exportDir: String?
var cellSweep = false
var concurrency = false
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let a = arguments.next() {
    switch a {
    case "--volunteers": volunteers = Int(arguments.next() ?? "") ?? volunteers
    case "--export": exportDir = arguments.next()
    case "--cell-sweep": cellSweep = true
    case "--concurrency": concurrency = true
    default: fatalError("unknown argument \(a)")
    }
}

func log(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }

var figures: [String: Double] = ["volunteers": Double(volunteers)]
let world = try World(volunteers: volunteers)
let n = volunteers

// Build: the bulk load of every volunteer, median of 5, in wall time and in this thread's
// CPU time (which the other processes of a shared machine do not inflate by preemption).
var buildMs: [Double] = [], buildCpuMs: [Double] = []
func loaded() -> GeoGrid {
    var g = GeoGrid()
    g.load(slots: world.slots, points: world.population.points, tags: world.population.tags)
    return g
}
for _ in 0..<5 {
    let t0 = nowNanos(), c0 = threadCpuNanos()
    let g = loaded()
    buildMs.append(Double(nowNanos() - t0) / 1e6)
    buildCpuMs.append(Double(threadCpuNanos() - c0) / 1e6)
    precondition(g.count == n)
}
figures["build_1m_ms"] = median(buildMs)
figures["build_1m_cpu_ms"] = median(buildCpuMs)
figures["index_bytes_per_volunteer"] = Double(world.grid.memoryBytes) / Double(n)
figures["filter_bytes_per_volunteer"] = 8
log("built \(n) in \(median(buildMs)) ms (CPU \(median(buildCpuMs)) ms), \(figures["index_bytes_per_volunteer"]!) B/volunteer")

/// Median time per query (µs) over `passes` runs of `centres`, and the mean result count.
func timeQueries(_ grid: GeoGrid, _ centres: [GeoPoint], _ radius: Double, _ filter: SlotFilter?, passes: Int) -> (p50: Double, found: Double) {
    let out = SlotBuffer(capacity: 1 << 20)
    var times: [UInt64] = []
    var found = 0
    for pass in 0..<passes {
        for c in centres {
            out.removeAll()
            let t0 = nowNanos()
            grid.query(c, radiusKm: radius, into: out, filter: filter)
            times.append(nowNanos() - t0)
            if pass == 0 { found += out.count }
        }
    }
    return (Double(median(times)) / 1000, Double(found) / Double(centres.count))
}

let places: [(String, [GeoPoint])] = [
    ("", world.centres),
    ("_cologne", Array(repeating: Population.cologne, count: 200)),
    ("_rural", Array(repeating: Population.rural, count: 200)),
]
for radius in [1.0, 5, 25] {
    for (place, centres) in places {
        for (kind, filter) in [("", nil), ("_filtered", world.filter)] as [(String, SlotFilter?)] {
            let passes = radius == 25 && place.isEmpty ? 1 : 3
            let r = timeQueries(world.grid, centres, radius, filter, passes: passes)
            let key = "query\(Int(radius))km\(kind)\(place)"
            figures[key + "_p50_us"] = r.p50
            figures[key + "_found"] = r.found
            log("\(key): p50 \(r.p50) µs, \(r.found) found")
        }
    }
}

// Updates: moves of up to 500 m on an index of their own (a copy of `world.grid` would
// copy arrays on first write, inside the timing). The median per move from batches of 100;
// the tail from timing every move of three replays of the same moves, each on a freshly
// loaded index: the work is deterministic, so the minimum per move over the replays drops
// the preemptions of a loaded machine and keeps every pause the index itself makes.
let moves = world.moves(count: min(1_000_000, 2 * n), seed: 7)
var grid = loaded()
var batchTimes: [Double] = []
for b in stride(from: 0, to: moves.count - 99, by: 100) {
    let t0 = nowNanos()
    for k in b..<b + 100 { grid.update(moves[k].slot, to: moves[k].to) }
    batchTimes.append(Double(nowNanos() - t0) / 100)
}
figures["update_p50_ns"] = median(batchTimes)
figures["index_bytes_per_volunteer_after_moves"] = Double(grid.memoryBytes) / Double(grid.count)
var fastest = [UInt64](repeating: .max, count: moves.count)
for replay in 0..<3 {
    var g = loaded()
    var times = [UInt64](repeating: 0, count: moves.count)
    for (k, m) in moves.enumerated() {
        let t0 = nowNanos()
        g.update(m.slot, to: m.to)
        times[k] = nowNanos() - t0
    }
    for k in times.indices { fastest[k] = min(fastest[k], times[k]) }
    if replay == 0 { figures["update_single_run_max_us"] = Double(times.max()!) / 1000 }
}
figures["update_each_p50_ns"] = Double(percentile(fastest, 50))
figures["update_each_p99_ns"] = Double(percentile(fastest, 99))
figures["update_each_p999_ns"] = Double(percentile(fastest, 99.9))
figures["update_each_max_us"] = Double(fastest.max()!) / 1000
log("update p50 \(figures["update_p50_ns"]!) ns (batches); each: p50 \(figures["update_each_p50_ns"]!) ns, p99.9 \(figures["update_each_p999_ns"]!) ns, max \(figures["update_each_max_us"]!) µs (min of 3 replays), single run max \(figures["update_single_run_max_us"]!) µs")

// Removals and re-insertions of distinct random volunteers, batches of 100.
var rng = SplitMix64(seed: 11)
let victims = Array(world.slots.shuffled(using: &rng).prefix(min(100_000, n / 2)))
var removeTimes: [Double] = [], insertTimes: [Double] = []
for b in stride(from: 0, to: victims.count - 99, by: 100) {
    let t0 = nowNanos()
    for k in b..<b + 100 { grid.remove(victims[k]) }
    removeTimes.append(Double(nowNanos() - t0) / 100)
}
for b in stride(from: 0, to: victims.count - 99, by: 100) {
    let t0 = nowNanos()
    for k in b..<b + 100 { grid.update(victims[k], to: world.population.points[Int(victims[k])]) }
    insertTimes.append(Double(nowNanos() - t0) / 100)
}
figures["remove_p50_ns"] = median(removeTimes)
figures["insert_p50_ns"] = median(insertTimes)
log("update p50 \(figures["update_p50_ns"]!) ns, remove \(figures["remove_p50_ns"]!) ns, insert \(figures["insert_p50_ns"]!) ns")

// Reverse query: the open calls one volunteer matches, through the matcher.
do {
    var m = Matcher()
    var crng = SplitMix64(seed: 21)
    let callSites = world.population.sample(count: 2000, seed: 22)
    for (k, site) in callSites.enumerated() {
        let skills = Double.random(in: 0..<1, using: &crng) < 0.3 ? ["first-aid"] : []
        m.addCall(.init(id: "c\(k)", location: site, radiusKm: [1, 2, 5, 10, 25].randomElement(using: &crng)!, skills: skills, needed: 5, confirmed: 0))
    }
    let probes = world.population.sample(count: 1000, seed: 23)
    for (k, p) in probes.enumerated() {
        m.connect(id: "v\(k)", skills: k % 3 == 0 ? ["first-aid"] : [], maxDistanceKm: 10)
        m.setLocation("v\(k)", p)
        m.setAvailability("v\(k)", .available(until: nil))
    }
    let now = Timestamp(millis: 0)
    var times: [UInt64] = []
    var matched = 0
    for pass in 0..<3 {
        for k in 0..<probes.count {
            let t0 = nowNanos()
            let r = m.eligibleCalls(forVolunteer: "v\(k)", now: now)
            times.append(nowNanos() - t0)
            if pass == 0 { matched += r.count }
        }
    }
    figures["reverse_p50_us"] = Double(median(times)) / 1000
    figures["reverse_calls_matched_mean"] = Double(matched) / Double(probes.count)
    log("reverse p50 \(figures["reverse_p50_us"]!) µs, \(figures["reverse_calls_matched_mean"]!) calls per volunteer")
}

if cellSweep {
    for cell in [0.005, 0.01, 0.02, 0.05] {
        var g = GeoGrid(cellDegrees: cell)
        g.load(slots: world.slots, points: world.population.points, tags: world.population.tags)
        let key = "cell\(cell)"
        figures[key + "_query5km_p50_us"] = timeQueries(g, world.centres, 5, nil, passes: 3).p50
        figures[key + "_query5km_filtered_p50_us"] = timeQueries(g, world.centres, 5, world.filter, passes: 3).p50
        figures[key + "_query1km_p50_us"] = timeQueries(g, world.centres, 1, nil, passes: 3).p50
        figures[key + "_query25km_p50_us"] = timeQueries(g, world.centres, 25, nil, passes: 1).p50
        figures[key + "_query5km_cologne_p50_us"] = timeQueries(g, Array(repeating: Population.cologne, count: 200), 5, nil, passes: 3).p50
        figures[key + "_bytes_per_volunteer"] = Double(g.memoryBytes) / Double(n)
        log("\(key): 5 km \(figures[key + "_query5km_p50_us"]!) µs")
    }
}

if concurrency {
    let cmoves = world.moves(count: 400_000, seed: 31)
    let owners: [@Sendable () -> any IndexOwner] = [
        { MutexOwner(world.grid, filter: world.filter) },
        { ActorOwner(world.grid, filter: world.filter) },
        { ShardedOwner(world.slots, world.population.points, tags: world.population.tags, shards: 8, filter: world.filter) },
    ]
    // Two rounds, alternating designs, so that machine noise hits each alike.
    for round in 0..<2 {
        for make in owners {
            let owner = make()
            let r = await runContention(owner, moves: cmoves, centres: world.centres, writers: 2, readers: 2, queriesPerReader: 4000)
            log("\(r.owner) round \(round): \(Int(r.updatesPerSecond)) updates/s, \(Int(r.queriesPerSecond)) queries/s, query p50 \(r.queryP50Micros) µs p99 \(r.queryP99Micros) µs")
            if round == 1 {
                figures["contention_\(r.owner)_updates_per_s"] = r.updatesPerSecond
                figures["contention_\(r.owner)_queries_per_s"] = r.queriesPerSecond
                figures["contention_\(r.owner)_query_p50_us"] = r.queryP50Micros
                figures["contention_\(r.owner)_seconds"] = r.seconds
            }
        }
    }
}

if let dir = exportDir {
    // The same points and query centres for the Redis baseline.
    var points = ""
    points.reserveCapacity(n * 40)
    for p in world.population.points { points += "\(p.lon) \(p.lat)\n" }
    try points.write(toFile: dir + "/points.txt", atomically: true, encoding: .utf8)
    var queries = ""
    for radius in [1, 5, 25] {
        for c in world.centres.prefix(radius == 25 ? 200 : 1000) { queries += "mix\(radius) \(c.lon) \(c.lat) \(radius)\n" }
        for _ in 0..<30 {
            queries += "cologne\(radius) \(Population.cologne.lon) \(Population.cologne.lat) \(radius)\n"
            queries += "rural\(radius) \(Population.rural.lon) \(Population.rural.lat) \(radius)\n"
        }
    }
    try queries.write(toFile: dir + "/queries.txt", atomically: true, encoding: .utf8)
}

let json = figures.keys.sorted().map { key in
    let v = figures[key]!
    return "\"\(key)\":" + (v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : String(format: "%.3f", v))
}.joined(separator: ",")
print("{" + json + "}")
