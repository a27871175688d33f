import HelferrufCore
import HelferrufStore
import NIOCore

/// A connected volunteer's fatigue limits (PROTOCOL.md §7) and what they count.
struct VolunteerFatigue {
    var limits: FatigueLimits
    var window: AlertWindow
    /// Calls dropped over the daily limit: never alerted to this volunteer.
    var dropped: Set<String>
    /// Calls held by quiet hours: they go out when the quiet hours end, waves calls included.
    var held: Set<String> = []

    enum Admission {
        case send, hold(until: Timestamp), drop
        /// Dropped over the daily limit before.
        case dropped
    }

    /// Whether ``admit(_:now:)`` would send a new alert of `cid` now; records nothing.
    mutating func wouldSend(_ cid: String, now: Timestamp) -> Bool {
        !dropped.contains(cid) && limits.decide(now: now, alertsInLastDay: window.count(now: now)) == .send
    }

    /// Decides a new alert of `cid` by the limits and records what it decided.
    mutating func admit(_ cid: String, now: Timestamp) -> Admission {
        if dropped.contains(cid) { return .dropped }
        switch limits.decide(now: now, alertsInLastDay: window.count(now: now)) {
        case .send:
            window.record(now)
            held.remove(cid)
            return .send
        case .hold(let until):
            held.insert(cid)
            return .hold(until: until)
        case .drop:
            dropped.insert(cid)
            held.remove(cid)
            return .drop
        }
    }
}

/// Suppressions found while matching, submitted to the ledger after the matching is done.
struct Suppressions {
    private var byCall: [String: (quiet: [String], daily: [String])] = [:]

    mutating func add(_ cid: String, _ vid: String, _ reason: SuppressionReason) {
        if reason == .quiet { byCall[cid, default: ([], [])].quiet.append(vid) } else { byCall[cid, default: ([], [])].daily.append(vid) }
    }

    func submit(to ledger: any RosterLedger, telemetry: Telemetry) {
        for (cid, lists) in byCall {
            telemetry.alertsSuppressed.increment(by: Int64(lists.quiet.count + lists.daily.count))
            if !lists.quiet.isEmpty { ledger.submitDetached(.recordSuppressed(callId: cid, volunteerIds: lists.quiet, reason: .quiet)) }
            if !lists.daily.isEmpty { ledger.submitDetached(.recordSuppressed(callId: cid, volunteerIds: lists.daily, reason: .daily)) }
        }
    }
}

extension Hub {
    // MARK: Fatigue limits

    /// Whether a new alert of `cid` may go to `vid` now. An alert counts once per
    /// (volunteer, call): a call already alerted always passes, unless the call's
    /// organisation blocked the volunteer since (§11). One held by quiet hours is
    /// remembered and decided again when they end; one over the daily limit is dropped.
    func admitAlert(_ cid: String, volunteer vid: String, _ s: inout State, now: Timestamp, suppressed: inout Suppressions) -> Bool {
        if isBlocked(vid, for: cid, s) { return false }
        if s.active[cid]?.hasAlerted(vid) == true { return true }
        // In place: no copy of the volunteer's window and sets per recipient of a fan-out.
        guard let decision = s.fatigue[vid]?.admit(cid, now: now) else { return true }
        let reason: SuppressionReason
        switch decision {
        case .send:
            return true
        case .hold(let until):
            s.quietUntil[vid] = until
            reason = .quiet
        case .drop:
            reason = .daily
        case .dropped:
            return false
        }
        if s.active[cid]?.suppressed.insert(vid).inserted == true { suppressed.add(cid, vid, reason) }
        return false
    }

    /// Sends what quiet hours held back, for volunteers whose quiet hours have ended.
    func releaseQuietHours(_ s: inout State, now: Timestamp) {
        let due = s.quietUntil.filter { $0.value <= now }.map(\.key)
        for vid in due {
            s.quietUntil[vid] = nil
            alertNewlyEligible(vid, &s)
            s.fatigue[vid]?.held.removeAll()
        }
    }

    // MARK: Waves

    /// Runs the waves that are due on open `waves` calls.
    func runDueWaves(_ s: inout State, now: Timestamp) {
        let due = s.active.filter { $0.value.call.dispatch.isWaves && $0.value.call.status == .open && $0.value.driven && $0.value.nextWaveAt <= now }.map(\.key)
        for cid in due { runStep(cid, &s, now: now) }
    }

