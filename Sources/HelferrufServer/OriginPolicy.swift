import Foundation
import HTTPTypes
import Hummingbird

/// Which web origins may open sockets and call the API from a browser.
///
/// A browser always sends `Origin` on WebSocket upgrades and cross-site requests, so a
/// foreign page cannot ride on a volunteer's open tab: its upgrade is refused with 403.
/// A request without `Origin` is not from a browser page and goes on to the normal token
/// check, and so does a `ws:`/`wss:` origin, which only native client libraries send.
/// The server's own origin (scheme and `Host` of the request) is always allowed;
/// more can be configured (`--allowed-origins`).
struct OriginPolicy: Sendable {
    let allowed: Set<String>
    let scheme: String

    init(allowed: [String], tls: Bool) {
        self.allowed = Set(allowed.map { $0.lowercased() })
        scheme = tls ? "https" : "http"
    }

    /// Whether the request may proceed. Every `Origin` value must pass (a request with
    /// two is suspicious, and a proxy may have added one).
    func permits(_ request: Request) -> Bool {
        let values = request.headers[values: .origin].flatMap { $0.split(separator: ",") }
        return values.allSatisfy {
            permits(origin: $0.trimmingCharacters(in: .whitespaces).lowercased(), authority: request.head.authority?.lowercased())
        }
    }

    private func permits(origin: String, authority: String?) -> Bool {
        if origin == "null" { return false }
        // Browsers only ever send http(s) origins (or "null"); a ws(s) origin comes from a
        // native client library, which no web page can drive, so the token check decides.
        if origin.hasPrefix("ws://") || origin.hasPrefix("wss://") { return true }
        if allowed.contains(origin) { return true }
        guard let authority else { return false }
        return origin == "\(scheme)://\(authority)"
    }

    /// An origin other than the server's own that may call the API (CORS).
    func isCrossOriginAllowed(_ origin: String) -> Bool {
        allowed.contains(origin.lowercased())
    }

    static let forbidden = APIError(status: .forbidden, code: "forbidden", message: "origin not allowed")
}

/// Applies the ``OriginPolicy`` to HTTP requests: a foreign origin is refused with 403;
/// configured extra origins get CORS headers, and their preflight requests an answer.
struct OriginMiddleware<Context: RequestContext>: RouterMiddleware {
    let policy: OriginPolicy

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin = request.headers[.origin] else { return try await next(request, context) }
        guard policy.permits(request) else { throw OriginPolicy.forbidden }
        guard policy.isCrossOriginAllowed(origin) else { return try await next(request, context) }
        var response: Response
        if request.method == .options {
            response = Response(status: .noContent)
            response.headers[.accessControlAllowMethods] = "GET, POST, PATCH, DELETE"
            response.headers[.accessControlAllowHeaders] = "Authorization, Content-Type"
            response.headers[.accessControlMaxAge] = "600"
        } else {
            response = try await next(request, context)
        }
        response.headers[.accessControlAllowOrigin] = origin
        response.headers[.vary] = "Origin"
        return response
    }
}
