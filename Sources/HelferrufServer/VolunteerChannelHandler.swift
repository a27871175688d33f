import HelferrufCore
import HummingbirdWebSocket
import NIOCore
import NIOWebSocket
import Synchronization

/// What every NIO-served volunteer socket shares.
struct VolunteerSocketSetup: Sendable {
    let gate: HelloGate<VolunteerConnection>
    let admission: HelloAdmission
    /// One ping sweep per event loop: a socket that has not answered a ping a period later
    /// is closed with 1001.
    let pings: PingSweeps
    /// How long a close frame waits for the client's before the connection is dropped.
    let closeTimeout: TimeAmount
    /// Shutdown is closing sockets: new upgrades are answered 503, as if nobody listened,
    /// so that clients reconnecting during the stop neither hold it up nor cost lookups.
    var draining: @Sendable () -> Bool = { false }
    /// Takes a `received` or `seen` for a live call at once (``Hub/reportFunnelNow``);
    /// false sends it the general way.
    var reportFunnel: @Sendable (_ callId: String, _ volunteerId: String, _ stage: FunnelStage) -> Bool = { _, _, _ in false }
}

/// Counts volunteer sockets that are upgraded but not yet past their hello, so that a
/// reconnect storm is admitted at the pace the token lookups keep up with: beyond `limit`,
/// new upgrades are answered 503 with `Retry-After` (cheap, and the client backs off)
/// instead of queueing lookups that would outlast the hello timeout.
///
/// The limit is exact: a place is taken (``reserve()``) when the upgrade is decided, on the
/// event loop of its connection, with one atomic step, so upgrades on several event loops
/// at once cannot pass it together (a check at the upgrade with the count taken later, once
/// the handler was added, let a reconnect storm reach 1,576 pending under the default limit
/// of 512; docs/BENCHMARKS.md).
final class HelloAdmission: Sendable {
    let limit: Int
    private let pending = Atomic<Int>(0)
    private let telemetry: Telemetry

    init(limit: Int, telemetry: Telemetry) {
        self.limit = limit
        self.telemetry = telemetry
    }

    /// A place for one more upgrade, or nil (counted in
    /// `helferruf_socket_upgrades_refused_total{reason="busy"}`) when all are taken.
    func reserve() -> AdmissionSlot? {
        var current = pending.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = pending.compareExchange(expected: current, desired: current + 1, ordering: .relaxed)
            if exchanged {
                telemetry.hellosPending.increment()
                return AdmissionSlot(self)
            }
            current = original
        }
        telemetry.upgradesRefusedBusy.increment()
        return nil
    }

    fileprivate func leave() {
        pending.subtract(1, ordering: .relaxed)
        telemetry.hellosPending.decrement()
    }
}

/// One upgrade's place among the pending hellos, given back exactly once: after the
/// welcome is queued, or when the connection closes, whichever comes first (a connection
/// that closes before its socket handler is added gives it back too).
final class AdmissionSlot: Sendable {
    private let admission: HelloAdmission
    private let held = Atomic<Bool>(true)

    fileprivate init(_ admission: HelloAdmission) {
        self.admission = admission
    }

    func release() {
        if held.exchange(false, ordering: .relaxed) { admission.leave() }
    }
}

