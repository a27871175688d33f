import HelferrufSync
import HummingbirdWebSocket
import NIOCore

/// What a socket kind decides about a good-looking hello.
enum Admission<Connection: Sendable>: Sendable {
    case admitted(Connection)
    /// Unknown token, or one of the wrong kind: close 4401.
    case unknownToken
    /// The server is shutting down: close 1001.
    case draining
}

/// What the route knows about a connecting socket before its first message.
struct SocketPeer: Sendable {
    var originAllowed: Bool
    /// The client address the per-address limits key on (``ClientAddress``).
    var address: String
    var limits: RateLimits
}

/// The life of a socket that must say hello first, shared by `/ws/volunteer` and
/// `/ws/dashboard` (PROTOCOL.md §4, §5): a refused origin or an abuse limit closes with
/// 1008, no hello within the timeout with 4408, a first message that is not a hello with
/// 4400, an unknown token with 4401; after a good hello every message goes to `handle`,
/// and the connection is detached when the socket ends.
struct HelloGate<Connection: Sendable> {
    let capacity: Int
    let helloTimeout: Duration
    let admit: @Sendable (_ token: String, _ outbox: Outbox) async -> Admission<Connection>
    let handle: @Sendable (WebSocketMessage, Connection) async -> Void
    let detach: @Sendable (Connection) -> Void

    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, peer: SocketPeer) async throws {
        guard peer.originAllowed else { return try await refuse(outbound, reason: "origin not allowed") }
        guard peer.limits.openSocket(peer.address) else { return try await refuse(outbound, reason: "rate limit") }
        defer { peer.limits.closeSocket(peer.address) }
        let messages = peer.limits.messageLimiter()
        let outbox = Outbox(capacity: capacity)
        let session = StateLock<Connection?>(nil)
        let timer = Task {
            try await Task.sleep(for: helloTimeout)
            if session.withLock({ $0 == nil }) { outbox.close(code: 4408, reason: "no hello in time") }
        }
        defer {
            timer.cancel()
            if let conn = session.withLock({ $0 }) { detach(conn) }
        }
        try await SocketPump.run(inbound: inbound, outbound: outbound, outbox: outbox) { message in
            if let messages, !messages.allow() {
                outbox.close(code: 1008, reason: "rate limit")
                return
            }
            if let conn = session.withLock({ $0 }) {
                await handle(message, conn)
                return
            }
            guard !outbox.isClosing else { return }
            guard peer.limits.hello(peer.address) else {
                outbox.close(code: 1008, reason: "rate limit")
                return
            }
            guard let token = Hello.token(from: message) else {
                outbox.close(code: 4400, reason: "first message must be a hello")
                return
            }
            switch await admit(token, outbox) {
            case .admitted(let conn):
                timer.cancel()
                session.withLock { $0 = conn }
            case .unknownToken:
                outbox.close(code: 4401, reason: "unknown token")
            case .draining:
                outbox.close(code: 1001, reason: "server shutting down")
            }
        }
    }

    /// Closes a just-upgraded socket with 1008 rather than refusing the upgrade: Hummingbird
    /// answers a refused upgrade with a bare 400. The short pause keeps the close frame out
    /// of the upgrade response's TCP segment, which some client libraries drop.
    private func refuse(_ outbound: WebSocketOutboundWriter, reason: String) async throws {
        try? await Task.sleep(for: .milliseconds(50))
        try await outbound.close(.policyViolation, reason: reason)
    }
}
