import ArgumentParser
import Foundation
import HelferrufCore
import HelferrufServer
import HelferrufStore
import Logging

/// `helferruf simulate`: broadcast against waves and deadline dispatch on a seeded synthetic
/// population (``DispatchSimulation``); prints one JSON line and can write the Markdown
/// report that `docs/SIMULATION.md` holds, and its chart.
struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Compare broadcast, wave and deadline dispatch in a seeded simulation.")

    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: "Calls posted by one organisation, one after another.") var calls = 60
    @Option(help: "Volunteers in the synthetic population.") var volunteers = 8000
    @Option(help: "Seconds between waves.") var waveSeconds = Waves.defaultWaveSeconds
    @Option(help: ArgumentHelp("Also write a Markdown report, with a sweep over the wave interval, to this file.", valueName: "path"))
    var report: String?
    @Option(help: ArgumentHelp("Also write an SVG chart of alerts per helper against time to fill (with --report).", valueName: "path"))
    var chart: String?

    func validate() throws {
        guard calls > 0, volunteers > 0 else { throw ValidationError("--calls and --volunteers must be positive") }
        guard Waves.waveSecondsRange.contains(waveSeconds) else { throw ValidationError("--wave-seconds must be 1 to 3600") }
    }

    func configuration(waveSeconds: Int) -> DispatchSimulation.Configuration {
        var c = DispatchSimulation.Configuration()
        c.seed = seed
        c.calls = calls
        c.volunteers = volunteers
        c.waveSeconds = waveSeconds
        return c
    }

    func run() throws {
        let simulation = DispatchSimulation(configuration(waveSeconds: waveSeconds))
        let main = simulation.run()
        let deadlines = DeadlineRuns(
            byMinutes: SimulationReport.deadlineMinutes.map { simulation.runDeadline(fillBySeconds: Double($0) * 60) },
            halfRate: DispatchSimulation(halfRateConfiguration).runDeadline(fillBySeconds: 15 * 60))
        if let report {
            let sweep = [15, 30, 60, 120].map { DispatchSimulation(configuration(waveSeconds: $0)).run() }
            var text = SimulationReport.markdown(main, sweep: sweep)
            text += SimulationReport.deadlineMarkdown(main, deadlines, chart: chart.map { URL(fileURLWithPath: $0).lastPathComponent })
            try text.write(toFile: report, atomically: true, encoding: .utf8)
            if let chart {
                try SimulationChart.svg(sweep: sweep, deadlines: deadlines.byMinutes).write(toFile: chart, atomically: true, encoding: .utf8)
            }
        }
        print(SimulationReport.jsonLine(main, deadlines))
    }

    /// The robustness case of issue 17: the volunteers accept half as often (0.15) as the
    /// planner assumes (0.3, as learnt from a history at 0.3).
    var halfRateConfiguration: DispatchSimulation.Configuration {
        var c = configuration(waveSeconds: waveSeconds)
        c.acceptProbability = 0.15
        c.plannerAcceptanceRate = 0.3
        return c
    }
}

/// Formats a simulation for the terminal and for `docs/SIMULATION.md`.
enum SimulationReport {
    static func jsonLine(_ r: DispatchSimulation.Report, _ d: DeadlineRuns) -> String {
        func r3(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }
        let five = d.at(minutes: 5), fifteen = d.at(minutes: 15)
        return JSONLine.object([
            "deadline5_on_time": r3(five.onTime), "deadline5_alert_saving": r3(five.alertSaving),
            "deadline15_on_time": r3(fifteen.onTime), "deadline15_alert_saving": r3(fifteen.alertSaving),
            "deadline15_halfp_on_time": r3(d.halfRate.onTime), "deadline2_on_time": r3(d.at(minutes: 2).onTime),
            "deadline2_alert_saving": r3(d.at(minutes: 2).alertSaving),
            "seed": Int(r.configuration.seed), "calls": r.configuration.calls, "wave_seconds": r.configuration.waveSeconds,
            "broadcast_alerts_per_confirmed": r3(r.broadcast.alertsPerConfirmed), "waves_alerts_per_confirmed": r3(r.waves.alertsPerConfirmed),
            "alert_saving": r3(r.alertSaving), "broadcast_over_response": r.broadcast.overResponse, "waves_over_response": r.waves.overResponse,
            "broadcast_fill_median_s": r3(r.medianFillBroadcast), "waves_fill_median_s": r3(r.medianFillWaves),
            "fill_time_ratio": r3(r.fillTimeRatio), "broadcast_filled": r.broadcast.callsFilled, "waves_filled": r.waves.callsFilled,
            "widening_steps": r.waves.wideningSteps, "waves": r.waves.waves,
        ])
    }

