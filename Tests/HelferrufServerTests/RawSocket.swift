import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import Synchronization

/// A WebSocket client that sends and receives raw frames (NIOWebSocket's codec, no message
/// layer, no automatic pong or close reply), for the protocol edge cases of the sockets.
final class RawSocket: Sendable {
    enum Upgrade: Sendable {
        case upgraded(RawSocket)
        /// The server answered the upgrade with this status and headers instead.
        case refused(status: Int, headers: [(String, String)])
    }

    fileprivate struct State: Sendable {
        var frames: [WebSocketFrame] = []
        var ended = false
    }

    let channel: any Channel
    private let state: NIOLockedValueBox<State>

    private init(channel: any Channel, state: NIOLockedValueBox<State>) {
        self.channel = channel
        self.state = state
    }

    static func connect(port: Int, path: String = "/ws/volunteer") async throws -> Upgrade {
        let state = NIOLockedValueBox(State())
        let outcome = Outcome()
        let upgrader = NIOWebSocketClientUpgrader(maxFrameSize: 1 << 20, automaticErrorHandling: false) { channel, _ in
            channel.pipeline.addHandler(FrameCollector(state: state))
        }
        let request = RequestSender(path: path, port: port, outcome: outcome)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                let config: NIOHTTPClientUpgradeSendableConfiguration = (
                    upgraders: [upgrader],
                    completionHandler: { context in
                        context.pipeline.removeHandler(request, promise: nil)
                        outcome.complete(.success(nil))
                    }
                )
                return channel.pipeline.addHTTPClientHandlers(withClientUpgrade: config).flatMap { channel.pipeline.addHandler(request) }
            }
            .connect(host: "127.0.0.1", port: port).get()
        channel.closeFuture.whenComplete { _ in
            state.withLockedValue { $0.ended = true }
            outcome.complete(.failure(ChannelError.ioOnClosedChannel))
        }
        if let refused = try await outcome.promise.futureResult.get() { return refused }
        return .upgraded(RawSocket(channel: channel, state: state))
    }

    /// Sends one frame, masked as a client must.
    func send(_ opcode: WebSocketOpcode, _ bytes: [UInt8], fin: Bool = true) {
        let frame = WebSocketFrame(fin: fin, opcode: opcode, maskKey: .random(), data: ByteBuffer(bytes: bytes))
        channel.writeAndFlush(frame, promise: nil)
    }

    func send(text: String, fin: Bool = true) { send(.text, Array(text.utf8), fin: fin) }

    /// Sends a close frame with `code`.
    func sendClose(_ code: UInt16) {
        var data = ByteBuffer()
        data.writeInteger(code)
        send(.connectionClose, Array(data.readableBytesView))
    }

    /// The next frame received, or nil once the connection ended.
    func next(timeout: Duration = .seconds(5)) async throws -> WebSocketFrame? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let (frame, ended) = state.withLockedValue { s in (s.frames.isEmpty ? nil : s.frames.removeFirst(), s.ended) }
            if let frame { return frame }
            if ended { return nil }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw TestFailure("no frame within \(timeout)")
    }

    /// Skips frames until one with `opcode` arrives.
    func next(_ opcode: WebSocketOpcode, timeout: Duration = .seconds(5)) async throws -> WebSocketFrame {
        while true {
            guard let frame = try await next(timeout: timeout) else { throw TestFailure("closed before a \(opcode) frame") }
            if frame.opcode == opcode { return frame }
        }
    }

    /// The code of the next close frame (text frames before it are skipped).
    func closeCode(timeout: Duration = .seconds(10)) async throws -> UInt16? {
        var data = try await next(.connectionClose, timeout: timeout).unmaskedData
        return data.readInteger(as: UInt16.self)
    }

    /// Waits until the server has dropped the connection.
    func ended(timeout: Duration = .seconds(10)) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if state.withLockedValue({ $0.ended }) { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    func close() { channel.close(promise: nil) }
}

/// Text of a frame's payload.
extension WebSocketFrame {
    var text: String { String(buffer: unmaskedData) }
}

private final class FrameCollector: ChannelInboundHandler, Sendable {
    typealias InboundIn = WebSocketFrame
    let state: NIOLockedValueBox<RawSocket.State>

    init(state: NIOLockedValueBox<RawSocket.State>) { self.state = state }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        state.withLockedValue { $0.frames.append(frame) }
    }
}

/// Sends the upgrade request; reports a response that is not an upgrade.
private final class RequestSender: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    let path: String
    let port: Int
    let outcome: Outcome

    init(path: String, port: Int, outcome: Outcome) {
        self.path = path
        self.port = port
        self.outcome = outcome
    }

    func channelActive(context: ChannelHandlerContext) {
        let headers = HTTPHeaders([("Host", "127.0.0.1:\(port)"), ("Content-Length", "0")])
        context.write(wrapOutboundOut(.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data) {
            outcome.complete(.success(.refused(status: Int(head.status.code), headers: head.headers.map { ($0.name, $0.value) })))
        }
    }
}



/// How the upgrade went, settled by whichever comes first: upgrade, refusal or close.
private final class Outcome: Sendable {
    let promise = MultiThreadedEventLoopGroup.singleton.any().makePromise(of: RawSocket.Upgrade?.self)
    private let settled = NIOLockedValueBox(false)

    func complete(_ result: Result<RawSocket.Upgrade?, any Error>) {
        let first = settled.withLockedValue { done in
            defer { done = true }
            return !done
        }
        if first { promise.completeWith(result) }
    }
}
