import HelferrufStore
import HelferrufSync
import Prometheus

/// The server's Prometheus metrics. Each application owns its registry, so several
/// servers can run in one process (tests) without a global metrics bootstrap.
final class Telemetry: Sendable {
    let registry = PrometheusCollectorRegistry()
    let volunteerSockets: Gauge
    let dashboardSockets: Gauge
    let alertsSent: Counter
    let callsCreated: Counter
    let confirmations: Counter
    let slowQueueFull: Counter
    let slowStalled: Counter
    let commitFailures: Counter
    let fanoutSeconds: DurationHistogram
    let fanoutLatency: DurationHistogram
    let commitSeconds: DurationHistogram
    let commitBatchSize: ValueHistogram
    let ledgerQueueDepth: Gauge
    let outboxFrames: Gauge
    let outboxMaxFrames: Gauge
    let callsCancelled: Counter
    let callsExpired: Counter
    let promotions: Counter
    /// §11: volunteers registered (all addresses: a surge is what the alert rule watches),
    /// helpers removed by organisations, and accepts refused by the overlap rule.
    let registrations: Counter
    let removals: Counter
    let overlapRefusals: Counter
    let messagesSent: Counter
    let alertsSuppressed: Counter
    let ledgerBatches: Counter
    let ledgerChanges: Counter
    let openCalls: Gauge
    let filledCalls: Gauge
    let liveVolunteers: Gauge
    let hellosPending: Gauge
    let upgradesRefusedBusy: Counter
    /// Web Push (PROTOCOL.md §8): jobs by how they ended, their time from hand-over to end,
    /// the push client's queue, and volunteers alerted by push.
    let pushSent: [PushJobOutcome: Counter]
    let pushDuration: DurationHistogram
    let pushQueueDepth: Gauge
    let alertsPushed: Counter
    /// Ledger figures already added to the counters, so each scrape adds only what is new.
    private let seen = StateLock(LedgerStatistics())

