import HummingbirdWebSocket
import NIOCore
import NIOWebSocket

/// Runs one WebSocket connection as exactly two tasks: this one writes whatever the
/// ``Outbox`` yields, a child task reads and handles inbound messages. A close queued in
/// the outbox ends the connection with that code; the reader ending (the client closed, or
/// a protocol error such as a message over 16 KiB) ends the writer.
enum SocketPump {
    /// Largest message a client may send.
    static let maxMessageBytes = 16 * 1024

    static func run(
        inbound: WebSocketInboundStream,
        outbound: WebSocketOutboundWriter,
        outbox: Outbox,
        onMessage: @escaping @Sendable (WebSocketMessage) async -> Void
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { outbox.finish() }
                for try await message in inbound.messages(maxSize: maxMessageBytes) {
                    await onMessage(message)
                }
            }
            writing: while let item = await outbox.next() {
                switch item {
                case .text(let buffer):
                    do {
                        try await outbound.write(.custom(WebSocketFrame(fin: true, opcode: .text, data: buffer)))
                    } catch {
                        break writing
                    }
                case .close(let code, let reason):
                    try? await outbound.close(WebSocketErrorCode(codeNumber: Int(code)), reason: reason)
                    break writing
                }
            }
            outbox.finish()
            group.cancelAll()
            try await group.waitForAll()
        }
    }
}
