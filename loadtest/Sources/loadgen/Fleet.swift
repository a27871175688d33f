import Foundation
import HelferrufCore

/// Places volunteers like a real population: ten NRW cities weighted by inhabitants, each
/// volunteer scattered around the centre (normal, σ ≈ 4 km). Deterministic per index.
enum Population {
    static let cities: [(name: String, lat: Double, lon: Double, weight: Double)] = [
        ("Köln", 50.9375, 6.9603, 1.08), ("Düsseldorf", 51.2277, 6.7735, 0.62), ("Dortmund", 51.5136, 7.4653, 0.59),
        ("Essen", 51.4556, 7.0116, 0.58), ("Duisburg", 51.4344, 6.7623, 0.50), ("Bochum", 51.4818, 7.2162, 0.36),
        ("Wuppertal", 51.2562, 7.1508, 0.35), ("Bonn", 50.7374, 7.0982, 0.33), ("Münster", 51.9607, 7.6261, 0.32),
        ("Aachen", 50.7753, 6.0839, 0.25),
    ]
    static var centre: GeoPoint { GeoPoint(lat: cities[0].lat, lon: cities[0].lon) }

    static func place(_ index: Int) -> GeoPoint {
        var rng = SplitMix(seed: UInt64(index) &* 0x9E37_79B9 &+ 17)
        let total = cities.reduce(0) { $0 + $1.weight }
        var pick = rng.unit() * total
        var city = cities[0]
        for c in cities {
            city = c
            pick -= c.weight
            if pick <= 0 { break }
        }
        // Box–Muller: two normal offsets in km.
        let r = (-2 * log(max(rng.unit(), 1e-12))).squareRoot() * 4.0
        let a = 2 * Double.pi * rng.unit()
        let lat = city.lat + r * cos(a) / Geo.kmPerDegree
        let lon = city.lon + r * sin(a) / (Geo.kmPerDegree * cos(city.lat * .pi / 180))
        return GeoPoint(lat: (lat * 1e6).rounded() / 1e6, lon: (lon * 1e6).rounded() / 1e6)
    }

    /// The radius around `centre` that covers exactly the `k` nearest of `points`.
    static func radius(covering k: Int, of points: [GeoPoint], around centre: GeoPoint) -> Double {
        let d = points.map { Geo.distanceKm(centre, $0) }.sorted()
        guard k < d.count else { return min(200, (d.last ?? 1) + 0.01) }
        return (d[k - 1] + d[k]) / 2
    }
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

/// The client processes of a run. Each holds at most `perWorker` sockets and uses its own
/// source address (127.0.0.2, .3, ...), so that neither one process's 20,000 files nor one
/// address pair's 28,000 ports limit the run.
final class Fleet {
    let workers: [LineProcess]
    private(set) var helferrufCount: [Int]
    static let perWorker = 9_000

    init(count: Int, executable: String, maxSeconds: Int) throws {
        workers = try (0..<count).map { _ in
            try LineProcess(executable, ["worker", "--max-seconds", "\(maxSeconds)"])
        }
        helferrufCount = Array(repeating: 0, count: count)
    }

    static func workersNeeded(_ sockets: Int, minimum: Int) -> Int {
        max(minimum, (sockets + perWorker - 1) / perWorker)
    }

    func all(_ command: String) -> [String] {
        for w in workers { w.send(command) }
        return workers.map { $0.readLine() ?? "" }
    }

    /// Opens `count` volunteer sockets for the volunteers listed in `file` from line `from`,
    /// split evenly over the workers.
    func openHelferruf(port: Int, file: String, from: Int, count: Int) {
        for (i, w) in workers.enumerated() {
            let share = count / workers.count + (i < count % workers.count ? 1 : 0)
            let start = from + (0..<i).reduce(0) { $0 + count / workers.count + ($1 < count % workers.count ? 1 : 0) }
            _ = w.ask("target 127.0.0.1 \(port) 127.0.0.\(2 + i)")
            w.send("open-helferruf \(file) \(start) \(share)")
            helferrufCount[i] += share
        }
        for w in workers { _ = w.readLine() }
    }

