import ArgumentParser
import Foundation
import HelferrufCore
import HelferrufServer
import HelferrufStore
import Logging

@main
struct Helferruf: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "helferruf",
        abstract: "Real-time alerts for spontaneous volunteering.",
        discussion: "Every option can also be set by the environment variable named in its help; a flag wins over the environment.",
        subcommands: [Serve.self, Org.self, AccountCommand.self, Calls.self, Stats.self, Backup.self, Vacuum.self, Simulate.self],
        defaultSubcommand: Serve.self
    )
}

/// Options shared by every command that opens the database.
struct DatabaseOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("SQLite database file (env HELFERRUF_DB; default ./helferruf-data/helferruf.sqlite).", valueName: "path"))
    var db: String?

    var path: String { db ?? Environment.string("HELFERRUF_DB") ?? "./helferruf-data/helferruf.sqlite" }

    func open() throws -> Store { try Store(path: path) }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the server (the default command).")

    @Option(help: "Address to listen on (env HELFERRUF_HOST; default 127.0.0.1).")
    var host: String?

    @Option(help: "Port to listen on, 0 for any free port (env HELFERRUF_PORT; default 8080).")
    var port: String?

    @OptionGroup var database: DatabaseOption

    @Option(help: ArgumentHelp("Folder of the web pages (env HELFERRUF_WEB; default: web/ in the working directory or beside the package).", valueName: "dir"))
    var web: String?

    @Option(name: .customLong("rate-limits"), help: "Abuse limits, on or off; off is for load tests from one address (env HELFERRUF_RATE_LIMITS; default on).")
    var rateLimits: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (env HELFERRUF_LOG_LEVEL; default info).")
    var logLevel: String?

    @Option(name: .customLong("log-format"), help: "plain or json, written to standard error (env HELFERRUF_LOG_FORMAT; default plain).")
    var logFormat: String?

    @Option(name: .customLong("tls-cert"), help: ArgumentHelp("PEM certificate chain; with --tls-key serves HTTPS and WSS (env HELFERRUF_TLS_CERT).", valueName: "path"))
    var tlsCert: String?

    @Option(name: .customLong("tls-key"), help: ArgumentHelp("PEM private key for --tls-cert (env HELFERRUF_TLS_KEY).", valueName: "path"))
    var tlsKey: String?

    @Option(name: .customLong("socket-queue"), help: "Frames a socket may have queued before it counts as too slow and is closed with 1013 (env HELFERRUF_SOCKET_QUEUE; default 1024).")
    var socketQueue: String?

    @Option(name: .customLong("max-pending-hellos"), help: "Volunteer sockets that may wait for their hello's token lookup at once; further upgrades get 503 with Retry-After, so a reconnect storm is admitted at a sustainable pace (env HELFERRUF_MAX_PENDING_HELLOS; default 512).")
    var maxPendingHellos: String?

    @Option(name: .customLong("allowed-origins"), help: "Comma-separated web origins besides the server's own that may use the API and sockets from a browser (env HELFERRUF_ALLOWED_ORIGINS; default none).")
    var allowedOrigins: String?

    @Option(name: .customLong("volunteer-socket"), help: "How /ws/volunteer is served: nio (channel handlers, no task per socket) or hummingbird (the earlier path) (env HELFERRUF_VOLUNTEER_SOCKET; default nio).")
    var volunteerSocket: String?

    @Option(name: .customLong("limit-sockets"), help: "Open WebSockets per client address (env HELFERRUF_LIMIT_SOCKETS; default 4000).")
    var limitSockets: String?

    @Option(name: .customLong("limit-registrations"), help: "Volunteer registrations per client address, as N/s, N/min or N/h with an optional :BURST (env HELFERRUF_LIMIT_REGISTRATIONS; default 10000/h:10000).")
    var limitRegistrations: String?

    @Option(name: .customLong("limit-hellos"), help: "Socket hello attempts per client address (env HELFERRUF_LIMIT_HELLOS; default 100/s:5000).")
    var limitHellos: String?

    @Option(name: .customLong("limit-requests"), help: "HTTP requests per bearer token (env HELFERRUF_LIMIT_REQUESTS; default 200/s:2000).")
    var limitRequests: String?

    @Option(name: .customLong("limit-messages"), help: "Messages per socket; over it the socket is closed with 1008 (env HELFERRUF_LIMIT_MESSAGES; default 50/s:500).")
    var limitMessages: String?

    @Option(name: .customLong("trusted-proxies"), help: "Comma-separated addresses of reverse proxies whose X-Forwarded-For names the client (env HELFERRUF_TRUSTED_PROXIES; default none: the socket's address is the client's).")
    var trustedProxies: String?

    @Option(name: .customLong("retention-days"), help: "Days after a call ends that its confirmations stop showing helpers' names and contacts, 0 to 3650 (env HELFERRUF_RETENTION_DAYS; default 30).")
    var retentionDays: String?
    @Option(name: .customLong("secure-cookies"), help: "Session cookie Secure with the __Host- prefix, on or off; turn it on behind a proxy that terminates TLS (env HELFERRUF_SECURE_COOKIES; default on exactly when --tls-cert is set).")
    var secureCookies: String?

    @OptionGroup var bcrypt: BcryptCostOption

    @Option(name: .customLong("drain-delay"), help: "Seconds /readyz answers 503 on SIGTERM before sockets are closed with 1001 (env HELFERRUF_DRAIN_DELAY; default 0).")
    var drainDelay: String?

    @Option(name: .customLong("push-subject"), help: ArgumentHelp("The operator named in every Web Push VAPID token, a mailto: or https: URI; set it to a real address in production (env HELFERRUF_PUSH_SUBJECT; default \(PushSubject.default)).", valueName: "uri"))
    var pushSubject: String?

    @Option(name: .customLong("push-endpoints"), help: ArgumentHelp("Comma-separated origins that push subscription endpoints may point to; a host may start with *. for any subdomain; http:// only where listed (env HELFERRUF_PUSH_ENDPOINTS; default \(PushEndpointPolicy.defaultList)).", valueName: "origins"))
    var pushEndpoints: String?

    @Option(name: .customLong("push-fallback-seconds"), help: "Seconds a socket alert may go without the client's \"received\" before it is also sent by Web Push, 1 to 600 (env HELFERRUF_PUSH_FALLBACK_SECONDS; default 10).")
    var pushFallbackSeconds: String?

    /// The settings after flags, environment and defaults, checked.
    func resolved() throws -> (ServerConfiguration, logFormat: String) {
        var config = ServerConfiguration()
        config.host = try Environment.value(host, "HELFERRUF_HOST", "--host", default: "127.0.0.1") { $0.isEmpty ? nil : $0 }
        config.port = try Environment.value(port, "HELFERRUF_PORT", "--port", default: 8080) { Int($0).flatMap { (0...65535).contains($0) ? $0 : nil } }
        config.databasePath = database.path
        config.webDirectory = web ?? Environment.string("HELFERRUF_WEB") ?? Self.defaultWebDirectory()
        if let dir = config.webDirectory, !FileManager.default.fileExists(atPath: dir) {
            throw ValidationError("web folder \(dir) does not exist")
        }
        config.rateLimits = try Environment.value(rateLimits, "HELFERRUF_RATE_LIMITS", "--rate-limits", default: true) {
            ["on": true, "off": false][$0]
        }
        config.logLevel = try Environment.value(logLevel, "HELFERRUF_LOG_LEVEL", "--log-level", default: .info) { Logger.Level(rawValue: $0) }
        let format = try Environment.value(logFormat, "HELFERRUF_LOG_FORMAT", "--log-format", default: "plain") { ["plain", "json"].contains($0) ? $0 : nil }
        config.tlsCertificatePath = tlsCert ?? Environment.string("HELFERRUF_TLS_CERT")
        config.tlsKeyPath = tlsKey ?? Environment.string("HELFERRUF_TLS_KEY")
        if (config.tlsCertificatePath == nil) != (config.tlsKeyPath == nil) {
            throw ValidationError("--tls-cert and --tls-key go together")
        }
        for path in [config.tlsCertificatePath, config.tlsKeyPath].compactMap({ $0 }) where !FileManager.default.isReadableFile(atPath: path) {
            throw ValidationError("cannot read \(path)")
        }
        config.outboxCapacity = try Environment.value(socketQueue, "HELFERRUF_SOCKET_QUEUE", "--socket-queue", default: 1024) {
            Int($0).flatMap { (16...1_000_000).contains($0) ? $0 : nil }
        }
        config.maxPendingHellos = try Environment.value(maxPendingHellos, "HELFERRUF_MAX_PENDING_HELLOS", "--max-pending-hellos", default: 512) {
            Int($0).flatMap { (1...1_000_000).contains($0) ? $0 : nil }
        }
        config.allowedOrigins = try Environment.value(allowedOrigins, "HELFERRUF_ALLOWED_ORIGINS", "--allowed-origins", default: []) { text in
            let list = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            return list.allSatisfy { $0.hasPrefix("http://") || $0.hasPrefix("https://") } ? list : nil
        }
        config.volunteerSocket = try Environment.value(volunteerSocket, "HELFERRUF_VOLUNTEER_SOCKET", "--volunteer-socket", default: .nio) {
            VolunteerSocketPath(rawValue: $0)
        }
        config.limits.socketsPerAddress = try Environment.value(limitSockets, "HELFERRUF_LIMIT_SOCKETS", "--limit-sockets", default: config.limits.socketsPerAddress) {
            Int($0).flatMap { (1...1_000_000).contains($0) ? $0 : nil }
        }
        config.limits.registrations = try Environment.value(limitRegistrations, "HELFERRUF_LIMIT_REGISTRATIONS", "--limit-registrations", default: config.limits.registrations, parse: Rate.init(parsing:))
        config.limits.hellos = try Environment.value(limitHellos, "HELFERRUF_LIMIT_HELLOS", "--limit-hellos", default: config.limits.hellos, parse: Rate.init(parsing:))
        config.limits.requests = try Environment.value(limitRequests, "HELFERRUF_LIMIT_REQUESTS", "--limit-requests", default: config.limits.requests, parse: Rate.init(parsing:))
        config.limits.messages = try Environment.value(limitMessages, "HELFERRUF_LIMIT_MESSAGES", "--limit-messages", default: config.limits.messages, parse: Rate.init(parsing:))
        config.trustedProxies = try Environment.value(trustedProxies, "HELFERRUF_TRUSTED_PROXIES", "--trusted-proxies", default: []) { text in
            let list = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            return list.allSatisfy { ServerConfiguration.isIPAddress($0) } ? list : nil
        }
        config.retentionDays = try Environment.value(retentionDays, "HELFERRUF_RETENTION_DAYS", "--retention-days", default: 30) {
            Int($0).flatMap { (0...3650).contains($0) ? $0 : nil }
        }
        let delay = try Environment.value(drainDelay, "HELFERRUF_DRAIN_DELAY", "--drain-delay", default: 0.0) {
            Double($0).flatMap { $0.isFinite && (0...60).contains($0) ? $0 : nil }
        }
        config.drainDelay = .milliseconds(Int(delay * 1000))
        config.accounts.secureCookies = try Environment.value(secureCookies, "HELFERRUF_SECURE_COOKIES", "--secure-cookies", default: Bool?.none) {
            value -> Bool?? in ["on": true, "off": false][value].map { .some($0) }
        }
        config.accounts.bcryptCost = try bcrypt.value()
        config.push.subject = try Environment.value(pushSubject, "HELFERRUF_PUSH_SUBJECT", "--push-subject", default: PushSubject.default) {
            PushSubject.isValid($0) ? $0 : nil
        }
        config.push.endpoints = try Environment.value(pushEndpoints, "HELFERRUF_PUSH_ENDPOINTS", "--push-endpoints", default: PushEndpointPolicy.standard) {
            (try? PushEndpointPolicy(list: $0)).flatMap { $0.origins.isEmpty ? nil : $0 }
        }
        config.push.fallbackSeconds = try Environment.value(pushFallbackSeconds, "HELFERRUF_PUSH_FALLBACK_SECONDS", "--push-fallback-seconds", default: 10.0) {
            Double($0).flatMap { $0.isFinite && (1...600).contains($0) ? $0 : nil }
        }
        return (config, format)
    }

    func validate() throws {
        _ = try resolved()
    }

    func run() async throws {
        let resolved = try resolved()
        var config = resolved.0
        let format = resolved.1, level = config.logLevel
        LoggingSystem.bootstrap { label in
            if format == "json" { return JSONLogHandler(label: label, level: level) }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let scheme = config.tlsCertificatePath == nil ? "http" : "https"
        config.onListening = { host, port in
            FileHandle.standardOutput.write(Data("listening on \(scheme)://\(host):\(port)\n".utf8))
        }
        try await runServer(config) { line in
            FileHandle.standardOutput.write(Data((line + "\n").utf8))
        }
    }

    /// `web/` in the working directory, else beside the package this binary was built from.
    static func defaultWebDirectory() -> String? {
        let fm = FileManager.default
        if fm.fileExists(atPath: "web/volunteer.html") { return fm.currentDirectoryPath + "/web" }
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        let candidate = url.appendingPathComponent("web").path
        return fm.fileExists(atPath: candidate + "/volunteer.html") ? candidate : nil
    }
}

