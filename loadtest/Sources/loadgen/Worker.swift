import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Where one worker's sockets go and come from.
struct Target {
    var host = "127.0.0.1"
    var port = 8080
    var source = "127.0.0.1"
    var nchanPath = "/sub?id=alerts"
}

/// Counters and receipts of one worker process, shared by its event loop and its command loop.
final class WorkerState {
    struct Counters {
        var attempts = 0
        var welcomed = 0
        var lastWelcome: UInt64 = 0
        var closed = 0
        var connectFailures = 0
        var closeCodes: [UInt16: Int] = [:]
        /// Why upgrades failed: the HTTP status, or the error.
        var upgradeFailures: [String: Int] = [:]
    }

    var target = Target()
    let counters = NIOLockedValueBox(Counters())
    /// Bumped by the coordinator before a restart, so it can count fresh `welcome`s.
    let epoch = NIOLockedValueBox(0)
    let reconnect = NIOLockedValueBox(true)
    /// Volunteer clients answer every alert with `received` (and half of them `seen`).
    let answering = NIOLockedValueBox(false)
    private let receipts = NIOLockedValueBox([String: (times: [UInt64], size: Int)]())
    private let accepts = NIOLockedValueBox([String: (results: [String: Int], times: [UInt64])]())

    func record(tag: String, at time: UInt64, size: Int) {
        receipts.withLockedValue { r in
            r[tag, default: ([], size)].times.append(time)
        }
    }

    func takeReceipts(_ tag: String) -> (times: [UInt64], size: Int) {
        receipts.withLockedValue { $0.removeValue(forKey: tag) } ?? ([], 0)
    }

    func recordAccept(callId: String, result: String, at time: UInt64) {
        accepts.withLockedValue { a in
            a[callId, default: ([:], [])].results[result, default: 0] += 1
            a[callId, default: ([:], [])].times.append(time)
        }
    }

    func takeAccepts(_ callId: String) -> (results: [String: Int], times: [UInt64]) {
        accepts.withLockedValue { $0.removeValue(forKey: callId) } ?? ([:], [])
    }

    /// Receipts plus accept results held for `tag`.
    func count(_ tag: String) -> Int {
        (receipts.withLockedValue { $0[tag]?.times.count } ?? 0) + (accepts.withLockedValue { $0[tag]?.times.count } ?? 0)
    }

    func recordClose(code: UInt16) {
        counters.withLockedValue { $0.closeCodes[code, default: 0] += 1 }
    }
}

/// A worker process: holds up to ~9,000 sockets (one process may have 20,000 files open) and
/// answers the coordinator's commands on stdin with exactly one line each on stdout.
enum Worker {
    static func run(maxSeconds: Int) throws {
        // Whatever happens to the coordinator, this process ends by itself.
        DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(maxSeconds)) { exit(3) }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let state = WorkerState()
        var clients: [Client] = []

        func reply(_ line: String) {
            FileHandle.standardOutput.write((line + "\n").data(using: .utf8)!)
        }

