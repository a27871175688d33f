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
    let slowClientCloses: Counter
    let commitFailures: Counter
    let fanoutSeconds: DurationHistogram

    init() {
        volunteerSockets = registry.makeGauge(name: "helferruf_sockets_open", labels: [("kind", "volunteer")], help: "Open WebSocket connections by kind")
        dashboardSockets = registry.makeGauge(name: "helferruf_sockets_open", labels: [("kind", "dashboard")], help: "Open WebSocket connections by kind")
        alertsSent = registry.makeCounter(name: "helferruf_alerts_sent_total", help: "Alert frames queued to volunteer sockets")
        callsCreated = registry.makeCounter(name: "helferruf_calls_created_total", help: "Calls posted")
        confirmations = registry.makeCounter(name: "helferruf_confirmations_total", help: "Confirmations committed")
        slowClientCloses = registry.makeCounter(name: "helferruf_slow_client_closes_total", help: "Sockets closed with 1013 because their queue was full")
        commitFailures = registry.makeCounter(name: "helferruf_commit_failures_total", help: "Ledger batches whose commit failed")
        fanoutSeconds = registry.makeDurationHistogram(
            name: "helferruf_fanout_seconds",
            buckets: [.microseconds(100), .milliseconds(1), .milliseconds(5), .milliseconds(20), .milliseconds(100), .milliseconds(500)],
            help: "Time to queue one call's alerts to every eligible socket")
    }

    func render() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}
