import Foundation
import HelferrufCore

extension Scenarios {
    /// The compare-nchan broadcast with clients that answer as the volunteer page does
    /// (issue 20): each round posts one call to silent clients, one to answering clients
    /// (`received` from all, `seen` from half, PROTOCOL.md §7) and publishes one message
    /// through nchan, whose subscribers send nothing. A Helferruf round's CPU window runs
    /// from the POST until the call's stored figures show every alert record and every
    /// answer committed (`alerted`, `delivered`, `seen` read back over HTTP), so the
    /// funnel's whole cost is inside it; silent rounds wait the same way for `alerted`.
    /// The ledger's transactions per call come from `/metrics` around each round (they
    /// include the call's creation and its cancellation).
    static func realistic(_ bench: Bench, recipients: Int, rounds: Int) throws -> [String: Any] {
        _ = try bench.startServer()
        defer { bench.stopServer() }
        _ = try bench.ensureVolunteers(recipients)
        let nchan = try NchanServer(config: bench.options.nchanConf, runDir: "\(bench.options.state)/nchan")
        defer { nchan.stop() }
        let fleet = try bench.fleet(sockets: 2 * recipients)
        defer { fleet.quit() }
        fleet.openHelferruf(port: bench.port, file: bench.volunteersFile, from: 0, count: recipients)
        // Clients alternate `seen` by their index in their worker (even ones send it).
        let seenExpected = fleet.helferrufCount.reduce(0) { $0 + ($1 + 1) / 2 }
        fleet.openNchan(port: nchan.port, count: recipients)
        fleet.waitConnected(2 * recipients, timeout: 120, label: "realistic")
        sleep(1)
        let ours = try HTTPConnection(group: bench.group, host: "127.0.0.1", port: bench.port)
        let theirs = try HTTPConnection(group: bench.group, host: "127.0.0.1", port: nchan.port)
        defer { ours.close(); theirs.close() }
        let token = try bench.orgToken

        var silent = LatencySummary(), answering = LatencySummary(), peer = LatencySummary()
        var silentLedger = LedgerCount(), answeringLedger = LedgerCount()
        var size = 0
        for r in 0..<rounds {
            for answers in [false, true] {
                _ = fleet.all("answers \(answers ? "on" : "off")")
                let before = try LedgerCount.scrape(ours)
                let (round, _) = try bench.helferrufRound(ours, fleet: fleet, centre: Population.centre, radiusKm: 200, expected: recipients) { id in
                    try awaitFigures(ours, id, token: token, alerted: recipients,
                                     delivered: answers ? recipients : 0, seen: answers ? seenExpected : 0)
                }
                let used = try LedgerCount.scrape(ours) - before
                if answers {
                    answering.add(round, expected: recipients)
                    answeringLedger = answeringLedger + used
                } else {
                    silent.add(round, expected: recipients)
                    silentLedger = silentLedger + used
                }
                size = max(size, round.size)
            }
            _ = fleet.all("answers off")
            peer.add(try bench.nchanRound(theirs, fleet: fleet, nchan: nchan, tag: "q\(r)", size: size, expected: recipients), expected: recipients)
            progress("realistic round \(r + 1)/\(rounds): CPU per delivery silent \(round3(silent.cpuPerDelivery)), "
                     + "answering \(round3(answering.cpuPerDelivery)), nchan \(round3(peer.cpuPerDelivery)) µs")
        }
        let ratio = peer.cpuPerDelivery > 0 ? answering.cpuPerDelivery / peer.cpuPerDelivery : 0
        note("realistic: CPU per delivery \(round3(answering.cpuPerDelivery)) µs answering, \(round3(silent.cpuPerDelivery)) silent, "
             + "\(round3(peer.cpuPerDelivery)) nchan (\(round3(ratio))×); ledger transactions per call "
             + "\(round3(answeringLedger.perCall(rounds))) answering, \(round3(silentLedger.perCall(rounds))) silent")
        var figures = answering.figures("answering").merging(silent.figures("silent")) { x, _ in x }.merging(peer.figures("nchan")) { x, _ in x }
        figures["recipients"] = recipients
        figures["rounds"] = rounds
        figures["message_bytes"] = size
        figures["answers_per_call"] = recipients + seenExpected
        figures["realistic_cpu_ratio_vs_nchan"] = round3(ratio)
        figures["silent_cpu_ratio_vs_nchan"] = round3(peer.cpuPerDelivery > 0 ? silent.cpuPerDelivery / peer.cpuPerDelivery : 0)
        figures["answering_over_silent_cpu"] = round3(silent.cpuPerDelivery > 0 ? answering.cpuPerDelivery / silent.cpuPerDelivery : 0)
        figures["ledger_transactions_per_call_answering"] = round3(answeringLedger.perCall(rounds))
        figures["ledger_transactions_per_call_silent"] = round3(silentLedger.perCall(rounds))
        figures["ledger_changes_per_call_answering"] = round3(Double(answeringLedger.changes) / Double(max(1, rounds)))
        figures["ledger_changes_per_call_silent"] = round3(Double(silentLedger.changes) / Double(max(1, rounds)))
        return figures
    }

    /// Polls the call every 20 ms until its stored figures reach the given counts (20 s at most).
    private static func awaitFigures(_ http: HTTPConnection, _ id: String, token: String, alerted: Int, delivered: Int, seen: Int) throws {
        let deadline = Date().addingTimeInterval(20)
        var last = ""
        while Date() < deadline {
            let r = try http.request(.GET, "/api/v1/calls/\(id)", token: token)
            let call = (try? JSONSerialization.jsonObject(with: Data(r.body.utf8))) as? [String: Any] ?? [:]
            let a = call["alerted"] as? Int ?? 0, d = call["delivered"] as? Int ?? 0, s = call["seen"] as? Int ?? 0
            if a >= alerted && d >= delivered && s >= seen { return }
            last = "alerted \(a)/\(alerted), delivered \(d)/\(delivered), seen \(s)/\(seen)"
            usleep(20_000)
        }
        note("realistic: call \(id) not settled after 20 s: \(last)")
    }
}

/// The ledger's transactions and changes from the server's `/metrics`.
struct LedgerCount {
    var transactions = 0
    var changes = 0

    static func scrape(_ http: HTTPConnection) throws -> LedgerCount {
        let body = try http.request(.GET, "/metrics").body
        var count = LedgerCount()
        for line in body.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let value = Double(parts[1]) else { continue }
            if parts[0] == "helferruf_ledger_batches_total" { count.transactions = Int(value) }
            if parts[0] == "helferruf_ledger_changes_total" { count.changes = Int(value) }
        }
        return count
    }

    static func - (a: LedgerCount, b: LedgerCount) -> LedgerCount {
        LedgerCount(transactions: a.transactions - b.transactions, changes: a.changes - b.changes)
    }

    static func + (a: LedgerCount, b: LedgerCount) -> LedgerCount {
        LedgerCount(transactions: a.transactions + b.transactions, changes: a.changes + b.changes)
    }

    func perCall(_ calls: Int) -> Double { Double(transactions) / Double(max(1, calls)) }
}
