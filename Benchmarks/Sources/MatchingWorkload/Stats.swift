/// Nanoseconds on the monotonic clock.
@inline(__always)
public func nowNanos() -> UInt64 {
    let d = ContinuousClock.now - epoch
    return UInt64(d.components.seconds) * 1_000_000_000 + UInt64(d.components.attoseconds / 1_000_000_000)
}

private let epoch = ContinuousClock.now

/// The median of `samples` (upper median for even counts).
public func median<T: Comparable>(_ samples: [T]) -> T {
    let sorted = samples.sorted()
    return sorted[sorted.count / 2]
}

/// The p-th percentile (0...100) of `samples`, nearest rank.
public func percentile<T: Comparable>(_ samples: [T], _ p: Double) -> T {
    let sorted = samples.sorted()
    return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p / 100))]
}
