import Foundation
import HummingbirdTesting
import HummingbirdWSClient
import Logging
import NIOCore
import NIOSSL
import Synchronization
import Testing

@Suite(.serialized) struct OperationsTests {
    /// Every HELFERRUF_* variable of `serve` takes effect.
    @Test func environmentVariablesTakeEffect() async throws {
        let db = Binary.temporaryDatabase()
        let web = FileManager.default.temporaryDirectory.appendingPathComponent("helferruf-web-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: web, withIntermediateDirectories: true)
        try Data("<p>env web</p>".utf8).write(to: web.appendingPathComponent("volunteer.html"))
        let server = try ServerProcess(["serve"], environment: [
            "HELFERRUF_HOST": "127.0.0.1", "HELFERRUF_PORT": "0", "HELFERRUF_DB": db, "HELFERRUF_WEB": web.path,
            "HELFERRUF_RATE_LIMITS": "off", "HELFERRUF_LOG_LEVEL": "info", "HELFERRUF_LOG_FORMAT": "json",
            "HELFERRUF_SOCKET_QUEUE": "64", "HELFERRUF_DRAIN_DELAY": "0.5", "HELFERRUF_MAX_PENDING_HELLOS": "100",
            "HELFERRUF_LIMIT_SOCKETS": "50", "HELFERRUF_LIMIT_REGISTRATIONS": "10/h", "HELFERRUF_LIMIT_HELLOS": "5/s:50",
            "HELFERRUF_LIMIT_REQUESTS": "10/s", "HELFERRUF_LIMIT_MESSAGES": "5/s:20", "HELFERRUF_TRUSTED_PROXIES": "127.0.0.1, ::1",
            "HELFERRUF_RETENTION_DAYS": "7", "HELFERRUF_MAX_OVERLAPPING": "4",
        ])
        let port = try await server.waitForPort()
        #expect(FileManager.default.fileExists(atPath: db))
        let page = try await TestHTTP.text(port, "/")
        #expect(page.status == 200 && page.body.contains("env web"))
        _ = try await request(port, .get, "/healthz")
        server.signal(SIGTERM)
        #expect(try await server.waitForExit() == 0)
        // JSON logs: every stderr line is a JSON object; request lines carry a request id.
        let lines = await server.errorOutput().split(separator: "\n")
        #expect(!lines.isEmpty)
        for line in lines {
            #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] != nil, "not JSON: \(line)")
        }
        #expect(lines.contains { $0.contains("\"msg\":\"request\"") && $0.contains("hb.request.id") && $0.contains("\"path\":\"/healthz\"") })
    }

    @Test(arguments: [
        ("HELFERRUF_PORT", "eighty"), ("HELFERRUF_PORT", "70000"), ("HELFERRUF_RATE_LIMITS", "maybe"),
        ("HELFERRUF_LOG_LEVEL", "loud"), ("HELFERRUF_LOG_FORMAT", "xml"), ("HELFERRUF_SOCKET_QUEUE", "2"),
        ("HELFERRUF_DRAIN_DELAY", "-1"), ("HELFERRUF_WEB", "/no/such/folder"), ("HELFERRUF_TLS_CERT", "/no/cert.pem"),
        ("HELFERRUF_LIMIT_SOCKETS", "0"), ("HELFERRUF_LIMIT_REGISTRATIONS", "0/h"), ("HELFERRUF_LIMIT_HELLOS", "fast"),
        ("HELFERRUF_LIMIT_REQUESTS", "10/d"), ("HELFERRUF_LIMIT_MESSAGES", "5/s:"), ("HELFERRUF_TRUSTED_PROXIES", "proxy.local"),
        ("HELFERRUF_RETENTION_DAYS", "-1"), ("HELFERRUF_MAX_PENDING_HELLOS", "0"),
        ("HELFERRUF_MAX_OVERLAPPING", "0"), ("HELFERRUF_MAX_OVERLAPPING", "many"),
    ])
    func badValuesStopTheStartWithAClearMessage(_ variable: String, _ value: String) async throws {
        var environment = [variable: value]
        if variable != "HELFERRUF_PORT" { environment["HELFERRUF_PORT"] = "0" }
        let r = try await Binary.runCapturingErrors(["serve", "--db", Binary.temporaryDatabase()], environment: environment)
        #expect(r.status != 0)
        let mentionsIt = r.err.contains(variable) || r.err.contains("/no/") || r.err.contains("tls")
        #expect(mentionsIt, "stderr: \(r.err)")
    }

    /// A limit set on the command line is the one in force; `--rate-limits off` lifts it.
    @Test func limitFlagsTakeEffect() async throws {
        let body = #"{"displayName":"Anna","skills":[]}"#
        let server = try ServerProcess(freePortArgs(Binary.temporaryDatabase()) + ["--limit-registrations", "1/h"])
        let port = try await server.waitForPort()
        #expect(try await request(port, .post, "/api/v1/volunteers", body: body).0 == 201)
        let refused = try await request(port, .post, "/api/v1/volunteers", body: body)
        #expect(refused.0 == 429 && (refused.1["error"] as? [String: Any])?["code"] as? String == "rate_limited")
        server.signal(SIGTERM)
        #expect(try await server.waitForExit() == 0)

        let off = try ServerProcess(freePortArgs(Binary.temporaryDatabase()) + ["--limit-registrations", "1/h", "--rate-limits", "off"])
        let offPort = try await off.waitForPort()
        for _ in 0..<3 { #expect(try await request(offPort, .post, "/api/v1/volunteers", body: body).0 == 201) }
        off.signal(SIGTERM)
        #expect(try await off.waitForExit() == 0)
    }

    /// `--max-overlapping` is the overlap rule in force (PROTOCOL.md §11), and
    /// `--rate-limits off` leaves it on.
    @Test func maxOverlappingFlagTakesEffect() async throws {
        let server = try ServerProcess(freePortArgs(Binary.temporaryDatabase()) + ["--max-overlapping", "1", "--rate-limits", "off"])
        let port = try await server.waitForPort()
        let demoLine = try #require(server.output.first { $0.hasPrefix("{") })
        let orgToken = try #require((try JSONSerialization.jsonObject(with: Data(demoLine.utf8)) as? [String: Any])?["token"] as? String)
        let token = try #require(try await request(port, .post, "/api/v1/volunteers", body: #"{"displayName":"Anna","skills":[]}"#).1["token"] as? String)
        var calls: [String] = []
        let ends = ISO8601DateFormatter().string(from: Date().addingTimeInterval(7200))
        for title in ["Erster", "Zweiter"] {
            let body = #"{"title":"\#(title)","location":{"lat":50.7753,"lon":6.0839},"radiusKm":5,"needed":5,"endsAt":"\#(ends)"}"#
            calls.append(try #require(try await request(port, .post, "/api/v1/calls", token: orgToken, body: body).1["id"] as? String))
        }
        let results = Mutex<[String]>([])
        let ids = calls
        try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/ws/volunteer", logger: Logger(label: "probe")) { inbound, outbound, _ in
            try await outbound.write(.text(#"{"type":"hello","token":"\#(token)"}"#))
            try await outbound.write(.text(#"{"type":"location","lat":50.7753,"lon":6.0839}"#))
            try await outbound.write(.text(#"{"type":"availability","status":"available"}"#))
            for id in ids { try await outbound.write(.text(#"{"type":"accept","callId":"\#(id)","requestId":"\#(id)"}"#)) }
            for try await message in inbound.messages(maxSize: 1 << 20) {
                guard case .text(let text) = message,
                      let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
                      object["type"] as? String == "accept_result" else { continue }
                let count = results.withLock { $0.append(object["result"] as? String ?? "?"); return $0.count }
                if count == ids.count { break }
            }
        }
        #expect(results.withLock { $0 } == ["confirmed", "limit"])
        server.signal(SIGTERM)
        #expect(try await server.waitForExit() == 0)
    }

    @Test func readyzTurnsUnreadyOnSIGTERMBeforeSocketsClose() async throws {
        let db = Binary.temporaryDatabase()
        let server = try ServerProcess(freePortArgs(db) + ["--drain-delay", "2"])
        let port = try await server.waitForPort()
        #expect(try await request(port, .get, "/readyz").0 == 200)
        server.signal(SIGTERM)
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await request(port, .get, "/readyz").0 == 503)
        #expect(try await request(port, .get, "/healthz").0 == 200)
        #expect(try await server.waitForExit() == 0)
    }

    @Test func adminCommands() async throws {
        let db = Binary.temporaryDatabase()
        let added = try await Binary.run(["org", "add", "--name", "THW", "--db", db]).1
        let org = try JSONSerialization.jsonObject(with: Data(added.utf8)) as! [String: Any]
        let id = org["id"] as! String
        let list = try await Binary.run(["org", "list", "--db", db]).1
        #expect(list.contains(id) && !list.contains(org["token"] as! String))
        let rotated = try JSONSerialization.jsonObject(with: Data(try await Binary.run(["org", "token", "rotate", "--id", id, "--db", db]).1.utf8)) as! [String: Any]
        #expect(rotated["token"] as? String != org["token"] as? String)
        #expect(try await Binary.run(["org", "disable", "--id", id, "--db", db]).0 == 0)
        #expect(try await Binary.run(["org", "list", "--db", db]).1.contains("\"disabled\":true"))
        #expect(try await Binary.run(["org", "disable", "--id", "nope", "--db", db]).0 != 0)
        let stats = try JSONSerialization.jsonObject(with: Data(try await Binary.run(["stats", "--db", db]).1.utf8)) as! [String: Any]
        #expect(stats["organisations"] as? Int == 1 && stats["calls_open"] as? Int == 0)
        #expect(try await Binary.run(["calls", "list", "--db", db]) == (0, ""))
        #expect(try await Binary.run(["calls", "list", "--status", "bogus", "--db", db]).0 != 0)
        #expect(try await Binary.run(["vacuum", "--db", db]).0 == 0)
    }

    @Test func tlsServesHTTPSAndWSS() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("helferruf-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let cert = dir.appendingPathComponent("cert.pem").path, key = dir.appendingPathComponent("key.pem").path
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost"]
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        _ = await openssl.exited(within: .seconds(60))
        try #require(openssl.terminationStatus == 0)
        let db = Binary.temporaryDatabase()
        let server = try ServerProcess(freePortArgs(db) + ["--tls-cert", cert, "--tls-key", key])
        let port = try await server.waitForPort()
        #expect(server.output.contains { $0.hasPrefix("listening on https://") })
        let token = (try JSONSerialization.jsonObject(with: Data(server.output[0].utf8)) as? [String: Any])?["token"] as? String
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        let snapshot = try await firstMessage(url: "wss://localhost:\(port)/ws/dashboard", tls: tls, send: #"{"type":"hello","token":"\#(token ?? "")"}"#)
        #expect(snapshot.contains("\"type\":\"snapshot\""))
        server.signal(SIGTERM)
        #expect(try await server.waitForExit() == 0)
    }

    private func firstMessage(url: String, tls: TLSConfiguration, send: String) async throws -> String {
        let received = Mutex<String>("")
        try await WebSocketClient.connect(url: url, tlsConfiguration: tls, logger: Logger(label: "tls-test")) { inbound, outbound, _ in
            try await outbound.write(.text(send))
            for try await message in inbound.messages(maxSize: 1 << 20) {
                if case .text(let text) = message { received.withLock { $0 = text } }
                break
            }
        }
        return received.withLock { $0 }
    }
}

/// Plain-text HTTP for the page test.
enum TestHTTP {
    static func text(_ port: Int, _ path: String) async throws -> (status: Int, body: String) {
        let response = try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
            try await client.execute(.init(path, method: .get))
        }
        return (Int(response.status.code), response.body.map { String(buffer: $0) } ?? "")
    }
}
