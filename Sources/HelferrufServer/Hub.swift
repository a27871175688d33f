import HelferrufCore
import HelferrufStore
import HelferrufSync
import NIOCore

/// One open volunteer socket.
final class VolunteerConnection: Sendable {
    let id: Int
    let volunteerId: String
    let outbox: Outbox

    init(id: Int, volunteerId: String, outbox: Outbox) {
        self.id = id
        self.volunteerId = volunteerId
        self.outbox = outbox
    }
}

/// One open dashboard socket of an organisation.
final class DashboardConnection: Sendable {
    let id: Int
    let orgId: String
    let outbox: Outbox

    init(id: Int, orgId: String, outbox: Outbox) {
        self.id = id
        self.orgId = orgId
        self.outbox = outbox
    }
}

/// The owner of all live state: the matcher (volunteers' positions and availability, open
/// calls), the active calls with who was alerted, and every open socket.
///
/// One `Mutex` guards it all, so that matching, the per-connection "already alerted"
/// sets and the order of frames on each socket always agree. Work under the lock is
/// bounded: sockets are only enqueued to (see ``Outbox``), never written.
final class Hub: Sendable {
    /// A call that is open or filled, with every volunteer ever alerted for it.
    struct ActiveCall {
        var call: Call
        var alerted: Set<String>
        var declined: Set<String> = []
        /// Volunteers whose alert fatigue limits held back (recorded once each).
        var suppressed: Set<String> = []
        /// When the next wave of a `waves` call is due.
        var nextWaveAt = Timestamp(millis: 0)
        /// What the planner of a `deadline` call knows (PROTOCOL.md §10).
        var deadline = DeadlineProgress()
        /// Whether this node drives the call (PROTOCOL.md §9): runs its waves or deadline
        /// steps over every node's volunteers and sends its pushes. Always on one node; on
        /// several, the node that holds the call's lease (the one it was posted on, until that
        /// node dies). The others alert their own sockets, of a broadcast call at once, of
        /// the other modes as the driving node orders.
        var driven = true

        /// Whether `vid` was alerted. Mutating on purpose: called as `s.active[cid]?.hasAlerted(vid)`
        /// it goes through the dictionary's in-place accessor, where a plain read of
        /// `s.active[cid]?.alerted` copies the whole call (some twenty retains and releases,
        /// per recipient of a fan-out).
        mutating func hasAlerted(_ vid: String) -> Bool { alerted.contains(vid) }

        /// Whether this node ``driven``s the call; mutating for the reason above (asked per
        /// push recipient of a fan-out).
        mutating func isDriven() -> Bool { driven }
    }

    struct State {
        var matcher = Matcher()
        var active: [String: ActiveCall] = [:]
        var volunteerSockets: [String: [Int: VolunteerConnection]] = [:]
        /// Per connection: the calls already alerted on it (an alert goes out once per connection).
        var sentAlerts: [Int: Set<String>] = [:]
        var dashboards: [String: [Int: DashboardConnection]] = [:]
        var dashboardLastSent: [String: Timestamp] = [:]
        var dashboardPending: [String: Call] = [:]
        /// `call_update` frames for alerted volunteers, coalesced like dashboard updates.
        var updateLastSent: [String: Timestamp] = [:]
        var updatePending: [String: Call] = [:]
        /// Fatigue limits and recent alerts of connected or push-reachable volunteers.
        var fatigue: [String: VolunteerFatigue] = [:]
        var alertHistory = AlertHistory()
        /// Volunteers with alerts held by quiet hours, and when those end.
        var quietUntil: [String: Timestamp] = [:]
        /// When the POST of each call about to be created arrived, for the fan-out latency.
        var postedAt: [String: ContinuousClock.Instant] = [:]
        var expiring: Set<String> = []
        var nextConnectionId = 0
        var draining = false
        var unready = false
        var lastSweep = Timestamp(millis: 0)
        /// Subscriptions, push-reachable volunteers, pushes sent, fallback timers (§8).
        var push = PushState()
        /// Volunteers each organisation blocked (§11), never alerted for its calls.
        var blocked: [String: Set<String>] = [:]
        /// Calls driven here whose step waits for the other nodes' candidates (§9).
        var stepping: Set<String> = []
        /// When this node last renewed its leases (§9).
        var leasedAt: Timestamp?
        /// Push-reachable volunteers connected to other nodes, and this node's news (§9).
        var presence = ClusterPresence()
    }

