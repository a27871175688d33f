import HTTPTypes
import Hummingbird

/// Applies the HTTP limits before a request reaches its route: requests per bearer token,
/// and registrations (`POST /api/v1/volunteers`) per client address. Over a limit the
/// answer is 429 `rate_limited` with `Retry-After` in seconds.
///
/// The token is counted as presented, before it is looked up, so that a flood with one
/// token (valid or not) stops here without touching the database.
struct RateLimitMiddleware<Context: RemoteAddressRequestContext>: RouterMiddleware {
    let limits: RateLimits
    let addresses: ClientAddress

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard limits.settings.enabled else { return try await next(request, context) }
        if let token = Self.bearerToken(request), let wait = limits.request(token) {
            throw APIError.rateLimited(retryAfter: wait)
        }
        if request.method == .post, request.uri.path == "/api/v1/volunteers" {
            let address = addresses.key(peer: context.remoteAddress, headers: request.headers)
            if let wait = limits.registration(address) { throw APIError.rateLimited(retryAfter: wait) }
        }
        return try await next(request, context)
    }

    /// The bearer token, bounded in length like the API's own check.
    static func bearerToken(_ request: Request) -> String? {
        guard let header = request.headers[.authorization] else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty || token.utf8.count > 256 ? nil : token
    }
}

extension APIError {
    static func rateLimited(retryAfter seconds: Int) -> APIError {
        APIError(
            status: .tooManyRequests, code: "rate_limited", message: "too many requests; retry after \(seconds) s",
            headers: [.retryAfter: String(seconds)])
    }
}
