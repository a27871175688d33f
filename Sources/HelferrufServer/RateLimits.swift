import HelferrufSync
import NIOCore
import Prometheus

/// A sustained rate with a burst: a token bucket that holds at most `burst` tokens and
/// refills `perSecond` tokens a second.
public struct Rate: Sendable, Equatable, CustomStringConvertible {
    public var perSecond: Double
    public var burst: Double

    public init(perSecond: Double, burst: Double) {
        self.perSecond = perSecond
        self.burst = burst
    }

    /// `N/s`, `N/min` or `N/h`, optionally followed by `:BURST` (default: N, one period's
    /// worth), e.g. `20/s:200` or `2000/h`. N and the burst are whole numbers from 1 to 10⁹.
    public init?(parsing text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { return nil }
        let rate = parts[0].split(separator: "/", omittingEmptySubsequences: false)
        let seconds: Double
        switch rate.count == 2 ? rate[1] : "" {
        case "s": seconds = 1
        case "min": seconds = 60
        case "h": seconds = 3600
        default: return nil
        }
        guard let count = Int(rate[0]), (1...1_000_000_000).contains(count) else { return nil }
        var burst = count
        if parts.count == 2 {
            guard let b = Int(parts[1]), (1...1_000_000_000).contains(b) else { return nil }
            burst = b
        }
        self.init(perSecond: Double(count) / seconds, burst: Double(burst))
    }

    /// The shortest period in which the rate is a whole number (`100/h`, not `2/min`), else
    /// the longest one, rounded.
    public var description: String {
        let periods: [(Double, String)] = [(1, "s"), (60, "min"), (3600, "h")]
        let whole = periods.first { per in
            let n = perSecond * per.0
            return n >= 1 && abs(n - n.rounded()) < 1e-6
        }
        let (seconds, unit) = whole ?? (perSecond >= 1 ? periods[0] : periods[2])
        return "\(Int((perSecond * seconds).rounded()))/\(unit):\(Int(burst))"
    }
}

/// One token bucket. Time is monotonic nanoseconds (``RateLimits/monotonicNanos``), so a
/// wall-clock jump neither empties nor refills it.
struct TokenBucket {
    var tokens: Double
    var updated: UInt64

    init(_ rate: Rate, now: UInt64) {
        tokens = rate.burst
        updated = now
    }

    private mutating func refill(_ rate: Rate, now: UInt64) {
        guard now > updated else { return }
        tokens = min(rate.burst, tokens + Double(now - updated) / 1e9 * rate.perSecond)
        updated = now
    }

    /// Takes one token; returns nil when it was there, else the whole seconds until one will be.
    mutating func take(_ rate: Rate, now: UInt64) -> Int? {
        refill(rate, now: now)
        if tokens >= 1 {
            tokens -= 1
            return nil
        }
        return max(1, Int(((1 - tokens) / rate.perSecond).rounded(.up)))
    }

    /// Whether the bucket would be full now, so that forgetting it changes nothing.
    func isFull(_ rate: Rate, now: UInt64) -> Bool {
        now > updated ? tokens + Double(now - updated) / 1e9 * rate.perSecond >= rate.burst : tokens >= rate.burst
    }
}

/// Token buckets by key (a client address or a token), in bounded memory: a full bucket is
/// the same as none, so idle keys are swept out; if a flood of distinct keys still fills the
/// table, the least recently used half is dropped (those clients start afresh with a full
/// bucket, which only ever errs on the side of letting a request through).
final class KeyedLimiter: Sendable {
    let rate: Rate
    let maxKeys: Int
    private struct State {
        var buckets: [String: TokenBucket] = [:]
        var lastSweep: UInt64 = 0
    }
    private let state = StateLock(State())

    init(_ rate: Rate, maxKeys: Int = 100_000) {
        self.rate = rate
        self.maxKeys = maxKeys
    }

    /// Takes a token for `key`: nil when allowed, else the seconds to wait.
    func take(_ key: String, now: UInt64) -> Int? {
        state.withLock { s in
            if s.buckets.count >= maxKeys || now &- s.lastSweep > 60_000_000_000 { sweep(&s, now: now) }
            var bucket = s.buckets[key] ?? TokenBucket(rate, now: now)
            let wait = bucket.take(rate, now: now)
            s.buckets[key] = bucket
            return wait
        }
    }

    var keyCount: Int { state.withLock { $0.buckets.count } }

    private func sweep(_ s: inout State, now: UInt64) {
        s.lastSweep = now
        s.buckets = s.buckets.filter { !$0.value.isFull(rate, now: now) }
        guard s.buckets.count >= maxKeys else { return }
        let keep = s.buckets.sorted { $0.value.updated > $1.value.updated }.prefix(maxKeys / 2)
        s.buckets = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
    }
}

/// Concurrent connections by key; an entry exists only while the key has one open.
final class ConnectionCounter: Sendable {
    let limit: Int
    private let open = StateLock<[String: Int]>([:])

    init(limit: Int) { self.limit = limit }

    /// Counts a new connection, or refuses it when the key already holds `limit`.
    func acquire(_ key: String) -> Bool {
        open.withLock { o in
            let n = o[key, default: 0]
            guard n < limit else { return false }
            o[key] = n + 1
            return true
        }
    }

