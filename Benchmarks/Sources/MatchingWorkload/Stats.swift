import Foundation

/// Nanoseconds on the monotonic clock.
@inline(__always)
public func nowNanos() -> UInt64 {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
}

/// CPU time of the calling thread, in nanoseconds (a system call here: about 2 µs).
public func threadCpuNanos() -> UInt64 {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
}

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
