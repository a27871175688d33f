import Foundation
import HelferrufCore
import HelferrufStore
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HummingbirdWebSocket
import Logging
import NIOCore
import ServiceLifecycle

/// Everything `helferruf serve` can be told.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var databasePath = "./helferruf-data/helferruf.sqlite"
    /// Folder of the web pages; nil serves none.
    public var webDirectory: String?
    public var rateLimits = true
    public var helloTimeout: Duration = .seconds(10)
    /// Ping period of every socket; one that has not answered a ping by the next is closed.
    public var autoPing: Duration = .seconds(20)
    /// How `/ws/volunteer` is served: by channel handlers (`nio`, no task per socket) or by
    /// HummingbirdWebSocket (`hummingbird`, the earlier path, kept as a fallback and for comparison).
    public var volunteerSocket = VolunteerSocketPath.nio
    /// Volunteer sockets (NIO path) upgraded but not yet past their hello, beyond which new
    /// upgrades are answered 503 with `Retry-After` (reconnect storms).
    public var maxPendingHellos = 512
    /// Frames a socket may have queued before it counts as too slow (closed with 1013).
    public var outboxCapacity = 1024
    public var logLevel: Logger.Level = .info
    /// How long `/readyz` answers 503 on shutdown before sockets are closed.
    public var drainDelay: Duration = .zero
    /// Web origins besides the server's own that may use the API and sockets from a
    /// browser, e.g. `https://helferruf.aachen.de`.
    public var allowedOrigins: [String] = []
    /// PEM certificate chain and private key; both set serves HTTPS and WSS.
    public var tlsCertificatePath: String?
    public var tlsKeyPath: String?
    /// Called with the bound host and port once the server accepts connections.
    public var onListening: @Sendable (String, Int) -> Void = { _, _ in }

    public init() {}
}

/// The two ways of serving `/ws/volunteer`; the wire behaviour is the same.
public enum VolunteerSocketPath: String, Sendable, CaseIterable {
    case hummingbird
    case nio
}

/// The running parts of one server, for tests and the command line.
public struct HelferrufServer: Sendable {
    public let store: Store
    let hub: Hub
    let ledger: Ledger
    /// Runs the graceful shutdown; must come after the application in a `ServiceGroup`.
    public let drainer: any Service
}

/// Runs the server until SIGTERM or SIGINT, then shuts it down gracefully (PROTOCOL.md §6).
public func runServer(_ config: ServerConfiguration, onDemoOrganisation: @Sendable (String) -> Void) async throws {
    let (app, server) = try await buildApplication(config, onDemoOrganisation: onDemoOrganisation)
    var logger = Logger(label: "helferruf")
    logger.logLevel = config.logLevel
    // ServiceGroup shuts services down in reverse order: the drainer goes first, while the
    // HTTP server still runs, so that sockets are closed with 1001 rather than 1000.
    let group = ServiceGroup(configuration: .init(
        services: [.init(service: app), .init(service: server.drainer, successTerminationBehavior: .ignore)],
        gracefulShutdownSignals: [.sigterm, .sigint],
        logger: logger))
    try await group.run()
}

