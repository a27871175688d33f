import HelferrufSync
import NIOCore

/// Pings the NIO-served volunteer sockets of one event loop from one repeating timer.
///
/// A scheduled task per socket (a closure, a promise and a heap entry in the event loop)
/// cost a few hundred bytes on each of 19,000 idle sockets; one sweep per event loop costs a
/// slot in an array. Every `period / 10` the sweep asks each member whether a ping is due
/// (``VolunteerChannelHandler/pingTick(now:)``): a socket is pinged a period after its last
/// ping and closed when that ping is still unanswered a period later, so a half-open
/// connection is gone within about two periods (40 s with the default 20 s).
///
/// Only ever touched on `loop` (members join and leave from their channel handlers, which
/// run there), hence `@unchecked Sendable`.
final class PingSweep: @unchecked Sendable {
    let period: TimeAmount
    private let loop: any EventLoop
    private var members: [VolunteerChannelHandler] = []
    private var timer: RepeatedTask?

    init(loop: any EventLoop, period: TimeAmount) {
        self.loop = loop
        self.period = period
    }

    func add(_ member: VolunteerChannelHandler) {
        loop.preconditionInEventLoop()
        member.sweepSlot = members.count
        members.append(member)
        if timer == nil {
            let tick = TimeAmount.nanoseconds(max(1_000_000, period.nanoseconds / 10))
            timer = loop.scheduleRepeatedTask(initialDelay: tick, delay: tick) { [weak self] _ in self?.tick() }
        }
    }

    /// Swaps the last member into the leaver's slot: O(1), order does not matter.
    func remove(_ member: VolunteerChannelHandler) {
        loop.preconditionInEventLoop()
        guard let slot = member.sweepSlot, slot < members.count, members[slot] === member else { return }
        let last = members.removeLast()
        if slot < members.count {
            members[slot] = last
            last.sweepSlot = slot
        }
        member.sweepSlot = nil
        if members.isEmpty {
            timer?.cancel()
            timer = nil
        }
    }

    private func tick() {
        let now = NIODeadline.now()
        // A member may close (and leave) during its tick: walk a snapshot.
        for member in members { member.pingTick(now: now) }
    }
}

/// One ``PingSweep`` per event loop, made on first use.
final class PingSweeps: Sendable {
    let period: TimeAmount
    private let byLoop = StateLock<[ObjectIdentifier: PingSweep]>([:])

    init(period: TimeAmount) { self.period = period }

    func sweep(for loop: any EventLoop) -> PingSweep {
        byLoop.withLock { sweeps in
            if let sweep = sweeps[ObjectIdentifier(loop)] { return sweep }
            let sweep = PingSweep(loop: loop, period: period)
            sweeps[ObjectIdentifier(loop)] = sweep
            return sweep
        }
    }
}
