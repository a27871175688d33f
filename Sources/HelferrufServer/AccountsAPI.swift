import HelferrufCore
import HelferrufStore
import Hummingbird

/// `POST /session {"email","password"}`: the body of a login.
struct LoginInput: Decodable {
    var email: String
    var password: String
}

/// Console sign-in over HTTP: `/api/v1/session` (login, current session, logout) and
/// `/api/v1/session/dashboard-ticket`.
extension API {
    static let sessionPaths = ["/api/v1/session", "/api/v1/session/dashboard-ticket"]

    func registerSessions(on v1: RouterGroup<AppRequestContext>) {
        v1.post("session") { req, ctx in try await login(req, ctx) }
        v1.get("session") { req, _ in
            let (session, secret) = try await signedIn(req)
            return json(sessionBody(session.account, session.organisation, secret: secret))
        }
        v1.delete("session") { req, _ in
            let (_, secret) = try await signedIn(req)
            try await storeWrite { try await store.deleteSession(secret: secret) }
            var response = Response(status: .noContent)
            response.setCookie(accounts.expiredCookie())
            return response
        }
        v1.post("session/dashboard-ticket") { req, _ in
            let (session, _) = try await signedIn(req)
            try await drainBody(req)
            let (ticket, expires) = accounts.tickets.issue(orgId: session.organisation.id, now: now())
            var w = JSONWriter()
            w.raw("{\"ticket\":"); w.string(ticket); w.raw(",\"expiresAt\":"); w.string(RFC3339.format(expires)); w.raw("}")
            return json(w.bytes)
        }
    }

    /// Checks the password (always with bcrypt, also for unknown addresses), then starts
    /// a session. Wrong address and wrong password get the same 401.
    func login(_ req: Request, _ ctx: AppRequestContext) async throws -> Response {
        let input = try await body(LoginInput.self, req)
        let email = input.email.trimmingWhitespace().lowercased()
        // The throttle keys on a hash: an address can be 64 KiB long.
        let emailKey = Tokens.hash(email)
        var attempt: LoginThrottle.Attempt?
        if let throttle = accounts.throttle {
            switch throttle.begin(email: emailKey, client: ctx.clientIP, now: now().millis) {
            case .success(let a): attempt = a
            case .failure(let refusal): throw APIError.loginThrottled(retryAfterMillis: refusal.retryAfterMillis)
            }
        }
        // Only a well-formed address reaches the database: SQLite would read a bound string
        // only up to a NUL byte, so "anna@x.de\0…" would find Anna under a throttle key of
        // its own.
        let candidate = (try? Rules.email(email)) == nil ? nil : try await store.loginCandidate(email: email)
        let matches: Bool
        do {
            matches = try await accounts.passwords.check(input.password, against: candidate?.passwordHash)
        } catch is PasswordChecker.Failure {
            var busy = APIError.unavailable
            busy.message = "too many logins at once, try again"
            busy.headers[.retryAfter] = "1"
            throw busy
        }
        guard matches, let candidate else { throw APIError.badLogin }
        if let throttle = accounts.throttle, let attempt { throttle.succeeded(email: emailKey, client: ctx.clientIP, attempt: attempt) }
        let secret = try await storeWrite {
            try await store.createSession(accountId: candidate.account.id, now: now(), limits: accounts.limits)
        }
        var response = json(sessionBody(candidate.account, candidate.organisation, secret: secret))
        response.setCookie(accounts.cookie(secret))
        return response
    }

    /// The request's live session; 401 without one.
    func signedIn(_ req: Request) async throws -> (AccountSession, String) {
        guard let found = try await accounts.session(req) else { throw APIError.unauthorized }
        return found
    }

    func sessionBody(_ account: Account, _ organisation: Organisation, secret: String) -> [UInt8] {
        var w = JSONWriter()
        w.raw("{\"orgId\":"); w.string(organisation.id)
        w.raw(",\"orgName\":"); w.string(organisation.name)
        w.raw(",\"email\":"); w.string(account.email)
        w.raw(",\"csrfToken\":"); w.string(Accounts.csrfToken(secret))
        w.raw("}")
        return w.bytes
    }
}
