import NIOCore
import ServiceLifecycle

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

/// Graceful shutdown (PROTOCOL.md §6). Listed after the application in the service group,
/// so it is told first: it marks the server unready, refuses new sockets, closes every
/// WebSocket with 1001 and waits up to 10 seconds for close handshakes and in-flight
/// commits. Then the HTTP server stops listening and finishes its requests.
struct Drainer: Service {
    let hub: Hub
    var limit: Duration = .seconds(10)

    func run() async throws {
        try? await gracefulShutdown()
        hub.beginDrain()
        let deadline = ContinuousClock.now + limit
        while hub.openSocketCount > 0, ContinuousClock.now < deadline, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(20))
        }
        await hub.ledger.waitUntilIdle()
    }
}
