import Foundation
import Synchronization
import HelferrufServer
import NIOCore
import NIOPosix
import Testing

/// WebSocket protocol edge cases on a raw TCP connection, with frames built byte by byte
/// (Autobahn|Testsuite does not run here): the server must close with the right code, or
/// answer properly, and keep serving everyone else, whichever way it serves the volunteer
/// socket (the two must not differ on the wire).
@Suite(.serialized) struct RawFrameTests {
    static let paths = VolunteerSocketPath.allCases

    @Test(arguments: paths) func fragmentedHelloIsReassembled(_ path: VolunteerSocketPath) async throws {
        try await withServer(path) { s, token in
            let c = try await RawWebSocket.connect(port: s.port)
            let hello = Array(#"{"type":"hello","token":"\#(token)"}"#.utf8)
            try await c.send(opcode: 0x1, Array(hello[..<10]), fin: false)
            try await c.send(opcode: 0x0, Array(hello[10..<20]), fin: false)
            try await c.send(opcode: 0x9, Array("mid-message ping".utf8))  // control frames may interleave
            try await c.send(opcode: 0x0, Array(hello[20...]))
            var sawPong = false, sawWelcome = false
            while !(sawPong && sawWelcome), let f = try await c.nextFrame() {
                if f.opcode == 0xA { sawPong = f.payload == Array("mid-message ping".utf8) }
                if f.opcode == 0x1 { sawWelcome = String(decoding: f.payload, as: UTF8.self).contains(#""welcome""#) }
            }
            #expect(sawPong && sawWelcome)
        }
    }

    @Test(arguments: paths) func unmaskedClientFrameCloses1002(_ path: VolunteerSocketPath) async throws {
        try await expectClose(path, 1002) { c, token in
            try await c.hello(token)
            try await c.send(opcode: 0x1, Array(#"{"type":"location","lat":1,"lon":1}"#.utf8), masked: false)
        }
    }

    @Test(arguments: paths) func invalidUTF8Closes1007(_ path: VolunteerSocketPath) async throws {
        try await expectClose(path, 1007) { c, token in
            try await c.hello(token)
            try await c.send(opcode: 0x1, [0x7B, 0x22, 0xC3, 0x28, 0x22, 0x7D])
        }
    }

    @Test(arguments: paths) func invalidUTF8SplitAcrossFragmentsCloses1007(_ path: VolunteerSocketPath) async throws {
        try await expectClose(path, 1007) { c, token in
            try await c.hello(token)
            try await c.send(opcode: 0x1, [0x22, 0xE2, 0x82], fin: false)
            try await c.send(opcode: 0x0, [0x22])
        }
    }

    @Test(arguments: paths) func oversizeFrameCloses1009(_ path: VolunteerSocketPath) async throws {
        try await expectClose(path, 1009) { c, token in
            try await c.hello(token)
            try await c.send(opcode: 0x1, [UInt8](repeating: 0x20, count: 16 * 1024 + 1))
        }
    }

    @Test(arguments: paths) func oversizeFragmentedMessageCloses1009(_ path: VolunteerSocketPath) async throws {
        try await expectClose(path, 1009) { c, token in
            try await c.hello(token)
            try await c.send(opcode: 0x1, [UInt8](repeating: 0x20, count: 10 * 1024), fin: false)
            try await c.send(opcode: 0x0, [UInt8](repeating: 0x20, count: 10 * 1024))
        }
    }

    @Test(arguments: paths) func continuationWithoutStartCloses1002(_ path: VolunteerSocketPath) async throws {
        try await expectClose(path, 1002) { c, token in
            try await c.hello(token)
            try await c.send(opcode: 0x0, Array("{}".utf8))
        }
    }

    @Test(arguments: paths) func newMessageInsideFragmentedOneCloses1002(_ path: VolunteerSocketPath) async throws {
        try await expectClose(path, 1002) { c, token in
            try await c.hello(token)
            try await c.send(opcode: 0x1, Array("{".utf8), fin: false)
            try await c.send(opcode: 0x1, Array("{}".utf8))
        }
    }

    @Test(arguments: paths) func fragmentedControlFrameCloses1002(_ path: VolunteerSocketPath) async throws {
        try await expectClose(path, 1002) { c, token in
            try await c.hello(token)
            try await c.send(opcode: 0x9, Array("x".utf8), fin: false)
        }
    }

    @Test(arguments: paths) func oversizeControlFrameCloses1002(_ path: VolunteerSocketPath) async throws {
        try await expectClose(path, 1002) { c, token in
            try await c.hello(token)
            try await c.send(opcode: 0x9, [UInt8](repeating: 0x61, count: 126))
        }
    }

    @Test(arguments: paths) func reservedBitsAndOpcodesClose1002(_ path: VolunteerSocketPath) async throws {
        try await expectClose(path, 1002) { c, token in
            try await c.hello(token)
            try await c.send(opcode: 0x1, Array("{}".utf8), rsv: 0x40)
        }
        try await expectClose(path, 1002) { c, token in
            try await c.hello(token)
            try await c.send(opcode: 0x3, Array("{}".utf8))
        }
    }

    @Test(arguments: paths) func binaryFrameGetsAnErrorAndTheSocketStaysOpen(_ path: VolunteerSocketPath) async throws {
        try await withServer(path) { s, token in
            let c = try await RawWebSocket.connect(port: s.port)
            try await c.hello(token)
            try await c.send(opcode: 0x2, [0x00, 0xFF, 0x7B])
            let reply = try #require(try await c.nextFrame(skipping: [0x9]))
            #expect(reply.opcode == 0x1 && String(decoding: reply.payload, as: UTF8.self).contains(#""code":"bad_json""#))
            try await c.send(opcode: 0x9, Array("still there?".utf8))
            #expect(try await c.nextFrame()?.payload == Array("still there?".utf8))
        }
    }

    @Test(arguments: paths) func binaryHelloCloses4400(_ path: VolunteerSocketPath) async throws {
        try await expectClose(path, 4400, hello: false) { c, token in
            try await c.send(opcode: 0x2, Array(#"{"type":"hello","token":"\#(token)"}"#.utf8))
        }
    }

    @Test(arguments: paths) func clientCloseIsEchoed(_ path: VolunteerSocketPath) async throws {
        try await withServer(path) { s, token in
            let c = try await RawWebSocket.connect(port: s.port)
            try await c.hello(token)
            try await c.send(opcode: 0x8, [0x03, 0xE8] + Array("bye".utf8))
            let reply = try #require(try await c.nextFrame(skipping: [0x1, 0x9]))
            #expect(reply.opcode == 0x8 && reply.closeCode == 1000)
        }
    }

    // MARK: Helpers

    /// A live server with one volunteer; after `body`, checks that a fresh client is still served.
    private func withServer(_ path: VolunteerSocketPath, _ body: (LiveServer, String) async throws -> Void) async throws {
        let s = try await LiveServer.start { $0.volunteerSocket = path }
        defer { Task { try? await s.stop() } }
        let v = try await s.volunteer()
        try await body(s, v.token)
        let (ws, welcome) = try await s.availableVolunteer(token: v.token)
        #expect(welcome["type"] as? String == "welcome", "the server stopped serving others")
        ws.close()
    }

    private func expectClose(
        _ path: VolunteerSocketPath, _ code: UInt16, hello: Bool = true, _ body: (RawWebSocket, String) async throws -> Void
    ) async throws {
        try await withServer(path) { s, token in
            let c = try await RawWebSocket.connect(port: s.port)
            try await body(c, token)
            let close = try #require(try await c.nextFrame(skipping: [0x1, 0x9, 0xA]), "no close frame")
            #expect(close.opcode == 0x8 && close.closeCode == code)
        }
    }
}

/// A WebSocket client on a raw TCP socket: it writes frames exactly as told (masked or
/// not, any opcode, any flags) and parses what the server sends.
final class RawWebSocket: Sendable {
    struct Frame {
        var fin: Bool
        var opcode: UInt8
        var payload: [UInt8]
        var closeCode: UInt16? {
            opcode == 0x8 && payload.count >= 2 ? UInt16(payload[0]) << 8 | UInt16(payload[1]) : nil
        }
    }

    private struct Received {
        var bytes: [UInt8] = []
        var offset = 0
        var ended = false
    }

    /// Filled by the reading task, which must not keep the socket object alive.
    private final class Inbox: Sendable {
        let state = Mutex(Received())
    }

    private let channel: any Channel
    private let writer: NIOAsyncChannelOutboundWriter<ByteBuffer>
    private let inbox: Inbox

    private init(channel: any Channel, writer: NIOAsyncChannelOutboundWriter<ByteBuffer>, inbox: Inbox) {
        self.channel = channel
        self.writer = writer
        self.inbox = inbox
    }

    /// Connects and performs the HTTP upgrade to `/ws/volunteer`.
    static func connect(port: Int, path: String = "/ws/volunteer") async throws -> RawWebSocket {
        let (socket, head) = try await open(port: port, path: path)
        guard head.hasPrefix("HTTP/1.1 101") else { throw TestFailure("upgrade refused") }
        return socket
    }

    /// Connects and sends the upgrade request; returns the response head, whatever it is.
    static func open(port: Int, path: String = "/ws/volunteer") async throws -> (RawWebSocket, head: String) {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        let inbox = Inbox()
        let (writers, gotWriter) = AsyncStream<NIOAsyncChannelOutboundWriter<ByteBuffer>>.makeStream()
        Task {
            try? await channel.executeThenClose { inbound, outbound in
                gotWriter.yield(outbound)
                for try await buffer in inbound {
                    inbox.state.withLock { $0.bytes += buffer.readableBytesView }
                }
            }
            gotWriter.finish()
            inbox.state.withLock { $0.ended = true }
        }
        var next = writers.makeAsyncIterator()
        guard let writer = await next.next() else { throw TestFailure("connection failed") }
        let socket = RawWebSocket(channel: channel.channel, writer: writer, inbox: inbox)
        let key = Data((0..<16).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        try await writer.write(ByteBuffer(string: """
            GET \(path) HTTP/1.1\r
            Host: 127.0.0.1:\(port)\r
            Upgrade: websocket\r
            Connection: Upgrade\r
            Sec-WebSocket-Key: \(key)\r
            Sec-WebSocket-Version: 13\r
            \r

            """))
        var head: [UInt8] = []
        while !head.suffix(4).elementsEqual([13, 10, 13, 10]) {
            guard let b = try await socket.byte() else { throw TestFailure("connection closed during upgrade") }
            head.append(b)
        }
        return (socket, String(decoding: head, as: UTF8.self))
    }

    /// Says hello and waits for the welcome, answering pings until then as a browser would:
    /// on a loaded machine the welcome can come after the first ping period, and a client
    /// that stays silent that long is (rightly) closed as half-open before it is welcomed.
    func hello(_ token: String) async throws {
        try await send(opcode: 0x1, Array(#"{"type":"hello","token":"\#(token)"}"#.utf8))
        while let frame = try await nextFrame() {
            switch frame.opcode {
            case 0x9: try await send(opcode: 0xA, frame.payload)
            case 0x1: return
            default: throw TestFailure("no welcome: opcode \(frame.opcode), close code \(frame.closeCode.map(String.init) ?? "none")")
            }
        }
        throw TestFailure("no welcome: the connection ended")
    }

    func send(opcode: UInt8, _ payload: [UInt8], fin: Bool = true, masked: Bool = true, rsv: UInt8 = 0) async throws {
        var bytes: [UInt8] = [(fin ? 0x80 : 0) | rsv | opcode]
        let maskBit: UInt8 = masked ? 0x80 : 0
        switch payload.count {
        case ..<126: bytes.append(maskBit | UInt8(payload.count))
        case ..<65536: bytes += [maskBit | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        default: bytes += [maskBit | 127] + (0..<8).reversed().map { UInt8((payload.count >> ($0 * 8)) & 0xFF) }
        }
        if masked {
            let key = (0..<4).map { _ in UInt8.random(in: 0...255) }
            bytes += key
            bytes += payload.enumerated().map { $0.element ^ key[$0.offset % 4] }
        } else {
            bytes += payload
        }
        try await writer.write(ByteBuffer(bytes: bytes))
    }

    /// The next frame from the server, skipping those with an opcode in `skipping`; nil
    /// once the connection ends.
    func nextFrame(skipping: Set<UInt8> = []) async throws -> Frame? {
        while let frame = try await readFrame() {
            if !skipping.contains(frame.opcode) { return frame }
        }
        return nil
    }

    private func readFrame() async throws -> Frame? {
        guard let b0 = try await byte(), let b1 = try await byte() else { return nil }
        var length = Int(b1 & 0x7F)
        let extra = length == 126 ? 2 : length == 127 ? 8 : 0
        if extra > 0 {
            length = 0
            for _ in 0..<extra {
                guard let b = try await byte() else { return nil }
                length = length << 8 | Int(b)
            }
        }
        var payload: [UInt8] = []
        for _ in 0..<length {
            guard let b = try await byte() else { return nil }
            payload.append(b)
        }
        return Frame(fin: b0 & 0x80 != 0, opcode: b0 & 0x0F, payload: payload)
    }

    /// The next byte; nil once the connection has ended. Fails after five seconds of silence.
    private func byte() async throws -> UInt8? {
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            let next = inbox.state.withLock { r -> UInt8?? in
                if r.offset < r.bytes.count {
                    defer { r.offset += 1 }
                    return .some(r.bytes[r.offset])
                }
                return r.ended ? .some(nil) : nil
            }
            if let next { return next }
            try await Task.sleep(for: .milliseconds(2))
        }
        throw TestFailure("nothing from the server within 5 s")
    }

    deinit { channel.close(promise: nil) }
}
