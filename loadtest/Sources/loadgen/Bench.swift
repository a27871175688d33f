import Foundation
import HelferrufCore
import NIOCore
import NIOPosix

/// One run: a state folder with the server's database, the Demo token and the registered
/// volunteers (`volunteers.tsv`: id, token, lat, lon), reused across scenarios and runs.
final class Bench {
    let options: CommonOptions
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let port: Int
    var server: HelferrufServer?
    /// Every server this run started, so that a crash is reported whatever the scenario saw.
    private(set) var servers: [HelferrufServer] = []
    private var serverStarts = 0

    init(_ options: CommonOptions) throws {
        self.options = options
        port = options.port
        try FileManager.default.createDirectory(atPath: options.state, withIntermediateDirectories: true)
    }

    var volunteersFile: String { "\(options.state)/volunteers.tsv" }
    var tokenFile: String { "\(options.state)/org.token" }

    func startServer() throws -> HelferrufServer {
        serverStarts += 1
        let s = try HelferrufServer(binary: options.server, port: port, db: "\(options.state)/helferruf.sqlite",
                                    log: "\(options.state)/server-\(serverStarts).log",
                                    extraArguments: (options.volunteerSocket.map { ["--volunteer-socket", $0] } ?? []) + options.serverArguments)
        if let line = s.demoLine, let data = line.data(using: .utf8),
           let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let token = json["token"] as? String {
            try token.write(toFile: tokenFile, atomically: true, encoding: .utf8)
        }
        server = s
        servers.append(s)
        return s
    }

    /// `nodes` servers on the PostgreSQL database at `db` (issue 16), on `port`, `port + 1`, …;
    /// the first, started alone, creates the Demo organisation and is ``server``.
    func startCluster(db: String, nodes: Int) throws -> [HelferrufServer] {
        var started: [HelferrufServer] = []
        for i in 0..<nodes {
            serverStarts += 1
            let s = try HelferrufServer(binary: options.server, port: port + i, db: db, log: "\(options.state)/node-\(i)-\(serverStarts).log",
                                        extraArguments: options.serverArguments)
            if i == 0, let line = s.demoLine, let data = line.data(using: .utf8),
               let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let token = json["token"] as? String {
                try token.write(toFile: tokenFile, atomically: true, encoding: .utf8)
            }
            servers.append(s)
            started.append(s)
        }
        server = started.first
        return started
    }

    /// The first server of this run that ended on its own (a crash), with how it ended.
    var deadServer: (server: HelferrufServer, end: String)? {
        for s in servers { if let end = s.proc.unexpectedEnd { return (s, end) } }
        return nil
    }

    /// SIGTERM to the server, SIGKILL after `grace` seconds; returns how it ended.
    @discardableResult
    func stopServer(grace: Double = 12) -> String? {
        defer { server = nil }
        return server?.proc.stop(grace: grace)
    }

