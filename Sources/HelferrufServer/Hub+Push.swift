import DequeModule
import HelferrufCore
import HelferrufStore
import enum HelferrufPush.PushUrgency
import Synchronization

/// How the hub sends Web Push (PROTOCOL.md §8): the gateway it hands jobs to, and when.
struct PushWiring: Sendable {
    var gateway: any PushGateway = DroppingPushGateway()
    /// `--push-fallback-seconds`: how long a socket alert may go without `received` before
    /// the volunteer's subscriptions get it too.
    var fallbackMillis: Int64 = 10_000
}

/// Whether alert pushes about one call are still wanted: the push client asks before each
/// try, from its own threads, without the hub's lock.
final class CallLiveness: Sendable {
    private let open = Atomic<Bool>(true)

    var isOpen: Bool { open.load(ordering: .relaxed) }

    func set(open value: Bool) { open.store(value, ordering: .relaxed) }
}

/// A volunteer with at least one push subscription, as the hub knows them.
struct PushTarget {
    var profile: VolunteerProfile
    var subscriptions: [PushSubscription]

    /// At least one subscription and an alert area (PROTOCOL.md §8 "push-reachable").
    var isReachable: Bool { !subscriptions.isEmpty && profile.alertArea != nil }
}

struct PushKey: Hashable {
    var volunteerId: String
    var callId: String
}

/// The hub's push state, under the hub's lock like the rest of ``Hub/State``.
struct PushState {
    /// Volunteers with at least one subscription.
    var targets: [String: PushTarget] = [:]
    /// Alert pushes sent, per open or filled call: volunteer → endpoints. Persisted too
    /// (`push_sent`), so that each (volunteer, call, subscription) gets at most one.
    var sent: [String: [String: Set<String>]] = [:]
    /// Fallback timers, in due order: the delay is one fixed figure, so a queue swept by
    /// the housekeeping tick serves every timer without a task or a heap.
    var fallbacks: Deque<(due: Timestamp, key: PushKey, distanceKm: Double)> = []
    /// The timers still armed; a funnel report disarms one by removing it here.
    var armed: Set<PushKey> = []
    var liveness: [String: CallLiveness] = [:]
    /// The availability last persisted per volunteer with a subscription: a client that
    /// repeats its availability on every reconnect costs no write (and no fsync) then.
    var standing: [String: Availability] = [:]
}

/// Pushes collected under the lock, handed over when the matching is done.
struct PushBatch {
    var jobs: [PushJob] = []
    var records: [String: [(volunteerId: String, endpoint: String)]] = [:]
}

/// What becomes of a volunteer's stored availability after their subscriptions changed.
enum StandingAvailabilityChange: Equatable {
    case keep
    /// They have a subscription now: their availability is persisted from here on.
    case store(Availability)
    /// They have none any more: availability lives in memory only again.
    case clear
}

extension Hub {
    // MARK: Who is push-reachable

    /// Loads, at start, every volunteer with a subscription; the push-reachable ones enter
    /// the matcher at their alert area with their persisted availability.
    static func loadPush(_ volunteers: [PushVolunteer], sent: [String: [String: Set<String>]], into s: inout State) {
        s.push.sent = sent
        for v in volunteers {
            let target = PushTarget(profile: v.profile, subscriptions: v.subscriptions)
            s.push.targets[v.profile.id] = target
            s.push.standing[v.profile.id] = v.availability
            guard target.isReachable else { continue }
            s.matcher.setPushArea(id: v.profile.id, v.profile.alertArea, skills: v.profile.skills, maxDistanceKm: v.profile.maxDistanceKm)
            s.matcher.setAvailability(v.profile.id, v.availability ?? .unavailable)
            openFatigue(v.profile, dropped: v.dropped, &s)
        }
    }

