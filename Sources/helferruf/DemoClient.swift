import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import WSClient

/// A JSON object as the API writes it.
typealias JSONObject = [String: Any]

/// A step of `helferruf demo` that did not work; printed as one line.
struct DemoFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The HTTP API of a running server, as `helferruf demo` uses it.
struct DemoHTTP {
    /// `http://HOST:PORT` or `https://…`, without a trailing slash.
    let base: String

    /// The shared client would keep retrying a refused connection for its 10 s connect
    /// timeout; a local server that is not running should be reported at once. Lives as
    /// long as the process.
    private static let client = HTTPClient(
        eventLoopGroupProvider: .singleton,
        configuration: .init(timeout: .init(connect: .seconds(2), read: .seconds(10))))

    /// Sends a request and returns the status and the JSON object of the answer.
    func send(_ method: HTTPMethod, _ path: String, token: String? = nil, body: JSONObject? = nil) async throws -> (status: Int, json: JSONObject) {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: try JSONSerialization.data(withJSONObject: body)))
        }
        let response: HTTPClientResponse
        do {
            response = try await Self.client.execute(request, timeout: .seconds(10))
        } catch {
            let reason = "\(error)".contains("Connection refused") ? "nothing listens there" : "\(error)"
            throw DemoFailure("cannot reach the server at \(base) (\(reason)); start it with `swift run helferruf` or name it with --url")
        }
        let bytes = try await response.body.collect(upTo: 1 << 20)
        let json = (try? JSONSerialization.jsonObject(with: Data(buffer: bytes))) as? JSONObject ?? [:]
        return (Int(response.status.code), json)
    }

    /// The `message` of an API error answer, for a failure line.
    static func errorMessage(_ json: JSONObject) -> String {
        let error = json["error"] as? JSONObject
        let field = (error?["field"] as? String).map { " (\($0))" } ?? ""
        return ((error?["message"] as? String) ?? "no error message") + field
    }
}

/// Reads a volunteer socket's frames as JSON objects, one at a time.
struct FrameReader {
    private var frames: WebSocketInboundMessageStream.AsyncIterator

    init(_ inbound: WebSocketInboundStream) {
        frames = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
    }

    /// The next text frame as JSON; a socket the server closed is a failure.
    mutating func next() async throws -> JSONObject {
        while true {
            guard let message = try await frames.next() else {
                throw DemoFailure("the server closed the volunteer's socket")
            }
            if case .text(let text) = message, let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? JSONObject {
                return object
            }
        }
    }

    /// The next frame for which `matches` holds, skipping every other one (`call_update`,
    /// alerts for other calls, messages).
    mutating func next(where matches: (JSONObject) -> Bool) async throws -> JSONObject {
        while true {
            let frame = try await next()
            if matches(frame) { return frame }
        }
    }
}

extension WebSocketOutboundWriter {
    func send(_ object: JSONObject) async throws {
        try await write(.text(String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)))
    }
}
