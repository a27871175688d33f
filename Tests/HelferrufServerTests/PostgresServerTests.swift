import Foundation
import HelferrufCore
import HelferrufServer
import HelferrufStore
import PostgresNIO
import Testing

/// The server over real sockets on PostgreSQL (`--db postgres://…`), against the server in
/// `HELFERRUF_TEST_POSTGRES_URL` (`scripts/postgres-test-server`; CI sets it), each test on
/// a database of its own.
@Suite(.serialized, .enabled(if: FreshPostgres.configured, "HELFERRUF_TEST_POSTGRES_URL is not set"))
struct PostgresServerTests {
    @Test func alertsAcceptsExactlyTenOfSixtyAndARestartKeepsThem() async throws {
        try await FreshPostgres.withDatabase { url in
            var s = try await LiveServer.start(dbPath: url) { $0.limits.registrations = Rate(perSecond: 100, burst: 100) }
            #expect(s.records is PostgresStore)
            #expect(try await s.httpText(.get, "/readyz").status == 200)
            // One volunteer: the alert, the accept.
            let first = try await s.volunteer("Erste")
            let (w, _) = try await s.availableVolunteer(token: first.token)
            try await Task.sleep(for: .milliseconds(100))
            let small = try await s.call(needed: 1, title: "Deich")
            let smallId = small["id"] as! String
            #expect((try await w.receive(type: "alert")["call"] as? JSON)?["id"] as? String == smallId)
            w.send(["type": "accept", "callId": smallId, "requestId": "1"])
            #expect(try await w.receive(type: "accept_result")["result"] as? String == "confirmed")
            w.close()

            // Sixty sockets accept a call needing ten at the same moment.
            let (id, results) = try await s.sixtyAcceptsForTen()
            #expect(results == ["confirmed": 10, "full": 50])
            let token = s.demoToken
            try await s.stop()

            // A new server process on the same database keeps calls and confirmations.
            s = try await LiveServer.start(dbPath: url, demoToken: token)
            let stored = try await s.http(.get, "/api/v1/calls/\(id)", token: token)
            #expect(stored.status == 200 && stored.json["confirmed"] as? Int == 10 && stored.json["status"] as? String == "filled")
            let confirmations = try await s.http(.get, "/api/v1/calls/\(id)/confirmations", token: token)
            #expect((confirmations.json["confirmations"] as? [JSON])?.count == 10)
            #expect(try await s.http(.get, "/api/v1/calls/\(smallId)", token: token).json["confirmed"] as? Int == 1)
            // The first volunteer's new connection starts from their confirmed call.
            let (again, welcome) = try await s.availableVolunteer(token: first.token)
            #expect((welcome["confirmed"] as? [JSON])?.first?["id"] as? String == smallId)
            again.close()
            try await s.stop()
        }
    }

    /// PostgreSQL unreachable (the connection to it cut): `/readyz` and writes answer 503
    /// `unavailable`, volunteer sockets stay open; once it is reachable again the server
    /// answers by itself, without a restart.
    @Test func anOutageAnswers503KeepsSocketsAndRecoversByItself() async throws {
        try await FreshPostgres.withDatabase { url in
            var (proxy, proxied) = try await CuttableProxy.inFront(of: url)
            let s = try await LiveServer.start(dbPath: proxied)
            defer { Task { try? await s.stop() } }
            #expect(try await s.httpText(.get, "/readyz").status == 200)
            let v = try await s.volunteer("Bleibt")
            let (w, _) = try await s.availableVolunteer(token: v.token)

            await proxy.cut()
            #expect(try await s.httpText(.get, "/readyz").status == 503)
            let refused = try await s.http(.post, "/api/v1/calls", token: s.demoToken, json: [
                "title": "Deich", "location": ["lat": 50.7753, "lon": 6.0839], "radiusKm": 5, "needed": 2,
                "endsAt": RFC3339.format(Timestamp.now.adding(seconds: 3600)),
            ])
            #expect(refused.status == 503 && (refused.json["error"] as? JSON)?["code"] as? String == "unavailable", "\(refused)")
            // The socket is still open.
            w.send(["type": "location", "lat": 50.776, "lon": 6.084])
            await #expect(throws: TestFailure.self) { try await w.closeCode(timeout: .milliseconds(500)) }

            proxy = try await proxy.restarted()
            defer { proxy.kill() }
            var ready = false
            for _ in 0..<60 where !ready {
                ready = try await s.httpText(.get, "/readyz").status == 200
                if !ready { try await Task.sleep(for: .milliseconds(500)) }
            }
            #expect(ready)
            let call = try await s.call(needed: 2)
            #expect((try await w.receive(type: "alert")["call"] as? JSON)?["id"] as? String == call["id"] as? String)
            w.close()
        }
    }
}

