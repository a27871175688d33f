import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore

/// The request context of the HTTP API: Hummingbird's basic context plus the client's
/// address, which the abuse limits key on.
struct AppRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

/// The request context of WebSocket upgrades: the client's address, and the connection's
/// channel, which the ``Outbox`` writes to on its event loop (no task per frame).
struct AppWebSocketContext: RequestContext, WebSocketRequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let webSocket: WebSocketHandlerReference<Self>
    let remoteAddress: SocketAddress?
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
        remoteAddress = source.channel.remoteAddress
        channel = source.channel
    }
}

extension RemoteAddressRequestContext {
    /// The client's IP address as text ("unknown" for a Unix socket).
    var clientIP: String { remoteAddress?.ipAddress ?? "unknown" }
}

/// Logs one line per request: method, path without its query (queries can carry
/// coordinates), status and duration. The request id comes with the context's logger.
struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            log(request, context, status: Int(response.status.code), start: start)
            return response
        } catch let error as any HTTPResponseError {
            log(request, context, status: Int(error.status.code), start: start)
            throw error
        }
    }

    private func log(_ request: Request, _ context: Context, status: Int, start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        context.logger.info("request", metadata: [
            "method": "\(request.method)",
            "path": "\(request.uri.path)",
            "status": "\(status)",
            "ms": "\(Double(elapsed.nanoseconds) / 1_000_000)",
        ])
    }
}