    /// Brings the live state in line with a volunteer's stored subscriptions and alert
    /// area, after any change to them, and persists or clears their availability. The other
    /// nodes of a cluster are told to read the volunteer again.
    func syncPush(_ vid: String) async throws {
        let stored = try await store.pushVolunteer(id: vid)
        switch updatePushTarget(vid, stored) {
        case .keep: break
        case .store(let availability):
            try await store.setStandingAvailability(volunteerId: vid, availability)
            state.withLock { $0.push.standing[vid] = availability }
        case .clear:
            state.withLock { $0.push.standing[vid] = nil }
            try await store.setStandingAvailability(volunteerId: vid, nil)
        }
        await cluster?.tell(volunteers: [vid])
    }

    /// Another node changed the volunteer's profile or subscriptions: the live state takes
    /// them from the store; the availability that node persisted is taken as it is.
    func reloadVolunteer(_ vid: String) async {
        let stored: PushVolunteer?
        do { stored = try await store.pushVolunteer(id: vid) } catch { return }
        _ = updatePushTarget(vid, stored)
        state.withLock { s in
            s.push.standing[vid] = stored?.availability
            // Without a socket here, their availability is the one stored by that node.
            guard s.volunteerSockets[vid] == nil, s.push.targets[vid]?.isReachable == true else { return }
            s.matcher.setAvailability(vid, stored?.availability ?? .unavailable)
            alertNewlyEligible(vid, &s)
        }
        if let profile = try? await store.volunteer(id: vid) { updateProfile(profile) }
    }

    func updatePushTarget(_ vid: String, _ stored: PushVolunteer?) -> StandingAvailabilityChange {
        state.withLock { s in
            let had = s.push.targets[vid]
            guard let stored else {
                s.push.targets[vid] = nil
                if let had, had.isReachable { endReachability(had.profile, &s) }
                return had == nil ? .keep : .clear
            }
            let target = PushTarget(profile: stored.profile, subscriptions: stored.subscriptions)
            s.push.targets[vid] = target
            // While the volunteer has live state its availability is the current one.
            let live = s.matcher.volunteer(vid)
            let availability = live?.availability ?? stored.availability ?? .unavailable
            if target.isReachable {
                let p = stored.profile
                s.matcher.setPushArea(id: vid, p.alertArea, skills: p.skills, maxDistanceKm: p.maxDistanceKm)
                if live == nil { s.matcher.setAvailability(vid, availability) }
                Self.openFatigue(p, dropped: stored.dropped, &s)
                alertNewlyEligible(vid, &s)
            } else if let had, had.isReachable {
                endReachability(had.profile, &s)
            }
            return had == nil ? .store(availability) : .keep
        }
    }

    private func endReachability(_ p: VolunteerProfile, _ s: inout State) {
        s.matcher.setPushArea(id: p.id, nil, skills: p.skills, maxDistanceKm: p.maxDistanceKm)
        if s.volunteerSockets[p.id] == nil { Self.closeFatigue(p.id, &s) }
    }

    /// Sets a volunteer's availability, from their socket or over HTTP (one path): alerts
    /// what became eligible, and persists it for a volunteer with a push subscription
    /// unless it is what was persisted last.
    func changeAvailability(_ vid: String, _ availability: Availability) async throws {
        let persist = state.withLock { s in
            s.matcher.setAvailability(vid, availability)
            alertNewlyEligible(vid, &s)
            return s.push.targets[vid] != nil && s.push.standing[vid] != availability
        }
        if persist {
            try await store.setStandingAvailability(volunteerId: vid, availability)
            state.withLock { s in
                if s.push.targets[vid] != nil { s.push.standing[vid] = availability }
            }
        }
        // The volunteer's sockets on other nodes take it too; what was stored is read again.
        await cluster?.tell(volunteers: persist ? [vid] : [], availability: [AvailabilityChange(volunteerId: vid, availability)])
    }