/// A TCP proxy on loopback (a small Python asyncio process) that a test can cut: killing it
/// resets every connection through it and refuses new ones, as a lost database host does.
struct CuttableProxy {
    let process: Process
    let port: Int
    /// The port it forwards to.
    let target: Int

    static let script = """
        import asyncio, sys
        listen, target = int(sys.argv[1]), int(sys.argv[2])
        async def pipe(reader, writer):
            try:
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            finally:
                writer.close()
        async def handle(reader, writer):
            try:
                upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", target)
            except OSError:
                writer.close()
                return
            await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer), return_exceptions=True)
        async def main():
            server = await asyncio.start_server(handle, "127.0.0.1", listen, reuse_address=True)
            print(server.sockets[0].getsockname()[1], flush=True)
            await server.serve_forever()
        asyncio.run(main())
        """

    /// A proxy in front of the PostgreSQL of `url`, and `url` pointed through it.
    static func inFront(of url: String) async throws -> (proxy: CuttableProxy, url: String) {
        var components = try #require(URLComponents(string: url))
        let proxy = try await CuttableProxy(listen: 0, target: try #require(components.port))
        components.port = proxy.port
        components.queryItems = [URLQueryItem(name: "sslmode", value: "disable")]
        return (proxy, components.string ?? url)
    }

    /// Listening again on the same port, after a cut.
    func restarted() async throws -> CuttableProxy {
        try await CuttableProxy(listen: port, target: target)
    }

    init(listen: Int, target: Int) async throws {
        self.target = target
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", Self.script, String(listen), String(target)]
        // The port line is read from a file by polling: a blocking read would hold one of
        // the two cooperative threads that every test shares.
        let outURL = FileManager.default.temporaryDirectory.appendingPathComponent("helferruf-proxy-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: outURL) }
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        try process.run()
        var line = ""
        let deadline = ContinuousClock.now + .seconds(30)
        while !line.hasSuffix("\n"), process.isRunning, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
            line = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
        }
        guard let port = Int(line.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
            throw TestFailure("proxy did not start: \(line)")
        }
        self.port = port
    }

    /// Sends SIGKILL without waiting for the end.
    func kill() {
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
    }

    /// Kills the proxy (SIGKILL): its connections are reset.
    func cut() async {
        kill()
        // Polls instead of blocking: the tests share two cooperative threads.
        while process.isRunning { try? await Task.sleep(for: .milliseconds(10)) }
    }
}

/// Fresh PostgreSQL databases for server tests, on the server tests' PostgreSQL.
enum FreshPostgres {
    static let url = ProcessInfo.processInfo.environment["HELFERRUF_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    static var configured: Bool { url != nil }

    /// Runs `body` with the URL of a new, empty database, dropped afterwards.
    static func withDatabase<T: Sendable>(_ body: (String) async throws -> T) async throws -> T {
        let text = try #require(url)
        let admin = try PostgresLocation(url: text)
        var components = try #require(URLComponents(string: text))
        // Our own name from a UUID: identifiers cannot be bound as parameters.
        let name = "helferruf_server_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try await admin.withAdminClient { try await $0.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)")) }
        components.path = "/" + name
        do {
            let result = try await body(try #require(components.string))
            try await admin.withAdminClient { try await $0.query(PostgresQuery(unsafeSQL: "DROP DATABASE \(name) WITH (FORCE)")) }
            return result
        } catch {
            try? await admin.withAdminClient { try await $0.query(PostgresQuery(unsafeSQL: "DROP DATABASE \(name) WITH (FORCE)")) }
            // PSQLError's own description hides the server's message; a failing test needs it.
            if let psql = error as? PSQLError { throw TestFailure(String(reflecting: psql)) }
            throw error
        }
    }
}

extension PostgresLocation {
    /// A plain postgres-nio client on this location for the length of `body`.
    func withAdminClient<T: Sendable>(_ body: (PostgresClient) async throws -> T) async throws -> T {
        let config = PostgresClient.Configuration(host: host, port: port, username: username, password: password, database: database, tls: .disable)
        let client = PostgresClient(configuration: config)
        let runner = Task { await client.run() }
        defer { runner.cancel() }
        return try await body(client)
    }
}
