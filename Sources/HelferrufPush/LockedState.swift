import Foundation

/// A value that several threads share, behind a lock.
///
/// Foundation's `NSLock` (a pthread mutex) rather than `Synchronization.Mutex`: on Linux,
/// ThreadSanitizer does not see `Mutex`'s futex hand-off under contention and reports races
/// inside `withLock` that cannot happen; with a pthread mutex this library's concurrency can
/// be checked with `--sanitize=thread`.
final class LockedState<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