    func openNchan(port: Int, count: Int) {
        for (i, w) in workers.enumerated() {
            let share = count / workers.count + (i < count % workers.count ? 1 : 0)
            _ = w.ask("target 127.0.0.1 \(port) 127.0.0.\(2 + i)")
            w.send("open-nchan \(share)")
        }
        for w in workers { _ = w.readLine() }
    }

    struct Status {
        var current = 0
        var welcomed = 0
        var lastWelcome: UInt64 = 0
        var codes: [String: Int] = [:]
    }

    func status() -> Status {
        var s = Status()
        for line in all("status") {
            for field in line.split(separator: " ").dropFirst() {
                let kv = field.split(separator: "=", maxSplits: 1).map(String.init)
                guard kv.count == 2 else { continue }
                switch kv[0] {
                case "current": s.current += Int(kv[1]) ?? 0
                case "welcomed": s.welcomed += Int(kv[1]) ?? 0
                case "lastWelcome": s.lastWelcome = max(s.lastWelcome, UInt64(kv[1]) ?? 0)
                case "codes":
                    for pair in kv[1].split(separator: ",") {
                        let p = pair.split(separator: ":")
                        if p.count == 2 { s.codes[String(p[0]), default: 0] += Int(p[1]) ?? 0 }
                    }
                default: break
                }
            }
        }
        return s
    }

    /// Waits until `target` sockets of the current epoch are up; returns how many are.
    @discardableResult
    func waitConnected(_ target: Int, timeout: Double, label: String) -> Int {
        let deadline = Date().addingTimeInterval(timeout)
        var last = 0
        while Date() < deadline {
            last = status().current
            progress("\(label): \(last)/\(target) sockets up")
            if last >= target { return last }
            usleep(500_000)
        }
        note("\(label): only \(last)/\(target) sockets up after \(Int(timeout)) s; workers: " + all("status").joined(separator: " | "))
        return last
    }

    /// Receipt times of messages tagged `tag` from every worker, and the message size.
    func receipts(_ tag: String) -> (times: [UInt64], size: Int) {
        var times: [UInt64] = []
        var size = 0
        for line in all("receipts \(tag)") {
            let parts = line.split(separator: " ")
            guard parts.count >= 2 else { continue }
            size = max(size, Int(parts[1]) ?? 0)
            times += parts.dropFirst(2).compactMap { UInt64($0) }
        }
        return (times, size)
    }

    /// Polls until `expected` messages tagged `tag` arrived (or `timeout`), then collects them.
    func awaitReceipts(_ tag: String, expected: Int, timeout: Double) -> (times: [UInt64], size: Int) {
        awaitCount(tag, expected: expected, timeout: timeout)
        return receipts(tag)
    }

    /// Polls every 20 ms until the workers hold `expected` receipts or results for `tag`.
    func awaitCount(_ tag: String, expected: Int, timeout: Double) {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let n = all("count \(tag)").compactMap { Int($0.split(separator: " ").last ?? "") }.reduce(0, +)
            if n >= expected { return }
            usleep(20_000)
        }
    }

    func quit() {
        for w in workers where w.process.isRunning { w.send("quit") }
        for w in workers {
            let deadline = Date().addingTimeInterval(10)
            while w.process.isRunning && Date() < deadline { usleep(20_000) }
            if w.process.isRunning { kill(w.pid, SIGKILL) }
        }
    }
}

/// Progress goes to stderr on one line; the final JSON goes to stdout.
func progress(_ text: String) {
    FileHandle.standardError.write("\r\u{1B}[2K[loadgen] \(text)".data(using: .utf8)!)
}

func note(_ text: String) {
    FileHandle.standardError.write("\r\u{1B}[2K[loadgen] \(text)\n".data(using: .utf8)!)
}
