import HelferrufCore
import HelferrufStore
import HummingbirdWebSocket
import NIOCore

/// `/ws/dashboard` (PROTOCOL.md §5): hello with an organisation token (or a console's
/// single-use ticket, `{"type":"hello","ticket":"…"}`), a snapshot of its
/// current and recently ended calls, then one `call` message per change (coalesced to at
/// most one per call per second by the ``Hub``).
struct DashboardSocket {
    let hub: Hub
    let accounts: Accounts
    let helloTimeout: Duration

    /// How far back ended calls appear in the snapshot.
    static let recentMillis: Int64 = 24 * 3600 * 1000

    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, peer: SocketPeer) async throws {
        let hub = self.hub, accounts = self.accounts
        let gate = HelloGate<DashboardConnection>(
            capacity: hub.outboxCapacity, helloTimeout: helloTimeout,
            admit: { token, outbox in
                guard let org = await accounts.dashboardOrganisation(hello: token) else { return .unknownToken }
                let since = hub.clock().adding(millis: -Self.recentMillis)
                let calls = (try? await hub.store.dashboardCalls(orgId: org.id, endedSince: since)) ?? []
                guard let conn = hub.attachDashboard(orgId: org.id, outbox: outbox, stored: calls) else { return .draining }
                return .admitted(conn)
            },
            handle: { message, conn in
                // Dashboards only listen; anything they send is answered with an error.
                var code = "unknown_type"
                if case .text(let text) = message, case .failure(.badJSON) = ClientMessage.parse(Array(text.utf8)) { code = "bad_json" }
                conn.outbox.send(Wire.error(code: code, message: "dashboards only receive", requestId: nil))
            },
            detach: { hub.detach($0) })
        try await gate.run(inbound: inbound, outbound: outbound, peer: peer)
    }
}
