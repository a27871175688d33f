import Foundation

/// When to try a push again (contract §8): 429, 5xx and network errors are retried with
/// exponential backoff and jitter, honouring `Retry-After`, up to a total number of tries.
public struct PushRetryPolicy: Sendable {
    /// Tries in all, the first included.
    public var maximumAttempts: Int
    /// The wait before the second try; it doubles for each further one (1 s, 2 s, 4 s, 8 s).
    public var backoffBase: Duration
    /// The most a `Retry-After` is honoured; longer asks are cut to this.
    public var maximumRetryAfter: Duration
    /// Each backoff is stretched by a random factor in 1…(1 + jitter), so that many pushes
    /// failing together do not all come back at the same instant.
    public var jitter: Double

    public init(
        maximumAttempts: Int = 5, backoffBase: Duration = .seconds(1),
        maximumRetryAfter: Duration = .seconds(600), jitter: Double = 0.25
    ) {
        self.maximumAttempts = max(1, maximumAttempts)
        self.backoffBase = max(.zero, backoffBase)
        self.maximumRetryAfter = max(.zero, maximumRetryAfter)
        self.jitter = min(max(0, jitter), 1)
    }

    /// The wait after try number `attempt` (1-based) failed: the backoff, or the service's
    /// `Retry-After` (capped) when that is longer.
    func delay(afterAttempt attempt: Int, retryAfter: Duration?) -> Duration {
        let doublings = min(max(attempt - 1, 0), 20)
        let backoff = backoffBase * (1 << doublings) * Double.random(in: 1...(1 + jitter))
        guard let retryAfter else { return backoff }
        return max(backoff, min(retryAfter, maximumRetryAfter))
    }

    /// The `Retry-After` header (RFC 9110 §10.2.3) as a wait from `now`: delay-seconds or an
    /// IMF-fixdate. Nil for anything else; past dates are zero; huge values stay huge (the
    /// caller caps them).
    static func parseRetryAfter(_ value: String, now: Date) -> Duration? {
        let text = value.trimmingCharacters(in: .whitespaces)
        if !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            // Twelve digits are over 30,000 years: plenty to stand for "too long".
            let seconds: Int64 = text.utf8.count > 12 ? 999_999_999_999 : Int64(text) ?? 0
            return .seconds(seconds)
        }
        guard let date = parseIMFFixdate(text) else { return nil }
        return .seconds(max(0, date.timeIntervalSince(now)))
    }

    /// `Sun, 06 Nov 1994 08:49:37 GMT`, parsed by hand: no locale, no lenient formatter.
    static func parseIMFFixdate(_ text: String) -> Date? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[0].count == 4, parts[0].hasSuffix(","), parts[5] == "GMT",
            parts[1].count == 2, let day = Int(parts[1]),
            let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
                .firstIndex(of: String(parts[2])),
            parts[3].count == 4, let year = Int(parts[3])
        else { return nil }
        let clock = parts[4].split(separator: ":")
        guard clock.count == 3, clock.allSatisfy({ $0.count == 2 }),
            let hour = Int(clock[0]), let minute = Int(clock[1]), let second = Int(clock[2]),
            (1...31).contains(day), (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second)
        else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "GMT") ?? .gmt
        let components = DateComponents(
            year: year, month: month + 1, day: day, hour: hour, minute: minute, second: second)
        return calendar.date(from: components)
    }
}

/// How one answer of a push service is handled.
enum PushAnswer: Equatable {
    case delivered
    case gone
    case rejected
    case retry

    init(status: Int) {
        switch status {
        case 200..<300: self = .delivered
        case 404, 410: self = .gone
        case 429, 500..<600: self = .retry
        default: self = .rejected
        }
    }
}
