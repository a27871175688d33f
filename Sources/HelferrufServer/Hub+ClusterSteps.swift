import HelferrufCore
import HelferrufStore

/// The candidates the other nodes offered for one step of a call driven here, and whom of
/// them the step picked, as orders to their nodes.
struct RemoteCandidates {
    /// Each volunteer offered, once, at the nearest distance offered.
    private(set) var matches: [Match] = []
    /// Volunteers on the other nodes' sockets who could be alerted (the nearest are offered).
    private(set) var available = 0
    private var offeredBy: [String: [String]] = [:]
    private var picked: [String: [Candidate]] = [:]

    init(_ answers: [String: CandidateAnswer] = [:]) {
        var nearest: [String: Double] = [:]
        for (node, answer) in answers {
            available += max(0, answer.available)
            for c in answer.nearest.prefix(maxCandidatesPerNotice) where c.distanceKm.isFinite && c.distanceKm >= 0 {
                offeredBy[c.volunteerId, default: []].append(node)
                nearest[c.volunteerId] = min(nearest[c.volunteerId] ?? .infinity, c.distanceKm)
            }
        }
        matches = nearest.map { Match(id: $0.key, distanceKm: $0.value) }
    }

    /// Whether another node offered `vid` (who is then alerted there, never pushed from here).
    func offers(_ vid: String) -> Bool { offeredBy[vid] != nil }

    /// Notes that the step picked `m`: every node that offered them alerts them.
    mutating func pick(_ m: Match) {
        for node in offeredBy[m.id] ?? [] { picked[node, default: []].append(Candidate(volunteerId: m.id, distanceKm: m.distanceKm)) }
    }

    func orders(callId: String, reachedRadiusKm: Double) -> [AlertOrder] {
        picked.map { AlertOrder(to: $0.key, callId: callId, reachedRadiusKm: reachedRadiusKm, volunteers: $0.value) }
    }
}

extension Hub {
    // MARK: Steps over several nodes (PROTOCOL.md §9)

    /// Runs a step of a `waves` or `deadline` call: on the node that drives it, over every
    /// node's volunteers (asking the others first, when there are others); elsewhere only
    /// what a deadline call's `fillBy` asks of every node.
    func runStep(_ cid: String, _ s: inout State, now: Timestamp) {
        guard let a = s.active[cid] else { return }
        guard a.driven else { return followDeadline(cid, &s, now: now) }
        // A step waiting for the other nodes' answers is not started twice (ticks come every 0.1 s).
        guard !s.stepping.contains(cid) else { return }
        if a.call.status == .open, let cluster, !cluster.livePeers.isEmpty {
            s.stepping.insert(cid)
            Task { await self.runClusterStep(cid) }
        } else if a.call.dispatch.isWaves {
            runWave(cid, &s, now: now)
        } else if a.call.dispatch.isDeadline {
            runDeadlineStep(cid, &s, now: now)
        }
    }

    /// A deadline call driven by another node: from its `fillBy` on, this node alerts every
    /// eligible volunteer on its own sockets, as the driving node does on its own.
    private func followDeadline(_ cid: String, _ s: inout State, now: Timestamp) {
        guard case .deadline(let fillBy, _, _) = s.active[cid]?.call.dispatch else { return }
        s.active[cid]!.deadline.nextStepAt = now < fillBy ? fillBy : now.adding(millis: DeadlinePlanner.replanMillis)
        if now >= fillBy, s.active[cid]!.call.status == .open { fanOut(cid, &s, now: now) }
    }

    /// A step over every node: the others' nearest candidates first (at most
    /// ``ClusterLink/answerTimeout``), then the step with them, then the orders to alert
    /// those picked on other nodes.
    private func runClusterStep(_ cid: String) async {
        defer { _ = state.withLock { $0.stepping.remove(cid) } }
        guard let cluster else { return }
        let query = state.withLock { s -> CandidateQuery? in
            guard let a = s.active[cid], a.call.status == .open else { return nil }
            let wanted = a.call.dispatch.isWaves
                ? Waves.size(remaining: a.call.needed - a.call.confirmed, acceptanceRate: a.call.acceptanceRate) : maxCandidatesPerNotice
            return CandidateQuery(id: "", callId: cid, reachedRadiusKm: a.call.reachedRadiusKm, limit: min(max(wanted, 1), maxCandidatesPerNotice))
        }
        guard let query else { return }
        let answers = await cluster.candidates(query)
        let now = clock()
        let orders = state.withLock { s -> [AlertOrder] in
            guard let a = s.active[cid], a.driven else { return [] }
            let remote = RemoteCandidates(answers)
            if a.call.dispatch.isWaves { return runWave(cid, &s, now: now, remote: remote) }
            return runDeadlineStep(cid, &s, now: now, remote: remote)
        }
        await cluster.tell(orders)
    }

