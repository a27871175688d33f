import HelferrufCore
import HelferrufStore

/// What a deadline call's planner knows beyond the call (PROTOCOL.md §10).
struct DeadlineProgress {
    /// When each volunteer alerted by a planning step was alerted.
    var alertedAt: [String: Timestamp] = [:]
    /// Volunteers who answered: accepted (confirmed, standby or full), withdrew or declined.
    var answered: Set<String> = []
    var nextStepAt = Timestamp(millis: 0)
}

extension Hub {
    /// Whether a call alerts every eligible volunteer as soon as they become eligible:
    /// broadcast always, waves never, a deadline call from its `fillBy` on.
    static func alertsEveryoneEligible(_ call: Call, now: Timestamp) -> Bool {
        switch call.dispatch {
        case .broadcast: true
        case .waves: false
        case .deadline(let fillBy, _, _): now >= fillBy
        }
    }

    /// The first alerts of a new call, by its dispatch mode.
    func startDispatch(_ call: Call, _ s: inout State, now: Timestamp, postedAt: ContinuousClock.Instant?) {
        switch call.dispatch {
        case .broadcast: fanOut(call.id, &s, now: now, postedAt: postedAt)
        case .waves, .deadline: runStep(call.id, &s, now: now)
        }
    }

    /// The planners' memory of open deadline calls after a restart: alert times and
    /// answers from the store; the first step waits one period, as waves do, so that
    /// reconnecting volunteers are back before anyone is judged missing.
    static func loadDeadlineProgress(_ calls: [(call: Call, alerted: Set<String>, declined: Set<String>)], store: any RecordStore, now: Timestamp) async throws -> [String: DeadlineProgress] {
        var out: [String: DeadlineProgress] = [:]
        for (call, _, _) in calls where call.dispatch.isDeadline && call.status != .cancelled && call.status != .expired {
            let (alertedAt, answered) = try await store.deadlineProgress(callId: call.id)
            out[call.id] = DeadlineProgress(alertedAt: alertedAt, answered: answered, nextStepAt: now.adding(millis: DeadlinePlanner.replanMillis))
        }
        return out
    }

    /// Runs the planning steps that are due on open deadline calls.
    func runDueDeadlineSteps(_ s: inout State, now: Timestamp) {
        let due = s.active.filter { $0.value.call.dispatch.isDeadline && $0.value.call.status == .open && $0.value.deadline.nextStepAt <= now }.map(\.key)
        for cid in due { runStep(cid, &s, now: now) }
    }

    /// Notes an answer to a deadline call; returns the call when it should re-plan now.
    func noteDeadlineAnswer(_ outcome: RosterOutcome, _ s: inout State) -> String? {
        let cid: String, vid: String
        switch (outcome.change, outcome.result) {
        case (.accept(let c, let v, _, _), .answer(.confirmed)), (.accept(let c, let v, _, _), .answer(.standby)),
             (.accept(let c, let v, _, _), .answer(.full)), (.withdraw(let c, let v), .answer(.withdrawn)), (.decline(let c, let v), .done):
            (cid, vid) = (c, v)
        default:
            return nil
        }
        guard s.active[cid]?.call.dispatch.isDeadline == true else { return nil }
        s.active[cid]!.deadline.answered.insert(vid)
        return cid
    }

    /// Notes answers to a deadline call given on another node; returns whether it is one.
    func noteDeadlineAnswers(_ volunteers: [String], callId cid: String, _ s: inout State) -> Bool {
        guard s.active[cid]?.call.dispatch.isDeadline == true else { return false }
        s.active[cid]!.deadline.answered.formUnion(volunteers)
        return true
    }