    /// How long a volunteer's live state outlives their last connection.
    static let graceMillis: Int64 = 120_000
    /// Sockets queued before a fan-out hands them to their event loops, so the first
    /// recipients are written while the rest are still being matched and encoded.
    static let fanOutSlice = 256
    /// Minimum spacing of dashboard updates, and of live counter updates, per call.
    static let dashboardIntervalMillis: Int64 = 1000

    let state = StateLock(State())
    let store: any RecordStore
    let ledger: any RosterLedger
    let clock: @Sendable () -> Timestamp
    let telemetry: Telemetry
    let outboxCapacity: Int
    let push: PushWiring
    /// The other nodes of a PostgreSQL database (PROTOCOL.md §9); nil on SQLite.
    let cluster: ClusterLink?

    init(
        store: any RecordStore, ledger: any RosterLedger, clock: @escaping @Sendable () -> Timestamp, telemetry: Telemetry, outboxCapacity: Int = 1024,
        push: PushWiring = PushWiring()
    ) async throws {
        self.store = store
        self.ledger = ledger
        self.clock = clock
        self.telemetry = telemetry
        self.outboxCapacity = outboxCapacity
        self.push = push
        cluster = store.clusterFeed.map(ClusterLink.init)
        let active = try await store.activeCalls()
        let now = clock()
        let pushVolunteers = try await store.pushVolunteers()
        let pushesSent = try await store.activePushes()
        let history = try await store.recentAlertTimes(since: now.adding(millis: -AlertWindow.windowMillis))
        let blocked = try await store.allBlocks()
        let progress = try await Self.loadDeadlineProgress(active, store: store, now: now)
        state.withLock { s in
            s.alertHistory = AlertHistory(history)
            s.blocked = blocked
            Self.loadPush(pushVolunteers, sent: pushesSent, into: &s)
            for (call, alerted, declined) in active {
                // With other nodes, the call is driven here once its lease is (ClusterSync).
                var a = ActiveCall(call: call, alerted: alerted, declined: declined, driven: cluster == nil)
                // After a restart clients are still reconnecting: a wave now would find too
                // few of them and widen the radius for nothing.
                if case .waves(_, let seconds) = call.dispatch { a.nextWaveAt = now.adding(millis: Int64(seconds) * 1000) }
                a.deadline = progress[call.id] ?? a.deadline
                s.active[call.id] = a
                if call.status == .open { s.matcher.addCall(Self.matchCall(call, declined: declined)) }
            }
        }
    }

    /// The matcher's view of a call; a `waves` call matches within the radius reached so far.
    static func matchCall(_ c: Call, declined: Set<String> = []) -> Matcher.MatchCall {
        .init(id: c.id, location: c.location, radiusKm: c.reachedRadiusKm, skills: c.skills, needed: c.needed, confirmed: c.confirmed, declined: declined)
    }

    // MARK: Volunteer sockets

