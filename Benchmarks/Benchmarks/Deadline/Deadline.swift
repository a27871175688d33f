// ordo-one/benchmark suite of the deadline planner (PROTOCOL.md §10), one planning step per
// sample, in the situations a server meets:
//   cd Benchmarks && swift package --allow-writing-to-package-directory benchmark --target Deadline
import Benchmark
import HelferrufCore

/// A step of a call needing `remaining` more helpers, with `pending` volunteers alerted over
/// the last five minutes who have not answered, and `available` eligible not yet alerted.
func situation(remaining: Int, pending: Int, available: Int, secondsLeft: Double = 600) -> DeadlineSituation {
    DeadlineSituation(
        secondsLeft: secondsLeft, remaining: remaining,
        pendingSeconds: (0..<pending).map { Double($0 * 300 / max(1, pending)) }, available: available, confidence: 0.95)
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal], timeUnits: .microseconds, warmupIterations: 100,
        maxDuration: .seconds(2), maxIterations: 20_000)
    let model = DeadlineModel()
    let cases: [(String, DeadlineSituation)] = [
        ("post: 20 needed, 500 available", situation(remaining: 20, pending: 0, available: 500)),
        ("re-plan: 10 open, 80 pending", situation(remaining: 10, pending: 80, available: 400)),
        ("re-plan: 60 open, 400 pending", situation(remaining: 60, pending: 400, available: 3000)),
        ("large: 2000 open, 5000 pending (normal)", situation(remaining: 2000, pending: 5000, available: 30_000)),
        ("near fillBy: 5 open, 100 pending, 10 s left", situation(remaining: 5, pending: 100, available: 2000, secondsLeft: 10)),
    ]
    for (name, s) in cases {
        Benchmark("plan step, \(name)") { _ in
            blackHole(DeadlinePlanner.plan(s, model: model))
        }
    }
}
