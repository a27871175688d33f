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
            var sockets: [WSProbe] = []
            for i in 0..<60 {
                let v = try await s.volunteer("V\(i)")
                sockets.append(try await s.availableVolunteer(token: v.token).0)
            }
            try await Task.sleep(for: .milliseconds(200))
            let call = try await s.call(needed: 10)
            let id = call["id"] as! String
            for w in sockets { _ = try await w.receive(type: "alert") }
            for (i, w) in sockets.enumerated() { w.send(["type": "accept", "callId": id, "requestId": "r\(i)"]) }
            var results: [String: Int] = [:]
            for w in sockets {
                let answer = try await w.receive(type: "accept_result", timeout: .seconds(10))
                results[answer["result"] as? String ?? "?", default: 0] += 1
            }
            #expect(results == ["confirmed": 10, "full": 50])
            for w in sockets { w.close() }
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