    /// Registers a volunteer socket and queues its `welcome`, then the messages of the
    /// volunteer's confirmed calls. Returns nil while draining.
    func attachVolunteer(_ profile: VolunteerProfile, outbox: Outbox, stored: WelcomeState) -> VolunteerConnection? {
        let now = clock()
        let conn: VolunteerConnection? = state.withLock { s in
            guard !s.draining else { return nil }
            s.nextConnectionId += 1
            let conn = VolunteerConnection(id: s.nextConnectionId, volunteerId: profile.id, outbox: outbox)
            outbox.onOverload { [telemetry] in telemetry.overloaded($0) }
            s.matcher.connect(id: profile.id, skills: profile.skills, maxDistanceKm: profile.maxDistanceKm)
            s.volunteerSockets[profile.id, default: [:]][conn.id] = conn
            if cluster != nil, s.volunteerSockets[profile.id]!.count == 1, s.push.targets[profile.id] != nil { s.presence.connected(profile.id) }
            Self.openFatigue(profile, dropped: stored.dropped, &s)
            var suppressed = Suppressions()
            let alerts = admittedAlerts(for: profile.id, &s, now: now, suppressed: &suppressed)
            s.sentAlerts[conn.id] = Set(alerts.map(\.call.id))
            let live = { (c: Call) in s.active[c.id]?.call ?? c }
            outbox.send(Wire.welcome(
                volunteerId: profile.id, alerts: alerts, confirmed: stored.confirmed.map(live), mine: stored.mine,
                standby: stored.standby.map(live)))
            for message in stored.messages { outbox.send(Wire.message(message)) }
            telemetry.alertsSent.increment(by: Int64(alerts.count))
            suppressed.submit(to: ledger, telemetry: telemetry)
            flushDashboards(&s, now: now)
            return conn
        }
        if conn != nil { telemetry.volunteerSockets.increment() }
        return conn
    }

    /// The open calls a volunteer may be alerted for now, most urgent first, each recorded
    /// as alerted: eligible calls that their fatigue limits let through, where a `waves`
    /// call only counts once a wave has alerted the volunteer. `onlyNew` leaves out calls
    /// alerted to the volunteer before (a push goes out once per call, not per connection).
    func admittedAlerts(for vid: String, _ s: inout State, now: Timestamp, suppressed: inout Suppressions, onlyNew: Bool = false) -> [(call: Call, distanceKm: Double)] {
        var out: [(call: Call, distanceKm: Double)] = []
        for m in s.matcher.eligibleCalls(forVolunteer: vid, now: now) {
            guard let active = s.active[m.id], !(onlyNew && active.alerted.contains(vid)) else { continue }
            if !Self.alertsEveryoneEligible(active.call, now: now) && !active.alerted.contains(vid) && s.fatigue[vid]?.held.contains(m.id) != true { continue }
            guard admitAlert(m.id, volunteer: vid, &s, now: now, suppressed: &suppressed) else { continue }
            Self.markAlerted(m.id, volunteer: vid, &s, ledger: ledger)
            out.append((s.active[m.id]!.call, m.distanceKm))
        }
        return out
    }

    func detach(_ conn: VolunteerConnection) {
        let now = clock()
        let removed = state.withLock { s -> Bool in
            guard s.volunteerSockets[conn.volunteerId]?.removeValue(forKey: conn.id) != nil else { return false }
            if s.volunteerSockets[conn.volunteerId]?.isEmpty == true {
                s.volunteerSockets[conn.volunteerId] = nil
                if cluster != nil, s.push.targets[conn.volunteerId] != nil { s.presence.disconnected(conn.volunteerId) }
            }
            s.sentAlerts[conn.id] = nil
            s.matcher.disconnect(id: conn.volunteerId, now: now)
            // A push-reachable volunteer's fatigue limits keep counting their pushes.
            if s.volunteerSockets[conn.volunteerId] == nil && s.push.targets[conn.volunteerId]?.isReachable != true {
                Self.closeFatigue(conn.volunteerId, &s)
            }
            return true
        }
        if removed { telemetry.volunteerSockets.decrement() }
    }

    func setLocation(_ volunteerId: String, _ point: GeoPoint) {
        state.withLock { s in
            s.matcher.setLocation(volunteerId, point)
            alertNewlyEligible(volunteerId, &s)
        }
    }

