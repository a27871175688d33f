import Foundation
import HTTPTypes
import HelferrufCore
import HelferrufServer
import HelferrufStore
import Testing

/// Console sign-in: logins, session cookies, CSRF, dashboard tickets, throttling.
@Suite(.serialized) struct AccountTests {
    static let password = "richtig-langes-Passwort"

    /// A server with fast bcrypt and one account "anna@example.org" in the Demo organisation.
    func server(cost: Int = 4, _ configure: (inout ServerConfiguration) -> Void = { _ in }) async throws -> LiveServer {
        let s = try await LiveServer.start {
            $0.accounts.bcryptCost = cost
            configure(&$0)
        }
        let org = try #require(try s.store.organisations().first)
        _ = try s.store.createAccount(orgId: org.id, email: "anna@example.org", passwordHash: Passwords.hash(Self.password, cost: cost), now: .now)
        return s
    }

    func login(_ s: LiveServer, _ email: String = "Anna@Example.org", _ password: String = password) async throws -> (status: Int, text: String, headers: HTTPFields) {
        let body = String(decoding: try JSONSerialization.data(withJSONObject: ["email": email, "password": password]), as: UTF8.self)
        return try await s.httpText(.post, "/api/v1/session", body: body)
    }

    /// Logs in and returns the cookie header value and the CSRF token.
    func signIn(_ s: LiveServer) async throws -> (cookie: String, csrf: String) {
        let r = try await login(s)
        try #require(r.status == 200, "login: \(r.text)")
        let setCookie = try #require(r.headers[.setCookie])
        let pair = String(setCookie.split(separator: ";")[0])
        return (pair, try #require(object(r.text)["csrfToken"] as? String))
    }

    func object(_ text: String) -> JSON {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? JSON ?? [:]
    }

    func headers(cookie: String, csrf: String? = nil) -> HTTPFields {
        var h: HTTPFields = [.cookie: cookie]
        if let csrf { h[HTTPField.Name("X-CSRF-Token")!] = csrf }
        return h
    }

    @Test func loginSetsAStrictHttpOnlyCookieAndTheSessionAnswers() async throws {
        let s = try await server()
        defer { Task { try? await s.stop() } }
        let r = try await login(s)
        #expect(r.status == 200)
        let body = object(r.text)
        #expect(body["orgName"] as? String == "Demo" && body["email"] as? String == "anna@example.org")
        #expect((body["orgId"] as? String)?.isEmpty == false && (body["csrfToken"] as? String)?.count == 64)
        let cookie = try #require(r.headers[.setCookie])
        #expect(cookie.hasPrefix("helferruf_session=hrs_"))
        let flags = Set(cookie.split(separator: ";").dropFirst().map { $0.trimmingCharacters(in: .whitespaces) })
        #expect(flags == ["Path=/", "HttpOnly", "SameSite=Strict"], "\(cookie)")
        #expect(!r.text.contains("hrs_"), "the session secret travels only in the cookie")

        let (pair, csrf) = try await signIn(s)
        let me = try await s.httpText(.get, "/api/v1/session", headers: headers(cookie: pair))
        #expect(me.status == 200 && object(me.text)["csrfToken"] as? String == csrf && object(me.text)["orgName"] as? String == "Demo")
        #expect(try await s.httpText(.get, "/api/v1/session").status == 401)
        #expect(try await s.httpText(.get, "/api/v1/session", headers: [.cookie: "helferruf_session=hrs_forged"]).status == 401)
        #expect(try await s.httpText(.get, "/api/v1/session", headers: [.cookie: "helferruf_session=\(String(repeating: "x", count: 5000))"]).status == 401)
        #expect(try await s.httpText(.put, "/api/v1/session").status == 405)
    }

    @Test func secureCookiesUseTheHostPrefix() async throws {
        let s = try await server { $0.accounts.secureCookies = true }
        defer { Task { try? await s.stop() } }
        let cookie = try #require(try await login(s).headers[.setCookie])
        #expect(cookie.hasPrefix("__Host-helferruf_session=hrs_"))
        let flags = Set(cookie.split(separator: ";").dropFirst().map { $0.trimmingCharacters(in: .whitespaces) })
        #expect(flags == ["Path=/", "HttpOnly", "SameSite=Strict", "Secure"], "\(cookie)")
        // The plain name is not read when cookies are secure.
        let value = cookie.split(separator: ";")[0].split(separator: "=", maxSplits: 1)[1]
        #expect(try await s.httpText(.get, "/api/v1/session", headers: [.cookie: "helferruf_session=\(value)"]).status == 401)
        #expect(try await s.httpText(.get, "/api/v1/session", headers: [.cookie: "__Host-helferruf_session=\(value)"]).status == 200)
    }

    @Test func wrongPasswordUnknownAddressAndDisabledAccountLookAlike() async throws {
        let s = try await server(cost: 10)
        defer { Task { try? await s.stop() } }
        let other = try s.store.createOrganisation(name: "Other", now: .now).0
        _ = try s.store.createAccount(orgId: other.id, email: "ben@example.org", passwordHash: Passwords.hash(Self.password, cost: 10), now: .now)
        #expect(try s.store.setAccountDisabled(email: "ben@example.org", true))

        let kinds = [("wrong", "anna@example.org", "falsches-Passwort-123"), ("unknown", "nobody@example.org", Self.password), ("disabled", "ben@example.org", Self.password)]
        var times: [String: [Duration]] = [:]
        var last: [String: (status: Int, text: String)] = [:]
        // Four rounds (the fifth failure for one address would start its throttle), the three
        // kinds taking turns within each, so that the rest of the suite's load, which comes
        // and goes, weighs on all three alike.
        for _ in 0..<4 {
            for (name, email, password) in kinds {
                let start = ContinuousClock.now
                let answer = try await login(s, email, password)
                times[name, default: []].append(ContinuousClock.now - start)
                last[name] = (answer.status, answer.text)
                #expect(answer.headers[.setCookie] == nil)
            }
        }
        var answers: [String: (Int, String, Duration)] = [:]
        for (name, _, _) in kinds {
            let answer = try #require(last[name])
            answers[name] = (answer.status, answer.text, try #require(times[name]).sorted()[1])
        }
        let wrong = try #require(answers["wrong"]), unknown = try #require(answers["unknown"]), disabled = try #require(answers["disabled"])
        #expect(wrong.0 == 401 && object(wrong.1)["error"] as? JSON != nil)
        #expect(unknown.0 == wrong.0 && unknown.1 == wrong.1 && disabled.0 == wrong.0 && disabled.1 == wrong.1)
        // Every answer ran bcrypt: an unknown address takes about as long as a wrong password
        // (lower medians of four; the bound is loose because the machine may be shared).
        #expect(unknown.2 > wrong.2 / 4 && disabled.2 > wrong.2 / 4, "wrong \(wrong.2), unknown \(unknown.2), disabled \(disabled.2)")
        #expect(try await login(s).status == 200)
    }

    @Test func failedLoginsAreThrottledPerAccountAndPerClient() async throws {
        let s = try await server { $0.accounts.loginFailuresPerClient = 12 }
        defer { Task { try? await s.stop() } }
        for _ in 0..<5 { #expect(try await login(s, "anna@example.org", "falsches-Passwort-123").status == 401) }
        // The sixth try is refused before the password is looked at, even the right one.
        let refused = try await login(s)
        #expect(refused.status == 429 && object(refused.text)["error"].flatMap { ($0 as? JSON)?["code"] as? String } == "rate_limited")
        let retry = try #require(refused.headers[.retryAfter].flatMap { Int($0) })
        #expect((1...900).contains(retry))
        // An unknown address is throttled exactly alike: a 429 tells nothing.
        for _ in 0..<5 { #expect(try await login(s, "nobody@example.org", "x").status == 401) }
        #expect(try await login(s, "nobody@example.org", "x").status == 429)
        // Per client: 12 failures from 127.0.0.1 in all, whatever the address.
        for i in 0..<2 { #expect(try await login(s, "spray\(i)@example.org", "x").status == 401) }
        #expect(try await login(s, "fresh@example.org", "x").status == 429)

        let off = try await server { $0.rateLimits = false }
        defer { Task { try? await off.stop() } }
        for _ in 0..<8 { #expect(try await login(off, "anna@example.org", "falsch").status == 401) }
        #expect(try await login(off).status == 200)
    }

    @Test func cookieStateChangesNeedTheCSRFToken() async throws {
        let s = try await server()
        defer { Task { try? await s.stop() } }
        let (cookie, csrf) = try await signIn(s)
        let end = RFC3339.format(Timestamp.now.adding(seconds: 3600))
        let call = #"{"title":"Deich","location":{"lat":50.77,"lon":6.08},"radiusKm":5,"needed":3,"endsAt":"\#(end)"}"#
        #expect(try await s.httpText(.get, "/api/v1/calls", headers: headers(cookie: cookie)).status == 200)
        #expect(try await s.httpText(.get, "/api/v1/reach?lat=50.77&lon=6.08&radiusKm=5", headers: headers(cookie: cookie)).status == 200)
        // Each forgery differs from the real token (a token ending in "0" once made the
        // "last character changed" case the token itself).
        let lastChanged = String(csrf.dropLast()) + (csrf.last == "0" ? "1" : "0")
        var forgeries: [String?] = [nil, "", lastChanged]
        if csrf.uppercased() != csrf { forgeries.append(csrf.uppercased()) }
        for bad in forgeries {
            let r = try await s.httpText(.post, "/api/v1/calls", body: call, headers: headers(cookie: cookie, csrf: bad))
            #expect(r.status == 403 && r.text.contains("\"forbidden\""), "\(String(describing: bad)): \(r.text)")
        }
        let created = try await s.httpText(.post, "/api/v1/calls", body: call, headers: headers(cookie: cookie, csrf: csrf))
        #expect(created.status == 201)
        let id = try #require(object(created.text)["id"] as? String)
        #expect(try await s.httpText(.get, "/api/v1/calls/\(id)/confirmations", headers: headers(cookie: cookie)).status == 200)
        #expect(try await s.httpText(.post, "/api/v1/calls/\(id)/cancel", headers: headers(cookie: cookie)).status == 403)
        #expect(try await s.httpText(.post, "/api/v1/calls/\(id)/cancel", headers: headers(cookie: cookie, csrf: csrf)).status == 200)
        // A session is an organisation: volunteer routes refuse it.
        #expect(try await s.httpText(.get, "/api/v1/volunteers/me", headers: headers(cookie: cookie)).status == 403)
        // A bearer token needs no CSRF header, and wins over a cookie.
        #expect(try await s.httpText(.post, "/api/v1/calls", token: s.demoToken, body: call, headers: headers(cookie: "helferruf_session=hrs_forged")).status == 201)
        #expect(try await s.httpText(.delete, "/api/v1/session", headers: headers(cookie: cookie)).status == 403)
    }

    @Test func logoutEndsTheSession() async throws {
        let s = try await server()
        defer { Task { try? await s.stop() } }
        let (cookie, csrf) = try await signIn(s)
        let (other, _) = try await signIn(s)
        let out = try await s.httpText(.delete, "/api/v1/session", headers: headers(cookie: cookie, csrf: csrf))
        #expect(out.status == 204)
        let cleared = try #require(out.headers[.setCookie])
        #expect(cleared.hasPrefix("helferruf_session=;") && cleared.contains("Max-Age=0"))
        #expect(try await s.httpText(.get, "/api/v1/session", headers: headers(cookie: cookie)).status == 401)
        #expect(try await s.httpText(.get, "/api/v1/calls", headers: headers(cookie: cookie)).status == 401)
        #expect(try await s.httpText(.delete, "/api/v1/session", headers: headers(cookie: cookie, csrf: csrf)).status == 401)
        // Other sessions of the same person go on.
        #expect(try await s.httpText(.get, "/api/v1/session", headers: headers(cookie: other)).status == 200)
    }

    @Test func disablingAnAccountEndsItsSessions() async throws {
        let s = try await server()
        defer { Task { try? await s.stop() } }
        let (cookie, _) = try await signIn(s)
        #expect(try s.store.setAccountDisabled(email: "anna@example.org", true))
        #expect(try await s.httpText(.get, "/api/v1/calls", headers: headers(cookie: cookie)).status == 401)
        #expect(try await login(s).status == 401)
        #expect(try s.store.setAccountDisabled(email: "anna@example.org", false))
        #expect(try await login(s).status == 200)
    }

    @Test func idleSessionsEnd() async throws {
        let s = try await server { $0.accounts.sessionIdle = .milliseconds(600) }
        defer { Task { try? await s.stop() } }
        let (cookie, _) = try await signIn(s)
        #expect(try await s.httpText(.get, "/api/v1/session", headers: headers(cookie: cookie)).status == 200)
        try await Task.sleep(for: .milliseconds(800))
        #expect(try await s.httpText(.get, "/api/v1/session", headers: headers(cookie: cookie)).status == 401)
    }

    @Test func dashboardTicketsAreSingleUseShortLivedAndBoundToTheOrganisation() async throws {
        let s = try await server { $0.accounts.ticketLifetime = .milliseconds(500) }
        defer { Task { try? await s.stop() } }
        let (cookie, csrf) = try await signIn(s)
        _ = try await s.call(title: "Vorher")
        #expect(try await s.httpText(.post, "/api/v1/session/dashboard-ticket", headers: headers(cookie: cookie)).status == 403)
        #expect(try await s.httpText(.post, "/api/v1/session/dashboard-ticket", token: s.demoToken).status == 401)
        func ticket() async throws -> String {
            let r = try await s.httpText(.post, "/api/v1/session/dashboard-ticket", headers: headers(cookie: cookie, csrf: csrf))
            try #require(r.status == 200, "\(r.text)")
            let expires = try #require((object(r.text)["expiresAt"] as? String).flatMap(RFC3339.parse))
            #expect(expires > Timestamp.now && expires <= Timestamp.now.adding(seconds: 1))
            return try #require(object(r.text)["ticket"] as? String)
        }
        let first = try await ticket()
        let d = try await s.ws("/ws/dashboard")
        d.send(["type": "hello", "ticket": first])
        #expect((try await d.receive(type: "snapshot")["calls"] as? [JSON])?.first?["title"] as? String == "Vorher")
        d.close()
        // Used once: gone.
        let again = try await s.ws("/ws/dashboard")
        again.send(["type": "hello", "ticket": first])
        #expect(try await again.closeCode() == 4401)
        // Expired.
        let late = try await ticket()
        try await Task.sleep(for: .milliseconds(700))
        let expired = try await s.ws("/ws/dashboard")
        expired.send(["type": "hello", "ticket": late])
        #expect(try await expired.closeCode() == 4401)
        // Not for volunteer sockets, and each credential in its own field.
        let volunteer = try await s.ws("/ws/volunteer")
        volunteer.send(["type": "hello", "ticket": try await ticket()])
        #expect(try await volunteer.closeCode() == 4401)
        let misplaced = try await s.ws("/ws/dashboard")
        misplaced.send(["type": "hello", "token": try await ticket()])
        #expect(try await misplaced.closeCode() == 4400)
        let tokenAsTicket = try await s.ws("/ws/dashboard")
        tokenAsTicket.send(["type": "hello", "ticket": s.demoToken])
        #expect(try await tokenAsTicket.closeCode() == 4400)
    }

    @Test func rotatedOrganisationTokenStopsAtOnce() async throws {
        let s = try await server()
        defer { Task { try? await s.stop() } }
        let org = try #require(try s.store.organisations().first)
        let live = try await s.ws("/ws/dashboard")
        live.send(["type": "hello", "token": s.demoToken])
        _ = try await live.receive(type: "snapshot")
        let fresh = try #require(try s.store.rotateOrganisationToken(id: org.id))
        #expect(try await s.http(.get, "/api/v1/calls", token: s.demoToken).status == 401)
        let old = try await s.ws("/ws/dashboard")
        old.send(["type": "hello", "token": s.demoToken])
        #expect(try await old.closeCode() == 4401)
        #expect(try await s.http(.get, "/api/v1/calls", token: fresh).status == 200)
        let new = try await s.ws("/ws/dashboard")
        new.send(["type": "hello", "token": fresh])
        _ = try await new.receive(type: "snapshot")
        // Sessions of the organisation's accounts do not depend on the token.
        #expect(try await login(s).status == 200)
        live.close()
        new.close()
    }

    @Test func hostileLoginBodies() async throws {
        let s = try await server()
        defer { Task { try? await s.stop() } }
        let cases: [(String, Int)] = [
            ("", 400), ("[]", 400), ("{", 400), (#"{"email":1,"password":"x"}"#, 422), (#"{"email":"a@b.de"}"#, 422),
            (#"{"email":null,"password":"x"}"#, 422), (#"{"email":"anna@example.org","password":["x"]}"#, 422),
            (#"{"email":"\#(String(repeating: "a", count: 60_000))@x.de","password":"x"}"#, 401),
            (#"{"email":"anna@example.org","password":"\#(String(repeating: "p", count: 60_000))"}"#, 401),
            (#"{"email":"anna@example.org\u0000","password":"richtig-langes-Passwort"}"#, 401),
            (String(repeating: " ", count: 70_000), 413),
        ]
        for (body, status) in cases {
            let r = try await s.httpText(.post, "/api/v1/session", body: body)
            #expect(r.status == status && r.text.contains("\"error\""), "\(body.prefix(60)): \(r.status) \(r.text.prefix(200))")
        }
        #expect(try await login(s).status == 200)
    }
}
