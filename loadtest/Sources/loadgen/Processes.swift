import Foundation

/// CPU time and memory of a process tree, read from /proc.
struct ProcStats {
    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    /// User and system CPU time in microseconds.
    static func cpu(_ pid: Int32) -> (user: Double, system: Double) {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return (0, 0) }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the command: state is field 3, utime 14, stime 15 (1-based in proc(5)).
        let user = Double(fields[11]) ?? 0, system = Double(fields[12]) ?? 0
        return (user / ticksPerSecond * 1e6, system / ticksPerSecond * 1e6)
    }

    static func rssKiB(_ pid: Int32) -> Double {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Double(line.split(separator: " ")[1]) ?? 0
        }
        return 0
    }

    /// The pid and its direct children (nginx: master and workers).
    static func tree(_ pid: Int32) -> [Int32] {
        var pids = [pid]
        let all = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in all {
            guard let child = Int32(entry),
                  let stat = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, Int32(fields[1]) == pid { pids.append(child) }
        }
        return pids
    }

    static func cpuTotal(_ pids: [Int32]) -> (user: Double, system: Double) {
        pids.map(cpu).reduce((0, 0)) { ($0.0 + $1.0, $0.1 + $1.1) }
    }

    static func rssTotal(_ pids: [Int32]) -> Double {
        pids.map(rssKiB).reduce(0, +)
    }
}

/// A child process whose lines on stdout are read one at a time.
final class LineProcess {
    let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private var pending = Data()

    /// Set once this side asked the process to end (``stop(grace:)``).
    private(set) var stopRequested = false

    init(_ executable: String, _ arguments: [String], stdoutToFile: String? = nil, environment: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        process.standardInput = input
        if let stdoutToFile {
            FileManager.default.createFile(atPath: stdoutToFile, contents: nil)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutToFile))
            process.standardOutput = handle
            process.standardError = handle
        } else {
            process.standardOutput = output
        }
        try process.run()
        let pid = process.processIdentifier
        Cleanup.shared.add { kill(pid, SIGKILL) }
    }

    var pid: Int32 { process.processIdentifier }

    func send(_ line: String) {
        input.fileHandleForWriting.write((line + "\n").data(using: .utf8)!)
    }

    func readLine() -> String? {
        while true {
            if let nl = pending.firstIndex(of: 10) {
                let line = String(decoding: pending[pending.startIndex..<nl], as: UTF8.self)
                pending = Data(pending[(nl + 1)...])
                return line
            }
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { return nil }
            pending.append(chunk)
        }
    }

    /// Sends a command and returns its one-line reply.
    func ask(_ line: String) -> String {
        send(line)
        return readLine() ?? ""
    }

    /// SIGTERM, then SIGKILL after `grace` seconds. Returns how the process ended
    /// ("exit 0", "exit 1", "killed after 12 s", …), or nil when it was not running.
    @discardableResult
    func stop(grace: Double = 12) -> String? {
        guard process.isRunning else { return nil }
        stopRequested = true
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(grace)
        while process.isRunning && Date() < deadline { usleep(5_000) }
        var killed = false
        if process.isRunning {
            kill(pid, SIGKILL)
            killed = true
        }
        process.waitUntilExit()
        if killed { return "killed after \(Int(grace)) s" }
        return process.terminationReason == .exit ? "exit \(process.terminationStatus)" : "signal \(process.terminationStatus)"
    }

    /// How the process ended when it ended without being asked to (a crash), else nil.
    var unexpectedEnd: String? {
        guard !process.isRunning, !stopRequested else { return nil }
        switch process.terminationReason {
        case .uncaughtSignal: return "signal \(process.terminationStatus)"
        case .exit: return "exit code \(process.terminationStatus)"
        @unknown default: return "status \(process.terminationStatus)"
        }
    }
}

/// `helferruf serve` on a port and database of the run's state folder.
final class HelferrufServer {
    let proc: LineProcess
    let port: Int
    let log: String