    func updateProfile(_ profile: VolunteerProfile) {
        state.withLock { s in
            guard s.matcher.volunteer(profile.id) != nil else { return }
            s.matcher.updateProfile(profile.id, skills: profile.skills, maxDistanceKm: profile.maxDistanceKm)
            s.fatigue[profile.id]?.limits = profile.fatigue
            alertNewlyEligible(profile.id, &s)
        }
    }

    /// Closes every socket of a volunteer (account erased) and forgets their live state.
    func closeVolunteer(_ volunteerId: String, code: UInt16, reason: String) {
        state.withLock { s in
            for conn in (s.volunteerSockets[volunteerId] ?? [:]).values { conn.outbox.close(code: code, reason: reason) }
            s.matcher.forget(volunteerId)
            Self.forgetPush(volunteerId, &s)
            s.alertHistory.forget(volunteerId)
        }
    }

    /// Whether an accept may succeed on eligibility grounds: eligible now, or alerted before.
    func mayAccept(volunteer vid: String, call cid: String) -> Bool {
        let now = clock()
        return state.withLock { s in
            s.active[cid]?.alerted.contains(vid) == true || s.matcher.eligibility(volunteer: vid, call: cid, now: now) != nil
        }
    }

    /// Sends the volunteer, on each of their sockets, every eligible call not yet alerted
    /// there, most urgent first; a push-reachable volunteer without a socket gets a push
    /// for each call not alerted to them before.
    func alertNewlyEligible(_ vid: String, _ s: inout State) {
        let sockets = s.volunteerSockets[vid] ?? [:]
        guard !sockets.isEmpty || s.push.targets[vid]?.isReachable == true else { return }
        let now = clock()
        var suppressed = Suppressions()
        var pushes = PushBatch()
        for (call, distance) in admittedAlerts(for: vid, &s, now: now, suppressed: &suppressed, onlyNew: sockets.isEmpty) {
            if sockets.isEmpty {
                queueAlertPush(call, volunteer: vid, distanceKm: distance, &s, into: &pushes, now: now)
                continue
            }
            var frame: OutboundFrame?
            for conn in sockets.values where s.sentAlerts[conn.id, default: []].insert(call.id).inserted {
                if frame == nil { frame = AlertFrame(call).frame(distanceKm: distance) }
                conn.outbox.send(frame!)
                telemetry.alertsSent.increment()
            }
            if frame != nil { armFallback(call.id, volunteer: vid, distanceKm: distance, &s, now: now) }
        }
        suppressed.submit(to: ledger, telemetry: telemetry)
        submit(pushes, now: now)
        flushDashboards(&s, now: now)
    }

    /// Records a first alert of `vid` for `cid` in memory and queues it for the ledger.
    static func markAlerted(_ cid: String, volunteer vid: String, _ s: inout State, ledger: any RosterLedger) {
        guard s.active[cid]?.alerted.insert(vid).inserted == true else { return }
        s.active[cid]!.call.alerted = s.active[cid]!.alerted.count
        ledger.submitDetached(.recordAlerts(callId: cid, volunteerIds: [vid]))
        s.dashboardPending[cid] = s.active[cid]!.call
    }

    // MARK: Calls

