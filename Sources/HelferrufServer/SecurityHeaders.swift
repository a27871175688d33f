import HTTPTypes
import Hummingbird

/// Hardening headers on every response: a Content-Security-Policy without inline script
/// or style (the pages need none), no framing, no MIME sniffing, no referrer. Web files are
/// revalidated on each load so that a deploy never leaves old modules in a browser.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    static var contentSecurityPolicy: String {
        "default-src 'self'; img-src 'self' data: https:; connect-src 'self'; style-src 'self'; script-src 'self'; "
            + "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            var response = try await next(request, context)
            Self.apply(&response.headers, path: request.uri.path)
            return response
        } catch let error as APIError {
            var withHeaders = error
            Self.apply(&withHeaders.headers, path: request.uri.path)
            throw withHeaders
        }
    }

    static func apply(_ headers: inout HTTPFields, path: String) {
        headers[.contentSecurityPolicy] = contentSecurityPolicy
        headers[.xContentTypeOptions] = "nosniff"
        headers[.referrerPolicy] = "no-referrer"
        headers[.xFrameOptions] = "DENY"
        if !path.hasPrefix("/api/") && headers[.cacheControl] == nil {
            headers[.cacheControl] = "no-cache"
        } else if path.hasPrefix("/api/") {
            headers[.cacheControl] = "no-store"
        }
    }
}

extension HTTPField.Name {
    static let xFrameOptions = Self("X-Frame-Options")!
    static let referrerPolicy = Self("Referrer-Policy")!
}
