import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// Nanoseconds of CLOCK_MONOTONIC: one time base shared by every process on the machine,
/// so the coordinator's POST time and the workers' receipt times can be subtracted.
func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// What a client socket talks to.
enum Peer {
    /// Helferruf `/ws/volunteer`: hello, availability, location; reconnects after a close.
    case helferruf(token: String, lat: Double, lon: Double)
    /// An nchan subscriber: just receives.
    case nchan
}

/// One simulated browser tab. Lives on one event loop; all its state is touched only there.
final class Client {
    let index: Int
    let peer: Peer
    let worker: WorkerState
    var channel: Channel?
    var paused = false
    var attempts = 0
    /// The epoch (see ``WorkerState/epoch``) in which this client last got a `welcome`.
    var welcomedEpoch = -1
    var stopped = false

    /// Where this client connects, also on every reconnect: the worker's target when the
    /// client was made (the worker's target moves on, e.g. to nginx for the nchan clients).
    let target: Target

    init(index: Int, peer: Peer, worker: WorkerState) {
        self.index = index
        self.peer = peer
        self.worker = worker
        target = worker.target
    }

    var isHelferruf: Bool {
        if case .helferruf = peer { return true }
        return false
    }

    /// Opens the socket and upgrades it; `done` fires once the upgrade finished or failed.
    func connect(on loop: EventLoop, done: (() -> Void)? = nil) {
        let path = isHelferruf ? "/ws/volunteer" : target.nchanPath
        let upgrader = NIOWebSocketClientUpgrader(maxFrameSize: 1 << 20, automaticErrorHandling: true) { channel, _ in
            channel.pipeline.addHandler(ClientFrameHandler(client: self))
        }
        let request = UpgradeRequestHandler(host: target.host, port: target.port, path: path) { [worker] why in
            worker.counters.withLockedValue { $0.upgradeFailures[why, default: 0] += 1 }
        }
        var bootstrap = ClientBootstrap(group: loop)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelOption(ChannelOptions.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65536))
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                let config: NIOHTTPClientUpgradeSendableConfiguration = (
                    upgraders: [upgrader],
                    completionHandler: { context in context.pipeline.removeHandler(request, promise: nil) }
                )
                return channel.pipeline.addHTTPClientHandlers(withClientUpgrade: config).flatMap {
                    channel.pipeline.addHandler(request)
                }
            }
        if let source = try? SocketAddress(ipAddress: target.source, port: 0) {
            bootstrap = bootstrap.bind(to: source)
        }
        worker.counters.withLockedValue { $0.attempts += 1 }
        bootstrap.connect(host: target.host, port: target.port).whenComplete { result in
            switch result {
            case .success(let channel):
                self.channel = channel
                channel.closeFuture.whenComplete { _ in
                    self.channel = nil
                    self.worker.counters.withLockedValue { $0.closed += 1 }
                    self.scheduleReconnect(on: loop)
                }
                request.upgraded.futureResult.whenComplete { _ in done?() }
            case .failure:
                self.worker.counters.withLockedValue { $0.connectFailures += 1 }
                done?()
                self.scheduleReconnect(on: loop)
            }
        }
    }

    /// Full-jitter exponential backoff, as a browser client should do (PROTOCOL.md §4).
    private func scheduleReconnect(on loop: EventLoop) {
        guard isHelferruf, !stopped, worker.reconnect.withLockedValue({ $0 }) else { return }
        attempts += 1
        let capMs = min(5000.0, 100.0 * pow(2.0, Double(min(attempts, 10))))
        let delay = Int64(Double.random(in: 50...max(51, capMs)))
        loop.scheduleTask(in: .milliseconds(delay)) { self.connect(on: loop) }
    }

    func sendText(_ text: String) {
        guard let channel else { return }
        var buffer = channel.allocator.buffer(capacity: text.utf8.count)
        buffer.writeString(text)
        let frame = WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: buffer)
        channel.writeAndFlush(frame, promise: nil)
    }

    /// Stops reading from the socket: the kernel buffers fill up and the server sees a
    /// client that does not keep up.
    func pause() {
        paused = true
        channel?.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
    }

    func didUpgrade() {
        attempts = 0
        if case .helferruf(let token, let lat, let lon) = peer {
            sendText("{\"type\":\"hello\",\"token\":\"\(token)\"}")
            sendText("{\"type\":\"availability\",\"status\":\"available\"}")
            sendText("{\"type\":\"location\",\"lat\":\(lat),\"lon\":\(lon)}")
        } else {
            welcomedEpoch = worker.epoch.withLockedValue { $0 }
            worker.counters.withLockedValue { $0.welcomed += 1 }
        }
    }

    func received(_ data: ByteBuffer) {
        let now = monotonicNanos()
        guard case .helferruf = peer else {
            // nchan: the message starts with its tag ("r7 xxxx…").
            let bytes = data.readableBytesView
            let tagEnd = bytes.firstIndex(of: UInt8(ascii: " ")) ?? bytes.endIndex
            worker.record(tag: String(decoding: bytes[bytes.startIndex..<tagEnd], as: UTF8.self), at: now, size: data.readableBytes)
            return
        }
        let bytes = data.readableBytesView
        if bytes.starts(with: Self.alertPrefix) {
            let callId = Self.string(in: bytes, after: Self.alertPrefix.count)
            worker.record(tag: callId, at: now, size: data.readableBytes)
            if worker.answering.withLockedValue({ $0 }) { answer(callId) }
        } else if bytes.starts(with: Self.welcomePrefix) {
            let epoch = worker.epoch.withLockedValue { $0 }
            welcomedEpoch = epoch
            worker.counters.withLockedValue {
                $0.welcomed += 1
                $0.lastWelcome = now
            }
        } else if bytes.starts(with: Self.acceptPrefix) {
            let callId = Self.string(in: bytes, after: Self.acceptPrefix.count)
            let result = String(decoding: bytes, as: UTF8.self).components(separatedBy: "\"result\":\"").last?.prefix { $0 != "\"" } ?? "?"
            worker.recordAccept(callId: callId, result: String(result), at: now)
        }
    }

    /// Answers an alert as the volunteer page does (web/js/receipts.js, PROTOCOL.md §7):
    /// `received` at once; every second client also `seen`, as a page that is visible when
    /// the alert comes in (the others stay in a background tab). Both frames, one flush.
    private func answer(_ callId: String) {
        guard let channel else { return }
        write(channel, "{\"type\":\"received\",\"callId\":\"\(callId)\"}")
        if index % 2 == 0 { write(channel, "{\"type\":\"seen\",\"callId\":\"\(callId)\"}") }
        channel.flush()
    }

    private func write(_ channel: Channel, _ text: String) {
        var buffer = channel.allocator.buffer(capacity: text.utf8.count)
        buffer.writeString(text)
        channel.write(WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: buffer), promise: nil)
    }

    private static let alertPrefix = Array("{\"type\":\"alert\",\"call\":{\"id\":\"".utf8)
    private static let welcomePrefix = Array("{\"type\":\"welcome\"".utf8)
    private static let acceptPrefix = Array("{\"type\":\"accept_result\",\"callId\":\"".utf8)

    private static func string(in bytes: ByteBufferView, after offset: Int) -> String {
        let start = bytes.index(bytes.startIndex, offsetBy: offset)
        let end = bytes[start...].firstIndex(of: UInt8(ascii: "\"")) ?? bytes.endIndex
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}

