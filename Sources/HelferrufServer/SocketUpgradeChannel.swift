import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOWebSocket
@_spi(WSInternal) import WSCore

/// A WebSocket route served the Hummingbird way: inbound stream and outbound writer in a task.
typealias HummingbirdSocketRoute = @Sendable (WebSocketInboundStream, WebSocketOutboundWriter, Request, any Channel) async throws -> Void

/// HTTP/1 with WebSocket upgrades on one port, where `/ws/volunteer` is served by channel
/// handlers (``VolunteerChannelHandler``): once upgraded, a volunteer socket has no Swift
/// task, no `NIOAsyncChannel` and no place in the server's task group, which is what made
/// memory per socket and reconnect storms expensive (docs/BENCHMARKS.md, "What the profile
/// shows"). Plain HTTP and the other WebSocket routes go through Hummingbird as with
/// `HTTPServerBuilder.http1WebSocketUpgrade`.
///
/// Modelled on hummingbird-websocket 2.8.1's `HTTP1WebSocketUpgradeChannel`; the other routes
/// run in WSCore's `WebSocketHandler` (SPI, as HummingbirdWebSocket uses it), without
/// extension negotiation (the server configures none).
struct SocketUpgradeChannel: ServerChildChannel, HTTPChannelHandler {
    typealias SocketTask = @Sendable (NIOAsyncChannel<WebSocketFrame, WebSocketFrame>, Logger) async -> Void

    enum UpgradeResult: Sendable {
        /// A volunteer socket; it lives on in its channel pipeline.
        case volunteer
        case hummingbird(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>, SocketTask, Logger)
        case notUpgraded(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        case refused(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, busy: Bool, Logger)
    }

    /// What `shouldUpgrade` decided, for the upgrade's pipeline handler.
    private enum Decision {
        case volunteer(SocketPeer, AdmissionSlot)
        case hummingbird(SocketTask)
        case refuse
        /// Too many volunteer hellos pending (``HelloAdmission``), or the server is shutting
        /// down: 503 with `Retry-After`.
        case busy
    }

    struct Value: ServerChildChannelValue {
        let upgradeResult: EventLoopFuture<UpgradeResult>
        let channel: any Channel
    }

    static let volunteerPath = "/ws/volunteer"
    let responder: HTTPChannelHandler.Responder
    let configuration: HTTP1WebSocketUpgradeChannel.Configuration
    let routes: [String: HummingbirdSocketRoute]
    let volunteers: VolunteerSocketSetup
    let peer: @Sendable (Request, any Channel) -> SocketPeer