    func release(_ key: String) {
        open.withLock { o in
            guard let n = o[key] else { return }
            o[key] = n > 1 ? n - 1 : nil
        }
    }

    var keyCount: Int { open.withLock { $0.count } }
}

/// Every abuse limit of the server (docs/SECURITY.md lists them with their defaults).
public struct RateLimitSettings: Sendable, Equatable {
    /// Switches every limit off (`--rate-limits off`), for load tests from one address.
    public var enabled = true
    /// Open WebSockets (both kinds) per client address at one time. Generous because a
    /// carrier-grade NAT puts many phones behind one address.
    public var socketsPerAddress = 4000
    /// `POST /api/v1/volunteers` per client address: a burst of 20, then 100 an hour
    /// (PROTOCOL.md §11). Enough for a family or a club signing up together behind one
    /// address; a script gets about 22 accounts in its first minute.
    public var registrations = Rate(perSecond: 100.0 / 3600, burst: 20)
    /// `hello` messages per client address (each costs a token lookup).
    public var hellos = Rate(perSecond: 100, burst: 5000)
    /// HTTP requests per bearer token.
    public var requests = Rate(perSecond: 200, burst: 2000)
    /// Messages per socket, the hello included.
    public var messages = Rate(perSecond: 50, burst: 500)

    public init() {}
}

/// The limits in force, with a Prometheus counter of refusals by limit.
final class RateLimits: Sendable {
    let settings: RateLimitSettings
    private let sockets: ConnectionCounter
    private let registrations: KeyedLimiter
    private let hellos: KeyedLimiter
    private let requests: KeyedLimiter
    private let refused: [Limit: Counter]
    private let now: @Sendable () -> UInt64

    enum Limit: String, CaseIterable { case sockets, registrations, hellos, requests, messages }

    init(_ settings: RateLimitSettings, registry: PrometheusCollectorRegistry, now: @escaping @Sendable () -> UInt64 = RateLimits.monotonicNanos) {
        self.settings = settings
        self.now = now
        sockets = ConnectionCounter(limit: settings.socketsPerAddress)
        registrations = KeyedLimiter(settings.registrations)
        hellos = KeyedLimiter(settings.hellos)
        requests = KeyedLimiter(settings.requests)
        var refused: [Limit: Counter] = [:]
        for limit in Limit.allCases {
            refused[limit] = registry.counter("helferruf_rate_limited_total", labels: [("limit", limit.rawValue)],
                help: "Requests refused with 429 and sockets closed with 1008 by an abuse limit")
        }
        self.refused = refused
    }

    static let monotonicNanos: @Sendable () -> UInt64 = { NIODeadline.now().uptimeNanoseconds }

    /// Counts an opening socket of `address`; false means close it with 1008.
    func openSocket(_ address: String) -> Bool {
        guard settings.enabled else { return true }
        return count(.sockets, sockets.acquire(address))
    }

    func closeSocket(_ address: String) {
        guard settings.enabled else { return }
        sockets.release(address)
    }

    /// Whether `address` may try another hello.
    func hello(_ address: String) -> Bool {
        guard settings.enabled else { return true }
        return count(.hellos, hellos.take(address, now: now()) == nil)
    }

    /// nil when `address` may register a volunteer, else the seconds to wait.
    func registration(_ address: String) -> Int? {
        guard settings.enabled else { return nil }
        return counted(.registrations, registrations.take(address, now: now()))
    }

    /// nil when `token` may make another request, else the seconds to wait.
    func request(_ token: String) -> Int? {
        guard settings.enabled else { return nil }
        return counted(.requests, requests.take(token, now: now()))
    }

    /// A fresh limiter for one socket's messages, or nil when limits are off.
    func messageLimiter() -> MessageLimiter? {
        guard settings.enabled else { return nil }
        return MessageLimiter(rate: settings.messages, now: now) { [refused] in refused[.messages]?.increment() }
    }

    private func count(_ limit: Limit, _ allowed: Bool) -> Bool {
        if !allowed { refused[limit]?.increment() }
        return allowed
    }

    private func counted(_ limit: Limit, _ wait: Int?) -> Int? {
        if wait != nil { refused[limit]?.increment() }
        return wait
    }
}

/// The message budget of one socket: a burst, then a sustained rate. Once over it, the
/// socket stays refused (it is being closed with 1008).
final class MessageLimiter: Sendable {
    private let rate: Rate
    private let now: @Sendable () -> UInt64
    private let onRefusal: @Sendable () -> Void
    private let bucket: StateLock<(TokenBucket, over: Bool)>

    init(rate: Rate, now: @escaping @Sendable () -> UInt64, onRefusal: @escaping @Sendable () -> Void) {
        self.rate = rate
        self.now = now
        self.onRefusal = onRefusal
        bucket = StateLock((TokenBucket(rate, now: now()), false))
    }

    /// Takes a token for one message; false means the socket is over its budget.
    func allow() -> Bool {
        let t = now()
        let (allowed, first) = bucket.withLock { b -> (Bool, Bool) in
            guard !b.over else { return (false, false) }
            b.over = b.0.take(rate, now: t) != nil
            return (!b.over, b.over)
        }
        if first { onRefusal() }
        return allowed
    }
}
