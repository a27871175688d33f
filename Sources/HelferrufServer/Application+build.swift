import Foundation
import HelferrufCore
import HelferrufPush
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
    /// `--rate-limits on|off`: switches every abuse limit in ``limits`` on or off.
    public var rateLimits: Bool {
        get { limits.enabled }
        set { limits.enabled = newValue }
    }
    public var limits = RateLimitSettings()
    /// Peers whose `X-Forwarded-For` is believed (a reverse proxy on this host, usually
    /// 127.0.0.1); for everyone else the socket's address is the client's.
    public var trustedProxies: [String] = []
    /// Days after a call ends that its confirmations stop showing helpers' names and
    /// contacts (GDPR storage limitation; docs/SECURITY.md).
    public var retentionDays = 30
    /// `--max-overlapping`: the most confirmations and standby places one volunteer may
    /// hold on calls whose time windows overlap (PROTOCOL.md §11). A rule of the service,
    /// not an abuse limit: `--rate-limits off` leaves it on.
    public var maxOverlapping = Ledger.defaultMaxOverlapping
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
    /// The lowest level logged. `trace` counts as `debug`: at trace the WebSocket library
    /// logs the start of every frame, which can carry a token or coordinates (PROTOCOL.md §1).
    public var logLevel: Logger.Level {
        get { boundedLogLevel }
        set { boundedLogLevel = max(newValue, .debug) }
    }
    private var boundedLogLevel: Logger.Level = .info
    /// How long `/readyz` answers 503 on shutdown before sockets are closed.
    public var drainDelay: Duration = .zero
    /// Web origins besides the server's own that may use the API and sockets from a
    /// browser, e.g. `https://helferruf.aachen.de`.
    public var allowedOrigins: [String] = []
    /// PEM certificate chain and private key; both set serves HTTPS and WSS.
    public var tlsCertificatePath: String?
    public var tlsKeyPath: String?
    /// Console sign-in: bcrypt cost, cookies, session and login limits.
    public var accounts = AccountsConfiguration()
    /// Web Push (PROTOCOL.md §8): subject, allowed push services, fallback, push client.
    public var push = PushSettings()
    /// Called with the bound host and port once the server accepts connections.
    public var onListening: @Sendable (String, Int) -> Void = { _, _ in }

    public init() {}
}

/// Web Push settings (PROTOCOL.md §8).
public struct PushSettings: Sendable {
    /// `--push-subject`: the operator's `mailto:` or `https:` URI, for every VAPID token.
    public var subject = PushSubject.default
    /// `--push-endpoints`: the push services subscriptions may point to.
    public var endpoints = PushEndpointPolicy.standard
    /// `--push-fallback-seconds`: a socket alert without `received` for this long is pushed too.
    public var fallbackSeconds = 10.0
    /// Builds the push client once the server's VAPID key is known: by default the real
    /// Web Push client (``WebPushGateway``); tests put a recording one in its place.
    public var makeGateway: @Sendable (PushGatewayContext) -> any PushGateway = WebPushGateway.standard

    public init() {}
}

/// What a push client needs from the server: the key to sign with, who to name, and where
/// it may send.
public struct PushGatewayContext: Sendable {
    public let vapidKey: VAPIDKey
    public let subject: String
    public let endpoints: PushEndpointPolicy
    /// The server's log level, for the push client's own logger.
    public let logLevel: Logger.Level
}

/// The two ways of serving `/ws/volunteer`; the wire behaviour is the same.
public enum VolunteerSocketPath: String, Sendable, CaseIterable {
    case hummingbird
    case nio
}

/// The running parts of one server, for tests and the command line.
public struct HelferrufServer: Sendable {
    public let store: any RecordStore
    let hub: Hub
    let ledger: any RosterLedger
    /// Runs the graceful shutdown; must come after the application in a `ServiceGroup`.
    public let drainer: any Service
}

/// Runs the server until SIGTERM or SIGINT, then shuts it down gracefully (PROTOCOL.md §6).
public func runServer(_ config: ServerConfiguration, onDemoOrganisation: @Sendable (String) -> Void) async throws {
    let (app, server) = try await buildApplication(config, onDemoOrganisation: onDemoOrganisation)
    var logger = Logger(label: "helferruf")
    logger.logLevel = config.logLevel
    // ServiceGroup shuts services down in reverse order: the deadline is armed first, then
    // the drainer goes, while the HTTP server still runs, so that sockets are closed with
    // 1001 rather than 1000.
    let group = ServiceGroup(configuration: .init(
        services: [
            .init(service: app), .init(service: server.drainer, successTerminationBehavior: .ignore),
            .init(service: StopDeadline(ledger: server.ledger, logger: logger), successTerminationBehavior: .ignore),
        ],
        gracefulShutdownSignals: [.sigterm, .sigint],
        logger: logger))
    try await group.run()
    logger.info("shutdown: the HTTP server stopped")
}

