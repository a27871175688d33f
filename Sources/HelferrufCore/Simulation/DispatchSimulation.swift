#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A seeded simulation of one organisation's calls dispatched by broadcast, by waves
/// (PROTOCOL.md §7 "Waves") and against a deadline (§10, `DispatchSimulation+Deadline.swift`),
/// over the same synthetic population.
///
/// Every alerted volunteer accepts with a fixed probability after a log-normal delay. The
/// draws depend only on (seed, volunteer, call), so both modes face exactly the same people
/// behaving the same way: the comparison measures the dispatch, not the luck.
///
/// Waves follow the server (``Waves``, `Hub.runWave`): each wave alerts the
/// `ceil(remaining / acceptanceRate)` nearest eligible volunteers not yet alerted, where
/// `remaining` counts only accepts that have arrived; a wave that finds nobody widens the
/// radius by half the posted radius up to `maxRadiusKm` for the next wave; the acceptance rate
/// is learnt from the organisation's last 20 calls. Calls keep a standby list, so volunteers
/// who accept a filled call count as having got a place (and as over-response).
public struct DispatchSimulation: Sendable {
    public struct Configuration: Sendable {
        public var seed: UInt64 = 1
        public var calls = 60
        public var volunteers = 8000
        public var acceptProbability = 0.3
        /// Log-normal response delay of those who accept: median and shape.
        public var medianDelaySeconds = 75.0
        public var delaySigma = 0.8
        public var waveSeconds = Waves.defaultWaveSeconds
        /// `maxRadiusKm` as a multiple of the posted radius.
        public var maxRadiusFactor = 2.0
        /// A call still unfilled this long after posting stops counting.
        public var horizonSeconds = 3 * 3600.0
        /// Deadline dispatch: the confidence, and an acceptance rate the planner assumes
        /// instead of learning it (to test robustness against a wrong model).
        public var confidence = DeadlinePlanner.defaultConfidence
        public var plannerAcceptanceRate: Double?

        public init() {}
    }

    /// What one dispatch mode did over all calls.
    public struct Totals: Sendable, Equatable {
        public var alerts = 0
        public var alertsPerCall: [Int] = []
        public var confirmed = 0
        /// Volunteers who accepted a call that was already filled.
        public var overResponse = 0
        public var callsFilled = 0
        /// Seconds from posting to the last place taken, per call (nil: not filled in time).
        public var fillSeconds: [Double?] = []
        public var wideningSteps = 0
        public var waves = 0

        public var alertsPerConfirmed: Double { confirmed == 0 ? 0 : Double(alerts) / Double(confirmed) }
    }

    public struct Report: Sendable {
        public var configuration: Configuration
        public var broadcast: Totals
        public var waves: Totals

        /// Calls filled in both modes, as (broadcast, waves) fill times.
        public var bothFilled: [(Double, Double)] {
            zip(broadcast.fillSeconds, waves.fillSeconds).compactMap { b, w in b.flatMap { b in w.map { (b, $0) } } }
        }

        /// 1 − waves' alerts per confirmed helper / broadcast's.
        public var alertSaving: Double { 1 - waves.alertsPerConfirmed / broadcast.alertsPerConfirmed }

        public var medianFillBroadcast: Double { Self.median(bothFilled.map(\.0)) }
        public var medianFillWaves: Double { Self.median(bothFilled.map(\.1)) }
        /// Waves' median time to fill over broadcast's, on calls both filled.
        public var fillTimeRatio: Double { medianFillWaves / medianFillBroadcast }

        static func median(_ xs: [Double]) -> Double {
            guard !xs.isEmpty else { return .nan }
            let s = xs.sorted()
            return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        }
    }

    struct Person {
        var location: GeoPoint
        var maxDistanceKm: Double
    }

    struct SimCall {
        var location: GeoPoint
        var radiusKm: Double
        var needed: Int
    }

    public let configuration: Configuration
    let people: [Person]
    let calls: [SimCall]

    public init(_ configuration: Configuration) {
        self.configuration = configuration
        var rng = SimulationRandom(seed: configuration.seed)
        people = Self.population(configuration.volunteers, &rng)
        calls = (0..<configuration.calls).map { _ in
            let town = Self.towns[rng.weightedIndex(Self.towns.map(\.weight))]
            return SimCall(
                location: rng.around(town.centre, sigmaKm: 2),
                radiusKm: [2.0, 3, 5, 8][rng.int(below: 4)],
                needed: [5, 10, 20, 40][rng.int(below: 4)])
        }
    }

    /// A few towns of the Rhineland (population weights in thousands) and rural noise.
    static let towns: [(centre: GeoPoint, weight: Double)] = [
        (GeoPoint(lat: 50.9375, lon: 6.9603), 1080), (GeoPoint(lat: 51.2277, lon: 6.7735), 620),
        (GeoPoint(lat: 50.7374, lon: 7.0982), 330), (GeoPoint(lat: 50.7753, lon: 6.0839), 250),
        (GeoPoint(lat: 51.1657, lon: 7.0671), 355), (GeoPoint(lat: 50.8023, lon: 6.4814), 60),
    ]

    static func population(_ n: Int, _ rng: inout SimulationRandom) -> [Person] {
        (0..<n).map { _ in
            let location: GeoPoint
            if rng.unit() < 0.15 {
                location = GeoPoint(lat: 50.6 + rng.unit() * 0.7, lon: 6.0 + rng.unit() * 1.2)
            } else {
                location = rng.around(towns[rng.weightedIndex(towns.map(\.weight))].centre, sigmaKm: 6)
            }
            return Person(location: location, maxDistanceKm: [5.0, 10, 10, 20][rng.int(below: 4)])
        }
    }