    var orgToken: String {
        get throws { try String(contentsOfFile: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    /// Makes sure at least `count` volunteers are registered (maxDistanceKm 200, no skills).
    func ensureVolunteers(_ count: Int) throws -> [GeoPoint] {
        var lines = ((try? String(contentsOfFile: volunteersFile, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        if lines.count < count {
            let missing = Array(lines.count..<count)
            let lock = NSLock()
            var added: [Int: String] = [:]
            var failure: Error?
            let lanes = 4
            DispatchQueue.concurrentPerform(iterations: lanes) { lane in
                do {
                    let http = try HTTPConnection(group: group, host: "127.0.0.1", port: port)
                    defer { http.close() }
                    for i in stride(from: lane, to: missing.count, by: lanes) {
                        let index = missing[i]
                        let r = try http.request(.POST, "/api/v1/volunteers", body: "{\"displayName\":\"load \(index)\",\"skills\":[],\"maxDistanceKm\":200}")
                        guard r.status == 201, let json = try JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any],
                              let id = json["id"] as? String, let token = json["token"] as? String
                        else { throw LoadError.failed("registration answered \(r.status): \(r.body)") }
                        let p = Population.place(index)
                        lock.lock()
                        added[index] = "\(id)\t\(token)\t\(p.lat)\t\(p.lon)"
                        if added.count % 500 == 0 { progress("registered \(lines.count + added.count)/\(count) volunteers") }
                        lock.unlock()
                    }
                } catch {
                    lock.lock()
                    failure = error
                    lock.unlock()
                }
            }
            if let failure { throw failure }
            lines += missing.map { added[$0]! }
            try (lines.joined(separator: "\n") + "\n").write(toFile: volunteersFile, atomically: true, encoding: .utf8)
            note("registered \(missing.count) volunteers (\(lines.count) in all)")
        }
        return lines.prefix(count).map {
            let f = $0.split(separator: "\t")
            return GeoPoint(lat: Double(f[2])!, lon: Double(f[3])!)
        }
    }

    func fleet(sockets: Int, minimumWorkers: Int = 2) throws -> Fleet {
        try Fleet(count: Fleet.workersNeeded(sockets, minimum: minimumWorkers), executable: CommandLine.arguments[0], maxSeconds: options.maxSeconds)
    }

    /// The result of one alert (ours) or one publish (nchan).
    struct Round {
        var latencies: [UInt64]
        var size: Int
        var userMicros: Double
        var systemMicros: Double
    }

    static func callBody(centre: GeoPoint, radiusKm: Double, needed: Int = 10_000, descriptionBytes: Int) -> String {
        let ends = Date().addingTimeInterval(7200)
        let iso = ISO8601DateFormatter().string(from: ends)
        let description = String(repeating: "Sandsäcke füllen am Rheinufer. ", count: descriptionBytes / 32 + 1).prefix(descriptionBytes)
        return "{\"title\":\"Hochwasser: Helfer gesucht\",\"description\":\"\(description)\",\"address\":\"Rheinufer 1, Köln\","
            + "\"location\":{\"lat\":\(centre.lat),\"lon\":\(centre.lon)},\"radiusKm\":\(radiusKm),\"needed\":\(needed),\"endsAt\":\"\(iso)\"}"
    }

    /// Posts one call and waits until `expected` volunteers received it; cancels it afterwards
    /// so that later `welcome`s stay small.
    func helferrufRound(_ http: HTTPConnection, fleet: Fleet, centre: GeoPoint, radiusKm: Double, expected: Int,
                        descriptionBytes: Int = 200, needed: Int = 10_000, cancel: Bool = true,
                        settle: ((String) throws -> Void)? = nil) throws -> (Round, String) {
        guard let server else { throw LoadError.failed("no server") }
        let token = try orgToken
        let body = Self.callBody(centre: centre, radiusKm: radiusKm, needed: needed, descriptionBytes: descriptionBytes)
        let cpu0 = ProcStats.cpu(server.pid)
        var t0: UInt64 = 0
        let r = try http.request(.POST, "/api/v1/calls", body: body, token: token, sentAt: &t0)
        guard r.status == 201, let json = try JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any],
              let id = json["id"] as? String else { throw LoadError.failed("POST /calls answered \(r.status): \(r.body)") }
        let (times, size) = fleet.awaitReceipts(id, expected: expected, timeout: 20)
        try settle?(id)
        let cpu1 = ProcStats.cpu(server.pid)
        if cancel {
            _ = try http.request(.POST, "/api/v1/calls/\(id)/cancel", token: token)
            usleep(300_000)
        }
        return (Round(latencies: times.map { $0 &- t0 }, size: size, userMicros: cpu1.user - cpu0.user, systemMicros: cpu1.system - cpu0.system), id)
    }

    /// `rounds` calls at Köln posted on the first server, each expecting `recipients`
    /// receipts, with progress and a closing note under `label`.
    func broadcastRounds(_ rounds: Int, fleet: Fleet, radiusKm: Double, recipients: Int, label: String) throws -> LatencySummary {
        let http = try HTTPConnection(group: group, host: "127.0.0.1", port: port)
        defer { http.close() }
        var summary = LatencySummary()
        for r in 0..<rounds {
            let (round, _) = try helferrufRound(http, fleet: fleet, centre: Population.centre, radiusKm: radiusKm, expected: recipients)
            summary.add(round, expected: recipients)
            progress("\(label) round \(r + 1)/\(rounds): \(round.latencies.count)/\(recipients), last \(round3(Double(round.latencies.max() ?? 0) / 1e6)) ms")
        }
        note("\(label): \(summary.delivered)/\(summary.expected) delivered, first \(round3(summary.firstMedian)) ms, last \(round3(summary.lastMedian)) ms (medians)")
        return summary
    }

    func nchanRound(_ http: HTTPConnection, fleet: Fleet, nchan: NchanServer, tag: String, size: Int, expected: Int) throws -> Round {
        let message = tag + " " + String(repeating: "x", count: max(0, size - tag.count - 1))
        let pids = nchan.pids
        let cpu0 = ProcStats.cpuTotal(pids)
        var t0: UInt64 = 0
        let r = try http.request(.POST, "/pub?id=alerts", body: message, sentAt: &t0)
        guard r.status / 100 == 2 else { throw LoadError.failed("nchan publish answered \(r.status)") }
        let (times, got) = fleet.awaitReceipts(tag, expected: expected, timeout: 20)
        let cpu1 = ProcStats.cpuTotal(pids)
        usleep(300_000)
        return Round(latencies: times.map { $0 &- t0 }, size: got, userMicros: cpu1.user - cpu0.user, systemMicros: cpu1.system - cpu0.system)
    }

    /// Waits for the server's RSS to settle after the sockets came up, then reads it.
    func settledRSS(_ pid: Int32, seconds: Double = 3) -> Double {
        usleep(UInt32(seconds * 1_000_000))
        return ProcStats.rssKiB(pid)
    }
}
