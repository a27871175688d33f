#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a deadline call believes about its volunteers (PROTOCOL.md §10): each alerted
/// volunteer accepts with probability `acceptanceRate`, after a delay drawn from `delay`.
public struct DeadlineModel: Sendable, Equatable {
    public var acceptanceRate: Double
    public var delay: DelayModel

    public init(acceptanceRate: Double = Waves.defaultAcceptanceRate, delay: DelayModel = .default) {
        self.acceptanceRate = acceptanceRate
        self.delay = delay
    }
}

/// The state of a deadline call at one planning step.
public struct DeadlineSituation: Sendable {
    /// Seconds left until `fillBy` (zero or less: the deadline has come).
    public var secondsLeft: Double
    /// Places still open: `needed - confirmed`.
    public var remaining: Int
    /// For every alerted volunteer who has not answered yet, seconds since their alert.
    public var pendingSeconds: [Double]
    /// Eligible volunteers not alerted yet, within the radius reached so far.
    public var available: Int
    public var confidence: Double

    public init(secondsLeft: Double, remaining: Int, pendingSeconds: [Double], available: Int, confidence: Double) {
        self.secondsLeft = secondsLeft
        self.remaining = remaining
        self.pendingSeconds = pendingSeconds
        self.available = available
        self.confidence = confidence
    }
}

/// The outcome of one planning step.
public struct DeadlineStep: Sendable, Equatable {
    /// How many of the nearest available volunteers to alert now.
    public var alertNow: Int
    /// Confirmations still expected by `fillBy` once those are alerted (the confirmed ones
    /// not included).
    public var expectedMore: Double
    /// The estimated probability that every open place is taken by `fillBy`.
    public var probability: Double
}

/// The live plan a deadline call shows (PROTOCOL.md §10 `plan`).
public struct DeadlinePlan: Sendable, Equatable {
    /// Estimated confirmations by `fillBy`, those already confirmed included.
    public var expected: Double
    /// The estimated probability of a full call by `fillBy` is at least the confidence.
    public var onTrack: Bool
    /// When the last step alerted anyone, and how many it alerted (for the console).
    public var lastAlertAt: Timestamp?
    public var lastAlertCount = 0

    public init(expected: Double, onTrack: Bool) {
        self.expected = expected
        self.onTrack = onTrack
    }
}

/// Deadline-aware dispatch (PROTOCOL.md §10): how many more of the nearest eligible
/// volunteers to alert now so that the probability of `needed` confirmations by `fillBy`
/// stays at least the confidence, counting the volunteers already alerted who have not
/// answered yet. Pure arithmetic on a ``DeadlineSituation``; the caller owns the clock.
///
/// An unanswered volunteer alerted `e` seconds ago accepts by the deadline, `h` seconds
/// ahead, with the posterior probability `p·(F(e+h) − F(e)) / (1 − p·F(e))`: silence lowers
/// both the chance of an accept and its remaining delay (a plain `p·P(D ≤ e+h | D > e)` would
/// keep believing in volunteers who never answer). A volunteer alerted now accepts in time
/// with `p·F(h)`. The number of accepts is then a sum of independent Bernoulli variables,
/// evaluated exactly (a distribution truncated at the open places) up to ``exactLimit``
/// places and by a normal approximation with continuity correction beyond.
public enum DeadlinePlanner {
    public static let defaultConfidence = 0.95
    public static let confidenceRange = 0.5...0.99
    /// A call re-plans at least this often, and whenever an answer arrives.
    public static let replanMillis: Int64 = 5000
    /// Open places up to which the distribution is computed exactly.
    public static let exactLimit = 64

