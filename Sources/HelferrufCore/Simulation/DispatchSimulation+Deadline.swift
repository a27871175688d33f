/// Deadline dispatch (PROTOCOL.md §10) in the simulation, following the server
/// (`Hub+Deadline.swift`): a planning step at the post, at every accept and at least every
/// ``DeadlinePlanner/replanMillis``; each step alerts the nearest not yet alerted volunteers
/// the ``DeadlinePlanner`` asks for; a step that alerts everyone left within the radius and
/// is still behind plan widens it by half the posted radius (up to `maxRadiusKm`) for the
/// next step; from `fillBy` on everyone left is alerted. The model is learnt like the
/// server's: the acceptance rate as for waves, the delays from the accepts of the last 20
/// calls (``DelayModel/fit(delaysSeconds:)``).
extension DispatchSimulation {
    /// What deadline dispatch did, next to broadcast on the same calls.
    public struct DeadlineReport: Sendable {
        public var fillBySeconds: Double
        public var broadcast: Totals
        public var deadline: Totals

        /// Calls that broadcast fills: the targets of issue 17 are measured on these.
        var broadcastFilled: [Int] { broadcast.fillSeconds.indices.filter { broadcast.fillSeconds[$0] != nil } }

        /// Share of the calls broadcast fills that deadline dispatch filled by `fillBy`.
        public var onTime: Double {
            let calls = broadcastFilled
            guard !calls.isEmpty else { return .nan }
            let inTime = calls.filter { (deadline.fillSeconds[$0] ?? .infinity) <= fillBySeconds }.count
            return Double(inTime) / Double(calls.count)
        }

        /// 1 − deadline alerts / broadcast alerts, over the calls broadcast fills.
        public var alertSaving: Double {
            let calls = broadcastFilled
            let b = calls.map { broadcast.alertsPerCall[$0] }.reduce(0, +)
            let d = calls.map { deadline.alertsPerCall[$0] }.reduce(0, +)
            return b == 0 ? .nan : 1 - Double(d) / Double(b)
        }

        /// Median time to fill over the calls that both filled.
        public var medianFill: Double {
            Report.median(zip(broadcast.fillSeconds, deadline.fillSeconds).compactMap { $0 == nil ? nil : $1 })
        }
    }

    /// Runs broadcast and deadline dispatch with `fillBy` = post + `fillBySeconds` over the
    /// same calls and people.
    public func runDeadline(fillBySeconds: Double) -> DeadlineReport {
        DeadlineReport(fillBySeconds: fillBySeconds, broadcast: dispatch(waves: false), deadline: dispatchDeadline(fillBySeconds: fillBySeconds))
    }

    func dispatchDeadline(fillBySeconds: Double) -> Totals {
        var totals = Totals()
        var history: [(accepted: Int, alerted: Int, delays: [Double])] = []
        for (index, call) in calls.enumerated() {
            let recent = history.suffix(Waves.historyCalls)
            let learnt = Waves.acceptanceRate(accepted: recent.map(\.accepted).reduce(0, +), alerted: recent.map(\.alerted).reduce(0, +))
            let model = DeadlineModel(
                acceptanceRate: configuration.plannerAcceptanceRate ?? learnt,
                delay: DelayModel.fit(delaysSeconds: recent.flatMap(\.delays)))
            let (outcome, delays) = runDeadline(call, index: index, model: model, fillBySeconds: fillBySeconds)
            totals.add(outcome)
            history.append((outcome.confirmed + outcome.over, outcome.alerted, delays))
        }
        return totals
    }

    /// One deadline call; also returns the alert → accept delays it observed.
    func runDeadline(_ call: SimCall, index: Int, model: DeadlineModel, fillBySeconds fillBy: Double) -> (CallOutcome, [Double]) {
        var outcome = CallOutcome()
        let maxRadius = min(Rules.distanceRangeKm.upperBound, call.radiusKm * configuration.maxRadiusFactor)
        var reached = call.radiusKm
        var pool = candidates(call, radiusKm: maxRadius)[...]
        var alertedAt: [Double] = []
        var acceptAt: [Double?] = []
        var arrivals: [Double] = []
        let stepSeconds = Double(DeadlinePlanner.replanMillis) / 1000
        var t = 0.0
        while t <= configuration.horizonSeconds {
            let arrived = arrivals.filter { $0 <= t }.count
            if arrived >= call.needed { break }
            let available = pool.prefix { $0.distance <= reached }.count
            var wanted = available
            var behind = available == 0
            if t < fillBy {
                var pending: [Double] = []
                for i in alertedAt.indices where (acceptAt[i] ?? .infinity) > t { pending.append(t - alertedAt[i]) }
                let step = DeadlinePlanner.plan(
                    DeadlineSituation(secondsLeft: fillBy - t, remaining: call.needed - arrived, pendingSeconds: pending,
                                      available: available, confidence: configuration.confidence),
                    model: model)
                wanted = step.alertNow
                behind = step.probability < configuration.confidence && wanted == available
            }
            let picked = pool.prefix(wanted)
            pool.removeFirst(picked.count)
            if !picked.isEmpty { outcome.waves += 1 }
            outcome.alerted += picked.count
            for m in picked {
                let accept = response(volunteer: m.index, call: index).map { t + $0 }
                alertedAt.append(t)
                acceptAt.append(accept)
                if let accept { arrivals.append(accept) }
            }
            if behind, let wider = Waves.widened(reachedKm: reached, radiusKm: call.radiusKm, maxRadiusKm: maxRadius) {
                reached = wider
                outcome.widenings += 1
            }
            // The next step: the next accept, or the periodic re-plan, whichever comes first.
            let nextAccept = arrivals.filter { $0 > t }.min() ?? .infinity
            var next = min(t + stepSeconds, nextAccept)
            if t < fillBy { next = min(next, fillBy) }
            t = next
        }
        settle(arrivals, needed: call.needed, into: &outcome)
        let delays = alertedAt.indices.compactMap { i in acceptAt[i].map { $0 - alertedAt[i] } }
        return (outcome, delays)
    }
}

extension DispatchSimulation.Totals {
    mutating func add(_ outcome: DispatchSimulation.CallOutcome) {
        alerts += outcome.alerted
        alertsPerCall.append(outcome.alerted)
        confirmed += outcome.confirmed
        overResponse += outcome.over
        fillSeconds.append(outcome.fill)
        if outcome.fill != nil { callsFilled += 1 }
        wideningSteps += outcome.widenings
        waves += outcome.waves
    }
}
