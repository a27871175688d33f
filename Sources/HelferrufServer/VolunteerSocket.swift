import HelferrufCore
import HelferrufStore
import HummingbirdWebSocket
import NIOCore

/// `/ws/volunteer` (PROTOCOL.md §4 and §7): hello within 10 s, then availability, location,
/// accept, decline, withdraw, received, seen, checkin and checkout. A bad message gets an `error` reply and the socket stays
/// open; a bad hello closes it.
struct VolunteerSocket {
    let hub: Hub
    let helloTimeout: Duration

    /// The hello rules and the message handling, one implementation for both ways of serving
    /// the socket: Hummingbird's (``run(inbound:outbound:peer:)``) and channel handlers
    /// (``VolunteerChannelHandler``).
    var gate: HelloGate<VolunteerConnection> {
        let hub = self.hub
        return HelloGate<VolunteerConnection>(
            capacity: hub.outboxCapacity, helloTimeout: helloTimeout,
            admit: { token, outbox in
                // A client reconnecting during shutdown costs no database reads.
                guard !hub.isDraining else { return .draining }
                guard let profile = try? await hub.store.volunteer(token: token) else { return .unknownToken }
                let stored = (try? await hub.store.welcomeState(volunteerId: profile.id, now: hub.clock())) ?? WelcomeState()
                guard let conn = hub.attachVolunteer(profile, outbox: outbox, stored: stored) else { return .draining }
                return .admitted(conn)
            },
            handle: { message, conn in await handle(message, conn: conn) },
            detach: { hub.detach($0) })
    }

    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, peer: SocketPeer) async throws {
        try await gate.run(inbound: inbound, outbound: outbound, peer: peer)
    }

    private func handle(_ message: WebSocketMessage, conn: VolunteerConnection) async {
        let outbox = conn.outbox
        guard case .text(let text) = message else {
            outbox.send(Wire.error(code: "bad_json", message: "messages must be JSON text frames", requestId: nil))
            return
        }
        switch ClientMessage.parse(Array(text.utf8)) {
        case .failure(.badJSON):
            outbox.send(Wire.error(code: "bad_json", message: "message must be a JSON object", requestId: nil))
        case .failure(.unknownType(let rid)):
            outbox.send(Wire.error(code: "unknown_type", message: "unknown message type", requestId: rid))
        case .failure(.invalid(let why, let rid)):
            outbox.send(Wire.error(code: "validation_failed", message: why, requestId: rid))
        case .success(.hello):
            outbox.send(Wire.error(code: "unknown_type", message: "already said hello", requestId: nil))
        case .success(.availability(let available, let until)):
            do {
                try await hub.changeAvailability(conn.volunteerId, available ? .available(until: until) : .unavailable)
            } catch {
                outbox.send(Wire.error(code: "unavailable", message: "could not store the availability, try again", requestId: nil))
            }
        case .success(.location(let point)):
            hub.setLocation(conn.volunteerId, point)
        case .success(.accept(let cid, let rid, let party)):
            let eligible = hub.mayAccept(volunteer: conn.volunteerId, call: cid)
            let outcome = await hub.ledger.submit(.accept(callId: cid, volunteerId: conn.volunteerId, eligible: eligible, party: party))
            reply(outcome, callId: cid, requestId: rid, outbox: outbox)
        case .success(.withdraw(let cid, let rid)):
            let outcome = await hub.ledger.submit(.withdraw(callId: cid, volunteerId: conn.volunteerId))
            reply(outcome, callId: cid, requestId: rid, outbox: outbox)
        case .success(.decline(let cid)):
            let outcome = await hub.ledger.submit(.decline(callId: cid, volunteerId: conn.volunteerId))
            if outcome.result != .done { reply(outcome, callId: cid, requestId: nil, outbox: outbox) }
        case .success(.funnel(let cid, let stage)):
            if let outcome = await hub.reportFunnel(callId: cid, volunteer: conn.volunteerId, stage: stage, wait: false), outcome.result != .done {
                reply(outcome, callId: cid, requestId: nil, outbox: outbox)
            }
        case .success(.checkin(let cid, let rid, let arrived)):
            let outcome = await hub.ledger.submit(.checkin(callId: cid, volunteerId: conn.volunteerId, arrived: arrived))
            if outcome.result == .done {
                outbox.send(Wire.checkinResult(callId: cid, requestId: rid, checkedIn: arrived))
            } else {
                reply(outcome, callId: cid, requestId: rid, outbox: outbox)
            }
        }
    }

    private func reply(_ outcome: RosterOutcome, callId: String, requestId: String?, outbox: Outbox) {
        switch outcome.result {
        case .answer(let result):
            outbox.send(Wire.acceptResult(callId: callId, requestId: requestId, result: result))
        case .notFound:
            outbox.send(Wire.error(code: "not_found", message: "no such call", requestId: requestId))
        case .unavailable:
            outbox.send(Wire.error(code: "unavailable", message: "could not store the change, try again", requestId: requestId))
        case .invalid(let why):
            outbox.send(Wire.error(code: "validation_failed", message: why, requestId: requestId))
        case .done, .conflict:
            break
        }
    }
}

/// The first message of every socket: `{"type":"hello","token":"…"}`.
enum Hello {
    static func token(from message: WebSocketMessage) -> String? {
        guard case .text(let text) = message, case .success(.hello(let token)) = ClientMessage.parse(Array(text.utf8)),
              !token.isEmpty, token.utf8.count <= 256
        else { return nil }
        return token
    }
}
