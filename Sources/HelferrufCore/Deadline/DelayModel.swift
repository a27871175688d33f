#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How long an organisation's volunteers take from an alert to an accept: a log-normal
/// distribution (PROTOCOL.md §10), learnt from past alert → accept delays.
public struct DelayModel: Sendable, Equatable {
    public var medianSeconds: Double
    /// The standard deviation of the delay's natural logarithm.
    public var sigma: Double

    public init(medianSeconds: Double, sigma: Double) {
        self.medianSeconds = medianSeconds
        self.sigma = sigma
    }

    /// The contract's defaults for an organisation without history.
    public static let `default` = DelayModel(medianSeconds: 75, sigma: 0.8)
    /// A learnt median outside this range says more about the data than about people.
    public static let medianRange = 5.0...1800.0
    public static let sigmaRange = 0.2...2.0
    /// Fewer accepts than this keep the defaults: a handful of delays fits anything.
    public static let minimumSamples = 10
    /// Delays below this are treated as this (a zero delay has no logarithm).
    static let shortestDelaySeconds = 0.5

    /// P(delay ≤ `seconds`).
    public func cdf(_ seconds: Double) -> Double {
        guard seconds > 0 else { return 0 }
        let z = log(seconds / medianSeconds) / sigma
        return 0.5 * erfc(-z * 0.7071067811865476)
    }

    /// The maximum-likelihood log-normal of the given delays (seconds), clamped to
    /// ``medianRange`` and ``sigmaRange``; the defaults with fewer than ``minimumSamples``.
    public static func fit(delaysSeconds: [Double]) -> DelayModel {
        let logs = delaysSeconds.filter(\.isFinite).map { log(max(shortestDelaySeconds, $0)) }
        guard logs.count >= minimumSamples else { return .default }
        let mean = logs.reduce(0, +) / Double(logs.count)
        let variance = logs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(logs.count)
        return DelayModel(medianSeconds: clamp(exp(mean), medianRange), sigma: clamp(variance.squareRoot(), sigmaRange))
    }

    /// Clamps a stored or learnt model into the ranges (a hand-edited database cannot make
    /// the planner divide by zero).
    public var clamped: DelayModel {
        guard medianSeconds.isFinite, sigma.isFinite else { return .default }
        return DelayModel(medianSeconds: Self.clamp(medianSeconds, Self.medianRange), sigma: Self.clamp(sigma, Self.sigmaRange))
    }

    static func clamp(_ x: Double, _ range: ClosedRange<Double>) -> Double {
        min(range.upperBound, max(range.lowerBound, x))
    }
}