    /// Starts the server and waits until it listens. Returns the Demo token on first start.
    /// Its stdout and stderr go to `log`; with `SWIFT_BACKTRACE` set, a crash leaves a
    /// symbolicated backtrace there.
    init(binary: String, port: Int, db: String, log: String, extraArguments: [String] = []) throws {
        self.port = port
        self.log = log
        proc = try LineProcess(binary, ["serve", "--port", "\(port)", "--db", db, "--rate-limits", "off"] + extraArguments, stdoutToFile: log,
                               environment: ["SWIFT_BACKTRACE": "enable=yes,interactive=no,threads=all"])
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: log, encoding: .utf8), text.contains("listening on") { return }
            guard proc.process.isRunning else { break }
            usleep(20_000)
        }
        proc.stop()
        throw LoadError.failed("server did not start; see \(log)")
    }

    var pid: Int32 { proc.pid }

    /// The last `lines` lines of the server's log.
    func logTail(_ lines: Int = 40) -> String {
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    /// The Demo organisation line (`{"id","name","token"}`), printed only on first start.
    var demoLine: String? {
        (try? String(contentsOfFile: log, encoding: .utf8))?.split(separator: "\n").first { $0.hasPrefix("{") }.map(String.init)
    }
}

/// nginx + nchan from /work/shared/peers/nchan (or `--nchan-conf`), in a private run folder.
final class NchanServer {
    let runDir: String
    let port = 8089
    private(set) var masterPid: Int32 = 0

    init(config: String, runDir: String) throws {
        self.runDir = runDir
        let fm = FileManager.default
        for sub in ["body", "proxy", "fastcgi", "uwsgi", "scgi"] {
            try fm.createDirectory(atPath: "\(runDir)/\(sub)", withIntermediateDirectories: true)
        }
        let text = try String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(of: "RUNDIR", with: runDir)
        try text.write(toFile: "\(runDir)/nginx.conf", atomically: true, encoding: .utf8)
        try? fm.removeItem(atPath: "\(runDir)/nginx.pid")
        // nginx daemonises: its first process exits at once and the master writes a pid file.
        // (Foundation's waitUntilExit can hang on such a child, so only the pid file counts.)
        let nginx = Process()
        nginx.executableURL = URL(fileURLWithPath: "/usr/sbin/nginx")
        nginx.arguments = ["-p", runDir, "-c", "\(runDir)/nginx.conf"]
        nginx.standardOutput = FileHandle.nullDevice
        nginx.standardError = FileHandle.nullDevice
        try nginx.run()
        for _ in 0..<250 {
            if let pid = (try? String(contentsOfFile: "\(runDir)/nginx.pid", encoding: .utf8)).flatMap({ Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) {
                masterPid = pid
                Cleanup.shared.add { kill(pid, SIGQUIT) }
                return
            }
            usleep(20_000)
        }
        throw LoadError.failed("nginx wrote no pid file")
    }

    var pids: [Int32] { ProcStats.tree(masterPid) }

    func stop() {
        guard masterPid > 0 else { return }
        kill(masterPid, SIGQUIT)
        for _ in 0..<250 where kill(masterPid, 0) == 0 { usleep(20_000) }
        if kill(masterPid, 0) == 0 { kill(masterPid, SIGKILL) }
    }
}

enum LoadError: Error, CustomStringConvertible {
    case failed(String)

    var description: String {
        if case .failed(let why) = self { return why }
        return "failed"
    }
}

/// Stops every process this run started when the run itself is interrupted (SIGINT, SIGTERM),
/// so that no server, nginx or client process outlives it.
///
/// `@unchecked Sendable`: `actions` is read and written only while `lock` is held; `sources`
/// is written once per signal at start-up, before any handler can run.
final class Cleanup: @unchecked Sendable {
    static let shared = Cleanup()
    private let lock = NSLock()
    private var actions: [() -> Void] = []
    private var sources: [DispatchSourceSignal] = []

    func add(_ action: @escaping () -> Void) {
        lock.lock()
        actions.append(action)
        lock.unlock()
    }

    func installSignalHandlers() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                self.lock.lock()
                let actions = self.actions
                self.lock.unlock()
                for a in actions { a() }
                exit(130)
            }
            source.resume()
            sources.append(source)
        }
    }
}