    /// This node's answer to another node's ``CandidateQuery``: its volunteers on a socket
    /// here who are eligible, not alerted yet and not held back by a block or their fatigue
    /// limits, nearest first.
    func offerCandidates(_ q: CandidateQuery, to node: String) -> CandidateAnswer {
        let now = clock()
        return state.withLock { s in
            guard s.active[q.callId]?.call.status == .open else { return CandidateAnswer(id: q.id, to: node, available: 0, nearest: []) }
            takeRadius(q.reachedRadiusKm, of: q.callId, &s)
            var eligible: [Match] = []
            for m in s.matcher.eligibleVolunteers(forCall: q.callId, now: now)
            where s.volunteerSockets[m.id] != nil && s.active[q.callId]?.hasAlerted(m.id) == false && mayAlert(q.callId, volunteer: m.id, &s, now: now) {
                eligible.append(m)
            }
            let limit = min(max(q.limit, 0), maxCandidatesPerNotice)
            let nearest = eligible.sorted { ($0.distanceKm, $0.id) < ($1.distanceKm, $1.id) }.prefix(limit)
            return CandidateAnswer(id: q.id, to: node, available: eligible.count, nearest: nearest.map { Candidate(volunteerId: $0.id, distanceKm: $0.distanceKm) })
        }
    }

    /// Alerts on this node's sockets the volunteers another node's step picked here.
    func carryOut(_ order: AlertOrder) {
        let now = clock()
        state.withLock { s in
            guard s.active[order.callId]?.call.status == .open else { return }
            takeRadius(order.reachedRadiusKm, of: order.callId, &s)
            var suppressed = Suppressions()
            var picked: [Match] = []
            for c in order.volunteers.prefix(maxCandidatesPerNotice) where c.distanceKm.isFinite && s.volunteerSockets[c.volunteerId] != nil {
                if admitAlert(order.callId, volunteer: c.volunteerId, &s, now: now, suppressed: &suppressed) {
                    picked.append(Match(id: c.volunteerId, distanceKm: max(0, c.distanceKm)))
                }
            }
            suppressed.submit(to: ledger, telemetry: telemetry)
            s.active[order.callId]!.alerted.formUnion(picked.map(\.id))
            deliver(picked, of: order.callId, pushIfAway: false, &s, now: now)
        }
    }

    /// Takes in the radius the driving node's call has reached, when it is wider than the
    /// one known here (bounded by the call's own limit).
    private func takeRadius(_ radiusKm: Double, of cid: String, _ s: inout State) {
        guard let call = s.active[cid]?.call, radiusKm.isFinite, radiusKm > call.reachedRadiusKm else { return }
        let limit: Double
        switch call.dispatch {
        case .waves(let maxRadius, _), .deadline(_, _, let maxRadius): limit = max(maxRadius, call.radiusKm)
        case .broadcast: limit = call.radiusKm
        }
        s.active[cid]!.call.reachedRadiusKm = min(radiusKm, limit)
        s.matcher.addCall(Self.matchCall(s.active[cid]!.call, declined: s.active[cid]!.declined))
    }

    /// Whether a new alert of `cid` would reach `vid` now (``admitAlert(_:volunteer:_:now:suppressed:)``
    /// without recording anything).
    private func mayAlert(_ cid: String, volunteer vid: String, _ s: inout State, now: Timestamp) -> Bool {
        !isBlocked(vid, for: cid, s) && s.fatigue[vid]?.wouldSend(cid, now: now) != false
    }

    // MARK: Leases

    /// Renews this node's lease and takes the calls whose lease is free or whose holder is
    /// dead (ClusterSync calls it every second). A call posted on another node in the last
    /// few seconds is not asked for: its node takes its lease with its next heartbeat. If the
    /// leases cannot be renewed for a lease's length, this node stops driving, because
    /// another node may have taken its calls over.
    func holdLeases() async {
        guard let cluster else { return }
        let now = clock()
        let asked = state.withLock { s in
            s.active.filter { _, a in
                (a.call.status == .open || a.call.status == .filled)
                    && (a.driven || now.millis - a.call.createdAt.millis > Int64(callLeaseSeconds) * 1000)
            }.map(\.key)
        }
        guard let held = try? await cluster.feed.leaseCalls(asked) else {
            state.withLock { s in
                guard let at = s.leasedAt, clock().millis - at.millis > Int64(callLeaseSeconds) * 1000 else { return }
                for cid in s.active.keys { s.active[cid]!.driven = false }
            }
            return
        }
        let taken = state.withLock { s -> [String] in
            s.leasedAt = now
            var taken: [String] = []
            for cid in asked where s.active[cid] != nil {
                if held.contains(cid), !s.active[cid]!.driven { taken.append(cid) }
                s.active[cid]!.driven = held.contains(cid)
            }
            return taken
        }
        if !taken.isEmpty { await takeOver(taken) }
    }

    /// Calls this node drives from now on, their driver gone: who was alerted and what
    /// their planners knew is read from the database, and their next step is due at once.
    private func takeOver(_ cids: [String]) async {
        guard let stored = try? await store.activeCalls() else { return }
        let now = clock()
        let progress = (try? await Self.loadDeadlineProgress(stored.filter { cids.contains($0.call.id) }, store: store, now: now)) ?? [:]
        state.withLock { s in
            for (call, alerted, _) in stored where cids.contains(call.id) && s.active[call.id]?.driven == true {
                s.active[call.id]!.alerted.formUnion(alerted)
                s.active[call.id]!.nextWaveAt = now
                if var p = progress[call.id] {
                    p.nextStepAt = now
                    s.active[call.id]!.deadline = p
                }
            }
        }
    }
}