/// One `/ws/volunteer` socket served by channel handlers, with no task or stream of its own
/// while it is idle. The rules are ``HelloGate``'s and the messages go to the gate's shared
/// `handle`; frames reach the client through the ``Outbox`` as on the Hummingbird path.
///
/// In front of it SwiftNIO's decoder reads frames and answers what it finds malformed (control
/// frames that are fragmented or too long, frames over the size limit); this handler refuses
/// unmasked frames and reserved bits, and joins fragments itself, so that an idle socket
/// carries no more handlers than it needs (each costs memory on every socket). Messages of
/// one socket are handled in order, one at a time, each in a short `Task` that hops back to
/// the event loop when done; while one runs the handler holds back `read`, so a client
/// cannot make the server buffer without limit.
final class VolunteerChannelHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private enum Phase {
        case hello
        case admitting
        case admitted(VolunteerConnection)
        /// Refused by origin or by the socket limit: only the close is left to do.
        case refused
        case closed
    }

    private let setup: VolunteerSocketSetup
    private let peer: SocketPeer
    private let maxMessageBytes: Int
    /// The message being joined from fragments, if any.
    private var fragments: (opcode: WebSocketOpcode, data: ByteBuffer, count: Int)?
    private let messages: MessageLimiter?
    private let outbox: Outbox
    private var phase = Phase.hello
    private var context: ChannelHandlerContext?
    /// Messages waiting behind the one being handled.
    private var queue: [WebSocketMessage] = []
    private var busy = false
    private var readHeld = false
    /// Taken when the upgrade was decided; released after the welcome.
    private let admissionSlot: AdmissionSlot?
    /// Counted against the address's socket limit.
    private var holdsSocketSlot = false
    private var closeSent = false
    private var helloTimer: Scheduled<Void>?
    private var sweep: PingSweep?
    /// This handler's place in its ``PingSweep``; set by the sweep.
    var sweepSlot: Int?
    /// Payload of the ping not answered yet.
    private var pingPayload: UInt64?
    /// When the last ping went out (or the socket opened).
    private var pingSentAt = NIODeadline.now()

    init(setup: VolunteerSocketSetup, peer: SocketPeer, maxMessageBytes: Int, admissionSlot: AdmissionSlot? = nil) {
        self.setup = setup
        self.peer = peer
        self.admissionSlot = admissionSlot
        self.maxMessageBytes = maxMessageBytes
        messages = peer.limits.messageLimiter()
        outbox = Outbox(capacity: setup.gate.capacity)
    }

    /// Completes an upgraded socket's pipeline (the upgrader has added the frame encoder,
    /// decoder and protocol-error handler). Fragments are joined up to `maxMessageBytes`;
    /// beyond it, or beyond ``maxFragments``, the socket closes with 1009.
    static func addPipeline(
        to channel: any Channel, setup: VolunteerSocketSetup, peer: SocketPeer, maxMessageBytes: Int, admissionSlot: AdmissionSlot
    ) throws {
        try channel.pipeline.syncOperations.addHandler(
            VolunteerChannelHandler(setup: setup, peer: peer, maxMessageBytes: maxMessageBytes, admissionSlot: admissionSlot))
    }

    static let maxFragments = 1024

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        guard peer.originAllowed else { return refuse(reason: "origin not allowed") }
        guard peer.limits.openSocket(peer.address) else { return refuse(reason: "rate limit") }
        holdsSocketSlot = true
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        outbox.bind(context.channel) { close in bound.value.sendClose(code: close.code, reason: close.reason) }
        let outbox = self.outbox
        helloTimer = context.eventLoop.scheduleTask(in: .nanoseconds(setup.gate.helloTimeout.nanoseconds)) {
            outbox.close(code: 4408, reason: "no hello in time")
        }
    }

    /// As on the Hummingbird path: closed with 1008 after a short pause that keeps the close
    /// frame out of the upgrade response's TCP segment.
    private func refuse(reason: String) {
        guard let context else { return }
        phase = .refused
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: .milliseconds(50)) { bound.value.sendClose(code: 1008, reason: reason) }
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        // RFC 6455 §5.1: a server MUST close the connection on a frame that is not masked
        // (masking keeps a hostile page's bytes from reading as plain HTTP to proxies on the
        // way); §5.2: no extension was negotiated, so no reserved bit may be set.
        guard frame.maskKey != nil else { return fail(code: 1002, waitForClient: false) }
        guard !frame.hasReservedBits else { return fail(code: 1002) }
        switch frame.opcode {
        case .text, .binary:
            // A new message while a fragmented one is open is a protocol error (§5.4).
            guard fragments == nil else { return fail(code: 1002) }
            guard frame.fin else {
                fragments = (frame.opcode, frame.unmaskedData, 1)
                return
            }
            message(frame.opcode, frame.unmaskedData)
        case .continuation:
            guard var joined = fragments else { return fail(code: 1002) }
            fragments = nil
            var more = frame.unmaskedData
            joined.count += 1
            guard joined.count <= Self.maxFragments, joined.data.readableBytes + more.readableBytes <= maxMessageBytes else {
                return fail(code: 1009)
            }
            joined.data.writeBuffer(&more)
            if frame.fin { message(joined.opcode, joined.data) } else { fragments = joined }
        case .ping:
            guard !closeSent else { return }
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)), promise: nil)
        case .pong:
            var data = frame.unmaskedData
            if let payload = pingPayload, data.readableBytes == 8, data.readInteger(as: UInt64.self) == payload { pingPayload = nil }
        case .connectionClose:
            receivedClose(frame)
        default:
            fail(code: 1002)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case ChannelEvent.inputClosed:
            // The client half-closed TCP: it is gone.
            context.close(promise: nil)
        case is ChannelShouldQuiesceEvent:
            // The server stops; sockets past their hello were already closed by the drain.
            outbox.close(code: 1001, reason: "server shutting down")
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch error {
        case is NIOWebSocketError:
            // WebSocketProtocolErrorHandler has sent the close frame and closes the channel.
            break
        default:
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        let was = phase
        phase = .closed
        helloTimer?.cancel()
        helloTimer = nil
        leaveSweep()
        queue.removeAll()
        outbox.finish()
        admissionSlot?.release()
        if holdsSocketSlot { peer.limits.closeSocket(peer.address) }
        holdsSocketSlot = false
        if case .admitted(let conn) = was { setup.gate.detach(conn) }
        self.context = nil
        context.fireChannelInactive()
    }

    /// A whole message, joined or not: text must be UTF-8 (else 1007, §8.1).
    private func message(_ opcode: WebSocketOpcode, _ data: ByteBuffer) {
        if opcode == .text {
            guard let text = String(validating: data.readableBytesView, as: UTF8.self) else { return fail(code: 1007) }
            received(.text(text))
        } else {
            received(.binary(data))
        }
    }

    // MARK: Back-pressure

    func read(context: ChannelHandlerContext) {
        if busy { readHeld = true } else { context.read() }
    }

    // MARK: Messages, in order

    private func received(_ message: WebSocketMessage) {
        guard !closeSent else { return }
        switch phase {
        case .refused, .closed: return
        case .hello, .admitting, .admitted: break
        }
        if let messages, !messages.allow() { return outbox.close(code: 1008, reason: "rate limit") }
        queue.append(message)
        if !busy { next() }
    }

    /// Handles queued messages until one needs asynchronous work; resumes reading when none is left.
    private func next() {
        busy = true
        while !queue.isEmpty {
            let message = queue.removeFirst()
            switch phase {
            case .admitted(let conn):
                // The answers every alert brings (PROTOCOL.md §7) need no task: one per
                // recipient within a second, each would cost a task and a hop back here.
                if case .text(let text) = message, case .funnel(let cid, let stage)? = ClientMessage.funnelFastPath(text.utf8),
                   setup.reportFunnel(cid, conn.volunteerId, stage) {
                    continue
                }
                let handle = setup.gate.handle
                return runThenContinue { await handle(message, conn) }
            case .hello:
                guard !outbox.isClosing else { continue }
                guard peer.limits.hello(peer.address) else {
                    outbox.close(code: 1008, reason: "rate limit")
                    continue
                }
                guard let token = Hello.token(from: message) else {
                    outbox.close(code: 4400, reason: "first message must be a hello")
                    continue
                }
                phase = .admitting
                return admit(token)
            case .admitting, .refused, .closed:
                continue
            }
        }
        busy = false
        if readHeld, let context {
            readHeld = false
            context.read()
        }
    }

    private func runThenContinue(_ work: @escaping @Sendable () async -> Void) {
        guard let loop = context?.eventLoop else { return }
        let bound = NIOLoopBound(self, eventLoop: loop)
        Task {
            await work()
            loop.execute { bound.value.next() }
        }
    }

    private func admit(_ token: String) {
        guard let loop = context?.eventLoop else { return }
        let bound = NIOLoopBound(self, eventLoop: loop)
        let (admit, outbox) = (setup.gate.admit, self.outbox)
        Task {
            let admission = await admit(token, outbox)
            loop.execute { bound.value.admitted(admission) }
        }
    }

    private func admitted(_ admission: Admission<VolunteerConnection>) {
        admissionSlot?.release()
        guard case .admitting = phase else {
            // The socket closed during the lookup: detach what was attached, exactly once.
            if case .admitted(let conn) = admission { setup.gate.detach(conn) }
            return
        }
        switch admission {
        case .admitted(let conn):
            helloTimer?.cancel()
            helloTimer = nil
            phase = .admitted(conn)
            joinSweep()
        case .unknownToken:
            phase = .hello
            outbox.close(code: 4401, reason: "unknown token")
        case .draining:
            phase = .hello
            outbox.close(code: 1001, reason: "server shutting down")
        }
        next()
    }

    // MARK: Ping and close

    /// Called by the ``PingSweep`` on this socket's event loop: pings a period after the last
    /// ping, and closes when that ping is still unanswered a period later.
    func pingTick(now: NIODeadline) {
        guard let context, !closeSent, let period = sweep?.period, now - pingSentAt >= period else { return }
        if pingPayload != nil {
            // No pong for a whole period: a half-open connection. As Hummingbird's auto-ping does.
            return sendClose(code: 1001, reason: "Ping timeout", waitForClient: false)
        }
        let payload = UInt64.random(in: .min ... .max)
        pingPayload = payload
        pingSentAt = now
        var data = context.channel.allocator.buffer(capacity: 8)
        data.writeInteger(payload)
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .ping, data: data)), promise: nil)
    }

    /// Pings start once the socket is admitted. Until then the hello timeout bounds a
    /// half-open socket, and reading is held while the hello is looked up, so a pong could
    /// not be seen: a slow lookup must not close a client that did nothing wrong.
    private func joinSweep() {
        guard let context else { return }
        let sweep = setup.pings.sweep(for: context.eventLoop)
        pingSentAt = .now()
        sweep.add(self)
        self.sweep = sweep
    }

    private func leaveSweep() {
        sweep?.remove(self)
        sweep = nil
    }

    /// A protocol error in what the client sent: the outbox stops and the socket closes with `code`.
    private func fail(code: UInt16, waitForClient: Bool = true) {
        fragments = nil
        outbox.finish()
        sendClose(code: code, reason: nil, waitForClient: waitForClient)
    }

    /// Sends the close frame. With `waitForClient` the connection is dropped when the client
    /// answers, or after the close timeout; without (an unmasked frame, a dead peer) as soon
    /// as the frame is written.
    private func sendClose(code: UInt16, reason: String?, waitForClient: Bool = true) {
        guard let context, !closeSent else { return }
        closeSent = true
        leaveSweep()
        var data = context.channel.allocator.buffer(capacity: 2 + (reason?.utf8.count ?? 0))
        data.write(webSocketErrorCode: WebSocketErrorCode(codeNumber: Int(code)))
        if let reason { data.writeString(reason) }
        let channel = context.channel
        let written = context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: data)))
        if waitForClient {
            context.eventLoop.scheduleTask(in: setup.closeTimeout) { channel.close(promise: nil) }
        } else {
            written.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    /// The client's close frame: answered as Hummingbird's WebSocket handler does (1000, or
    /// 1002 for a code or reason that is not allowed), then the connection is dropped.
    private func receivedClose(_ frame: WebSocketFrame) {
        guard let context else { return }
        outbox.finish()
        guard !closeSent else { return context.close(promise: nil) }
        closeSent = true
        leaveSweep()
        var data = frame.unmaskedData
        let size = data.readableBytes
        let code = data.readWebSocketErrorCode()
        let reasonValid = data.readableBytes == 0 || String(validating: data.readableBytesView, as: UTF8.self) != nil
        var reply = WebSocketErrorCode.normalClosure
        if frame.hasReservedBits || !reasonValid || (size > 0 && code == nil) {
            reply = .protocolError
        } else if case .unknown(let number) = code, number < 3000 || number > 4999 {
            reply = .protocolError
        }
        var out = context.channel.allocator.buffer(capacity: 2)
        out.write(webSocketErrorCode: reply)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: out))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}

extension WebSocketFrame {
    fileprivate var hasReservedBits: Bool { rsv1 || rsv2 || rsv3 }
}