    init() {
        volunteerSockets = registry.gauge("helferruf_sockets_open", labels: [("kind", "volunteer")], help: "Open WebSocket connections by kind")
        dashboardSockets = registry.gauge("helferruf_sockets_open", labels: [("kind", "dashboard")], help: "Open WebSocket connections by kind")
        alertsSent = registry.counter("helferruf_alerts_sent_total", help: "Alert frames queued to volunteer sockets")
        callsCreated = registry.counter("helferruf_calls_created_total", help: "Calls posted")
        confirmations = registry.counter("helferruf_confirmations_total", help: "Confirmations committed")
        let slowHelp = "Sockets closed with 1013 because the client could not keep up, by reason"
        slowQueueFull = registry.counter("helferruf_slow_client_closes_total", labels: [("reason", "queue_full")], help: slowHelp)
        slowStalled = registry.counter("helferruf_slow_client_closes_total", labels: [("reason", "stalled")], help: slowHelp)
        commitFailures = registry.counter("helferruf_commit_failures_total", help: "Ledger batches whose commit failed (nothing in them was applied)")
        fanoutSeconds = registry.durationHistogram("helferruf_fanout_seconds",
            buckets: [.microseconds(100), .milliseconds(1), .milliseconds(5), .milliseconds(20), .milliseconds(100), .milliseconds(500)],
            help: "Time to queue one call's alerts to every eligible socket")
        fanoutLatency = registry.durationHistogram("helferruf_fanout_latency_seconds",
            buckets: [.milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2)],
            help: "From the POST that created a call to the last alert written to a socket")
        commitSeconds = registry.durationHistogram("helferruf_commit_seconds",
            buckets: [.milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1)],
            help: "Ledger transactions from BEGIN to the end of the commit's fsync")
        commitBatchSize = registry.valueHistogram("helferruf_commit_batch_size", buckets: [1, 2, 5, 10, 25, 50, 100, 250, 1000],
            help: "Roster changes per ledger transaction (group commit)")
        ledgerQueueDepth = registry.gauge("helferruf_ledger_queue_depth", help: "Roster changes waiting for the ledger writer")
        outboxFrames = registry.gauge("helferruf_outbox_frames", help: "Frames queued to all sockets, not yet written")
        outboxMaxFrames = registry.gauge("helferruf_outbox_max_frames", help: "Frames queued to the most backed-up socket")
        callsCancelled = registry.counter("helferruf_calls_ended_total", labels: [("status", "cancelled")], help: "Calls that ended, by status")
        callsExpired = registry.counter("helferruf_calls_ended_total", labels: [("status", "expired")], help: "Calls that ended, by status")
        promotions = registry.counter("helferruf_standby_promotions_total", help: "Volunteers confirmed from a standby list")
        registrations = registry.counter("helferruf_volunteers_registered_total", help: "Volunteer accounts created (from all addresses)")
        removals = registry.counter("helferruf_helpers_removed_total", help: "Confirmations removed by organisations")
        overlapRefusals = registry.counter("helferruf_accepts_limited_total", help: "Accepts refused because the volunteer held the most overlapping confirmations")
        messagesSent = registry.counter("helferruf_messages_sent_total", help: "Message frames sent to confirmed helpers")
        alertsSuppressed = registry.counter("helferruf_alerts_suppressed_total", help: "Alerts held back by volunteers' fatigue limits")
        ledgerBatches = registry.counter("helferruf_ledger_batches_total", help: "Ledger transactions committed (group commits)")
        ledgerChanges = registry.counter("helferruf_ledger_changes_total", help: "Roster changes committed; divided by batches gives the mean batch size")
        openCalls = registry.gauge("helferruf_calls", labels: [("status", "open")], help: "Active calls by status")
        filledCalls = registry.gauge("helferruf_calls", labels: [("status", "filled")], help: "Active calls by status")
        liveVolunteers = registry.gauge("helferruf_volunteers_live", help: "Volunteers with live state (connected, or within two minutes of their last socket)")
        hellosPending = registry.gauge("helferruf_hellos_pending", help: "Volunteer sockets upgraded but not yet past their hello (admission control)")
        upgradesRefusedBusy = registry.counter("helferruf_socket_upgrades_refused_total", labels: [("reason", "busy")],
            help: "Volunteer socket upgrades answered 503 with Retry-After because too many hellos were pending")
        var pushSent: [PushJobOutcome: Counter] = [:]
        for outcome in PushJobOutcome.allCases {
            pushSent[outcome] = registry.counter("helferruf_push_sent_total", labels: [("result", outcome.rawValue)], help: "Web Push jobs by how they ended")
        }
        self.pushSent = pushSent
        pushDuration = registry.durationHistogram("helferruf_push_duration_seconds",
            buckets: [.milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(15), .seconds(60)],
            help: "Web Push jobs from the hand-over to the push client until they ended (retries included)")
        pushQueueDepth = registry.gauge("helferruf_push_queue_depth", help: "Web Push jobs in the push client: queued, in flight or waiting for a retry")
        alertsPushed = registry.counter("helferruf_alerts_pushed_total", help: "Alerts sent to a volunteer by Web Push (once per volunteer, whatever the subscriptions)")
    }

    /// Brings the scrape-time figures up to date: ledger counters and live-state gauges.
    func refresh(ledger: LedgerStatistics, openCalls open: Int, filledCalls filled: Int, liveVolunteers live: Int, queues: (ledger: Int, frames: Int, maxFrames: Int)) {
        ledgerQueueDepth.set(Double(queues.ledger))
        outboxFrames.set(Double(queues.frames))
        outboxMaxFrames.set(Double(queues.maxFrames))
        let previous = seen.withLock { s -> LedgerStatistics in
            defer { s = ledger }
            return s
        }
        ledgerBatches.increment(by: Int64(max(0, ledger.batches - previous.batches)))
        ledgerChanges.increment(by: Int64(max(0, ledger.changes - previous.changes)))
        commitFailures.increment(by: Int64(max(0, ledger.failedBatches - previous.failedBatches)))
        openCalls.set(Double(open))
        filledCalls.set(Double(filled))
        liveVolunteers.set(Double(live))
    }

    func observeCommit(changes: Int, duration: Duration) {
        commitSeconds.recordNanoseconds(duration.nanoseconds)
        commitBatchSize.record(Double(changes))
    }

    /// Counts a push job that ended; `duration` is nil for one the gateway refused.
    func pushEnded(_ outcome: PushJobOutcome, after duration: Duration?) {
        pushSent[outcome]?.increment()
        if let duration { pushDuration.recordNanoseconds(duration.nanoseconds) }
    }

    func overloaded(_ reason: Outbox.OverloadReason) {
        switch reason {
        case .queueFull: slowQueueFull.increment()
        case .stalled: slowStalled.increment()
        }
    }

    func render() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}

extension PrometheusCollectorRegistry {
    /// Metrics by their full name. swift-prometheus 2.4 builds names from parts
    /// (`MetricNameDescriptor`); ours are whole already, so the name is the one part.
    private static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    func counter(_ name: String, labels: [(String, String)] = [], help: String) -> Counter {
        makeCounter(descriptor: Self.descriptor(name, help), labels: labels)
    }

    func gauge(_ name: String, labels: [(String, String)] = [], help: String) -> Gauge {
        makeGauge(descriptor: Self.descriptor(name, help), labels: labels)
    }

    func durationHistogram(_ name: String, buckets: [Duration], help: String) -> DurationHistogram {
        makeDurationHistogram(descriptor: Self.descriptor(name, help), buckets: buckets)
    }

    func valueHistogram(_ name: String, buckets: [Double], help: String) -> ValueHistogram {
        makeValueHistogram(descriptor: Self.descriptor(name, help), buckets: buckets)
    }
}