/// Reading settings from the environment, with the same checks as their flags.
enum Environment {
    static func string(_ name: String) -> String? {
        guard let v = ProcessInfo.processInfo.environment[name], !v.isEmpty else { return nil }
        return v
    }

    /// The flag's value, else the variable's, else the default; a value that `parse`
    /// rejects stops the start with a message naming where it came from.
    static func value<T>(_ flag: String?, _ variable: String, _ flagName: String, default fallback: T, parse: (String) -> T?) throws -> T {
        if let flag {
            guard let v = parse(flag) else { throw ValidationError("invalid value for \(flagName): \(flag)") }
            return v
        }
        if let env = string(variable) {
            guard let v = parse(env) else { throw ValidationError("invalid value in \(variable): \(env)") }
            return v
        }
        return fallback
    }
}

struct Org: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage organisations.",
        subcommands: [Add.self, List.self, Disable.self, Token.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an organisation and print its token once, as JSON.")

        @Option(help: "The organisation's name.")
        var name: String

        @OptionGroup var database: DatabaseOption

        func run() async throws {
            let name: String
            do {
                name = try Rules.organisationName(self.name)
            } catch {
                throw ValidationError("--name \(error.message)")
            }
            let (org, token) = try database.open().createOrganisation(name: name, now: .now)
            print(JSONLine.object(["id": org.id, "name": org.name, "token": token]))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List organisations (never their tokens), one JSON line each.")

        @OptionGroup var database: DatabaseOption

        func run() async throws {
            for org in try database.open().organisations() {
                print(JSONLine.object(["id": org.id, "name": org.name, "createdAt": RFC3339.format(org.createdAt), "disabled": org.disabled]))
            }
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable an organisation: its token stops working, its calls stay.")

        @Option(help: "The organisation's id.")
        var id: String

        @Flag(help: "Enable it again instead.")
        var enable = false

        @OptionGroup var database: DatabaseOption

        func run() async throws {
            guard try database.open().setOrganisationDisabled(id: id, !enable) else { throw ValidationError("no organisation \(id)") }
        }
    }

    struct Token: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Organisation tokens.", subcommands: [Rotate.self])

        struct Rotate: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Replace an organisation's token (the old one is revoked at once) and print the new one as JSON.")

            @Option(help: "The organisation's id.")
            var id: String

            @OptionGroup var database: DatabaseOption

            func run() async throws {
                guard let token = try database.open().rotateOrganisationToken(id: id) else { throw ValidationError("no organisation \(id)") }
                print(JSONLine.object(["id": id, "token": token]))
            }
        }
    }
}

