import HTTPTypes
import HelferrufCore
import HelferrufStore
import Hummingbird

/// Settings of organisation accounts: people who sign in to the console.
public struct AccountsConfiguration: Sendable {
    /// bcrypt cost of the dummy hash that unknown addresses are checked against; it must
    /// match the cost the accounts were created with (`account add --bcrypt-cost`).
    public var bcryptCost = Passwords.defaultCost
    /// Whether the session cookie is `Secure` with the `__Host-` prefix; nil means
    /// "when this server serves TLS itself". Set it behind a proxy that terminates TLS.
    public var secureCookies: Bool?
    /// A session ends this long after its last use, and at the latest `sessionLifetime`
    /// after the login.
    public var sessionIdle: Duration = .seconds(12 * 3600)
    public var sessionLifetime: Duration = .seconds(7 * 24 * 3600)
    /// How long a dashboard ticket may wait to be redeemed.
    public var ticketLifetime: Duration = .seconds(30)
    /// Failed logins allowed per e-mail address and per client address in `loginWindow`.
    public var loginFailuresPerAccount = 5
    public var loginFailuresPerClient = 20
    public var loginWindow: Duration = .seconds(15 * 60)

    public init() {}
}

/// Sessions, logins and dashboard tickets of organisation accounts.
///
/// The session secret travels only in an HttpOnly, SameSite=Strict cookie; the CSRF token
/// that state changes must echo in `X-CSRF-Token` is derived from the secret (SHA-256 of
/// "csrf:" + secret), so it needs no storage and cannot be computed from the database.
final class Accounts: Sendable {
    static let csrfHeader = HTTPField.Name("X-CSRF-Token")!

    let store: any RecordStore
    let clock: @Sendable () -> Timestamp
    let passwords: PasswordChecker
    /// nil with `--rate-limits off`.
    let throttle: LoginThrottle?
    let tickets: DashboardTickets
    let limits: SessionLimits
    let cookieName: String
    let secureCookies: Bool

    init(store: any RecordStore, clock: @escaping @Sendable () -> Timestamp, configuration c: AccountsConfiguration, rateLimits: Bool, tls: Bool) {
        self.store = store
        self.clock = clock
        passwords = PasswordChecker(cost: c.bcryptCost)
        throttle = rateLimits
            ? LoginThrottle(limits: .init(perAccount: c.loginFailuresPerAccount, perClient: c.loginFailuresPerClient, windowMillis: c.loginWindow.millis))
            : nil
        tickets = DashboardTickets(lifetimeMillis: c.ticketLifetime.millis)
        limits = SessionLimits(idleMillis: c.sessionIdle.millis, lifetimeMillis: c.sessionLifetime.millis)
        secureCookies = c.secureCookies ?? tls
        // The __Host- prefix makes browsers refuse the cookie unless it is Secure, has
        // Path=/ and no Domain: no sibling subdomain can plant or widen it.
        cookieName = secureCookies ? "__Host-helferruf_session" : "helferruf_session"
    }

    /// The request's session and its secret; nil when the request carries no session
    /// cookie. A cookie of no live session is 401; a state change (any method but GET,
    /// HEAD and OPTIONS) without the session's CSRF token is 403.
    func session(_ req: Request) async throws -> (session: AccountSession, secret: String)? {
        guard let secret = req.cookies[cookieName]?.value else { return nil }
        guard secret.hasPrefix(Tokens.Kind.session.rawValue), secret.utf8.count <= 64,
              let session = try await store.session(secret: secret, now: clock(), limits: limits)
        else { throw APIError.unauthorized }
        if ![HTTPRequest.Method.get, .head, .options].contains(req.method) {
            guard let sent = req.headers[Self.csrfHeader], Self.equalInConstantTime(sent, Self.csrfToken(secret)) else {
                throw APIError.csrf
            }
        }
        return (session, secret)
    }

    static func csrfToken(_ secret: String) -> String {
        Tokens.hash("csrf:" + secret)
    }

    func cookie(_ secret: String) -> Cookie {
        Cookie(name: cookieName, value: secret, path: "/", secure: secureCookies, httpOnly: true, sameSite: .strict)
    }

    /// A cookie that makes the browser forget the session.
    func expiredCookie() -> Cookie {
        Cookie(name: cookieName, value: "", maxAge: 0, path: "/", secure: secureCookies, httpOnly: true, sameSite: .strict)
    }

    /// The organisation a dashboard hello names, by organisation token or by ticket.
    func dashboardOrganisation(hello credential: String) async -> Organisation? {
        guard credential.hasPrefix(Tokens.Kind.ticket.rawValue) else {
            return try? await store.organisation(token: credential)
        }
        guard let orgId = tickets.redeem(credential, now: clock()) else { return nil }
        return try? await store.enabledOrganisation(id: orgId)
    }

    /// Compares two strings in time that depends only on their lengths.
    static func equalInConstantTime(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

extension APIError {
    static let csrf = APIError(status: .forbidden, code: "forbidden", message: "missing or wrong X-CSRF-Token header")
    static let badLogin = APIError(status: .unauthorized, code: "unauthorized", message: "wrong e-mail address or password")

    static func loginThrottled(retryAfterMillis: Int64) -> APIError {
        var e = APIError(status: .tooManyRequests, code: "rate_limited", message: "too many failed logins, try again later")
        e.headers[.retryAfter] = String(max(1, (retryAfterMillis + 999) / 1000))
        return e
    }
}

extension Duration {
    var millis: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
