import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import NIOSSL
import Testing

@Suite(.serialized) struct AccountCommandTests {
    static let password = "richtig-langes-Passwort"
    static let fastBcrypt = ["HELFERRUF_BCRYPT_COST": "4"]

    /// Runs the binary with `input` on standard input; returns (status, stdout, stderr).
    func run(_ args: [String], input: String, environment: [String: String] = fastBcrypt) async throws -> (status: Int32, out: String, err: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("helferruf-stdin-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let inURL = dir.appendingPathComponent("in"), outURL = dir.appendingPathComponent("out"), errURL = dir.appendingPathComponent("err")
        try Data(input.utf8).write(to: inURL)
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Binary.path)
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        p.standardInput = try FileHandle(forReadingFrom: inURL)
        p.standardOutput = try FileHandle(forWritingTo: outURL)
        p.standardError = try FileHandle(forWritingTo: errURL)
        try p.run()
        guard await p.exited(within: .seconds(60)) else { p.terminate(); throw CLIError("\(args) did not finish within 60 s") }
        return (p.terminationStatus, (try? String(contentsOf: outURL, encoding: .utf8)) ?? "", (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
    }

    func newOrganisation(_ db: String) async throws -> String {
        let out = try await Binary.run(["org", "add", "--name", "THW", "--db", db]).1
        return try #require((try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])?["id"] as? String)
    }

    @Test func accountAddTakesThePasswordFromStdinAndPrintsNoSecret() async throws {
        let db = Binary.temporaryDatabase()
        let org = try await newOrganisation(db)
        let added = try await run(["account", "add", "--org", org, "--email", " Anna@Example.org", "--password-stdin", "--db", db], input: Self.password + "\n")
        #expect(added.status == 0, "\(added.err)")
        let lines = added.out.split(separator: "\n")
        #expect(lines.count == 1 && !added.out.contains(Self.password) && !added.out.contains("$2b$"))
        let account = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(account["email"] as? String == "anna@example.org" && account["orgId"] as? String == org && account["id"] is String)
        #expect(Set(account.keys) == ["id", "orgId", "email", "createdAt"])

        let refusals: [([String], String, String)] = [
            (["--email", "ANNA@example.org", "--password-stdin"], Self.password, "exists"),
            (["--email", "ben@example.org", "--password-stdin"], "zu kurz", "12 to 1024"),
            (["--email", "ben@example.org", "--password-stdin"], "", "no password"),
            (["--email", "ben", "--password-stdin"], Self.password, "e-mail"),
            (["--email", "ben@example.org"], Self.password, "--password-stdin"),
        ]
        for (extra, input, message) in refusals {
            let r = try await run(["account", "add", "--org", org, "--db", db] + extra, input: input)
            #expect(r.status != 0 && r.err.contains(message), "\(extra): \(r.err)")
        }
        let unknownOrg = try await run(["account", "add", "--org", "nope", "--email", "ben@example.org", "--password-stdin", "--db", db], input: Self.password)
        #expect(unknownOrg.status != 0 && unknownOrg.err.contains("no such organisation"))
        let badCost = try await run(["account", "add", "--org", org, "--email", "ben@example.org", "--password-stdin", "--bcrypt-cost", "3", "--db", db], input: Self.password)
        #expect(badCost.status != 0 && badCost.err.contains("--bcrypt-cost"))

        let list = try await Binary.run(["account", "list", "--org", org, "--db", db]).1
        #expect(list.contains("\"email\":\"anna@example.org\"") && list.contains("\"disabled\":false") && !list.contains("$2b$"))
        #expect(try await Binary.run(["account", "disable", "--email", "Anna@example.org", "--db", db]).0 == 0)
        #expect(try await Binary.run(["account", "list", "--org", org, "--db", db]).1.contains("\"disabled\":true"))
        #expect(try await Binary.run(["account", "disable", "--email", "nobody@example.org", "--db", db]).0 != 0)
    }

    @Test func anAccountSignsInOverTLSWithAHostPrefixedSecureCookie() async throws {
        let (cert, key) = try await selfSignedCertificate()
        let db = Binary.temporaryDatabase()
        let org = try await newOrganisation(db)
        #expect(try await run(["account", "add", "--org", org, "--email", "anna@example.org", "--password-stdin", "--db", db], input: Self.password).status == 0)
        let server = try ServerProcess(freePortArgs(db) + ["--tls-cert", cert, "--tls-key", key], environment: Self.fastBcrypt)
        let port = try await server.waitForPort()
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        let body = #"{"email":"anna@example.org","password":"\#(Self.password)"}"#
        let response = try await TestClient.withClient(host: "127.0.0.1", port: port, configuration: .init(tlsConfiguration: tls, serverName: "localhost")) { client in
            try await client.execute(.init("/api/v1/session", method: .post, headers: [:], body: ByteBuffer(string: body)))
        }
        #expect(response.status == .ok)
        let cookie = try #require(response.headers[.setCookie])
        #expect(cookie.hasPrefix("__Host-helferruf_session=hrs_"))
        let flags = Set(cookie.split(separator: ";").dropFirst().map { $0.trimmingCharacters(in: .whitespaces) })
        #expect(flags == ["Path=/", "HttpOnly", "SameSite=Strict", "Secure"], "\(cookie)")
        server.signal(SIGTERM)
        #expect(try await server.waitForExit() == 0)
    }

    @Test func serveChecksItsAccountOptions() async throws {
        for (variable, value) in [("HELFERRUF_BCRYPT_COST", "3"), ("HELFERRUF_BCRYPT_COST", "many"), ("HELFERRUF_SECURE_COOKIES", "maybe")] {
            let r = try await Binary.runCapturingErrors(["serve", "--port", "0", "--db", Binary.temporaryDatabase()], environment: [variable: value])
            #expect(r.status != 0 && r.err.contains(variable), "\(variable)=\(value): \(r.err)")
        }
    }

    @Test func bcryptCostPrintsAMedianPerCost() async throws {
        let (status, out) = try await Binary.run(["account", "bcrypt-cost", "--rounds", "3", "--costs", "4,8"])
        #expect(status == 0)
        let rows = out.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(rows.map { $0["cost"] as? Int } == [4, 8])
        // Each step of the cost doubles the work.
        #expect((rows.last?["medianMs"] as? Int ?? 0) > (rows.first?["medianMs"] as? Int ?? 0))
        #expect(try await Binary.run(["account", "bcrypt-cost", "--costs", "3"]).0 != 0)
    }

    private func selfSignedCertificate() async throws -> (cert: String, key: String) {
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
        return (cert, key)
    }
}
