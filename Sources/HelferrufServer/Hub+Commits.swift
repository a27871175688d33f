import HelferrufCore
import HelferrufStore

extension Hub {
    // MARK: Committed changes

    /// Updates the live state from a committed ledger batch, in commit order, and tells
    /// every affected socket.
    func apply(_ outcomes: [RosterOutcome]) {
        let now = clock()
        state.withLock { s in
            var replan: Set<String> = []
            for outcome in outcomes {
                if case .funnel = outcome.change {
                    noteFunnel(outcome, &s)
                    continue
                }
                if let cid = noteDeadlineAnswer(outcome, &s) { replan.insert(cid) }
                guard let call = outcome.call else { continue }
                if case .createCall = outcome.change {
                    s.active[call.id] = ActiveCall(call: call, alerted: [], nextWaveAt: now)
                    s.matcher.addCall(Self.matchCall(call))
                    telemetry.callsCreated.increment()
                    s.dashboardPending[call.id] = call
                    let postedAt = s.postedAt.removeValue(forKey: call.id)
                    startDispatch(call, &s, now: now, postedAt: postedAt)
                    continue
                }
                if case .decline(let cid, let vid) = outcome.change, outcome.result == .done {
                    Self.recordDecline(cid, volunteer: vid, &s)
                }
                if case .accept = outcome.change, outcome.result == .answer(.confirmed), outcome.changed {
                    telemetry.confirmations.increment()
                }
                if case .accept = outcome.change, outcome.result == .answer(.limit) { telemetry.overlapRefusals.increment() }
                if case .remove(let cid, _, let vid) = outcome.change, outcome.result == .done { tellRemoved(vid, from: call, &s, callId: cid) }
                if let message = outcome.message { send(message, to: outcome.recipients, &s) }
                if !outcome.promoted.isEmpty {
                    tellPromoted(outcome.promoted, callId: call.id, &s)
                    telemetry.promotions.increment(by: Int64(outcome.promoted.count))
                }
                guard outcome.changed else { continue }
                update(to: call, statusChanged: outcome.statusChanged, &s, now: now)
            }
            for cid in replan { runStep(cid, &s, now: now) }
            flushCallUpdates(&s, now: now)
            flushDashboards(&s, now: now)
        }
    }

    /// Takes a call's committed state into the live state and tells whom it concerns: the
    /// alerted volunteers of a status change (at once) or of a new count (coalesced), the
    /// dashboards, the matcher. `counted`: this node's commit, counted in its metrics
    /// (another node's is counted there).
    func update(to committed: Call, statusChanged: Bool, counted: Bool = true, _ s: inout State, now: Timestamp) {
        var call = committed
        guard let previous = s.active[call.id] else {
            s.dashboardPending[call.id] = call
            return
        }
        call.keepLiveFigures(of: previous.call)
        s.active[call.id]!.call = call
        s.dashboardPending[call.id] = call
        if statusChanged {
            sendCallUpdate(call, to: previous.alerted, &s, now: now)
            pushStatusChanged(call, &s, now: now)
        } else if call.confirmed != previous.call.confirmed {
            s.updatePending[call.id] = call
        }
        switch call.status {
        case .open:
            if previous.call.status != .open {
                s.matcher.addCall(Self.matchCall(call, declined: previous.declined))
                if Self.alertsEveryoneEligible(call, now: now) { fanOut(call.id, &s, now: now) }
            } else {
                s.matcher.setConfirmed(call.id, call.confirmed)
            }
        case .filled:
            s.matcher.removeCall(call.id)
        case .cancelled, .expired:
            if counted {
                if call.status == .cancelled { telemetry.callsCancelled.increment() } else { telemetry.callsExpired.increment() }
            }
            s.matcher.removeCall(call.id)
            s.active[call.id] = nil
            s.expiring.remove(call.id)
            s.updatePending[call.id] = nil
        }
    }

    /// A committed `received` or `seen` changes only the call's `delivered` or `seen`: the
    /// live call and the dashboards' pending copy take the two counts in place. A call
    /// brings one or two per recipient within a second, so this copies no `Call` (but the
    /// first pending copy) and skips the general path's matcher update.
    private func noteFunnel(_ outcome: RosterOutcome, _ s: inout State) {
        guard outcome.changed, let cid = outcome.call?.id, let delivered = outcome.call?.delivered, let seen = outcome.call?.seen else { return }
        guard s.active[cid] != nil else {
            s.dashboardPending[cid] = outcome.call
            return
        }
        s.active[cid]!.call.delivered = delivered
        s.active[cid]!.call.seen = seen
        if s.dashboardPending[cid] != nil {
            s.dashboardPending[cid]!.delivered = delivered
            s.dashboardPending[cid]!.seen = seen
        } else {
            s.dashboardPending[cid] = s.active[cid]!.call
        }
    }

    /// Sends a status change to every alerted volunteer at once (never held back); it also
    /// carries the current count, so a pending counter update is dropped. One frame, framed
    /// once, shared by every socket; one drain task per event loop.
    func sendCallUpdate(_ call: Call, to volunteers: Set<String>, _ s: inout State, now: Timestamp) {
        let frame = OutboundFrame(framing: Wire.callUpdate(call))
        var batch = DrainBatch()
        for vid in volunteers {
            for conn in (s.volunteerSockets[vid] ?? [:]).values { conn.outbox.send(frame, batch: &batch) }
        }
        batch.run()
        s.updatePending[call.id] = nil
        s.updateLastSent[call.id] = now
    }

    /// Sends pending live counter updates whose call has not had one within the last second.
    func flushCallUpdates(_ s: inout State, now: Timestamp) {
        guard !s.updatePending.isEmpty else { return }
        for (cid, call) in s.updatePending {
            if let last = s.updateLastSent[cid], now.millis - last.millis < Self.dashboardIntervalMillis { continue }
            let current = s.active[cid]?.call ?? call
            sendCallUpdate(current, to: s.active[cid]?.alerted ?? [], &s, now: now)
        }
    }
}
