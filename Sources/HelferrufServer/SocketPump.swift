import HummingbirdWebSocket
import NIOCore
import NIOWebSocket

/// Runs one WebSocket connection: a child task reads and handles inbound messages, this task
/// waits for a close from the ``Outbox`` and performs it with the library's close handshake.
/// Frames themselves never pass through a task: the outbox writes them on the channel's
/// event loop. The reader ending (the client closed, or a protocol error such as a message
/// over 16 KiB) ends the outbox.
enum SocketPump {
    /// Largest message a client may send.
    static let maxMessageBytes = 16 * 1024

    /// The connection's channel, bound by the route (see ``SocketRequestContext``), so that
    /// the socket handlers need not pass it along.
    @TaskLocal static var channel: (any Channel)?

    static func run(
        inbound: WebSocketInboundStream,
        outbound: WebSocketOutboundWriter,
        outbox: Outbox,
        onMessage: @escaping @Sendable (WebSocketMessage) async -> Void
    ) async throws {
        guard let channel else { preconditionFailure("SocketPump.run needs SocketPump.channel bound by the route") }
        await MaskedFrameGuard.install(on: channel)
        outbox.bind(channel)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { outbox.finish() }
                for try await message in inbound.messages(maxSize: maxMessageBytes) {
                    await onMessage(message)
                }
            }
            if let close = await outbox.nextClose() {
                try? await outbound.close(WebSocketErrorCode(codeNumber: Int(close.code)), reason: close.reason)
            }
            outbox.finish()
            group.cancelAll()
            try await group.waitForAll()
        }
    }
}