    init(
        responder: @escaping HTTPChannelHandler.Responder, configuration: HTTP1WebSocketUpgradeChannel.Configuration,
        routes: [String: HummingbirdSocketRoute], volunteers: VolunteerSocketSetup, peer: @escaping @Sendable (Request, any Channel) -> SocketPeer
    ) {
        self.responder = Self.redirectingUpgrades(responder)
        self.configuration = configuration
        self.routes = routes
        self.volunteers = volunteers
        self.peer = peer
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            // Every channel keeps its last receive buffer; start it small (STACK-NOTES: the
            // floor's 5.5 → 3.7 KB per socket). HTTP bodies grow it back within a few reads.
            try channel.syncOptions?.setOption(
                ChannelOptions.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 256, maximum: 65536))
            let logger = logger.with(requestID: RequestID())
            let attempted = NIOLoopBoundBox(false, eventLoop: channel.eventLoop)
            let decision = NIOLoopBoundBox(Decision.refuse, eventLoop: channel.eventLoop)
            let upgrader = NIOTypedWebSocketServerUpgrader<UpgradeResult>(
                maxFrameSize: configuration.ws.maxFrameSize,
                shouldUpgrade: { channel, head in
                    attempted.value = true
                    decision.value = decide(head, channel: channel)
                    switch decision.value {
                    case .volunteer, .hummingbird: return channel.eventLoop.makeSucceededFuture(HTTPHeaders())
                    case .refuse, .busy: return channel.eventLoop.makeSucceededFuture(nil)
                    }
                },
                upgradePipelineHandler: { channel, _ in
                    channel.eventLoop.makeCompletedFuture {
                        switch decision.value {
                        case .volunteer(let peer, let slot):
                            try VolunteerChannelHandler.addPipeline(
                                to: channel, setup: volunteers, peer: peer, maxMessageBytes: configuration.ws.maxFrameSize, admissionSlot: slot)
                            return .volunteer
                        case .hummingbird(let task):
                            let socket = try NIOAsyncChannel<WebSocketFrame, WebSocketFrame>(
                                wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                            return .hummingbird(socket, task, logger)
                        case .refuse, .busy:
                            throw NIOWebSocketUpgradeError.unsupportedWebSocketTarget
                        }
                    }
                }
            )
            let http1 = configuration.http1
            let upgrades = NIOTypedHTTPServerUpgradeConfiguration(
                upgraders: [upgrader],
                notUpgradingCompletionHandler: { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let sync = channel.pipeline.syncOperations
                        try sync.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                        try sync.addHandlers(http1.additionalChannelHandlers())
                        try sync.addHandler(HTTPConnectionStateHandler(idleTimeout: http1.idleTimeout.map { .init($0) }, logger: logger))
                        let http = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                            wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                        guard attempted.value else { return .notUpgraded(http) }
                        if case .busy = decision.value { return .refused(http, busy: true, logger) }
                        return .refused(http, busy: false, logger)
                    }
                }
            )
            var pipeline = NIOUpgradableHTTPServerPipelineConfiguration<UpgradeResult>(upgradeConfiguration: upgrades)
            pipeline.enablePipelining = false  // HTTP is pipelined by NIOAsyncChannel
            pipeline.enableErrorHandling = false  // as Hummingbird: its handlers answer errors
            pipeline.enableResponseHeaderValidation = false  // swift-http-types validates already
            pipeline.decoderConfiguration.maxHeaderFieldSize = http1.httpDecoder.maxHeaderFieldSize
            pipeline.decoderConfiguration.maxHeaderListSize = http1.httpDecoder.maxHeaderListSize
            pipeline.decoderConfiguration.maxHeaderFieldCount = http1.httpDecoder.maxHeaderFieldCount
            let result = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: pipeline)
            return Value(upgradeResult: result, channel: channel)
        }
    }

    /// Runs on the event loop: which socket an upgrade request gets, if any.
    private func decide(_ head: HTTPRequestHead, channel: any Channel) -> Decision {
        guard let head = try? HTTPRequest(head, secure: false, splitCookie: false), head.method == .get else { return .refuse }
        let request = Request(head: head, body: .init(buffer: ByteBuffer()))
        let path = request.uri.path
        if path == Self.volunteerPath {
            guard !volunteers.draining(), let slot = volunteers.admission.reserve() else { return .busy }
            channel.closeFuture.whenComplete { _ in slot.release() }
            return .volunteer(peer(request, channel), slot)
        }
        guard let route = routes[path] else { return .refuse }
        let ws = configuration.ws
        let handlerConfiguration = WebSocketHandler.Configuration(
            extensions: [], autoPing: ws.autoPing, closeTimeout: ws.closeTimeout, validateUTF8: ws.validateUTF8, maxFrameSize: ws.maxFrameSize)
        return .hummingbird { socket, logger in
            do {
                _ = try await WebSocketHandler.handle(
                    type: .server, configuration: handlerConfiguration, asyncChannel: socket, context: SocketContext(logger: logger)
                ) { inbound, outbound, _ in
                    try await route(inbound, outbound, request, socket.channel)
                }
            } catch {
                logger.debug("WebSocket handler error", metadata: ["error.type": "\(error)"])
            }
        }
    }

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.upgradeResult.get() {
            case .volunteer:
                return
            case .hummingbird(let socket, let task, let logger):
                await task(socket, logger)
            case .notUpgraded(let http):
                await handleHTTP(asyncChannel: http, logger: logger)
            case .refused(let http, let busy, let logger):
                await refuse(http, busy: busy, logger: logger)
            }
        } catch let error as ChannelError where error == .inputClosed {
            logger.trace("Upgrade failed as input was closed")
        } catch {
            logger.debug("Error handling upgrade result", metadata: ["error.type": "\(error)"])
        }
    }

    /// A refused upgrade: 400 as Hummingbird answers it, or 503 with `Retry-After` (1–3 s,
    /// jittered so that refused clients do not come back together) while hellos pile up or
    /// the server shuts down.
    private func refuse(_ http: NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, busy: Bool, logger: Logger) async {
        do {
            try await http.executeThenClose { _, outbound in
                guard busy else {
                    try await outbound.write(contentsOf: [.head(.init(status: .badRequest, headerFields: [.connection: "close", .contentLength: "0"])), .end(nil)])
                    return
                }
                let why = volunteers.draining() ? "the server is shutting down" : "too many sockets connecting"
                let body = ByteBuffer(string: #"{"error":{"code":"unavailable","message":""# + why + #", retry shortly"}}"#)
                let head = HTTPResponse(status: .serviceUnavailable, headerFields: [
                    .connection: "close", .contentType: "application/json", .contentLength: "\(body.readableBytes)",
                    .retryAfter: "\(Int.random(in: 1...3))",
                ])
                try await outbound.write(contentsOf: [.head(head), .body(body), .end(nil)])
            }
        } catch {
            logger.trace("Failed to write the refusal: \(error)")
        }
    }

    /// As Hummingbird: an upgrade request on a connection that already served HTTP is
    /// redirected to itself with the connection closed, so that it comes back fresh.
    private static func redirectingUpgrades(_ responder: @escaping HTTPChannelHandler.Responder) -> HTTPChannelHandler.Responder {
        struct RedirectClose: Error {}
        return { (request: Request, writer: consuming ResponseWriter, channel: any Channel) in
            guard request.headers[.upgrade] == "websocket" else { return try await responder(request, writer, channel) }
            var path = request.uri.path
            if let query = request.uri.query { path += "?\(query)" }
            try await writer.writeResponse(HTTPResponse(status: .temporaryRedirect, headerFields: [.connection: "close", .location: path]))
            throw RedirectClose()
        }
    }
}

/// The context of a Hummingbird-served socket.
private struct SocketContext: WebSocketContext {
    let logger: Logger
}

extension Logger {
    fileprivate func with(requestID: RequestID) -> Logger {
        var logger = self
        logger[metadataKey: "hb.request.id"] = .stringConvertible(requestID)
        return logger
    }
}