    /// One planning step of a deadline call: alerts as many of the nearest eligible
    /// volunteers not alerted yet as the ``DeadlinePlanner`` asks for. A step that alerts
    /// everyone left within the radius and is still behind plan grows the radius by half
    /// the posted radius, up to `maxRadiusKm`, for the next step. From `fillBy` on, everyone
    /// eligible is alerted, and the radius grows while nobody new is found. The candidates
    /// `remote` nodes offered count and are picked like this node's; returns the orders
    /// for those picked there.
    @discardableResult
    func runDeadlineStep(_ cid: String, _ s: inout State, now: Timestamp, remote: RemoteCandidates = RemoteCandidates()) -> [AlertOrder] {
        guard let a = s.active[cid], case .deadline(let fillBy, let confidence, let maxRadius) = a.call.dispatch else { return [] }
        guard a.call.status == .open else {
            // A full call needs no plan any more: it is met, with what came.
            if a.call.status == .filled {
                var plan = DeadlinePlan(expected: Double(a.call.confirmed), onTrack: true)
                (plan.lastAlertAt, plan.lastAlertCount) = (a.call.plan?.lastAlertAt, a.call.plan?.lastAlertCount ?? 0)
                setPlan(plan, of: cid, &s)
            }
            return []
        }
        // The next step in 5 s, and exactly at fillBy, when everyone left is due.
        let next = now.adding(millis: DeadlinePlanner.replanMillis)
        s.active[cid]!.deadline.nextStepAt = now < fillBy ? min(next, fillBy) : next
        let remaining = a.call.needed - a.call.confirmed
        if now >= fillBy {
            fanOut(cid, &s, now: now)
            var plan = DeadlinePlan(expected: Double(a.call.confirmed), onTrack: remaining <= 0)
            let newly = s.active[cid]!.alerted.count - a.alerted.count
            (plan.lastAlertAt, plan.lastAlertCount) = newly > 0 ? (now, newly) : (a.call.plan?.lastAlertAt, a.call.plan?.lastAlertCount ?? 0)
            if newly == 0, remaining > 0 { widen(cid, maxRadiusKm: maxRadius, &s, now: now) }
            setPlan(plan, of: cid, &s)
            return []
        }
        // Sorted only when someone is to be alerted: most steps of a call on track alert nobody.
        var remote = remote
        var candidates = Self.merged(s.matcher.eligibleVolunteers(forCall: cid, now: now), remote.matches).filter { !a.alerted.contains($0.id) }
        // Those on other nodes beyond the nearest they offered count as available too.
        let available = candidates.count + max(0, remote.available - remote.matches.count)
        var pending: [Double] = []
        pending.reserveCapacity(a.deadline.alertedAt.count)
        for (vid, at) in a.deadline.alertedAt where !a.deadline.answered.contains(vid) {
            pending.append(Double(now.millis - at.millis) / 1000)
        }
        let step = DeadlinePlanner.plan(
            DeadlineSituation(
                secondsLeft: Double(fillBy.millis - now.millis) / 1000, remaining: remaining, pendingSeconds: pending,
                available: available, confidence: confidence),
            model: a.call.deadlineModel)
        if step.alertNow > 0 { candidates.sort { ($0.distanceKm, $0.id) < ($1.distanceKm, $1.id) } }
        var suppressed = Suppressions()
        var picked: [Match] = []
        for m in candidates where picked.count < step.alertNow {
            if remote.offers(m.id) {
                remote.pick(m)
                picked.append(m)
            } else if admitAlert(cid, volunteer: m.id, &s, now: now, suppressed: &suppressed) {
                picked.append(m)
            }
        }
        suppressed.submit(to: ledger, telemetry: telemetry)
        let behind = step.probability < confidence && step.alertNow >= available
        var plan = DeadlinePlan(expected: Double(a.call.confirmed) + step.expectedMore, onTrack: step.probability >= confidence)
        (plan.lastAlertAt, plan.lastAlertCount) = picked.isEmpty ? (a.call.plan?.lastAlertAt, a.call.plan?.lastAlertCount ?? 0) : (now, picked.count)
        if !picked.isEmpty {
            for m in picked { s.active[cid]!.deadline.alertedAt[m.id] = now }
            sendWave(picked, of: cid, reached: a.call.reachedRadiusKm, &s, now: now, remote: remote)
        }
        if behind { widen(cid, maxRadiusKm: maxRadius, &s, now: now) }
        setPlan(plan, of: cid, &s)
        return remote.orders(callId: cid, reachedRadiusKm: s.active[cid]!.call.reachedRadiusKm)
    }

    /// Grows a deadline call's radius by one step, when it can grow, and records it.
    private func widen(_ cid: String, maxRadiusKm: Double, _ s: inout State, now: Timestamp) {
        let call = s.active[cid]!.call
        guard let wider = Waves.widened(reachedKm: call.reachedRadiusKm, radiusKm: call.radiusKm, maxRadiusKm: maxRadiusKm) else { return }
        s.active[cid]!.call.reachedRadiusKm = wider
        s.matcher.addCall(Self.matchCall(s.active[cid]!.call, declined: s.active[cid]!.declined))
        ledger.submitDetached(.recordWave(callId: cid, reachedRadiusKm: wider, volunteerIds: []))
        s.dashboardPending[cid] = s.active[cid]!.call
    }

    private func setPlan(_ plan: DeadlinePlan, of cid: String, _ s: inout State) {
        guard s.active[cid]!.call.plan != plan else { return }
        s.active[cid]!.call.plan = plan
        s.dashboardPending[cid] = s.active[cid]!.call
    }
}
