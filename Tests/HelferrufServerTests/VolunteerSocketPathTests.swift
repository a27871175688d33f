import Foundation
import HelferrufServer
import Testing

/// What the two ways of serving `/ws/volunteer` must share beyond single frames (see
/// ``RawFrameTests``): half-open sockets found by auto-ping, and the NIO path's admission
/// of reconnect storms.
@Suite struct VolunteerSocketPathTests {
    @Test(arguments: VolunteerSocketPath.allCases) func unansweredPingsCloseTheSocketAndDetachIt(_ path: VolunteerSocketPath) async throws {
        let s = try await LiveServer.start {
            $0.volunteerSocket = path
            $0.autoPing = .seconds(1)
        }
        defer { Task { try? await s.stop() } }
        let v = try await s.volunteer()
        // This client never answers a ping: a half-open connection as far as the server can tell.
        let c = try await RawWebSocket.connect(port: s.port)
        try await c.hello(v.token)
        // A ping within a second (perhaps already before the welcome), then the close after the next.
        let close = try #require(try await c.nextFrame(skipping: [0x1, 0x9]))
        #expect(close.opcode == 0x8 && close.closeCode == 1001)
        #expect(String(decoding: close.payload.dropFirst(2), as: UTF8.self) == "Ping timeout")
        try await Task.sleep(for: .milliseconds(200))
        let metrics = try await s.httpText(.get, "/metrics").text
        #expect(metrics.contains(#"helferruf_sockets_open{kind="volunteer"} 0"#))
    }

    @Test(arguments: VolunteerSocketPath.allCases) func aCloseCodeNoEndpointMaySendIsAnswered1002(_ path: VolunteerSocketPath) async throws {
        let s = try await LiveServer.start { $0.volunteerSocket = path }
        defer { Task { try? await s.stop() } }
        let v = try await s.volunteer()
        let c = try await RawWebSocket.connect(port: s.port)
        try await c.hello(v.token)
        try await c.send(opcode: 0x8, [0x03, 0xED])  // 1005 is only ever reported, never sent
        let reply = try #require(try await c.nextFrame(skipping: [0x1, 0x9]))
        #expect(reply.opcode == 0x8 && reply.closeCode == 1002)
    }

    /// PROTOCOL.md §6: the server stops listening on SIGTERM. A client that reconnects while
    /// the open sockets are being closed with 1001 is answered 503 with `Retry-After` on its
    /// upgrade, so the reconnects of 15,000 clients neither hold the stop up nor cost lookups.
    @Test func upgradesDuringTheDrainAreAnswered503() async throws {
        let s = try await LiveServer.start()
        let v = try await s.volunteer()
        // A raw client does not answer the server's close: its socket stays open (for the
        // close timeout), so the drain is still going on when the next client comes.
        let open = try await RawWebSocket.connect(port: s.port)
        try await open.hello(v.token)
        let stopping = Task { try await s.stop() }
        let close = try #require(try await open.nextFrame(skipping: [0x1, 0x9]))
        #expect(close.opcode == 0x8 && close.closeCode == 1001)
        let (_, refused) = try await RawWebSocket.open(port: s.port)
        #expect(refused.hasPrefix("HTTP/1.1 503"))
        #expect(refused.split(separator: "\r\n").contains { $0.lowercased().hasPrefix("retry-after:") })
        try await stopping.value
    }

    /// The limit is exact: of many upgrades at once, none of which says hello, exactly
    /// `--max-pending-hellos` are upgraded and every other one is answered 503.
    @Test func thePendingHelloLimitHoldsForUpgradesAtOnce() async throws {
        let s = try await LiveServer.start { $0.maxPendingHellos = 5 }
        defer { Task { try? await s.stop() } }
        let opened = try await withThrowingTaskGroup(of: (RawWebSocket, String).self) { group in
            for _ in 0..<40 { group.addTask { try await RawWebSocket.open(port: s.port) } }
            var opened: [(RawWebSocket, String)] = []
            for try await o in group { opened.append(o) }
            return opened
        }
        let heads = opened.map(\.1)
        #expect(heads.filter { $0.hasPrefix("HTTP/1.1 101") }.count == 5)
        #expect(heads.filter { $0.hasPrefix("HTTP/1.1 503") }.count == 35)
        let metrics = try await s.httpText(.get, "/metrics").text
        #expect(metrics.contains("helferruf_hellos_pending 5"))
        #expect(metrics.contains(#"helferruf_socket_upgrades_refused_total{reason="busy"} 35"#))
        withExtendedLifetime(opened) {}  // the five stay pending until here
    }

    @Test func helloStormsAreAnswered503WithRetryAfter() async throws {
        let s = try await LiveServer.start { $0.maxPendingHellos = 1 }
        defer { Task { try? await s.stop() } }
        let v = try await s.volunteer()
        let silent = try await RawWebSocket.connect(port: s.port)
        let (_, refused) = try await RawWebSocket.open(port: s.port)
        #expect(refused.hasPrefix("HTTP/1.1 503"))
        let retryAfter = refused.split(separator: "\r\n").first { $0.lowercased().hasPrefix("retry-after:") }
        #expect(retryAfter.flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) }.map { (1...3).contains($0) } == true)
        let during = try await s.httpText(.get, "/metrics").text
        #expect(during.contains("helferruf_hellos_pending 1"))
        #expect(during.contains(#"helferruf_socket_upgrades_refused_total{reason="busy"} 1"#))
        // Once the pending socket has said hello, others are admitted again.
        try await silent.hello(v.token)
        let next = try await RawWebSocket.connect(port: s.port)
        try await next.hello(v.token)  // returns with the welcome: past the hello
        // The slot is given back on the event loop right after the welcome is queued.
        var after = ""
        for _ in 0..<50 where !after.contains("helferruf_hellos_pending 0") {
            after = try await s.httpText(.get, "/metrics").text
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(after.contains("helferruf_hellos_pending 0"))
    }
}
