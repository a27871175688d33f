import Foundation
import Testing

/// `--db postgres://…` for `serve` and every subcommand that takes `--db`, against the
/// PostgreSQL in `HELFERRUF_TEST_POSTGRES_URL` (CI sets it), on a database of their own.
@Suite(.serialized, .enabled(if: PostgresForCommands.url != nil, "HELFERRUF_TEST_POSTGRES_URL is not set"))
struct PostgresCommandTests {
    @Test func everyDatabaseCommandWorksOnAPostgresURL() async throws {
        let url = try PostgresForCommands.freshDatabase()
        defer { PostgresForCommands.drop(url) }
        let password = try #require(URLComponents(string: url)?.password)

        let server = try ServerProcess(freePortArgs(url))
        let port = try await server.waitForPort()
        #expect(try await request(port, .get, "/readyz").0 == 200)
        let demo = try #require(server.output.first { $0.contains("\"token\"") })
        let token = try #require((try JSONSerialization.jsonObject(with: Data(demo.utf8)) as? [String: Any])?["token"] as? String)
        let ends = ISO8601DateFormatter().string(from: Date().addingTimeInterval(3600))
        let posted = try await request(port, .post, "/api/v1/calls", token: token, body: """
            {"title":"Deich","location":{"lat":50.77,"lon":6.08},"radiusKm":5,"needed":2,"endsAt":"\(ends)"}
            """)
        #expect(posted.0 == 201, "\(posted.1)")
        server.signal(SIGTERM)
        #expect(try await server.waitForExit() == 0)
        // The first-start banner repeats --db without the password.
        let banner = await server.errorOutput()
        #expect(banner.contains("PASSWORD@") && !banner.contains(password))

        let added = try await Binary.run(["org", "add", "--name", "THW", "--db", url])
        #expect(added.0 == 0)
        let org = try #require(try JSONSerialization.jsonObject(with: Data(added.1.utf8)) as? [String: Any])
        let id = try #require(org["id"] as? String)
        #expect(try await Binary.run(["org", "list", "--db", url]).1.contains(id))
        #expect(try await Binary.run(["org", "token", "rotate", "--id", id, "--db", url]).0 == 0)
        #expect(try await Binary.run(["org", "disable", "--id", id, "--db", url]).0 == 0)
        let stats = try #require(try JSONSerialization.jsonObject(with: Data(try await Binary.run(["stats", "--db", url]).1.utf8)) as? [String: Any])
        #expect(stats["organisations"] as? Int == 2 && stats["calls_open"] as? Int == 1)
        #expect(try await Binary.run(["calls", "list", "--db", url]).1.contains("Deich"))
        // The same URL from the environment.
        #expect(try await Binary.run(["org", "list"], environment: ["HELFERRUF_DB": url]).1.contains(id))

        // Backups and space are PostgreSQL's own business: a clear error naming its tools.
        let backup = try await Binary.runCapturingErrors(["backup", "--to", FileManager.default.temporaryDirectory.appendingPathComponent("b-\(UUID()).sqlite").path, "--db", url])
        #expect(backup.status != 0 && backup.err.contains("pg_dump") && !backup.err.contains(password))
        let vacuum = try await Binary.runCapturingErrors(["vacuum", "--db", url])
        #expect(vacuum.status != 0 && vacuum.err.contains("autovacuum"))
        let wrong = try await Binary.runCapturingErrors(["stats", "--db", "postgres://nobody@127.0.0.1/h?sslmode=maybe"])
        #expect(wrong.status != 0 && wrong.err.contains("sslmode"))
    }
}

/// Fresh databases on the test PostgreSQL, made and dropped with psql.
enum PostgresForCommands {
    static let url = ProcessInfo.processInfo.environment["HELFERRUF_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    static let psql = "/usr/lib/postgresql/15/bin/psql"

    static func freshDatabase() throws -> String {
        let name = "helferruf_cli_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try run(["CREATE DATABASE \(name)"])
        let base = try #require(url)
        var components = try #require(URLComponents(string: base))
        components.path = "/" + name
        return try #require(components.string)
    }

    static func drop(_ database: String) {
        guard let name = URLComponents(string: database)?.path.dropFirst() else { return }
        try? run(["DROP DATABASE \(name) WITH (FORCE)"])
    }

    private static func run(_ statements: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: psql)
        let base = try #require(url)
        p.arguments = [base, "-v", "ON_ERROR_STOP=1", "-q"] + statements.flatMap { ["-c", $0] }
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw CLIError("psql failed: \(statements)") }
    }
}
