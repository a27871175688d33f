import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import NIOCore

/// The HTTP server with its two WebSocket routes, `/ws/volunteer` served as configured
/// (``VolunteerSocketPath``) and `/ws/dashboard` always through HummingbirdWebSocket.
///
/// - Parameter peer: what a socket's limits and origin check need, from its upgrade request.
func socketServer(
    _ config: ServerConfiguration, volunteer: VolunteerSocket, dashboard: DashboardSocket,
    peer: @escaping @Sendable (Request, any Channel) -> SocketPeer
) -> HTTPServerBuilder {
    @Sendable func route(_ run: @escaping @Sendable (WebSocketInboundStream, WebSocketOutboundWriter, SocketPeer) async throws -> Void) -> HummingbirdSocketRoute {
        { inbound, outbound, request, channel in
            try await SocketPump.$channel.withValue(channel) { try await run(inbound, outbound, peer(request, channel)) }
        }
    }
    var routes = ["/ws/dashboard": route(dashboard.run)]
    let closeTimeout = Duration.seconds(3)
    let configuration = HTTP1WebSocketUpgradeChannel.Configuration(
        http1: .init(idleTimeout: .seconds(120)),
        // Text messages that are not valid UTF-8 are closed with 1007 (RFC 6455 §8.1).
        ws: .init(
            maxFrameSize: SocketPump.maxMessageBytes, extensions: [], autoPing: .enabled(timePeriod: config.autoPing),
            closeTimeout: closeTimeout, validateUTF8: true)
    )
    switch config.volunteerSocket {
    case .hummingbird:
        routes[SocketUpgradeChannel.volunteerPath] = route(volunteer.run)
        let wsRouter = Router(context: AppWebSocketContext.self)
        for (path, route) in routes {
            wsRouter.ws(RouterPath(path)) { inbound, outbound, context in
                try await route(inbound, outbound, context.request, context.requestContext.channel)
            }
        }
        return .http1WebSocketUpgrade(webSocketRouter: wsRouter, configuration: configuration)
    case .nio:
        let volunteers = VolunteerSocketSetup(
            gate: volunteer.gate, admission: HelloAdmission(limit: config.maxPendingHellos, telemetry: volunteer.hub.telemetry),
            pings: PingSweeps(period: .nanoseconds(config.autoPing.nanoseconds)), closeTimeout: .nanoseconds(closeTimeout.nanoseconds),
            draining: { [hub = volunteer.hub] in hub.isDraining },
            reportFunnel: { [hub = volunteer.hub] in hub.reportFunnelNow(callId: $0, volunteer: $1, stage: $2) })
        return .init { [routes] responder in
            SocketUpgradeChannel(responder: responder, configuration: configuration, routes: routes, volunteers: volunteers, peer: peer)
        }
    }
}
