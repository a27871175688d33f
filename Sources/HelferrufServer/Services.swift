import NIOCore
import ServiceLifecycle

/// Periodic work: call expiry at `endsAt`, coalesced dashboard updates, forgetting
/// volunteers two minutes after their last socket closed.
struct Housekeeper: Service {
    let hub: Hub
    var interval: Duration = .milliseconds(100)

    func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            for id in hub.tick() { hub.ledger.submitDetached(.expire(callId: id)) }
            // A cancelled sleep ends the loop instead of spinning.
            do { try await Task.sleep(for: interval) } catch { return }
        }
    }
}

/// Graceful shutdown (PROTOCOL.md §6). Listed after the application in the service group,
/// so it is told first: it marks the server unready, refuses new sockets, closes every
/// WebSocket with 1001 and waits up to 10 seconds for close handshakes and in-flight
/// commits, then gives the push client `pushGrace` for requests in flight. Then the HTTP
/// server stops listening and finishes its requests.
struct Drainer: Service {
    let hub: Hub
    /// How long `/readyz` reports unready before sockets are closed, so that a load
    /// balancer stops sending new clients first.
    var unreadyFor: Duration = .zero
    /// With the close handshake timeout (3 s) this keeps the whole stop within 10 s.
    var limit: Duration = .seconds(6)
    /// What is left of the 10 s for push requests already on their way.
    var pushGrace: Duration = .seconds(1)

    func run() async throws {
        try? await gracefulShutdown()
        hub.markUnready()
        if unreadyFor > .zero { try? await Task.sleep(for: unreadyFor) }
        hub.beginDrain()
        let deadline = ContinuousClock.now + limit
        while hub.openSocketCount > 0, ContinuousClock.now < deadline, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(20))
        }
        await hub.ledger.waitUntilIdle()
        await hub.push.gateway.shutdown(gracePeriod: pushGrace)
    }
}
