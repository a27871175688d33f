import HelferrufCore
import HelferrufStore
import Logging
import ServiceLifecycle

/// Runs the retention rule once at start and then hourly: confirmations of calls that
/// ended more than `days` days ago stop showing helpers' names and contacts
/// (``Store/eraseContacts(endedBefore:now:)``).
struct Retention: Service {
    let store: any RecordStore
    let days: Int
    let clock: @Sendable () -> Timestamp
    let logger: Logger
    var interval: Duration = .seconds(3600)

    func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            await eraseOnce()
            do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) } } catch { return }
        }
    }

    func eraseOnce() async {
        let now = clock()
        do {
            let calls = try await store.eraseContacts(endedBefore: now.adding(millis: -Int64(days) * 86_400_000), now: now)
            if calls > 0 { logger.info("retention: contacts hidden", metadata: ["calls": "\(calls)"]) }
        } catch {
            logger.warning("retention failed, will retry", metadata: ["error.type": "\(type(of: error))"])
        }
    }
}
