import Foundation
import HelferrufCore

/// The scenarios of issue 5. Each starts its own server (on the shared database), runs,
/// stops everything it started and returns its figures.
enum Scenarios {
    /// Opens and holds `count` volunteer sockets; server RSS per socket from /proc.
    ///
    /// Two figures: from the idle server to `count` sockets (`rss_per_socket_kib`, which
    /// also carries the one-off growth of warming up: SQLite's page caches of the token
    /// lookups, NIO's per-event-loop write pools), and the marginal cost from `count / 2` to
    /// `count` sockets (`rss_per_socket_marginal_kib`), what each further socket costs.
    static func connections(_ bench: Bench, count: Int) throws -> [String: Any] {
        let server = try bench.startServer()
        defer { bench.stopServer() }
        _ = try bench.ensureVolunteers(count)
        let rss0 = bench.settledRSS(server.pid, seconds: 1)
        let fleet = try bench.fleet(sockets: count)
        defer { fleet.quit() }
        let started = Date()
        let half = count / 2
        fleet.openHelferruf(port: bench.port, file: bench.volunteersFile, from: 0, count: half)
        let heldHalf = fleet.waitConnected(half, timeout: 120, label: "connections (first half)")
        let rssHalf = bench.settledRSS(server.pid)
        fleet.openHelferruf(port: bench.port, file: bench.volunteersFile, from: half, count: count - half)
        let held = fleet.waitConnected(count, timeout: 120, label: "connections")
        let openSeconds = Date().timeIntervalSince(started)
        let rss1 = bench.settledRSS(server.pid)
        let stillHeld = fleet.status().current
        note("connections: \(stillHeld) held, RSS \(Int(rss0)) → \(Int(rssHalf)) (\(heldHalf)) → \(Int(rss1)) KiB")
        return [
            "held_sockets": stillHeld, "requested_sockets": count, "connect_s": round3(openSeconds), "welcomed_at_peak": held,
            "server_rss_idle_kib": rss0, "server_rss_half_kib": rssHalf, "server_rss_held_kib": rss1,
            "rss_per_socket_kib": round3((rss1 - rss0) / Double(max(1, stillHeld))),
            "rss_per_socket_marginal_kib": round3((rss1 - rssHalf) / Double(max(1, stillHeld - heldHalf))),
        ]
    }

    /// `connected` volunteers placed like a population, `rounds` calls at Köln whose radius
    /// covers the `recipients` nearest of them; latency from the POST to each receipt.
    static func fanout(_ bench: Bench, connected: Int, recipients: Int, rounds: Int) throws -> ([String: Any], LatencySummary) {
        let server = try bench.startServer()
        defer { bench.stopServer() }
        let points = try bench.ensureVolunteers(connected)
        let radius = Population.radius(covering: recipients, of: points, around: Population.centre)
        let fleet = try bench.fleet(sockets: connected)
        defer { fleet.quit() }
        fleet.openHelferruf(port: bench.port, file: bench.volunteersFile, from: 0, count: connected)
        fleet.waitConnected(connected, timeout: 120, label: "fanout")
        sleep(1)
        let summary = try bench.broadcastRounds(rounds, fleet: fleet, radiusKm: radius, recipients: recipients, label: "fanout")
        var figures = summary.figures("ours")
        figures["recipients"] = recipients
        figures["connected"] = connected
        figures["radius_km"] = round3(radius)
        _ = server
        return (figures, summary)
    }

