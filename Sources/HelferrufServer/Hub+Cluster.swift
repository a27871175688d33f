import HelferrufCore
import HelferrufStore

extension Hub {
    // MARK: Other nodes (PROTOCOL.md §9)

    /// Takes in what another node sent: committed changes, blocks, a `/reach` question (it
    /// is answered with this node's counts) or an answer to this node's.
    func receive(_ notice: ClusterNotice) async {
        guard let cluster else { return }
        cluster.heard(from: notice.node)
        if !notice.events.isEmpty { await applyRemote(notice.events) }
        for vid in notice.volunteers { await reloadVolunteer(vid) }
        for change in notice.availability.prefix(ClusterNotice.maxPresencePerNotice) { takeAvailability(change) }
        if !notice.present.isEmpty || !notice.absent.isEmpty {
            let limit = ClusterNotice.maxPresencePerNotice
            state.withLock { $0.presence.heard(from: notice.node, present: Array(notice.present.prefix(limit)), absent: Array(notice.absent.prefix(limit))) }
        }
        for change in notice.blocks {
            if change.blocked { block(change.volunteerId, org: change.orgId) } else { unblock(change.volunteerId, org: change.orgId) }
        }
        if let q = notice.reach, let center = try? Rules.location(lat: q.lat, lon: q.lon, field: ""),
           let radius = try? Rules.distance(q.radiusKm, field: ""), let skills = try? Rules.skills(q.skills) {
            let counts = reach(center: center, radiusKm: radius, skills: skills, orgId: q.orgId, connectedOnly: true)
            await cluster.tell(reached: ReachAnswer(id: q.id, to: notice.node, available: counts.available, connected: counts.connected))
        }
        if let answer = notice.reached, answer.to == cluster.node { cluster.answered(answer, from: notice.node) }
        if let query = notice.candidates { await cluster.tell(offered: offerCandidates(query, to: notice.node)) }
        if let answer = notice.offered, answer.to == cluster.node { cluster.answered(answer, from: notice.node) }
        if let order = notice.order, order.to == cluster.node { carryOut(order) }
    }

    /// Announces this node's push-reachable volunteers that connected or left since the
    /// last call; with `everyone`, all of those connected here.
    func announcePresence(everyone: Bool) async {
        guard let cluster else { return }
        let (present, absent) = state.withLock { s in
            let news = s.presence.takeNews()
            guard everyone else { return news }
            return (s.volunteerSockets.keys.filter { s.push.targets[$0] != nil }, news.left)
        }
        await cluster.tell(present: present, absent: absent)
    }

    /// Forgets what nodes no longer alive, or not heard from for long, said of their
    /// volunteers (ClusterSync calls it with every heartbeat).
    func forgetGonePresence() {
        guard let cluster else { return }
        let live = cluster.livePeers
        state.withLock { $0.presence.keep(live) }
    }

    /// `/reach` over every node: this node's counts, push-reachable volunteers included, plus
    /// each other node's volunteers on a socket there. A push-reachable volunteer connected to
    /// another node is counted there only; a volunteer without push with tabs on two nodes
    /// counts twice.
    func reachEverywhere(center: GeoPoint, radiusKm: Double, skills: [String], orgId: String) async -> (available: Int, connected: Int) {
        let local = reach(center: center, radiusKm: radiusKm, skills: skills, orgId: orgId, leavingOutElsewhere: cluster != nil)
        guard let cluster else { return local }
        let remote = await cluster.reach(ReachQuery(id: "", lat: center.lat, lon: center.lon, radiusKm: radiusKm, skills: skills, orgId: orgId))
        return (local.available + remote.available, local.connected + remote.connected)
    }

