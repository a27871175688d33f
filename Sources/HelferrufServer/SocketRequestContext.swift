import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// The WebSocket routes' request context: Hummingbird's basic one plus the connection's
/// channel, which the ``Outbox`` writes to on its event loop (no task per frame).
struct SocketRequestContext: RequestContext, WebSocketRequestContext {
    var coreContext: CoreRequestContextStorage
    let webSocket: WebSocketHandlerReference<Self>
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
        channel = source.channel
    }
}