    static func markdown(_ r: DispatchSimulation.Report, sweep: [DispatchSimulation.Report]) -> String {
        let c = r.configuration
        func f(_ x: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", x) }
        func pct(_ x: Double) -> String { "\(Int((x * 100).rounded())) %" }
        var out = """
            # Dispatch simulation: broadcast, waves and deadlines

            Written by `scripts/simulate-dispatch` (`helferruf simulate --seed \(c.seed) --calls \(c.calls) --volunteers \(c.volunteers) --report docs/SIMULATION.md --chart docs/dispatch-tradeoff.svg`);
            the model is `Sources/HelferrufCore/Simulation/DispatchSimulation.swift`, checked by `DispatchSimulationTests`.

            ## Model

            - \(c.volunteers) volunteers, all connected and available: 85 % scattered around six Rhineland towns by
              population (σ 6 km), 15 % uniform rural noise; `maxDistanceKm` 5, 10 or 20.
            - \(c.calls) calls of one organisation, one after another, near those towns: radius 2–8 km, 5–40 helpers needed,
              `maxRadiusKm` twice the radius, standby list on.
            - Every alerted volunteer accepts with probability \(f(c.acceptProbability, 2)) after a log-normal delay
              (median \(Int(c.medianDelaySeconds)) s, σ \(f(c.delaySigma, 2)): 10 % answer within \(Int(c.medianDelaySeconds * exp(-1.2816 * c.delaySigma))) s,
              90 % within \(Int(c.medianDelaySeconds * exp(1.2816 * c.delaySigma))) s). The draw depends only on (seed, volunteer, call),
              so both modes meet the same people behaving the same way.
            - Broadcast alerts everyone eligible at once. Waves follow the server: `ceil(remaining / acceptanceRate)` nearest
              not yet alerted, `remaining` counting accepts that have arrived, widening by half the radius for the next wave
              when a wave finds nobody, the rate learnt from the last 20 calls (0.3 before any history).

            ## Result (waves every \(c.waveSeconds) s, the default)

            | | broadcast | waves |
            |---|---|---|
            | alerts | \(r.broadcast.alerts) | \(r.waves.alerts) |
            | confirmed helpers | \(r.broadcast.confirmed) | \(r.waves.confirmed) |
            | alerts per confirmed helper | \(f(r.broadcast.alertsPerConfirmed, 2)) | \(f(r.waves.alertsPerConfirmed, 2)) |
            | over-response (accepted a filled call) | \(r.broadcast.overResponse) | \(r.waves.overResponse) |
            | calls filled | \(r.broadcast.callsFilled) of \(c.calls) | \(r.waves.callsFilled) of \(c.calls) |
            | median time to fill (calls both filled) | \(f(r.medianFillBroadcast)) s | \(f(r.medianFillWaves)) s |
            | widening steps / waves sent | – | \(r.waves.wideningSteps) / \(r.waves.waves) |

            Waves need **\(pct(r.alertSaving)) fewer alerts** per confirmed helper and cut over-response from
            \(r.broadcast.overResponse) to \(r.waves.overResponse); they take **\(f(r.fillTimeRatio, 2))×** the time to fill.

            ## The wave interval trades alerts against time

            | `waveSeconds` | alerts per helper (waves) | saving | over-response | median fill (waves) | time ratio |
            |---|---|---|---|---|---|

            """
        for s in sweep {
            out += "| \(s.configuration.waveSeconds) | \(f(s.waves.alertsPerConfirmed, 2)) | \(pct(s.alertSaving)) | \(s.waves.overResponse) | \(f(s.medianFillWaves)) s | \(f(s.fillTimeRatio, 2))× |\n"
        }
        out += """

            Broadcast's time to fill is set by the fastest of everyone eligible; a wave sized to the expected acceptance has
            to wait for nearly all of its own acceptors. With any spread in response times, halving the alerts therefore
            costs more than 30 % in time to fill under the contract's wave rule (see the closing note of issue 9).

            """
        return out
    }
}

/// `helferruf account …`: the people who sign in to the console for an organisation.