/// Sends the HTTP upgrade request once the channel is active.
final class UpgradeRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    let host: String
    let port: Int
    let path: String
    var upgraded: EventLoopPromise<Void>!

    /// Told why an upgrade failed (the response status, or the error).
    let failed: (String) -> Void

    init(host: String, port: Int, path: String, failed: @escaping (String) -> Void) {
        self.host = host
        self.port = port
        self.path = path
        self.failed = failed
    }

    func handlerAdded(context: ChannelHandlerContext) {
        upgraded = context.eventLoop.makePromise()
        if context.channel.isActive { sendRequest(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        sendRequest(context: context)
        context.fireChannelActive()
    }

    private var sent = false
    private func sendRequest(context: ChannelHandlerContext) {
        guard !sent else { return }
        sent = true
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: "\(host):\(port)")
        headers.add(name: "Content-Length", value: "0")
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    private var finished = false
    private func finish(_ ok: Bool) {
        guard !finished else { return }
        finished = true
        if ok { upgraded.succeed(()) } else { upgraded.fail(ChannelError.ioOnClosedChannel) }
    }

    /// The upgrade removes this handler; a close before that fails the upgrade first.
    func handlerRemoved(context: ChannelHandlerContext) {
        finish(true)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // A response that is not an upgrade (503, 429, ...): give up on this socket.
        switch unwrapInboundIn(data) {
        case .head(let head): failed("\(head.status.code)")
        case .end: context.close(promise: nil)
        case .body: break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(false)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        failed("\(error)")
        context.close(promise: nil)
    }
}

/// Handles the frames of an upgraded socket: text to the client, pings answered, closes echoed.
final class ClientFrameHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    let client: Client

    init(client: Client) {
        self.client = client
    }

    func handlerAdded(context: ChannelHandlerContext) {
        client.didUpgrade()
        if client.paused { context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in } }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text:
            client.received(frame.unmaskedData)
        case .ping:
            let pong = WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.unmaskedData)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .connectionClose:
            var data = frame.unmaskedData
            let code = data.readInteger(as: UInt16.self) ?? 1005
            client.worker.recordClose(code: code)
            var reply = context.channel.allocator.buffer(capacity: 2)
            reply.writeInteger(code == 1005 ? 1000 : code)
            let close = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: reply)
            context.writeAndFlush(wrapOutboundOut(close)).whenComplete { _ in context.close(promise: nil) }
        default:
            break
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
