import Foundation
import HTTPTypes
import HelferrufCore
import HelferrufServer
import HelferrufStore
import HummingbirdTesting
import HummingbirdWSClient
import Logging
import NIOCore
import NIOWebSocket
import ServiceLifecycle
import Synchronization
import Testing

typealias JSON = [String: Any]

/// A real server on a free loopback port with a real SQLite file (or, with a
/// `postgres://` URL for `dbPath`, a real PostgreSQL database).
struct LiveServer: Sendable {
    let port: Int
    let demoToken: String
    let dbPath: String
    /// The server's own database handle (one pool per database per process).
    let records: any RecordStore
    /// The SQLite store, for tests that look into the file.
    var store: Store { records as! Store }
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    static func start(
        dbPath: String? = nil, demoToken: String? = nil, clock: TestClock? = nil,
        configure: (inout ServerConfiguration) -> Void = { _ in }
    ) async throws -> LiveServer {
        let path = dbPath ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("helferruf-test-\(UUID().uuidString)/helferruf.sqlite").path
        var config = ServerConfiguration()
        config.port = 0
        config.databasePath = path
        config.logLevel = .warning
        // Subscriptions in these tests name real push services (fcm.googleapis.com): no test
        // may send there. Tests of what is pushed put a recording gateway in its place.
        config.push.makeGateway = { _ in DroppingPushGateway() }
        configure(&config)
        let (portStream, portContinuation) = AsyncStream<Int>.makeStream()
        config.onListening = { _, port in portContinuation.yield(port) }
        let demo = Mutex<String?>(demoToken)
        let now: @Sendable () -> Timestamp = { clock?.now() ?? Timestamp.now }
        let (app, server) = try await buildApplication(config, clock: now, onDemoOrganisation: { line in
            let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? JSON
            demo.withLock { $0 = obj?["token"] as? String }
        })
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: app), .init(service: server.drainer, successTerminationBehavior: .ignore)],
            logger: Logger(label: "test")))
        let task = Task { try await group.run() }
        var iterator = portStream.makeAsyncIterator()
        guard let port = await iterator.next() else { throw TestFailure("server did not start") }
        return LiveServer(port: port, demoToken: demo.withLock { $0 } ?? "", dbPath: path, records: server.store, group: group, task: task)
    }

    /// Graceful shutdown, as on SIGTERM.
    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await task.value
    }

    func httpText(_ method: HTTPRequest.Method, _ path: String, token: String? = nil, body: String? = nil, headers extra: HTTPFields = [:]) async throws -> (status: Int, text: String, headers: HTTPFields) {
        var headers: HTTPFields = extra
        if let token { headers[.authorization] = "Bearer \(token)" }
        let request = TestClient.Request(path, method: method, authority: "127.0.0.1:\(port)", headers: headers, body: body.map { ByteBuffer(string: $0) })
        let response = try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
            try await client.execute(request)
        }
        return (Int(response.status.code), response.body.map { String(buffer: $0) } ?? "", response.headers)
    }

    func http(_ method: HTTPRequest.Method, _ path: String, token: String? = nil, body: String? = nil) async throws -> (status: Int, json: JSON) {
        var headers: HTTPFields = [:]
        if let token { headers[.authorization] = "Bearer \(token)" }
        let request = TestClient.Request(path, method: method, authority: "127.0.0.1:\(port)", headers: headers, body: body.map { ByteBuffer(string: $0) })
        let response = try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
            try await client.execute(request)
        }
        let data = response.body.map { Data($0.readableBytesView) } ?? Data()
        let json = (try? JSONSerialization.jsonObject(with: data)) as? JSON ?? [:]
        return (Int(response.status.code), json)
    }

    func http(_ method: HTTPRequest.Method, _ path: String, token: String? = nil, json object: JSON) async throws -> (status: Int, json: JSON) {
        try await http(method, path, token: token, body: String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self))
    }

    /// Registers a volunteer; returns (id, token).
    func volunteer(_ name: String = "Anna", skills: [String] = [], maxDistanceKm: Double = 10, contact: String? = nil) async throws -> (id: String, token: String) {
        var body: JSON = ["displayName": name, "skills": skills, "maxDistanceKm": maxDistanceKm]
        if let contact { body["contact"] = contact }
        let r = try await http(.post, "/api/v1/volunteers", json: body)
        try #require(r.status == 201)
        return (r.json["id"] as! String, r.json["token"] as! String)
    }

    /// Posts a call near Aachen (or where told); returns the call object.
    func call(
        token: String? = nil, lat: Double = 50.7753, lon: Double = 6.0839, radiusKm: Double = 5, needed: Int = 10,
        skills: [String] = [], endsIn seconds: Double = 3600, title: String = "Sandsäcke füllen"
    ) async throws -> JSON {
        let r = try await http(.post, "/api/v1/calls", token: token ?? demoToken, json: [
            "title": title, "location": ["lat": lat, "lon": lon], "radiusKm": radiusKm, "needed": needed,
            "skills": skills, "endsAt": RFC3339.format(Timestamp.now.adding(seconds: seconds)),
        ])
        try #require(r.status == 201, "create call: \(r.json)")
        return r.json
    }

    func ws(_ path: String = "/ws/volunteer") async throws -> WSProbe {
        try await WSProbe.connect(port: port, path: path)
    }

    /// A volunteer socket that has said hello, sent a location and become available.
    func availableVolunteer(token: String, lat: Double = 50.776, lon: Double = 6.084) async throws -> (WSProbe, JSON) {
        let ws = try await ws()
        ws.send(["type": "hello", "token": token])
        let welcome = try await ws.receive()
        try #require(welcome["type"] as? String == "welcome")
        ws.send(["type": "location", "lat": lat, "lon": lon])
        ws.send(["type": "availability", "status": "available"])
        return (ws, welcome)
    }
}

