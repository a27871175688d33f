import NIOCore
import NIOWebSocket

/// Closes a socket whose client sends an unmasked frame, with 1002 (RFC 6455 §5.1: "a
/// server MUST close the connection upon receiving a frame that is not masked"). Neither
/// SwiftNIO's frame decoder nor the WebSocket library checks this, so on Hummingbird-served
/// sockets (`/ws/dashboard`, and `/ws/volunteer` with `--volunteer-socket hummingbird`) the
/// guard sits right after the decoder; ``VolunteerChannelHandler`` checks it itself. Masking
/// keeps a hostile page's bytes from reading as plain HTTP to caching proxies on the way.
final class MaskedFrameGuard: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    /// Installs the guard behind the connection's frame decoder. Frames decoded before it is
    /// in place (at most the first, read while the route starts) pass unchecked.
    static func install(on channel: any Channel) async {
        try? await channel.eventLoop.submit { try add(to: channel.pipeline.syncOperations) }.get()
    }

    /// Adds the guard behind the frame decoder, on the channel's event loop.
    static func add(to pipeline: ChannelPipeline.SynchronousOperations) throws {
        let decoder = try pipeline.handler(type: ByteToMessageHandler<WebSocketFrameDecoder>.self)
        try pipeline.addHandler(MaskedFrameGuard(), position: .after(decoder))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard frame.maskKey == nil else {
            context.fireChannelRead(data)
            return
        }
        var code = context.channel.allocator.buffer(capacity: 2)
        code.write(webSocketErrorCode: .protocolError)
        let close = WebSocketFrame(fin: true, opcode: .connectionClose, data: code)
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(close)).whenComplete { _ in
            bound.value.close(promise: nil)
        }
    }
}