    /// Applies what another node of the same database committed: reads the calls (and
    /// messages) the events name, then updates the live state and tells this node's sockets
    /// and dashboards, as ``apply(_:)`` does for this node's own commits.
    ///
    /// A call posted elsewhere is matched here against this node's volunteers: a broadcast
    /// alerts them at once; the steps of the other modes, and pushes, stay with the node
    /// that drives the call (see ``ActiveCall/driven``).
    func applyRemote(_ events: [ClusterEvent]) async {
        var calls: [String: Call] = [:]
        for cid in Set(events.map(\.callId)) {
            if let call = try? await store.call(id: cid) { calls[cid] = call }
        }
        var messages: [String: CallMessage] = [:]
        for e in events where e.kind == .message {
            guard let id = e.messageId, messages[id] == nil, let stored = try? await store.messages(callId: e.callId) else { continue }
            for m in stored { messages[m.id] = m }
        }
        let now = clock()
        state.withLock { s in
            var replan: Set<String> = []
            for e in events {
                switch e.kind {
                case .created:
                    if let call = calls[e.callId] { learn(call, &s, now: now) }
                case .changed:
                    if let call = calls[e.callId] { reconcile(call, &s, now: now) }
                case .answered:
                    if noteDeadlineAnswers(e.volunteers, callId: e.callId, &s) { replan.insert(e.callId) }
                case .declined:
                    for vid in e.volunteers { Self.recordDecline(e.callId, volunteer: vid, &s) }
                    if noteDeadlineAnswers(e.volunteers, callId: e.callId, &s) { replan.insert(e.callId) }
                case .removed:
                    guard let call = calls[e.callId] else { continue }
                    for vid in e.volunteers { tellRemoved(vid, from: call, &s, callId: e.callId) }
                case .promoted:
                    tellPromoted(e.volunteers, callId: e.callId, &s)
                case .message:
                    if let id = e.messageId, let message = messages[id] { send(message, to: e.volunteers, &s) }
                }
            }
            // As for this node's own answers: the driving node plans again at once.
            for cid in replan where s.active[cid]?.driven == true { runStep(cid, &s, now: now) }
            flushCallUpdates(&s, now: now)
            flushDashboards(&s, now: now)
        }
    }

    /// Catches up with the database after listening started or resumed: notifications sent
    /// meanwhile are lost, so every call that is open or filled there is learnt or
    /// reconciled, and every call live here that ended there is ended here.
    func resync() async {
        guard let stored = try? await store.activeCalls() else { return }
        let storedIds = Set(stored.map(\.call.id))
        let gone = state.withLock { Set($0.active.keys) }.subtracting(storedIds)
        var ended: [Call] = []
        for cid in gone {
            if let call = try? await store.call(id: cid) { ended.append(call) }
        }
        let now = clock()
        state.withLock { s in
            for (call, _, declined) in stored {
                if s.active[call.id] == nil {
                    learn(call, declined: declined, &s, now: now)
                } else {
                    for vid in declined { Self.recordDecline(call.id, volunteer: vid, &s) }
                    reconcile(call, &s, now: now)
                }
            }
            for call in ended { reconcile(call, &s, now: now) }
            flushCallUpdates(&s, now: now)
            flushDashboards(&s, now: now)
        }
    }

    /// A call posted on another node: live here from now on, and dispatched to this node's
    /// volunteers by its mode.
    private func learn(_ call: Call, declined: Set<String> = [], _ s: inout State, now: Timestamp) {
        guard s.active[call.id] == nil else { return reconcile(call, &s, now: now) }
        s.dashboardPending[call.id] = call
        guard call.status == .open || call.status == .filled else { return }
        s.active[call.id] = ActiveCall(call: call, alerted: [], declined: declined, nextWaveAt: now, driven: false)
        guard call.status == .open else { return }
        s.matcher.addCall(Self.matchCall(call, declined: declined))
        startDispatch(call, &s, now: now, postedAt: nil)
    }

    /// A call changed on another node: its new state taken in, as if committed here.
    private func reconcile(_ call: Call, _ s: inout State, now: Timestamp) {
        guard let previous = s.active[call.id] else {
            // Its creation was missed (listening had not resumed yet).
            if call.status == .open || call.status == .filled { return learn(call, &s, now: now) }
            s.dashboardPending[call.id] = call
            return
        }
        update(to: call, statusChanged: call.status != previous.call.status, counted: false, &s, now: now)
    }
}