/// Opens the database and wires the ledger, the live state and the HTTP/WebSocket
/// routes into a Hummingbird application.
///
/// - Parameter onDemoOrganisation: called with the JSON line of the Demo organisation when
///   the database had none (printed once by `serve`).
/// The listening socket's queue of connections not yet accepted (the kernel caps it at
/// `net.core.somaxconn`, 4096 here). Hummingbird's default of 256 overflows when thousands of
/// clients reconnect after a restart: the kernel then drops their handshakes, and each such
/// client waits for TCP's retransmission (after 1, 3, 7, 15, 31, 63 s), which made the
/// reconnect storm's last few dozen clients take a minute longer (docs/BENCHMARKS.md).
let listenBacklog = 4096

public func buildApplication(
    _ config: ServerConfiguration,
    clock: @escaping @Sendable () -> Timestamp = { Timestamp.now },
    onDemoOrganisation: @Sendable (String) -> Void = { _ in }
) async throws -> (some ApplicationProtocol, HelferrufServer) {
    var logger = Logger(label: "helferruf")
    logger.logLevel = config.logLevel
    let store = try await openRecordStore(config.databasePath)
    if let (org, token) = try await store.createDemoOrganisationIfEmpty(now: clock()) {
        var w = JSONWriter()
        w.raw("{\"id\":"); w.string(org.id); w.raw(",\"name\":"); w.string(org.name); w.raw(",\"token\":"); w.string(token); w.raw("}")
        onDemoOrganisation(String(decoding: w.bytes, as: UTF8.self))
    }
    let telemetry = Telemetry()
    let ledger = store.makeLedger(clock: clock, maxOverlapping: config.maxOverlapping)
    let vapidKey = try await VAPIDKey(rawRepresentation: store.vapidPrivateKey(now: clock()))
    let gateway = config.push.makeGateway(PushGatewayContext(
        vapidKey: vapidKey, subject: config.push.subject, endpoints: config.push.endpoints, logLevel: config.logLevel))
    let hub = try await Hub(
        store: store, ledger: ledger, clock: clock, telemetry: telemetry, outboxCapacity: config.outboxCapacity,
        push: PushWiring(gateway: gateway, fallbackMillis: Int64((config.push.fallbackSeconds * 1000).rounded())))
    ledger.setCommitHandler { [weak hub] outcomes in hub?.apply(outcomes) }
    ledger.setBatchObserver { [telemetry] changes, duration, _ in telemetry.observeCommit(changes: changes, duration: duration) }

    let limits = RateLimits(config.limits, registry: telemetry.registry)
    let addresses = ClientAddress(trustedProxies: config.trustedProxies)

    let router = Router(context: AppRequestContext.self)
    router.add(middleware: RequestLogMiddleware())
    router.add(middleware: SecurityHeadersMiddleware())
    router.add(middleware: ErrorShapeMiddleware(knownPaths: API.paths.map { ($0.path.split(separator: "/"), $0.methods) }))
    let origins = OriginPolicy(allowed: config.allowedOrigins, tls: config.tlsCertificatePath != nil)
    router.add(middleware: OriginMiddleware(policy: origins))
    router.add(middleware: RateLimitMiddleware(limits: limits, addresses: addresses))
    let accounts = Accounts(store: store, clock: clock, configuration: config.accounts, rateLimits: config.rateLimits, tls: config.tlsCertificatePath != nil)
    API(hub: hub, accounts: accounts, push: PushAPISettings(publicKey: vapidKey.publicKeyBase64URL, endpoints: config.push.endpoints))
        .register(on: router)
    if let web = config.webDirectory {
        WebPages(directory: web).register(on: router)
    }

    let volunteer = VolunteerSocket(hub: hub, helloTimeout: config.helloTimeout)
    let dashboard = DashboardSocket(hub: hub, accounts: accounts, helloTimeout: config.helloTimeout)
    // A foreign or "null" origin, or an address over its limits, is closed with 1008
    // (policy) right after the upgrade, as PROTOCOL.md §4 lists it; Hummingbird answers any
    // refused upgrade with a bare 400.
    let peer: @Sendable (Request, any Channel) -> SocketPeer = { request, channel in
        SocketPeer(
            originAllowed: origins.permits(request),
            address: addresses.key(peer: channel.remoteAddress, headers: request.headers),
            limits: limits)
    }
    var server = socketServer(config, volunteer: volunteer, dashboard: dashboard, peer: peer)
    if let cert = config.tlsCertificatePath, let key = config.tlsKeyPath {
        server = try .tls(server, tlsConfiguration: try TLSFiles.configuration(certificate: cert, key: key))
    }
    let app = Application(
        router: router,
        server: server,
        configuration: .init(address: .hostname(config.host, port: config.port), serverName: nil, backlog: listenBacklog, reuseAddress: true),
        services: [Housekeeper(hub: hub), Retention(store: store, days: config.retentionDays, clock: clock, logger: logger)]
            + (hub.cluster.map { [ClusterSync(hub: hub, link: $0)] } ?? []),
        onServerRunning: { channel in
            config.onListening(config.host, channel.localAddress?.port ?? config.port)
        },
        logger: logger
    )
    return (app, HelferrufServer(store: store, hub: hub, ledger: ledger, drainer: Drainer(hub: hub, unreadyFor: config.drainDelay, logger: logger)))
}

extension Timestamp {
    /// The current wall-clock time.
    public static var now: Timestamp {
        Timestamp(millis: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)))
    }
}