    /// Alerts every eligible volunteer of an open call on each of their sockets that has not
    /// had it yet. The call is encoded once; each recipient only adds its distance. The
    /// sockets' drains run as one task per event loop (``DrainBatch``). Push-reachable
    /// volunteers without a socket get a push, queued after every socket frame is on its way.
    func fanOut(_ cid: String, _ s: inout State, now: Timestamp, postedAt: ContinuousClock.Instant? = nil) {
        guard let call = s.active[cid]?.call else { return }
        let started = ContinuousClock.now
        let tracker = postedAt.map { [telemetry] in FanOutTracker(postedAt: $0) { telemetry.fanoutLatency.recordNanoseconds($0.nanoseconds) } }
        let matches = s.matcher.eligibleVolunteers(forCall: cid, now: now)
        let alert = AlertFrame(call)
        var newlyAlerted: [String] = []
        var suppressed = Suppressions()
        var sent = 0
        var batch = DrainBatch()
        var pushTo: [Match] = []
        // Matches alerted on a socket, whose fallback timers are armed once every frame is
        // on its way (a lookup per recipient would slow the fan-out down).
        var socketAlerted: [Int] = []
        let anySubscriptions = !s.push.targets.isEmpty
        for (i, m) in matches.enumerated() {
            guard let sockets = s.volunteerSockets[m.id] else {
                // Only a push-reachable volunteer matches without a socket; one with a socket
                // on another node is alerted there.
                if !s.active[cid]!.alerted.contains(m.id), !s.presence.isElsewhere(m.id), admitAlert(cid, volunteer: m.id, &s, now: now, suppressed: &suppressed) {
                    pushTo.append(m)
                    s.active[cid]!.alerted.insert(m.id)
                    newlyAlerted.append(m.id)
                }
                continue
            }
            guard admitAlert(cid, volunteer: m.id, &s, now: now, suppressed: &suppressed) else { continue }
            var frame: OutboundFrame?
            for conn in sockets.values where s.sentAlerts[conn.id, default: []].insert(cid).inserted {
                if frame == nil { frame = alert.frame(distanceKm: m.distanceKm) }
                conn.outbox.send(frame!, batch: &batch)
                sent += 1
                if sent % Self.fanOutSlice == 0 { batch.run(tracker: tracker) }
            }
            if anySubscriptions && frame != nil { socketAlerted.append(i) }
            if s.active[cid]!.alerted.insert(m.id).inserted { newlyAlerted.append(m.id) }
        }
        batch.run(tracker: tracker)
        tracker?.end()
        for i in socketAlerted { armFallback(cid, volunteer: matches[i].id, distanceKm: matches[i].distanceKm, &s, now: now) }
        var pushes = PushBatch()
        for m in pushTo { queueAlertPush(call, volunteer: m.id, distanceKm: m.distanceKm, &s, into: &pushes, now: now) }
        submit(pushes, now: now)
        suppressed.submit(to: ledger, telemetry: telemetry)
        telemetry.alertsSent.increment(by: Int64(sent))
        telemetry.fanoutSeconds.recordNanoseconds((ContinuousClock.now - started).nanoseconds)
        if !newlyAlerted.isEmpty {
            s.active[cid]!.call.alerted = s.active[cid]!.alerted.count
            ledger.submitDetached(.recordAlerts(callId: cid, volunteerIds: newlyAlerted))
            s.dashboardPending[cid] = s.active[cid]!.call
        }
    }

    /// The live version of a call when it is active (its alerted count may be ahead of the
    /// database's by a commit).
    func activeCall(_ id: String) -> Call? {
        state.withLock { $0.active[id]?.call }
    }

    /// What a call of `orgId` placed there would reach; volunteers the organisation blocked
    /// do not count as available (§11).
    /// `leavingOutElsewhere`: without the push-reachable volunteers connected to another node,
    /// which that node counts (§9).
    func reach(
        center: GeoPoint, radiusKm: Double, skills: [String], orgId: String, connectedOnly: Bool = false, leavingOutElsewhere: Bool = false
    ) -> (available: Int, connected: Int) {
        let now = clock()
        return state.withLock { s in
            var excluded = s.blocked[orgId] ?? []
            if leavingOutElsewhere { excluded.formUnion(s.presence.connectedElsewhere()) }
            return s.matcher.reach(center: center, radiusKm: radiusKm, skills: skills, now: now, excluding: excluded, connectedOnly: connectedOnly)
        }
    }

    // MARK: Housekeeping