    /// One wave: alerts the `ceil(remaining / acceptanceRate)` nearest eligible volunteers
    /// not alerted yet, of this node and those `remote` nodes offered. A wave that finds
    /// nobody grows the radius by half the posted radius, up to `maxRadiusKm`, for the next
    /// wave (one step per wave, as the contract counts). Returns the orders for the
    /// volunteers picked on other nodes.
    @discardableResult
    func runWave(_ cid: String, _ s: inout State, now: Timestamp, remote: RemoteCandidates = RemoteCandidates()) -> [AlertOrder] {
        guard let a = s.active[cid], a.call.status == .open, case .waves(let maxRadius, let seconds) = a.call.dispatch else { return [] }
        s.active[cid]!.nextWaveAt = now.adding(millis: Int64(seconds) * 1000)
        let wanted = Waves.size(remaining: a.call.needed - a.call.confirmed, acceptanceRate: a.call.acceptanceRate)
        guard wanted > 0 else { return [] }
        var remote = remote
        var suppressed = Suppressions()
        var picked: [Match] = []
        var reached = a.call.reachedRadiusKm
        let candidates = Self.merged(s.matcher.eligibleVolunteers(forCall: cid, now: now), remote.matches)
            .filter { !a.alerted.contains($0.id) }
            .sorted { ($0.distanceKm, $0.id) < ($1.distanceKm, $1.id) }
        for m in candidates where picked.count < wanted {
            if remote.offers(m.id) {
                remote.pick(m)
                picked.append(m)
            } else if admitAlert(cid, volunteer: m.id, &s, now: now, suppressed: &suppressed) {
                picked.append(m)
            }
        }
        if picked.isEmpty, let wider = Waves.widened(reachedKm: reached, radiusKm: a.call.radiusKm, maxRadiusKm: maxRadius) {
            reached = wider
            s.active[cid]!.call.reachedRadiusKm = wider
            s.matcher.addCall(Self.matchCall(s.active[cid]!.call, declined: a.declined))
        }
        suppressed.submit(to: ledger, telemetry: telemetry)
        guard !picked.isEmpty || reached != a.call.reachedRadiusKm else { return [] }
        sendWave(picked, of: cid, reached: reached, &s, now: now, remote: remote)
        return remote.orders(callId: cid, reachedRadiusKm: reached)
    }

    /// This node's matches and those other nodes offered, each volunteer once.
    static func merged(_ local: [Match], _ remote: [Match]) -> [Match] {
        guard !remote.isEmpty else { return local }
        let here = Set(local.map(\.id))
        return local + remote.filter { !here.contains($0.id) }
    }

    /// Alerts the volunteers a wave (or a deadline step) picked, on their sockets or by
    /// push, and records them with the radius reached. Those `remote` nodes offered are
    /// alerted there (and here only on a socket here, never by push).
    func sendWave(_ picked: [Match], of cid: String, reached: Double, _ s: inout State, now: Timestamp, remote: RemoteCandidates = RemoteCandidates()) {
        if !picked.isEmpty {
            s.active[cid]!.call.waves += 1
            s.active[cid]!.alerted.formUnion(picked.map(\.id))
            s.active[cid]!.call.alerted = s.active[cid]!.alerted.count
        }
        deliver(picked.filter { !remote.offers($0.id) }, of: cid, pushIfAway: true, &s, now: now)
        deliver(picked.filter { remote.offers($0.id) }, of: cid, pushIfAway: false, &s, now: now)
        ledger.submitDetached(.recordWave(callId: cid, reachedRadiusKm: reached, volunteerIds: picked.map(\.id)))
        s.dashboardPending[cid] = s.active[cid]!.call
    }

    /// Sends `cid`'s alert to each of `picked` on every socket of theirs here that has not had
    /// it; one without a socket here is pushed to when `pushIfAway`.
    func deliver(_ picked: [Match], of cid: String, pushIfAway: Bool, _ s: inout State, now: Timestamp) {
        guard !picked.isEmpty else { return }
        let call = s.active[cid]!.call
        let alert = AlertFrame(call)
        var batch = DrainBatch()
        var pushes = PushBatch()
        var sent = 0
        for m in picked {
            guard let sockets = s.volunteerSockets[m.id] else {
                if pushIfAway { queueAlertPush(call, volunteer: m.id, distanceKm: m.distanceKm, &s, into: &pushes, now: now) }
                continue
            }
            var alerted = false
            for conn in sockets.values where s.sentAlerts[conn.id, default: []].insert(cid).inserted {
                conn.outbox.send(alert.frame(distanceKm: m.distanceKm), batch: &batch)
                sent += 1
                alerted = true
            }
            if alerted { armFallback(cid, volunteer: m.id, distanceKm: m.distanceKm, &s, now: now) }
        }
        batch.run()
        submit(pushes, now: now)
        telemetry.alertsSent.increment(by: Int64(sent))
    }

    // MARK: Standby and messages

    /// Tells promoted volunteers, on every open connection, that they are confirmed now.
    func tellPromoted(_ volunteers: [String], callId: String, _ s: inout State) {
        let frame = Wire.promoted(callId: callId)
        for vid in volunteers {
            for conn in (s.volunteerSockets[vid] ?? [:]).values { conn.outbox.send(frame) }
        }
    }

    /// Sends a call's message to those of its confirmed helpers who are connected now.
    func send(_ message: CallMessage, to volunteers: [String], _ s: inout State) {
        let frame = Wire.message(message)
        for vid in volunteers {
            for conn in (s.volunteerSockets[vid] ?? [:]).values where conn.outbox.send(frame) { telemetry.messagesSent.increment() }
        }
    }
}

extension Call {
    /// Keeps the figures the live state may know ahead of the ledger's last commit (alerts
    /// and waves are recorded after they go out), and the live plan of a deadline call.
    mutating func keepLiveFigures(of live: Call) {
        alerted = max(alerted, live.alerted)
        waves = max(waves, live.waves)
        reachedRadiusKm = max(reachedRadiusKm, live.reachedRadiusKm)
        plan = plan ?? live.plan
    }
}