struct Calls: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Inspect calls.", subcommands: [List.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List calls of all organisations, newest first, one JSON line each.")

        @Option(help: "Only calls with this status (open, filled, cancelled, expired).")
        var status: String?

        @OptionGroup var database: DatabaseOption

        func run() async throws {
            var filter: CallStatus?
            if let status {
                guard let s = CallStatus(rawValue: status) else { throw ValidationError("--status must be open, filled, cancelled or expired") }
                filter = s
            }
            for c in try database.open().allCalls(status: filter) {
                print(JSONLine.object([
                    "id": c.id, "org": c.orgName, "title": c.title, "status": c.status.rawValue,
                    "confirmed": c.confirmed, "needed": c.needed, "alerted": c.alerted, "endsAt": RFC3339.format(c.endsAt),
                ]))
            }
        }
    }
}

struct Stats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print counts of organisations, volunteers, calls and confirmations as JSON.")

    @OptionGroup var database: DatabaseOption

    func run() async throws {
        let s = try database.open().stats()
        var fields: [String: Any] = ["organisations": s.organisations, "volunteers": s.volunteers, "confirmations": s.confirmations, "alerts": s.alerts]
        for status in CallStatus.allCases { fields["calls_\(status.rawValue)"] = s.callsByStatus[status.rawValue] ?? 0 }
        print(JSONLine.object(fields))
    }
}