/// A server clock for tests: real time passing from a chosen start, moved on at will.
final class TestClock: Sendable {
    private let start: Int64
    private let began = ContinuousClock.now
    private let skipped = Mutex<Int64>(0)

    init(startingAt start: Timestamp) { self.start = start.millis }

    func now() -> Timestamp {
        let (seconds, attoseconds) = (ContinuousClock.now - began).components
        return Timestamp(millis: start + seconds * 1000 + attoseconds / 1_000_000_000_000_000 + skipped.withLock { $0 })
    }

    func advance(minutes: Int64) { skipped.withLock { $0 += minutes * 60_000 } }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// A WebSocket test client on a real socket: messages received are buffered; `receive`
/// waits for the next one with a timeout; `closeCode` reports how the server closed.
final class WSProbe: Sendable {
    private struct State {
        var messages: [String] = []
        var closeCode: UInt16?
        var ended = false
    }

    private let state = Mutex(State())
    private let out: AsyncStream<String>.Continuation
    private let task: Task<Void, Never>

    private init(out: AsyncStream<String>.Continuation, task: Task<Void, Never>) {
        self.out = out
        self.task = task
    }

    static func connect(port: Int, path: String, origin: String? = nil) async throws -> WSProbe {
        var configuration = WebSocketClientConfiguration(maxFrameSize: 1 << 20)
        if let origin { configuration.additionalHeaders[.origin] = origin }
        let (stream, continuation) = AsyncStream<String>.makeStream()
        let (connected, connectedContinuation) = AsyncStream<Bool>.makeStream()
        let probeState = Mutex<WSProbe?>(nil)
        let task = Task {
            let frame = try? await WebSocketClient.connect(
                url: "ws://127.0.0.1:\(port)\(path)", configuration: configuration, logger: Logger(label: "probe")
            ) { inbound, outbound, _ in
                connectedContinuation.yield(true)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await text in stream { try await outbound.write(.text(text)) }
                    }
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        if case .text(let text) = message { probeState.withLock { $0 }?.received(text) }
                    }
                    group.cancelAll()
                }
            }
            connectedContinuation.yield(false)
            probeState.withLock { $0 }?.ended(frame?.closeCode)
        }
        let probe = WSProbe(out: continuation, task: task)
        probeState.withLock { $0 = probe }
        var it = connected.makeAsyncIterator()
        guard await it.next() == true else { throw TestFailure("WebSocket upgrade failed") }
        return probe
    }

    private func received(_ text: String) { state.withLock { $0.messages.append(text) } }

    private func ended(_ code: WebSocketErrorCode?) {
        state.withLock { s in
            s.ended = true
            if let code { s.closeCode = Self.number(code) }
        }
    }

    private static func number(_ code: WebSocketErrorCode) -> UInt16 {
        var buffer = ByteBuffer()
        buffer.write(webSocketErrorCode: code)
        return buffer.readInteger(as: UInt16.self) ?? 0
    }

    func send(_ object: JSON) {
        send(text: String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self))
    }

    func send(text: String) { out.yield(text) }

    /// The next message as JSON; fails after `timeout`.
    func receive(timeout: Duration = .seconds(5)) async throws -> JSON {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let next = state.withLock { s -> String? in s.messages.isEmpty ? nil : s.messages.removeFirst() }
            if let next {
                return (try JSONSerialization.jsonObject(with: Data(next.utf8))) as? JSON ?? [:]
            }
            if state.withLock({ $0.ended }) { throw TestFailure("socket closed while waiting for a message") }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw TestFailure("no message within \(timeout)")
    }

    /// Receives until a message of `type` arrives (other messages are skipped).
    func receive(type: String, timeout: Duration = .seconds(5)) async throws -> JSON {
        let deadline = ContinuousClock.now + timeout
        while true {
            let m = try await receive(timeout: deadline - ContinuousClock.now)
            if m["type"] as? String == type { return m }
        }
    }

    /// Waits briefly and returns every message that arrived meanwhile.
    func drain(for wait: Duration = .milliseconds(300)) async throws -> [JSON] {
        try await Task.sleep(for: wait)
        return state.withLock { s in
            defer { s.messages.removeAll() }
            return s.messages.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? JSON }
        }
    }

    /// Waits for the server to close the socket and returns the close code.
    func closeCode(timeout: Duration = .seconds(15)) async throws -> UInt16? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let done = state.withLock({ $0.ended ? Optional($0.closeCode) : nil }) { return done }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestFailure("socket still open after \(timeout)")
    }

    func close() {
        out.finish()
        task.cancel()
    }

    deinit { task.cancel() }
}
