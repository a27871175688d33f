#if HELFERRUF_TSAN
#if canImport(Glibc)
import Glibc
#endif

/// Under ThreadSanitizer (`scripts/sanitize thread` builds with `HELFERRUF_TSAN=1`): a lock
/// on a `pthread_mutex_t`, which ThreadSanitizer intercepts.
///
/// `Synchronization.Mutex` locks through the kernel's priority-inheritance futex on Linux,
/// which ThreadSanitizer cannot see, so every access it guards looks like a race: the
/// first run under the sanitizer reported hundreds of "races" between accesses that all held
/// the hub's lock. With this type in its place the sanitizer sees each lock and reports
/// only what really races.
///
/// `@unchecked Sendable`: `value` is read and written only inside `withLock`, between
/// `pthread_mutex_lock` and `pthread_mutex_unlock` on `mutex`, the same guarantee `Mutex`
/// gives.
public final class StateLock<Value>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    public init(_ value: sending Value) {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        self.value = value
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// As `Mutex.withLock`.
    public func withLock<Result, E: Error>(_ body: (inout sending Value) throws(E) -> sending Result) throws(E) -> sending Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
#else
import Synchronization

/// The lock of every piece of shared state: `Synchronization.Mutex`. Under
/// ThreadSanitizer a lock the sanitizer can see takes its place (see the
/// `HELFERRUF_TSAN` branch of this file).
public typealias StateLock<Value> = Mutex<Value>
#endif