    /// The same broadcast (same message size, subscriber count and client code) through
    /// nginx + nchan and through Helferruf, alternating round by round.
    static func compareNchan(_ bench: Bench, recipients: Int, rounds: Int) throws -> ([String: Any], LatencySummary, LatencySummary) {
        _ = try bench.startServer()
        defer { bench.stopServer() }
        _ = try bench.ensureVolunteers(recipients)
        let nchan = try NchanServer(config: bench.options.nchanConf, runDir: "\(bench.options.state)/nchan")
        defer { nchan.stop() }
        let nchanRSS0 = ProcStats.rssTotal(nchan.pids)
        let fleet = try bench.fleet(sockets: 2 * recipients)
        defer { fleet.quit() }
        fleet.openHelferruf(port: bench.port, file: bench.volunteersFile, from: 0, count: recipients)
        fleet.openNchan(port: nchan.port, count: recipients)
        fleet.waitConnected(2 * recipients, timeout: 120, label: "compare-nchan")
        let nchanRSS1 = bench.settledRSS(nchan.masterPid, seconds: 2) > 0 ? ProcStats.rssTotal(nchan.pids) : 0
        let ours = try HTTPConnection(group: bench.group, host: "127.0.0.1", port: bench.port)
        let theirs = try HTTPConnection(group: bench.group, host: "127.0.0.1", port: nchan.port)
        defer { ours.close(); theirs.close() }
        var a = LatencySummary(), b = LatencySummary()
        var size = 0
        for r in 0..<rounds {
            let (round, _) = try bench.helferrufRound(ours, fleet: fleet, centre: Population.centre, radiusKm: 200, expected: recipients)
            a.add(round, expected: recipients)
            size = max(size, round.size)
            let peer = try bench.nchanRound(theirs, fleet: fleet, nchan: nchan, tag: "r\(r)", size: size, expected: recipients)
            b.add(peer, expected: recipients)
            progress("compare-nchan round \(r + 1)/\(rounds): ours last \(round3(a.lasts.last ?? 0)) ms, nchan last \(round3(b.lasts.last ?? 0)) ms")
        }
        note("compare-nchan: ours last \(round3(a.lastMedian)) ms, nchan last \(round3(b.lastMedian)) ms (medians of \(rounds))")
        var figures = a.figures("ours").merging(b.figures("nchan")) { x, _ in x }
        figures["recipients"] = recipients
        figures["message_bytes"] = size
        figures["ratio_vs_nchan"] = round3(b.lastMedian > 0 ? a.lastMedian / b.lastMedian : 0)
        figures["cpu_ratio_vs_nchan"] = round3(b.cpuPerDelivery > 0 ? a.cpuPerDelivery / b.cpuPerDelivery : 0)
        figures["nchan_rss_per_socket_kib"] = round3((nchanRSS1 - nchanRSS0) / Double(recipients))
        return (figures, a, b)
    }

    /// `slow` clients stop reading; the others' latency against a baseline in the same run,
    /// and the server's memory while the slow ones fall behind.
    static func slowConsumer(_ bench: Bench, recipients: Int, slow: Int, rounds: Int, burst: Int) throws -> [String: Any] {
        let server = try bench.startServer()
        defer { bench.stopServer() }
        _ = try bench.ensureVolunteers(recipients)
        let fleet = try bench.fleet(sockets: recipients)
        defer { fleet.quit() }
        fleet.openHelferruf(port: bench.port, file: bench.volunteersFile, from: 0, count: recipients)
        fleet.waitConnected(recipients, timeout: 120, label: "slow-consumer")
        sleep(1)
        let http = try HTTPConnection(group: bench.group, host: "127.0.0.1", port: bench.port)
        defer { http.close() }
        var base = LatencySummary()
        for _ in 0..<rounds {
            let (round, _) = try bench.helferrufRound(http, fleet: fleet, centre: Population.centre, radiusKm: 200, expected: recipients)
            base.add(round, expected: recipients)
        }
        let rss0 = ProcStats.rssKiB(server.pid)
        let perWorker = slow / fleet.workers.count
        _ = fleet.all("pause \(perWorker)")
        let paused = perWorker * fleet.workers.count
        var withSlow = LatencySummary()
        var peakRSS = rss0
        for r in 0..<rounds {
            // A burst of large alerts between measured rounds, so that the slow clients' socket
            // buffers and queues actually fill up.
            for _ in 0..<burst {
                _ = try bench.helferrufRound(http, fleet: fleet, centre: Population.centre, radiusKm: 200,
                                             expected: recipients - paused, descriptionBytes: 2000)
                peakRSS = max(peakRSS, ProcStats.rssKiB(server.pid))
            }
            let (round, _) = try bench.helferrufRound(http, fleet: fleet, centre: Population.centre, radiusKm: 200, expected: recipients - paused)
            withSlow.add(round, expected: recipients - paused)
            peakRSS = max(peakRSS, ProcStats.rssKiB(server.pid))
            progress("slow-consumer round \(r + 1)/\(rounds): others' p99 \(round3(withSlow.ms(99))) ms, RSS \(Int(peakRSS)) KiB")
        }
        let rss1 = ProcStats.rssKiB(server.pid)
        note("slow-consumer: others' p99 \(round3(withSlow.ms(99))) ms vs baseline \(round3(base.ms(99))) ms; RSS \(Int(rss0)) → peak \(Int(peakRSS)) KiB")
        return [
            "slow_clients": paused, "recipients": recipients,
            "others_p99_ms_with_slow": round3(withSlow.ms(99)), "others_p99_ms_baseline": round3(base.ms(99)),
            "others_last_ms_with_slow": round3(withSlow.lastMedian), "others_last_ms_baseline": round3(base.lastMedian),
            "others_delivered_with_slow": withSlow.delivered, "others_expected_with_slow": withSlow.expected,
            "server_rss_before_slow_kib": rss0, "server_rss_peak_with_slow_kib": peakRSS, "server_rss_after_kib": rss1,
            "alert_bytes_per_slow_client": (rounds * (burst + 1)) * 2300,
        ]
    }