    /// Another node's news of a volunteer's availability, for their sockets here (without
    /// one, the availability stored for a push-reachable volunteer holds, see ``reloadVolunteer(_:)``).
    func takeAvailability(_ change: AvailabilityChange) {
        state.withLock { s in
            guard s.volunteerSockets[change.volunteerId] != nil else { return }
            s.matcher.setAvailability(change.volunteerId, change.availability)
            alertNewlyEligible(change.volunteerId, &s)
        }
    }

    /// Forgets an erased volunteer's push state.
    static func forgetPush(_ vid: String, _ s: inout State) {
        s.push.targets[vid] = nil
        s.push.standing[vid] = nil
        for cid in s.push.sent.keys { s.push.sent[cid]?[vid] = nil }
    }

    // MARK: Alert pushes

    /// Queues an alert push of `call` to each of the volunteer's subscriptions that has not
    /// had one for it, and records them as sent. A push to a volunteer without a socket here
    /// is the driving node's (§9), and only while they have no socket on another node
    /// either; a `fallback` is the node's whose socket alert went unanswered.
    func queueAlertPush(
        _ call: Call, volunteer vid: String, distanceKm: Double, fallback: Bool = false, _ s: inout State, into batch: inout PushBatch,
        now: Timestamp
    ) {
        guard let target = s.push.targets[vid] else { return }
        if !fallback { guard s.active[call.id]?.isDriven() != false, !s.presence.isElsewhere(vid) else { return } }
        let done = s.push.sent[call.id]?[vid] ?? []
        let fresh = target.subscriptions.filter { !done.contains($0.endpoint) }
        guard !fresh.isEmpty else { return }
        let plaintext = PushPolicy.alert(call, distanceKm: distanceKm)
        let liveness = s.push.liveness[call.id] ?? CallLiveness()
        s.push.liveness[call.id] = liveness
        for sub in fresh {
            s.push.sent[call.id, default: [:]][vid, default: []].insert(sub.endpoint)
            batch.records[call.id, default: []].append((vid, sub.endpoint))
            batch.jobs.append(job(
                sub, volunteer: vid, plaintext: plaintext, ttl: PushPolicy.ttl(call, now: now), urgency: .high,
                topic: PushPolicy.topic(call), stillWanted: { liveness.isOpen }))
        }
        telemetry.alertsPushed.increment()
    }

    /// Starts the fallback timer of a socket alert, for a volunteer with subscriptions.
    func armFallback(_ cid: String, volunteer vid: String, distanceKm: Double, _ s: inout State, now: Timestamp) {
        guard s.push.targets[vid] != nil else { return }
        let key = PushKey(volunteerId: vid, callId: cid)
        guard s.push.armed.insert(key).inserted else { return }
        s.push.fallbacks.append((now.adding(millis: push.fallbackMillis), key, distanceKm))
    }

    /// A funnel report (`received` or `seen`), from a socket or over HTTP (one path): it
    /// disarms the call's fallback push and counts in the call's funnel. For a live call
    /// nothing waits for the commit unless `wait` (every alert is answered by `received`);
    /// otherwise the ledger's answer tells an unknown call. Returns nil when not waited for.
    func reportFunnel(callId cid: String, volunteer vid: String, stage: FunnelStage, wait: Bool) async -> RosterOutcome? {
        if !wait && reportFunnelNow(callId: cid, volunteer: vid, stage: stage) { return nil }
        state.withLock { s in
            if !s.push.armed.isEmpty { s.push.armed.remove(PushKey(volunteerId: vid, callId: cid)) }
        }
        return await ledger.submit(.funnel(callId: cid, volunteerId: vid, stage: stage))
    }

    /// ``reportFunnel(callId:volunteer:stage:wait:)`` without waiting, for a live call: it
    /// needs no `await`, so a socket's handler takes it on its event loop without a task.
    /// Returns false (and does nothing) when the call is not live: then the general path
    /// waits for the ledger, which tells an unknown call.
    func reportFunnelNow(callId cid: String, volunteer vid: String, stage: FunnelStage) -> Bool {
        let active = state.withLock { s in
            guard s.active[cid] != nil else { return false }
            if !s.push.armed.isEmpty { s.push.armed.remove(PushKey(volunteerId: vid, callId: cid)) }
            return true
        }
        if active { ledger.submitDetached(.funnel(callId: cid, volunteerId: vid, stage: stage)) }
        return active
    }

