import Foundation
import HelferrufServer
import NIOCore
import NIOWebSocket
import Testing

/// The volunteer socket at the frame level, on both ways of serving it, which must not differ
/// on the wire (RFC 6455 edge cases; Autobahn does not run here).
@Suite struct RawFrameTests {
    static let paths = VolunteerSocketPath.allCases

    /// A socket past its hello.
    private func welcomed(_ s: LiveServer, token: String) async throws -> RawSocket {
        let socket = try await upgraded(s)
        socket.send(text: #"{"type":"hello","token":"\#(token)"}"#)
        #expect(try await socket.next(.text).text.hasPrefix(#"{"type":"welcome""#))
        return socket
    }

    private func upgraded(_ s: LiveServer) async throws -> RawSocket {
        guard case .upgraded(let socket) = try await RawSocket.connect(port: s.port) else { throw TestFailure("upgrade refused") }
        return socket
    }

    private func start(_ path: VolunteerSocketPath, _ configure: @escaping (inout ServerConfiguration) -> Void = { _ in }) async throws -> LiveServer {
        try await LiveServer.start {
            $0.volunteerSocket = path
            configure(&$0)
        }
    }

    @Test(arguments: paths) func fragmentedMessagesAreJoined(_ path: VolunteerSocketPath) async throws {
        let s = try await start(path)
        defer { Task { try? await s.stop() } }
        let v = try await s.volunteer()
        let socket = try await upgraded(s)
        let hello = #"{"type":"hello","token":"\#(v.token)"}"#
        let cut = hello.index(hello.startIndex, offsetBy: 10)
        socket.send(text: String(hello[..<cut]), fin: false)
        // A ping between fragments is answered at once.
        socket.send(.ping, [1, 2, 3])
        socket.send(.continuation, Array(hello[cut...].utf8))
        #expect(try await socket.next(.pong).unmaskedData == ByteBuffer(bytes: [1, 2, 3]))
        #expect(try await socket.next(.text).text.hasPrefix(#"{"type":"welcome""#))
        socket.close()
    }

    @Test(arguments: paths) func messagesOver16KiBCloseWith1009(_ path: VolunteerSocketPath) async throws {
        let s = try await start(path)
        defer { Task { try? await s.stop() } }
        let v = try await s.volunteer()
        let fragmented = try await welcomed(s, token: v.token)
        let chunk = Array(repeating: UInt8(ascii: "x"), count: 6000)
        fragmented.send(.text, chunk, fin: false)
        fragmented.send(.continuation, chunk, fin: false)
        fragmented.send(.continuation, chunk)
        #expect(try await fragmented.closeCode() == 1009)
        let single = try await welcomed(s, token: v.token)
        single.send(.text, Array(repeating: UInt8(ascii: "x"), count: 16 * 1024 + 1))
        #expect(try await single.closeCode() == 1009)
    }

    @Test(arguments: paths) func invalidUTF8ClosesWith1007(_ path: VolunteerSocketPath) async throws {
        let s = try await start(path)
        defer { Task { try? await s.stop() } }
        let v = try await s.volunteer()
        let socket = try await welcomed(s, token: v.token)
        socket.send(.text, [0x7B, 0xC3, 0x28, 0x7D])
        #expect(try await socket.closeCode() == 1007)
    }

    @Test(arguments: paths) func binaryFramesGetAnErrorAndTheSocketStaysOpen(_ path: VolunteerSocketPath) async throws {
        let s = try await start(path)
        defer { Task { try? await s.stop() } }
        let v = try await s.volunteer()
        let socket = try await welcomed(s, token: v.token)
        socket.send(.binary, Array(#"{"type":"location","lat":50.77,"lon":6.08}"#.utf8))
        let error = try await socket.next(.text).text
        #expect(error.contains(#""code":"bad_json""#))
        socket.send(.ping, [9])
        #expect(try await socket.next(.pong).unmaskedData == ByteBuffer(bytes: [9]))
        socket.close()
    }

    @Test(arguments: paths) func clientCloseIsEchoedAndTheConnectionEnds(_ path: VolunteerSocketPath) async throws {
        let s = try await start(path)
        defer { Task { try? await s.stop() } }
        let v = try await s.volunteer()
        let socket = try await welcomed(s, token: v.token)
        socket.sendClose(1000)
        #expect(try await socket.closeCode() == 1000)
        #expect(try await socket.ended())
        // A close code no endpoint may send is answered with 1002.
        let bad = try await welcomed(s, token: v.token)
        bad.sendClose(1005)
        #expect(try await bad.closeCode() == 1002)
    }

    @Test(arguments: paths) func unansweredPingsCloseTheSocketAndDetachIt(_ path: VolunteerSocketPath) async throws {
        let s = try await start(path) { $0.autoPing = .milliseconds(300) }
        defer { Task { try? await s.stop() } }
        let v = try await s.volunteer()
        // This client never answers a ping: a half-open connection as far as the server can tell.
        let socket = try await welcomed(s, token: v.token)
        _ = try await socket.next(.ping)
        #expect(try await socket.closeCode(timeout: .seconds(3)) == 1001)
        #expect(try await socket.ended())
        try await Task.sleep(for: .milliseconds(100))
        let metrics = try await s.httpText(.get, "/metrics").text
        #expect(metrics.contains(#"helferruf_sockets_open{kind="volunteer"} 0"#))
    }

    @Test func helloStormsAreAnswered503WithRetryAfter() async throws {
        let s = try await start(.nio) { $0.maxPendingHellos = 1 }
        defer { Task { try? await s.stop() } }
        let silent = try await upgraded(s)
        guard case .refused(let status, let headers) = try await RawSocket.connect(port: s.port) else {
            throw TestFailure("a second pending hello was upgraded")
        }
        #expect(status == 503)
        #expect(headers.contains { $0.0.lowercased() == "retry-after" && (1...3).contains(Int($0.1) ?? 0) })
        // Once the first socket is gone, sockets are admitted again.
        silent.close()
        #expect(try await silent.ended())
        let v = try await s.volunteer()
        try await Task.sleep(for: .milliseconds(50))
        let next = try await welcomed(s, token: v.token)
        next.close()
    }
}
