import Foundation
import HelferrufCore

/// The SVG chart of `docs/SIMULATION.md`: alerts per confirmed helper against median time
/// to fill, one point per dispatch setting, drawn from the simulation's own figures.
enum SimulationChart {
    struct Point {
        var label: String
        var seconds: Double
        var alertsPerHelper: Double
        var colour: String
    }

    static func svg(sweep: [DispatchSimulation.Report], deadlines: [DispatchSimulation.DeadlineReport]) -> String {
        var points: [Point] = []
        if let first = sweep.first {
            points.append(Point(label: "broadcast", seconds: first.medianFillBroadcast, alertsPerHelper: first.broadcast.alertsPerConfirmed, colour: "#b3261e"))
        }
        for r in sweep {
            points.append(Point(label: "waves \(r.configuration.waveSeconds) s", seconds: r.medianFillWaves, alertsPerHelper: r.waves.alertsPerConfirmed, colour: "#1f5fa8"))
        }
        for d in deadlines {
            points.append(Point(label: "deadline \(Int(d.fillBySeconds / 60)) min", seconds: d.medianFill, alertsPerHelper: d.deadline.alertsPerConfirmed, colour: "#2e7d32"))
        }
        return draw(points.filter { $0.seconds.isFinite && $0.alertsPerHelper.isFinite })
    }

    static func draw(_ points: [Point]) -> String {
        let (width, height) = (720.0, 440.0)
        let (left, right, top, bottom) = (70.0, 30.0, 40.0, 60.0)
        let maxX = niceCeiling(points.map(\.seconds).max() ?? 1)
        let maxY = niceCeiling(points.map(\.alertsPerHelper).max() ?? 1)
        func x(_ v: Double) -> Double { left + v / maxX * (width - left - right) }
        func y(_ v: Double) -> Double { height - bottom - v / maxY * (height - top - bottom) }
        func n(_ v: Double) -> String { String(format: "%.1f", v) }
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
            <title>Alerts per confirmed helper against median time to fill (helferruf simulate)</title>
            <rect width="100%" height="100%" fill="#ffffff"/>
            <text x="\(n(width / 2))" y="22" text-anchor="middle" font-size="15">Alerts per confirmed helper against median time to fill</text>

            """
        for i in 0...5 {
            let vx = maxX * Double(i) / 5, vy = maxY * Double(i) / 5
            out += "<line x1=\"\(n(x(vx)))\" y1=\"\(n(y(0)))\" x2=\"\(n(x(vx)))\" y2=\"\(n(y(maxY)))\" stroke=\"#e0e0e0\"/>\n"
            out += "<text x=\"\(n(x(vx)))\" y=\"\(n(y(0) + 18))\" text-anchor=\"middle\">\(Int(vx))</text>\n"
            out += "<line x1=\"\(n(x(0)))\" y1=\"\(n(y(vy)))\" x2=\"\(n(x(maxX)))\" y2=\"\(n(y(vy)))\" stroke=\"#e0e0e0\"/>\n"
            out += "<text x=\"\(n(x(0) - 8))\" y=\"\(n(y(vy) + 4))\" text-anchor=\"end\">\(n(vy))</text>\n"
        }
        out += """
            <line x1="\(n(x(0)))" y1="\(n(y(0)))" x2="\(n(x(maxX)))" y2="\(n(y(0)))" stroke="#333"/>
            <line x1="\(n(x(0)))" y1="\(n(y(0)))" x2="\(n(x(0)))" y2="\(n(y(maxY)))" stroke="#333"/>
            <text x="\(n((x(0) + x(maxX)) / 2))" y="\(n(height - 16))" text-anchor="middle">median time to fill (s), calls filled by both the mode and broadcast</text>
            <text x="18" y="\(n((y(0) + y(maxY)) / 2))" text-anchor="middle" transform="rotate(-90 18 \(n((y(0) + y(maxY)) / 2)))">alerts per confirmed helper</text>

            """
        // Labels move down or up, in steps of a line, until they overlap no label placed before.
        var placed: [(x0: Double, x1: Double, y: Double)] = []
        for p in points {
            let anchor = x(p.seconds) > width - 160 ? "end" : "start"
            let labelWidth = Double(p.label.count) * 6.5
            let lx = x(p.seconds) + (anchor == "end" ? -8.0 : 8.0)
            let (x0, x1) = anchor == "end" ? (lx - labelWidth, lx) : (lx, lx + labelWidth)
            var ly = y(p.alertsPerHelper) - 6
            for shift in [0.0, 18, -14, 32, -28, 46] {
                let candidate = y(p.alertsPerHelper) - 6 + shift
                if !placed.contains(where: { $0.x0 < x1 && x0 < $0.x1 && abs($0.y - candidate) < 13 }) {
                    ly = candidate
                    break
                }
            }
            placed.append((x0, x1, ly))
            out += "<circle cx=\"\(n(x(p.seconds)))\" cy=\"\(n(y(p.alertsPerHelper)))\" r=\"5\" fill=\"\(p.colour)\"/>\n"
            out += "<text x=\"\(n(lx))\" y=\"\(n(ly))\" text-anchor=\"\(anchor)\" fill=\"\(p.colour)\">\(p.label)</text>\n"
        }
        out += "</svg>\n"
        return out
    }

    /// A round axis end at least `v`: 1, 1.5, 2, 3, 4, 5, 6 or 8 times a power of ten.
    static func niceCeiling(_ v: Double) -> Double {
        guard v > 0 else { return 1 }
        let power = pow(10, floor(log10(v)))
        for step in [1.0, 1.5, 2, 3, 4, 5, 6, 8, 10] where step * power >= v { return step * power }
        return 10 * power
    }
}