        while let line = readLine() {
            let args = line.split(separator: " ").map(String.init)
            guard let command = args.first else { continue }
            switch command {
            case "target":
                // target HOST PORT SOURCE
                state.target = Target(host: args[1], port: Int(args[2])!, source: args[3])
                reply("ok")
            case "open-helferruf", "open-nchan":
                // open-helferruf FILE FROM COUNT  |  open-nchan COUNT
                var peers: [Peer] = []
                if command == "open-helferruf" {
                    let lines = try String(contentsOfFile: args[1], encoding: .utf8).split(separator: "\n")
                    let from = Int(args[2])!, count = Int(args[3])!
                    for l in lines[from..<(from + count)] {
                        let f = l.split(separator: "\t")
                        peers.append(.helferruf(token: String(f[1]), lat: Double(f[2])!, lon: Double(f[3])!))
                    }
                } else {
                    peers = Array(repeating: .nchan, count: Int(args[1])!)
                }
                let opened = try openAll(peers, state: state, loop: loop, startIndex: clients.count)
                clients += opened
                reply("ok \(opened.count)")
            case "status":
                let c = state.counters.withLockedValue { $0 }
                let epoch = state.epoch.withLockedValue { $0 }
                let current = try loop.submit { clients.filter { $0.welcomedEpoch == epoch && $0.channel != nil }.count }.wait()
                let codes = c.closeCodes.map { "\($0.key):\($0.value)" }.joined(separator: ",")
                reply("status current=\(current) welcomed=\(c.welcomed) closed=\(c.closed) failures=\(c.connectFailures) attempts=\(c.attempts) lastWelcome=\(c.lastWelcome) codes=\(codes.isEmpty ? "-" : codes) upgradeFailures=\(c.upgradeFailures.map { "\($0.key):\($0.value)" }.joined(separator: ",").replacingOccurrences(of: " ", with: "_"))")
            case "answers":
                // answers on|off
                state.answering.withLockedValue { $0 = args.count > 1 && args[1] == "on" }
                reply("ok")
            case "epoch":
                state.epoch.withLockedValue { $0 += 1 }
                reply("ok")
            case "receipts":
                let (times, size) = state.takeReceipts(args[1])
                reply("receipts \(size) " + times.map(String.init).joined(separator: " "))
            case "count":
                reply("count \(state.count(args[1]))")
            case "pause":
                let count = Int(args[1])!
                try loop.submit { for c in clients.filter(\.isHelferruf).prefix(count) { c.pause() } }.wait()
                reply("ok")
            case "accept":
                // accept CALLID: every connected volunteer accepts at once; replies the send time.
                let callId = args[1]
                let sent = try loop.submit { () -> UInt64 in
                    let t = monotonicNanos()
                    for c in clients where c.channel != nil && !c.paused {
                        c.sendText("{\"type\":\"accept\",\"callId\":\"\(callId)\",\"requestId\":\"r\(c.index)\"}")
                    }
                    return t
                }.wait()
                reply("ok \(sent)")
            case "accepts":
                let (results, times) = state.takeAccepts(args[1])
                let r = results.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
                reply("accepts \(r.isEmpty ? "-" : r) " + times.map(String.init).joined(separator: " "))
            case "quit":
                state.reconnect.withLockedValue { $0 = false }
                // Every socket closed before the loop goes away: a close that finishes on a
                // shut-down loop makes NIO complain once per socket.
                let closing = try? loop.submit {
                    clients.compactMap { c -> EventLoopFuture<Void>? in
                        c.stopped = true
                        guard let channel = c.channel else { return nil }
                        channel.close(promise: nil)
                        return channel.closeFuture
                    }
                }.wait()
                if let closing { try? EventLoopFuture.andAllComplete(closing, on: loop).wait() }
                reply("bye")
                try? group.syncShutdownGracefully()
                return
            default:
                reply("error unknown command \(command)")
            }
        }
        exit(0)
    }

    /// Opens the sockets with at most 200 handshakes in flight, so that the server sees
    /// a brisk but steady stream (the storm scenarios are separate).
    private static func openAll(_ peers: [Peer], state: WorkerState, loop: EventLoop, startIndex: Int) throws -> [Client] {
        let clients = peers.enumerated().map { Client(index: startIndex + $0.offset, peer: $0.element, worker: state) }
        let done = loop.makePromise(of: Void.self)
        let deadline = NIODeadline.now() + .seconds(300)
        loop.execute {
            var next = 0
            var finished = 0
            var over = false
            func end(_ ok: Bool) {
                guard !over else { return }
                over = true
                if ok { done.succeed(()) } else { done.fail(ChannelError.connectTimeout(.seconds(300))) }
            }
            func launch() {
                guard next < clients.count else { return }
                let client = clients[next]
                next += 1
                client.connect(on: loop) {
                    finished += 1
                    if finished == clients.count { end(true) } else { launch() }
                }
            }
            if clients.isEmpty { end(true) }
            for _ in 0..<min(200, clients.count) { launch() }
            loop.scheduleTask(deadline: deadline) { end(false) }
        }
        try done.futureResult.wait()
        return clients
    }
}
