import Foundation
import HTTPTypes
import HelferrufCore
import NIOCore
import Prometheus
import Testing
@testable import HelferrufServer

/// The abuse limits: token buckets on a fake monotonic clock, client addresses behind
/// proxies, and each limit on a live server (429 with Retry-After, or close 1008).
@Suite struct RateLimitUnitTests {
    @Test func bucketAllowsBurstThenRefillsAtRate() {
        let rate = Rate(perSecond: 2, burst: 3)
        var bucket = TokenBucket(rate, now: 0)
        for _ in 0..<3 { #expect(bucket.take(rate, now: 0) == nil) }
        #expect(bucket.take(rate, now: 0) == 1)
        #expect(bucket.take(rate, now: 499_000_000) == 1)
        #expect(bucket.take(rate, now: 500_000_000) == nil)
        // A long pause refills to the burst, not beyond it.
        for _ in 0..<3 { #expect(bucket.take(rate, now: 100_000_000_000) == nil) }
        #expect(bucket.take(rate, now: 100_000_000_000) != nil)
    }

    @Test func retryAfterCoversTheWaitForOneToken() {
        let rate = Rate(perSecond: 1.0 / 3600, burst: 1)
        var bucket = TokenBucket(rate, now: 0)
        #expect(bucket.take(rate, now: 0) == nil)
        #expect(bucket.take(rate, now: 0) == 3600)
    }

    @Test func keyedLimiterKeepsKeysApartAndMemoryBounded() {
        let limiter = KeyedLimiter(Rate(perSecond: 1, burst: 1), maxKeys: 100)
        #expect(limiter.take("a", now: 0) == nil)
        #expect(limiter.take("a", now: 0) != nil)
        #expect(limiter.take("b", now: 0) == nil)
        for i in 0..<10_000 { _ = limiter.take("flood-\(i)", now: UInt64(i)) }
        #expect(limiter.keyCount <= 100)
        // Idle keys whose buckets have refilled are swept out.
        _ = limiter.take("late", now: 200_000_000_000)
        #expect(limiter.keyCount == 1)
    }

    @Test func connectionCounterForgetsClosedAddresses() {
        let counter = ConnectionCounter(limit: 2)
        #expect(counter.acquire("x") && counter.acquire("x"))
        #expect(!counter.acquire("x"))
        counter.release("x")
        #expect(counter.acquire("x"))
        counter.release("x")
        counter.release("x")
        #expect(counter.keyCount == 0)
    }

    @Test func rateSyntax() {
        #expect(Rate(parsing: "20/s:200") == Rate(perSecond: 20, burst: 200))
        #expect(Rate(parsing: "2000/h") == Rate(perSecond: 2000.0 / 3600, burst: 2000))
        #expect(Rate(parsing: "600/min")?.perSecond == 10)
        for bad in ["", "20", "20/d", "0/s", "-1/s", "20/s:", "20/s:0", "1.5/s", "20/s:5:5", "x/s", "99999999999/s"] {
            #expect(Rate(parsing: bad) == nil, "\(bad)")
        }
        #expect(Rate(parsing: Rate(perSecond: 20, burst: 200).description) == Rate(perSecond: 20, burst: 200))
    }

    @Test func clientAddressTrustsForwardedForOnlyFromProxies() throws {
        let direct = ClientAddress(trustedProxies: [])
        let proxied = ClientAddress(trustedProxies: ["127.0.0.1", "10.0.0.2"])
        let local = try SocketAddress(ipAddress: "127.0.0.1", port: 1)
        let remote = try SocketAddress(ipAddress: "198.51.100.7", port: 1)
        let xff: HTTPFields = [.xForwardedFor: "1.1.1.1, 203.0.113.9, 10.0.0.2"]
        #expect(direct.key(peer: local, headers: xff) == "127.0.0.1")
        #expect(proxied.key(peer: local, headers: xff) == "203.0.113.9")
        #expect(proxied.key(peer: remote, headers: xff) == "198.51.100.7")
        #expect(proxied.key(peer: local, headers: [.xForwardedFor: "not-an-address"]) == "127.0.0.1")
        #expect(proxied.key(peer: local, headers: [:]) == "127.0.0.1")
        #expect(direct.key(peer: nil, headers: [:]) == "unknown")
    }

    @Test func ipv6ClientsAreKeyedByTheirSlash64() throws {
        let a = ClientAddress(trustedProxies: [])
        let one = try SocketAddress(ipAddress: "2001:db8:1:2:aaaa::1", port: 1)
        let two = try SocketAddress(ipAddress: "2001:db8:1:2:bbbb::2", port: 1)
        let mapped = try SocketAddress(ipAddress: "::ffff:192.0.2.4", port: 1)
        #expect(a.key(peer: one, headers: [:]) == "2001:db8:1:2::/64")
        #expect(a.key(peer: one, headers: [:]) == a.key(peer: two, headers: [:]))
        #expect(a.key(peer: mapped, headers: [:]) == "192.0.2.4")
        #expect(ServerConfiguration.isIPAddress("::1") && !ServerConfiguration.isIPAddress("localhost"))
    }

    @Test func disabledLimitsAllowEverything() {
        var settings = RateLimitSettings()
        settings.enabled = false
        settings.requests = Rate(perSecond: 0.001, burst: 1)
        let limits = RateLimits(settings, registry: PrometheusCollectorRegistry())
        for _ in 0..<10 { #expect(limits.request("t") == nil) }
        #expect(limits.messageLimiter() == nil)
    }
}

@Suite(.serialized) struct RateLimitLiveTests {
    private static let slow = 1.0 / 3600

    @Test func registrationsPerAddressGive429WithRetryAfter() async throws {
        let s = try await LiveServer.start { $0.limits.registrations = Rate(perSecond: Self.slow, burst: 2) }
        defer { Task { try? await s.stop() } }
        let body = #"{"displayName":"Anna","skills":[]}"#
        for _ in 0..<2 { #expect(try await s.httpText(.post, "/api/v1/volunteers", body: body).status == 201) }
        let refused = try await s.httpText(.post, "/api/v1/volunteers", body: body)
        #expect(refused.status == 429)
        // One token an hour: the wait is an hour less the seconds the bucket has refilled
        // since it was made (on a loaded machine the two registrations can take seconds).
        let retryAfter = refused.headers[.retryAfter].flatMap { Int($0) }
        #expect(retryAfter.map { (3540...3600).contains($0) } == true, "Retry-After \(String(describing: retryAfter))")
        #expect(refused.text.contains(#""code":"rate_limited""#))
        // Other routes from the same address are not affected.
        #expect(try await s.httpText(.get, "/healthz").status == 200)
        let metrics = try await s.httpText(.get, "/metrics").text
        #expect(metrics.contains(#"helferruf_rate_limited_total{limit="registrations"} 1"#))
    }

    @Test func requestsPerToken() async throws {
        // A slow refill, so that a loaded machine cannot earn a token back between requests.
        let s = try await LiveServer.start { $0.limits.requests = Rate(perSecond: 0.001, burst: 3) }
        defer { Task { try? await s.stop() } }
        for _ in 0..<3 { #expect(try await s.http(.get, "/api/v1/calls", token: s.demoToken).status == 200) }
        let refused = try await s.httpText(.get, "/api/v1/calls", token: s.demoToken)
        #expect(refused.status == 429)
        #expect((990...1000).contains(Int(refused.headers[.retryAfter] ?? "") ?? 0))
        // Another token has its own budget, even an unknown one until it is used up.
        let other = try s.store.createOrganisation(name: "Other", now: .now).token
        #expect(try await s.http(.get, "/api/v1/calls", token: other).status == 200)
        #expect(try await s.http(.get, "/api/v1/calls", token: "hro_guess").status == 401)
    }

    @Test func socketsPerAddressClose1008() async throws {
        let s = try await LiveServer.start { $0.limits.socketsPerAddress = 2 }
        defer { Task { try? await s.stop() } }
        let v = try await s.volunteer()
        let first = try await s.ws(), second = try await s.ws("/ws/dashboard")
        // Both are counted once they have answered a hello (the dashboard route counts its
        // socket in its own task, which may start after the client saw the upgrade).
        first.send(["type": "hello", "token": v.token])
        #expect(try await first.receive()["type"] as? String == "welcome")
        second.send(["type": "hello", "token": s.demoToken])
        #expect(try await second.receive()["type"] as? String == "snapshot")
        let third = try await s.ws()
        #expect(try await third.closeCode() == 1008)
        first.close()
        // The slot is free again once the server has seen the first socket end.
        var reopened: UInt16? = 1008
        for _ in 0..<50 where reopened == 1008 {
            try await Task.sleep(for: .milliseconds(50))
            let probe = try await s.ws()
            probe.send(["type": "hello", "token": v.token])
            if (try? await probe.receive())?["type"] as? String == "welcome" { reopened = nil } else { reopened = try await probe.closeCode() }
            probe.close()
        }
        #expect(reopened == nil)
        second.close()
    }

    @Test func helloAttemptsPerAddressClose1008() async throws {
        let s = try await LiveServer.start { $0.limits.hellos = Rate(perSecond: Self.slow, burst: 2) }
        defer { Task { try? await s.stop() } }
        let v = try await s.volunteer()
        for _ in 0..<2 {
            let ws = try await s.ws()
            ws.send(["type": "hello", "token": "hrv_wrong"])
            #expect(try await ws.closeCode() == 4401)
        }
        let ws = try await s.ws()
        ws.send(["type": "hello", "token": v.token])
        #expect(try await ws.closeCode() == 1008)
    }

    @Test func messagesPerSocketClose1008AndSpareOthers() async throws {
        let s = try await LiveServer.start { $0.limits.messages = Rate(perSecond: Self.slow, burst: 5) }
        defer { Task { try? await s.stop() } }
        let v = try await s.volunteer()
        let (noisy, _) = try await s.availableVolunteer(token: v.token)
        for _ in 0..<5 { noisy.send(["type": "location", "lat": 50.7, "lon": 6.1]) }
        #expect(try await noisy.closeCode() == 1008)
        let (quiet, welcome) = try await s.availableVolunteer(token: v.token)
        #expect(welcome["type"] as? String == "welcome")
        quiet.send(["type": "decline", "callId": "nope"])
        #expect(try await quiet.receive()["code"] as? String == "not_found")
        quiet.close()
    }

    @Test func forwardedForCountsOnlyBehindATrustedProxy() async throws {
        let body = #"{"displayName":"Anna","skills":[]}"#
        let proxied = try await LiveServer.start {
            $0.limits.registrations = Rate(perSecond: Self.slow, burst: 1)
            $0.trustedProxies = ["127.0.0.1"]
        }
        defer { Task { try? await proxied.stop() } }
        for client in ["203.0.113.5", "203.0.113.6"] {
            #expect(try await proxied.httpText(.post, "/api/v1/volunteers", body: body, headers: [.xForwardedFor: client]).status == 201)
        }
        #expect(try await proxied.httpText(.post, "/api/v1/volunteers", body: body, headers: [.xForwardedFor: "203.0.113.5"]).status == 429)

        let direct = try await LiveServer.start { $0.limits.registrations = Rate(perSecond: Self.slow, burst: 1) }
        defer { Task { try? await direct.stop() } }
        #expect(try await direct.httpText(.post, "/api/v1/volunteers", body: body, headers: [.xForwardedFor: "203.0.113.5"]).status == 201)
        #expect(try await direct.httpText(.post, "/api/v1/volunteers", body: body, headers: [.xForwardedFor: "203.0.113.6"]).status == 429)
    }

    @Test func rateLimitsOffSwitchesEveryLimitOff() async throws {
        let s = try await LiveServer.start {
            $0.rateLimits = false
            $0.limits.registrations = Rate(perSecond: Self.slow, burst: 1)
            $0.limits.messages = Rate(perSecond: Self.slow, burst: 1)
            $0.limits.socketsPerAddress = 1
        }
        defer { Task { try? await s.stop() } }
        for _ in 0..<3 { _ = try await s.volunteer() }
        let v = try await s.volunteer()
        let (a, _) = try await s.availableVolunteer(token: v.token)
        let (b, _) = try await s.availableVolunteer(token: v.token)
        for _ in 0..<20 { a.send(["type": "location", "lat": 50.7, "lon": 6.1]) }
        a.send(["type": "decline", "callId": "nope"])
        #expect(try await a.receive(type: "error")["code"] as? String == "not_found")
        a.close()
        b.close()
    }
}
