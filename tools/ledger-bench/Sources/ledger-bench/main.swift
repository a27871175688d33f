import Foundation
import Histogram

/// Benchmarks the durable ledger through its public API (see docs/BENCHMARKS.md, "Durable
/// ledger"). Each round runs group commit and the one-transaction-per-accept baseline
/// back to back (alternating which goes first), an open-loop run and a lone-accept run,
/// each on a fresh database file. Prints one line per run and a final JSON line of medians.
///
/// Usage: ledger-bench --dir DIR [--db postgres://…] [--rounds 3] [--open-seconds 10] [--baseline-seconds 4]
/// With `--db` the runs go to that PostgreSQL database instead of SQLite files in DIR.
struct Options {
    var dir = "./.bench-data"
    var url: String?
    var rounds = 3
    var openSeconds = 10
    var baselineSeconds = 4

    init(_ args: [String]) {
        var it = args.makeIterator()
        while let a = it.next() {
            let v = it.next() ?? ""
            switch a {
            case "--dir": dir = v
            case "--db": url = v
            case "--rounds": rounds = Int(v) ?? rounds
            case "--open-seconds": openSeconds = Int(v) ?? openSeconds
            case "--baseline-seconds": baselineSeconds = Int(v) ?? baselineSeconds
            default: FileHandle.standardError.write(Data("unknown option \(a)\n".utf8)); exit(2)
            }
        }
    }
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.isEmpty ? 0 : (s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2)
}

func log(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }

let options = Options(Array(CommandLine.arguments.dropFirst()))
try FileManager.default.createDirectory(atPath: options.dir, withIntermediateDirectories: true)
let engine = try await Engine(dir: options.dir, url: options.url)
log("engine: \(engine.name)")
let calls = 1000, needed = 50, inFlight = 256

var group: [Double] = [], single: [Double] = [], ratio: [Double] = []
var p50: [Double] = [], p99: [Double] = [], open99: [Double] = [], lone50: [Double] = [], batch: [Double] = []
for round in 0..<options.rounds {
    var g: ClosedLoopResult?, b: ClosedLoopResult?
    for mode in (round % 2 == 0 ? [0, 1] : [1, 0]) {
        let fixture = try await Fixture(engine: engine, calls: calls, needed: needed)
        if mode == 0 {
            let r = await closedLoop(fixture: fixture, needed: needed, maxBatch: .max, inFlight: inFlight, limit: .seconds(60))
            log(String(format: "round %d group commit: %.0f confirmations/s (%d), p50 %.2f ms, p99 %.2f ms, mean batch %.1f",
                       round + 1, r.confirmationsPerSecond, r.confirmations, r.latency.ms(50), r.latency.ms(99), r.meanBatch))
            g = r
        } else {
            let r = await closedLoop(fixture: fixture, needed: needed, maxBatch: 1, inFlight: inFlight, limit: .seconds(options.baselineSeconds))
            log(String(format: "round %d one transaction per accept: %.0f confirmations/s (%d), p50 %.2f ms, p99 %.2f ms",
                       round + 1, r.confirmationsPerSecond, r.confirmations, r.latency.ms(50), r.latency.ms(99)))
            b = r
        }
    }
    group.append(g!.confirmationsPerSecond)
    single.append(b!.confirmationsPerSecond)
    ratio.append(g!.confirmationsPerSecond / b!.confirmationsPerSecond)
    p50.append(g!.latency.ms(50))
    p99.append(g!.latency.ms(99))
    batch.append(g!.meanBatch)

    let openFixture = try await Fixture(engine: engine, calls: calls, needed: 100)
    let o = await openLoop(fixture: openFixture, rate: 5000, duration: .seconds(options.openSeconds))
    log(String(format: "round %d open loop 5000/s for %d s: p50 %.2f ms, p99 %.2f ms, max %.2f ms (%d accepts)",
               round + 1, options.openSeconds, o.ms(50), o.ms(99), Double(o.max) / 1000, Int(o.totalCount)))
    open99.append(o.ms(99))

    let loneFixture = try await Fixture(engine: engine, calls: 10, needed: 1000)
    let l = await loneAccepts(fixture: loneFixture, count: 500)
    log(String(format: "round %d lone accept: p50 %.3f ms, p99 %.3f ms", round + 1, l.ms(50), l.ms(99)))
    lone50.append(l.ms(50))
}
if case .sqlite(let db) = engine {
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: db + suffix) }
}

func fmt(_ x: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", x) }
print("{\"engine\":\"\(engine.name)\",\"group_commit_per_s\":\(fmt(median(group), 0)),\"single_tx_per_s\":\(fmt(median(single), 0)),"
    + "\"speedup\":\(fmt(median(ratio), 1)),\"accept_p50_ms\":\(fmt(median(p50))),\"accept_p99_ms\":\(fmt(median(p99))),"
    + "\"open_loop_5k_p99_ms\":\(fmt(median(open99))),\"lone_accept_p50_ms\":\(fmt(median(lone50), 3)),"
    + "\"mean_batch\":\(fmt(median(batch), 1)),\"rounds\":\(options.rounds)}")
