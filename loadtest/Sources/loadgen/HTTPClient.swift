import NIOCore
import NIOHTTP1
import NIOPosix

/// A keep-alive HTTP/1.1 connection for the coordinator's few requests (registration,
/// posting calls, publishing to nchan). NIOHTTP1 does the parsing; requests are serial.
final class HTTPConnection {
    struct Response {
        var status: Int
        var body: String
    }

    private let channel: Channel
    private let handler: ResponseCollector
    let host: String

    init(group: EventLoopGroup, host: String, port: Int) throws {
        let handler = ResponseCollector()
        self.handler = handler
        self.host = "\(host):\(port)"
        channel = try ClientBootstrap(group: group)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.pipeline.addHTTPClientHandlers().flatMap { channel.pipeline.addHandler(handler) }
            }
            .connect(host: host, port: port).wait()
    }

    /// Sends one request; `sentAt` receives the monotonic time just before the bytes go out.
    func request(_ method: HTTPMethod, _ uri: String, body: String? = nil, token: String? = nil, sentAt: UnsafeMutablePointer<UInt64>? = nil) throws -> Response {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: host)
        if let token { headers.add(name: "Authorization", value: "Bearer \(token)") }
        var buffer = channel.allocator.buffer(capacity: body?.utf8.count ?? 0)
        if let body {
            headers.add(name: "Content-Type", value: "application/json")
            buffer.writeString(body)
        }
        headers.add(name: "Content-Length", value: "\(buffer.readableBytes)")
        let head = HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: headers)
        let channel = self.channel
        let handler = self.handler
        let future = try channel.eventLoop.submit { () -> EventLoopFuture<Response> in
            let promise = channel.eventLoop.makePromise(of: Response.self)
            handler.pending = promise
            sentAt?.pointee = monotonicNanos()
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            if buffer.readableBytes > 0 { channel.write(HTTPClientRequestPart.body(.byteBuffer(buffer)), promise: nil) }
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
            return promise.futureResult
        }.wait()
        return try future.wait()
    }

    func close() {
        try? channel.close().wait()
    }
}

private final class ResponseCollector: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    var pending: EventLoopPromise<HTTPConnection.Response>?
    private var status = 0
    private var body = ""

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
            body = ""
        case .body(let buffer):
            body += String(buffer: buffer)
        case .end:
            pending?.succeed(.init(status: status, body: body))
            pending = nil
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        pending?.fail(ChannelError.ioOnClosedChannel)
        pending = nil
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        pending?.fail(error)
        pending = nil
        context.close(promise: nil)
    }
}