    /// Restarts the server under `count` connected clients; they reconnect with jittered
    /// exponential backoff. Measures until every one has its `welcome` again.
    static func reconnectStorm(_ bench: Bench, count: Int, timeout: Double) throws -> [String: Any] {
        _ = try bench.startServer()
        _ = try bench.ensureVolunteers(count)
        let fleet = try bench.fleet(sockets: count)
        defer { fleet.quit() }
        fleet.openHelferruf(port: bench.port, file: bench.volunteersFile, from: 0, count: count)
        fleet.waitConnected(count, timeout: 120, label: "reconnect-storm")
        _ = fleet.all("epoch")
        let killedAt = monotonicNanos()
        // Long enough to measure a stop that overruns the contract's 10 s (PROTOCOL.md §6).
        let exit = bench.stopServer(grace: 30) ?? "not running"
        let stoppedAt = monotonicNanos()
        note("reconnect-storm: the server stopped in \(round3(Double(stoppedAt - killedAt) / 1e9)) s (\(exit))")
        let server = try bench.startServer()
        defer { bench.stopServer() }
        let listeningAt = monotonicNanos()
        let deadline = Date().addingTimeInterval(timeout)
        var status = fleet.status()
        while Date() < deadline && status.current < count {
            progress("reconnect-storm: \(status.current)/\(count) welcomed again after \(round3(Double(monotonicNanos() - listeningAt) / 1e9)) s")
            usleep(250_000)
            status = fleet.status()
        }
        let done = status.current >= count
        let resync = Double(status.lastWelcome &- killedAt) / 1e9
        note("reconnect-storm: \(status.current)/\(count) back, \(round3(resync)) s after the stop signal")
        _ = server
        return [
            "reconnect_clients": count, "reconnected": status.current, "complete": done,
            "resync_s": round3(done ? resync : -1), "resync_after_listen_s": round3(done ? Double(status.lastWelcome &- listeningAt) / 1e9 : -1),
            "shutdown_s": round3(Double(stoppedAt - killedAt) / 1e9), "shutdown_exit": exit, "restart_s": round3(Double(listeningAt - stoppedAt) / 1e9),
            "close_codes": status.codes,
        ]
    }

    /// Every alerted volunteer accepts the same call at once; no overbooking, and how long
    /// the answers take.
    static func acceptStorm(_ bench: Bench, recipients: Int, needed: Int) throws -> [String: Any] {
        _ = try bench.startServer()
        defer { bench.stopServer() }
        _ = try bench.ensureVolunteers(recipients)
        let fleet = try bench.fleet(sockets: recipients)
        defer { fleet.quit() }
        fleet.openHelferruf(port: bench.port, file: bench.volunteersFile, from: 0, count: recipients)
        fleet.waitConnected(recipients, timeout: 120, label: "accept-storm")
        sleep(1)
        let http = try HTTPConnection(group: bench.group, host: "127.0.0.1", port: bench.port)
        defer { http.close() }
        let (_, callId) = try bench.helferrufRound(http, fleet: fleet, centre: Population.centre, radiusKm: 200, expected: recipients,
                                                   needed: needed, cancel: false)
        let sent = fleet.all("accept \(callId)").compactMap { UInt64($0.split(separator: " ").last ?? "") }.min() ?? monotonicNanos()
        fleet.awaitCount(callId, expected: recipients, timeout: 60)
        var results: [String: Int] = [:]
        var summary = LatencySummary()
        var times: [UInt64] = []
        for line in fleet.all("accepts \(callId)") {
            let parts = line.split(separator: " ")
            guard parts.count >= 2 else { continue }
            for pair in parts[1].split(separator: ",") {
                let kv = pair.split(separator: "=")
                if kv.count == 2 { results[String(kv[0]), default: 0] += Int(kv[1]) ?? 0 }
            }
            times += parts.dropFirst(2).compactMap { UInt64($0) }
        }
        summary.add(Bench.Round(latencies: times.map { $0 &- sent }, size: 0, userMicros: 0, systemMicros: 0), expected: recipients)
        let stored = try http.request(.GET, "/api/v1/calls/\(callId)", token: try bench.orgToken)
        let confirmed = (try? JSONSerialization.jsonObject(with: Data(stored.body.utf8)) as? [String: Any])?["confirmed"] as? Int ?? -1
        note("accept-storm: \(results) in \(round3(summary.lastMedian)) ms; stored confirmed \(confirmed)/\(needed)")
        return [
            "accepting": recipients, "needed": needed, "results": results, "stored_confirmed": confirmed,
            "overbooked": confirmed > needed, "answers": times.count,
            "accept_p50_ms": round3(summary.ms(50)), "accept_p99_ms": round3(summary.ms(99)), "accept_last_ms": round3(summary.lastMedian),
        ]
    }
}
