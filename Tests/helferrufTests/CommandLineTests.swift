import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// The built `helferruf` binary, run as an operator would.
struct Binary {
    static var path: String {
        if let p = ProcessInfo.processInfo.environment["HELFERRUF_BIN"] { return p }
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent(".build/debug/helferruf").path
    }

    static func temporaryDatabase() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("helferruf-cli-\(UUID().uuidString)/h.sqlite").path
    }

    /// Runs a command to completion and returns (exit code, stdout).
    static func run(_ args: [String], environment: [String: String] = [:]) async throws -> (Int32, String) {
        let r = try await runCapturingErrors(args, environment: environment)
        return (r.status, r.out)
    }

    static func runCapturingErrors(_ args: [String], environment: [String: String] = [:]) async throws -> (status: Int32, out: String, err: String) {
        // Output goes to files, so neither stream can fill up and block the process; a
        // command that has not ended after 20 s is killed and reported as such.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("helferruf-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let outURL = dir.appendingPathComponent("out"), errURL = dir.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        p.standardOutput = try FileHandle(forWritingTo: outURL)
        p.standardError = try FileHandle(forWritingTo: errURL)
        try p.run()
        guard await p.exited(within: .seconds(20)) else {
            p.terminate()
            _ = await p.exited(within: .seconds(20))
            throw CLIError("\(args) did not finish within 20 s")
        }
        let out = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
        return (p.terminationStatus, out, err)
    }
}

/// A server process whose stdout lines are collected as they come.
final class ServerProcess: @unchecked Sendable {
    let process = Process()
    private let lock = NSLock()
    private var lines: [String] = []
    private var partial = ""

    private let errors = Pipe()

