import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A push service on a real loopback socket (127.0.0.1, a free port) for the delivery tests:
/// it records every request and answers what the test's script says.
final class ScriptedPushService: Sendable {
    /// One request as it arrived.
    struct Request: Sendable {
        var method: HTTPMethod
        var path: String
        var headers: HTTPHeaders
        var body: Data
        var arrived: ContinuousClock.Instant
    }

    /// How to answer one request.
    struct Answer: Sendable {
        var status: Int
        var headers: [(String, String)] = []
        /// Wait this long before answering (to hold a request in flight).
        var delay: Duration = .zero
        /// Close the connection instead of answering (a network error for the client).
        var closeConnection = false
        /// Bytes of response body to send.
        var bodyLength = 0
        /// Send the head (announcing `bodyLength` bytes) and then nothing more.
        var stallBody = false

        static func status(_ status: Int, _ headers: [(String, String)] = [], after delay: Duration = .zero) -> Answer {
            Answer(status: status, headers: headers, delay: delay)
        }

        static let close = Answer(status: 0, closeConnection: true)
    }

    /// Picks the answer to the `index`th request (0-based, over all paths) for `path`.
    typealias Script = @Sendable (_ path: String, _ index: Int) -> Answer

    struct Counters {
        var requests: [Request] = []
        var inFlight = 0
        var maximumInFlight = 0
    }

    let script: Script
    let counters = Locked(Counters())
    private let channel = Locked<(any Channel)?>(nil)

    private init(script: @escaping Script) {
        self.script = script
    }

    /// Starts listening; stop with ``stop()``.
    static func start(script: @escaping Script) async throws -> ScriptedPushService {
        let service = ScriptedPushService(script: script)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                do {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(RequestHandler(service: service))
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        service.channel.update { $0 = channel }
        return service
    }

    /// The port it listens on.
    var port: Int { channel.update { $0?.localAddress?.port } ?? 0 }

    /// `http://127.0.0.1:PORT`: the origin to allow and the expected VAPID audience.
    var origin: String { "http://127.0.0.1:\(port)" }

    func endpoint(_ path: String = "/push/1") -> String { origin + path }

    var requests: [Request] { counters.update { $0.requests } }

    var maximumInFlight: Int { counters.update { $0.maximumInFlight } }

    func stop() async throws {
        try await channel.update { $0 }?.close()
    }

    /// Reads each request whole, records it and answers per the script.
    private final class RequestHandler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let service: ScriptedPushService
        var head: HTTPRequestHead?
        var body = Data()

        init(service: ScriptedPushService) {
            self.service = service
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body = Data()
            case .body(let buffer):
                body.append(contentsOf: buffer.readableBytesView)
            case .end:
                guard let head else { return }
                let request = Request(
                    method: head.method, path: head.uri, headers: head.headers, body: body, arrived: .now)
                let index = service.counters.update { counters in
                    counters.requests.append(request)
                    counters.inFlight += 1
                    counters.maximumInFlight = max(counters.maximumInFlight, counters.inFlight)
                    return counters.requests.count - 1
                }
                let answer = service.script(head.uri, index)
                let (seconds, attoseconds) = answer.delay.components
                let delay = TimeAmount.nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
                context.eventLoop.assumeIsolated().scheduleTask(in: delay) {
                    self.service.counters.update { $0.inFlight -= 1 }
                    if answer.closeConnection {
                        context.close(promise: nil)
                        return
                    }
                    var headers = HTTPHeaders(answer.headers)
                    headers.add(name: "Content-Length", value: "\(answer.bodyLength)")
                    let responseHead = HTTPResponseHead(
                        version: head.version, status: HTTPResponseStatus(statusCode: answer.status), headers: headers)
                    context.write(self.wrapOutboundOut(.head(responseHead)), promise: nil)
                    guard !answer.stallBody else { return context.flush() }
                    if answer.bodyLength > 0 {
                        let body = ByteBuffer(repeating: UInt8(ascii: "x"), count: answer.bodyLength)
                        context.write(self.wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
                    }
                    context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
                }
            }
        }
    }
}