/// `helferruf backup --to PATH`: an online, consistent copy of the database
/// (docs/OPERATIONS.md, "Backup and restore").
struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Copy the database to a new file while the server runs.")

    @Option(help: ArgumentHelp("Where to write the copy; must not exist yet.", valueName: "path"))
    var to: String

    @OptionGroup var database: DatabaseOption

    func run() async throws {
        guard FileManager.default.fileExists(atPath: database.path) else { throw ValidationError("no database at \(database.path)") }
        let summary = try database.open().backup(to: to)
        print(JSONLine.object(["backup": summary.path, "calls": summary.calls, "confirmations": summary.confirmations]))
    }
}

struct Vacuum: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Rebuild the database file to reclaim space (safe while the server runs; it waits for the write lock).")

    @OptionGroup var database: DatabaseOption

    func run() async throws {
        try database.open().vacuum()
    }
}

/// One line of JSON with sorted keys, for the admin commands.
enum JSONLine {
    static func object(_ fields: [String: Any]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}


/// `helferruf simulate`: broadcast against waves on a seeded synthetic population
/// (``DispatchSimulation``); prints one JSON line and can write the Markdown report that
/// `docs/SIMULATION.md` holds.
struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Compare broadcast and wave dispatch in a seeded simulation.")

    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: "Calls posted by one organisation, one after another.") var calls = 60
    @Option(help: "Volunteers in the synthetic population.") var volunteers = 8000
    @Option(help: "Seconds between waves.") var waveSeconds = Waves.defaultWaveSeconds
    @Option(help: ArgumentHelp("Also write a Markdown report, with a sweep over the wave interval, to this file.", valueName: "path"))
    var report: String?

    func validate() throws {
        guard calls > 0, volunteers > 0 else { throw ValidationError("--calls and --volunteers must be positive") }
        guard Waves.waveSecondsRange.contains(waveSeconds) else { throw ValidationError("--wave-seconds must be 1 to 3600") }
    }

    func configuration(waveSeconds: Int) -> DispatchSimulation.Configuration {
        var c = DispatchSimulation.Configuration()
        c.seed = seed
        c.calls = calls
        c.volunteers = volunteers
        c.waveSeconds = waveSeconds
        return c
    }

    func run() throws {
        let main = DispatchSimulation(configuration(waveSeconds: waveSeconds)).run()
        print(SimulationReport.jsonLine(main))
        guard let report else { return }
        let sweep = [15, 30, 60, 120].map { DispatchSimulation(configuration(waveSeconds: $0)).run() }
        try SimulationReport.markdown(main, sweep: sweep).write(toFile: report, atomically: true, encoding: .utf8)
    }
}