    /// Periodic work: flushes coalesced dashboard updates, forgets volunteers whose grace
    /// period is over, and returns the active calls whose end time has passed (each once).
    func tick() -> [String] {
        let now = clock()
        return state.withLock { s in
            runDueWaves(&s, now: now)
            runDueDeadlineSteps(&s, now: now)
            releaseQuietHours(&s, now: now)
            fireFallbacks(&s, now: now)
            flushCallUpdates(&s, now: now)
            flushDashboards(&s, now: now)
            if now.millis - s.lastSweep.millis >= 5000 {
                s.lastSweep = now
                s.matcher.forgetDisconnected(before: now.adding(millis: -Self.graceMillis))
                s.alertHistory.prune(now: now)
                s.dashboardLastSent = s.dashboardLastSent.filter { now.millis - $0.value.millis < Self.dashboardIntervalMillis }
                s.updateLastSent = s.updateLastSent.filter { now.millis - $0.value.millis < Self.dashboardIntervalMillis }
            }
            var due: [String] = []
            for (cid, a) in s.active where a.call.endsAt <= now && !s.expiring.contains(cid) {
                s.expiring.insert(cid)
                due.append(cid)
            }
            return due
        }
    }

    /// Starts a graceful shutdown: refuses new sockets and closes every open one with 1001.
    func beginDrain() {
        state.withLock { s in
            s.draining = true
            for sockets in s.volunteerSockets.values {
                for conn in sockets.values { conn.outbox.close(code: 1001, reason: "server shutting down") }
            }
            for sockets in s.dashboards.values {
                for conn in sockets.values { conn.outbox.close(code: 1001, reason: "server shutting down") }
            }
        }
    }

    /// The end of the drain: drops every socket still open, handshake or not.
    func abortOpenSockets() {
        let outboxes = state.withLock { s in
            s.volunteerSockets.values.flatMap { $0.values.map(\.outbox) } + s.dashboards.values.flatMap { $0.values.map(\.outbox) }
        }
        for outbox in outboxes { outbox.abort() }
    }

    /// Shutdown has begun: `/readyz` answers 503 from now on.
    func markUnready() {
        state.withLock { $0.unready = true }
    }

    /// Notes when the POST of a call arrived, before the call goes to the ledger.
    func expectCall(_ id: String, postedAt: ContinuousClock.Instant) {
        state.withLock { $0.postedAt[id] = postedAt }
    }

    /// Forgets a call the ledger did not create.
    func forgetExpectedCall(_ id: String) {
        _ = state.withLock { $0.postedAt.removeValue(forKey: id) }
    }

    /// Updates the scrape-time metrics from the live state and the ledger.
    func refreshTelemetry() {
        let (open, filled, live, outboxes) = state.withLock { s in
            (s.active.values.filter { $0.call.status == .open }.count, s.active.values.filter { $0.call.status == .filled }.count,
             s.matcher.volunteerCount,
             s.volunteerSockets.values.flatMap { $0.values.map(\.outbox) } + s.dashboards.values.flatMap { $0.values.map(\.outbox) })
        }
        let depths = outboxes.map(\.depth)
        telemetry.pushQueueDepth.set(Double(push.gateway.queueDepth))
        telemetry.refresh(
            ledger: ledger.statistics, openCalls: open, filledCalls: filled, liveVolunteers: live,
            queues: (ledger.queueDepth, depths.reduce(0, +), depths.max() ?? 0))
    }

    var isReady: Bool { state.withLock { !$0.unready && !$0.draining } }

    /// Shutdown is closing sockets: hellos are answered 1001 without a token lookup.
    var isDraining: Bool { state.withLock { $0.draining } }

    var openSocketCount: Int {
        state.withLock { s in
            s.volunteerSockets.values.reduce(0) { $0 + $1.count } + s.dashboards.values.reduce(0) { $0 + $1.count }
        }
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (s, atto) = components
        return s * 1_000_000_000 + atto / 1_000_000_000
    }
}
