import DequeModule
import NIOCore
import NIOWebSocket

/// A frame waiting in an ``Outbox``: a text message's payload, which NIO's frame encoder
/// frames, or a whole frame with its header already written (``AlertFrame``), which skips
/// the encoder.
struct OutboundFrame {
    var bytes: ByteBuffer
    /// The size of the header at the front of `bytes`; 0 for a bare payload.
    var headerBytes: Int

    init(text payload: ByteBuffer) {
        bytes = payload
        headerBytes = 0
    }

    init(framed: ByteBuffer, headerBytes: Int) {
        bytes = framed
        self.headerBytes = headerBytes
    }

    /// A text message framed here, once, for a frame many sockets share (a call's
    /// `call_update` to every alerted volunteer).
    init(framing payload: ByteBuffer) {
        let size = payload.readableBytes
        let header = FrameHeader.size(payload: size)
        var buffer = ByteBufferAllocator().buffer(capacity: header + size)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: header) { FrameHeader.write(payload: size, into: $0) }
        buffer.writeImmutableBuffer(payload)
        self.init(framed: buffer, headerBytes: header)
    }

    /// The frame for NIO's encoder.
    var webSocketFrame: WebSocketFrame {
        var payload = bytes
        payload.moveReaderIndex(forwardBy: headerBytes)
        return WebSocketFrame(fin: true, opcode: .text, data: payload)
    }
}

/// An outbox's frames in order. The first waits inline, so that a fan-out's one frame per
/// socket costs no queue storage; more go to a `Deque`.
struct FrameQueue {
    private var first: OutboundFrame?
    private var rest = Deque<OutboundFrame>()

    var count: Int { (first == nil ? 0 : 1) + rest.count }
    var isEmpty: Bool { first == nil }

    mutating func append(_ frame: OutboundFrame) {
        if first == nil { first = frame } else { rest.append(frame) }
    }

    mutating func removeAll() {
        first = nil
        rest = []
    }

    /// Visits the frames in order.
    func forEach(_ body: (OutboundFrame) -> Void) {
        guard let first else { return }
        body(first)
        for frame in rest { body(frame) }
    }
}