/// Formats a simulation for the terminal and for `docs/SIMULATION.md`.
enum SimulationReport {
    static func jsonLine(_ r: DispatchSimulation.Report) -> String {
        func r3(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }
        return JSONLine.object([
            "seed": Int(r.configuration.seed), "calls": r.configuration.calls, "wave_seconds": r.configuration.waveSeconds,
            "broadcast_alerts_per_confirmed": r3(r.broadcast.alertsPerConfirmed), "waves_alerts_per_confirmed": r3(r.waves.alertsPerConfirmed),
            "alert_saving": r3(r.alertSaving), "broadcast_over_response": r.broadcast.overResponse, "waves_over_response": r.waves.overResponse,
            "broadcast_fill_median_s": r3(r.medianFillBroadcast), "waves_fill_median_s": r3(r.medianFillWaves),
            "fill_time_ratio": r3(r.fillTimeRatio), "broadcast_filled": r.broadcast.callsFilled, "waves_filled": r.waves.callsFilled,
            "widening_steps": r.waves.wideningSteps, "waves": r.waves.waves,
        ])
    }

    static func markdown(_ r: DispatchSimulation.Report, sweep: [DispatchSimulation.Report]) -> String {
        let c = r.configuration
        func f(_ x: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", x) }
        func pct(_ x: Double) -> String { "\(Int((x * 100).rounded())) %" }
        var out = """
            # Dispatch simulation: broadcast against waves

            Written by `scripts/simulate-dispatch` (`helferruf simulate --seed \(c.seed) --calls \(c.calls) --volunteers \(c.volunteers) --report docs/SIMULATION.md`);
            the model is `Sources/HelferrufCore/Simulation/DispatchSimulation.swift`, checked by `DispatchSimulationTests`.

            ## Model

            - \(c.volunteers) volunteers, all connected and available: 85 % scattered around six Rhineland towns by
              population (σ 6 km), 15 % uniform rural noise; `maxDistanceKm` 5, 10 or 20.
            - \(c.calls) calls of one organisation, one after another, near those towns: radius 2–8 km, 5–40 helpers needed,
              `maxRadiusKm` twice the radius, standby list on.
            - Every alerted volunteer accepts with probability \(f(c.acceptProbability, 2)) after a log-normal delay
              (median \(Int(c.medianDelaySeconds)) s, σ \(f(c.delaySigma, 2)): 10 % answer within \(Int(c.medianDelaySeconds * exp(-1.2816 * c.delaySigma))) s,
              90 % within \(Int(c.medianDelaySeconds * exp(1.2816 * c.delaySigma))) s). The draw depends only on (seed, volunteer, call),
              so both modes meet the same people behaving the same way.
            - Broadcast alerts everyone eligible at once. Waves follow the server: `ceil(remaining / acceptanceRate)` nearest
              not yet alerted, `remaining` counting accepts that have arrived, widening by half the radius for the next wave
              when a wave finds nobody, the rate learnt from the last 20 calls (0.3 before any history).

            ## Result (waves every \(c.waveSeconds) s, the default)

            | | broadcast | waves |
            |---|---|---|
            | alerts | \(r.broadcast.alerts) | \(r.waves.alerts) |
            | confirmed helpers | \(r.broadcast.confirmed) | \(r.waves.confirmed) |
            | alerts per confirmed helper | \(f(r.broadcast.alertsPerConfirmed, 2)) | \(f(r.waves.alertsPerConfirmed, 2)) |
            | over-response (accepted a filled call) | \(r.broadcast.overResponse) | \(r.waves.overResponse) |
            | calls filled | \(r.broadcast.callsFilled) of \(c.calls) | \(r.waves.callsFilled) of \(c.calls) |
            | median time to fill (calls both filled) | \(f(r.medianFillBroadcast)) s | \(f(r.medianFillWaves)) s |
            | widening steps / waves sent | – | \(r.waves.wideningSteps) / \(r.waves.waves) |

            Waves need **\(pct(r.alertSaving)) fewer alerts** per confirmed helper and cut over-response from
            \(r.broadcast.overResponse) to \(r.waves.overResponse); they take **\(f(r.fillTimeRatio, 2))×** the time to fill.

            ## The wave interval trades alerts against time

            | `waveSeconds` | alerts per helper (waves) | saving | over-response | median fill (waves) | time ratio |
            |---|---|---|---|---|---|

            """
        for s in sweep {
            out += "| \(s.configuration.waveSeconds) | \(f(s.waves.alertsPerConfirmed, 2)) | \(pct(s.alertSaving)) | \(s.waves.overResponse) | \(f(s.medianFillWaves)) s | \(f(s.fillTimeRatio, 2))× |\n"
        }
        out += """

            Broadcast's time to fill is set by the fastest of everyone eligible; a wave sized to the expected acceptance has
            to wait for nearly all of its own acceptors. With any spread in response times, halving the alerts therefore
            costs more than 30 % in time to fill under the contract's wave rule (see the closing note of issue 9).

            """
        return out
    }
}

/// `helferruf account …`: the people who sign in to the console for an organisation.
struct AccountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "account",
        abstract: "Manage console accounts (e-mail and password) of organisations.",
        subcommands: [Add.self, List.self, Disable.self, BcryptCost.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an account and print it as JSON (never the password).",
            discussion: "The password (12 to 1024 characters) is read from standard input with --password-stdin, else asked for twice on the terminal; it is never taken from the command line.")

