import HelferrufStore
import Prometheus
import Synchronization

/// The server's Prometheus metrics. Each application owns its registry, so several
/// servers can run in one process (tests) without a global metrics bootstrap.
final class Telemetry: Sendable {
    let registry = PrometheusCollectorRegistry()
    let volunteerSockets: Gauge
    let dashboardSockets: Gauge
    let alertsSent: Counter
    let callsCreated: Counter
    let confirmations: Counter
    let slowClientCloses: Counter
    let commitFailures: Counter
    let fanoutSeconds: DurationHistogram
    let ledgerBatches: Counter
    let ledgerChanges: Counter
    let openCalls: Gauge
    let filledCalls: Gauge
    let liveVolunteers: Gauge
    /// Ledger figures already added to the counters, so each scrape adds only what is new.
    private let seen = Mutex(Ledger.Statistics())

    init() {
        volunteerSockets = registry.makeGauge(name: "helferruf_sockets_open", labels: [("kind", "volunteer")], help: "Open WebSocket connections by kind")
        dashboardSockets = registry.makeGauge(name: "helferruf_sockets_open", labels: [("kind", "dashboard")], help: "Open WebSocket connections by kind")
        alertsSent = registry.makeCounter(name: "helferruf_alerts_sent_total", help: "Alert frames queued to volunteer sockets")
        callsCreated = registry.makeCounter(name: "helferruf_calls_created_total", help: "Calls posted")
        confirmations = registry.makeCounter(name: "helferruf_confirmations_total", help: "Confirmations committed")
        slowClientCloses = registry.makeCounter(name: "helferruf_slow_client_closes_total", help: "Sockets closed with 1013 because their queue was full")
        commitFailures = registry.makeCounter(name: "helferruf_commit_failures_total", help: "Ledger batches whose commit failed (nothing in them was applied)")
        fanoutSeconds = registry.makeDurationHistogram(
            name: "helferruf_fanout_seconds",
            buckets: [.microseconds(100), .milliseconds(1), .milliseconds(5), .milliseconds(20), .milliseconds(100), .milliseconds(500)],
            help: "Time to queue one call's alerts to every eligible socket")
        ledgerBatches = registry.makeCounter(name: "helferruf_ledger_batches_total", help: "Ledger transactions committed (group commits)")
        ledgerChanges = registry.makeCounter(name: "helferruf_ledger_changes_total", help: "Roster changes committed; divided by batches gives the mean batch size")
        openCalls = registry.makeGauge(name: "helferruf_calls", labels: [("status", "open")], help: "Active calls by status")
        filledCalls = registry.makeGauge(name: "helferruf_calls", labels: [("status", "filled")], help: "Active calls by status")
        liveVolunteers = registry.makeGauge(name: "helferruf_volunteers_live", help: "Volunteers with live state (connected, or within two minutes of their last socket)")
    }

    /// Brings the scrape-time figures up to date: ledger counters and live-state gauges.
    func refresh(ledger: Ledger.Statistics, openCalls open: Int, filledCalls filled: Int, liveVolunteers live: Int) {
        let previous = seen.withLock { s -> Ledger.Statistics in
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

    func render() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}
