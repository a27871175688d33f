import DequeModule
import NIOCore
import Synchronization

/// The bounded queue of frames waiting for one socket's single writer task.
///
/// Fan-out, replies and updates only ever enqueue here; exactly one task drains it into the
/// socket, so frames never interleave. When the queue is full the client cannot keep up:
/// the queue is dropped and replaced by a close with 1013, and the client recovers its
/// alerts from `welcome` on reconnect.
final class Outbox: Sendable {
    enum Item: Sendable {
        case text(ByteBuffer)
        case close(code: UInt16, reason: String)
    }

    private struct State {
        var queue = Deque<Item>()
        var waiter: CheckedContinuation<Item?, Never>?
        /// A close is queued or sent: nothing more is accepted.
        var closing = false
        /// The writer has stopped: nothing is delivered any more.
        var finished = false
    }

    let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Queues a text frame. Returns false when the socket is closing or overflowed.
    @discardableResult
    func send(_ frame: ByteBuffer) -> Bool {
        var accepted = false
        let (waiter, item) = state.withLock { s -> (CheckedContinuation<Item?, Never>?, Item?) in
            guard !s.closing, !s.finished else { return (nil, nil) }
            if s.queue.count >= capacity {
                s.queue.removeAll()
                s.closing = true
                return Self.deliver(.close(code: 1013, reason: "too slow to keep up"), &s)
            }
            accepted = true
            return Self.deliver(.text(frame), &s)
        }
        if let waiter { waiter.resume(returning: item) }
        return accepted
    }

    /// Queues a close frame after what is already queued; later sends are dropped.
    func close(code: UInt16, reason: String) {
        let (waiter, item) = state.withLock { s -> (CheckedContinuation<Item?, Never>?, Item?) in
            guard !s.closing, !s.finished else { return (nil, nil) }
            s.closing = true
            return Self.deliver(.close(code: code, reason: reason), &s)
        }
        if let waiter { waiter.resume(returning: item) }
    }

    /// Stops the queue: the writer's `next()` returns nil.
    func finish() {
        let waiter = state.withLock { s -> CheckedContinuation<Item?, Never>? in
            s.finished = true
            s.queue.removeAll()
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume(returning: nil)
    }

    var isClosing: Bool { state.withLock { $0.closing || $0.finished } }

    /// The next item for the writer, or nil once finished.
    func next() async -> Item? {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { s -> Item?? in
                if let item = s.queue.popFirst() { return .some(item) }
                if s.finished { return .some(nil) }
                s.waiter = continuation
                return .none
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Hands `item` straight to a waiting writer, or queues it.
    private static func deliver(_ item: Item, _ s: inout State) -> (CheckedContinuation<Item?, Never>?, Item?) {
        if let waiter = s.waiter {
            s.waiter = nil
            return (waiter, item)
        }
        s.queue.append(item)
        return (nil, nil)
    }
}
