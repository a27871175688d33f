import ArgumentParser
import Foundation

struct CommonOptions: ParsableArguments {
    @Option(help: "The helferruf executable (release build).")
    var server = "../.build/release/helferruf"
    @Option(help: "Folder for the database, the Demo token, the volunteers' tokens and logs; reused across runs.")
    var state = "/tmp/helferruf-loadtest"
    @Option(help: "Port of the server under test (loopback).")
    var port = 18080
    @Option(help: "nginx + nchan config with RUNDIR placeholders.")
    var nchanConf = "/work/shared/peers/nchan/nginx-nchan.conf"
    @Option(help: "Every client process exits after this many seconds, whatever happens.")
    var maxSeconds = 1200
    @Option(help: "How the server under test serves /ws/volunteer: nio or hummingbird (its --volunteer-socket; default: the server's).")
    var volunteerSocket: String?
    @Option(name: .customLong("server-arg"), parsing: .unconditionalSingleValue,
            help: "One more argument for every server this run starts (repeat it; e.g. --server-arg=--push-endpoints --server-arg=http://127.0.0.1:8090).")
    var serverArguments: [String] = []
}

@main
struct LoadGen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loadgen",
        abstract: "Fan-out load generator for Helferruf (loopback only). Progress on stderr, one JSON line on stdout.",
        subcommands: [Connections.self, Fanout.self, CompareNchan.self, SlowConsumer.self, ReconnectStorm.self,
                      AcceptStorm.self, Realistic.self, Standard.self, Smoke.self, ClusterFanout.self, WorkerCommand.self]
    )
}

/// Raises the soft open-files limit to the hard one (20,000 here); children inherit it.
func raiseFileLimit() {
    var limit = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    limit.rlim_cur = limit.rlim_max
    setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
}

/// Runs a scenario with everything it starts stopped afterwards, and prints its JSON line.
func runScenario(_ options: CommonOptions, _ body: (Bench) throws -> [String: Any]) throws {
    raiseFileLimit()
    Cleanup.shared.installSignalHandlers()
    let bench = try Bench(options)
    var figures: [String: Any]
    do {
        figures = try body(bench)
    } catch {
        // A crashed server shows up as connection errors: say so, with its log.
        if let dead = bench.deadServer { throw serverDied(dead.server, dead.end) }
        if let server = bench.servers.last { note("the server's last log lines (\(server.log)):\n\(server.logTail())") }
        throw error
    }
    if let dead = bench.deadServer { throw serverDied(dead.server, dead.end) }
    figures["volunteer_socket"] = options.volunteerSocket ?? "default"
    figures["machine"] = machineLine()
    figures["date"] = ISO8601DateFormatter().string(from: Date())
    emit(figures)
}

func serverDied(_ server: HelferrufServer, _ end: String) -> LoadError {
    note("the server's last log lines (\(server.log)):\n\(server.logTail())")
    return LoadError.failed("server died (\(end)); its log: \(server.log)")
}

func machineLine() -> String {
    "\(ProcessInfo.processInfo.activeProcessorCount) cores, \(ProcessInfo.processInfo.physicalMemory >> 30) GiB, load \(String(format: "%.1f", loadAverage()))"
}

func loadAverage() -> Double {
    var loads = [Double](repeating: 0, count: 3)
    return getloadavg(&loads, 3) > 0 ? loads[0] : 0
}

struct Connections: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Open and hold N volunteer sockets; server RSS per socket.")
    @OptionGroup var options: CommonOptions
    @Option var count = 19_000
    func run() throws { try runScenario(options) { try Scenarios.connections($0, count: count) } }
}

struct Fanout: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "N connected volunteers, calls whose radius covers K of them.")
    @OptionGroup var options: CommonOptions
    @Option var connected = 10_000
    @Option var recipients = 5_000
    @Option var rounds = 10
    @Option(help: "Write a latency plot (SVG).") var plot: String?
    func run() throws {
        try runScenario(options) { bench in
            let (figures, summary) = try Scenarios.fanout(bench, connected: connected, recipients: recipients, rounds: rounds)
            if let plot {
                try Plot.svg(title: "Fan-out to \(recipients) of \(connected) volunteers", series: [("Helferruf", "#c0392b", summary.curve)])
                    .write(toFile: plot, atomically: true, encoding: .utf8)
            }
            return figures
        }
    }
}

struct CompareNchan: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "compare-nchan", abstract: "The same broadcast through nginx + nchan and Helferruf, alternating.")
    @OptionGroup var options: CommonOptions
    @Option var recipients = 5_000
    @Option var rounds = 10
    @Option(help: "Write a latency plot (SVG).") var plot: String?
    func run() throws {
        try runScenario(options) { bench in
            let (figures, ours, theirs) = try Scenarios.compareNchan(bench, recipients: recipients, rounds: rounds)
            if let plot { try comparisonPlot(ours, theirs, recipients: recipients).write(toFile: plot, atomically: true, encoding: .utf8) }
            return figures
        }
    }
}

func comparisonPlot(_ ours: LatencySummary, _ theirs: LatencySummary, recipients: Int) -> String {
    Plot.svg(title: "One alert to \(recipients) sockets: time from POST to receipt (\(ours.lasts.count) rounds each)",
             series: [("Helferruf", "#c0392b", ours.curve), ("nginx + nchan", "#2c3e50", theirs.curve)])
}

