import NIOCore
import ServiceLifecycle
import Synchronization

/// Periodic work: call expiry at `endsAt`, coalesced dashboard updates, forgetting
/// volunteers two minutes after their last socket closed.
struct Housekeeper: Service {
    let hub: Hub
    var interval: Duration = .milliseconds(100)

    func run() async throws {
        while !Task.isShuttingDownGracefully {
            for id in hub.tick() { hub.ledger.submitDetached(.expire(callId: id)) }
            try? await Task.sleep(for: interval)
        }
    }
}

/// The listening channel, once the server runs.
final class ListenerHandle: Sendable {
    private let channel = Mutex<(any Channel)?>(nil)

    func set(_ c: any Channel) { channel.withLock { $0 = c } }

    func close() async {
        let c = channel.withLock { $0 }
        try? await c?.close()
    }
}

/// Graceful shutdown (PROTOCOL.md §6). Listed after the application in the service group,
/// so it is told first: it stops listening, closes every WebSocket with 1001, then waits
/// up to 10 seconds for close handshakes and in-flight commits.
struct Drainer: Service {
    let hub: Hub
    let listener: ListenerHandle
    var limit: Duration = .seconds(10)

    func run() async throws {
        try? await gracefulShutdown()
        await listener.close()
        hub.beginDrain()
        let deadline = ContinuousClock.now + limit
        while hub.openSocketCount > 0, ContinuousClock.now < deadline, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(20))
        }
        await hub.ledger.waitUntilIdle()
    }
}