    /// Runs both modes over the same calls and people.
    public func run() -> Report {
        Report(configuration: configuration, broadcast: dispatch(waves: false), waves: dispatch(waves: true))
    }

    /// How volunteer `v` answers an alert for call `c`: the delay of an accept, or nil.
    func response(volunteer v: Int, call c: Int) -> Double? {
        var rng = SimulationRandom(seed: configuration.seed ^ (UInt64(v) &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(c) &* 0xC2B2_AE3D_27D4_EB4F))
        guard rng.unit() < configuration.acceptProbability else { return nil }
        return configuration.medianDelaySeconds * exp(configuration.delaySigma * rng.gaussian())
    }

    func dispatch(waves: Bool) -> Totals {
        var totals = Totals()
        var history: [(accepted: Int, alerted: Int)] = []
        for (index, call) in calls.enumerated() {
            let recent = history.suffix(Waves.historyCalls)
            let rate = Waves.acceptanceRate(accepted: recent.map(\.accepted).reduce(0, +), alerted: recent.map(\.alerted).reduce(0, +))
            let outcome = waves ? runWaves(call, index: index, rate: rate) : runBroadcast(call, index: index)
            totals.add(outcome)
            history.append((outcome.confirmed + outcome.over, outcome.alerted))
        }
        return totals
    }

    struct CallOutcome {
        var alerted = 0, confirmed = 0, over = 0, widenings = 0, waves = 0
        var fill: Double?
    }

    /// Volunteers who may be alerted within `radiusKm`, nearest first.
    func candidates(_ call: SimCall, radiusKm: Double) -> [(index: Int, distance: Double)] {
        people.indices.compactMap { i -> (Int, Double)? in
            let d = Geo.distanceKm(call.location, people[i].location)
            return d <= radiusKm && d <= people[i].maxDistanceKm ? (i, d) : nil
        }.sorted { ($0.1, $0.0) < ($1.1, $1.0) }
    }

    /// Settles a call from the accept times: the first `needed` take the places.
    func settle(_ arrivals: [Double], needed: Int, into outcome: inout CallOutcome) {
        let sorted = arrivals.sorted()
        outcome.confirmed = min(needed, sorted.count)
        outcome.over = max(0, sorted.count - needed)
        if sorted.count >= needed, sorted[needed - 1] <= configuration.horizonSeconds { outcome.fill = sorted[needed - 1] }
    }

    func runBroadcast(_ call: SimCall, index: Int) -> CallOutcome {
        var outcome = CallOutcome()
        let alerted = candidates(call, radiusKm: call.radiusKm)
        outcome.alerted = alerted.count
        outcome.waves = 1
        settle(alerted.compactMap { response(volunteer: $0.index, call: index) }, needed: call.needed, into: &outcome)
        return outcome
    }

    func runWaves(_ call: SimCall, index: Int, rate: Double) -> CallOutcome {
        var outcome = CallOutcome()
        let maxRadius = min(Rules.distanceRangeKm.upperBound, call.radiusKm * configuration.maxRadiusFactor)
        var reached = call.radiusKm
        var pool = candidates(call, radiusKm: maxRadius)
        var arrivals: [Double] = []
        var t = 0.0
        while t <= configuration.horizonSeconds {
            let arrived = arrivals.filter { $0 <= t }.count
            if arrived >= call.needed { break }
            let wanted = Waves.size(remaining: call.needed - arrived, acceptanceRate: rate)
            let picked = Array(pool.prefix { $0.distance <= reached }.prefix(wanted).map(\.index))
            if picked.isEmpty, let wider = Waves.widened(reachedKm: reached, radiusKm: call.radiusKm, maxRadiusKm: maxRadius) {
                reached = wider
                outcome.widenings += 1
            }
            pool.removeFirst(picked.count)
            if !picked.isEmpty { outcome.waves += 1 }
            outcome.alerted += picked.count
            arrivals += picked.compactMap { response(volunteer: $0, call: index).map { t + $0 } }
            t += Double(configuration.waveSeconds)
        }
        settle(arrivals, needed: call.needed, into: &outcome)
        return outcome
    }
}

/// SplitMix64 with the few distributions the simulation draws from.
struct SimulationRandom {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }

    mutating func int(below n: Int) -> Int { Int(next() % UInt64(n)) }

    /// Standard normal (Box–Muller).
    mutating func gaussian() -> Double {
        let u = max(unit(), 1e-12), v = unit()
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }

    mutating func weightedIndex(_ weights: [Double]) -> Int {
        var x = unit() * weights.reduce(0, +)
        for (i, w) in weights.enumerated() {
            x -= w
            if x < 0 { return i }
        }
        return weights.count - 1
    }

    /// A point scattered around `centre` with a normal spread of `sigmaKm` each way.
    mutating func around(_ centre: GeoPoint, sigmaKm: Double) -> GeoPoint {
        let lat = centre.lat + gaussian() * sigmaKm / 111.2
        let lon = centre.lon + gaussian() * sigmaKm / (111.2 * cos(centre.lat * Double.pi / 180))
        return GeoPoint(lat: lat, lon: lon)
    }
}
