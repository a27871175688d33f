import HelferrufCore
import HelferrufStore
import HummingbirdWebSocket
import NIOCore
import Synchronization

/// `/ws/dashboard` (PROTOCOL.md §5): hello with an organisation token, a snapshot of its
/// current and recently ended calls, then one `call` message per change (coalesced to at
/// most one per call per second by the ``Hub``).
struct DashboardSocket {
    let hub: Hub
    let helloTimeout: Duration

    /// How far back ended calls appear in the snapshot.
    static let recentMillis: Int64 = 24 * 3600 * 1000

    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, originAllowed: Bool) async throws {
        guard originAllowed else {
            // Closed with 1008 rather than refused: Hummingbird answers a refused upgrade with
            // a bare 400. The short pause keeps the close frame out of the upgrade response's
            // TCP segment, which some client libraries drop.
            try? await Task.sleep(for: .milliseconds(50))
            try await outbound.close(.policyViolation, reason: "origin not allowed")
            return
        }
        let outbox = Outbox(capacity: hub.outboxCapacity)
        let session = Mutex<DashboardConnection?>(nil)
        let timer = Task {
            try await Task.sleep(for: helloTimeout)
            if session.withLock({ $0 == nil }) { outbox.close(code: 4408, reason: "no hello in time") }
        }
        defer {
            timer.cancel()
            if let conn = session.withLock({ $0 }) { hub.detach(conn) }
        }
        try await SocketPump.run(inbound: inbound, outbound: outbound, outbox: outbox) { message in
            if session.withLock({ $0 }) != nil {
                // Dashboards only listen; anything they send is answered with an error.
                var code = "unknown_type"
                if case .text(let text) = message, case .failure(.badJSON) = ClientMessage.parse(Array(text.utf8)) { code = "bad_json" }
                outbox.send(Wire.error(code: code, message: "dashboards only receive", requestId: nil))
                return
            }
            guard !outbox.isClosing else { return }
            guard let token = Hello.token(from: message) else {
                outbox.close(code: 4400, reason: "first message must be a hello")
                return
            }
            guard let org = try? await hub.store.organisation(token: token) else {
                outbox.close(code: 4401, reason: "unknown token")
                return
            }
            let since = hub.clock().adding(millis: -Self.recentMillis)
            let calls = (try? await hub.store.dashboardCalls(orgId: org.id, endedSince: since)) ?? []
            guard let conn = hub.attachDashboard(orgId: org.id, outbox: outbox, stored: calls) else {
                outbox.close(code: 1001, reason: "server shutting down")
                return
            }
            timer.cancel()
            session.withLock { $0 = conn }
        }
    }
}
