import HelferrufSync
import NIOCore
import NIOWebSocket
import Synchronization

/// The bounded queue of frames waiting for one socket, drained by exactly one writer: the
/// socket's own event loop.
///
/// Fan-out, replies and updates only ever enqueue here. The drain runs on the channel's event
/// loop, writes everything queued as whole frames and flushes once, so frames never
/// interleave and no task is woken per frame (see ``DrainBatch`` for one hop per event loop
/// per fan-out). Frames are handed to the channel only while it is writable; a client whose
/// queue overflows, or whose socket stays unwritable for ``stallLimit``, is closed with 1013
/// and recovers its alerts from `welcome` on reconnect.
final class Outbox: Sendable {
    typealias CloseRequest = (code: UInt16, reason: String)
    typealias CloseWaiter = CheckedContinuation<CloseRequest?, Never>

    private struct State {
        var queue = FrameQueue()
        var queuedBytes = 0
        /// A close waiting behind the queued frames.
        var pendingClose: CloseRequest?
        var closeWaiter: CloseWaiter?
        /// The close went to the writer (or the socket ended): nothing more is delivered.
        var closeTaken = false
        var finished = false
        /// A drain is scheduled on the event loop.
        var scheduled = false
        /// When the channel was first seen unwritable with frames waiting.
        var stalledSince: NIODeadline?
    }

    let capacity: Int
    /// Queued bytes beyond which a client counts as too slow, whatever the frame count.
    let byteCapacity: Int
    /// How long a socket may stay unwritable with frames waiting before it is closed.
    static let stallLimit = TimeAmount.seconds(10)
    private let state = StateLock(State())
    private let channel = StateLock<(any Channel)?>(nil)
    /// The context of the channel's WebSocket frame encoder, looked up by the first drain:
    /// framed alerts are written from there, so that they walk neither this socket's own
    /// handlers nor the encoder. Read and written on the channel's event loop only.
    nonisolated(unsafe) private var encoder: ChannelHandlerContext?
    nonisolated(unsafe) private var encoderLookedUp = false
    private let closer = StateLock<(@Sendable (CloseRequest) -> Void)?>(nil)
    /// Told why, when this outbox closes its socket with 1013 (for the metrics).
    private let overloaded = StateLock<(@Sendable (OverloadReason) -> Void)?>(nil)

    enum OverloadReason: String {
        /// The queue reached its frame or byte limit.
        case queueFull = "queue_full"
        /// The socket stayed unwritable past ``stallLimit``.
        case stalled
    }

    init(capacity: Int, byteCapacity: Int = 256 * 1024) {
        self.capacity = capacity
        self.byteCapacity = byteCapacity
    }

    /// Binds the outbox to its socket; frames queued before are drained now.
    ///
    /// - Parameter performClose: where a socket served by channel handlers (no task waits
    ///   in ``nextClose()``) performs a due close; called on the channel's event loop.
    func bind(_ channel: any Channel, performClose: (@Sendable (CloseRequest) -> Void)? = nil) {
        self.channel.withLock { $0 = channel }
        closer.withLock { $0 = performClose }
        channel.eventLoop.execute { self.drain() }
    }

    var eventLoop: (any EventLoop)? { channel.withLock { $0?.eventLoop } }

    func onOverload(_ handler: @escaping @Sendable (OverloadReason) -> Void) {
        overloaded.withLock { $0 = handler }
    }

    /// Drops the connection now, without a close handshake: the end of a graceful stop for
    /// a socket that did not finish its handshake in time.
    func abort() {
        channel.withLock { $0 }?.close(promise: nil)
    }

    /// Frames waiting to be written.
    var depth: Int { state.withLock { $0.queue.count } }

    /// Queues a text frame and schedules a drain. Returns false when the socket is closing or overflowed.
    @discardableResult
    func send(_ frame: ByteBuffer) -> Bool {
        send(OutboundFrame(text: frame))
    }

    /// Queues a frame and schedules a drain. Returns false when the socket is closing or overflowed.
    @discardableResult
    func send(_ frame: OutboundFrame) -> Bool {
        let (accepted, schedule) = enqueue(frame)
        if schedule, let loop = eventLoop { loop.execute { self.drain() } }
        return accepted
    }

    /// Queues a frame; the caller runs `batch` afterwards (one hop per event loop).
    @discardableResult
    func send(_ frame: OutboundFrame, batch: inout DrainBatch) -> Bool {
        let (accepted, schedule) = enqueue(frame)
        if schedule { batch.add(self) }
        return accepted
    }

    private func enqueue(_ frame: OutboundFrame) -> (accepted: Bool, schedule: Bool) {
        let size = frame.bytes.readableBytes
        let (accepted, schedule, overflowed) = state.withLock { s -> (Bool, Bool, Bool) in
            guard s.pendingClose == nil, !s.closeTaken, !s.finished else { return (false, false, false) }
            if s.queue.count >= capacity || s.queuedBytes + size > byteCapacity {
                s.queue.removeAll()
                s.queuedBytes = 0
                s.pendingClose = (1013, "too slow to keep up")
                return (false, Self.claim(&s), true)
            }
            s.queue.append(frame)
            s.queuedBytes += size
            return (true, Self.claim(&s), false)
        }
        if overflowed { overloaded.withLock { $0 }?(.queueFull) }
        return (accepted, schedule)
    }

