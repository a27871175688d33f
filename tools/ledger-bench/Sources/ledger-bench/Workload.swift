import Foundation
import HelferrufCore
import HelferrufStore
import Histogram
import Synchronization

/// Where the benchmark writes: fresh SQLite files in a folder, or one PostgreSQL database
/// (opened once; each fixture adds its own organisation and calls to it).
enum Engine {
    case sqlite(path: String)
    case postgres(PostgresStore)

    init(dir: String, url: String?) async throws {
        if let url {
            self = .postgres(try await PostgresStore(location: PostgresLocation(url: url)))
        } else {
            self = .sqlite(path: dir + "/bench.sqlite")
        }
    }

    var name: String {
        switch self {
        case .sqlite: "SQLite"
        case .postgres: "PostgreSQL"
        }
    }
}

/// A store with `calls` open calls needing `needed` helpers each (a fresh file on SQLite).
struct Fixture {
    let store: any RecordStore
    let callIds: [String]
    /// A ledger on the fixture's store, taking at most `maxBatch` changes per transaction.
    let ledger: @Sendable (_ maxBatch: Int) -> any RosterLedger

    init(engine: Engine, calls: Int, needed: Int) async throws {
        switch engine {
        case .sqlite(let path):
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            let store = try Store(path: path)
            self.store = store
            ledger = { Ledger(store: store, clock: { .now }, maxBatch: $0) }
        case .postgres(let store):
            self.store = store
            ledger = { PostgresLedger(database: store.database, clock: { .now }, maxBatch: min($0, PostgresLedger.defaultMaxBatch)) }
        }
        let org = try await store.createOrganisation(name: "Bench", now: .now).0
        let setup = ledger(.max)
        let now = Timestamp.now
        callIds = (0..<calls).map { _ in UUID().uuidString }
        await withTaskGroup(of: Void.self) { group in
            for id in callIds {
                let call = Call(
                    id: id, orgId: org.id, orgName: org.name, title: "Dike", description: "", address: "",
                    location: GeoPoint(lat: 51, lon: 7), radiusKm: 10, needed: needed, skills: [],
                    startsAt: now, endsAt: now.adding(millis: 6 * 3_600_000), createdAt: now)
                group.addTask { _ = await setup.submit(.createCall(call)) }
            }
        }
        await setup.waitUntilIdle()
    }
}

extension Timestamp {
    static var now: Timestamp { Timestamp(millis: Int64(Date().timeIntervalSince1970 * 1000)) }
}

func micros(_ d: Duration) -> UInt64 {
    let (s, atto) = d.components
    return UInt64(max(0, s * 1_000_000 + atto / 1_000_000_000_000))
}

func histogram(_ values: [UInt64]) -> Histogram<UInt64> {
    var h = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
    for v in values { h.record(v) }
    return h
}

extension Histogram<UInt64> {
    func ms(_ percentile: Double) -> Double { Double(valueAtPercentile(percentile)) / 1000 }
}

/// State the concurrent senders of one run share.
final class Shared: Sendable {
    /// Indices of calls not known to be full.
    let open: Mutex<[Int]>
    let confirmations = Atomic<Int>(0)
    let latencies = Mutex<[UInt64]>([])

    init(open: [Int]) { self.open = Mutex(open) }
}

struct ClosedLoopResult {
    var confirmationsPerSecond: Double
    var latency: Histogram<UInt64>
    var meanBatch: Double
    var confirmations: Int
}

/// `inFlight` workers each send one accept at a time to a random call that is still open,
/// from a random volunteer; one accept in 20 repeats the worker's last confirmed accept.
/// Counts new confirmations until every call is full or `limit` has passed.
func closedLoop(fixture: Fixture, needed: Int, maxBatch: Int, inFlight: Int, limit: Duration) async -> ClosedLoopResult {
    let ledger = fixture.ledger(maxBatch)
    let shared = Shared(open: Array(fixture.callIds.indices))
    let start = ContinuousClock.now
    let deadline = start + limit
    let latencies = await withTaskGroup(of: [UInt64].self) { group in
        for _ in 0..<inFlight {
            group.addTask {
                var rng = SystemRandomNumberGenerator()
                var mine: [UInt64] = []
                var last: (String, String)?
                while ContinuousClock.now < deadline {
                    let target: (String, String)
                    if let last, Int.random(in: 0..<20, using: &rng) == 0 {
                        target = last
                    } else {
                        guard let i = shared.open.withLock({ $0.randomElement(using: &rng) }) else { break }
                        target = (fixture.callIds[i], "v\(Int.random(in: 0..<1_000_000, using: &rng))")
                    }
                    let sent = ContinuousClock.now
                    let outcome = await ledger.submit(.accept(callId: target.0, volunteerId: target.1, eligible: true))
                    mine.append(micros(ContinuousClock.now - sent))
                    if outcome.result == .answer(.confirmed) {
                        last = target
                        if outcome.changed { shared.confirmations.add(1, ordering: .relaxed) }
                    }
                    if outcome.call.map({ $0.status != .open }) ?? false {
                        let cid = target.0
                        shared.open.withLock { list in list.removeAll { fixture.callIds[$0] == cid } }
                    }
                }
                return mine
            }
        }
        return await group.reduce(into: [UInt64]()) { $0 += $1 }
    }
    let elapsed = ContinuousClock.now - start
    let seconds = Double(micros(elapsed)) / 1e6
    let stats = ledger.statistics
    let n = shared.confirmations.load(ordering: .relaxed)
    return ClosedLoopResult(
        confirmationsPerSecond: Double(n) / seconds, latency: histogram(latencies),
        meanBatch: Double(stats.changes) / Double(max(1, stats.batches)), confirmations: n)
}

/// Sends accepts at a fixed `rate` for `duration`, whatever the answers, and times each
/// from its scheduled send time (so a stalled sender cannot hide queueing delay).
func openLoop(fixture: Fixture, rate: Int, duration: Duration) async -> Histogram<UInt64> {
    let ledger = fixture.ledger(.max)
    let latencies = Shared(open: [])
    let total = Int(Double(rate) * Double(micros(duration)) / 1e6)
    let start = ContinuousClock.now
    await withDiscardingTaskGroup { group in
        var next = 0
        while next < total {
            let now = ContinuousClock.now
            let due = min(total, Int(Double(micros(now - start)) * Double(rate) / 1e6) + 1)
            while next < due {
                let scheduled = start + .microseconds(Int64(next) * 1_000_000 / Int64(rate))
                let call = fixture.callIds[next % fixture.callIds.count]
                let vid = "o\(next)"
                group.addTask {
                    _ = await ledger.submit(.accept(callId: call, volunteerId: vid, eligible: true))
                    let waited = micros(ContinuousClock.now - scheduled)
                    latencies.latencies.withLock { $0.append(waited) }
                }
                next += 1
            }
            try? await Task.sleep(until: start + .microseconds(Int64(next) * 1_000_000 / Int64(rate)), clock: .continuous)
        }
    }
    return histogram(latencies.latencies.withLock { $0 })
}

/// One accept at a time with a pause between, so each commit holds exactly one change.
func loneAccepts(fixture: Fixture, count: Int) async -> Histogram<UInt64> {
    let ledger = fixture.ledger(.max)
    var latencies: [UInt64] = []
    for i in 0..<count {
        try? await Task.sleep(for: .milliseconds(2))
        let sent = ContinuousClock.now
        _ = await ledger.submit(.accept(callId: fixture.callIds[i % fixture.callIds.count], volunteerId: "l\(i)", eligible: true))
        latencies.append(micros(ContinuousClock.now - sent))
    }
    return histogram(latencies)
}
