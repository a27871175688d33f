import ArgumentParser
import Foundation
import HelferrufCore
import HelferrufServer
import HelferrufStore
import Logging
import NIOCore

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the server (the default command).",
        usage: "helferruf serve [<options>]"
    )

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

    @Option(name: .customLong("limit-registrations"), help: "Volunteer registrations per client address, as N/s, N/min or N/h with an optional :BURST (env HELFERRUF_LIMIT_REGISTRATIONS; default 100/h:20).")
    var limitRegistrations: String?

    @Option(name: .customLong("max-overlapping"), help: "Confirmations and standby places one volunteer may hold on calls whose times overlap, 1 to 100; not lifted by --rate-limits off (env HELFERRUF_MAX_OVERLAPPING; default 3).")
    var maxOverlapping: String?

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
        config.maxOverlapping = try Environment.value(maxOverlapping, "HELFERRUF_MAX_OVERLAPPING", "--max-overlapping", default: config.maxOverlapping) {
            Int($0).flatMap { (1...100).contains($0) ? $0 : nil }
        }
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
        // The Demo organisation's id until its banner is printed (once).
        let demo = Shared<String?>(nil)
        let databaseOption = Self.bannerOption(config.databasePath)
        let banner: @Sendable (String?) -> Void = { base in
            // The JSON line is for programs; the banner (plain logs only, so a JSON log stays
            // JSON) is for the person who just ran `swift run helferruf` and would otherwise
            // scroll past the one moment the token is shown.
            guard format == "plain", let id = demo.withLock({ id in defer { id = nil }; return id }) else { return }
            FileHandle.standardError.write(Data(FirstStartBanner.text(organisationId: id, base: base, databaseOption: databaseOption).utf8))
        }
        config.onListening = { host, port in
            FileHandle.standardOutput.write(Data("listening on \(scheme)://\(host):\(port)\n".utf8))
            banner("\(scheme)://\(host):\(port)")
        }
        do {
            try await runServer(config) { line in
                FileHandle.standardOutput.write(Data((line + "\n").utf8))
                let id = (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["id"] as? String
                demo.withLock { $0 = id }
            }
        } catch {
            // A first start that cannot listen has still created the Demo organisation.
            banner(nil)
            if (error as? IOError)?.errnoCode == EADDRINUSE {
                throw ServeFailure("\(config.host):\(config.port) is in use (another Helferruf?); choose another port with --port or HELFERRUF_PORT")
            }
            throw error
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

/// A start that failed, said in one line.
struct ServeFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
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

extension Serve {
    /// `--db` as the first-start banner repeats it: nothing for the default file, and a
    /// PostgreSQL URL without its password (the banner goes to the logs).
    static func bannerOption(_ location: String) -> String? {
        switch DatabaseLocation(location) {
        case .sqlite(let path):
            return path == DatabaseOption.defaultPath ? nil : path
        case .postgres(let url):
            guard let parsed = try? PostgresLocation(url: url) else { return "URL" }
            return "'postgres://\(parsed.username):PASSWORD@\(parsed.host):\(parsed.port)/\(parsed.database)'"
        }
    }
}