struct SlowConsumer: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "slow-consumer", abstract: "Some clients stop reading: others' latency and server memory.")
    @OptionGroup var options: CommonOptions
    @Option var recipients = 5_000
    @Option var slow = 100
    @Option var rounds = 5
    @Option(help: "Large alerts posted before each measured round.") var burst = 4
    func run() throws {
        try runScenario(options) { try Scenarios.slowConsumer($0, recipients: recipients, slow: slow, rounds: rounds, burst: burst) }
    }
}

struct ReconnectStorm: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "reconnect-storm", abstract: "Restart the server; time until every client has its welcome again.")
    @OptionGroup var options: CommonOptions
    @Option var count = 15_000
    @Option var timeout = 120.0
    func run() throws { try runScenario(options) { try Scenarios.reconnectStorm($0, count: count, timeout: timeout) } }
}

struct AcceptStorm: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "accept-storm", abstract: "Every alerted volunteer accepts one call at once.")
    @OptionGroup var options: CommonOptions
    @Option var recipients = 2_000
    @Option var needed = 500
    func run() throws { try runScenario(options) { try Scenarios.acceptStorm($0, recipients: recipients, needed: needed) } }
}

struct Realistic: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "compare-nchan with clients that answer each alert (received, half also seen): CPU per delivery against silent clients and nchan.")
    @OptionGroup var options: CommonOptions
    @Option var recipients = 5_000
    @Option var rounds = 10
    func run() throws { try runScenario(options) { try Scenarios.realistic($0, recipients: recipients, rounds: rounds) } }
}

/// The standard set behind `scripts/bench-fanout`, ending with the issue's summary line.
struct Standard: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "standard", abstract: "Every scenario at the issue's sizes; one summary JSON line.")
    @OptionGroup var options: CommonOptions
    @Option var rounds = 10
    @Option(help: "Write the nchan comparison plot (SVG).") var plot: String?
    func run() throws {
        try runScenario(options) { bench in
            var all: [String: Any] = [:]
            let c = try Scenarios.connections(bench, count: 19_000)
            emit(c)
            let (f, _) = try Scenarios.fanout(bench, connected: 10_000, recipients: 5_000, rounds: rounds)
            emit(f)
            let (n, ours, theirs) = try Scenarios.compareNchan(bench, recipients: 5_000, rounds: rounds)
            emit(n)
            if let plot { try comparisonPlot(ours, theirs, recipients: 5_000).write(toFile: plot, atomically: true, encoding: .utf8) }
            let q = try Scenarios.realistic(bench, recipients: 5_000, rounds: rounds)
            emit(q)
            let s = try Scenarios.slowConsumer(bench, recipients: 5_000, slow: 100, rounds: 5, burst: 4)
            emit(s)
            let r = try Scenarios.reconnectStorm(bench, count: 15_000, timeout: 120)
            emit(r)
            let a = try Scenarios.acceptStorm(bench, recipients: 2_000, needed: 500)
            emit(a)
            all["held_sockets"] = c["held_sockets"]
            all["rss_per_socket_kib"] = c["rss_per_socket_kib"]
            all["rss_per_socket_marginal_kib"] = c["rss_per_socket_marginal_kib"]
            all["recipients"] = n["recipients"]
            all["ours_first_ms"] = n["ours_first_ms"]
            all["ours_last_ms"] = n["ours_last_ms"]
            all["nchan_last_ms"] = n["nchan_last_ms"]
            all["ratio_vs_nchan"] = n["ratio_vs_nchan"]
            all["server_user_cpu_us_per_alert"] = n["ours_user_cpu_us_per_delivery"]
            all["server_cpu_us_per_alert"] = n["ours_cpu_us_per_delivery"]
            all["nchan_cpu_us_per_alert"] = n["nchan_cpu_us_per_delivery"]
            all["realistic_cpu_ratio_vs_nchan"] = q["realistic_cpu_ratio_vs_nchan"]
            all["realistic_cpu_us_per_alert"] = q["answering_cpu_us_per_delivery"]
            all["ledger_transactions_per_answered_call"] = q["ledger_transactions_per_call_answering"]
            all["fanout_of_10000_first_ms"] = f["ours_first_ms"]
            all["fanout_of_10000_last_ms"] = f["ours_last_ms"]
            all["slow_clients"] = s["slow_clients"]
            all["others_p99_ms_with_slow"] = s["others_p99_ms_with_slow"]
            all["others_p99_ms_baseline"] = s["others_p99_ms_baseline"]
            all["slow_rss_growth_kib"] = (s["server_rss_peak_with_slow_kib"] as? Double ?? 0) - (s["server_rss_before_slow_kib"] as? Double ?? 0)
            all["reconnect_clients"] = r["reconnect_clients"]
            all["resync_s"] = r["resync_s"]
            all["shutdown_s"] = r["shutdown_s"]
            all["accept_storm_overbooked"] = a["overbooked"]
            all["accept_storm_p99_ms"] = a["accept_p99_ms"]
            return all
        }
    }
}

/// CI smoke: 500 sockets, one call to all of them; fails unless every one got it.
struct Smoke: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "500 sockets, one call; exits non-zero unless all received it.")
    @OptionGroup var options: CommonOptions
    @Option var count = 500
    func run() throws {
        var ok = false
        try runScenario(options) { bench in
            let (f, _) = try Scenarios.fanout(bench, connected: count, recipients: count, rounds: 1)
            ok = (f["ours_delivered"] as? Int) == count
            return f.merging(["smoke_ok": ok]) { _, b in b }
        }
        if !ok { throw ExitCode.failure }
    }
}

struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "worker", abstract: "Internal: a client process driven over stdin.", shouldDisplay: false)
    @Option var maxSeconds = 1200
    func run() throws {
        raiseFileLimit()
        try Worker.run(maxSeconds: maxSeconds)
    }
}
