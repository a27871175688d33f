import Foundation
import Histogram

/// Latencies of many rounds in one HdrHistogram (ns, 3 significant digits), plus each
/// round's first and last delivery, whose medians over rounds are the headline figures.
struct LatencySummary {
    var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1_000, highestTrackableValue: 120_000_000_000, numberOfSignificantValueDigits: .three)
    var firsts: [Double] = []
    var lasts: [Double] = []
    var delivered = 0
    var expected = 0
    var userMicros = 0.0
    var systemMicros = 0.0

    mutating func add(_ round: Bench.Round, expected: Int) {
        for l in round.latencies { histogram.record(max(l, 1_000)) }
        if let first = round.latencies.min(), let last = round.latencies.max() {
            firsts.append(Double(first) / 1e6)
            lasts.append(Double(last) / 1e6)
        }
        delivered += round.latencies.count
        self.expected += expected
        userMicros += round.userMicros
        systemMicros += round.systemMicros
    }

    func ms(_ percentile: Double) -> Double { Double(histogram.valueAtPercentile(percentile)) / 1e6 }

    var firstMedian: Double { median(firsts) }
    var lastMedian: Double { median(lasts) }
    var userPerDelivery: Double { delivered > 0 ? userMicros / Double(delivered) : 0 }
    var cpuPerDelivery: Double { delivered > 0 ? (userMicros + systemMicros) / Double(delivered) : 0 }

    func figures(_ prefix: String) -> [String: Any] {
        [
            "\(prefix)_p50_ms": round3(ms(50)), "\(prefix)_p99_ms": round3(ms(99)), "\(prefix)_p999_ms": round3(ms(99.9)),
            "\(prefix)_max_ms": round3(Double(histogram.max) / 1e6),
            "\(prefix)_first_ms": round3(firstMedian), "\(prefix)_last_ms": round3(lastMedian),
            "\(prefix)_delivered": delivered, "\(prefix)_expected": expected,
            "\(prefix)_user_cpu_us_per_delivery": round3(userPerDelivery), "\(prefix)_cpu_us_per_delivery": round3(cpuPerDelivery),
        ]
    }

    /// (latency ms, percentile) points of the distribution, for the plot.
    var curve: [(Double, Double)] {
        stride(from: 0.0, through: 100.0, by: 0.5).map { (ms($0 == 0 ? 0.0001 : $0), $0) }
    }
}

func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 0 }
    let s = values.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func round3(_ v: Double) -> Double { (v * 1000).rounded() / 1000 }

/// Prints one JSON line of figures on stdout.
func emit(_ figures: [String: Any]) {
    let data = try! JSONSerialization.data(withJSONObject: figures, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
    fflush(stdout)
}

/// A latency distribution plot (percentile of deliveries over time since the POST) as SVG.
enum Plot {
    static func svg(title: String, series: [(name: String, color: String, points: [(Double, Double)])]) -> String {
        let w = 640.0, h = 400.0, left = 60.0, right = 20.0, top = 40.0, bottom = 50.0
        let maxX = niceCeiling(series.flatMap { $0.points.map(\.0) }.max() ?? 1)
        func x(_ v: Double) -> Double { left + v / maxX * (w - left - right) }
        func y(_ p: Double) -> Double { h - bottom - p / 100 * (h - top - bottom) }
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        out += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        out += "<text x=\"\(w / 2)\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">\(title)</text>\n"
        for i in 0...5 {
            let v = maxX * Double(i) / 5
            out += "<line x1=\"\(x(v))\" y1=\"\(top)\" x2=\"\(x(v))\" y2=\"\(h - bottom)\" stroke=\"#ddd\"/>"
            out += "<text x=\"\(x(v))\" y=\"\(h - bottom + 16)\" text-anchor=\"middle\">\(format(v))</text>\n"
            let p = Double(i) * 20
            out += "<line x1=\"\(left)\" y1=\"\(y(p))\" x2=\"\(w - right)\" y2=\"\(y(p))\" stroke=\"#ddd\"/>"
            out += "<text x=\"\(left - 6)\" y=\"\(y(p) + 4)\" text-anchor=\"end\">\(Int(p))%</text>\n"
        }
        out += "<text x=\"\(w / 2)\" y=\"\(h - 12)\" text-anchor=\"middle\">ms after the POST</text>\n"
        out += "<text x=\"16\" y=\"\(h / 2)\" text-anchor=\"middle\" transform=\"rotate(-90 16 \(h / 2))\">recipients reached</text>\n"
        for (i, s) in series.enumerated() {
            let path = s.points.map { "\(round3(x($0.0))),\(round3(y($0.1)))" }.joined(separator: " ")
            out += "<polyline fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"2\" points=\"\(path)\"/>\n"
            let ly = top + 16 + Double(i) * 18
            out += "<line x1=\"\(w - 230)\" y1=\"\(ly - 4)\" x2=\"\(w - 210)\" y2=\"\(ly - 4)\" stroke=\"\(s.color)\" stroke-width=\"2\"/>"
            out += "<text x=\"\(w - 204)\" y=\"\(ly)\">\(s.name)</text>\n"
        }
        return out + "</svg>\n"
    }

    private static func niceCeiling(_ v: Double) -> Double {
        let magnitude = pow(10, floor(log10(max(v, 0.001))))
        for step in [1.0, 2.0, 2.5, 5.0, 10.0] where step * magnitude >= v { return step * magnitude }
        return 10 * magnitude
    }

    private static func format(_ v: Double) -> String {
        v == v.rounded() ? String(Int(v)) : String(format: "%.1f", v)
    }
}