    init(_ args: [String], environment: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: Binary.path)
        process.arguments = args
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let out = Pipe()
        process.standardOutput = out
        process.standardError = errors
        out.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            self.lock.withLock {
                self.partial += String(decoding: data, as: UTF8.self)
                while let nl = self.partial.firstIndex(of: "\n") {
                    self.lines.append(String(self.partial[..<nl]))
                    self.partial = String(self.partial[self.partial.index(after: nl)...])
                }
            }
        }
        try process.run()
    }

    var output: [String] { lock.withLock { lines } }

    /// Everything written to standard error, once the process has exited.
    func errorOutput() async -> String {
        _ = await process.exited(within: .seconds(60))
        return String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }

    /// Waits for the `listening on http://HOST:PORT` line and returns the port.
    func waitForPort(timeout: Duration = .seconds(90)) async throws -> Int {
        let deadline = ContinuousClock.now + timeout
        // Checks once more after the deadline: under a sanitizer with every test running at
        // once, this task can be starved past the deadline while the line did arrive in time.
        while true {
            if let line = output.first(where: { $0.hasPrefix("listening on http") }),
               let port = Int(line.split(separator: ":").last ?? "") {
                return port
            }
            guard ContinuousClock.now < deadline else { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw CLIError("server did not report listening; output: \(output)")
    }

    func signal(_ sig: Int32) { kill(process.processIdentifier, sig) }

    /// Waits for the process to exit and returns its status.
    func waitForExit(timeout: Duration = .seconds(20)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else { throw CLIError("server did not exit") }
            try await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationStatus
    }
}

struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

func freePortArgs(_ db: String) -> [String] { ["--port", "0", "--db", db] }

func request(_ port: Int, _ method: HTTPRequest.Method, _ path: String, token: String? = nil, body: String? = nil) async throws -> (Int, [String: Any]) {
    var headers: HTTPFields = [:]
    if let token { headers[.authorization] = "Bearer \(token)" }
    let req = TestClient.Request(path, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
    let response = try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
        try await client.execute(req)
    }
    let data = response.body.map { Data($0.readableBytesView) } ?? Data()
    return (Int(response.status.code), (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:])
}

@Suite(.serialized) struct CommandLineTests {
    @Test func orgAddPrintsExactlyOneJSONLine() async throws {
        let db = Binary.temporaryDatabase()
        let (status, out) = try await Binary.run(["org", "add", "--name", "THW Aachen", "--db", db])
        #expect(status == 0)
        let lines = out.split(separator: "\n")
        #expect(lines.count == 1)
        let obj = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]
        #expect(obj?["name"] as? String == "THW Aachen" && (obj?["id"] as? String)?.isEmpty == false)
        #expect((obj?["token"] as? String)?.count ?? 0 >= 22)
        #expect(try await Binary.run(["org", "add", "--name", "  ", "--db", db]).0 != 0)
    }

    @Test func serveWithNoSubcommandPrintsDemoOnceAndListens() async throws {
        let db = Binary.temporaryDatabase()
        let server = try ServerProcess(freePortArgs(db))
        let port = try await server.waitForPort()
        let demo = try JSONSerialization.jsonObject(with: Data(server.output[0].utf8)) as? [String: Any]
        #expect(demo?["name"] as? String == "Demo")
        let token = try #require(demo?["token"] as? String)
        #expect(try await request(port, .get, "/healthz").0 == 200)
        #expect(try await request(port, .get, "/api/v1/calls", token: token).0 == 200)
        // org add works while the server runs on the same database.
        #expect(try await Binary.run(["org", "add", "--name", "DRK", "--db", db]).0 == 0)
        server.signal(SIGTERM)
        #expect(try await server.waitForExit() == 0)

        // Second start: no Demo line any more.
        let again = try ServerProcess(["serve"] + freePortArgs(db))
        _ = try await again.waitForPort()
        #expect(again.output.count == 1 && again.output[0].hasPrefix("listening on"))
        again.signal(SIGINT)
        #expect(try await again.waitForExit() == 0)
    }

    @Test func killNineLosesNothingAcknowledged() async throws {
        let db = Binary.temporaryDatabase()
        let server = try ServerProcess(freePortArgs(db))
        let port = try await server.waitForPort()
        let token = try #require((try JSONSerialization.jsonObject(with: Data(server.output[0].utf8)) as? [String: Any])?["token"] as? String)
        let end = ISO8601DateFormatter().string(from: Date().addingTimeInterval(3600))
        let (status, call) = try await request(port, .post, "/api/v1/calls", token: token,
            body: #"{"title":"Deich","location":{"lat":50.77,"lon":6.08},"radiusKm":5,"needed":3,"endsAt":"\#(end)"}"#)
        #expect(status == 201)
        server.signal(SIGKILL)
        _ = try await server.waitForExit()
        let restarted = try ServerProcess(freePortArgs(db))
        let port2 = try await restarted.waitForPort()
        let (s2, stored) = try await request(port2, .get, "/api/v1/calls/\(call["id"] as! String)", token: token)
        #expect(s2 == 200 && stored["status"] as? String == "open" && stored["needed"] as? Int == 3)
        restarted.signal(SIGTERM)
        #expect(try await restarted.waitForExit() == 0)
    }

    @Test func invalidOptionsStopTheStart() async throws {
        #expect(try await Binary.run(["serve", "--port", "70000"]).0 != 0)
        #expect(try await Binary.run(["serve", "--rate-limits", "sometimes"]).0 != 0)
        #expect(try await Binary.run(["serve", "--push-subject", "admin@localhost"]).0 != 0)
        #expect(try await Binary.run(["serve", "--push-endpoints", "https://fcm.googleapis.com/path"]).0 != 0)
        #expect(try await Binary.run(["serve", "--push-fallback-seconds", "0"]).0 != 0)
        #expect(try await Binary.run(["serve"], environment: ["HELFERRUF_PUSH_ENDPOINTS": "evil.com"]).0 != 0)
    }

    @Test func helpShowsThePushOptionsWithTheirDefaults() async throws {
        let help = try await Binary.runCapturingErrors(["serve", "--help"])
        let text = (help.out + help.err).replacingOccurrences(of: "\n", with: " ").split(separator: " ").joined(separator: " ")
        for expected in ["--push-subject", "HELFERRUF_PUSH_SUBJECT", "mailto:admin@localhost", "--push-endpoints", "HELFERRUF_PUSH_ENDPOINTS",
                         "https://updates.push.services.mozilla.com", "--push-fallback-seconds", "HELFERRUF_PUSH_FALLBACK_SECONDS", "default 10"] {
            #expect(text.contains(expected), "\(expected)")
        }
    }
}

extension Process {
    /// Waits for the process to end without holding a thread: every test shares the
    /// cooperative pool (two threads on a two-core machine), and a blocking wait in one test
    /// stalls the servers and clients of all the others. False when it is still running
    /// after `timeout`.
    func exited(within timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while isRunning {
            guard ContinuousClock.now < deadline else { return false }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return true
    }
}