    public static func plan(_ s: DeadlineSituation, model: DeadlineModel) -> DeadlineStep {
        let p = model.acceptanceRate, delay = model.delay
        let h = s.secondsLeft
        guard h > 0 else {
            // From fillBy on, nothing more can arrive in time: everyone left is alerted.
            return DeadlineStep(alertNow: max(0, s.available), expectedMore: 0, probability: s.remaining <= 0 ? 1 : 0)
        }
        var pending = [Double]()
        pending.reserveCapacity(s.pendingSeconds.count)
        var expected = 0.0
        for e in s.pendingSeconds {
            let e = max(0, e)
            let fe = delay.cdf(e)
            let q = max(0, p * (delay.cdf(e + h) - fe) / (1 - p * fe))
            pending.append(q)
            expected += q
        }
        let fresh = p * delay.cdf(h)
        guard s.remaining > 0 else { return DeadlineStep(alertNow: 0, expectedMore: expected, probability: 1) }
        let available = max(0, s.available)
        let tail = s.remaining <= exactLimit
            ? ExactTail(pending: pending, remaining: s.remaining, fresh: fresh).probability
            : NormalTail(pending: pending, remaining: s.remaining, fresh: fresh).probability
        if tail(0) >= s.confidence {
            return DeadlineStep(alertNow: 0, expectedMore: expected, probability: tail(0))
        }
        // The smallest number of new alerts that reaches the confidence, or everyone.
        var (low, high) = (0, available)
        if tail(high) < s.confidence {
            low = high
        } else {
            while high - low > 1 {
                let mid = (low + high) / 2
                if tail(mid) >= s.confidence { high = mid } else { low = mid }
            }
            low = high
        }
        let m = low
        return DeadlineStep(alertNow: m, expectedMore: expected + Double(m) * fresh, probability: tail(m))
    }
}

/// P(accepts ≥ remaining) when `m` fresh volunteers join the pending ones, computed from
/// the pending volunteers' distribution truncated at `remaining` (the last cell holds
/// "remaining or more") and the binomial of the fresh ones: O(pending · remaining) once,
/// then O(remaining) per `m`.
private struct ExactTail {
    var distribution: [Double]
    var remaining: Int
    var fresh: Double

    init(pending: [Double], remaining r: Int, fresh: Double) {
        remaining = r
        self.fresh = fresh
        var d = [Double](repeating: 0, count: r + 1)
        d[0] = 1
        for q in pending where q > 0 {
            d[r] += d[r - 1] * q
            var k = r - 1
            while k >= 1 {
                d[k] = d[k] * (1 - q) + d[k - 1] * q
                k -= 1
            }
            d[0] *= 1 - q
        }
        distribution = d
    }

    func probability(_ m: Int) -> Double {
        var total = distribution[remaining]
        guard m > 0, fresh > 0 else { return total }
        // P(B = i) for the binomial of the fresh alerts, i = 0 ..< remaining; P(B ≥ j)
        // follows as 1 − P(B < j).
        let q = min(fresh, 1 - 1e-12)
        var pmf = exp(Double(m) * log1p(-q))
        var below = 0.0
        var cumulative = [Double](repeating: 0, count: remaining + 1)
        for i in 0..<remaining {
            cumulative[i] = below
            below += pmf
            pmf *= Double(max(0, m - i)) / Double(i + 1) * q / (1 - q)
        }
        cumulative[remaining] = below
        for k in 0..<remaining where distribution[k] > 0 {
            total += distribution[k] * max(0, 1 - cumulative[remaining - k])
        }
        return min(1, total)
    }
}

/// The normal approximation for many open places, where the exact distribution would cost
/// too much and the approximation is good.
private struct NormalTail {
    var mean = 0.0, variance = 0.0
    var remaining: Int
    var fresh: Double

    init(pending: [Double], remaining: Int, fresh: Double) {
        for q in pending {
            mean += q
            variance += q * (1 - q)
        }
        self.remaining = remaining
        self.fresh = fresh
    }

    func probability(_ m: Int) -> Double {
        let mu = mean + Double(m) * fresh
        let v = variance + Double(m) * fresh * (1 - fresh)
        guard v > 0 else { return mu >= Double(remaining) ? 1 : 0 }
        let z = (mu - (Double(remaining) - 0.5)) / v.squareRoot()
        return 0.5 * erfc(-z * 0.7071067811865476)
    }
}
