import Foundation
import Testing

/// What a new user meets first: errors that name the command at fault, the first start's
/// banner, and `helferruf demo` against a real server.
@Suite(.serialized) struct FrontDoorTests {
    /// Standard error of a failed command, split into lines.
    private func failure(_ args: [String], environment: [String: String] = [:]) async throws -> (status: Int32, lines: [String]) {
        let r = try await Binary.runCapturingErrors(args, environment: environment)
        #expect(r.out.isEmpty, "\(args) printed on stdout: \(r.out)")
        return (r.status, r.err.split(separator: "\n").map(String.init))
    }

    @Test func errorsFromRunShowOneLineAndTheSubcommandsOwnUsage() async throws {
        let db = Binary.temporaryDatabase()
        let rotate = try await failure(["org", "token", "rotate", "--id", "nope", "--db", db])
        #expect(rotate.status == 64)
        #expect(rotate.lines == [
            "Error: no organisation nope",
            "Usage: helferruf org token rotate --id <id> [--db <path-or-url>]",
            "  See 'helferruf org token rotate --help' for more information.",
        ])
        let disable = try await failure(["org", "disable", "--id", "nope", "--db", db])
        #expect(disable.lines.first == "Error: no organisation nope")
        #expect(disable.lines.dropFirst().first?.hasPrefix("Usage: helferruf org disable --id <id>") == true, "\(disable.lines)")
        let calls = try await failure(["calls", "list", "--status", "bogus", "--db", db])
        #expect(calls.lines.first == "Error: --status must be open, filled, cancelled or expired")
        #expect(calls.lines.dropFirst().first?.hasPrefix("Usage: helferruf calls list") == true, "\(calls.lines)")
        for lines in [rotate.lines, disable.lines, calls.lines] {
            #expect(!lines.joined().contains("<subcommand>"), "the root's usage: \(lines)")
        }
    }

    @Test func parseErrorsShowTheSubcommandsUsageToo() async throws {
        let missing = try await failure(["org", "add"])
        #expect(missing.status == 64)
        #expect(missing.lines.first == "Error: Missing expected argument '--name <name>'")
        #expect(missing.lines.contains { $0.hasPrefix("Usage: helferruf org add --name <name>") }, "\(missing.lines)")
        let port = try await failure(["serve", "--port", "70000"])
        #expect(port.lines.first == "Error: invalid value for --port: 70000")
        #expect(port.lines.dropFirst().first == "Usage: helferruf serve [<options>]", "\(port.lines)")
        let demo = try await failure(["demo"], environment: ["HELFERRUF_TOKEN": ""])
        #expect(demo.lines.first?.hasPrefix("Error: no organisation token: pass --token or set HELFERRUF_TOKEN") == true, "\(demo.lines)")
        #expect(demo.lines.dropFirst().first?.hasPrefix("Usage: helferruf demo") == true, "\(demo.lines)")
        let unknown = try await failure(["serv"])
        #expect(unknown.lines.first == "Error: unknown command 'serv'; the commands are serve, demo, org, account, calls, stats, backup, vacuum, migrate, simulate")
        let url = try await failure(["demo", "--url", "ftp://example.org", "--token", "hro_x"])
        #expect(url.lines.first == "Error: --url must look like http://127.0.0.1:8080 (got ftp://example.org)")
    }

    @Test func firstStartFramesTheTokenLineWithoutRepeatingTheToken() async throws {
        let db = Binary.temporaryDatabase()
        let server = try ServerProcess(freePortArgs(db))
        let port = try await server.waitForPort()
        let demo = try #require(try JSONSerialization.jsonObject(with: Data(server.output[0].utf8)) as? [String: Any])
        let token = try #require(demo["token"] as? String), id = try #require(demo["id"] as? String)
        server.signal(SIGTERM)
        #expect(try await server.waitForExit() == 0)
        #expect(server.output.count == 2, "stdout stays the JSON line and the listening line: \(server.output)")
        let banner = await server.errorOutput()
        for expected in ["Helferruf: first start", "The organisation \"Demo\" was created.", "shown only this once",
                         "swift run helferruf org token rotate --id \(id) --db \(db)",
                         "http://127.0.0.1:\(port)/console", "http://127.0.0.1:\(port)/dashboard", "swift run helferruf demo"] {
            #expect(banner.contains(expected), "\(expected) not in: \(banner)")
        }
        #expect(!banner.contains(token) && !banner.contains(String(token.dropFirst(4).prefix(8))), "the banner repeats the token")
        // A frame: a top rule, every line between marked, a bottom rule.
        let lines = banner.split(separator: "\n")
        let top = try #require(lines.firstIndex { $0.hasPrefix("┌─ Helferruf: first start") })
        let bottom = try #require(lines.firstIndex { $0.hasPrefix("└───") })
        #expect(bottom - top > 5 && lines[(top + 1)..<bottom].allSatisfy { $0.hasPrefix("│") }, "\(lines)")

        // Second start: no Demo organisation created, no banner.
        let again = try ServerProcess(freePortArgs(db))
        _ = try await again.waitForPort()
        again.signal(SIGTERM)
        #expect(try await again.waitForExit() == 0)
        #expect(!(await again.errorOutput()).contains("first start"))

        // JSON logs stay JSON: no banner there.
        let json = try ServerProcess(freePortArgs(Binary.temporaryDatabase()) + ["--log-format", "json"])
        _ = try await json.waitForPort()
        json.signal(SIGTERM)
        #expect(try await json.waitForExit() == 0)
        #expect(!(await json.errorOutput()).contains("first start"))
    }

    @Test func aPortInUseIsSaidPlainlyAndTheFirstStartsTokenIsStillFramed() async throws {
        let first = try ServerProcess(freePortArgs(Binary.temporaryDatabase()))
        let port = try await first.waitForPort()
        let db = Binary.temporaryDatabase()
        let r = try await Binary.runCapturingErrors(["--port", "\(port)", "--db", db])
        #expect(r.status == 1)
        let demo = try #require(r.out.split(separator: "\n").first)
        #expect(demo.hasPrefix("{\"id\":") && demo.contains("\"name\":\"Demo\""), "\(r.out)")
        #expect(r.err.contains("┌─ Helferruf: first start") && r.err.contains("org token rotate --id"), "\(r.err)")
        #expect(!r.err.contains("Console:"), "no pages to open on a server that does not run")
        #expect(r.err.split(separator: "\n").last == "Error: 127.0.0.1:\(port) is in use (another Helferruf?); choose another port with --port or HELFERRUF_PORT", "\(r.err)")
        first.signal(SIGTERM)
        #expect(try await first.waitForExit() == 0)
    }

    @Test func demoGetsAVolunteerConfirmedOnAnyDay() async throws {
        let db = Binary.temporaryDatabase()
        let server = try ServerProcess(freePortArgs(db))
        let port = try await server.waitForPort()
        let token = try #require((try JSONSerialization.jsonObject(with: Data(server.output[0].utf8)) as? [String: Any])?["token"] as? String)
        let url = "http://127.0.0.1:\(port)"

        // Twice: the second volunteer is also alerted for the first, still open call and must
        // accept the one the demo posted.
        for run in 1...2 {
            let r = try await Binary.runCapturingErrors(["demo", "--url", url], environment: ["HELFERRUF_TOKEN": token])
            #expect(r.status == 0, "run \(run): \(r.err)")
            #expect(r.out.contains("4. She was alerted ") && r.out.contains("accepted it: accept_result confirmed."), "\(r.out)")
            #expect(r.out.contains("lists \"Anna (Demo)\" (1 of 40 confirmed)"), "\(r.out)")
            for page in ["\(url)/console", "\(url)/dashboard", "\(url)/ "] {
                #expect(r.out.contains(page), "\(page) not in \(r.out)")
            }
            #expect(!r.out.contains(token), "the demo prints the token")
        }
        let (status, list) = try await request(port, .get, "/api/v1/calls?status=open", token: token)
        let calls = try #require(list["calls"] as? [[String: Any]])
        #expect(status == 200 && calls.count == 2)
        let formatter = ISO8601DateFormatter()
        for call in calls {
            #expect(call["confirmed"] as? Int == 1 && call["needed"] as? Int == 40)
            let starts = try #require((call["startsAt"] as? String).flatMap(formatter.date(from:)))
            let ends = try #require((call["endsAt"] as? String).flatMap(formatter.date(from:)))
            #expect(starts > Date() && ends.timeIntervalSince(starts) == 2 * 3600)
            let (_, confirmations) = try await request(port, .get, "/api/v1/calls/\(call["id"] as! String)/confirmations", token: token)
            #expect((confirmations["confirmations"] as? [[String: Any]])?.compactMap { $0["displayName"] as? String } == ["Anna (Demo)"])
        }

        // A lost token is replaced while the server runs; the old one stops working at once.
        let id = try #require((try JSONSerialization.jsonObject(with: Data(server.output[0].utf8)) as? [String: Any])?["id"] as? String)
        let rotated = try await Binary.run(["org", "token", "rotate", "--id", id, "--db", db])
        let newToken = try #require((try JSONSerialization.jsonObject(with: Data(rotated.1.utf8)) as? [String: Any])?["token"] as? String)
        #expect(try await request(port, .get, "/api/v1/calls", token: token).0 == 401)
        #expect(try await request(port, .get, "/api/v1/calls", token: newToken).0 == 200)

        // A wrong token creates nothing and says what to do.
        let wrong = try await Binary.runCapturingErrors(["demo", "--url", url, "--token", "hro_not-a-known-token"])
        #expect(wrong.status == 1)
        #expect(wrong.err.hasPrefix("Error: the server does not know this organisation token") && wrong.err.contains("org token rotate"), "\(wrong.err)")
        #expect(wrong.err.split(separator: "\n").count == 1)
        server.signal(SIGTERM)
        #expect(try await server.waitForExit() == 0)
        let stats = try JSONSerialization.jsonObject(with: Data(try await Binary.run(["stats", "--db", db]).1.utf8)) as? [String: Any]
        #expect(stats?["volunteers"] as? Int == 2 && stats?["calls_open"] as? Int == 2)

        // No server: one line that says how to start one.
        let nobody = try await Binary.runCapturingErrors(["demo", "--url", url, "--token", newToken])
        #expect(nobody.status == 1)
        #expect(nobody.err.hasPrefix("Error: cannot reach the server at \(url)") && nobody.err.contains("swift run helferruf"), "\(nobody.err)")
    }
}