    /// Pushes the socket alerts whose fallback time passed without a `received`, while
    /// their call is still open.
    func fireFallbacks(_ s: inout State, now: Timestamp) {
        var batch = PushBatch()
        while let first = s.push.fallbacks.first, first.due <= now {
            s.push.fallbacks.removeFirst()
            guard s.push.armed.remove(first.key) != nil, let a = s.active[first.key.callId], a.call.status == .open else { continue }
            queueAlertPush(a.call, volunteer: first.key.volunteerId, distanceKm: first.distanceKm, fallback: true, &s, into: &batch, now: now)
        }
        submit(batch, now: now)
    }

    // MARK: Retraction

    /// A call's status changed: alert pushes are wanted while it is open; when it fills,
    /// is cancelled or expires, every subscription that got its alert gets a `call_update`
    /// with the same topic, so the notification can be withdrawn.
    func pushStatusChanged(_ call: Call, _ s: inout State, now: Timestamp) {
        s.push.liveness[call.id]?.set(open: call.status == .open)
        guard call.status != .open, let sent = s.push.sent[call.id] else { return }
        let plaintext = PushPolicy.callUpdate(call)
        var batch = PushBatch()
        for (vid, endpoints) in sent {
            for sub in s.push.targets[vid]?.subscriptions ?? [] where endpoints.contains(sub.endpoint) {
                batch.jobs.append(job(
                    sub, volunteer: vid, plaintext: plaintext, ttl: PushPolicy.retractionTTLSeconds, urgency: .normal,
                    topic: PushPolicy.topic(call), stillWanted: { true }))
            }
        }
        if call.status == .cancelled || call.status == .expired {
            s.push.sent[call.id] = nil
            s.push.liveness[call.id] = nil
        }
        submit(batch, now: now)
    }

    // MARK: Handing over

    private func job(
        _ sub: PushSubscription, volunteer vid: String, plaintext: [UInt8], ttl: Int, urgency: PushUrgency, topic: String,
        stillWanted: @escaping @Sendable () -> Bool
    ) -> PushJob {
        let started = ContinuousClock.now
        let endpoint = sub.endpoint
        return PushJob(
            endpoint: endpoint, p256dh: sub.p256dh, auth: sub.auth, plaintext: plaintext, ttlSeconds: ttl, urgency: urgency,
            topic: topic, stillWanted: stillWanted,
            completion: { [weak self] outcome in self?.pushEnded(outcome, volunteer: vid, endpoint: endpoint, started: started) })
    }

    /// Hands a batch's jobs to the gateway and its records to the store. The records are
    /// written after the hand-over, off the lock: a crash in between may repeat a push.
    func submit(_ batch: PushBatch, now: Timestamp) {
        guard !batch.jobs.isEmpty else { return }
        if !batch.records.isEmpty {
            let (store, records) = (self.store, batch.records)
            Task {
                for (cid, list) in records { try? await store.recordPushes(callId: cid, list, now: now) }
            }
        }
        for job in batch.jobs where !push.gateway.submit(job) {
            telemetry.pushEnded(.refused, after: nil)
        }
    }

    /// A job's completion: counted, and a dead subscription (404/410) deleted at once.
    private func pushEnded(_ outcome: PushJobOutcome, volunteer vid: String, endpoint: String, started: ContinuousClock.Instant) {
        telemetry.pushEnded(outcome, after: ContinuousClock.now - started)
        guard outcome == .gone else { return }
        Task { [store] in
            _ = try? await store.deletePushSubscription(volunteerId: vid, endpoint: endpoint)
            try? await syncPush(vid)
        }
    }
}
