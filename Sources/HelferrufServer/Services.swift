import Foundation
import HelferrufStore
import Logging
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

/// Follows the other nodes of the same database (PROTOCOL.md §9), and tells them every
/// second that this node is alive and renews its leases, and announces within 0.2 s which
/// push-reachable volunteers connected or left, until the stop begins.
struct ClusterSync: Service {
    let hub: Hub
    let link: ClusterLink

    func run() async throws {
        let (hub, link) = (self.hub, self.link)
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await link.feed.run(resync: { await hub.resync() }, receive: { await hub.receive($0) }) }
                group.addTask {
                    while !Task.isCancelled {
                        await link.tell()
                        await hub.holdLeases()
                        hub.forgetGonePresence()
                        try? await Task.sleep(for: ClusterLink.heartbeat)
                    }
                }
                group.addTask {
                    var refreshed = ContinuousClock.now
                    while !Task.isCancelled {
                        let everyone = link.takeNewcomer() || ContinuousClock.now - refreshed >= ClusterPresence.refreshInterval
                        if everyone { refreshed = .now }
                        await hub.announcePresence(everyone: everyone)
                        try? await Task.sleep(for: .milliseconds(200))
                    }
                }
            }
        }
    }
}

/// Graceful shutdown (PROTOCOL.md §6). Listed after the application in the service group,
/// so it is told first: it marks the server unready, refuses new sockets (503 on upgrade),
/// closes every WebSocket with 1001, waits up to `limit` for the close handshakes and drops
/// the sockets still open, waits for in-flight commits, then gives the push client
/// `pushGrace` for requests in flight. Then the HTTP server stops listening and finishes its
/// requests; with no sockets left that takes moments, so the whole stop stays within 10 s.
struct Drainer: Service {
    let hub: Hub
    /// How long `/readyz` reports unready before sockets are closed, so that a load
    /// balancer stops sending new clients first.
    var unreadyFor: Duration = .zero
    /// With the close handshake timeout (3 s) this keeps the whole stop within 10 s.
    var limit: Duration = .seconds(6)
    /// What is left of the 10 s for push requests already on their way.
    var pushGrace: Duration = .seconds(1)
    /// Each step of the stop is logged at `info` with its time since the signal, so that a
    /// slow stop shows where its time went.
    var logger = Logger(label: "helferruf")

    func run() async throws {
        try? await gracefulShutdown()
        let started = ContinuousClock.now
        func step(_ what: String, _ metadata: Logger.Metadata = [:]) {
            logger.info("shutdown: \(what)", metadata: metadata.merging(["after_s": "\(ContinuousClock.now - started)"]) { a, _ in a })
        }
        hub.markUnready()
        if unreadyFor > .zero { try? await Task.sleep(for: unreadyFor) }
        let sockets = hub.openSocketCount
        hub.beginDrain()
        step("closing sockets with 1001", ["sockets": "\(sockets)"])
        let deadline = ContinuousClock.now + limit
        while hub.openSocketCount > 0, ContinuousClock.now < deadline, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(20))
        }
        let left = hub.openSocketCount
        step("sockets closed", ["left": "\(left)"])
        // A socket whose client never answered, or whose close waits behind frames it does
        // not read, must not hold the stop past its 10 s (PROTOCOL.md §6).
        if left > 0 { hub.abortOpenSockets() }
        await hub.ledger.waitUntilIdle()
        await hub.push.gateway.shutdown(gracePeriod: pushGrace)
        step("ledger and push idle; the HTTP server stops next")
    }
}

/// The last guard of PROTOCOL.md §6's 10 seconds, armed at the stop signal: if the process
/// still runs `after` that (the HTTP server's quiescing waits for every connection it
/// accepted, each bounded by a timeout of its own, and on a loaded machine they add up), it
/// waits for the ledger to be idle, so that every acknowledged commit is on disk, and exits
/// with 0. Only `serve` runs it: tests run their servers inside the test process.
struct StopDeadline: Service {
    let ledger: any RosterLedger
    var after: Duration = .milliseconds(9500)
    var logger = Logger(label: "helferruf")

    func run() async throws {
        try? await gracefulShutdown()
        let (ledger, after, logger) = (self.ledger, self.after, self.logger)
        // A thread of its own: the deadline must not depend on the executor the stop is
        // waiting for. It dies with the process when the stop ends in time.
        Thread.detachNewThread {
            Thread.sleep(forTimeInterval: Double(after.nanoseconds) / 1e9)
            let idle = DispatchSemaphore(value: 0)
            Task { await ledger.waitUntilIdle(); idle.signal() }
            idle.wait()
            logger.warning("shutdown: still running \(after) after the signal; the ledger is idle, exiting")
            exit(0)
        }
    }
}