        @Option(help: "The organisation's id (see `org list`).")
        var org: String

        @Option(help: "The person's e-mail address (compared without regard to case).")
        var email: String

        @Flag(name: .customLong("password-stdin"), help: "Read the password from the first line of standard input.")
        var passwordStdin = false

        @OptionGroup var cost: BcryptCostOption
        @OptionGroup var database: DatabaseOption

        func run() async throws {
            let email: String, password: String
            do {
                email = try Rules.email(self.email)
            } catch {
                throw ArgumentParser.ValidationError("--email \(error.message)")
            }
            do {
                password = try Rules.password(try readPassword())
            } catch let error as HelferrufCore.ValidationError {
                throw ArgumentParser.ValidationError("the password \(error.message)")
            }
            let store = try database.open()
            let hash = Passwords.hash(password, cost: try cost.value())
            do {
                let account = try store.createAccount(orgId: org, email: email, passwordHash: hash, now: .now)
                print(JSONLine.object(["id": account.id, "orgId": account.orgId, "email": account.email, "createdAt": RFC3339.format(account.createdAt)]))
            } catch let error as AccountError {
                throw ArgumentParser.ValidationError(error.description)
            }
        }

        private func readPassword() throws -> String {
            if passwordStdin {
                guard let line = Swift.readLine(strippingNewline: true) else { throw ArgumentParser.ValidationError("no password on standard input") }
                return line
            }
            guard isatty(STDIN_FILENO) == 1 else { throw ArgumentParser.ValidationError("standard input is no terminal: use --password-stdin") }
            guard let first = getpass("Password: ").map({ String(cString: $0) }),
                  let again = getpass("Again: ").map({ String(cString: $0) }), again == first
            else { throw ArgumentParser.ValidationError("the passwords differ") }
            return first
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List an organisation's accounts, one JSON line each.")

        @Option(help: "The organisation's id.")
        var org: String

        @OptionGroup var database: DatabaseOption

        func run() async throws {
            for a in try database.open().accounts(orgId: org) {
                print(JSONLine.object(["id": a.id, "orgId": a.orgId, "email": a.email, "createdAt": RFC3339.format(a.createdAt), "disabled": a.disabled]))
            }
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable an account: it can no longer sign in, and its sessions end at once.")

        @Option(help: "The account's e-mail address.")
        var email: String

        @Flag(help: "Enable it again instead.")
        var enable = false

        @OptionGroup var database: DatabaseOption

        func run() async throws {
            let normalised = email.trimmingWhitespace().lowercased()
            guard try database.open().setAccountDisabled(email: normalised, !enable) else { throw ArgumentParser.ValidationError("no account \(normalised)") }
        }
    }

    /// Measures bcrypt here, to choose `--bcrypt-cost` so that one hash takes 100–250 ms.
    /// CPU time is printed beside wall time: on a busy machine only the former is stable.
    struct BcryptCost: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "bcrypt-cost",
            abstract: "Time bcrypt hashes on this machine and print the median per cost as JSON.")