    /// Queues a close frame after what is already queued; later sends are dropped.
    func close(code: UInt16, reason: String) {
        let schedule = state.withLock { s -> Bool in
            guard s.pendingClose == nil, !s.closeTaken, !s.finished else { return false }
            s.pendingClose = (code, reason)
            return Self.claim(&s)
        }
        if schedule, let loop = eventLoop { loop.execute { self.drain() } }
    }

    /// Stops the queue: nothing more is written and ``nextClose()`` returns nil.
    func finish() {
        closer.withLock { $0 = nil }
        let waiter = state.withLock { s -> CloseWaiter? in
            s.finished = true
            s.queue.removeAll()
            s.queuedBytes = 0
            defer { s.closeWaiter = nil }
            return s.closeWaiter
        }
        waiter?.resume(returning: nil)
    }

    var isClosing: Bool { state.withLock { $0.pendingClose != nil || $0.closeTaken || $0.finished } }

    /// Waits until a close is due (after every frame queued before it was written), or nil
    /// once the socket ended. The close handshake itself is the WebSocket library's.
    func nextClose() async -> CloseRequest? {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { s -> CloseRequest?? in
                if s.finished { return .some(nil) }
                if s.closeTaken, let close = s.pendingClose { return .some(close) }
                s.closeWaiter = continuation
                return .none
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    private static func claim(_ s: inout State) -> Bool {
        guard !s.scheduled else { return false }
        s.scheduled = true
        return true
    }

    /// Runs on the channel's event loop: writes what is queued while the channel is writable,
    /// flushes once, then hands a due close to ``nextClose()`` or the bound close performer.
    ///
    /// The channel's writes and the bound close performer (which touches its handler's
    /// state) are safe only on that loop; debug builds (tests, CI's crash test) trap
    /// anywhere else.
    func drain() {
        guard let channel = channel.withLock({ $0 }) else {
            state.withLock { $0.scheduled = false }
            return
        }
        channel.eventLoop.assertInEventLoop()
        let writable = channel.isWritable
        let now = NIODeadline.now()
        var stalled = false
        let (frames, closeWaiter, close, recheck) = state.withLock { s -> (FrameQueue, CloseWaiter?, CloseRequest?, Bool) in
            s.scheduled = false
            guard !s.finished, !s.closeTaken else {
                return (FrameQueue(), nil, nil, false)
            }
            var frames = FrameQueue()
            if writable || s.queue.isEmpty {
                s.stalledSince = nil
                // Taken whole: the next fan-out starts an empty queue.
                swap(&frames, &s.queue)
                s.queuedBytes = 0
            } else if let since = s.stalledSince, now - since > Self.stallLimit {
                s.queue.removeAll()
                s.queuedBytes = 0
                s.pendingClose = (1013, "too slow to keep up")
                stalled = true
            } else {
                if s.stalledSince == nil { s.stalledSince = now }
                s.scheduled = true
                return (FrameQueue(), nil, nil, true)
            }
            guard let close = s.pendingClose else { return (frames, nil, nil, false) }
            s.closeTaken = true
            defer { s.closeWaiter = nil }
            return (frames, s.closeWaiter, close, false)
        }
        if stalled { overloaded.withLock { $0 }?(.stalled) }
        if !frames.isEmpty { write(frames, to: channel) }
        if recheck {
            channel.eventLoop.scheduleTask(in: .milliseconds(100)) { self.drain() }
        }
        if let close {
            if let perform = closer.withLock({ $0 }) { perform(close) } else { closeWaiter?.resume(returning: close) }
            // A client that never answers (or never reads) must not hold its socket forever.
            channel.eventLoop.scheduleTask(in: Self.stallLimit + .seconds(5)) { channel.close(promise: nil) }
        }
    }
}

extension Outbox {
    /// Writes the frames and flushes once. Framed ones go from the frame encoder's context
    /// to the next handler towards the socket; others through the whole pipeline (in the
    /// same order: both paths write synchronously).
    private func write(_ frames: FrameQueue, to channel: any Channel) {
        if !encoderLookedUp {
            encoderLookedUp = true
            encoder = try? channel.pipeline.syncOperations.context(handlerType: WebSocketFrameEncoder.self)
        }
        guard let encoder else {
            frames.forEach { channel.write($0.webSocketFrame, promise: nil) }
            return channel.flush()
        }
        frames.forEach { frame in
            if frame.headerBytes > 0 {
                encoder.write(NIOAny(frame.bytes), promise: nil)
            } else {
                channel.write(frame.webSocketFrame, promise: nil)
            }
        }
        encoder.flush()
    }
}