/// Opens the database and wires the ledger, the live state and the HTTP/WebSocket
/// routes into a Hummingbird application.
///
/// - Parameter onDemoOrganisation: called with the JSON line of the Demo organisation when
///   the database had none (printed once by `serve`).
public func buildApplication(
    _ config: ServerConfiguration,
    clock: @escaping @Sendable () -> Timestamp = { Timestamp.now },
    onDemoOrganisation: @Sendable (String) -> Void = { _ in }
) async throws -> (some ApplicationProtocol, HelferrufServer) {
    var logger = Logger(label: "helferruf")
    logger.logLevel = config.logLevel
    let store = try Store(path: config.databasePath)
    if let (org, token) = try store.createDemoOrganisationIfEmpty(now: clock()) {
        var w = JSONWriter()
        w.raw("{\"id\":"); w.string(org.id); w.raw(",\"name\":"); w.string(org.name); w.raw(",\"token\":"); w.string(token); w.raw("}")
        onDemoOrganisation(String(decoding: w.bytes, as: UTF8.self))
    }
    let telemetry = Telemetry()
    let ledger = Ledger(store: store, clock: clock)
    let hub = try Hub(store: store, ledger: ledger, clock: clock, telemetry: telemetry, outboxCapacity: config.outboxCapacity)
    ledger.setCommitHandler { [weak hub] outcomes in hub?.apply(outcomes) }
    ledger.setBatchObserver { [telemetry] changes, duration, _ in telemetry.observeCommit(changes: changes, duration: duration) }

    let router = Router(context: AppRequestContext.self)
    router.add(middleware: RequestLogMiddleware())
    router.add(middleware: SecurityHeadersMiddleware())
    router.add(middleware: ErrorShapeMiddleware(knownPaths: API.paths.map { $0.split(separator: "/") }))
    let origins = OriginPolicy(allowed: config.allowedOrigins, tls: config.tlsCertificatePath != nil)
    router.add(middleware: OriginMiddleware(policy: origins))
    API(hub: hub).register(on: router)
    if let web = config.webDirectory {
        WebPages(directory: web).register(on: router)
    }

    let volunteer = VolunteerSocket(hub: hub, helloTimeout: config.helloTimeout)
    let dashboard = DashboardSocket(hub: hub, helloTimeout: config.helloTimeout)
    // A foreign or "null" origin is closed with 1008 (policy) right after the upgrade, as
    // PROTOCOL.md §4 lists it; Hummingbird answers any refused upgrade with a bare 400.
    @Sendable func route(_ run: @escaping @Sendable (WebSocketInboundStream, WebSocketOutboundWriter, Bool) async throws -> Void) -> HummingbirdSocketRoute {
        { inbound, outbound, request, channel in
            try await SocketPump.$channel.withValue(channel) { try await run(inbound, outbound, origins.permits(request)) }
        }
    }
    var routes = ["/ws/dashboard": route(dashboard.run)]
    let autoPing = config.autoPing, closeTimeout = Duration.seconds(3)
    let wsConfiguration = HTTP1WebSocketUpgradeChannel.Configuration(
        http1: .init(idleTimeout: .seconds(120)),
        // Text messages that are not valid UTF-8 are closed with 1007 (RFC 6455 §8.1).
        ws: .init(maxFrameSize: SocketPump.maxMessageBytes, extensions: [], autoPing: .enabled(timePeriod: autoPing), closeTimeout: closeTimeout, validateUTF8: true)
    )
    var server: HTTPServerBuilder
    switch config.volunteerSocket {
    case .hummingbird:
        routes[SocketUpgradeChannel.volunteerPath] = route(volunteer.run)
        let wsRouter = Router(context: AppWebSocketContext.self)
        for (path, route) in routes {
            wsRouter.ws(RouterPath(path)) { inbound, outbound, context in
                try await route(inbound, outbound, context.request, context.requestContext.channel)
            }
        }
        server = .http1WebSocketUpgrade(webSocketRouter: wsRouter, configuration: wsConfiguration)
    case .nio:
        let volunteers = VolunteerSocketSetup(
            gate: volunteer.gate, admission: HelloAdmission(limit: config.maxPendingHellos),
            autoPing: .nanoseconds(autoPing.nanoseconds), closeTimeout: .nanoseconds(closeTimeout.nanoseconds))
        server = .init { [routes] responder in
            SocketUpgradeChannel(responder: responder, configuration: wsConfiguration, routes: routes, volunteers: volunteers, origins: origins)
        }
    }
    if let cert = config.tlsCertificatePath, let key = config.tlsKeyPath {
        server = try .tls(server, tlsConfiguration: try TLSFiles.configuration(certificate: cert, key: key))
    }
    let app = Application(
        router: router,
        server: server,
        configuration: .init(address: .hostname(config.host, port: config.port), serverName: nil, reuseAddress: true),
        services: [Housekeeper(hub: hub)],
        onServerRunning: { channel in
            config.onListening(config.host, channel.localAddress?.port ?? config.port)
        },
        logger: logger
    )
    return (app, HelferrufServer(store: store, hub: hub, ledger: ledger, drainer: Drainer(hub: hub, unreadyFor: config.drainDelay)))
}

extension Timestamp {
    /// The current wall-clock time.
    public static var now: Timestamp {
        Timestamp(millis: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)))
    }
}
