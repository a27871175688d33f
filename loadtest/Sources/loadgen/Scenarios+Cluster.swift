import Foundation
import ArgumentParser

extension Scenarios {
    /// Issue 16: `connected` sockets spread evenly over `nodes` nodes on one PostgreSQL
    /// database, one alert posted on the first node to the `recipients` nearest; then, in
    /// the same run, the same sockets all on the first node. Latency from the POST to each
    /// receipt, whichever node delivered it.
    ///
    /// Use a fresh `--state` folder and an empty database: the volunteers are registered in
    /// that database and listed in the folder.
    static func clusterFanout(_ bench: Bench, postgres: String, nodes: Int, connected: Int, recipients: Int, rounds: Int) throws -> [String: Any] {
        let servers = try bench.startCluster(db: postgres, nodes: nodes)
        defer { for s in servers { _ = s.proc.stop(grace: 12) } }
        let points = try bench.ensureVolunteers(connected)
        let radius = Population.radius(covering: recipients, of: points, around: Population.centre)
        var figures: [String: Any] = ["nodes": nodes, "connected": connected, "recipients": recipients, "radius_km": round3(radius)]
        var lasts: [String: Double] = [:]
        for (label, spread) in [("spread", true), ("one_node", false)] {
            let fleet = try bench.fleet(sockets: connected)
            defer { fleet.quit() }
            if spread {
                let per = (connected + nodes - 1) / nodes
                for i in 0..<nodes {
                    let from = i * per
                    fleet.openHelferruf(port: bench.port + i, file: bench.volunteersFile, from: from, count: min(per, connected - from))
                }
            } else {
                fleet.openHelferruf(port: bench.port, file: bench.volunteersFile, from: 0, count: connected)
            }
            fleet.waitConnected(connected, timeout: 240, label: "cluster-fanout (\(label))")
            sleep(2)
            let rss = servers.map { ProcStats.rssKiB($0.pid) }
            let summary = try bench.broadcastRounds(rounds, fleet: fleet, radiusKm: radius, recipients: recipients, label: "cluster-fanout \(label)")
            figures["\(label)_first_p50_ms"] = round3(summary.firstMedian)
            figures["\(label)_last_p50_ms"] = round3(summary.lastMedian)
            figures["\(label)_delivered"] = summary.delivered
            figures["\(label)_expected"] = summary.expected
            figures["\(label)_rss_kib"] = rss.map { Int($0) }
            lasts[label] = summary.lastMedian
        }
        if let spread = lasts["spread"], let one = lasts["one_node"], one > 0 { figures["last_ratio_spread_vs_one_node"] = round3(spread / one) }
        return figures
    }
}

struct ClusterFanout: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster-fanout",
        abstract: "Sockets spread over several nodes on PostgreSQL against all on one node (issue 16).")
    @OptionGroup var options: CommonOptions
    @Option(help: "postgres:// URL of an empty database.") var postgres: String
    @Option var nodes = 3
    @Option var connected = 19_000
    @Option var recipients = 5_000
    @Option var rounds = 10
    func run() throws {
        try runScenario(options) { try Scenarios.clusterFanout($0, postgres: postgres, nodes: nodes, connected: connected, recipients: recipients, rounds: rounds) }
    }
}