        @Option(help: "Hashes per cost.")
        var rounds = 5

        @Option(help: "Comma-separated costs to time, each 4 to 16.")
        var costs = "10,11,12,13"

        func run() async throws {
            guard (1...50).contains(rounds) else { throw ArgumentParser.ValidationError("--rounds must be 1 to 50") }
            let list = costs.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !list.isEmpty, list.allSatisfy(Passwords.costRange.contains) else {
                throw ArgumentParser.ValidationError("--costs must list numbers from 4 to 16")
            }
            for cost in list {
                var wall: [Double] = [], cpu: [Double] = []
                for _ in 0..<rounds {
                    let (wallStart, cpuStart) = (Self.millis(CLOCK_MONOTONIC), Self.millis(CLOCK_THREAD_CPUTIME_ID))
                    _ = Passwords.hash("correct horse battery staple", cost: cost)
                    wall.append(Self.millis(CLOCK_MONOTONIC) - wallStart)
                    cpu.append(Self.millis(CLOCK_THREAD_CPUTIME_ID) - cpuStart)
                }
                func median(_ v: [Double]) -> Int { Int(v.sorted()[v.count / 2].rounded()) }
                print(JSONLine.object(["cost": cost, "medianMs": median(wall), "cpuMs": median(cpu)]))
            }
        }

        private static func millis(_ clock: clockid_t) -> Double {
            var t = timespec()
            clock_gettime(clock, &t)
            return Double(t.tv_sec) * 1000 + Double(t.tv_nsec) / 1_000_000
        }
    }
}

/// `--bcrypt-cost`, shared by `serve` and `account add`.
struct BcryptCostOption: ParsableArguments {
    @Option(name: .customLong("bcrypt-cost"), help: "bcrypt cost of password hashes, 4 to 16 (env HELFERRUF_BCRYPT_COST; default \(Passwords.defaultCost), about 140 ms a hash; see `account bcrypt-cost`).")
    var bcryptCost: String?

    func value() throws -> Int {
        try Environment.value(bcryptCost, "HELFERRUF_BCRYPT_COST", "--bcrypt-cost", default: Passwords.defaultCost) {
            Int($0).flatMap { Passwords.costRange.contains($0) ? $0 : nil }
        }
    }
}
