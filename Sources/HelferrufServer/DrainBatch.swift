import HelferrufSync
import NIOCore
import Synchronization

/// Outboxes that need a drain, grouped by event loop, so that a fan-out costs one hop per
/// event loop rather than one per socket.
///
/// A fan-out hands its sockets over in slices (so the first are written while the rest are
/// still being matched); a slice that finds its loop's drain task queued or running joins
/// it instead of waking the loop again.
struct DrainBatch {
    /// One per event loop met so far: there are as many as cores, so a linear search.
    private var loops: [(loop: any EventLoop, queue: LoopDrainQueue, staged: [Outbox])] = []

    mutating func add(_ outbox: Outbox) {
        guard let loop = outbox.eventLoop else { return }
        for i in loops.indices where loops[i].loop === loop {
            loops[i].staged.append(outbox)
            return
        }
        loops.append((loop, LoopDrainQueue(loop), [outbox]))
    }

    /// Hands the outboxes added since the last run to their loops; `tracker`, if given,
    /// hears when each of these slices is drained.
    mutating func run(tracker: FanOutTracker? = nil) {
        for i in loops.indices where !loops[i].staged.isEmpty {
            loops[i].queue.submit(loops[i].staged, tracker: tracker)
            loops[i].staged = []
        }
    }
}

/// The slices of one fan-out waiting for one event loop, drained by a single task there.
final class LoopDrainQueue: Sendable {
    private struct Slice {
        let outboxes: [Outbox]
        let tracker: FanOutTracker?
    }

    private let loop: any EventLoop
    private let pending = StateLock<(slices: [Slice], scheduled: Bool)>(([], false))

    init(_ loop: any EventLoop) {
        self.loop = loop
    }

    func submit(_ outboxes: [Outbox], tracker: FanOutTracker?) {
        tracker?.begin()
        let wake = pending.withLock { p -> Bool in
            p.slices.append(Slice(outboxes: outboxes, tracker: tracker))
            defer { p.scheduled = true }
            return !p.scheduled
        }
        if wake { loop.execute { self.run() } }
    }

    /// Drains slices until none is left; a slice submitted meanwhile is taken in the same task.
    private func run() {
        while true {
            let slices = pending.withLock { p -> [Slice] in
                if p.slices.isEmpty { p.scheduled = false }
                defer { p.slices = [] }
                return p.slices
            }
            if slices.isEmpty { return }
            for slice in slices {
                for outbox in slice.outboxes { outbox.drain() }
                slice.tracker?.end()
            }
        }
    }
}

/// Measures one fan-out from the POST that created the call to the last socket write: the
/// drains of every slice and event loop count down, and the last one records the time.
final class FanOutTracker: Sendable {
    private let outstanding = Atomic<Int>(1)
    private let postedAt: ContinuousClock.Instant
    private let record: @Sendable (Duration) -> Void

    init(postedAt: ContinuousClock.Instant, record: @escaping @Sendable (Duration) -> Void) {
        self.postedAt = postedAt
        self.record = record
    }

    func begin() { outstanding.add(1, ordering: .relaxed) }

    /// One drain task, or the fan-out itself once every slice is scheduled, is done.
    func end() {
        if outstanding.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { record(ContinuousClock.now - postedAt) }
    }
}
